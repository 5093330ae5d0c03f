//! One statement through tlsql's own grammar: account statements (CREATE/ALTER/DROP/RENAME
//! USER, GRANT, REVOKE, SET PASSWORD, SHOW GRANTS, SHOW CREATE USER), SET, SHOW and ALTER
//! INSTANCE, which sqlparser does not parse for tlsql.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlsql::lex::tokenize;
use tlsql::sql::stmt::Statement;

fuzz_target!(|input: &[u8]| {
    if let Ok(sql) = std::str::from_utf8(input)
        && let Ok(source) = tokenize(sql)
    {
        let _ = Statement::parse(&source);
    }
});
