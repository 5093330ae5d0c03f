//! A client's login relayed to a backend.
//!
//! The backend was connected before the client's greeting, so the client answers the backend's
//! own nonce and its login goes to the backend unchanged (only `CLIENT_SSL` follows the backend
//! leg's transport). Every message of the authentication exchange then passes through as it is:
//! AuthSwitch, caching_sha2's fast and full paths, RSA key requests, whatever plugin client and
//! backend share. The backend's OK or ERR ends it.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{ErrorKind, SqlError};
use crate::logging::field;
use crate::net::Peer;
use crate::protocol::client::{NOT_RELAYABLE, ServerError, adjust_login, ssl_request_for};
use crate::protocol::exchange::{PREFIX_LEN, Response, Step};
use crate::protocol::handshake::{Greeting, caps};
use crate::protocol::packet::PacketStream;
use crate::session::{Executor, Login, LoginFailure, LoginRequest, refuse};

use super::Gateway;
use super::backends::{BackendIo, Greeted, Lease, SharedTcp};
use super::relay::{ClientLegStatus, Relay, Relayed};

/// How long the relay waits for a backend to accept a write of a command (the backend
/// reading nothing for this long means it is stuck).
const BACKEND_WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// A login whose backend has sent its greeting.
pub(super) struct RelayedLogin<'g> {
    gateway: &'g Gateway,
    greeted: Greeted,
    /// What the client is greeted with: the backend's greeting without what the relay cannot
    /// carry.
    client_greeting: Greeting,
    lease: Lease,
}

impl<'g> RelayedLogin<'g> {
    pub(super) fn new(gateway: &'g Gateway, greeted: Greeted, lease: Lease) -> Self {
        let mut client_greeting = greeted.greeting.clone();
        client_greeting.capabilities &= !(NOT_RELAYABLE | caps::SSL);
        // MariaDB's extended capabilities (progress reports, metadata caching, bulk
        // operations) change packets the relay follows: none is offered.
        client_greeting.mariadb_capabilities = 0;
        Self {
            gateway,
            greeted,
            client_greeting,
            lease,
        }
    }
}

/// Refuses the client with ERR 1105 and a reason that names the backend.
fn backend_failure(
    stream: &mut PacketStream<crate::net::Conn>,
    backend: &str,
    reason: String,
) -> LoginFailure {
    let message = format!("backend {backend}: {reason}");
    let _ = refuse(stream, &SqlError::unknown(message.clone()));
    LoginFailure::new(log::Level::Warn, message)
}

impl Login for RelayedLogin<'_> {
    fn greeting(&self) -> &Greeting {
        &self.client_greeting
    }

    fn finish(
        self: Box<Self>,
        request: LoginRequest<'_>,
    ) -> Result<Box<dyn Executor>, LoginFailure> {
        let LoginRequest {
            instance,
            id,
            stream,
            peer,
            tls,
            response,
            packet,
            client_caps,
            ticket,
        } = request;
        let gateway = self.gateway;
        let backend = Arc::clone(self.lease.backend());
        let address = backend.address.to_string();
        let (tcp, leftover, _) = match self.greeted.stream.into_parts() {
            Ok(parts) => parts,
            Err(e) => return Err(backend_failure(stream, &address, e.to_string())),
        };
        if !leftover.is_empty() {
            return Err(backend_failure(
                stream,
                &address,
                "sent data after its greeting before being asked".into(),
            ));
        }
        let tcp = SharedTcp::new(tcp);
        // The backend leg mirrors the client's: TLS for a TLS (or unix-socket) client.
        let wants_tls = tls.is_some() || peer == Peer::Unix;
        let leg_tls = wants_tls && gateway.connector.is_some();
        let mut login = packet;
        adjust_login(&mut login, leg_tls, 0);
        let mut backend_stream = if leg_tls {
            if self.greeted.greeting.capabilities & caps::SSL == 0 {
                return Err(backend_failure(
                    stream,
                    &address,
                    "does not offer TLS; the client's connection is TLS and the gateway does not downgrade it".into(),
                ));
            }
            let identity = match (
                &gateway.identities,
                tls.as_ref().and_then(|t| t.info.peer_certificate.as_ref()),
            ) {
                (Some(authority), Some(leaf)) => match authority.identity_for(leaf) {
                    Ok(identity) => Some(identity),
                    Err(reason) => {
                        return Err(backend_failure(
                            stream,
                            &address,
                            format!("cannot forward the client certificate: {reason}"),
                        ));
                    }
                },
                _ => None,
            };
            let ssl_request = match ssl_request_for(&login) {
                Ok(r) => r,
                Err(e) => return Err(backend_failure(stream, &address, e.to_string())),
            };
            let mut plain = PacketStream::new(tcp.clone(), 64);
            plain.set_seq(1);
            if let Err(e) = plain
                .write_packet(&ssl_request)
                .and_then(|()| plain.flush())
            {
                return Err(backend_failure(stream, &address, e.to_string()));
            }
            let io = match gateway.tls_leg(
                tcp.clone(),
                &backend,
                identity.as_ref(),
                tls.as_ref().map(|t| &t.info),
            ) {
                Ok(io) => io,
                Err(reason) => {
                    let reason = format!("TLS handshake failed: {reason}");
                    gateway.count_failure(&backend, super::backends::FailureKind::Tls);
                    super::health::record(&backend, super::backends::Health::Down(reason.clone()));
                    return Err(backend_failure(stream, &address, reason));
                }
            };
            let mut s = PacketStream::new(io, super::backends::LOGIN_MAX_PACKET);
            s.set_seq(2);
            s
        } else {
            let mut s = PacketStream::new(
                BackendIo::Plain(tcp.clone()),
                super::backends::LOGIN_MAX_PACKET,
            );
            s.set_seq(1);
            s
        };
        // The client's own deadline bounds the exchange from here on.
        let login_time = instance.config.connect_timeout;
        if let Err(e) = tcp.set_timeouts(Some(login_time), Some(login_time)) {
            return Err(backend_failure(stream, &address, e.to_string()));
        }
        if let Err(e) = backend_stream
            .write_packet(&login)
            .and_then(|()| backend_stream.flush())
        {
            return Err(backend_failure(stream, &address, e.to_string()));
        }

        let io_failure = |e: &dyn std::fmt::Display| {
            LoginFailure::new(
                log::Level::Debug,
                format!("connection error during login: {e}"),
            )
        };
        let mut exchange = Response::to_login();
        let ok = loop {
            let message = match backend_stream.read_packet() {
                Ok(m) => m,
                Err(e) => {
                    return Err(backend_failure(
                        stream,
                        &address,
                        format!("failed during the login: {e}"),
                    ));
                }
            };
            let step =
                match exchange.packet(&message[..message.len().min(PREFIX_LEN)], message.len()) {
                    Ok(step) => step,
                    Err(e) => return Err(backend_failure(stream, &address, e.to_string())),
                };
            match step {
                Step::Done if message.first() == Some(&0xFF) => {
                    stream.write_packet(&message).map_err(|e| io_failure(&e))?;
                    stream.flush().map_err(|e| io_failure(&e))?;
                    let detail = ServerError::parse(&message)
                        .map(|e| e.to_string())
                        .unwrap_or_else(|e| e.to_string());
                    return Err(LoginFailure::new(
                        log::Level::Info,
                        format!(
                            "user '{}': backend {address} refused the login: {}",
                            field(&response.user),
                            crate::logging::line(&detail)
                        ),
                    ));
                }
                Step::Done => break message,
                Step::More => stream.write_packet(&message).map_err(|e| io_failure(&e))?,
                Step::ClientTurn(_) => {
                    stream.write_packet(&message).map_err(|e| io_failure(&e))?;
                    stream.flush().map_err(|e| io_failure(&e))?;
                    let reply = stream.read_packet().map_err(|e| io_failure(&e))?;
                    backend_stream
                        .write_packet(&reply)
                        .and_then(|()| backend_stream.flush())
                        .map_err(|e| {
                            backend_failure(
                                stream,
                                &address,
                                format!("failed during the login: {e}"),
                            )
                        })?;
                }
            }
        };
        // The backend's OK goes to the client only once the gateway has a slot for the session.
        if !ticket.confirm(false) {
            let err = SqlError::new(ErrorKind::TooManyConnections, "Too many connections");
            refuse(stream, &err)?;
            return Err(LoginFailure::new(
                log::Level::Info,
                format!(
                    "user '{}': max-connections ({}) reached",
                    field(&response.user),
                    instance.config.max_connections
                ),
            ));
        }
        let (io, leftover, _) = match backend_stream.into_parts() {
            Ok(parts) => parts,
            Err(e) => return Err(backend_failure(stream, &address, e.to_string())),
        };
        if let Err(e) = tcp.set_timeouts(None, Some(BACKEND_WRITE_TIMEOUT)) {
            return Err(backend_failure(stream, &address, e.to_string()));
        }
        log::debug!(
            "connection {id}: '{}' relayed to backend {address} (its connection {}){}",
            field(&response.user),
            self.greeted.greeting.connection_id,
            match &tls {
                Some(t) => format!(" over {} {}", t.info.version, t.info.cipher),
                None => String::new(),
            }
        );
        Ok(Box::new(Relay::new(Relayed {
            io,
            leftover,
            login_ok: ok,
            deprecate_eof: client_caps & caps::DEPRECATE_EOF != 0,
            status: match &tls {
                Some(t) => Some(ClientLegStatus::of(t)),
                None if leg_tls => Some(ClientLegStatus::none()),
                None => None,
            },
            wait_timeout: instance.config.wait_timeout,
            write_timeout: BACKEND_WRITE_TIMEOUT,
            lease: self.lease,
            id,
        })))
    }
}
