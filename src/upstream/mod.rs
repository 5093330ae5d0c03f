//! Gateway mode: tlsql in front of a MySQL-protocol cluster. It terminates the clients' TLS with
//! everything the embedded mode has on the client leg (auto-tls, reloads, resumption, policies
//! of its own transport), then relays each session to one backend, so that a client gets
//! exactly what it would get connecting to that backend directly with the same transport and
//! certificate:
//!
//! * the backend's greeting (version, connection id, nonce, authentication plugin) is passed to
//!   the client, and the whole authentication exchange is relayed: the backend's accounts and
//!   passwords decide, and the gateway stores no password;
//! * the backend leg mirrors the client's: a TLS client (or one on the unix socket) gets a TLS
//!   leg verified per `upstream.tls`, a plain TCP client a plain leg, so `REQUIRE SSL` and
//!   `require_secure_transport` refuse it at the backend as they would directly;
//! * a client certificate the gateway verified is presented again as a certificate minted by
//!   the identity CA with the same names ([`identity`]);
//! * with `proxy-protocol` the backend sees the client's address (PROXY protocol v2);
//! * commands are relayed packet by packet ([`relay`]); only the `Ssl_*` rows of
//!   `SHOW SESSION STATUS` are rewritten to describe the client's own connection.
//!
//! Backends are health-checked ([`health`]) and chosen per session by the balancing policy
//! ([`backends`]); with none available the client gets ERR 1105 naming each one's reason. A
//! backend that fails under a session ends that session with an error: never a silent
//! reconnect, which could lose a transaction.

pub mod backends;
pub mod health;
pub mod identity;
mod login;
pub mod relay;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tlsql_tls_api::{
    ConnectorSettings, Identity, ServerVerify, TlsConnector, TlsInfo, TlsVersion, cert,
};

use crate::config::TlsBackendKind;
use crate::config::{Config, Upstream, UpstreamTls};
use crate::error::SqlError;
use crate::instance::Instance;
use crate::metrics::UpstreamState;
use crate::net::Peer;
use crate::session::{Answer, Login, Refusal, Service};

use backends::{BackendIo, Backends, Lease, Origin, SharedTcp, Unreachable, connect};
use identity::IdentityAuthority;

/// The gateway: the backends, the TLS context toward them and the identity CAs.
pub struct Gateway {
    config: Upstream,
    /// The server (its metrics count failed backend connections).
    instance: Arc<Instance>,
    backends: Backends,
    /// Builds the backend legs of TLS sessions; `None` with `upstream.tls = "disabled"`.
    connector: Option<Arc<dyn TlsConnector>>,
    /// The backend library and settings `connector` was built from, for the mirrored
    /// connectors below.
    tls_backend: TlsBackendKind,
    base_settings: Option<ConnectorSettings>,
    /// Connectors that offer a client's negotiated version and cipher first, by that pair
    /// (a handful: the versions and suites clients negotiate).
    mirrored: Mutex<HashMap<(TlsVersion, String), Arc<dyn TlsConnector>>>,
    /// Mints forwarded client identities; `None` when there is nothing to forward from (no
    /// client certificates are verified) or nothing to sign with.
    identities: Option<IdentityAuthority>,
    /// `upstream.ssl-cert`/`ssl-key`: what the health checks present.
    own_identity: Option<Arc<Identity>>,
}

impl Gateway {
    /// Sets the gateway up from the configuration: the TLS connector, the identity CAs
    /// (generated under the data directory with auto-tls), and one round of health checks, so
    /// the first sessions already know which backends are up.
    pub fn start(instance: &Arc<Instance>) -> Result<Arc<Self>, String> {
        let config = &instance.config;
        let upstream = config.upstream.clone();
        let tls_backend = instance.tls.backend();
        let base_settings = match upstream.tls {
            UpstreamTls::Disabled => {
                if instance.tls.current().is_some() {
                    log::warn!(
                        "gateway: upstream.tls = \"disabled\": TLS clients get a plain backend leg, and accounts that REQUIRE SSL will be refused by the backends"
                    );
                }
                None
            }
            mode => Some(connector_settings(config, mode)?),
        };
        let connector = match &base_settings {
            Some(settings) => Some(
                crate::tls::build_connector(tls_backend, settings)
                    .map_err(|e| format!("TLS toward backends: {e}"))?,
            ),
            None => None,
        };
        let own_identity = match (&upstream.ssl_cert, &upstream.ssl_key) {
            (Some(c), Some(k)) => Some(Arc::new(
                cert::load_identity(c, k, time::OffsetDateTime::now_utc())
                    .map_err(|e| format!("upstream.ssl-cert: {e}"))?,
            )),
            _ => None,
        };
        let identities = identity_authority(instance, &upstream)?;
        let gateway = Arc::new(Self {
            backends: Backends::new(&upstream.servers, upstream.balance),
            config: upstream,
            instance: Arc::clone(instance),
            connector,
            tls_backend,
            base_settings,
            mirrored: Mutex::new(HashMap::new()),
            identities,
            own_identity,
        });
        for backend in gateway.backends.all() {
            let server = backend.address.to_string();
            for kind in backends::FailureKind::ALL {
                instance
                    .metrics
                    .upstream_connect_failed_by(&server, kind.label(), 0);
            }
        }
        health::check_all(&gateway);
        let up = gateway
            .backends
            .all()
            .iter()
            .filter(|b| b.health() == backends::Health::Up)
            .count();
        log::info!(
            "gateway: relaying to {} backend(s), {up} up; backend leg TLS {}, balance {}{}",
            gateway.backends.all().len(),
            gateway.config.tls.name(),
            gateway.config.balance.name(),
            if gateway.config.proxy_protocol {
                ", PROXY protocol v2"
            } else {
                ""
            }
        );
        let checker = Arc::clone(&gateway);
        let shutdown = Arc::clone(&instance.shutdown);
        std::thread::Builder::new()
            .name("tlsql-health".into())
            .spawn(move || health::run(checker, shutdown))
            .map_err(|e| format!("cannot start the health-check thread: {e}"))?;
        Ok(gateway)
    }

    /// The backends (for status and tests).
    pub fn backends(&self) -> &Backends {
        &self.backends
    }

    /// The backends' state for `/metrics`.
    pub fn upstream_states(&self) -> Vec<UpstreamState> {
        self.backends
            .all()
            .iter()
            .map(|b| UpstreamState {
                server: b.address.to_string(),
                up: b.health() == backends::Health::Up,
                sessions: b.sessions(),
            })
            .collect()
    }

    /// Counts a failed attempt to reach `backend` (`tlsql_upstream_connect_failures_total`).
    fn count_failure(&self, backend: &backends::Backend, kind: backends::FailureKind) {
        self.instance
            .metrics
            .upstream_connect_failed(&backend.address.to_string(), kind.label());
    }

    /// The identity CAs (for tests and the startup message).
    pub fn identities(&self) -> Option<&IdentityAuthority> {
        self.identities.as_ref()
    }

    /// The connector for a session whose client negotiated `mirror`: it offers the client's
    /// version as the newest and the client's suite first, so a backend's `REQUIRE CIPHER` sees
    /// what the client negotiated whenever the backend can do it. Falls back to the general
    /// connector when the library refuses those settings.
    fn connector_for(&self, mirror: Option<&TlsInfo>) -> Option<Arc<dyn TlsConnector>> {
        let general = self.connector.as_ref()?;
        let (Some(info), Some(base)) = (mirror, &self.base_settings) else {
            return Some(Arc::clone(general));
        };
        let key = (info.version, info.cipher.clone());
        let mut mirrored = self.mirrored.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = mirrored.get(&key) {
            return Some(Arc::clone(found));
        }
        let mut settings = base.clone();
        settings.max_version = settings.max_version.min(info.version);
        let list = if info.version == TlsVersion::Tls13 {
            &mut settings.ciphersuites
        } else {
            &mut settings.cipher_list
        };
        list.retain(|c| *c != info.cipher);
        list.insert(0, info.cipher.clone());
        let connector = match crate::tls::build_connector(self.tls_backend, &settings) {
            Ok(c) => c,
            Err(e) => {
                log::debug!(
                    "gateway: backend legs for {} {} use the configured preferences: {e}",
                    info.version,
                    info.cipher
                );
                Arc::clone(general)
            }
        };
        mirrored.insert(key, Arc::clone(&connector));
        Some(connector)
    }

    /// Runs a TLS handshake toward `backend` over `tcp`, presenting `client` if given, with the
    /// client leg's version and cipher offered first (`mirror`).
    fn tls_leg(
        &self,
        tcp: SharedTcp,
        backend: &backends::Backend,
        client: Option<&Arc<Identity>>,
        mirror: Option<&TlsInfo>,
    ) -> Result<BackendIo, String> {
        let connector = self
            .connector_for(mirror)
            .ok_or("TLS toward backends is disabled")?;
        let name = self
            .config
            .server_name
            .as_deref()
            .unwrap_or(&backend.address.host);
        connector
            .connect(Box::new(tcp), name, client)
            .map(BackendIo::Tls)
            .map_err(|e| e.to_string())
    }
}

impl Service for Gateway {
    fn begin(
        &self,
        _instance: &Arc<Instance>,
        peer: &Peer,
        local: Option<SocketAddr>,
        id: u32,
    ) -> Result<Box<dyn Login + '_>, Refusal> {
        let origin = self.config.proxy_protocol.then(|| Origin::of(peer, local));
        // The last backend's refusal of this client before its greeting, if any.
        let mut refused = None;
        for backend in self.backends.candidates() {
            match connect(&backend, origin, self.config.connect_timeout) {
                Ok(greeted) => {
                    return Ok(Box::new(login::RelayedLogin::new(
                        self,
                        greeted,
                        Lease::new(&backend),
                    )));
                }
                // The backend is up but refuses this connection before greeting it (too many
                // connections, a host it does not admit): another backend may take it; if none
                // does, the client gets that refusal, as it would directly.
                Err(Unreachable {
                    refusal: Some(packet),
                    reason,
                    kind,
                }) => {
                    log::debug!("connection {id}: backend {} {reason}", backend.address);
                    self.count_failure(&backend, kind);
                    refused = Some(Refusal {
                        error: Answer::Relayed(packet),
                        level: log::Level::Info,
                        reason: format!("backend {} {reason}", backend.address),
                    });
                }
                Err(failure) => {
                    log::debug!(
                        "connection {id}: backend {} failed: {failure}",
                        backend.address
                    );
                    self.count_failure(&backend, failure.kind);
                    health::record(&backend, backends::Health::Down(failure.reason));
                }
            }
        }
        if let Some(refusal) = refused {
            return Err(refusal);
        }
        let reasons = self.backends.unavailable_reasons();
        Err(Refusal {
            error: SqlError::unknown(format!("no backend available: {reasons}")).into(),
            level: log::Level::Warn,
            reason: format!("no backend available: {reasons}"),
        })
    }
}

/// The settings of the TLS client context toward backends: the client leg's lists (the same
/// library serves the clients).
fn connector_settings(config: &Config, mode: UpstreamTls) -> Result<ConnectorSettings, String> {
    let roots = match &config.upstream.ssl_ca {
        Some(path) => cert::read_certificates(path).map_err(|e| format!("upstream.ssl-ca: {e}"))?,
        None => Vec::new(),
    };
    let security = &config.security;
    Ok(ConnectorSettings {
        roots,
        verify: match mode {
            UpstreamTls::VerifyIdentity => ServerVerify::Identity,
            UpstreamTls::VerifyCa => ServerVerify::Ca,
            UpstreamTls::Required | UpstreamTls::Disabled => ServerVerify::None,
        },
        min_version: security.tls_version,
        max_version: TlsVersion::Tls13,
        cipher_list: security.ssl_cipher.clone(),
        ciphersuites: security.tls_ciphersuites.clone(),
        groups: security.tls_groups.clone(),
        session_cache: security.ssl_session_cache_mode,
    })
}

/// The identity CAs: the configured one, or with auto-tls one generated per CA of the
/// client-leg `ssl-ca`. None when the client leg verifies no certificates.
fn identity_authority(
    instance: &Arc<Instance>,
    upstream: &Upstream,
) -> Result<Option<IdentityAuthority>, String> {
    if let (Some(cert_path), Some(key_path)) =
        (&upstream.identity_ca_cert, &upstream.identity_ca_key)
    {
        let authority = IdentityAuthority::configured(cert_path, key_path)
            .map_err(|e| format!("upstream.identity-ca-cert: {e}"))?;
        log::info!(
            "gateway: forwarded client certificates are signed by {} ('{}')",
            cert_path.display(),
            authority.names().join("', '")
        );
        return Ok(Some(authority));
    }
    let Some(active) = instance.tls.current() else {
        return Ok(None);
    };
    let Some(ca_path) = &active.ca_path else {
        return Ok(None);
    };
    if !instance.config.security.auto_tls {
        log::warn!(
            "gateway: client certificates are verified but no identity CA is configured (upstream.identity-ca-cert) and auto-tls is off: they are not forwarded, and backend accounts that REQUIRE X509 will refuse"
        );
        return Ok(None);
    }
    let client_cas = cert::read_certificates(ca_path).map_err(|e| e.to_string())?;
    let dir = instance.config.data_dir.join("tls");
    let (authority, added) = IdentityAuthority::generated(&dir, &client_cas)?;
    let path = authority
        .bundle_path()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let message = format!(
        "gateway: forwarded client certificates are signed by the identity CAs in {path} (named '{}'); add that file to every backend's ssl-ca",
        authority.names().join("', '")
    );
    if added {
        log::warn!("{message}");
    } else {
        log::info!("{message}");
    }
    Ok(Some(authority))
}
