//! The statement classifier: a COM_QUERY split into statements, each tokenized and routed, and
//! account statements parsed. Oracle: the statements are pieces of the query, in order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlsql::lex::{split_statements, tokenize};
use tlsql::sql::{Route, account_stmt, route};

fuzz_target!(|input: &[u8]| {
    let Ok(query) = std::str::from_utf8(input) else {
        return;
    };
    let Ok(statements) = split_statements(query) else {
        return;
    };
    let mut rest = query;
    for statement in statements {
        let at = rest
            .find(statement)
            .expect("a statement that is not part of the query");
        rest = &rest[at + statement.len()..];
        if let Ok(tokens) = tokenize(statement) {
            if route(&tokens) == Route::Account {
                let _ = account_stmt::parse(statement);
            }
        }
    }
});
