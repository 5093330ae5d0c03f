//! tlsql's TLS backend on rustls 0.23 with the aws-lc-rs crypto provider.
//!
//! The provider is always passed explicitly: the process-default provider is never consulted,
//! because feature unification can enable several providers in one binary.
//!
//! What rustls cannot do is refused when the context is built, never downgraded silently:
//! TLS 1.0/1.1, and any cipher that is not ECDHE with AES-GCM or ChaCha20-Poly1305 (or the
//! matching TLS 1.3 suites), and the groups aws-lc-rs lacks (P-521, X448). Sessions are resumed statefully from storage each context owns,
//! which also enforces the session timeout.
#![deny(missing_docs)]

mod session;

use std::io::{self, Read, Write};
use std::sync::Arc;

use rustls::crypto::{CryptoProvider, SupportedKxGroup, aws_lc_rs};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::version::{TLS12, TLS13};
use rustls::{
    CertificateError, HandshakeKind, PeerIncompatible, ProtocolVersion, RootCertStore,
    ServerConfig, ServerConnection, StreamOwned, SupportedCipherSuite, SupportedProtocolVersion,
};
use tlsql_tls_api::cipher::{self, CipherSuite, SuiteKind};
use tlsql_tls_api::group;
use tlsql_tls_api::{
    ClientCa, KxGroup, SessionStats, TlsContext, TlsError, TlsInfo, TlsSettings, TlsStream,
    TlsVersion, Transport,
};

use crate::session::{Counters, SessionStore};

/// The backend's name, as `security.tls-backend` and `Tls_backend` spell it.
pub const NAME: &str = "rustls";

/// Builds a server context from `settings`.
///
/// Fails with [`TlsError::Unsupported`] for TLS 1.0/1.1 and for cipher names rustls cannot
/// negotiate, [`TlsError::KeyMismatch`] when the key does not belong to the leaf certificate,
/// and [`TlsError::Library`] when no cipher suite is left for any allowed version.
pub fn build(settings: &TlsSettings) -> Result<Arc<dyn TlsContext>, TlsError> {
    if settings.min_version < TlsVersion::Tls12 {
        return Err(unsupported(
            "does not support TLSv1.0 or TLSv1.1".to_string(),
            "set security.tls-version to TLSv1.2 or TLSv1.3, or build with --features openssl",
        ));
    }
    let effective = settings.effective_ciphers()?;
    for (names, key) in [
        (&settings.ciphersuites, "security.tls-ciphersuites"),
        (&settings.cipher_list, "security.ssl-cipher"),
    ] {
        for name in names {
            if cipher::lookup(name).and_then(rustls_suite).is_none() {
                return Err(unsupported(
                    format!(
                        "cannot negotiate the cipher {name} (rustls has only ECDHE suites with \
                         AES-GCM or ChaCha20-Poly1305, and the TLS 1.3 AES-GCM and \
                         ChaCha20-Poly1305 suites)"
                    ),
                    &format!("remove {name} from {key}, or build with --features openssl"),
                ));
            }
        }
    }
    // Every configured name was just checked, so this keeps the whole effective list.
    let suites: Vec<_> = effective
        .into_iter()
        .filter_map(|suite| Some((suite, rustls_suite(suite)?)))
        .collect();
    let versions: Vec<TlsVersion> = settings
        .min_version
        .and_newer()
        .filter(|v| suites.iter().any(|(suite, _)| suite.usable_with(*v)))
        .collect();
    if versions.is_empty() {
        return Err(TlsError::Library {
            backend: NAME,
            message: format!(
                "no cipher suite is left to negotiate: security.tls-ciphersuites and \
                 security.ssl-cipher name none that {} and up can use with the certificate's {} key",
                settings.min_version, settings.identity.leaf.key_type
            ),
        });
    }

    let groups = group::usable(NAME, &settings.groups, settings.groups_strict, |g| {
        rustls_group(g).is_some()
    })?;
    let provider = Arc::new(CryptoProvider {
        cipher_suites: suites.iter().map(|(_, suite)| *suite).collect(),
        kx_groups: groups.iter().filter_map(|g| rustls_group(g)).collect(),
        ..aws_lc_rs::default_provider()
    });
    let identity = &settings.identity;
    let certified_key =
        CertifiedKey::from_der(identity.chain.clone(), identity.key.clone_key(), &provider)
            .map_err(|e| match e {
                rustls::Error::InconsistentKeys(_) => TlsError::KeyMismatch {
                    cert_path: identity.cert_path.clone(),
                    key_path: identity.key_path.clone(),
                },
                other => TlsError::BadFile {
                    path: identity.key_path.clone(),
                    reason: format!("unusable private key: {other}"),
                },
            })?;

    let rustls_versions: Vec<&'static SupportedProtocolVersion> = versions
        .iter()
        .filter_map(|v| match v {
            TlsVersion::Tls12 => Some(&TLS12),
            TlsVersion::Tls13 => Some(&TLS13),
            TlsVersion::Tls10 | TlsVersion::Tls11 => None,
        })
        .collect();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&rustls_versions)
        .map_err(library)?;
    let builder = match &settings.client_ca {
        Some(ca) => builder.with_client_cert_verifier(client_verifier(ca, &provider)?),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(Arc::new(SingleCertAndKey::from(certified_key)));
    config.ignore_client_order = true;
    // Fresh storage per context: a reload must never resume a session created under another
    // client-verification rule. The default ticketer never produces tickets, so this store
    // is the only way back into a session.
    let counters = Arc::new(Counters::default());
    if settings.session_cache {
        config.session_storage = Arc::new(SessionStore::new(
            settings.session_timeout,
            counters.clone(),
        ));
    } else {
        config.session_storage = Arc::new(SessionStore::disabled(counters.clone()));
        config.send_tls13_tickets = 0;
    }

    Ok(Arc::new(RustlsContext {
        config: Arc::new(config),
        suites,
        versions,
        groups,
        verifies_clients: settings.client_ca.is_some(),
        counters,
    }))
}

/// The rustls suite for a tlsql suite, if the provider implements it. rustls spells suites by
/// their IANA names, except that TLS 1.3 ones start with `TLS13_` instead of `TLS_`.
fn rustls_suite(suite: &CipherSuite) -> Option<SupportedCipherSuite> {
    let name = match suite.kind {
        SuiteKind::Tls13 => format!("TLS13_{}", suite.iana.strip_prefix("TLS_")?),
        SuiteKind::Tls12 | SuiteKind::Legacy => suite.iana.to_string(),
    };
    aws_lc_rs::ALL_CIPHER_SUITES
        .iter()
        .find(|s| s.suite().as_str() == Some(name.as_str()))
        .copied()
}

/// The aws-lc-rs implementation of a tlsql group, matched by code point.
fn rustls_group(group: &KxGroup) -> Option<&'static dyn SupportedKxGroup> {
    aws_lc_rs::ALL_KX_GROUPS
        .iter()
        .find(|g| u16::from(g.name()) == group.iana)
        .copied()
}

/// Requests client certificates and verifies the ones presented; none is fine.
fn client_verifier(
    ca: &ClientCa,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, TlsError> {
    let bad_ca = |reason: String| TlsError::BadFile {
        path: ca.path.clone(),
        reason,
    };
    let mut roots = RootCertStore::empty();
    for (i, cert) in ca.certs.iter().enumerate() {
        roots.add(cert.clone()).map_err(|e| {
            bad_ca(format!(
                "certificate #{} is not usable as a trust anchor: {e}",
                i + 1
            ))
        })?;
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(|e| bad_ca(e.to_string()))
}

fn unsupported(what: String, alternative: &str) -> TlsError {
    TlsError::Unsupported {
        backend: NAME,
        what,
        alternative: alternative.to_string(),
    }
}

fn library(e: rustls::Error) -> TlsError {
    TlsError::Library {
        backend: NAME,
        message: e.to_string(),
    }
}

/// A built server context; cheap to share, one per configuration (and per reload).
#[derive(Debug)]
struct RustlsContext {
    config: Arc<ServerConfig>,
    /// The negotiable suites in preference order, with the names tlsql reports.
    suites: Vec<(&'static CipherSuite, SupportedCipherSuite)>,
    versions: Vec<TlsVersion>,
    groups: Vec<&'static KxGroup>,
    verifies_clients: bool,
    counters: Arc<Counters>,
}

impl RustlsContext {
    fn report(&self, conn: &ServerConnection) -> Result<TlsInfo, TlsError> {
        let version = match conn.protocol_version() {
            Some(ProtocolVersion::TLSv1_2) => TlsVersion::Tls12,
            Some(ProtocolVersion::TLSv1_3) => TlsVersion::Tls13,
            other => {
                return Err(TlsError::Handshake(format!(
                    "rustls negotiated an unexpected protocol version {other:?}"
                )));
            }
        };
        let negotiated = conn.negotiated_cipher_suite().map(|s| s.suite());
        let cipher = self
            .suites
            .iter()
            .find(|(_, suite)| Some(suite.suite()) == negotiated)
            .map(|(suite, _)| suite.openssl.to_string())
            .ok_or_else(|| {
                TlsError::Handshake(format!(
                    "rustls negotiated an unconfigured cipher suite {negotiated:?}"
                ))
            })?;
        Ok(TlsInfo {
            version,
            cipher,
            group: conn
                .negotiated_key_exchange_group()
                .and_then(|g| group::by_iana(u16::from(g.name()))),
            resumed: conn.handshake_kind() == Some(HandshakeKind::Resumed),
            peer_certificate: conn
                .peer_certificates()
                .and_then(|chain| chain.first())
                .cloned(),
        })
    }

    /// Turns what `complete_io` reports into a message an operator can act on.
    fn handshake_error(&self, e: &io::Error) -> TlsError {
        let tls = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        TlsError::Handshake(match tls {
            Some(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {
                "the client certificate's issuer is unknown (it is not signed by a CA in ssl-ca)"
                    .to_string()
            }
            Some(rustls::Error::InvalidCertificate(reason)) => {
                format!("the client certificate was rejected: {reason}")
            }
            Some(rustls::Error::PeerIncompatible(
                PeerIncompatible::Tls12NotOfferedOrEnabled
                | PeerIncompatible::SupportedVersionsExtensionRequired,
            )) => {
                let allowed: Vec<_> = self.versions.iter().map(|v| v.as_str()).collect();
                format!(
                    "the client offers no protocol version this server allows ({})",
                    allowed.join(", ")
                )
            }
            Some(rustls::Error::PeerIncompatible(PeerIncompatible::NoCipherSuitesInCommon)) => {
                "the client offers none of the configured cipher suites".to_string()
            }
            Some(rustls::Error::AlertReceived(alert)) => {
                format!("the client aborted the handshake with alert {alert:?}")
            }
            Some(other) => other.to_string(),
            None if e.kind() == io::ErrorKind::UnexpectedEof => {
                "the client closed the connection during the handshake".to_string()
            }
            None => format!("I/O error: {e}"),
        })
    }
}

impl TlsContext for RustlsContext {
    fn backend(&self) -> &'static str {
        NAME
    }

    fn accept(&self, mut io: Box<dyn Transport>) -> Result<Box<dyn TlsStream>, TlsError> {
        let mut conn = ServerConnection::new(self.config.clone())
            .map_err(|e| TlsError::Handshake(e.to_string()))?;
        // complete_io returns once the handshake is done or fails (EOF included), so this
        // loop ends; the caller's socket timeouts bound a stalled peer.
        while conn.is_handshaking() {
            conn.complete_io(&mut io)
                .map_err(|e| self.handshake_error(&e))?;
        }
        let info = self.report(&conn)?;
        if info.resumed {
            self.counters.hit();
        }
        Ok(Box::new(RustlsStream {
            inner: StreamOwned::new(conn, io),
            info,
        }))
    }

    fn cipher_names(&self) -> Vec<String> {
        self.suites
            .iter()
            .map(|(suite, _)| suite.openssl.to_string())
            .collect()
    }

    fn versions(&self) -> Vec<TlsVersion> {
        self.versions.clone()
    }

    fn groups(&self) -> Vec<&'static KxGroup> {
        self.groups.clone()
    }

    fn verifies_clients(&self) -> bool {
        self.verifies_clients
    }

    fn session_stats(&self) -> SessionStats {
        self.counters.snapshot()
    }
}

/// An established connection. Reads and writes go through rustls' `StreamOwned`, which
/// reads until a whole record is decrypted, writes every pending record on `flush`, and
/// reports a peer that vanished without close_notify as `UnexpectedEof`.
struct RustlsStream {
    inner: StreamOwned<ServerConnection, Box<dyn Transport>>,
    info: TlsInfo,
}

impl Read for RustlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl Write for RustlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl TlsStream for RustlsStream {
    fn info(&self) -> &TlsInfo {
        &self.info
    }

    fn shutdown(&mut self) -> io::Result<()> {
        self.inner.conn.send_close_notify();
        self.inner.flush()
    }
}
