//! Prepared statements: COM_STMT_PREPARE, EXECUTE, SEND_LONG_DATA, RESET and CLOSE.
//!
//! A query or DML statement is prepared in storage, which binds its `?` parameters; any other
//! statement is kept parsed and runs at each EXECUTE as it would from COM_QUERY. Parameters are
//! counted from the statement's tokens, so a `?` inside a string is not one.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::context::Context;
use super::exchange::Exchange;
use super::stmt::Statement;
use crate::error::{ErrorKind, SqlError};
use crate::instance::Instance;
use crate::lex;
use crate::protocol::command::{ParamType, decode_execute};
use crate::protocol::value::Column;
use crate::protocol::writers::{RowFormat, StatementMetaWriter};
use crate::storage;

/// One place in the server-wide `max-prepared-stmt-count`, held for as long as a prepared
/// statement exists (closed, reset away, or its session ended: the drop gives it back).
struct PreparedSlot(Arc<Instance>);

impl PreparedSlot {
    /// Takes a place, or `None` when all are taken.
    fn take(shared: &Arc<Instance>) -> Option<Self> {
        let limit = u64::from(shared.config.max_prepared_stmt_count);
        shared
            .counters
            .prepared_stmt_count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .ok()
            .map(|_| Self(Arc::clone(shared)))
    }
}

impl Drop for PreparedSlot {
    fn drop(&mut self) {
        self.0
            .counters
            .prepared_stmt_count
            .fetch_sub(1, Ordering::AcqRel);
    }
}

/// What a prepared statement runs.
enum Kind {
    /// A query or DML statement, prepared in storage with its parameters.
    Data(storage::Prepared),
    /// Any other statement (it has no parameters), run as if sent with COM_QUERY.
    Other(Box<Statement>),
}

/// A prepared statement and what COM_STMT_EXECUTE needs between calls.
struct Prepared {
    kind: Kind,
    params: usize,
    param_types: Vec<ParamType>,
    long_data: Vec<Option<Vec<u8>>>,
    /// Set when a parameter's long data went past `max-allowed-packet`: the chunks are
    /// dropped as they come (the client expects no reply) and the next EXECUTE fails.
    long_data_overflow: bool,
    /// This statement's place in `max-prepared-stmt-count`, given back when it is dropped.
    _slot: PreparedSlot,
}

impl Prepared {
    fn forget_long_data(&mut self) {
        self.long_data.iter_mut().for_each(|slot| *slot = None);
        self.long_data_overflow = false;
    }
}

/// A session's prepared statements, by id.
#[derive(Default)]
pub(crate) struct PreparedStatements {
    statements: HashMap<u32, Prepared>,
    last_id: u32,
}

impl PreparedStatements {
    /// COM_STMT_PREPARE.
    pub(crate) fn prepare(&mut self, ex: &mut Exchange<'_>, sql: &str) -> io::Result<()> {
        let Some(slot) = PreparedSlot::take(&ex.state.shared) else {
            let limit = ex.state.shared.config.max_prepared_stmt_count;
            return ex.send_error(&SqlError::new(
                ErrorKind::TooManyPreparedStatements,
                format!(
                    "Can't create more than max_prepared_stmt_count statements (current value: {limit})"
                ),
            ));
        };
        let (kind, params) = match prepare(ex, sql) {
            Ok(prepared) => prepared,
            Err(e) => return ex.send_error(&e),
        };
        self.last_id = self.last_id.wrapping_add(1).max(1);
        let id = self.last_id;
        let param_columns: Vec<Column> = (0..params)
            .map(|i| Column::text(&format!("?{i}")))
            .collect();
        let columns: &[Column] = match &kind {
            Kind::Data(prepared) => &prepared.columns,
            Kind::Other(_) => &[],
        };
        let status = ex.status_flags();
        StatementMetaWriter::new(ex.stream, ex.state.deprecate_eof()).reply(
            id,
            &param_columns,
            columns,
            status,
        )?;
        self.statements.insert(
            id,
            Prepared {
                kind,
                params,
                param_types: Vec::new(),
                long_data: vec![None; params],
                long_data_overflow: false,
                _slot: slot,
            },
        );
        Ok(())
    }

    /// COM_STMT_EXECUTE.
    pub(crate) fn execute(
        &mut self,
        ex: &mut Exchange<'_>,
        id: u32,
        body: &[u8],
    ) -> io::Result<()> {
        let Some(stmt) = self.statements.get_mut(&id) else {
            return ex.send_error(&unknown_statement(id, "mysqld_stmt_execute"));
        };
        if stmt.long_data_overflow {
            stmt.forget_long_data();
            return ex.send_error(&SqlError::new(
                ErrorKind::PacketTooLarge,
                "Parameter of prepared statement which is set through mysql_send_long_data() is longer than 'max_allowed_packet' bytes",
            ));
        }
        let values = match decode_execute(body, stmt.params, &mut stmt.param_types, &stmt.long_data)
        {
            Ok(v) => v,
            Err(e) => {
                return ex.send_error(&SqlError::new(
                    ErrorKind::MalformedPacket,
                    format!("Malformed communication packet: {}", e.0),
                ));
            }
        };
        stmt.forget_long_data();
        ex.format = RowFormat::Binary;
        match &stmt.kind {
            Kind::Data(prepared) => {
                ex.state.warnings.clear();
                ex.in_storage(|engine, _, sink| engine.execute_prepared(prepared, &values, sink))
            }
            Kind::Other(statement) => {
                if !statement.keeps_warnings() {
                    ex.state.warnings.clear();
                }
                Statement::clone(statement).execute(ex)
            }
        }
    }

    /// COM_STMT_SEND_LONG_DATA (which has no reply).
    pub(crate) fn send_long_data(&mut self, id: u32, param: u16, data: &[u8], limit: usize) {
        if let Some(stmt) = self.statements.get_mut(&id)
            && let Some(slot) = stmt.long_data.get_mut(usize::from(param))
        {
            let value = slot.get_or_insert_with(Vec::new);
            if stmt.long_data_overflow || value.len() + data.len() > limit {
                stmt.long_data_overflow = true;
                *slot = None;
            } else {
                value.extend_from_slice(data);
            }
        }
    }

    /// COM_STMT_RESET: forgets the long data sent so far.
    pub(crate) fn reset(&mut self, ex: &mut Exchange<'_>, id: u32) -> io::Result<()> {
        match self.statements.get_mut(&id) {
            Some(stmt) => {
                stmt.forget_long_data();
                ex.send_ok(0, 0)
            }
            None => ex.send_error(&unknown_statement(id, "mysqld_stmt_reset")),
        }
    }

    /// COM_STMT_CLOSE (which has no reply).
    pub(crate) fn close(&mut self, id: u32) {
        self.statements.remove(&id);
    }

    /// Forgets every statement (COM_RESET_CONNECTION).
    pub(crate) fn clear(&mut self) {
        self.statements.clear();
    }
}

/// Parses `sql` and prepares it; returns what it runs and its number of parameters.
fn prepare(ex: &mut Exchange<'_>, sql: &str) -> Result<(Kind, usize), SqlError> {
    let source = lex::tokenize(sql)?;
    let placeholders = source.placeholders();
    match Statement::parse(&source)? {
        Statement::Storage(statement) if storage::takes_parameters(&statement) => {
            let prepared = ex.engine.prepare(*statement, &Context::new(ex.state))?;
            let params = usize::from(prepared.params);
            Ok((Kind::Data(prepared), params))
        }
        _ if placeholders > 0 => Err(SqlError::not_supported(
            "parameters outside SELECT, INSERT, UPDATE and DELETE",
        )),
        statement => Ok((Kind::Other(Box::new(statement)), 0)),
    }
}

fn unknown_statement(id: u32, command: &str) -> SqlError {
    SqlError::new(
        ErrorKind::UnknownStatementHandler,
        format!("Unknown prepared statement handler ({id}) given to {command}"),
    )
}
