//! The local executor: a logged-in session's commands run by tlsql's own SQL layer and the
//! SQLite storage engine (the gateway's relay is the other [`Executor`]).
//!
//! A session is split in three so they can be borrowed separately while a statement runs:
//! the packet stream (written by the result writer), the storage session (running the
//! statement), and [`SessionState`] (read by storage through [`crate::storage::SessionContext`]).

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::results;
use crate::error::{ErrorKind, SqlError};
use crate::instance::Instance;
use crate::net::{Conn, Peer, SocketControl};
use crate::protocol::command::{Command, ParamType};
use crate::protocol::handshake::{caps, status};
use crate::protocol::packet::PacketStream;
use crate::protocol::response;
use crate::protocol::value::{Column, Value};
use crate::session::{Client, Established, Executor, Identity, Refusal, SessionTls};
use crate::status::Counters;
use crate::storage::{EngineSession, Prepared};
use crate::vars::{self, VarValue};

/// Everything about the session that statements read, apart from storage and the stream.
pub struct SessionState {
    pub(crate) shared: Arc<Instance>,
    pub(crate) id: u32,
    pub(crate) peer: Peer,
    pub(crate) client_caps: u32,
    pub(crate) tls: Option<SessionTls>,
    pub(crate) identity: Identity,
    /// Session overrides of system variables.
    pub(crate) vars: HashMap<&'static str, VarValue>,
    pub(crate) user_vars: HashMap<String, Value>,
    pub(crate) warnings: Vec<SqlError>,
}

impl SessionState {
    /// The account the session logged in as.
    pub fn account_key(&self) -> crate::auth::accounts::AccountKey {
        crate::auth::accounts::AccountKey::new(
            self.identity.account_user.clone(),
            self.identity.account_host.clone(),
        )
    }

    /// Whether the transport protects the password and data: TLS or the unix socket.
    pub fn is_secure_transport(&self) -> bool {
        self.tls.is_some() || self.peer == Peer::Unix
    }

    /// Whether result sets end with OK (0xFE) instead of EOF.
    pub fn deprecate_eof(&self) -> bool {
        self.client_caps & caps::DEPRECATE_EOF != 0
    }
}

/// A prepared statement and what COM_STMT_EXECUTE needs between calls.
pub(crate) struct Statement {
    pub(crate) prepared: Prepared,
    pub(crate) param_types: Vec<ParamType>,
    pub(crate) long_data: Vec<Option<Vec<u8>>>,
    /// Set when a parameter's long data went past `max-allowed-packet`: the chunks are
    /// dropped as they come (the client expects no reply) and the next EXECUTE fails.
    pub(crate) long_data_overflow: bool,
    /// This statement's place in `max-prepared-stmt-count`, given back when it is dropped.
    _slot: PreparedSlot,
}

/// One place in the server-wide `max-prepared-stmt-count`, held for as long as a prepared
/// statement exists (closed, reset away, or its session ended: the drop gives it back).
pub(crate) struct PreparedSlot(Arc<Instance>);

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

/// A session's SQL side: its storage session, state and prepared statements.
pub struct LocalSession {
    pub(crate) engine: EngineSession,
    pub(crate) state: SessionState,
    pub(crate) statements: HashMap<u32, Statement>,
    pub(crate) next_statement_id: u32,
    /// Whether COM_QUERY may carry several statements (CLIENT_MULTI_STATEMENTS at login,
    /// then COM_SET_OPTION).
    pub(crate) multi_statements: bool,
    /// Set while a multi-statement query has statements after the current one.
    pub(crate) more_results: bool,
    /// Whether the last response was an error (a multi-statement query stops there).
    pub(crate) failed: bool,
}

/// Opens the local executor for a login: a storage session, then the login's database.
pub fn open(instance: &Arc<Instance>, login: Established) -> Result<Box<dyn Executor>, Refusal> {
    let engine = instance.engine.connect().map_err(|e| Refusal {
        reason: format!("storage session failed: {}", e.message),
        error: e,
        level: log::Level::Error,
    })?;
    let mut local = LocalSession {
        engine,
        state: SessionState {
            shared: Arc::clone(instance),
            id: login.id,
            peer: login.peer,
            client_caps: login.client_caps,
            tls: login.tls,
            identity: login.identity,
            vars: HashMap::new(),
            user_vars: HashMap::new(),
            warnings: Vec::new(),
        },
        statements: HashMap::new(),
        next_statement_id: 0,
        multi_statements: login.client_caps & caps::MULTI_STATEMENTS != 0,
        more_results: false,
        failed: false,
    };
    if let Some(db) = &login.database {
        local.use_database(db).map_err(|e| Refusal {
            reason: format!("initial database: {}", e.message),
            error: e,
            level: log::Level::Info,
        })?;
    }
    Ok(Box::new(local))
}

impl Executor for LocalSession {
    fn login_ok(&mut self, client: &mut Client<'_>) -> io::Result<()> {
        self.exchange(client).send_ok(0, 0)
    }

    fn command(&mut self, packet: &[u8], client: &mut Client<'_>) -> io::Result<()> {
        let mut exchange = self.exchange(client);
        match Command::parse(packet) {
            Ok(cmd) => exchange.dispatch(cmd),
            Err(e) => exchange.send_error(&SqlError::new(
                ErrorKind::MalformedPacket,
                format!("Malformed communication packet: {}", e.0),
            )),
        }
    }

    fn timeouts(&self) -> (Duration, Duration) {
        (self.wait_timeout(), self.net_write_timeout())
    }
}

impl LocalSession {
    fn exchange<'a>(&'a mut self, client: &'a mut Client<'_>) -> Exchange<'a> {
        Exchange {
            stream: &mut *client.stream,
            control: client.control,
            local: self,
        }
    }

    /// Status flags for OK and EOF packets.
    pub(crate) fn status_flags(&self) -> u16 {
        let mut flags = 0;
        if self.engine.autocommit() {
            flags |= status::AUTOCOMMIT;
        }
        if self.engine.in_transaction() {
            flags |= status::IN_TRANS;
        }
        if self.more_results {
            flags |= status::MORE_RESULTS_EXISTS;
        }
        flags
    }

    /// Changes the default database (COM_INIT_DB, USE, the login database).
    pub(crate) fn use_database(&mut self, db: &str) -> Result<(), SqlError> {
        use crate::storage::SessionContext;
        crate::sql::Context::new(&self.state).authorize_database(db)?;
        self.engine.use_database(db)
    }

    /// The session's `wait_timeout` (or `interactive_timeout` for interactive clients).
    pub(crate) fn wait_timeout(&self) -> Duration {
        let name = if self.state.client_caps & caps::INTERACTIVE != 0 {
            "interactive_timeout"
        } else {
            "wait_timeout"
        };
        self.seconds_variable(name)
    }

    /// The session's `net_write_timeout`.
    pub(crate) fn net_write_timeout(&self) -> Duration {
        self.seconds_variable("net_write_timeout")
    }

    fn seconds_variable(&self, name: &str) -> Duration {
        match vars::lookup(name).map(|d| super::session_value(&self.state, d)) {
            Some(VarValue::Int(s)) => Duration::from_secs(u64::try_from(s).unwrap_or(1)),
            _ => Duration::from_secs(28_800),
        }
    }
}

/// One command's work: the session's SQL side and the client it answers.
pub(crate) struct Exchange<'a> {
    pub(crate) stream: &'a mut PacketStream<Conn>,
    pub(crate) control: &'a SocketControl,
    pub(crate) local: &'a mut LocalSession,
}

/// COM_SET_OPTION's two options (`enum_mysql_set_option`).
const MULTI_STATEMENTS_ON: u16 = 0;
const MULTI_STATEMENTS_OFF: u16 = 1;

impl Exchange<'_> {
    /// Queues an OK packet.
    pub(crate) fn send_ok(&mut self, affected_rows: u64, last_insert_id: u64) -> io::Result<()> {
        let status = self.local.status_flags();
        let warnings = u16::try_from(self.local.state.warnings.len()).unwrap_or(u16::MAX);
        self.stream.write_packet(&response::ok(
            affected_rows,
            last_insert_id,
            status,
            warnings,
            "",
            false,
        ))
    }

    /// Queues an ERR packet.
    pub(crate) fn send_error(&mut self, e: &SqlError) -> io::Result<()> {
        self.local.failed = true;
        self.stream.write_packet(&response::err(e))
    }

    /// Queues a complete result set of server-computed rows.
    pub(crate) fn send_rows(&mut self, columns: &[Column], rows: &[Vec<Value>]) -> io::Result<()> {
        let status = self.local.status_flags();
        let mut writer = results::ResultWriter::text(self.stream, self.local.state.deprecate_eof());
        use crate::storage::RowSink;
        writer.columns(columns)?;
        for row in rows {
            writer.row(row)?;
        }
        writer.finish(status, 0)
    }

    fn dispatch(&mut self, cmd: Command<'_>) -> io::Result<()> {
        match cmd {
            // The session closes on COM_QUIT before it gets here.
            Command::Quit => Ok(()),
            Command::Ping => self.send_ok(0, 0),
            Command::InitDb(db) => {
                let db = String::from_utf8_lossy(db).into_owned();
                match self.local.use_database(&db) {
                    Ok(()) => self.send_ok(0, 0),
                    Err(e) => self.send_error(&e),
                }
            }
            Command::Query(sql) => {
                Counters::bump(&self.local.state.shared.counters.questions);
                let sql = String::from_utf8_lossy(sql).into_owned();
                if self.local.multi_statements {
                    self.query_statements(&sql)
                } else {
                    self.query(&sql)
                }
            }
            Command::FieldList { table, wildcard } => self.field_list(table, wildcard),
            Command::Statistics => {
                let text = self.statistics();
                self.stream.write_packet(text.as_bytes())
            }
            Command::ResetConnection => {
                self.reset();
                self.send_ok(0, 0)
            }
            Command::SetOption(option) => {
                self.local.multi_statements = match option {
                    MULTI_STATEMENTS_ON => true,
                    MULTI_STATEMENTS_OFF => false,
                    _ => {
                        return self.send_error(&SqlError::new(
                            ErrorKind::UnknownCommand,
                            "Unknown command",
                        ));
                    }
                };
                let status = self.local.status_flags();
                self.stream.write_packet(&response::eof(0, status))
            }
            Command::StmtPrepare(sql) => {
                let sql = String::from_utf8_lossy(sql).into_owned();
                self.prepare(&sql)
            }
            Command::StmtExecute { id, body } => {
                Counters::bump(&self.local.state.shared.counters.questions);
                self.execute(id, body)
            }
            Command::StmtSendLongData { id, param, data } => {
                let limit = self.local.state.shared.config.max_allowed_packet;
                if let Some(stmt) = self.local.statements.get_mut(&id)
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
                Ok(())
            }
            Command::StmtClose(id) => {
                self.local.statements.remove(&id);
                Ok(())
            }
            Command::StmtReset(id) => match self.local.statements.get_mut(&id) {
                Some(stmt) => {
                    stmt.long_data.iter_mut().for_each(|slot| *slot = None);
                    stmt.long_data_overflow = false;
                    self.send_ok(0, 0)
                }
                None => self.send_error(&unknown_statement(id, "mysqld_stmt_reset")),
            },
            Command::Unsupported(code) => self.send_error(&SqlError::new(
                ErrorKind::UnknownCommand,
                format!("Unknown command 0x{code:02x}"),
            )),
        }
    }

    fn field_list(&mut self, table: &[u8], wildcard: &[u8]) -> io::Result<()> {
        let table = String::from_utf8_lossy(table).into_owned();
        let wildcard =
            (!wildcard.is_empty()).then(|| String::from_utf8_lossy(wildcard).into_owned());
        match self.local.engine.field_list(&table, wildcard.as_deref()) {
            Ok(columns) => {
                let mut out = Vec::new();
                for c in &columns {
                    out.clear();
                    response::column_definition(c, &mut out);
                    self.stream.write_packet(&out)?;
                }
                let status = self.local.status_flags();
                if self.local.state.deprecate_eof() {
                    self.stream
                        .write_packet(&response::ok(0, 0, status, 0, "", true))
                } else {
                    self.stream.write_packet(&response::eof(0, status))
                }
            }
            Err(e) => self.send_error(&e),
        }
    }

    /// The COM_STATISTICS line; clients print `Uptime:` specially, so it must come first.
    fn statistics(&self) -> String {
        let c = &self.local.state.shared.counters;
        let uptime = c.uptime_secs().max(1);
        let questions = Counters::get(&c.questions);
        format!(
            "Uptime: {uptime}  Threads: {}  Questions: {questions}  Slow queries: 0  Opens: 0  Open tables: 0  Queries per second avg: {:.3}",
            Counters::get(&c.threads_connected),
            questions as f64 / uptime as f64
        )
    }

    /// COM_RESET_CONNECTION: roll back, forget statements and session settings.
    fn reset(&mut self) {
        if let Err(e) = self.local.engine.reset() {
            log::debug!(
                "session {}: rollback on reset failed: {}",
                self.local.state.id,
                e.message
            );
        }
        self.local.statements.clear();
        self.local.state.vars.clear();
        self.local.state.user_vars.clear();
        self.local.state.warnings.clear();
    }

    fn prepare(&mut self, sql: &str) -> io::Result<()> {
        let Some(slot) = PreparedSlot::take(&self.local.state.shared) else {
            let limit = self.local.state.shared.config.max_prepared_stmt_count;
            return self.send_error(&SqlError::new(ErrorKind::TooManyPreparedStatements, format!(
                    "Can't create more than max_prepared_stmt_count statements (current value: {limit})"
                ),
            ));
        };
        let ctx = crate::sql::Context::new(&self.local.state);
        match self.local.engine.prepare(sql, &ctx) {
            Ok(prepared) => {
                self.local.next_statement_id = self.local.next_statement_id.wrapping_add(1).max(1);
                let id = self.local.next_statement_id;
                let params = usize::from(prepared.params);
                let mut head = vec![0x00];
                head.extend_from_slice(&id.to_le_bytes());
                head.extend_from_slice(
                    &u16::try_from(prepared.columns.len())
                        .unwrap_or(u16::MAX)
                        .to_le_bytes(),
                );
                head.extend_from_slice(&prepared.params.to_le_bytes());
                head.push(0);
                head.extend_from_slice(&0u16.to_le_bytes());
                self.stream.write_packet(&head)?;
                let deprecate_eof = self.local.state.deprecate_eof();
                let status = self.local.status_flags();
                let mut out = Vec::new();
                if params > 0 {
                    for i in 0..params {
                        out.clear();
                        response::column_definition(&Column::text(&format!("?{i}")), &mut out);
                        self.stream.write_packet(&out)?;
                    }
                    if !deprecate_eof {
                        self.stream.write_packet(&response::eof(0, status))?;
                    }
                }
                if !prepared.columns.is_empty() {
                    for c in &prepared.columns {
                        out.clear();
                        response::column_definition(c, &mut out);
                        self.stream.write_packet(&out)?;
                    }
                    if !deprecate_eof {
                        self.stream.write_packet(&response::eof(0, status))?;
                    }
                }
                self.local.statements.insert(
                    id,
                    Statement {
                        prepared,
                        param_types: Vec::new(),
                        long_data: vec![None; params],
                        long_data_overflow: false,
                        _slot: slot,
                    },
                );
                Ok(())
            }
            Err(e) => self.send_error(&e),
        }
    }

    fn execute(&mut self, id: u32, body: &[u8]) -> io::Result<()> {
        let Some(stmt) = self.local.statements.get_mut(&id) else {
            return self.send_error(&unknown_statement(id, "mysqld_stmt_execute"));
        };
        if stmt.long_data_overflow {
            stmt.long_data.iter_mut().for_each(|slot| *slot = None);
            stmt.long_data_overflow = false;
            return self.send_error(&SqlError::new(ErrorKind::PacketTooLarge, "Parameter of prepared statement which is set through mysql_send_long_data() is longer than 'max_allowed_packet' bytes",
            ));
        }
        let params = usize::from(stmt.prepared.params);
        let values = match crate::protocol::command::decode_execute(
            body,
            params,
            &mut stmt.param_types,
            &stmt.long_data,
        ) {
            Ok(v) => v,
            Err(e) => {
                return self.send_error(&SqlError::new(
                    ErrorKind::MalformedPacket,
                    format!("Malformed communication packet: {}", e.0),
                ));
            }
        };
        stmt.long_data.iter_mut().for_each(|slot| *slot = None);
        let Some(stmt) = self.local.statements.get(&id) else {
            return Ok(());
        };
        self.local.state.warnings.clear();
        let ctx = crate::sql::Context::new(&self.local.state);
        let mut writer =
            results::ResultWriter::binary(self.stream, self.local.state.deprecate_eof());
        let outcome =
            self.local
                .engine
                .execute_prepared(&stmt.prepared, &values, &ctx, &mut writer);
        let started = writer.started();
        drop(writer);
        self.finish_statement(outcome, started)
    }

    /// Sends the end of a statement run by storage.
    pub(crate) fn finish_statement(
        &mut self,
        outcome: Result<crate::storage::Outcome, crate::storage::ExecError>,
        columns_sent: bool,
    ) -> io::Result<()> {
        use crate::storage::{ExecError, Outcome};
        let status = self.local.status_flags();
        match outcome {
            Ok(Outcome::Rows) => {
                let warnings = u16::try_from(self.local.state.warnings.len()).unwrap_or(u16::MAX);
                results::finish_rows(
                    self.stream,
                    self.local.state.deprecate_eof(),
                    status,
                    warnings,
                )
            }
            Ok(Outcome::Done {
                affected_rows,
                last_insert_id,
                notes,
            }) => {
                self.local.state.warnings.extend(notes);
                self.send_ok(affected_rows, last_insert_id)
            }
            Err(ExecError::Sql(e)) => {
                if columns_sent {
                    log::debug!(
                        "session {}: error in the middle of a result set: {}",
                        self.local.state.id,
                        e.message
                    );
                }
                self.send_error(&e)
            }
            Err(ExecError::Io(e)) => Err(e),
        }
    }
}

fn unknown_statement(id: u32, command: &str) -> SqlError {
    SqlError::new(
        ErrorKind::UnknownStatementHandler,
        format!("Unknown prepared statement handler ({id}) given to {command}"),
    )
}
