//! The statements storage runs: queries, DML, DDL and transactions as sqlparser parsed them,
//! and the `SHOW`s storage answers from its files. Storage streams their result sets into the
//! response.

use std::io;

use sqlparser::ast;

use crate::sql::exchange::Exchange;
use crate::storage::Show;

/// Runs a statement sqlparser parsed.
pub(super) fn execute(statement: ast::Statement, ex: &mut Exchange<'_>) -> io::Result<()> {
    ex.in_storage(|engine, ctx, sink| engine.execute(statement, ctx, sink))
}

/// Runs one of storage's `SHOW`s.
pub(super) fn show(show: Show, ex: &mut Exchange<'_>) -> io::Result<()> {
    ex.in_storage(|engine, ctx, sink| engine.show(show, ctx, sink))
}
