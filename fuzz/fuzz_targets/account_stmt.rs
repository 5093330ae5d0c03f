//! The account-statement parser (CREATE/ALTER/DROP/RENAME USER, GRANT, REVOKE, SET PASSWORD,
//! SHOW GRANTS, SHOW CREATE USER), which is tlsql's own rather than sqlparser's.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlsql::sql::account_stmt;

fuzz_target!(|input: &[u8]| {
    if let Ok(sql) = std::str::from_utf8(input) {
        let _ = account_stmt::parse(sql);
    }
});
