//! tlsql's TLS backend on OpenSSL: the `openssl` crate against the system library (3.0 on
//! Debian 12).
//!
//! The context is built from the DER that `tlsql_tls_api::cert` already read, never from
//! files. Versions and ciphers are set explicitly (OpenSSL's defaults are neither the
//! configuration nor the same as the other backends'), every configured cipher name must be
//! one OpenSSL knows, and resumption state (session cache, ticket keys, session-id context)
//! belongs to one context, so a reload never resumes an old context's sessions.
//!
//! Two calls have no safe binding: `SSL_CTX_set_timeout` (session lifetime), declared here and
//! wrapped in [`set_session_timeout`], and `SSL_get_negotiated_group`, wrapped in
//! [`negotiated_group`]; they are the crate's only `unsafe`.
#![deny(missing_docs)]

mod hello;

use std::fmt;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use foreign_types::ForeignTypeRef;
use openssl::bn::BigNum;
use openssl::dh::Dh;
use openssl::ec::EcKey;
use openssl::error::ErrorStack;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use openssl::rsa::Rsa;
use openssl::ssl::{
    self, ErrorCode, HandshakeError, Ssl, SslContext, SslContextBuilder, SslMethod, SslOptions,
    SslRef, SslSessionCacheMode, SslStream, SslVerifyMode, SslVersion,
};
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::{X509, X509VerifyResult};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tlsql_tls_api::cipher::{CipherSuite, SuiteKind};
use tlsql_tls_api::group;
use tlsql_tls_api::{
    ClientCa, Identity, KxGroup, SessionStats, TlsContext, TlsError, TlsInfo, TlsSettings,
    TlsStream, TlsVersion, Transport,
};

use crate::hello::{Offer, Recording};

/// The backend's name, as `security.tls-backend` and `Tls_backend` spell it.
pub const NAME: &str = "openssl";

/// Builds a server context from `settings`.
///
/// Fails with [`TlsError::KeyMismatch`] when the key does not belong to the leaf certificate,
/// [`TlsError::Unsupported`] for a cipher OpenSSL does not know, [`TlsError::BadFile`] for a
/// certificate or key OpenSSL refuses, and [`TlsError::Library`] when no cipher suite is left
/// for any allowed version or OpenSSL rejects the configuration otherwise.
pub fn build(settings: &TlsSettings) -> Result<Arc<dyn TlsContext>, TlsError> {
    let suites = settings.effective_ciphers()?;
    let versions = allowed_versions(settings, &suites)?;
    let mut builder = SslContextBuilder::new(SslMethod::tls_server()).map_err(library)?;
    // Renegotiation is refused because the connection report is fixed when the handshake
    // ends (and rustls and BoringSSL servers never renegotiate either).
    builder.set_options(SslOptions::CIPHER_SERVER_PREFERENCE | SslOptions::NO_RENEGOTIATION);
    set_versions(&mut builder, &versions)?;
    set_ciphers(&mut builder, &suites)?;
    let groups = group::configure(NAME, &settings.groups, settings.groups_strict, |list| {
        builder.set_groups_list(list).is_ok()
    })?;
    set_identity(&mut builder, &settings.identity)?;
    set_client_verification(&mut builder, settings.client_ca.as_ref())?;
    set_resumption(&mut builder, settings.session_cache)?;
    set_session_timeout(&mut builder, settings.session_timeout);
    Ok(Arc::new(OpensslContext {
        ctx: builder.build(),
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
        .map_err(library)?;
    if oldest < TlsVersion::Tls12 {
        // Debian builds OpenSSL with security level 2, and OpenSSL 3 forbids TLS 1.0/1.1 (their
        // MD5+SHA-1 handshake signatures) at any level above 0.
        builder.set_security_level(0);
    }
    Ok(())
}

fn ssl_version(version: TlsVersion) -> SslVersion {
    match version {
        TlsVersion::Tls10 => SslVersion::TLS1,
        TlsVersion::Tls11 => SslVersion::TLS1_1,
        TlsVersion::Tls12 => SslVersion::TLS1_2,
        TlsVersion::Tls13 => SslVersion::TLS1_3,
    }
}

/// Configures exactly `suites`, TLS 1.3 ones through the TLS 1.3 list.
fn set_ciphers(builder: &mut SslContextBuilder, suites: &[&CipherSuite]) -> Result<(), TlsError> {
    let (tls13, older): (Vec<&CipherSuite>, Vec<&CipherSuite>) =
        suites.iter().partition(|s| s.kind == SuiteKind::Tls13);
    // OpenSSL skips names it does not know as long as one other name matches. Setting each
    // name alone first makes an unknown one an error that names it.
    for suite in &tls13 {
        builder
            .set_ciphersuites(suite.openssl)
            .map_err(|_| cannot_negotiate(suite, "security.tls-ciphersuites"))?;
    }
    for suite in &older {
        builder
            .set_cipher_list(suite.openssl)
            .map_err(|_| cannot_negotiate(suite, "security.ssl-cipher"))?;
    }
    // An empty TLS 1.3 list is allowed and disables TLS 1.3 suites; the versions were
    // already cut to what the lists allow.
    builder.set_ciphersuites(&join(&tls13)).map_err(library)?;
    if !older.is_empty() {
        builder.set_cipher_list(&join(&older)).map_err(library)?;
    }
    if older.iter().any(|s| s.openssl.starts_with("DHE-")) {
        // Without a group OpenSSL never selects DHE suites; use the well-known 2048-bit MODP
        // group of RFC 3526 §3 rather than generating one.
        let dh = BigNum::get_rfc3526_prime_2048()
            .and_then(|p| Dh::from_pqg(p, None, BigNum::from_u32(2)?))
            .map_err(library)?;
        builder.set_tmp_dh(&dh).map_err(library)?;
    }
    Ok(())
}

fn join(suites: &[&CipherSuite]) -> String {
    suites
        .iter()
        .map(|s| s.openssl)
        .collect::<Vec<_>>()
        .join(":")
}

fn cannot_negotiate(suite: &CipherSuite, key: &str) -> TlsError {
    TlsError::Unsupported {
        backend: NAME,
        what: format!("cannot negotiate the cipher {}", suite.openssl),
        alternative: format!("remove {} from {key}", suite.openssl),
    }
}

fn set_identity(builder: &mut SslContextBuilder, identity: &Identity) -> Result<(), TlsError> {
    let bad_cert = |e: ErrorStack| TlsError::BadFile {
        path: identity.cert_path.clone(),
        reason: format!("OpenSSL cannot use the certificate: {}", describe(&e)),
    };
    let key = private_key(&identity.key).map_err(|reason| TlsError::BadFile {
        path: identity.key_path.clone(),
        reason,
    })?;
    // The key goes in first: a certificate installed after it replaces a key of the same
    // type that does not match, and check_private_key then reports the mismatch.
    builder
        .set_private_key(&key)
        .map_err(|e| TlsError::BadFile {
            path: identity.key_path.clone(),
            reason: format!("OpenSSL cannot use the private key: {}", describe(&e)),
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
        _ => return Err("OpenSSL cannot read this private key format".to_string()),
    };
    parsed.map_err(|e| format!("OpenSSL cannot read the private key: {}", describe(&e)))
}

/// Requests a client certificate and verifies the one presented; none is fine (MySQL's
/// `Ssl_verify_mode` 5).
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
        reason: format!("OpenSSL cannot use the CA certificate: {}", describe(&e)),
    };
    for der in &ca.certs {
        let cert = X509::from_der(der).map_err(bad_ca)?;
        // Also named in the certificate request as an acceptable issuer.
        builder.add_client_ca(&cert).map_err(bad_ca)?;
        builder.cert_store_mut().add_cert(cert).map_err(bad_ca)?;
    }
    // Every certificate in ssl-ca is a trust anchor, an intermediate CA included, as it is on
    // rustls; by default OpenSSL would insist on a chain up to a self-signed root.
    builder
        .cert_store_mut()
        .set_flags(X509VerifyFlags::PARTIAL_CHAIN)
        .map_err(library)?;
    builder.set_verify(SslVerifyMode::PEER | SslVerifyMode::CLIENT_ONCE);
    Ok(())
}

/// How long a session (id or ticket) stays resumable: `ssl-session-cache-timeout`.
#[allow(unsafe_code)]
fn set_session_timeout(builder: &mut SslContextBuilder, timeout: std::time::Duration) {
    unsafe extern "C" {
        // libssl: `long SSL_CTX_set_timeout(SSL_CTX *ctx, long t)`; returns the old value.
        fn SSL_CTX_set_timeout(
            ctx: *mut openssl_sys::SSL_CTX,
            t: std::ffi::c_long,
        ) -> std::ffi::c_long;
    }
    let seconds = std::ffi::c_long::try_from(timeout.as_secs()).unwrap_or(std::ffi::c_long::MAX);
    // SAFETY: the builder owns a valid SSL_CTX for the whole call, and the function only
    // stores the number in it.
    unsafe {
        SSL_CTX_set_timeout(builder.as_ptr(), seconds);
    }
}

fn set_resumption(builder: &mut SslContextBuilder, enabled: bool) -> Result<(), TlsError> {
    // A random session-id context per context: OpenSSL refuses to resume without one when
    // client certificates are requested, and sessions (ids and tickets) of any other context
    // carry a different one and are never resumed here. Ticket keys are per context already.
    let mut sid_ctx = [0; 32];
    openssl::rand::rand_bytes(&mut sid_ctx).map_err(library)?;
    builder.set_session_id_context(&sid_ctx).map_err(library)?;
    if enabled {
        builder.set_session_cache_mode(SslSessionCacheMode::SERVER);
    } else {
        builder.set_session_cache_mode(SslSessionCacheMode::OFF);
        builder.set_options(SslOptions::NO_TICKET);
        builder.set_num_tickets(0).map_err(library)?;
    }
    Ok(())
}

/// Turns an OpenSSL error queue into `function: reason; …`.
fn describe(stack: &ErrorStack) -> String {
    let parts: Vec<String> = stack
        .errors()
        .iter()
        .map(|e| match (e.function(), e.reason()) {
            (Some(function), Some(reason)) => format!("{function}: {reason}"),
            (None, Some(reason)) => reason.to_string(),
            _ => e.to_string(),
        })
        .collect();
    if parts.is_empty() {
        "unknown OpenSSL error".to_string()
    } else {
        parts.join("; ")
    }
}

fn library(e: ErrorStack) -> TlsError {
    TlsError::Library {
        backend: NAME,
        message: describe(&e),
    }
}

/// A built server context: shared by every connection it accepts, one per configuration.
struct OpensslContext {
    ctx: SslContext,
    cipher_names: Vec<String>,
    versions: Vec<TlsVersion>,
    groups: Vec<&'static KxGroup>,
    verifies_clients: bool,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl fmt::Debug for OpensslContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpensslContext")
            .field("cipher_names", &self.cipher_names)
            .field("versions", &self.versions)
            .field("groups", &self.groups)
            .field("verifies_clients", &self.verifies_clients)
            .finish_non_exhaustive()
    }
}

impl OpensslContext {
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
            "OpenSSL negotiated an unexpected protocol version {}",
            ssl.version_str()
        ))
    })?;
    let cipher = ssl
        .current_cipher()
        .ok_or_else(|| TlsError::Handshake("OpenSSL reports no cipher".to_string()))?
        .name()
        .to_string();
    // A resumed session keeps the certificate and verify result it was created with.
    let peer_certificate = match ssl.peer_certificate() {
        Some(cert) if ssl.verify_result() == X509VerifyResult::OK => {
            Some(CertificateDer::from(cert.to_der().map_err(library)?))
        }
        _ => None,
    };
    Ok(TlsInfo {
        version,
        cipher,
        group: negotiated_group(ssl),
        resumed: ssl.session_reused(),
        peer_certificate,
    })
}

/// The group of the handshake's key exchange: `SSL_get_negotiated_group`, which the `openssl`
/// crate does not bind (its `peer_tmp_key` is gone once a TLS 1.2 exchange is done). None
/// when there was no exchange (a resumed TLS 1.2 session) or OpenSSL names a group tlsql
/// does not know.
#[allow(unsafe_code)]
fn negotiated_group(ssl: &SslRef) -> Option<&'static KxGroup> {
    // ssl.h 3.0: `#define SSL_get_negotiated_group(s) SSL_ctrl(s, SSL_CTRL_GET_NEGOTIATED_GROUP, 0, NULL)`.
    const SSL_CTRL_GET_NEGOTIATED_GROUP: std::ffi::c_int = 134;
    // SAFETY: `ssl` is a live SSL for the whole call; this control reads one integer from it
    // and writes nothing through the null argument.
    let nid = unsafe {
        openssl_sys::SSL_ctrl(
            ssl.as_ptr(),
            SSL_CTRL_GET_NEGOTIATED_GROUP,
            0,
            std::ptr::null_mut(),
        )
    };
    let nid = std::ffi::c_int::try_from(nid).ok()?;
    // The key types of X25519 and X448 are their NIDs (the `openssl` crate has no Nid for them).
    let (_, name) = [
        (Id::X25519.as_raw(), "X25519"),
        (Id::X448.as_raw(), "X448"),
        (Nid::X9_62_PRIME256V1.as_raw(), "P-256"),
        (Nid::SECP384R1.as_raw(), "P-384"),
        (Nid::SECP521R1.as_raw(), "P-521"),
    ]
    .into_iter()
    .find(|(known, _)| *known == nid)?;
    group::lookup(name)
}

/// The most useful reason for a failed handshake: a certificate that did not verify, the
/// socket, the client hanging up, or OpenSSL's own reasons.
fn handshake_failure(ssl: &SslRef, error: &ssl::Error, client_closed: bool) -> TlsError {
    let verify = ssl.verify_result();
    TlsError::Handshake(match (error.io_error(), error.ssl_error()) {
        _ if verify != X509VerifyResult::OK => format!(
            "the client certificate did not verify: {}",
            verify.error_string()
        ),
        (Some(e), _) => match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                "the client did not complete the handshake in time".to_string()
            }
            _ => format!("I/O error: {e}"),
        },
        // OpenSSL 3 reports the hang-up as an "unexpected eof while reading" error.
        _ if client_closed => "the client closed the connection during the handshake".to_string(),
        (None, Some(stack)) => {
            let mut reasons: Vec<&str> = stack.errors().iter().filter_map(|e| e.reason()).collect();
            reasons.dedup();
            if reasons.is_empty() {
                describe(stack)
            } else {
                reasons.join("; ")
            }
        }
        (None, None) => error.to_string(),
    })
}

impl TlsContext for OpensslContext {
    fn backend(&self) -> &'static str {
        NAME
    }

    fn accept(&self, io: Box<dyn Transport>) -> Result<Box<dyn TlsStream>, TlsError> {
        let ssl = Ssl::new(&self.ctx).map_err(library)?;
        match ssl.accept(Recording::new(io)) {
            Ok(mut stream) => {
                let offer = stream.get_mut().take_offer();
                let info = report(stream.ssl())?;
                self.count(&info, offer);
                Ok(Box::new(OpensslStream {
                    inner: stream,
                    info,
                }))
            }
            // A blocking socket only "would block" when its timeout expired.
            Err(HandshakeError::Failure(mid) | HandshakeError::WouldBlock(mid)) => Err(
                handshake_failure(mid.ssl(), mid.error(), mid.get_ref().saw_eof()),
            ),
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
struct OpensslStream {
    inner: SslStream<Recording>,
    info: TlsInfo,
}

impl Read for OpensslStream {
    /// Returns 0 after the client's close_notify; a client that drops the connection without
    /// one is an `UnexpectedEof` error (as on the other backends).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.ssl_read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.code() == ErrorCode::ZERO_RETURN => return Ok(0),
                // A record that carried no application data (a key update, say).
                Err(e) if e.code() == ErrorCode::WANT_READ && e.io_error().is_none() => {}
                Err(_) if self.inner.get_ref().saw_eof() => {
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

impl Write for OpensslStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl TlsStream for OpensslStream {
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
