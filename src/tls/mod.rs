//! TLS for the server: which library does the cryptography, the live context, and reloads.
//!
//! The live context is an `Arc` in one place ([`TlsManager`]). Each new connection takes a
//! clone at greeting time: it advertises `CLIENT_SSL` if and only if it got one, and uses that
//! same context for its handshake. A reload builds a complete new context first and then swaps
//! the holder, so established connections keep the context they started with and a failed
//! reload changes nothing. Nothing outside this module names a TLS library.

pub mod auto;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use time::OffsetDateTime;
use tlsql_tls_api::cert::{self, CertSummary};
use tlsql_tls_api::group::{self, KxGroup};
use tlsql_tls_api::{
    BuildFn, ConnectorFn, ConnectorSettings, TlsConnector, TlsContext, TlsError, TlsSettings,
    TlsVersion,
};

use crate::config::TlsBackendKind;

#[cfg(all(feature = "openssl", feature = "boring"))]
compile_error!(
    "the `openssl` and `boring` features cannot be enabled together: OpenSSL and BoringSSL export \
     the same C symbols, so one binary cannot link both. Build once with `--features openssl` and \
     once with `--features boring`."
);

/// The entry points of a backend crate compiled into this build (`None`: its library is not
/// linked; its crate still declares its name and capabilities, see [`TlsBackendKind`]).
fn entry_points(backend: TlsBackendKind) -> Option<(BuildFn, ConnectorFn)> {
    match backend {
        #[cfg(feature = "rustls")]
        TlsBackendKind::Rustls => {
            Some((tlsql_tls_rustls::build, tlsql_tls_rustls::build_connector))
        }
        #[cfg(feature = "openssl")]
        TlsBackendKind::Openssl => {
            Some((tlsql_tls_openssl::build, tlsql_tls_openssl::build_connector))
        }
        #[cfg(feature = "boring")]
        TlsBackendKind::Boring => {
            Some((tlsql_tls_boring::build, tlsql_tls_boring::build_connector))
        }
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

fn not_compiled_in(backend: TlsBackendKind) -> TlsError {
    TlsError::Unsupported {
        backend: backend.name(),
        what: "is not available in this build".to_string(),
        alternative: format!("rebuild with --features {backend}"),
    }
}

/// Builds a server context with `backend`.
pub fn build(
    backend: TlsBackendKind,
    settings: &TlsSettings,
) -> Result<Arc<dyn TlsContext>, TlsError> {
    let (build, _) = entry_points(backend).ok_or_else(|| not_compiled_in(backend))?;
    build(settings)
}

/// Builds a connector (the client side, toward a gateway's backends) with `backend`.
pub fn build_connector(
    backend: TlsBackendKind,
    settings: &ConnectorSettings,
) -> Result<Arc<dyn TlsConnector>, TlsError> {
    let (_, build) = entry_points(backend).ok_or_else(|| not_compiled_in(backend))?;
    build(settings)
}

/// Where certificates come from and how the context is configured: the configuration's
/// `security` section, resolved once at startup.
#[derive(Clone, Debug)]
pub struct TlsSource {
    /// `security.ssl-cert`.
    pub cert: Option<PathBuf>,
    /// `security.ssl-key`.
    pub key: Option<PathBuf>,
    /// `security.ssl-ca`.
    pub ca: Option<PathBuf>,
    /// Generate certificates when cert and key are not configured.
    pub auto_tls: Option<AutoTlsSpec>,
    /// `security.tls-version`.
    pub min_version: TlsVersion,
    /// `security.ssl-cipher`.
    pub cipher_list: Vec<String>,
    /// `security.tls-ciphersuites`.
    pub ciphersuites: Vec<String>,
    /// `security.tls-groups`.
    pub groups: Vec<&'static KxGroup>,
    /// Whether `groups` was chosen explicitly (see `Security::tls_groups_strict`).
    pub groups_strict: bool,
    /// `security.ssl-session-cache-mode`.
    pub session_cache: bool,
    /// `security.ssl-session-cache-timeout`.
    pub session_timeout: Duration,
}

/// Where and how auto-tls keeps its certificates.
#[derive(Clone, Debug)]
pub struct AutoTlsSpec {
    /// `<data-dir>/tls`.
    pub dir: PathBuf,
    /// Key type for new certificates.
    pub key: crate::config::AutoTlsKey,
    /// Reissue the server certificate when it expires within this (`expiry-warning`).
    pub renew_within: Duration,
}

/// A loaded context and what the status variables say about it.
#[derive(Debug)]
pub struct ActiveTls {
    /// The library context.
    pub context: Arc<dyn TlsContext>,
    /// Certificate chain file (`Current_tls_cert`).
    pub cert_path: PathBuf,
    /// Key file (`Current_tls_key`).
    pub key_path: PathBuf,
    /// CA bundle for client certificates (`Current_tls_ca`), if any.
    pub ca_path: Option<PathBuf>,
    /// The server's leaf certificate.
    pub server_cert: CertSummary,
    /// The certificates of the CA bundle (`ca_path`), for their validity.
    pub ca_certs: Vec<CertSummary>,
    /// Allowed versions, e.g. `TLSv1.2,TLSv1.3` (`tls_version`).
    pub versions: String,
    /// Every suite the context accepts, `:`-separated (`Ssl_cipher_list`).
    pub cipher_names: String,
    /// Configured TLS ≤ 1.2 list (`ssl_cipher`, `Current_tls_cipher`).
    pub ssl_cipher: String,
    /// Configured TLS 1.3 list (`tls_ciphersuites`, `Current_tls_ciphersuites`).
    pub tls_ciphersuites: String,
    /// The key exchange groups the context offers, `:`-separated (`tls_groups`,
    /// `Current_tls_groups`).
    pub groups: String,
    /// Whether the files came from auto-tls.
    pub auto_generated: bool,
    /// Whether resumption is on (`Ssl_session_cache_mode`).
    pub session_cache: bool,
}

impl ActiveTls {
    /// `Ssl_verify_mode` as OpenSSL numbers it: 5 (`SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE`)
    /// when client certificates are requested and verified, else 0.
    pub fn verify_mode(&self) -> u32 {
        if self.context.verifies_clients() {
            5
        } else {
            0
        }
    }
}

/// Why TLS is not available.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsLoadError {
    /// Neither files nor auto-tls.
    #[error("no certificate configured")]
    NotConfigured,
    /// auto-tls could not create or read its files.
    #[error("auto-tls: {0}")]
    AutoTls(#[from] auto::AutoTlsError),
    /// Files or library refused.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

impl TlsLoadError {
    /// Whether a setting (a version, suite or group) is what failed, not the certificate files:
    /// the backend cannot do what was asked, so serving without TLS would be a downgrade.
    pub fn is_unusable_setting(&self) -> bool {
        matches!(
            self,
            Self::Tls(TlsError::Unsupported { .. } | TlsError::UnknownCipher(_))
        )
    }
}

/// What a reload did.
#[derive(Debug)]
pub enum ReloadOutcome {
    /// The new context serves new connections.
    Reloaded,
    /// Loading failed and, as asked (`NO ROLLBACK ON ERROR`), TLS is now off for new
    /// connections; carries the reason.
    Disabled(String),
}

/// Owns the live context.
pub struct TlsManager {
    backend: TlsBackendKind,
    source: TlsSource,
    active: ArcSwapOption<ActiveTls>,
    /// Serialises reloads so two of them cannot interleave their file reads and swaps.
    reload_lock: Mutex<()>,
}

impl TlsManager {
    /// A manager with no context loaded yet.
    pub fn new(backend: TlsBackendKind, source: TlsSource) -> Self {
        Self {
            backend,
            source,
            active: ArcSwapOption::empty(),
            reload_lock: Mutex::new(()),
        }
    }

    /// The backend in use.
    pub fn backend(&self) -> TlsBackendKind {
        self.backend
    }

    /// The live context, if TLS is on.
    pub fn current(&self) -> Option<Arc<ActiveTls>> {
        self.active.load_full()
    }

    /// Loads the context at startup and logs the outcome. On failure the
    /// server runs without TLS (the caller decides whether that is acceptable).
    pub fn enable_at_startup(&self) -> Result<(), TlsLoadError> {
        let _guard = self.reload_lock.lock().unwrap_or_else(|p| p.into_inner());
        match self.load() {
            Ok(active) => {
                log_enabled(&active, "secure connection is enabled");
                self.active.store(Some(Arc::new(active)));
                Ok(())
            }
            Err(e) if e.is_unusable_setting() => {
                log::error!("the TLS configuration cannot be applied: {e}");
                Err(e)
            }
            Err(e) => {
                log::error!("secure connection is NOT ENABLED: {e}");
                Err(e)
            }
        }
    }

    /// Re-reads certificate, key and CA and swaps the context (ALTER INSTANCE RELOAD TLS,
    /// SIGHUP, auto-reload). On failure the old context stays, unless `no_rollback` is set and
    /// `tls_required` (require_secure_transport) is off: then TLS is switched off for new
    /// connections. `Err` carries the reason for ERR 3888.
    pub fn reload(
        &self,
        no_rollback: bool,
        tls_required: bool,
    ) -> Result<ReloadOutcome, TlsLoadError> {
        let _guard = self.reload_lock.lock().unwrap_or_else(|p| p.into_inner());
        match self.load() {
            Ok(active) => {
                log_enabled(&active, "TLS context reloaded");
                self.active.store(Some(Arc::new(active)));
                Ok(ReloadOutcome::Reloaded)
            }
            Err(e) if no_rollback && !tls_required => {
                log::warn!(
                    "TLS reload failed and NO ROLLBACK ON ERROR was given: TLS is now disabled for new connections: {e}"
                );
                self.active.store(None);
                Ok(ReloadOutcome::Disabled(e.to_string()))
            }
            Err(e) => {
                log::warn!("TLS reload failed, the previous context stays in use: {e}");
                Err(e)
            }
        }
    }

    fn load(&self) -> Result<ActiveTls, TlsLoadError> {
        let s = &self.source;
        let (cert_path, key_path, ca_path, auto_generated) = match (&s.cert, &s.key, &s.auto_tls) {
            (Some(cert), Some(key), _) => (cert.clone(), key.clone(), s.ca.clone(), false),
            (_, _, Some(spec)) => {
                let files = auto::ensure(&spec.dir, spec.key, spec.renew_within)?;
                // The auto-tls CA also verifies client certificates unless another CA is
                // configured, so its client certificate logs in REQUIRE X509 accounts.
                let ca = s.ca.clone().unwrap_or(files.paths.ca_cert);
                (
                    files.paths.server_cert,
                    files.paths.server_key,
                    Some(ca),
                    true,
                )
            }
            _ => return Err(TlsLoadError::NotConfigured),
        };
        let identity = cert::load_identity(&cert_path, &key_path, OffsetDateTime::now_utc())?;
        let client_ca = ca_path.as_deref().map(cert::load_client_ca).transpose()?;
        let ca_certs = client_ca
            .iter()
            .flat_map(|ca| &ca.certs)
            .filter_map(|der| CertSummary::from_der(der).ok())
            .collect();
        let settings = TlsSettings {
            identity,
            client_ca,
            min_version: s.min_version,
            cipher_list: s.cipher_list.clone(),
            ciphersuites: s.ciphersuites.clone(),
            groups: s.groups.clone(),
            groups_strict: s.groups_strict,
            session_cache: s.session_cache,
            session_timeout: s.session_timeout,
        };
        let context = build(self.backend, &settings)?;
        if let Some(oldest) = context.versions().first()
            && *oldest > s.min_version
        {
            log::warn!(
                "security.tls-version is {} but no configured cipher suite works below {oldest}, so {oldest} is the oldest version offered; add suites for the older versions to security.ssl-cipher to offer them",
                s.min_version
            );
        }
        let versions = context
            .versions()
            .iter()
            .map(|v| v.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let cipher_names = context.cipher_names().join(":");
        let groups = group::join(&context.groups());
        Ok(ActiveTls {
            context,
            cert_path,
            key_path,
            ca_path,
            server_cert: settings.identity.leaf,
            ca_certs,
            versions,
            cipher_names,
            ssl_cipher: s.cipher_list.join(":"),
            tls_ciphersuites: s.ciphersuites.join(":"),
            groups,
            auto_generated,
            session_cache: s.session_cache,
        })
    }
}

fn log_enabled(active: &ActiveTls, what: &str) {
    log::info!(
        "{what}: backend {}, versions {}, key exchange groups {}, client certificate verification {}, certificate {} ({}, {}issued by {}), valid until {}{}",
        active.context.backend(),
        active.versions,
        active.groups,
        if active.context.verifies_clients() {
            "on"
        } else {
            "off"
        },
        active.cert_path.display(),
        active.server_cert.key_type,
        if active.auto_generated {
            "auto-generated, "
        } else {
            ""
        },
        active.server_cert.issuer,
        cert::format_time(active.server_cert.not_after),
        match &active.ca_path {
            Some(ca) => format!(", client CA {}", ca.display()),
            None => String::new(),
        }
    );
}
