//! The connection phase, in a fixed order:
//!
//! 1. Greeting (HandshakeV10) with a fresh scramble; `CLIENT_SSL` only if a TLS context is
//!    loaded right now — and the same context is used if the client asks for TLS.
//! 2. SSLRequest → TLS handshake on the socket, with the bytes already read replayed into the
//!    TLS library; the login then arrives inside TLS with sequence id 2. An SSLRequest
//!    without a context is ERR 1043 and never read as a login.
//! 3. A plaintext TCP login while `require_secure_transport` is ON: ERR 3159, before any
//!    password processing.
//! 4. Password check by the account's plugin (with AuthSwitch when the client used another).
//! 5. Account REQUIRE clause, then account lock: failures look exactly like a bad password
//!    (ERR 1045) to the client; the log says which check failed.
//! 6. A connection that started its handshake while every slot was taken becomes a session only
//!    if a slot freed meanwhile or its account may take the reserved one (`SUPER` or
//!    `CONNECTION_ADMIN`); otherwise ERR 1040, as MySQL (see [`crate::instance::admission`]).
//! 7. The initial database, then OK.
//!
//! The whole phase runs under the `connect-timeout` deadline.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use rand::RngExt;
use tlsql_tls_api::CertSummary;

use super::{
    Client, Established, Executor, Identity, Login, LoginRequest, OpenExecutor, Refusal, Service,
    Session, SessionTls,
};
use crate::auth::account::{Account, AccountKey};
use crate::auth::caching_sha2;
use crate::auth::fast_auth::FastAuthOutcome;
use crate::auth::privileges::Privilege;
use crate::auth::{Nonce, Plugin, native};
use crate::error::{ErrorKind, SqlError};
use crate::instance::admission::Ticket;
use crate::instance::{Instance, SERVER_VERSION};
use crate::logging::field;
use crate::metrics;
use crate::net::{Conn, Peer, Replay, Socket};
use crate::protocol::handshake::{
    FirstPacket, Greeting, HandshakeResponse, SCRAMBLE_LEN, auth_more_data, auth_switch_request,
    caps, status,
};
use crate::protocol::packet::{PacketError, PacketStream};
use crate::protocol::response;
use crate::status::{Counters, SharedGauge};

/// Largest packet accepted before login (a login with connection attributes fits easily).
const PRE_AUTH_MAX_PACKET: usize = 256 * 1024;

/// Collation announced in the greeting: utf8mb4_general_ci (45), known to every client.
const SERVER_COLLATION: u8 = 45;

/// Why a connection did not become a session. The client already got its ERR packet (when
/// one could be sent); this is what the server log says.
pub struct LoginFailure {
    level: log::Level,
    reason: String,
}

impl LoginFailure {
    /// A failure the log reports at `level`.
    pub fn new(level: log::Level, reason: impl Into<String>) -> Self {
        Self {
            level,
            reason: reason.into(),
        }
    }

    /// Writes the log line (`peer` names the client).
    pub fn log(&self, peer: &str) {
        log::log!(
            self.level,
            "connection from {peer} refused: {}",
            crate::logging::line(&self.reason)
        );
    }
}

fn io_failure(e: impl std::fmt::Display) -> LoginFailure {
    LoginFailure::new(
        log::Level::Debug,
        format!("connection error during login: {e}"),
    )
}

/// The ERR packet a framing error deserves before the close: a client that announced too much
/// or lost count of packets is told so instead of finding the connection gone.
fn framing_error(e: &PacketError) -> Option<SqlError> {
    match e {
        PacketError::TooLarge { .. } => Some(SqlError::new(
            ErrorKind::PacketTooLarge,
            "Got a packet bigger than 'max_allowed_packet' bytes",
        )),
        PacketError::OutOfOrder { .. } => Some(super::packets_out_of_order()),
        _ => None,
    }
}

fn packet_failure(e: PacketError) -> LoginFailure {
    match e {
        PacketError::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            LoginFailure::new(
                log::Level::Info,
                "connect-timeout expired before the login completed",
            )
        }
        other => io_failure(other),
    }
}

/// Reads a connection-phase packet. A read that shutdown cut short is answered with ERR 1053
/// in the place of the reply the client waits for; a framing error with its own ERR.
fn read_packet(
    shared: &Instance,
    stream: &mut PacketStream<Conn>,
) -> Result<Vec<u8>, LoginFailure> {
    stream.read_packet().map_err(|e| {
        if shared.shutdown.started() {
            stream.set_seq(stream.seq().wrapping_add(1));
            let _ = refuse(stream, &super::server_shutdown());
            return LoginFailure::new(log::Level::Debug, "server shutdown during login");
        }
        if let Some(err) = framing_error(&e) {
            let _ = refuse(stream, &err);
            return LoginFailure::new(log::Level::Info, e.to_string());
        }
        packet_failure(e)
    })
}

/// A fresh nonce from the OS CSPRNG, printable and free of NUL and `$` like MySQL's (clients
/// handle it as a C string).
fn new_scramble() -> [u8; SCRAMBLE_LEN] {
    let mut rng = rand::rng();
    let mut s = [0u8; SCRAMBLE_LEN];
    for b in &mut s {
        *b = loop {
            let c = rng.random_range(0x21u8..0x7F);
            if c != b'$' {
                break c;
            }
        };
    }
    s
}

/// Runs the connection phase and returns the established session.
pub(crate) fn establish(
    shared: &Arc<Instance>,
    socket: Socket,
    label: &str,
    ticket: &mut Ticket,
    service: &dyn Service,
) -> Result<Session, LoginFailure> {
    let config = &shared.config;
    let control = socket.control();
    let deadline = Instant::now() + config.connect_timeout;
    control.set_deadline(deadline);
    let peer = socket.peer().clone();
    let local = socket.local_addr();
    let id = shared.next_connection_id();
    let tls_context = shared.tls.current();

    let mut stream = PacketStream::new(Conn::Plain(socket), PRE_AUTH_MAX_PACKET);
    let login = match service.begin(shared, &peer, local, id) {
        Ok(login) => login,
        Err(refusal) => {
            stream
                .write_packet(&refusal.error.packet_before_handshake())
                .and_then(|()| stream.flush())
                .map_err(io_failure)?;
            return Err(LoginFailure::new(refusal.level, refusal.reason));
        }
    };
    let mut greeting = login.greeting().clone();
    if tls_context.is_some() {
        greeting.capabilities |= caps::SSL;
    }
    let server_caps = greeting.capabilities;
    stream
        .write_packet(&greeting.encode())
        .map_err(io_failure)?;
    stream.flush().map_err(io_failure)?;

    let first = read_packet(shared, &mut stream)?;
    let (mut stream, response, login_packet, tls) = match FirstPacket::parse(&first) {
        Ok(FirstPacket::SslRequest { .. }) => {
            let Some(context) = tls_context else {
                refuse(&mut stream, &bad_handshake())?;
                return Err(LoginFailure::new(
                    log::Level::Info,
                    "SSLRequest received but TLS is not enabled",
                ));
            };
            let (conn, leftover, seq) = stream.into_parts().map_err(io_failure)?;
            let Conn::Plain(socket) = conn else {
                return Err(LoginFailure::new(log::Level::Error, "TLS requested twice"));
            };
            let counters = &shared.counters;
            Counters::bump(&counters.ssl_accepts);
            let handshake_started = Instant::now();
            let tls_stream = match context
                .context
                .accept(Box::new(Replay::new(leftover, socket)))
            {
                Ok(s) => s,
                Err(e) => {
                    Counters::bump(&counters.ssl_accept_failures);
                    shared
                        .metrics
                        .handshake_failed(&e, Instant::now() >= deadline);
                    return Err(LoginFailure::new(log::Level::Info, e.to_string()));
                }
            };
            Counters::bump(&counters.ssl_finished_accepts);
            let info = tls_stream.info().clone();
            shared
                .metrics
                .handshake_done(&info, handshake_started.elapsed());
            let peer_cert = match &info.peer_certificate {
                Some(der) => Some(CertSummary::from_der(der).map_err(|e| {
                    LoginFailure::new(
                        log::Level::Info,
                        format!("client certificate cannot be parsed: {e}"),
                    )
                })?),
                None => None,
            };
            log::debug!(
                "connection {id}: {} {} group {}{}",
                info.version,
                info.cipher,
                info.group.map_or("none", |g| g.name),
                if info.resumed { " (resumed)" } else { "" }
            );
            let mut stream = PacketStream::new(Conn::Tls(tls_stream), PRE_AUTH_MAX_PACKET);
            stream.set_seq(seq);
            let login_packet = read_packet(shared, &mut stream)?;
            let response = match HandshakeResponse::parse(&login_packet) {
                Ok(r) => r,
                Err(e) => {
                    refuse(&mut stream, &bad_handshake())?;
                    return Err(LoginFailure::new(log::Level::Info, e.to_string()));
                }
            };
            (
                stream,
                response,
                login_packet,
                Some(SessionTls {
                    info,
                    peer_cert,
                    context,
                }),
            )
        }
        Ok(FirstPacket::Login(response)) => {
            if peer != Peer::Unix && shared.globals.require_secure_transport() {
                let err = SqlError::new(
                    ErrorKind::SecureTransportRequired,
                    "Connections using insecure transport are prohibited while --require_secure_transport=ON.",
                );
                shared.metrics.login_denied("insecure_transport");
                refuse(&mut stream, &err)?;
                return Err(LoginFailure::new(
                    log::Level::Info,
                    format!(
                        "user '{}': plaintext TCP login while require_secure_transport=ON",
                        field(&response.user)
                    ),
                ));
            }
            (stream, response, first, None)
        }
        Err(e) => {
            refuse(&mut stream, &bad_handshake())?;
            return Err(LoginFailure::new(log::Level::Info, e.to_string()));
        }
    };

    let client_caps = response.capabilities & (server_caps | caps::SSL);
    let mut executor = login.finish(LoginRequest {
        instance: shared,
        id,
        stream: &mut stream,
        peer,
        tls,
        response,
        packet: login_packet,
        client_caps,
        ticket,
    })?;
    executor
        .login_ok(&mut Client {
            stream: &mut stream,
            control: &control,
        })
        .map_err(io_failure)?;
    stream.flush().map_err(io_failure)?;
    stream.set_max_payload(config.max_allowed_packet);
    let (wait, write) = executor.timeouts();
    control.set_idle_timeouts(wait, write).map_err(io_failure)?;
    Ok(Session {
        stream,
        control,
        executor,
        id,
        instance: Arc::clone(shared),
        label: label.to_string(),
        _logged_in: SharedGauge::raise(Arc::clone(shared), |s| &s.metrics.sessions),
    })
}

/// Logs in against tlsql's own accounts and opens the local SQL engine's executor.
pub struct Local {
    /// Opens the executor once the login is accepted.
    pub open: OpenExecutor,
}

impl Service for Local {
    fn begin(
        &self,
        _instance: &Arc<Instance>,
        _peer: &Peer,
        _local: Option<SocketAddr>,
        id: u32,
    ) -> Result<Box<dyn Login + '_>, Refusal> {
        let scramble = new_scramble();
        Ok(Box::new(LocalLogin {
            greeting: Greeting {
                server_version: SERVER_VERSION.to_string(),
                connection_id: id,
                scramble: scramble.to_vec(),
                capabilities: caps::SERVER,
                collation: SERVER_COLLATION,
                status: status::AUTOCOMMIT,
                mariadb_capabilities: 0,
                auth_plugin: Plugin::CachingSha2Password.name().to_string(),
            },
            scramble,
            open: self.open,
        }))
    }
}

struct LocalLogin {
    greeting: Greeting,
    scramble: Nonce,
    open: OpenExecutor,
}

impl Login for LocalLogin {
    fn greeting(&self) -> &Greeting {
        &self.greeting
    }

    /// Password by the account's plugin, then the account's REQUIRE clause and lock, then a
    /// connection slot (the reserved one for an admin while every slot is taken).
    fn finish(
        self: Box<Self>,
        request: LoginRequest<'_>,
    ) -> Result<Box<dyn Executor>, LoginFailure> {
        let LoginRequest {
            instance: shared,
            id,
            stream,
            peer,
            tls,
            response,
            client_caps,
            ticket,
            ..
        } = request;
        let config = &shared.config;
        let secure = tls.is_some() || peer == Peer::Unix;
        let client_host = peer.host().to_string();
        let mut auth = Authenticator {
            shared,
            stream: &mut *stream,
            scramble: self.scramble,
            secure,
            peer_host: client_host.clone(),
        };
        let account = match auth.authenticate(&response, client_caps) {
            Ok(account) => account,
            Err(AuthRefusal { error, reason }) => {
                shared.metrics.login_denied("password");
                refuse(stream, &error)?;
                return Err(LoginFailure::new(log::Level::Info, reason));
            }
        };
        let using_password = !response.auth_response.is_empty();

        if let Err(reason) = account.require.check(
            tls.as_ref().map(|t| &t.info),
            tls.as_ref().and_then(|t| t.peer_cert.as_ref()),
        ) {
            shared
                .metrics
                .login_denied(metrics::require_reason(&reason));
            refuse(
                stream,
                &access_denied(&response.user, &client_host, using_password),
            )?;
            return Err(LoginFailure::new(
                log::Level::Info,
                format!(
                    "user '{}'@'{}' (account '{}'@'{}'): {reason}",
                    field(&response.user),
                    client_host,
                    field(&account.user),
                    field(&account.host)
                ),
            ));
        }
        if account.locked {
            let err = SqlError::new(
                ErrorKind::AccountLocked,
                format!(
                    "Access denied for user '{}'@'{}'. Account is locked.",
                    response.user, client_host
                ),
            );
            shared.metrics.login_denied("locked");
            refuse(stream, &err)?;
            return Err(LoginFailure::new(
                log::Level::Info,
                format!(
                    "account '{}'@'{}' is locked",
                    field(&account.user),
                    field(&account.host)
                ),
            ));
        }
        let admin = account.grants.has_global(Privilege::Super)
            || account.grants.has_global(Privilege::ConnectionAdmin);
        if !ticket.confirm(admin) {
            Counters::bump(&shared.counters.connection_errors_max_connections);
            let err = SqlError::new(ErrorKind::TooManyConnections, "Too many connections");
            refuse(stream, &err)?;
            return Err(LoginFailure::new(
                log::Level::Info,
                format!(
                    "account '{}'@'{}': max-connections ({}) reached{}",
                    account.user,
                    account.host,
                    config.max_connections,
                    if admin {
                        " and the reserved connection is in use"
                    } else {
                        "; only SUPER or CONNECTION_ADMIN may use the reserved connection"
                    }
                ),
            ));
        }

        // Built only when the debug level is on; otherwise every login formats it for nothing.
        let logged_in = log::log_enabled!(log::Level::Debug).then(|| {
            format!(
                "'{}'@'{}' logged in as '{}'@'{}'{}",
                field(&response.user),
                client_host,
                field(&account.user),
                field(&account.host),
                match &tls {
                    Some(t) => format!(" over {} {}", t.info.version, t.info.cipher),
                    None => String::new(),
                }
            )
        });
        let established = Established {
            id,
            peer,
            client_caps,
            tls,
            identity: Identity {
                user: response.user.clone(),
                client_host,
                account_user: account.user.clone(),
                account_host: account.host.clone(),
            },
            database: response.database.clone(),
            scramble: self.scramble,
            collation: response.collation,
        };
        let executor = match (self.open)(shared, established) {
            Ok(executor) => executor,
            Err(refusal) => {
                stream
                    .write_packet(&refusal.error.packet())
                    .and_then(|()| stream.flush())
                    .map_err(io_failure)?;
                return Err(LoginFailure::new(refusal.level, refusal.reason));
            }
        };
        if ticket.is_reserved() {
            log::info!(
                "connection {id}: '{}'@'{}' uses the reserved connection (max-connections reached)",
                account.user,
                account.host
            );
        }
        if let Some(logged_in) = logged_in {
            log::debug!("connection {id}: {logged_in}");
        }
        Ok(executor)
    }
}

/// COM_CHANGE_USER on the local engine, checked as a login is: the new account's password by
/// its plugin (an AuthSwitchRequest when the client answered for another; the first answer is
/// computed with the greeting's `scramble`), then its `REQUIRE` against the TLS the session
/// already has, then its lock. Returns the account, or why it was refused (for the log; the
/// caller answers MySQL's 1873 and closes the connection).
pub(crate) fn change_user(
    shared: &Instance,
    stream: &mut PacketStream<Conn>,
    scramble: Nonce,
    peer: &Peer,
    tls: Option<&SessionTls>,
    response: &HandshakeResponse,
    client_caps: u32,
) -> Result<Account, String> {
    let mut auth = Authenticator {
        shared,
        stream,
        scramble,
        secure: tls.is_some() || *peer == Peer::Unix,
        peer_host: peer.host().to_string(),
    };
    let account = auth
        .authenticate(response, client_caps)
        .map_err(|refusal| {
            shared.metrics.login_denied("password");
            refusal.reason
        })?;
    let named = format!(
        "user '{}'@'{}' (account '{}'@'{}')",
        field(&response.user),
        peer.host(),
        field(&account.user),
        field(&account.host)
    );
    if let Err(reason) = account
        .require
        .check(tls.map(|t| &t.info), tls.and_then(|t| t.peer_cert.as_ref()))
    {
        shared
            .metrics
            .login_denied(metrics::require_reason(&reason));
        return Err(format!("{named}: {reason}"));
    }
    if account.locked {
        shared.metrics.login_denied("locked");
        return Err(format!("{named}: the account is locked"));
    }
    Ok(account)
}

fn bad_handshake() -> SqlError {
    SqlError::new(ErrorKind::BadHandshake, "Bad handshake")
}

/// ERR 1045, identical for every kind of login refusal.
fn access_denied(user: &str, host: &str, using_password: bool) -> SqlError {
    SqlError::new(
        ErrorKind::AccessDenied,
        format!(
            "Access denied for user '{user}'@'{host}' (using password: {})",
            if using_password { "YES" } else { "NO" }
        ),
    )
}

/// Sends `err` and ends the login (what every refusal does).
pub fn refuse(stream: &mut PacketStream<Conn>, err: &SqlError) -> Result<(), LoginFailure> {
    stream
        .write_packet(&response::err(err))
        .map_err(io_failure)?;
    stream.flush().map_err(io_failure)
}

/// Why the password exchange refused a login.
struct AuthRefusal {
    error: SqlError,
    reason: String,
}

struct Authenticator<'a> {
    shared: &'a Instance,
    stream: &'a mut PacketStream<Conn>,
    scramble: Nonce,
    secure: bool,
    peer_host: String,
}

impl Authenticator<'_> {
    fn authenticate(
        &mut self,
        response: &HandshakeResponse,
        client_caps: u32,
    ) -> Result<Account, AuthRefusal> {
        let user = &response.user;
        let mut using_password = !response.auth_response.is_empty();
        let peer_host = self.peer_host.clone();
        let deny = |using_password: bool, reason: &str| AuthRefusal {
            error: access_denied(user, &peer_host, using_password),
            reason: format!("user '{}'@'{peer_host}': {reason}", field(user)),
        };
        // Unknown users go through the same exchange as known ones against a decoy that no
        // password matches, so the answer does not tell whether the account exists.
        let found = self.shared.accounts.find(user, &self.peer_host);
        let account = found.clone().unwrap_or_else(|| decoy(user));
        let mut auth_data = response.auth_response.clone();
        if response.auth_plugin != account.plugin.name() {
            if client_caps & caps::PLUGIN_AUTH == 0 {
                return Err(AuthRefusal {
                    error: SqlError::new(
                        ErrorKind::AuthModeNotSupported,
                        "Client does not support authentication protocol requested by server; consider upgrading MySQL client",
                    ),
                    reason: format!(
                        "user '{}': client cannot switch to {}",
                        field(user),
                        account.plugin.name()
                    ),
                });
            }
            self.send(&auth_switch_request(account.plugin.name(), &self.scramble))?;
            auth_data = self.read()?;
            using_password = !(auth_data.is_empty() || auth_data == [0]);
        }
        let verified = match account.plugin {
            Plugin::MysqlNativePassword => {
                native::verify(&account.auth_string, &self.scramble, &auth_data)
            }
            Plugin::CachingSha2Password => {
                self.caching_sha2(&account, &auth_data, using_password)?
            }
        };
        match found {
            Some(account) if verified => Ok(account),
            Some(_) => Err(deny(using_password, "wrong password")),
            None => Err(deny(using_password, "no account matches")),
        }
    }

    /// caching_sha2_password: the fast path against the cache, else full authentication with
    /// the clear password — accepted in the clear only over TLS or the unix socket,
    /// RSA-encrypted otherwise. A clear password offered over plain TCP is refused, not used.
    fn caching_sha2(
        &mut self,
        account: &Account,
        auth_data: &[u8],
        using_password: bool,
    ) -> Result<bool, AuthRefusal> {
        let cache = self.shared.accounts.sha2_cache();
        match cache.fast_auth(account, &self.scramble, auth_data) {
            FastAuthOutcome::EmptyPassword => return Ok(true),
            FastAuthOutcome::Denied => return Ok(false),
            FastAuthOutcome::CacheHit => {
                // Queued, not flushed: the OK (or the ERR of a later check) follows at once and
                // goes out in the same write, one send and one client wake-up fewer.
                self.queue(&auth_more_data(&[FAST_AUTH_SUCCESS]))?;
                return Ok(true);
            }
            FastAuthOutcome::FullAuthRequired => {}
        }
        self.send(&auth_more_data(&[PERFORM_FULL_AUTHENTICATION]))?;
        let mut reply = self.read()?;
        let rsa = &self.shared.rsa;
        let password = if self.secure {
            caching_sha2::cleartext(&reply).to_vec()
        } else {
            if reply == [REQUEST_PUBLIC_KEY] {
                self.send(&auth_more_data(rsa.public_pem().as_bytes()))?;
                reply = self.read()?;
            }
            if reply.len() != rsa.size() {
                return Err(AuthRefusal {
                    error: access_denied(&account.user, &self.peer_host, using_password),
                    reason: format!(
                        "user '{}': the client sent its password unencrypted over plain TCP; refused (use TLS, or let the client request the server's RSA key)",
                        field(&account.user)
                    ),
                });
            }
            match rsa.decrypt_password(&reply, &self.scramble) {
                Ok(p) => p,
                Err(e) => {
                    return Err(AuthRefusal {
                        error: access_denied(&account.user, &self.peer_host, using_password),
                        reason: format!(
                            "user '{}': RSA-encrypted password rejected: {e}",
                            field(&account.user)
                        ),
                    });
                }
            }
        };
        Ok(cache.full_auth(account, &password))
    }

    fn send(&mut self, payload: &[u8]) -> Result<(), AuthRefusal> {
        self.queue(payload)?;
        self.stream.flush().map_err(write_failed)
    }

    fn queue(&mut self, payload: &[u8]) -> Result<(), AuthRefusal> {
        self.stream.write_packet(payload).map_err(write_failed)
    }

    fn read(&mut self) -> Result<Vec<u8>, AuthRefusal> {
        self.stream.read_packet().map_err(|e| {
            if self.shared.shutdown.started() {
                self.stream.set_seq(self.stream.seq().wrapping_add(1));
                return AuthRefusal {
                    error: super::server_shutdown(),
                    reason: "server shutdown during login".to_string(),
                };
            }
            AuthRefusal {
                error: framing_error(&e).unwrap_or_else(|| SqlError::unknown("read failed")),
                reason: format!("connection error during login: {e}"),
            }
        })
    }
}

/// `caching_sha2_password` AuthMoreData codes.
const REQUEST_PUBLIC_KEY: u8 = 0x02;
const FAST_AUTH_SUCCESS: u8 = 0x03;

fn write_failed(e: std::io::Error) -> AuthRefusal {
    AuthRefusal {
        error: SqlError::unknown("write failed"),
        reason: format!("connection error during login: {e}"),
    }
}
const PERFORM_FULL_AUTHENTICATION: u8 = 0x04;

/// The stand-in for an unknown user: the default plugin and a password hash that no input
/// matches (it is the hash of random bytes nobody knows).
fn decoy(user: &str) -> Account {
    let mut secret = [0u8; 32];
    rand::fill(&mut secret);
    Account::new(
        AccountKey::new(user, "%"),
        Plugin::CachingSha2Password,
        caching_sha2::hash_password(&secret),
    )
}
