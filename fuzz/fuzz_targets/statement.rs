//! The statement reader: a COM_QUERY split into statements, each parsed (tlsql's grammar, and
//! sqlparser's from the same tokens). Oracle: the statements are pieces of the query, in order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlsql::lex::split_statements;
use tlsql::sql::stmt::Statement;

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
            .find(statement.text)
            .expect("a statement that is not part of the query");
        rest = &rest[at + statement.text.len()..];
        let _ = Statement::parse(&statement);
    }
});
