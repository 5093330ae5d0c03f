//! The statements storage runs: queries, DML, DDL and transactions as sqlparser parsed them,
//! the `SHOW`s storage answers from its files, and `ALTER TABLE t {DISABLE|ENABLE} KEYS`
//! (tlsql's grammar: sqlparser does not read it). Storage streams their result sets into the
//! response.

use std::io;

use sqlparser::ast;

use super::parser::Parser;
use crate::error::SqlError;
use crate::protocol::value::Value;
use crate::sql::exchange::Exchange;
use crate::storage::{SharedQuery, Show, TableName};

/// Parses `ALTER TABLE t {DISABLE|ENABLE} KEYS`, which dumps wrap their inserts in (MyISAM's
/// deferred index maintenance); `None` (nothing consumed) for any other `ALTER TABLE`.
pub(super) fn parse_keys(p: &mut Parser<'_>) -> Result<Option<TableName>, SqlError> {
    let start = p.pos;
    p.expect_keyword("ALTER")?;
    p.expect_keyword("TABLE")?;
    let first = p.name("a table name")?;
    let table = if p.token(&sqlparser::tokenizer::Token::Period) {
        TableName {
            db: Some(first),
            table: p.name("a table name")?,
        }
    } else {
        TableName {
            db: None,
            table: first,
        }
    };
    if (p.keyword("DISABLE") || p.keyword("ENABLE")) && p.keyword("KEYS") && p.at_end() {
        p.end()?;
        return Ok(Some(table));
    }
    p.pos = start;
    Ok(None)
}

/// `ALTER TABLE t {DISABLE|ENABLE} KEYS`: SQLite maintains every index as rows change, so
/// there is nothing to defer; the table must exist.
pub(super) fn keys(table: TableName, ex: &mut Exchange<'_>) -> io::Result<()> {
    ex.in_storage(|engine, ctx, _| engine.keys(table, ctx))
}

/// Runs a statement sqlparser parsed.
pub(super) fn execute(statement: ast::Statement, ex: &mut Exchange<'_>) -> io::Result<()> {
    let count = super::query::found_rows_count(&statement);
    ex.in_storage(|engine, ctx, sink| engine.execute(statement, ctx, sink))?;
    note_found_rows(count, ex);
    Ok(())
}

/// Runs a SELECT that sessions share (from the parse cache), as [`execute`] runs any other.
pub(super) fn execute_shared(query: &SharedQuery, ex: &mut Exchange<'_>) -> io::Result<()> {
    let count = super::query::found_rows_count(query.statement());
    ex.in_storage(|engine, ctx, sink| engine.execute_shared(query, ctx, sink))?;
    note_found_rows(count, ex);
    Ok(())
}

/// `SQL_CALC_FOUND_ROWS`: the rows without the LIMIT, counted once the result is sent (a
/// query that failed fails again here and leaves the count of what was sent).
fn note_found_rows(count: Option<ast::Statement>, ex: &mut Exchange<'_>) {
    if let Some(count) = count
        && let Ok(rows) = super::set::evaluate_query(ex, count)
        && let Some(Value::Int(n)) = rows.first().and_then(|r| r.first())
    {
        ex.state.found_rows = u64::try_from(*n).unwrap_or(0);
    }
}

/// Runs one of storage's `SHOW`s.
pub(super) fn show(show: Show, ex: &mut Exchange<'_>) -> io::Result<()> {
    ex.in_storage(|engine, ctx, sink| engine.show(show, ctx, sink))
}
