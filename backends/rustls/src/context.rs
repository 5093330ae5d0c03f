use std::io::{self, Read, Write};
use std::sync::Arc;

use rustls::crypto::{CryptoProvider, SupportedKxGroup, aws_lc_rs};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::version::{TLS12, TLS13};
use rustls::{
    HandshakeKind, ProtocolVersion, RootCertStore, ServerConfig, ServerConnection, StreamOwned,
    SupportedCipherSuite, SupportedProtocolVersion,
};
use tlsql_tls_api::cipher::{CipherSuite, SuiteKind};
use tlsql_tls_api::failure::{self, Peer};
use tlsql_tls_api::group;
use tlsql_tls_api::resumption::Counters;
use tlsql_tls_api::{
    ClientCa, Identity, KxGroup, SessionStats, TlsContext, TlsError, TlsInfo, TlsSettings,
    TlsStream, TlsVersion, Transport,
};

use crate::session::SessionStore;
use crate::{CAPABILITIES, NAME};

/// Builds a server context from `settings`.
///
/// Fails with [`TlsError::Unsupported`] for TLS 1.0/1.1 and for cipher names rustls cannot
/// negotiate, [`TlsError::KeyMismatch`] when the key does not belong to the leaf certificate,
/// and [`TlsError::Library`] when no cipher suite is left for any allowed version.
pub fn build(settings: &TlsSettings) -> Result<Arc<dyn TlsContext>, TlsError> {
    if settings.min_version < TlsVersion::Tls12 && !CAPABILITIES.legacy_versions {
        return Err(unsupported(
            "does not support TLSv1.0 or TLSv1.1".to_string(),
            "set security.tls-version to TLSv1.2 or TLSv1.3, or build with --features openssl",
        ));
    }
    let effective = settings.effective_ciphers()?;
    if let Some((suite, key)) = settings.unsupported_suite(&CAPABILITIES)? {
        let name = suite.openssl;
        return Err(unsupported(
            format!(
                "cannot negotiate the cipher {name} (rustls has only ECDHE suites with \
                 AES-GCM or ChaCha20-Poly1305, and the TLS 1.3 AES-GCM and \
                 ChaCha20-Poly1305 suites)"
            ),
            &format!("remove {name} from {key}, or build with --features openssl"),
        ));
    }
    let versions = settings.allowed_versions(NAME, &effective)?;
    let suites = provider_suites(&effective)?;

    let groups = group::usable(NAME, &settings.groups, settings.groups_strict, |g| {
        rustls_group(g).is_some()
    })?;
    let provider = Arc::new(CryptoProvider {
        cipher_suites: suites.iter().map(|(_, suite)| *suite).collect(),
        kx_groups: groups.iter().filter_map(|g| rustls_group(g)).collect(),
        ..aws_lc_rs::default_provider()
    });
    let certified_key = certified_key(&settings.identity, &provider)?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&protocol_versions(&versions))
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

/// A certificate chain and its key as rustls uses them (a server's identity or a client
/// certificate); a key that does not belong to the leaf is [`TlsError::KeyMismatch`].
pub(crate) fn certified_key(
    identity: &Identity,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    CertifiedKey::from_der(identity.chain.clone(), identity.key.clone_key(), provider).map_err(
        |e| match e {
            rustls::Error::InconsistentKeys(_) => TlsError::KeyMismatch {
                cert_path: identity.cert_path.clone(),
                key_path: identity.key_path.clone(),
            },
            other => TlsError::BadFile {
                path: identity.key_path.clone(),
                reason: format!("unusable private key: {other}"),
            },
        },
    )
}

/// rustls' protocol versions for tlsql's (which never include TLS 1.0/1.1 here).
pub(crate) fn protocol_versions(versions: &[TlsVersion]) -> Vec<&'static SupportedProtocolVersion> {
    versions
        .iter()
        .filter_map(|v| match v {
            TlsVersion::Tls12 => Some(&TLS12),
            TlsVersion::Tls13 => Some(&TLS13),
            TlsVersion::Tls10 | TlsVersion::Tls11 => None,
        })
        .collect()
}

/// The provider's implementation of each suite, which [`CAPABILITIES`] says it has.
pub(crate) fn provider_suites(
    suites: &[&'static CipherSuite],
) -> Result<Vec<(&'static CipherSuite, SupportedCipherSuite)>, TlsError> {
    suites
        .iter()
        .map(|suite| {
            rustls_suite(suite)
                .map(|s| (*suite, s))
                .ok_or_else(|| TlsError::Library {
                    backend: NAME,
                    message: format!("aws-lc-rs has no {} suite", suite.openssl),
                })
        })
        .collect()
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
pub(crate) fn rustls_group(group: &KxGroup) -> Option<&'static dyn SupportedKxGroup> {
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

pub(crate) fn library(e: rustls::Error) -> TlsError {
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

/// The connection report shared by both sides. `suites` are the ones configured, to name the
/// negotiated one as tlsql does.
pub(crate) fn report<D>(
    conn: &rustls::ConnectionCommon<D>,
    suites: &[(&'static CipherSuite, SupportedCipherSuite)],
) -> Result<TlsInfo, TlsError> {
    let version = match conn.protocol_version() {
        Some(ProtocolVersion::TLSv1_2) => TlsVersion::Tls12,
        Some(ProtocolVersion::TLSv1_3) => TlsVersion::Tls13,
        other => {
            return Err(failure::other(format!(
                "rustls negotiated an unexpected protocol version {other:?}"
            )));
        }
    };
    let negotiated = conn.negotiated_cipher_suite().map(|s| s.suite());
    let cipher = suites
        .iter()
        .find(|(_, suite)| Some(suite.suite()) == negotiated)
        .map(|(suite, _)| suite.openssl.to_string())
        .ok_or_else(|| {
            failure::other(format!(
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

impl TlsContext for RustlsContext {
    fn backend(&self) -> &'static str {
        NAME
    }

    fn accept(&self, mut io: Box<dyn Transport>) -> Result<Box<dyn TlsStream>, TlsError> {
        let mut conn = ServerConnection::new(self.config.clone())
            .map_err(|e| failure::other(e.to_string()))?;
        // complete_io returns once the handshake is done or fails (EOF included), so this
        // loop ends; the caller's socket timeouts bound a stalled peer.
        while conn.is_handshaking() {
            conn.complete_io(&mut io).map_err(|e| {
                crate::failure::classify(&e, Peer::Client, None, None, &self.versions)
            })?;
        }
        let info = report(&conn, &self.suites)?;
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

/// An established connection (a server's or a connector's). Reads and writes go through
/// rustls' `StreamOwned`, which reads until a whole record is decrypted, writes every pending
/// record on `flush`, and reports a peer that vanished without close_notify as
/// `UnexpectedEof`.
pub(crate) struct RustlsStream<C> {
    pub(crate) inner: StreamOwned<C, Box<dyn Transport>>,
    pub(crate) info: TlsInfo,
}

type Conn<D> = rustls::ConnectionCommon<D>;

impl<C, D> Read for RustlsStream<C>
where
    C: std::ops::DerefMut<Target = Conn<D>> + std::ops::Deref<Target = Conn<D>>,
    D: rustls::SideData,
{
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<C, D> Write for RustlsStream<C>
where
    C: std::ops::DerefMut<Target = Conn<D>> + std::ops::Deref<Target = Conn<D>>,
    D: rustls::SideData,
{
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    /// `StreamOwned` writes only the first slice of a vectored write; `Stream` encrypts the
    /// slices together into full records, so the few bytes in front of a large spliced value
    /// do not leave in a record and a send of their own.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        rustls::Stream::new(&mut self.inner.conn, &mut self.inner.sock).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<C, D> TlsStream for RustlsStream<C>
where
    C: std::ops::DerefMut<Target = Conn<D>> + std::ops::Deref<Target = Conn<D>> + Send,
    D: rustls::SideData,
{
    fn info(&self) -> &TlsInfo {
        &self.info
    }

    fn shutdown(&mut self) -> io::Result<()> {
        self.inner.conn.send_close_notify();
        self.inner.flush()
    }
}
