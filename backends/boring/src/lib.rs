//! tlsql's TLS backend on BoringSSL: the `boring` crate, which builds BoringSSL from source.
//!
//! The context is built from the DER that `tlsql_tls_api::cert` already read, never from
//! files. Versions are always set explicitly (BoringSSL's default minimum is TLS 1.0), the
//! TLS ≤ 1.2 cipher list is strict, and resumption state (session cache, ticket keys,
//! session-id context) belongs to one context, so a reload never resumes an old context's
//! sessions.
//!
//! What BoringSSL cannot do is refused when the context is built: restricting TLS 1.3 suites
//! (the boring crate cannot configure them; the default set in any order is accepted, and
//! BoringSSL then follows the client's preference among them, or puts ChaCha20 first on
//! machines without AES instructions) and the TLS ≤ 1.2 suites it dropped (DHE, SHA-384 CBC,
//! static-RSA SHA-256 CBC).
//!
//! The session lifetime has no safe binding in the boring crate: [`set_session_timeout`] calls
//! `SSL_CTX_set_timeout` (TLS 1.2) and `SSL_CTX_set_session_psk_dhe_timeout` (TLS 1.3) through
//! boring-sys, the crate's only `unsafe`.
#![deny(missing_docs)]

use std::fmt;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use boring::ec::EcKey;
use boring::error::ErrorStack;
use boring::ex_data::Index;
use boring::pkey::{PKey, Private};
use boring::rsa::Rsa;
use boring::ssl::{
    self, ClientHello, ErrorCode, ExtensionType, HandshakeError, Ssl, SslContext,
    SslContextBuilder, SslMethod, SslOptions, SslRef, SslSessionCacheMode, SslStream,
    SslVerifyMode, SslVersion,
};
use boring::x509::verify::X509VerifyFlags;
use boring::x509::{X509, X509VerifyError};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tlsql_tls_api::cipher::{CipherSuite, SuiteKind};
use tlsql_tls_api::group;
use tlsql_tls_api::{
    ClientCa, Identity, KxGroup, SessionStats, TlsContext, TlsError, TlsInfo, TlsSettings,
    TlsStream, TlsVersion, Transport,
};

/// The backend's name, as `security.tls-backend` and `Tls_backend` spell it.
pub const NAME: &str = "boring";

/// The TLS 1.3 suites BoringSSL always offers; it has no way to change them.
const TLS13_SUITES: [&str; 3] = [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// Builds a server context from `settings`.
///
/// Fails with [`TlsError::Unsupported`] when the TLS 1.3 suites are not BoringSSL's fixed set
/// (or none) and for a TLS ≤ 1.2 cipher BoringSSL cannot negotiate,
/// [`TlsError::KeyMismatch`] when the key does not belong to the leaf certificate,
/// [`TlsError::BadFile`] for a certificate or key BoringSSL refuses, and [`TlsError::Library`]
/// when no cipher suite is left for any allowed version or BoringSSL rejects the
/// configuration otherwise.
pub fn build(settings: &TlsSettings) -> Result<Arc<dyn TlsContext>, TlsError> {
    let suites = settings.effective_ciphers()?;
    let versions = allowed_versions(settings, &suites)?;
    let mut builder = SslContextBuilder::new(SslMethod::tls()).map_err(library)?;
    builder.set_options(SslOptions::CIPHER_SERVER_PREFERENCE);
    set_versions(&mut builder, &versions)?;
    set_ciphers(&mut builder, &suites)?;
    let groups = group::configure(NAME, &settings.groups, settings.groups_strict, |list| {
        builder.set_curves_list(list).is_ok()
    })?;
    set_identity(&mut builder, &settings.identity)?;
    set_client_verification(&mut builder, settings.client_ca.as_ref())?;
    set_resumption(&mut builder, settings.session_cache)?;
    set_session_timeout(&mut builder, settings.session_timeout);
    let offer = Ssl::new_ex_index().map_err(library)?;
    builder.set_select_certificate_callback(move |mut hello| {
        let seen = Offer::from_client_hello(&hello);
        hello.ssl_mut().set_ex_data(offer, seen);
        Ok(())
    });
    Ok(Arc::new(BoringContext {
        ctx: builder.build(),
        offer,
        cipher_names: suites.iter().map(|s| s.openssl.to_string()).collect(),
        versions,
        groups,
        verifies_clients: settings.client_ca.is_some(),
        hits: AtomicU64::new(0),
        misses: AtomicU64::new(0),
    }))
}

/// The versions from the configured minimum up to TLS 1.3 that have a cipher suite left.
fn allowed_versions(
    settings: &TlsSettings,
    suites: &[&CipherSuite],
) -> Result<Vec<TlsVersion>, TlsError> {
    let versions: Vec<TlsVersion> = settings
        .min_version
        .and_newer()
        .filter(|v| suites.iter().any(|s| s.usable_with(*v)))
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
    Ok(versions)
}

fn set_versions(builder: &mut SslContextBuilder, versions: &[TlsVersion]) -> Result<(), TlsError> {
    let (Some(&oldest), Some(&newest)) = (versions.first(), versions.last()) else {
        return Err(TlsError::Library {
            backend: NAME,
            message: "no protocol version is allowed".to_string(),
        });
    };
    builder
        .set_min_proto_version(Some(ssl_version(oldest)))
        .map_err(library)?;
    builder
        .set_max_proto_version(Some(ssl_version(newest)))
        .map_err(library)
}

fn ssl_version(version: TlsVersion) -> SslVersion {
    match version {
        TlsVersion::Tls10 => SslVersion::TLS1,
        TlsVersion::Tls11 => SslVersion::TLS1_1,
        TlsVersion::Tls12 => SslVersion::TLS1_2,
        TlsVersion::Tls13 => SslVersion::TLS1_3,
    }
}

/// Configures exactly `suites`: TLS ≤ 1.2 ones through the strict cipher list, TLS 1.3 ones
/// only if they are what BoringSSL does anyway.
fn set_ciphers(builder: &mut SslContextBuilder, suites: &[&CipherSuite]) -> Result<(), TlsError> {
    let (tls13, older): (Vec<&CipherSuite>, Vec<&CipherSuite>) =
        suites.iter().partition(|s| s.kind == SuiteKind::Tls13);
    // No TLS 1.3 suite at all is honoured by the version range (TLS 1.3 is then off).
    let fixed_set = tls13.len() == TLS13_SUITES.len()
        && TLS13_SUITES
            .iter()
            .all(|n| tls13.iter().any(|s| s.openssl == *n));
    if !tls13.is_empty() && !fixed_set {
        return Err(TlsError::Unsupported {
            backend: NAME,
            what: format!(
                "cannot restrict TLS 1.3 cipher suites (it always offers {})",
                TLS13_SUITES.join(", ")
            ),
            alternative: "leave security.tls-ciphersuites at its default, or use the rustls or \
                          openssl backend"
                .to_string(),
        });
    }
    if older.is_empty() {
        // TLS ≤ 1.2 is already outside the version range.
        return Ok(());
    }
    // The strict list fails on a name BoringSSL does not know; trying each name alone first
    // makes the error name it.
    for suite in &older {
        builder
            .set_strict_cipher_list(suite.openssl)
            .map_err(|_| TlsError::Unsupported {
                backend: NAME,
                what: format!("cannot negotiate the cipher {}", suite.openssl),
                alternative: format!(
                    "remove {} from security.ssl-cipher, or use the openssl backend",
                    suite.openssl
                ),
            })?;
    }
    let list = older
        .iter()
        .map(|s| s.openssl)
        .collect::<Vec<_>>()
        .join(":");
    builder.set_strict_cipher_list(&list).map_err(library)?;
    // info().cipher reports BoringSSL's names: they must be the configured ones.
    let names: Vec<&str> = builder
        .ciphers()
        .map(|stack| stack.iter().map(|c| c.name()).collect())
        .unwrap_or_default();
    if names != list.split(':').collect::<Vec<_>>() {
        return Err(TlsError::Library {
            backend: NAME,
            message: format!("cipher list {list} was configured as {}", names.join(":")),
        });
    }
    Ok(())
}

fn set_identity(builder: &mut SslContextBuilder, identity: &Identity) -> Result<(), TlsError> {
    let bad_cert = |e: ErrorStack| TlsError::BadFile {
        path: identity.cert_path.clone(),
        reason: format!("BoringSSL cannot use the certificate: {}", describe(&e)),
    };
    let key = private_key(&identity.key).map_err(|reason| TlsError::BadFile {
        path: identity.key_path.clone(),
        reason,
    })?;
    // The key goes in first: a certificate installed after it drops a key that does not
    // match, and check_private_key then reports the mismatch.
    builder
        .set_private_key(&key)
        .map_err(|e| TlsError::BadFile {
            path: identity.key_path.clone(),
            reason: format!("BoringSSL cannot use the private key: {}", describe(&e)),
        })?;
    let (leaf, rest) = identity
        .chain
        .split_first()
        .ok_or_else(|| TlsError::BadFile {
            path: identity.cert_path.clone(),
            reason: "no certificate".to_string(),
        })?;
    let leaf = X509::from_der(leaf).map_err(bad_cert)?;
    builder.set_certificate(&leaf).map_err(bad_cert)?;
    for der in rest {
        builder
            .add_extra_chain_cert(X509::from_der(der).map_err(bad_cert)?)
            .map_err(bad_cert)?;
    }
    builder
        .check_private_key()
        .map_err(|_| TlsError::KeyMismatch {
            cert_path: identity.cert_path.clone(),
            key_path: identity.key_path.clone(),
        })
}

fn private_key(key: &PrivateKeyDer<'_>) -> Result<PKey<Private>, String> {
    let parsed = match key {
        PrivateKeyDer::Pkcs1(k) => {
            Rsa::private_key_from_der(k.secret_pkcs1_der()).and_then(PKey::from_rsa)
        }
        PrivateKeyDer::Sec1(k) => {
            EcKey::private_key_from_der(k.secret_sec1_der()).and_then(PKey::from_ec_key)
        }
        PrivateKeyDer::Pkcs8(k) => PKey::private_key_from_pkcs8(k.secret_pkcs8_der()),
        _ => return Err("BoringSSL cannot read this private key format".to_string()),
    };
    parsed.map_err(|e| format!("BoringSSL cannot read the private key: {}", describe(&e)))
}

/// Requests a client certificate and verifies the one presented; none is fine (MySQL's
/// `Ssl_verify_mode` 5). BoringSSL has no `SSL_VERIFY_CLIENT_ONCE`: it never renegotiates
/// or asks for a certificate after the handshake, so asking once is all it does anyway.
fn set_client_verification(
    builder: &mut SslContextBuilder,
    ca: Option<&ClientCa>,
) -> Result<(), TlsError> {
    let Some(ca) = ca else {
        builder.set_verify(SslVerifyMode::NONE);
        return Ok(());
    };
    let bad_ca = |e: ErrorStack| TlsError::BadFile {
        path: ca.path.clone(),
        reason: format!("BoringSSL cannot use the CA certificate: {}", describe(&e)),
    };
    for der in &ca.certs {
        let cert = X509::from_der(der).map_err(bad_ca)?;
        // Also named in the certificate request as an acceptable issuer.
        builder.add_client_ca(&cert).map_err(bad_ca)?;
        builder.cert_store_mut().add_cert(&cert).map_err(bad_ca)?;
    }
    // Every certificate in ssl-ca is a trust anchor, an intermediate CA included, as it is on
    // rustls; by default BoringSSL would insist on a chain up to a self-signed root.
    builder
        .cert_store_mut()
        .try_set_flags(X509VerifyFlags::PARTIAL_CHAIN)
        .map_err(library)?;
    builder.set_verify(SslVerifyMode::PEER);
    Ok(())
}

/// How long a session (id or ticket) stays resumable: `ssl-session-cache-timeout`.
#[allow(unsafe_code)]
fn set_session_timeout(builder: &mut SslContextBuilder, timeout: std::time::Duration) {
    let seconds = u32::try_from(timeout.as_secs()).unwrap_or(u32::MAX);
    // SAFETY: the builder owns a valid SSL_CTX for the whole call, and both functions only
    // store the number in it.
    unsafe {
        boring_sys::SSL_CTX_set_timeout(builder.as_ptr(), seconds);
        boring_sys::SSL_CTX_set_session_psk_dhe_timeout(builder.as_ptr(), seconds);
    }
}

fn set_resumption(builder: &mut SslContextBuilder, enabled: bool) -> Result<(), TlsError> {
    // A random session-id context per context: sessions (ids and tickets) of any other
    // context carry a different one and are never resumed here. Ticket keys are per context
    // already.
    let mut sid_ctx = [0; 32];
    boring::rand::rand_bytes(&mut sid_ctx).map_err(library)?;
    builder.set_session_id_context(&sid_ctx).map_err(library)?;
    if enabled {
        builder.set_session_cache_mode(SslSessionCacheMode::SERVER);
    } else {
        // NO_TICKET also stops TLS 1.3 tickets: BoringSSL resumes TLS 1.3 only statelessly.
        builder.set_session_cache_mode(SslSessionCacheMode::OFF);
        builder.set_options(SslOptions::NO_TICKET);
    }
    Ok(())
}

/// Turns a BoringSSL error queue into its reasons. BoringSSL names reasons as codes
/// (`NO_SHARED_CIPHER`) and every function `OPENSSL_internal`; lowercased, the codes read as
/// OpenSSL's reasons do (`no shared cipher`).
fn describe(stack: &ErrorStack) -> String {
    let mut reasons: Vec<String> = stack
        .errors()
        .iter()
        .map(|e| match e.reason() {
            Some(code) => code.to_ascii_lowercase().replace('_', " "),
            None => e.to_string(),
        })
        .collect();
    reasons.dedup();
    if reasons.is_empty() {
        "unknown BoringSSL error".to_string()
    } else {
        reasons.join("; ")
    }
}

fn library(e: ErrorStack) -> TlsError {
    TlsError::Library {
        backend: NAME,
        message: describe(&e),
    }
}

/// The resumption-related parts of a ClientHello.
#[derive(Clone, Copy, Debug, Default)]
struct Offer {
    /// A non-empty legacy session id.
    session_id: bool,
    /// A non-empty session_ticket extension.
    ticket: bool,
    /// A pre_shared_key extension.
    psk: bool,
}

impl Offer {
    fn from_client_hello(hello: &ClientHello<'_>) -> Self {
        // The body starts with legacy_version (2 bytes) and random (32), then the session
        // id's length (RFC 8446 §4.1.2).
        let session_id = hello.as_bytes().get(34).is_some_and(|len| *len > 0);
        Self {
            session_id,
            ticket: hello
                .get_extension(ExtensionType::SESSION_TICKET)
                .is_some_and(|t| !t.is_empty()),
            psk: hello.get_extension(ExtensionType::PRE_SHARED_KEY).is_some(),
        }
    }

    /// Whether the client asked to resume a session, given the version that was negotiated.
    /// TLS 1.3 clients send a random legacy session id for middlebox compatibility, so under
    /// TLS 1.3 only a pre_shared_key counts.
    fn asks_resumption(&self, version: TlsVersion) -> bool {
        match version {
            TlsVersion::Tls13 => self.psk,
            _ => self.session_id || self.ticket,
        }
    }
}

/// A built server context: shared by every connection it accepts, one per configuration.
struct BoringContext {
    ctx: SslContext,
    /// Where the ClientHello callback leaves each connection's [`Offer`].
    offer: Index<Ssl, Offer>,
    cipher_names: Vec<String>,
    versions: Vec<TlsVersion>,
    groups: Vec<&'static KxGroup>,
    verifies_clients: bool,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl fmt::Debug for BoringContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoringContext")
            .field("cipher_names", &self.cipher_names)
            .field("versions", &self.versions)
            .field("groups", &self.groups)
            .field("verifies_clients", &self.verifies_clients)
            .finish_non_exhaustive()
    }
}

impl BoringContext {
    /// Counts a completed handshake: a hit if it resumed a session, a miss if the client
    /// offered one (session id or ticket) that was not resumed. Failed handshakes count as
    /// neither.
    fn count(&self, info: &TlsInfo, offer: Offer) {
        if info.resumed {
            self.hits.fetch_add(1, Ordering::Relaxed);
        } else if offer.asks_resumption(info.version) {
            self.misses.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn negotiated_version(ssl: &SslRef) -> Option<TlsVersion> {
    let version = ssl.version2()?;
    [
        (SslVersion::TLS1, TlsVersion::Tls10),
        (SslVersion::TLS1_1, TlsVersion::Tls11),
        (SslVersion::TLS1_2, TlsVersion::Tls12),
        (SslVersion::TLS1_3, TlsVersion::Tls13),
    ]
    .into_iter()
    .find(|(v, _)| *v == version)
    .map(|(_, v)| v)
}

fn report(ssl: &SslRef) -> Result<TlsInfo, TlsError> {
    let version = negotiated_version(ssl).ok_or_else(|| {
        TlsError::Handshake(format!(
            "BoringSSL negotiated an unexpected protocol version {}",
            ssl.version_str()
        ))
    })?;
    let cipher = ssl
        .current_cipher()
        .ok_or_else(|| TlsError::Handshake("BoringSSL reports no cipher".to_string()))?
        .name()
        .to_string();
    // A resumed session keeps the certificate and verify result it was created with.
    let peer_certificate = match ssl.peer_certificate() {
        Some(cert) if ssl.verify_result().is_ok() => {
            Some(CertificateDer::from(cert.to_der().map_err(library)?))
        }
        _ => None,
    };
    Ok(TlsInfo {
        version,
        cipher,
        group: ssl.curve().and_then(group::by_iana),
        resumed: ssl.session_reused(),
        peer_certificate,
    })
}

/// The most useful reason for a failed handshake: a certificate that did not verify, the
/// socket, BoringSSL's own reasons, or the client hanging up.
fn handshake_failure(ssl: &SslRef, error: &ssl::Error) -> TlsError {
    TlsError::Handshake(
        match (ssl.verify_result(), error.io_error(), error.ssl_error()) {
            // BoringSSL reports INVALID_CALL as long as no certificate has been verified.
            (Err(verify), _, _) if verify != X509VerifyError::INVALID_CALL => format!(
                "the client certificate did not verify: {}",
                verify.error_string()
            ),
            (_, Some(e), _) => match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                    "the client did not complete the handshake in time".to_string()
                }
                _ => format!("I/O error: {e}"),
            },
            (_, None, Some(stack)) => describe(stack),
            (_, None, None) if error.code() == ErrorCode::SYSCALL => {
                "the client closed the connection during the handshake".to_string()
            }
            _ => error.to_string(),
        },
    )
}

impl TlsContext for BoringContext {
    fn backend(&self) -> &'static str {
        NAME
    }

    fn accept(&self, io: Box<dyn Transport>) -> Result<Box<dyn TlsStream>, TlsError> {
        let ssl = Ssl::new(&self.ctx).map_err(library)?;
        match ssl.accept(io) {
            Ok(stream) => {
                let info = report(stream.ssl())?;
                let offer = stream.ssl().ex_data(self.offer).copied();
                self.count(&info, offer.unwrap_or_default());
                Ok(Box::new(BoringStream {
                    inner: stream,
                    info,
                }))
            }
            // A blocking socket only "would block" when its timeout expired.
            Err(HandshakeError::Failure(mid) | HandshakeError::WouldBlock(mid)) => {
                Err(handshake_failure(mid.ssl(), mid.error()))
            }
            Err(HandshakeError::SetupFailure(e)) => Err(library(e)),
        }
    }

    fn cipher_names(&self) -> Vec<String> {
        self.cipher_names.clone()
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
        SessionStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

/// An established connection. `SslStream` reassembles records and splits large writes, so
/// any buffer size works in both directions.
struct BoringStream {
    inner: SslStream<Box<dyn Transport>>,
    info: TlsInfo,
}

impl Read for BoringStream {
    /// Returns 0 after the client's close_notify; a client that drops the connection without
    /// one is an `UnexpectedEof` error (as on the other backends).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.ssl_read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.code() == ErrorCode::ZERO_RETURN => return Ok(0),
                // A record that carried no application data (a key update, say).
                Err(e) if e.code() == ErrorCode::WANT_READ && e.io_error().is_none() => {}
                Err(e) if e.code() == ErrorCode::SYSCALL && e.io_error().is_none() => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the client closed the connection without close_notify",
                    ));
                }
                Err(e) => return Err(e.into_io_error().unwrap_or_else(io::Error::other)),
            }
        }
    }
}

impl Write for BoringStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl TlsStream for BoringStream {
    fn info(&self) -> &TlsInfo {
        &self.info
    }

    fn shutdown(&mut self) -> io::Result<()> {
        self.inner
            .shutdown()
            .map_err(|e| e.into_io_error().unwrap_or_else(io::Error::other))?;
        self.inner.flush()
    }
}
