//! The client side: one `ClientConfig` per client identity, each with its own session store.
//!
//! Two facts about a handshake are known only inside rustls' callbacks: whether a session was
//! offered (the store was asked and had one) and which certificate the verifier refused. Both
//! callbacks run on the thread that drives the handshake, within `connect`, so they leave
//! their notes in a thread-local that `connect` clears before and reads after.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{
    ClientSessionMemoryCache, ClientSessionStore, Resumption, Tls12ClientSessionValue,
    Tls13ClientSessionValue, WebPkiServerVerifier,
};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms, aws_lc_rs};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::sign::SingleCertAndKey;
use rustls::{
    CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, NamedGroup,
    RootCertStore, SignatureScheme, StreamOwned, SupportedCipherSuite,
};
use tlsql_tls_api::cipher::CipherSuite;
use tlsql_tls_api::connector::{IdentityCache, SERVER_NAMES};
use tlsql_tls_api::failure::{self, Peer};
use tlsql_tls_api::group;
use tlsql_tls_api::resumption::Counters;
use tlsql_tls_api::{
    ConnectorSettings, Identity, ServerVerify, SessionStats, TlsConnector, TlsError, TlsStream,
    TlsVersion, Transport,
};

use crate::context::{
    RustlsStream, certified_key, library, protocol_versions, provider_suites, report, rustls_group,
};
use crate::{CAPABILITIES, NAME};

/// Builds a connector from `settings`.
///
/// Fails with [`TlsError::ClientSettings`] when verification has no roots or no suite is
/// left, [`TlsError::UnknownCipher`] for unknown names, [`TlsError::Unsupported`] for suites
/// rustls cannot offer, and [`TlsError::BadFile`] for a root rustls refuses.
pub fn build_connector(settings: &ConnectorSettings) -> Result<Arc<dyn TlsConnector>, TlsError> {
    let (suites, versions) = settings.effective(NAME)?;
    if let Some(suite) = suites.iter().find(|s| !CAPABILITIES.can_negotiate(s)) {
        return Err(TlsError::Unsupported {
            backend: NAME,
            what: format!("cannot negotiate the cipher {}", suite.openssl),
            alternative: format!("remove {} from the offered suites", suite.openssl),
        });
    }
    let versions: Vec<TlsVersion> = versions
        .into_iter()
        .filter(|v| *v >= TlsVersion::Tls12)
        .collect();
    let suites = provider_suites(&suites)?;
    let groups = group::usable(NAME, &settings.groups, false, |g| rustls_group(g).is_some())?;
    let provider = Arc::new(CryptoProvider {
        cipher_suites: suites.iter().map(|(_, suite)| *suite).collect(),
        kx_groups: groups.iter().filter_map(|g| rustls_group(g)).collect(),
        ..aws_lc_rs::default_provider()
    });
    let verifier = Arc::new(Verifier::new(settings, &provider)?);
    let shared = Shared {
        provider,
        versions,
        suites,
        verifier,
        session_cache: settings.session_cache,
    };
    let anonymous = shared.config(None)?;
    Ok(Arc::new(Connector {
        shared,
        identities: IdentityCache::new(anonymous),
        counters: Counters::default(),
    }))
}

struct Shared {
    provider: Arc<CryptoProvider>,
    versions: Vec<TlsVersion>,
    suites: Vec<(&'static CipherSuite, SupportedCipherSuite)>,
    verifier: Arc<Verifier>,
    session_cache: bool,
}

impl Shared {
    /// A configuration presenting `identity` (or none), with a session store of its own.
    fn config(&self, identity: Option<&Identity>) -> Result<ClientConfig, TlsError> {
        let builder = ClientConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(&protocol_versions(&self.versions))
            .map_err(library)?
            .dangerous()
            .with_custom_certificate_verifier(self.verifier.clone());
        let mut config = match identity {
            Some(identity) => builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(
                certified_key(identity, &self.provider)?,
            ))),
            None => builder.with_no_client_auth(),
        };
        config.resumption = if self.session_cache {
            // Two TLS 1.3 tickets per server name are kept, plus the TLS 1.2 session.
            Resumption::store(Arc::new(NotingStore(ClientSessionMemoryCache::new(
                SERVER_NAMES.get() * 3,
            ))))
        } else {
            Resumption::disabled()
        };
        Ok(config)
    }
}

struct Connector {
    shared: Shared,
    identities: IdentityCache<ClientConfig>,
    counters: Counters,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("backend", &NAME)
            .field("verify", &self.shared.verifier.mode)
            .field("versions", &self.shared.versions)
            .field("identities", &self.identities)
            .finish_non_exhaustive()
    }
}

impl TlsConnector for Connector {
    fn backend(&self) -> &'static str {
        NAME
    }

    fn connect(
        &self,
        mut io: Box<dyn Transport>,
        server_name: &str,
        client: Option<&Arc<Identity>>,
    ) -> Result<Box<dyn TlsStream>, TlsError> {
        let config = self
            .identities
            .get(client, |identity| self.shared.config(Some(identity)))?;
        let name = ServerName::try_from(server_name.to_string()).map_err(|_| {
            failure::other(format!(
                "'{server_name}' is neither a DNS name nor an IP address"
            ))
        })?;
        NOTES.with(|n| n.replace(Notes::default()));
        // The ClientHello is made here, so the store has been asked by the time this returns.
        let mut conn = ClientConnection::new(config, name).map_err(library)?;
        let offered = NOTES.with(|n| n.borrow().offered);
        while conn.is_handshaking() {
            if let Err(e) = conn.complete_io(&mut io) {
                let leaf = NOTES.with(|n| n.take().refused);
                return Err(crate::failure::classify(
                    &e,
                    Peer::Server,
                    leaf.as_deref(),
                    Some(server_name),
                    &self.shared.versions,
                ));
            }
        }
        let info = report(&conn, &self.shared.suites)?;
        self.counters.count(info.resumed, offered);
        Ok(Box::new(RustlsStream {
            inner: StreamOwned::new(conn, io),
            info,
        }))
    }

    fn session_stats(&self) -> SessionStats {
        self.counters.snapshot()
    }
}

/// What this thread's current handshake did inside rustls' callbacks.
#[derive(Default)]
struct Notes {
    /// The store handed out a session to offer.
    offered: bool,
    /// The certificate the verifier refused (DER).
    refused: Option<Vec<u8>>,
}

thread_local! {
    static NOTES: RefCell<Notes> = RefCell::new(Notes::default());
}

/// rustls' memory store, noting when it hands out a session.
#[derive(Debug)]
struct NotingStore(ClientSessionMemoryCache);

impl NotingStore {
    fn noted<T>(found: Option<T>) -> Option<T> {
        if found.is_some() {
            NOTES.with(|n| n.borrow_mut().offered = true);
        }
        found
    }
}

impl ClientSessionStore for NotingStore {
    fn set_kx_hint(&self, server_name: ServerName<'static>, group: NamedGroup) {
        self.0.set_kx_hint(server_name, group);
    }

    fn kx_hint(&self, server_name: &ServerName<'_>) -> Option<NamedGroup> {
        self.0.kx_hint(server_name)
    }

    fn set_tls12_session(&self, server_name: ServerName<'static>, value: Tls12ClientSessionValue) {
        self.0.set_tls12_session(server_name, value);
    }

    fn tls12_session(&self, server_name: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        Self::noted(self.0.tls12_session(server_name))
    }

    fn remove_tls12_session(&self, server_name: &ServerName<'static>) {
        self.0.remove_tls12_session(server_name);
    }

    fn insert_tls13_ticket(
        &self,
        server_name: ServerName<'static>,
        value: Tls13ClientSessionValue,
    ) {
        self.0.insert_tls13_ticket(server_name, value);
    }

    fn take_tls13_ticket(
        &self,
        server_name: &ServerName<'static>,
    ) -> Option<Tls13ClientSessionValue> {
        Self::noted(self.0.take_tls13_ticket(server_name))
    }
}

/// Checks the server's certificate as [`ServerVerify`] says, noting the one it refuses. The
/// handshake signature is always checked (with verification off it still proves the server
/// holds the key of the certificate it sent).
#[derive(Debug)]
struct Verifier {
    mode: ServerVerify,
    /// Chain and name checks against the roots (absent when verification is off).
    webpki: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl Verifier {
    fn new(settings: &ConnectorSettings, provider: &Arc<CryptoProvider>) -> Result<Self, TlsError> {
        let webpki = match settings.verify {
            ServerVerify::None => None,
            ServerVerify::Ca | ServerVerify::Identity => {
                let mut roots = RootCertStore::empty();
                for (i, cert) in settings.roots.iter().enumerate() {
                    roots.add(cert.clone()).map_err(|e| TlsError::BadFile {
                        path: "(roots)".into(),
                        reason: format!(
                            "certificate #{} is not usable as a trust anchor: {e}",
                            i + 1
                        ),
                    })?;
                }
                Some(
                    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                        .build()
                        .map_err(|e| TlsError::ClientSettings(e.to_string()))?,
                )
            }
        };
        Ok(Self {
            mode: settings.verify,
            webpki,
            algorithms: provider.signature_verification_algorithms,
        })
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(webpki) = &self.webpki else {
            return Ok(ServerCertVerified::assertion());
        };
        let verdict =
            webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now);
        let verdict = match verdict {
            // webpki checks the name only after the chain verified.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if self.mode == ServerVerify::Ca => Ok(ServerCertVerified::assertion()),
            other => other,
        };
        if verdict.is_err() {
            NOTES.with(|n| n.borrow_mut().refused = Some(end_entity.to_vec()));
        }
        verdict
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
