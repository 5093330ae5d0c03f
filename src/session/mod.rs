//! One client connection from greeting to close: the connection phase (greeting, optional TLS
//! upgrade, authentication, account policies) in [`login`], then the command loop here.
//! Statements are executed by [`crate::sql`]; results are written by [`results`].
//!
//! A session is split in three so they can be borrowed separately while a statement runs:
//! the packet stream (written by the result writer), the storage session (running the
//! statement), and [`SessionState`] (read by storage through [`crate::storage::SessionContext`]).

pub(crate) mod login;
pub(crate) mod results;

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tlsql_tls_api::{CertSummary, TlsInfo, TlsStream};

use crate::error::{SqlError, codes};
use crate::protocol::command::{Command, ParamType};
use crate::protocol::handshake::{caps, status};
use crate::protocol::packet::{PacketError, PacketStream};
use crate::protocol::response;
use crate::protocol::value::{Column, Value};
use crate::server::Shared;
use crate::server::admission::Ticket;
use crate::server::socket::{Peer, Socket, SocketControl};
use crate::sql::variables::VarValue;
use crate::status::{Counters, GaugeGuard};
use crate::storage::{EngineSession, Prepared};
use crate::tls::ActiveTls;

/// The transport after the connection phase: the socket itself or TLS over it.
pub(crate) enum Conn {
    Plain(Socket),
    Tls(Box<dyn TlsStream>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// A session's TLS parameters, fixed at the handshake.
pub struct SessionTls {
    /// What the backend reported.
    pub info: TlsInfo,
    /// The verified client certificate, parsed.
    pub peer_cert: Option<CertSummary>,
    /// The context the session was accepted with (it outlives reloads).
    pub context: Arc<ActiveTls>,
}

/// Who is logged in.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The user name the client gave (`USER()`'s user part).
    pub user: String,
    /// The client's host as accounts see it (`USER()`'s host part).
    pub client_host: String,
    /// The matched account's user (`CURRENT_USER()`'s user part; empty for the anonymous user).
    pub account_user: String,
    /// The matched account's host pattern (`CURRENT_USER()`'s host part).
    pub account_host: String,
}

/// Everything about the session that statements read, apart from storage and the stream.
pub struct SessionState {
    pub(crate) shared: Arc<Shared>,
    pub(crate) id: u32,
    pub(crate) peer: Peer,
    pub(crate) client_caps: u32,
    pub(crate) tls: Option<SessionTls>,
    pub(crate) identity: Identity,
    /// Session overrides of system variables.
    pub(crate) vars: HashMap<&'static str, VarValue>,
    pub(crate) user_vars: HashMap<String, Value>,
    pub(crate) warnings: Vec<(u16, String)>,
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
pub(crate) struct PreparedSlot(Arc<Shared>);

impl PreparedSlot {
    /// Takes a place, or `None` when all are taken.
    fn take(shared: &Arc<Shared>) -> Option<Self> {
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

/// An authenticated session.
pub struct Session {
    pub(crate) stream: PacketStream<Conn>,
    pub(crate) control: SocketControl,
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

/// Serves one connection until it closes. Errors are logged, never propagated: one client's
/// failure must not affect the server.
pub(crate) fn run(shared: &Arc<Shared>, socket: Socket, ticket: &mut Ticket) {
    let label = socket.peer_label();
    match login::establish(shared, socket, ticket) {
        Ok(mut session) => {
            log::debug!("session {} ({label}) started", session.state.id);
            session.command_loop(&label);
        }
        Err(failure) => {
            Counters::bump(&shared.counters.aborted_connects);
            failure.log(&label);
        }
    }
}

/// COM_SET_OPTION's two options (`enum_mysql_set_option`).
const MULTI_STATEMENTS_ON: u16 = 0;
const MULTI_STATEMENTS_OFF: u16 = 1;

/// The ER_CLIENT_INTERACTION_TIMEOUT number MySQL 8.0.24+ sends before closing an idle session.
const ER_CLIENT_INTERACTION_TIMEOUT: u16 = 4031;

impl Session {
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

    /// Queues an OK packet.
    pub(crate) fn send_ok(&mut self, affected_rows: u64, last_insert_id: u64) -> io::Result<()> {
        let status = self.status_flags();
        let warnings = u16::try_from(self.state.warnings.len()).unwrap_or(u16::MAX);
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
        self.failed = true;
        self.stream.write_packet(&response::err(e))
    }

    /// Queues a complete result set of server-computed rows.
    pub(crate) fn send_rows(&mut self, columns: &[Column], rows: &[Vec<Value>]) -> io::Result<()> {
        let status = self.status_flags();
        let mut writer = results::ResultWriter::text(&mut self.stream, self.state.deprecate_eof());
        use crate::storage::RowSink;
        writer.columns(columns)?;
        for row in rows {
            writer.row(row)?;
        }
        writer.finish(status, 0)
    }

    fn command_loop(&mut self, label: &str) {
        loop {
            self.stream.set_seq(0);
            let read = self.stream.read_packet();
            if self.state.shared.shutdown.started() {
                // A command read after shutdown began is answered, not run; a wait for the
                // next command that shutdown cut short gets the error unsolicited (seq 0).
                if read.is_err() {
                    self.stream.set_seq(0);
                }
                self.end_for_shutdown(label);
                return;
            }
            let packet = match read {
                Ok(p) => p,
                Err(e) => {
                    self.end_on_read_error(e, label);
                    return;
                }
            };
            let shared = Arc::clone(&self.state.shared);
            let _running = GaugeGuard::raise(&shared.counters.threads_running);
            let outcome = match Command::parse(&packet) {
                Ok(Command::Quit) => {
                    log::debug!("session {} ({label}) quit", self.state.id);
                    self.close();
                    return;
                }
                Ok(cmd) => self.dispatch(cmd),
                Err(e) => self.send_error(&SqlError::new(
                    1835,
                    "08S01",
                    format!("Malformed communication packet: {}", e.0),
                )),
            };
            if let Err(e) = outcome.and_then(|()| self.stream.flush()) {
                Counters::bump(&self.state.shared.counters.aborted_clients);
                log::debug!(
                    "session {} ({label}) ended while writing: {e}",
                    self.state.id
                );
                return;
            }
        }
    }

    fn end_on_read_error(&mut self, e: PacketError, label: &str) {
        let id = self.state.id;
        let counters = &self.state.shared.counters;
        match e {
            PacketError::Closed => {
                Counters::bump(&counters.aborted_clients);
                log::debug!("session {id} ({label}) closed by the client without COM_QUIT");
            }
            PacketError::OutOfOrder { expected, got } => {
                Counters::bump(&counters.aborted_clients);
                log::info!(
                    "session {id} ({label}): packet with sequence id {got} where {expected} was expected; closing"
                );
                self.stream.set_seq(0);
                let _ = self
                    .send_error(&packets_out_of_order())
                    .and_then(|()| self.stream.flush());
            }
            PacketError::TooLarge { size, limit } => {
                Counters::bump(&counters.aborted_clients);
                log::info!(
                    "session {id} ({label}): packet of {size} bytes exceeds max_allowed_packet ({limit}); closing"
                );
                let err = SqlError::new(
                    codes::ER_NET_PACKET_TOO_LARGE,
                    "08S01",
                    "Got a packet bigger than 'max_allowed_packet' bytes",
                );
                let _ = self.send_error(&err).and_then(|()| self.stream.flush());
            }
            PacketError::Io(io)
                if matches!(
                    io.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Counters::bump(&counters.aborted_clients);
                log::debug!("session {id} ({label}) idle longer than wait_timeout; closing");
                let err = SqlError::new(
                    ER_CLIENT_INTERACTION_TIMEOUT,
                    "HY000",
                    "The client was disconnected by the server because of inactivity. See wait_timeout and interactive_timeout for configuring this behavior.",
                );
                self.stream.set_seq(0);
                let _ = self.send_error(&err).and_then(|()| self.stream.flush());
            }
            other => {
                Counters::bump(&counters.aborted_clients);
                log::debug!("session {id} ({label}) ended: {other}");
            }
        }
    }

    /// ERR 1053, then the close (close_notify over TLS), as MySQL tells its sessions.
    fn end_for_shutdown(&mut self, label: &str) {
        log::debug!(
            "session {} ({label}) closed: server shutdown",
            self.state.id
        );
        let _ = self.send_error(&server_shutdown());
        self.close();
    }

    fn close(&mut self) {
        let _ = self.stream.flush();
        if let Conn::Tls(tls) = self.stream_conn_mut() {
            let _ = tls.shutdown();
        }
    }

    fn stream_conn_mut(&mut self) -> &mut Conn {
        self.stream.get_mut()
    }

    fn dispatch(&mut self, cmd: Command<'_>) -> io::Result<()> {
        match cmd {
            Command::Quit => Ok(()),
            Command::Ping => self.send_ok(0, 0),
            Command::InitDb(db) => {
                let db = String::from_utf8_lossy(db).into_owned();
                match self.use_database(&db) {
                    Ok(()) => self.send_ok(0, 0),
                    Err(e) => self.send_error(&e),
                }
            }
            Command::Query(sql) => {
                Counters::bump(&self.state.shared.counters.questions);
                let sql = String::from_utf8_lossy(sql).into_owned();
                if self.multi_statements {
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
                self.multi_statements = match option {
                    MULTI_STATEMENTS_ON => true,
                    MULTI_STATEMENTS_OFF => false,
                    _ => {
                        return self.send_error(&SqlError::new(
                            codes::ER_UNKNOWN_COM_ERROR,
                            "08S01",
                            "Unknown command",
                        ));
                    }
                };
                let status = self.status_flags();
                self.stream.write_packet(&response::eof(0, status))
            }
            Command::StmtPrepare(sql) => {
                let sql = String::from_utf8_lossy(sql).into_owned();
                self.prepare(&sql)
            }
            Command::StmtExecute { id, body } => {
                Counters::bump(&self.state.shared.counters.questions);
                self.execute(id, body)
            }
            Command::StmtSendLongData { id, param, data } => {
                let limit = self.state.shared.config.max_allowed_packet;
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
                Ok(())
            }
            Command::StmtClose(id) => {
                self.statements.remove(&id);
                Ok(())
            }
            Command::StmtReset(id) => match self.statements.get_mut(&id) {
                Some(stmt) => {
                    stmt.long_data.iter_mut().for_each(|slot| *slot = None);
                    stmt.long_data_overflow = false;
                    self.send_ok(0, 0)
                }
                None => self.send_error(&unknown_statement(id, "mysqld_stmt_reset")),
            },
            Command::Unsupported(code) => self.send_error(&SqlError::new(
                codes::ER_UNKNOWN_COM_ERROR,
                "08S01",
                format!("Unknown command 0x{code:02x}"),
            )),
        }
    }

    fn field_list(&mut self, table: &[u8], wildcard: &[u8]) -> io::Result<()> {
        let table = String::from_utf8_lossy(table).into_owned();
        let wildcard =
            (!wildcard.is_empty()).then(|| String::from_utf8_lossy(wildcard).into_owned());
        match self.engine.field_list(&table, wildcard.as_deref()) {
            Ok(columns) => {
                let mut out = Vec::new();
                for c in &columns {
                    out.clear();
                    response::column_definition(c, &mut out);
                    self.stream.write_packet(&out)?;
                }
                let status = self.status_flags();
                if self.state.deprecate_eof() {
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
        let c = &self.state.shared.counters;
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
        if let Err(e) = self.engine.reset() {
            log::debug!(
                "session {}: rollback on reset failed: {}",
                self.state.id,
                e.message
            );
        }
        self.statements.clear();
        self.state.vars.clear();
        self.state.user_vars.clear();
        self.state.warnings.clear();
    }

    fn prepare(&mut self, sql: &str) -> io::Result<()> {
        let Some(slot) = PreparedSlot::take(&self.state.shared) else {
            let limit = self.state.shared.config.max_prepared_stmt_count;
            return self.send_error(&SqlError::new(
                codes::ER_MAX_PREPARED_STMT_COUNT_REACHED,
                "42000",
                format!(
                    "Can't create more than max_prepared_stmt_count statements (current value: {limit})"
                ),
            ));
        };
        let ctx = crate::sql::Context::new(&self.state);
        match self.engine.prepare(sql, &ctx) {
            Ok(prepared) => {
                self.next_statement_id = self.next_statement_id.wrapping_add(1).max(1);
                let id = self.next_statement_id;
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
                let deprecate_eof = self.state.deprecate_eof();
                let status = self.status_flags();
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
                self.statements.insert(
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
        let Some(stmt) = self.statements.get_mut(&id) else {
            return self.send_error(&unknown_statement(id, "mysqld_stmt_execute"));
        };
        if stmt.long_data_overflow {
            stmt.long_data.iter_mut().for_each(|slot| *slot = None);
            stmt.long_data_overflow = false;
            return self.send_error(&SqlError::new(
                codes::ER_NET_PACKET_TOO_LARGE,
                "08S01",
                "Parameter of prepared statement which is set through mysql_send_long_data() is longer than 'max_allowed_packet' bytes",
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
                    1835,
                    "08S01",
                    format!("Malformed communication packet: {}", e.0),
                ));
            }
        };
        stmt.long_data.iter_mut().for_each(|slot| *slot = None);
        let Some(stmt) = self.statements.get(&id) else {
            return Ok(());
        };
        self.state.warnings.clear();
        let ctx = crate::sql::Context::new(&self.state);
        let mut writer =
            results::ResultWriter::binary(&mut self.stream, self.state.deprecate_eof());
        let outcome = self
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
        let status = self.status_flags();
        match outcome {
            Ok(Outcome::Rows) => {
                let warnings = u16::try_from(self.state.warnings.len()).unwrap_or(u16::MAX);
                results::finish_rows(
                    &mut self.stream,
                    self.state.deprecate_eof(),
                    status,
                    warnings,
                )
            }
            Ok(Outcome::Done {
                affected_rows,
                last_insert_id,
                notes,
            }) => {
                self.state
                    .warnings
                    .extend(notes.into_iter().map(|n| (n.code, n.message)));
                self.send_ok(affected_rows, last_insert_id)
            }
            Err(ExecError::Sql(e)) => {
                if columns_sent {
                    log::debug!(
                        "session {}: error in the middle of a result set: {}",
                        self.state.id,
                        e.message
                    );
                }
                self.send_error(&e)
            }
            Err(ExecError::Io(e)) => Err(e),
        }
    }

    /// Changes the default database (COM_INIT_DB, USE, the login database).
    pub(crate) fn use_database(&mut self, db: &str) -> Result<(), SqlError> {
        use crate::storage::SessionContext;
        crate::sql::Context::new(&self.state).authorize_database(db)?;
        self.engine.use_database(db)
    }
}

/// ERR 1156, sent before closing a connection whose packets lost their order.
pub(crate) fn packets_out_of_order() -> SqlError {
    SqlError::new(
        codes::ER_NET_PACKETS_OUT_OF_ORDER,
        "08S01",
        "Got packets out of order",
    )
}

/// ER_SERVER_SHUTDOWN, what sessions get when the server stops.
pub(crate) fn server_shutdown() -> SqlError {
    SqlError::new(
        codes::ER_SERVER_SHUTDOWN,
        "08S01",
        "Server shutdown in progress",
    )
}

fn unknown_statement(id: u32, command: &str) -> SqlError {
    SqlError::new(
        codes::ER_UNKNOWN_STMT_HANDLER,
        "HY000",
        format!("Unknown prepared statement handler ({id}) given to {command}"),
    )
}
