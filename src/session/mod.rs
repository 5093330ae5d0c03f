//! One client connection from greeting to close: the connection phase (greeting, optional TLS
//! upgrade, authentication, account policies) in [`login`], then the command loop here.
//!
//! The session owns the transport and the login, and knows nothing of SQL: each command after
//! login goes to the session's [`Executor`], opened by the [`OpenExecutor`] the server gives
//! it — the local SQL engine (`sql::local`) today, a relay to a backend server in
//! gateway mode. What the session itself answers is what concerns the connection: framing
//! errors, the idle timeout, COM_QUIT and shutdown.

pub(crate) mod login;

pub use login::{Local, LoginFailure, refuse};

use std::io;
use std::net::SocketAddr;
use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tlsql_tls_api::{CertSummary, TlsInfo};

use crate::error::{ErrorKind, SqlError};
use crate::instance::Instance;
use crate::instance::admission::Ticket;
use crate::net::{Conn, Peer, Socket, SocketControl};
use crate::protocol::handshake::{Greeting, HandshakeResponse};
use crate::protocol::packet::{PacketError, PacketStream};
use crate::protocol::response;
use crate::status::{Counters, GaugeGuard, SharedGauge};
use crate::tls::ActiveTls;

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

/// What the connection phase established, handed to the executor it opens.
pub struct Established {
    /// The connection id (`CONNECTION_ID()`).
    pub id: u32,
    /// Where the client is.
    pub peer: Peer,
    /// The capabilities the client asked for at login.
    pub client_caps: u32,
    /// TLS, when the client upgraded.
    pub tls: Option<SessionTls>,
    /// Who logged in.
    pub identity: Identity,
    /// The database the login asked for, if any.
    pub database: Option<String>,
    /// The greeting's nonce (a COM_CHANGE_USER's first answer is computed with it).
    pub scramble: crate::auth::Nonce,
    /// The collation number the login named (the session's character set).
    pub collation: u8,
}

/// The client side of one command: the packet stream to answer on and the socket's controls
/// (a statement may change the session's timeouts).
pub struct Client<'a> {
    /// Packets to and from the client.
    pub stream: &'a mut PacketStream<Conn>,
    /// The socket's timeouts.
    pub control: &'a SocketControl,
}

/// What runs a logged-in session's commands. It owns everything a command can change; the
/// session only frames packets and keeps the connection.
pub trait Executor: Send {
    /// Queues the OK that completes the login (its status flags are the executor's).
    fn login_ok(&mut self, client: &mut Client<'_>) -> io::Result<()>;

    /// Runs one command (any packet but COM_QUIT) and queues its whole response. An error
    /// means the client can no longer be written to.
    fn command(&mut self, packet: &[u8], client: &mut Client<'_>) -> io::Result<()>;

    /// How long to wait for the client's next command, and for a write to finish.
    fn timeouts(&self) -> (Duration, Duration);

    /// Whether the session ends now that its last command was answered (`KILL`, a refused
    /// COM_CHANGE_USER).
    fn closing(&self) -> bool {
        false
    }
}

/// What a refused client is told.
#[derive(Clone, Debug)]
pub enum Answer {
    /// An error of tlsql's own.
    Error(SqlError),
    /// An ERR packet a backend server sent, passed on as it came (gateway mode): its number,
    /// SQLSTATE and message are the backend's.
    Relayed(Vec<u8>),
}

impl From<SqlError> for Answer {
    fn from(e: SqlError) -> Self {
        Self::Error(e)
    }
}

impl Answer {
    /// The ERR packet, for a client that has sent its login (protocol 4.1: with SQLSTATE).
    pub fn packet(&self) -> Vec<u8> {
        match self {
            Self::Error(e) => response::err(e),
            Self::Relayed(packet) => packet.clone(),
        }
    }

    /// The ERR packet sent in place of the greeting (no SQLSTATE, as MySQL sends it then).
    pub fn packet_before_handshake(&self) -> Vec<u8> {
        match self {
            Self::Error(e) => response::err_before_handshake(e),
            Self::Relayed(packet) => packet.clone(),
        }
    }
}

/// Why an executor could not be opened for a login: the client gets `error`, the log `reason`.
pub struct Refusal {
    /// What the client is told.
    pub error: Answer,
    /// How much the operator should care.
    pub level: log::Level,
    /// What the log says.
    pub reason: String,
}

/// Opens the executor of a session that has just authenticated.
pub type OpenExecutor = fn(&Arc<Instance>, Established) -> Result<Box<dyn Executor>, Refusal>;

/// What a server's connections log in to: tlsql's own accounts and SQL engine
/// ([`login::Local`]), or in gateway mode a backend server the login is relayed to. It decides
/// the greeting and authenticates; the session owns the transport around both (the greeting's
/// `CLIENT_SSL`, the TLS upgrade, `require_secure_transport`, the connect-timeout deadline).
pub trait Service: Send + Sync {
    /// Prepares one connection's login before its greeting is sent: `peer` is the client,
    /// `local` the address it reached the server at (TCP), `id` the connection's number in
    /// tlsql's log. A refusal is sent in place of the greeting.
    fn begin(
        &self,
        instance: &Arc<Instance>,
        peer: &Peer,
        local: Option<SocketAddr>,
        id: u32,
    ) -> Result<Box<dyn Login + '_>, Refusal>;
}

/// One connection's login in progress.
pub trait Login: Send {
    /// The greeting to send; the session adds `CLIENT_SSL` when a TLS context is loaded.
    fn greeting(&self) -> &Greeting;

    /// Authenticates the client whose login arrived and opens the session's executor, whose
    /// [`Executor::login_ok`] then completes the login. A refusal has been sent to the client
    /// when this fails.
    fn finish(
        self: Box<Self>,
        request: LoginRequest<'_>,
    ) -> Result<Box<dyn Executor>, LoginFailure>;
}

/// A client's login as the session received it.
pub struct LoginRequest<'a> {
    /// The server instance.
    pub instance: &'a Arc<Instance>,
    /// The connection's number in tlsql's log.
    pub id: u32,
    /// Packets to and from the client (inside TLS when the client upgraded).
    pub stream: &'a mut PacketStream<Conn>,
    /// Where the client is.
    pub peer: Peer,
    /// TLS, when the client upgraded.
    pub tls: Option<SessionTls>,
    /// The login, parsed.
    pub response: HandshakeResponse,
    /// The login packet as the client sent it.
    pub packet: Vec<u8>,
    /// The capabilities both sides have: what the client asked for among those offered.
    pub client_caps: u32,
    /// The connection's slot; a login must confirm it (see [`Ticket::confirm`]).
    pub ticket: &'a mut Ticket,
}

/// An authenticated session. It moves between threads: a worker serves it while the client
/// sends commands, and lets go of it when the client goes quiet (see [`IdleSession`]).
pub struct Session {
    stream: PacketStream<Conn>,
    control: SocketControl,
    executor: Box<dyn Executor>,
    id: u32,
    instance: Arc<Instance>,
    /// The client's address for log lines.
    label: String,
    /// Counts the session as logged in (the metrics' `sessions`) until it is dropped.
    _logged_in: SharedGauge<Instance>,
}

/// How long a worker waits for a session's next command before it lets the session go idle
/// and takes other work. A client that sends its commands back to back (a benchmark, a batch,
/// a transaction) keeps its worker and never pays for the hand-over; one that pauses longer
/// holds no thread while it pauses. The price of going idle is two `epoll_ctl` calls and a
/// wake-up by the poller when the next command comes (measured in BENCHMARKS.md).
const IDLE_GRACE: Duration = Duration::from_millis(10);

/// A logged-in session that no worker is serving: its client has sent nothing for
/// [`IDLE_GRACE`]. It holds its socket, TLS state and executor but no thread and no packet
/// buffers; whoever watches [`IdleSession::fd`] hands it back to a worker with
/// [`IdleSession::resume`] when the client sends something (or closes), or ends it with
/// [`IdleSession::expire`] once [`IdleSession::deadline`] (`wait_timeout`) passes, or with
/// [`IdleSession::end_for_shutdown`].
pub struct IdleSession {
    /// Boxed: idle sessions are handed between threads and kept by the thousand.
    session: Box<Session>,
    /// When the client's last response was done: `wait_timeout` counts from here.
    since: Instant,
}

/// Serves one connection until it closes, or until its client goes quiet after login: then the
/// session comes back idle for the caller to watch. Errors are logged, never propagated: one
/// client's failure must not affect the server.
pub(crate) fn run(
    instance: &Arc<Instance>,
    socket: Socket,
    ticket: &mut Ticket,
    service: &dyn Service,
) -> Option<IdleSession> {
    let label = socket.peer_label();
    match login::establish(instance, socket, &label, ticket, service) {
        Ok(session) => {
            instance.metrics.login_ok();
            log::debug!("session {} ({label}) started", session.id);
            session.serve()
        }
        Err(failure) => {
            Counters::bump(&instance.counters.aborted_connects);
            failure.log(&label);
            None
        }
    }
}

impl IdleSession {
    /// The client's socket: readable when the client sends its next command or closes.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.session.control.fd()
    }

    /// The client's address, for log lines.
    pub fn label(&self) -> &str {
        &self.session.label
    }

    /// When `wait_timeout` ends the session if the client stays quiet; `None` never.
    pub fn deadline(&self) -> Option<Instant> {
        let wait = self.session.control.idle_timeout()?;
        self.since.checked_add(wait)
    }

    /// Serves the client again (its socket turned readable); comes back idle like [`run`].
    pub fn resume(self) -> Option<IdleSession> {
        (*self.session).serve()
    }

    /// Ends the session because `wait_timeout` passed: the client is told why, as when a
    /// worker's own wait runs out. The write must be done by `until` (the caller is not a
    /// worker and must not be held up by a client that does not read).
    pub fn expire(mut self, until: Instant) {
        self.session.control.set_deadline(until);
        self.session
            .end_on_read_error(PacketError::Io(io::Error::new(
                io::ErrorKind::WouldBlock,
                "wait_timeout passed while idle",
            )));
    }

    /// Ends the session for the server's shutdown (ERR 1053, then the close), writing by
    /// `until` as [`IdleSession::expire`] does.
    pub fn end_for_shutdown(mut self, until: Instant) {
        self.session.control.set_deadline(until);
        self.session.stream.set_seq(0);
        self.session.end_for_shutdown();
    }
}

/// COM_QUIT: the one command the session answers itself (by closing).
const COM_QUIT: u8 = 0x01;

/// Where the command loop stopped.
enum Step {
    /// The session is over.
    Ended,
    /// No command arrived within [`IDLE_GRACE`] of this instant.
    Idle(Instant),
}

/// What waiting for the next command found.
enum Awaited {
    /// It has begun to arrive.
    Ready,
    /// Nothing came within [`IDLE_GRACE`] of this instant.
    Quiet(Instant),
    /// The read failed (closed, timed out, shutdown): handled as the command's read error.
    Failed(PacketError),
}

impl Session {
    fn send_error(&mut self, e: &SqlError) -> io::Result<()> {
        self.stream.write_packet(&response::err(e))
    }

    /// Runs commands until the session ends, or gives it back idle.
    fn serve(mut self) -> Option<IdleSession> {
        match self.command_loop() {
            Step::Ended => None,
            Step::Idle(since) => {
                self.stream.release_buffers();
                Some(IdleSession {
                    session: Box::new(self),
                    since,
                })
            }
        }
    }

    /// Waits up to [`IDLE_GRACE`] for the next command to begin arriving. The wait goes
    /// through the TLS library, which answers from what it already holds before it reads the
    /// socket.
    fn await_command(&mut self) -> Awaited {
        if self.stream.has_input() {
            return Awaited::Ready;
        }
        let since = Instant::now();
        let (filled, quiet) = self
            .control
            .grace(since + IDLE_GRACE, || self.stream.fill());
        match filled {
            Ok(()) => Awaited::Ready,
            Err(_) if quiet && !self.instance.shutdown.started() => Awaited::Quiet(since),
            Err(e) => Awaited::Failed(e),
        }
    }

    fn command_loop(&mut self) -> Step {
        loop {
            self.stream.set_seq(0);
            let read = match self.await_command() {
                Awaited::Ready => self.stream.read_packet(),
                Awaited::Quiet(since) => return Step::Idle(since),
                Awaited::Failed(e) => Err(e),
            };
            if self.instance.shutdown.started() {
                // A command read after shutdown began is answered, not run; a wait for the
                // next command that shutdown cut short gets the error unsolicited (seq 0).
                if read.is_err() {
                    self.stream.set_seq(0);
                }
                self.end_for_shutdown();
                return Step::Ended;
            }
            let packet = match read {
                Ok(p) => p,
                Err(e) => {
                    self.end_on_read_error(e);
                    return Step::Ended;
                }
            };
            if packet.first() == Some(&COM_QUIT) {
                log::debug!("session {} ({}) quit", self.id, self.label);
                self.close();
                return Step::Ended;
            }
            let instance = Arc::clone(&self.instance);
            let _running = GaugeGuard::raise(&instance.counters.threads_running);
            let mut client = Client {
                stream: &mut self.stream,
                control: &self.control,
            };
            let outcome = self.executor.command(&packet, &mut client);
            if let Err(e) = outcome.and_then(|()| self.stream.flush()) {
                Counters::bump(&self.instance.counters.aborted_clients);
                log::debug!(
                    "session {} ({}) ended while writing: {e}",
                    self.id,
                    self.label
                );
                return Step::Ended;
            }
            if self.executor.closing() {
                Counters::bump(&self.instance.counters.aborted_clients);
                log::debug!("session {} ({}) closed by the server", self.id, self.label);
                self.close();
                return Step::Ended;
            }
        }
    }

    fn end_on_read_error(&mut self, e: PacketError) {
        let id = self.id;
        let label = self.label.clone();
        let counters = &self.instance.counters;
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
                    ErrorKind::PacketTooLarge,
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
                    ErrorKind::ClientInteractionTimeout,
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
    fn end_for_shutdown(&mut self) {
        log::debug!(
            "session {} ({}) closed: server shutdown",
            self.id,
            self.label
        );
        let _ = self.send_error(&server_shutdown());
        self.close();
    }

    fn close(&mut self) {
        let _ = self.stream.flush();
        if let Conn::Tls(tls) = self.stream.get_mut() {
            let _ = tls.shutdown();
        }
    }
}

/// ERR 1156, sent before closing a connection whose packets lost their order.
pub(crate) fn packets_out_of_order() -> SqlError {
    SqlError::new(ErrorKind::PacketsOutOfOrder, "Got packets out of order")
}

/// ER_SERVER_SHUTDOWN, what sessions get when the server stops.
pub(crate) fn server_shutdown() -> SqlError {
    SqlError::new(ErrorKind::ServerShutdown, "Server shutdown in progress")
}
