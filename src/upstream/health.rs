//! Health checks: every `health-interval` each backend is probed. Without a monitor account the
//! probe is a greeting (and, when the backend leg uses TLS, a handshake with the configured
//! verification, so a backend whose certificate no longer verifies is taken out before a client
//! meets it). With `monitor-user` the probe logs in and asks `wsrep_ready`: a Galera node that
//! is not ready for queries takes no new sessions.

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::auth::{Nonce, client_answer};
use crate::protocol::client::{Login, ServerError, adjust_login, ssl_request_for};
use crate::protocol::exchange::{PREFIX_LEN, Response, Step, command};
use crate::protocol::handshake::{Greeting, caps};
use crate::protocol::packet::PacketStream;
use crate::protocol::wire::Reader;
use crate::shutdown::Shutdown;

use super::Gateway;
use super::backends::{
    Backend, BackendIo, FailureKind, Health, Origin, SharedTcp, Unreachable, connect,
};

/// `ER_HOST_NOT_PRIVILEGED`: no account matches the connecting host.
const HOST_NOT_PRIVILEGED: u16 = 1130;
/// `ER_HOST_IS_BLOCKED`: too many connection errors from the connecting host.
const HOST_IS_BLOCKED: u16 = 1129;

/// Capabilities the monitor asks for.
const MONITOR_CAPS: u32 = caps::LONG_PASSWORD
    | caps::PROTOCOL_41
    | caps::SECURE_CONNECTION
    | caps::PLUGIN_AUTH
    | caps::TRANSACTIONS
    | caps::DEPRECATE_EOF;

/// Probes one backend; `Err` says why it cannot take sessions.
pub(crate) fn probe(gateway: &Gateway, backend: &Backend) -> Result<(), Unreachable> {
    let config = &gateway.config;
    let origin = config.proxy_protocol.then_some(Origin::Local);
    let greeted = match connect(backend, origin, config.connect_timeout) {
        Ok(greeted) => greeted,
        // The server answers, but not the gateway's own address (the probe's; sessions carry
        // their clients' addresses in the PROXY header): it is up. A server that refuses for
        // lack of connections (1040) is not, for new sessions.
        Err(Unreachable {
            refusal: Some(packet),
            ..
        }) if ServerError::parse(&packet)
            .is_ok_and(|e| e.code == HOST_NOT_PRIVILEGED || e.code == HOST_IS_BLOCKED) =>
        {
            return Ok(());
        }
        Err(failure) => return Err(failure),
    };
    let greeting = greeted.greeting;
    let (tcp, leftover, _) = greeted.stream.into_parts().map_err(|e| {
        Unreachable::new(
            FailureKind::Greeting,
            format!("connection lost after the greeting: {e}"),
        )
    })?;
    if !leftover.is_empty() {
        return Err(Unreachable::new(
            FailureKind::Greeting,
            "sent data after its greeting before being asked",
        ));
    }
    let tls = gateway.connector.is_some();
    if tls && greeting.capabilities & caps::SSL == 0 {
        return Err(Unreachable::new(
            FailureKind::Tls,
            "does not offer TLS, which upstream.tls requires",
        ));
    }
    match &config.monitor_user {
        None if tls => handshake_only(gateway, backend, tcp, &greeting)
            .map_err(|e| Unreachable::new(FailureKind::Tls, e)),
        None => Ok(()),
        Some(user) => monitor(gateway, backend, tcp, &greeting, user),
    }
}

/// A TLS handshake with the configured verification, then the close: proves the backend's
/// certificate still verifies.
fn handshake_only(
    gateway: &Gateway,
    backend: &Backend,
    tcp: TcpStream,
    greeting: &Greeting,
) -> Result<(), String> {
    let request =
        ssl_request_for(&monitor_login(greeting, "", &[]).encode()).map_err(|e| e.to_string())?;
    let mut stream = PacketStream::new(tcp, 64);
    stream.set_seq(1);
    stream
        .write_packet(&request)
        .and_then(|()| stream.flush())
        .map_err(|e| format!("cannot send the SSLRequest: {e}"))?;
    let (tcp, _, _) = stream.into_parts().map_err(|e| e.to_string())?;
    let mut tls = gateway.tls_leg(SharedTcp::new(tcp), backend, None, None)?;
    let _ = tls.flush();
    if let BackendIo::Tls(t) = &mut tls {
        let _ = t.shutdown();
    }
    Ok(())
}

/// Logs in as the monitor account (over a verified TLS leg when upstream TLS is on) and asks
/// `wsrep_ready`.
fn monitor(
    gateway: &Gateway,
    backend: &Backend,
    tcp: TcpStream,
    greeting: &Greeting,
    user: &str,
) -> Result<(), Unreachable> {
    let config = &gateway.config;
    let tls = gateway.connector.is_some();
    let failed = |e: String| Unreachable::new(FailureKind::Monitor, e);
    let password = config.monitor_password.expose().as_bytes();
    let first_nonce = to_nonce(&greeting.scramble).map_err(failed)?;
    let auth = client_answer(&greeting.auth_plugin, password, &first_nonce);
    let mut login = monitor_login(greeting, user, &auth).encode();
    adjust_login(&mut login, tls, 0);
    let (mut stream, secure) = if tls {
        let tls_failed = |e: String| Unreachable::new(FailureKind::Tls, e);
        let mut plain = PacketStream::new(tcp, 64);
        plain.set_seq(1);
        plain
            .write_packet(&ssl_request_for(&login).map_err(|e| tls_failed(e.to_string()))?)
            .and_then(|()| plain.flush())
            .map_err(|e| tls_failed(format!("cannot send the SSLRequest: {e}")))?;
        let (tcp, _, _) = plain.into_parts().map_err(|e| tls_failed(e.to_string()))?;
        let io = gateway
            .tls_leg(
                SharedTcp::new(tcp),
                backend,
                gateway.own_identity.as_ref(),
                None,
            )
            .map_err(tls_failed)?;
        let mut s = PacketStream::new(io, super::backends::LOGIN_MAX_PACKET);
        s.set_seq(2);
        (s, true)
    } else {
        let mut s = PacketStream::new(
            BackendIo::Plain(SharedTcp::new(tcp)),
            super::backends::LOGIN_MAX_PACKET,
        );
        s.set_seq(1);
        (s, false)
    };
    let fail = |e: std::io::Error| failed(format!("monitor login: {e}"));
    stream.write_packet(&login).map_err(fail)?;
    stream.flush().map_err(fail)?;
    let mut exchange = Response::to_login();
    loop {
        let packet = stream
            .read_packet()
            .map_err(|e| failed(format!("monitor login: {e}")))?;
        let step = exchange
            .packet(&packet[..packet.len().min(PREFIX_LEN)], packet.len())
            .map_err(|e| failed(format!("monitor login: {e}")))?;
        match step {
            Step::Done if packet.first() == Some(&0xFF) => {
                let err = ServerError::parse(&packet).map_err(|e| failed(e.to_string()))?;
                return Err(failed(format!("monitor login refused: {err}")));
            }
            Step::Done => break,
            Step::More => {}
            Step::ClientTurn(_) => {
                let reply = match packet.as_slice() {
                    // AuthSwitchRequest: plugin name, NUL, nonce.
                    [0xFE, rest @ ..] => {
                        let mut r = Reader::new(rest);
                        let plugin = String::from_utf8_lossy(
                            r.nul_bytes("plugin").map_err(|e| failed(e.to_string()))?,
                        )
                        .into_owned();
                        let data = r.rest();
                        let switched =
                            to_nonce(data.strip_suffix(&[0]).unwrap_or(data)).map_err(failed)?;
                        client_answer(&plugin, password, &switched)
                    }
                    // caching_sha2_password wants the password itself: only over TLS.
                    [0x01, 0x04] if secure => {
                        let mut p = password.to_vec();
                        p.push(0);
                        p
                    }
                    [0x01, 0x04] => {
                        return Err(failed("monitor login: the account's caching_sha2_password needs full authentication, which the gateway does only over TLS".into()));
                    }
                    _ => {
                        return Err(failed(
                            "monitor login: unexpected authentication request".into(),
                        ));
                    }
                };
                stream.write_packet(&reply).map_err(fail)?;
                stream.flush().map_err(fail)?;
            }
        }
    }
    let verdict = wsrep_ready(&mut stream, deprecate_eof(greeting)).map_err(failed);
    stream.set_seq(0);
    let _ = stream.write_packet(&[0x01]).and_then(|()| stream.flush());
    verdict
}

/// Whether the monitor's session leaves out EOF packets (it asks whenever the backend offers).
fn deprecate_eof(greeting: &Greeting) -> bool {
    greeting.capabilities & caps::DEPRECATE_EOF != 0
}

/// Asks `wsrep_ready`: a Galera node answers `ON` when it accepts queries; other servers have
/// no such variable (no row), which is fine.
fn wsrep_ready(stream: &mut PacketStream<BackendIo>, deprecate_eof: bool) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| format!("monitor query: {e}");
    stream.set_seq(0);
    let mut query = vec![command::QUERY];
    query.extend_from_slice(b"SHOW GLOBAL STATUS LIKE 'wsrep_ready'");
    stream.write_packet(&query).map_err(|e| fail(&e))?;
    stream.flush().map_err(|e| fail(&e))?;
    let mut response = Response::to_command(command::QUERY, deprecate_eof);
    let mut ready = None;
    loop {
        let packet = stream.read_packet().map_err(|e| fail(&e))?;
        let was_row = response.in_rows();
        let step = response
            .packet(&packet[..packet.len().min(PREFIX_LEN)], packet.len())
            .map_err(|e| fail(&e))?;
        if packet.first() == Some(&0xFF) {
            let err = ServerError::parse(&packet).map_err(|e| fail(&e))?;
            return Err(format!("monitor query failed: {err}"));
        }
        if was_row && response.in_rows() {
            let mut r = Reader::new(&packet);
            let _name = r.lenenc_bytes("name").map_err(|e| fail(&e))?;
            ready = Some(
                String::from_utf8_lossy(r.lenenc_bytes("value").map_err(|e| fail(&e))?)
                    .into_owned(),
            );
        }
        if step == Step::Done {
            break;
        }
    }
    match ready.as_deref() {
        None | Some("ON") => Ok(()),
        Some(other) => Err(format!(
            "wsrep_ready is {other}: the node does not accept queries"
        )),
    }
}

fn to_nonce(data: &[u8]) -> Result<Nonce, String> {
    Nonce::try_from(data).map_err(|_| {
        format!(
            "the backend's nonce is {} bytes; only {}-byte nonces are supported",
            data.len(),
            size_of::<Nonce>()
        )
    })
}

fn monitor_login<'a>(greeting: &'a Greeting, user: &'a str, auth: &'a [u8]) -> Login<'a> {
    let plugin = match greeting.auth_plugin.as_str() {
        p @ "caching_sha2_password" => p,
        _ => "mysql_native_password",
    };
    Login {
        capabilities: MONITOR_CAPS & greeting.capabilities,
        collation: greeting.collation,
        user,
        auth_response: auth,
        auth_plugin: plugin,
    }
}

/// Probes every backend once, at the same time, and records the results; logs each change.
pub(crate) fn check_all(gateway: &Gateway) {
    std::thread::scope(|scope| {
        for backend in gateway.backends.all() {
            scope.spawn(move || {
                let health = match probe(gateway, backend) {
                    Ok(()) => Health::Up,
                    Err(failure) => {
                        gateway.count_failure(backend, failure.kind);
                        Health::Down(failure.reason)
                    }
                };
                record(backend, health);
            });
        }
    });
}

/// Records a backend's state, logging a change.
pub(crate) fn record(backend: &Backend, health: Health) {
    let before = backend.set_health(health.clone());
    if before == health {
        return;
    }
    match (&before, &health) {
        (_, Health::Down(reason)) => {
            log::warn!("gateway: backend {} is down: {reason}", backend.address);
        }
        (Health::Unknown, Health::Up) => {
            log::info!("gateway: backend {} is up", backend.address);
        }
        (_, Health::Up) => {
            log::warn!("gateway: backend {} is up again", backend.address);
        }
        (_, Health::Unknown) => {}
    }
}

/// Runs the checks every `health-interval` until shutdown.
pub(crate) fn run(gateway: Arc<Gateway>, shutdown: Arc<Shutdown>) {
    let interval = gateway.config.health_interval;
    loop {
        let next = Instant::now() + interval;
        while Instant::now() < next {
            if shutdown.started() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50).min(interval));
        }
        check_all(&gateway);
    }
}
