//! The local executor: a logged-in session's commands run by tlsql's own SQL layer and the
//! SQLite storage engine (the gateway's relay is the other [`Executor`]).
//!
//! A session is kept in parts so they can be borrowed separately while a statement runs: the
//! packet stream (written by the response writers), the storage session (running the
//! statement), `SessionState` (read by storage through [`crate::storage::SessionContext`])
//! and the prepared statements.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use super::context::{SessionState, use_database};
use super::exchange::Exchange;
use super::prepared::PreparedStatements;
use super::stmt::Statement;
use crate::error::{ErrorKind, SqlError};
use crate::instance::Instance;
use crate::lex;
use crate::protocol::command::Command;
use crate::protocol::handshake::caps;
use crate::protocol::writers::RowFormat;
use crate::session::{Client, Established, Executor, Refusal};
use crate::status::Counters;
use crate::storage::EngineSession;

/// A session's SQL side: its storage session, state and prepared statements.
pub(crate) struct LocalSession {
    engine: EngineSession,
    state: SessionState,
    prepared: PreparedStatements,
    /// Whether COM_QUERY may carry several statements (CLIENT_MULTI_STATEMENTS at login,
    /// then COM_SET_OPTION).
    multi_statements: bool,
}

/// Opens the local executor for a login: a storage session, then the login's database.
pub(crate) fn open(
    instance: &Arc<Instance>,
    login: Established,
) -> Result<Box<dyn Executor>, Refusal> {
    let engine = instance.engine.connect().map_err(|e| Refusal {
        reason: format!("storage session failed: {}", e.message),
        error: e.into(),
        level: log::Level::Error,
    })?;
    let mut local = LocalSession {
        engine,
        state: SessionState {
            shared: Arc::clone(instance),
            id: login.id,
            client_caps: login.client_caps,
            tls: login.tls,
            identity: login.identity,
            vars: HashMap::new(),
            user_vars: HashMap::new(),
            warnings: Vec::new(),
        },
        prepared: PreparedStatements::default(),
        multi_statements: login.client_caps & caps::MULTI_STATEMENTS != 0,
    };
    if let Some(db) = &login.database {
        use_database(&mut local.engine, &local.state, db).map_err(|e| Refusal {
            reason: format!("initial database: {}", e.message),
            error: e.into(),
            level: log::Level::Info,
        })?;
    }
    Ok(Box::new(local))
}

/// COM_SET_OPTION's two options (`enum_mysql_set_option`).
const MULTI_STATEMENTS_ON: u16 = 0;
const MULTI_STATEMENTS_OFF: u16 = 1;

impl Executor for LocalSession {
    fn login_ok(&mut self, client: &mut Client<'_>) -> io::Result<()> {
        exchange(&mut self.engine, &mut self.state, client).send_ok(0, 0)
    }

    fn command(&mut self, packet: &[u8], client: &mut Client<'_>) -> io::Result<()> {
        match Command::parse(packet) {
            Ok(cmd) => self.dispatch(cmd, client),
            Err(e) => {
                exchange(&mut self.engine, &mut self.state, client).send_error(&SqlError::new(
                    ErrorKind::MalformedPacket,
                    format!("Malformed communication packet: {}", e.0),
                ))
            }
        }
    }

    fn timeouts(&self) -> (Duration, Duration) {
        (self.state.wait_timeout(), self.state.net_write_timeout())
    }
}

impl LocalSession {
    fn dispatch(&mut self, cmd: Command<'_>, client: &mut Client<'_>) -> io::Result<()> {
        let LocalSession {
            engine,
            state,
            prepared,
            multi_statements,
        } = self;
        let mut ex = exchange(engine, state, client);
        match cmd {
            // The session closes on COM_QUIT before it gets here.
            Command::Quit => Ok(()),
            Command::Ping => ex.send_ok(0, 0),
            Command::InitDb(db) => {
                let db = String::from_utf8_lossy(db);
                match use_database(ex.engine, ex.state, &db) {
                    Ok(()) => ex.send_ok(0, 0),
                    Err(e) => ex.send_error(&e),
                }
            }
            Command::Query(sql) => {
                Counters::bump(&ex.state.shared.counters.questions);
                let sql = String::from_utf8_lossy(sql);
                if *multi_statements {
                    query_statements(&mut ex, &sql)
                } else {
                    match lex::tokenize(&sql) {
                        Ok(source) => query(&mut ex, &source),
                        Err(e) => ex.send_error(&e),
                    }
                }
            }
            Command::FieldList { table, wildcard } => field_list(&mut ex, table, wildcard),
            Command::Statistics => {
                let text = statistics(ex.state);
                ex.response().text(&text)
            }
            Command::ResetConnection => {
                if let Err(e) = ex.engine.reset() {
                    log::debug!(
                        "session {}: rollback on reset failed: {}",
                        ex.state.id,
                        e.message
                    );
                }
                prepared.clear();
                ex.state.vars.clear();
                ex.state.user_vars.clear();
                ex.state.warnings.clear();
                ex.send_ok(0, 0)
            }
            Command::SetOption(option) => {
                let on = match option {
                    MULTI_STATEMENTS_ON => true,
                    MULTI_STATEMENTS_OFF => false,
                    _ => {
                        return ex.send_error(&SqlError::new(
                            ErrorKind::UnknownCommand,
                            "Unknown command",
                        ));
                    }
                };
                let status = ex.status_flags();
                *multi_statements = on;
                ex.response().eof(status)
            }
            Command::StmtPrepare(sql) => prepared.prepare(&mut ex, &String::from_utf8_lossy(sql)),
            Command::StmtExecute { id, body } => {
                Counters::bump(&ex.state.shared.counters.questions);
                prepared.execute(&mut ex, id, body)
            }
            Command::StmtSendLongData { id, param, data } => {
                let limit = ex.state.shared.config.max_allowed_packet;
                prepared.send_long_data(id, param, data, limit);
                Ok(())
            }
            Command::StmtClose(id) => {
                prepared.close(id);
                Ok(())
            }
            Command::StmtReset(id) => prepared.reset(&mut ex, id),
            Command::Unsupported(code) => ex.send_error(&SqlError::new(
                ErrorKind::UnknownCommand,
                format!("Unknown command 0x{code:02x}"),
            )),
        }
    }
}

/// One command's exchange over the session's storage and state.
fn exchange<'a>(
    engine: &'a mut EngineSession,
    state: &'a mut SessionState,
    client: &'a mut Client<'_>,
) -> Exchange<'a> {
    Exchange {
        stream: &mut *client.stream,
        control: client.control,
        engine,
        state,
        format: RowFormat::Text,
        more_results: false,
        failed: false,
    }
}

/// Runs a COM_QUERY that may hold several statements (CLIENT_MULTI_STATEMENTS): each
/// response but the last carries SERVER_MORE_RESULTS_EXISTS, and the first error ends the
/// query, as in MySQL.
fn query_statements(ex: &mut Exchange<'_>, sql: &str) -> io::Result<()> {
    let statements = match lex::split_statements(sql) {
        Ok(s) => s,
        Err(e) => return ex.send_error(&e),
    };
    let last = statements.len() - 1;
    for (i, statement) in statements.iter().enumerate() {
        ex.more_results = i < last;
        ex.failed = false;
        let sent = query(ex, statement);
        ex.more_results = false;
        sent?;
        if ex.failed {
            break;
        }
    }
    Ok(())
}

/// Parses and runs one COM_QUERY statement and queues its response.
fn query(ex: &mut Exchange<'_>, source: &lex::Source<'_>) -> io::Result<()> {
    if source.is_empty() {
        return ex.send_error(&super::stmt::empty_query());
    }
    let statement = Statement::parse(source);
    if !statement.as_ref().is_ok_and(Statement::keeps_warnings) {
        ex.state.warnings.clear();
    }
    match statement {
        Ok(statement) => statement.execute(ex),
        Err(e) => ex.send_error(&e),
    }
}

fn field_list(ex: &mut Exchange<'_>, table: &[u8], wildcard: &[u8]) -> io::Result<()> {
    let table = String::from_utf8_lossy(table);
    let wildcard = (!wildcard.is_empty()).then(|| String::from_utf8_lossy(wildcard));
    match ex.engine.field_list(&table, wildcard.as_deref()) {
        Ok(columns) => {
            let status = ex.status_flags();
            ex.response().field_list(&columns, status)
        }
        Err(e) => ex.send_error(&e),
    }
}

/// The COM_STATISTICS line; clients print `Uptime:` specially, so it must come first.
fn statistics(state: &SessionState) -> String {
    let c = &state.shared.counters;
    let uptime = c.uptime_secs().max(1);
    let questions = Counters::get(&c.questions);
    format!(
        "Uptime: {uptime}  Threads: {}  Questions: {questions}  Slow queries: 0  Opens: 0  Open tables: 0  Queries per second avg: {:.3}",
        Counters::get(&c.threads_connected),
        questions as f64 / uptime as f64
    )
}
