//! Prepared statements: COM_STMT_PREPARE, EXECUTE, SEND_LONG_DATA, RESET and CLOSE, and
//! SQL's `PREPARE`, `EXECUTE` and `DEALLOCATE PREPARE`, which name theirs.
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
use super::stmt::lock::tables_used;
use super::stmt::named::{self, NamedStatement, PreparedText};
use crate::error::{ErrorKind, SqlError};
use crate::instance::Instance;
use crate::instance::locks::{Mode, TableKey};
use crate::lex;
use crate::protocol::command::{ParamType, decode_execute};
use crate::protocol::value::{Column, Value};
use crate::protocol::writers::{RowFormat, StatementMetaWriter};
use crate::storage::{self, SessionContext};

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
    /// A query or DML statement, prepared in storage with its parameters; the tables it uses
    /// (for table locks) and whether it changes data (for `MAX_UPDATES_PER_HOUR`), as they
    /// were when it was prepared.
    Data {
        prepared: Box<storage::Prepared>,
        tables: Vec<(TableKey, Mode)>,
        changes: bool,
    },
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

/// A session's prepared statements: by id (COM_STMT_PREPARE) and by name (`PREPARE`).
#[derive(Default)]
pub(crate) struct PreparedStatements {
    statements: HashMap<u32, Prepared>,
    last_id: u32,
    /// By lower-cased name: statement names do not depend on case.
    named: HashMap<String, Prepared>,
}

impl PreparedStatements {
    /// COM_STMT_PREPARE.
    pub(crate) fn prepare(&mut self, ex: &mut Exchange<'_>, sql: &str) -> io::Result<()> {
        let stmt = match create(ex, sql) {
            Ok(stmt) => stmt,
            Err(e) => return ex.send_error(&e),
        };
        self.last_id = self.last_id.wrapping_add(1).max(1);
        let id = self.last_id;
        let param_columns: Vec<Column> = (0..stmt.params)
            .map(|i| Column::text(&format!("?{i}")))
            .collect();
        let columns: &[Column] = match &stmt.kind {
            Kind::Data { prepared, .. } => &prepared.columns,
            Kind::Other(_) => &[],
        };
        let status = ex.status_flags();
        StatementMetaWriter::new(ex.stream, ex.state.deprecate_eof()).reply(
            id,
            &param_columns,
            columns,
            status,
        )?;
        self.statements.insert(id, stmt);
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
        let entry = ex.state.registration.entry();
        entry.clear_kill_query();
        ex.engine.clear_interrupt();
        run(ex, stmt, &values)
    }

    /// `PREPARE`, `EXECUTE` and `DEALLOCATE PREPARE`: statements by name, whose results are
    /// text rows as any COM_QUERY's.
    pub(crate) fn run_named(
        &mut self,
        ex: &mut Exchange<'_>,
        statement: NamedStatement,
    ) -> io::Result<()> {
        match statement {
            NamedStatement::Prepare { name, text } => {
                // As in MySQL, the name's earlier statement is gone even if this one fails.
                let key = name.to_ascii_lowercase();
                self.named.remove(&key);
                let sql = match text {
                    PreparedText::Literal(sql) => sql,
                    // MySQL prepares a NULL variable's text as `NULL` (a syntax error).
                    PreparedText::Variable(variable) => Context::new(ex.state)
                        .user_variable(&variable)
                        .to_text()
                        .map_or_else(|| "NULL".to_string(), |t| lex::decode(&t).into_owned()),
                };
                match create(ex, &sql) {
                    Ok(stmt) => {
                        self.named.insert(key, stmt);
                        ex.send_ok_saying(0, 0, "Statement prepared")
                    }
                    Err(e) => ex.send_error(&e),
                }
            }
            NamedStatement::Execute { name, using } => {
                let Some(stmt) = self.named.get(&name.to_ascii_lowercase()) else {
                    return ex.send_error(&unknown_name(&name, "EXECUTE"));
                };
                if using.len() != stmt.params {
                    return ex.send_error(&SqlError::new(
                        ErrorKind::WrongArguments,
                        "Incorrect arguments to EXECUTE",
                    ));
                }
                let context = Context::new(ex.state);
                let values: Vec<Value> = using.iter().map(|v| context.user_variable(v)).collect();
                run(ex, stmt, &values)
            }
            NamedStatement::Deallocate { name } => {
                match self.named.remove(&name.to_ascii_lowercase()) {
                    Some(_) => ex.send_ok(0, 0),
                    None => ex.send_error(&unknown_name(&name, "DEALLOCATE PREPARE")),
                }
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
        self.named.clear();
    }
}

/// Prepares `sql` in one place of `max-prepared-stmt-count`.
fn create(ex: &mut Exchange<'_>, sql: &str) -> Result<Prepared, SqlError> {
    let Some(slot) = PreparedSlot::take(&ex.state.shared) else {
        let limit = ex.state.shared.config.max_prepared_stmt_count;
        return Err(SqlError::new(
            ErrorKind::TooManyPreparedStatements,
            format!(
                "Can't create more than max_prepared_stmt_count statements (current value: {limit})"
            ),
        ));
    };
    let (kind, params) = prepare(ex, sql)?;
    Ok(Prepared {
        kind,
        params,
        param_types: Vec::new(),
        long_data: vec![None; params],
        long_data_overflow: false,
        _slot: slot,
    })
}

/// Runs a prepared statement with its parameters' values, counted against the account's
/// hourly limits as the statement it is.
fn run(ex: &mut Exchange<'_>, stmt: &Prepared, values: &[Value]) -> io::Result<()> {
    let changes = match &stmt.kind {
        Kind::Data { changes, .. } => *changes,
        Kind::Other(statement) => statement.changes_data(),
    };
    if let Err(e) = ex
        .state
        .registration
        .count_statement(&ex.state.limits, changes)
    {
        return ex.send_error(&e);
    }
    match &stmt.kind {
        Kind::Data {
            prepared, tables, ..
        } => {
            ex.state.warnings.clear();
            let shared = Arc::clone(&ex.state.shared);
            let timeout = ex.state.lock_wait_timeout();
            let _use = match shared.table_locks.begin_statement(
                ex.state.registration.entry(),
                || tables.clone(),
                timeout,
            ) {
                Ok(used) => used,
                Err(e) => return ex.send_error(&e),
            };
            ex.in_storage(|engine, _, sink| engine.execute_prepared(prepared, values, sink))
        }
        Kind::Other(statement) => {
            if !statement.keeps_warnings() {
                ex.state.warnings.clear();
            }
            Statement::clone(statement).execute(ex)
        }
    }
}

/// Parses `sql` and prepares it; returns what it runs and its number of parameters.
fn prepare(ex: &mut Exchange<'_>, sql: &str) -> Result<(Kind, usize), SqlError> {
    let source = lex::tokenize(sql)?;
    let placeholders = source.placeholders();
    match Statement::parse(&source)? {
        Statement::Storage(statement) if storage::takes_parameters(&statement) => {
            let tables = tables_used(&statement, ex.engine.database());
            let changes = !matches!(*statement, sqlparser::ast::Statement::Query(_));
            let prepared = ex.engine.prepare(*statement, &Context::new(ex.state))?;
            let params = usize::from(prepared.params);
            Ok((
                Kind::Data {
                    prepared: Box::new(prepared),
                    tables,
                    changes,
                },
                params,
            ))
        }
        Statement::Named(_) => Err(named::not_in_prepared_statements()),
        _ if placeholders > 0 => Err(SqlError::not_supported(
            "parameters outside SELECT, INSERT, UPDATE and DELETE",
        )),
        statement => Ok((Kind::Other(Box::new(statement)), 0)),
    }
}

fn unknown_name(name: &str, statement: &str) -> SqlError {
    SqlError::new(
        ErrorKind::UnknownStatementHandler,
        format!("Unknown prepared statement handler ({name}) given to {statement}"),
    )
}

fn unknown_statement(id: u32, command: &str) -> SqlError {
    SqlError::new(
        ErrorKind::UnknownStatementHandler,
        format!("Unknown prepared statement handler ({id}) given to {command}"),
    )
}
