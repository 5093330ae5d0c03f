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
use super::variables;
use crate::auth::account::AccountKey;
use crate::charset;
use crate::error::{ErrorKind, SqlError};
use crate::instance::Instance;
use crate::instance::sessions::{Kill, NewSession};
use crate::lex;
use crate::net::Peer;
use crate::protocol::command::Command;
use crate::protocol::handshake::{HandshakeResponse, caps};
use crate::protocol::writers::RowFormat;
use crate::session::{Client, Established, Executor, Identity, Refusal, login};
use crate::status::Counters;
use crate::storage::EngineSession;
use crate::vars::{self, VarValue};

/// A session's SQL side: its storage session, state and prepared statements.
pub(crate) struct LocalSession {
    engine: EngineSession,
    state: SessionState,
    prepared: PreparedStatements,
    /// Whether COM_QUERY may carry several statements (CLIENT_MULTI_STATEMENTS at login,
    /// then COM_SET_OPTION).
    multi_statements: bool,
    /// Set when the session must end after its current command (`KILL`, a refused
    /// COM_CHANGE_USER).
    closing: bool,
}

/// Opens the local executor for a login: a storage session, its place in the server's
/// registry (where the account's connection limits are checked), then the login's database.
pub(crate) fn open(
    instance: &Arc<Instance>,
    login: Established,
) -> Result<Box<dyn Executor>, Refusal> {
    let engine = instance.engine.connect().map_err(|e| Refusal {
        reason: format!("storage session failed: {}", e.message),
        error: e.into(),
        level: log::Level::Error,
    })?;
    let account = AccountKey::new(
        login.identity.account_user.clone(),
        login.identity.account_host.clone(),
    );
    let limits = instance
        .accounts
        .get(&account)
        .map(|a| a.limits)
        .unwrap_or_default();
    let registration = instance
        .sessions
        .register(
            NewSession {
                id: login.id,
                host: process_host(&login.peer),
                user: &login.identity.user,
                account: account.clone(),
                limits,
                db: None,
                interrupter: engine.interrupter(),
            },
            global_max_user_connections(instance),
        )
        .map_err(|e| Refusal {
            reason: format!("account {account}: {}", e.message),
            error: e.into(),
            level: log::Level::Info,
        })?;
    let mut local = LocalSession {
        engine,
        state: SessionState {
            shared: Arc::clone(instance),
            id: login.id,
            client_caps: login.client_caps,
            tls: login.tls,
            peer: login.peer,
            scramble: login.scramble,
            identity: login.identity,
            limits,
            registration,
            // Room for the four character-set variables every login sets, without a regrowth.
            vars: HashMap::with_capacity(8),
            user_vars: HashMap::new(),
            warnings: Vec::new(),
            found_rows: 0,
        },
        prepared: PreparedStatements::default(),
        multi_statements: login.client_caps & caps::MULTI_STATEMENTS != 0,
        closing: false,
    };
    set_client_charset(&mut local.state, login.collation);
    if let Some(db) = &login.database {
        use_database(&mut local.engine, &local.state, db).map_err(|e| Refusal {
            reason: format!("initial database: {}", e.message),
            error: e.into(),
            level: log::Level::Info,
        })?;
    }
    Ok(Box::new(local))
}

/// How `SHOW PROCESSLIST` shows where a client is: `address:port`, or `localhost` for the unix
/// socket.
fn process_host(peer: &Peer) -> String {
    match peer {
        Peer::Tcp(addr, host) => format!("{host}:{}", addr.port()),
        Peer::Unix => "localhost".to_string(),
    }
}

/// The global `max_user_connections` (0: no limit).
fn global_max_user_connections(instance: &Instance) -> u32 {
    match vars::lookup("max_user_connections").map(|d| variables::global_value(instance, d)) {
        Some(VarValue::Int(n)) => u32::try_from(n).unwrap_or(u32::MAX),
        _ => 0,
    }
}

/// COM_SET_OPTION's two options (`enum_mysql_set_option`).
const MULTI_STATEMENTS_ON: u16 = 0;
const MULTI_STATEMENTS_OFF: u16 = 1;

impl Executor for LocalSession {
    fn login_ok(&mut self, client: &mut Client<'_>) -> io::Result<()> {
        // From now on KILL CONNECTION can shut the session's socket.
        self.state
            .registration
            .entry()
            .set_control(client.control.handle());
        exchange(&mut self.engine, &mut self.state, client).send_ok(0, 0)
    }

    fn command(&mut self, packet: &[u8], client: &mut Client<'_>) -> io::Result<()> {
        let entry = Arc::clone(self.state.registration.entry());
        if entry.killed() == Kill::Connection {
            self.closing = true;
            return Ok(());
        }
        let sent = match Command::parse(packet) {
            Ok(cmd) => {
                entry.begin(command_name(&cmd), None);
                self.dispatch(cmd, client)
            }
            Err(e) => {
                exchange(&mut self.engine, &mut self.state, client).send_error(&SqlError::new(
                    ErrorKind::MalformedPacket,
                    format!("Malformed communication packet: {}", e.0),
                ))
            }
        };
        entry.end();
        if entry.killed() == Kill::Connection {
            self.closing = true;
        }
        sent
    }

    fn timeouts(&self) -> (Duration, Duration) {
        (self.state.wait_timeout(), self.state.net_write_timeout())
    }

    fn closing(&self) -> bool {
        self.closing
    }
}

impl Drop for LocalSession {
    fn drop(&mut self) {
        self.state.shared.table_locks.unlock_tables(self.state.id);
    }
}

/// `SHOW PROCESSLIST`'s `Command` for a command.
fn command_name(cmd: &Command<'_>) -> &'static str {
    match cmd {
        Command::Quit => "Quit",
        Command::InitDb(_) => "Init DB",
        Command::Query(_) => "Query",
        Command::FieldList { .. } => "Field List",
        Command::Statistics => "Statistics",
        Command::Ping => "Ping",
        Command::ResetConnection => "Reset connection",
        Command::SetOption(_) => "Set option",
        Command::StmtPrepare(_) => "Prepare",
        Command::StmtExecute { .. } => "Execute",
        Command::StmtSendLongData { .. } => "Long Data",
        Command::StmtClose(_) => "Close stmt",
        Command::StmtReset(_) => "Reset stmt",
        Command::ChangeUser(_) => "Change user",
        Command::Unsupported(_) => "Error",
    }
}

impl LocalSession {
    fn dispatch(&mut self, cmd: Command<'_>, client: &mut Client<'_>) -> io::Result<()> {
        let LocalSession {
            engine,
            state,
            prepared,
            multi_statements,
            ..
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
                // Literals may hold any byte: decoded so that none is lost.
                let sql = lex::decode(sql);
                if let Some(statement) = ex.state.shared.parsed.get(&sql) {
                    query(&mut ex, prepared, &sql, Ok(statement))
                } else if *multi_statements {
                    query_statements(&mut ex, prepared, &sql)
                } else {
                    match lex::tokenize(&sql) {
                        Ok(source) => parse_and_query(&mut ex, prepared, &sql, &source),
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
                reset(&mut ex, prepared);
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
            Command::StmtPrepare(sql) => prepared.prepare(&mut ex, &lex::decode(sql)),
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
            Command::ChangeUser(body) => {
                let closing = change_user(&mut ex, prepared, body);
                self.closing |= closing?;
                Ok(())
            }
            Command::Unsupported(code) => ex.send_error(&SqlError::new(
                ErrorKind::UnknownCommand,
                format!("Unknown command 0x{code:02x}"),
            )),
        }
    }
}

/// Back to a fresh session (COM_RESET_CONNECTION, COM_CHANGE_USER): the transaction rolled
/// back, table locks released, prepared statements, variables and warnings forgotten.
fn reset(ex: &mut Exchange<'_>, prepared: &mut PreparedStatements) {
    if let Err(e) = ex.engine.reset() {
        log::debug!(
            "session {}: rollback on reset failed: {}",
            ex.state.id,
            e.message
        );
    }
    prepared.clear();
    ex.state.shared.table_locks.unlock_tables(ex.state.id);
    ex.state.vars.clear();
    ex.state.user_vars.clear();
    ex.state.warnings.clear();
}

/// COM_CHANGE_USER: the session is reset, then logged in again as the account the packet
/// names, checked as a login is (see [`login::change_user`]) and against the account's
/// connection limits; then its database and character set are the packet's. As in MySQL, a
/// refused change is answered with 1873 (1226/1203 for a limit, the database's error for a
/// database) and closes the connection: whether it closes is returned.
fn change_user(
    ex: &mut Exchange<'_>,
    prepared: &mut PreparedStatements,
    body: &[u8],
) -> io::Result<bool> {
    let caps = ex.state.client_caps;
    let response = match HandshakeResponse::parse_change_user(body, caps) {
        Ok(r) => r,
        Err(e) => {
            ex.send_error(&SqlError::new(
                ErrorKind::MalformedPacket,
                format!("Malformed communication packet: {}", e.0),
            ))?;
            return Ok(false);
        }
    };
    reset(ex, prepared);
    let shared = Arc::clone(&ex.state.shared);
    let client_host = ex.state.peer.host().to_string();
    let refused = |ex: &mut Exchange<'_>, e: &SqlError, reason: &str| -> io::Result<bool> {
        log::info!(
            "session {}: COM_CHANGE_USER to '{}' refused: {}",
            ex.state.id,
            crate::logging::field(&response.user),
            crate::logging::line(reason)
        );
        ex.send_error(e)?;
        Ok(true)
    };
    let account = match login::change_user(
        &shared,
        ex.stream,
        ex.state.scramble,
        &ex.state.peer,
        ex.state.tls.as_ref(),
        &response,
        caps,
    ) {
        Ok(account) => account,
        Err(reason) => {
            let e = SqlError::new(
                ErrorKind::AccessDeniedChangeUser,
                format!(
                    "Access denied trying to change to user '{}'@'{}' (using password: {}). Disconnecting.",
                    response.user,
                    client_host,
                    if response.auth_response.is_empty() {
                        "NO"
                    } else {
                        "YES"
                    }
                ),
            );
            return refused(ex, &e, &reason);
        }
    };
    if let Err(e) = ex.state.registration.change_account(
        &response.user,
        account.key(),
        account.limits,
        global_max_user_connections(&shared),
    ) {
        let reason = e.message.clone();
        return refused(ex, &e, &reason);
    }
    ex.state.identity = Identity {
        user: response.user.clone(),
        client_host,
        account_user: account.user.clone(),
        account_host: account.host.clone(),
    };
    ex.state.limits = account.limits;
    match &response.database {
        Some(db) => {
            if let Err(e) = use_database(ex.engine, ex.state, db) {
                let reason = e.message.clone();
                return refused(ex, &e, &reason);
            }
        }
        None => {
            ex.engine.forget_database();
            ex.state.registration.entry().update(|a| a.db = None);
        }
    }
    set_client_charset(ex.state, response.collation);
    log::debug!(
        "session {}: changed user to '{}'@'{}'",
        ex.state.id,
        crate::logging::field(&account.user),
        crate::logging::field(&account.host)
    );
    ex.send_ok(0, 0)?;
    Ok(false)
}

/// The character set variables for the collation number a client sent at login or with
/// COM_CHANGE_USER, as MySQL sets them; an unknown number keeps the server's.
fn set_client_charset(state: &mut SessionState, collation: u8) {
    let Some(c) = charset::collation_by_id(u16::from(collation)) else {
        return;
    };
    for name in [
        "character_set_client",
        "character_set_connection",
        "character_set_results",
    ] {
        if let Some(def) = vars::lookup(name) {
            state
                .vars
                .insert(def.name, VarValue::Text(c.charset.to_string()));
        }
    }
    if let Some(def) = vars::lookup("collation_connection") {
        state
            .vars
            .insert(def.name, VarValue::Text(c.name.to_string()));
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
fn query_statements(
    ex: &mut Exchange<'_>,
    prepared: &mut PreparedStatements,
    sql: &str,
) -> io::Result<()> {
    let statements = match lex::split_statements(sql) {
        Ok(s) => s,
        Err(e) => return ex.send_error(&e),
    };
    let last = statements.len() - 1;
    for (i, source) in statements.iter().enumerate() {
        ex.more_results = i < last;
        ex.failed = false;
        let sent = parse_and_query(ex, prepared, sql, source);
        ex.more_results = false;
        sent?;
        if ex.failed {
            break;
        }
    }
    Ok(())
}

/// Parses and runs `source`, a statement of the COM_QUERY text `sql`.
fn parse_and_query(
    ex: &mut Exchange<'_>,
    prepared: &mut PreparedStatements,
    sql: &str,
    source: &lex::Source<'_>,
) -> io::Result<()> {
    if source.is_empty() {
        return ex.send_error(&super::stmt::empty_query());
    }
    let statement = Statement::parse(source);
    // Kept by the whole text, so only when the text is this statement and nothing more.
    if let (Ok(parsed), true) = (&statement, source.text == sql) {
        ex.state.shared.parsed.offer(sql, parsed);
    }
    query(ex, prepared, source.text, statement)
}

/// Runs one parsed COM_QUERY statement (`text`) and queues its response.
fn query(
    ex: &mut Exchange<'_>,
    prepared: &mut PreparedStatements,
    text: &str,
    statement: Result<Statement, SqlError>,
) -> io::Result<()> {
    let entry = ex.state.registration.entry();
    // A KILL QUERY that came between statements is for none of them.
    entry.clear_kill_query();
    ex.engine.clear_interrupt();
    entry.begin("Query", Some(text));
    if !statement.as_ref().is_ok_and(Statement::keeps_warnings) {
        ex.state.warnings.clear();
    }
    let statement = statement.and_then(|s| {
        ex.state
            .registration
            .count_statement(&ex.state.limits, s.changes_data())
            .map(|()| s)
    });
    match statement {
        Ok(Statement::Named(named)) => prepared.run_named(ex, named),
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
