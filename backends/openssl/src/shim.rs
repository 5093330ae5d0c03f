//! What OpenSSL does differently from BoringSSL, for the code shared in `backends/ossl/`.

use std::time::Duration;

use foreign_types::ForeignTypeRef;
use tlsql_tls_api::cipher::{CipherSuite, SuiteKind};
use tlsql_tls_api::group;
use tlsql_tls_api::resumption::Offer;
use tlsql_tls_api::{KxGroup, TlsError, TlsSettings, Transport};

use crate::common::library;
use crate::hello::Recording;
use crate::lib::bn::BigNum;
use crate::lib::dh::Dh;
use crate::lib::error::ErrorStack;
use crate::lib::nid::Nid;
use crate::lib::pkey::Id;
use crate::lib::ssl::{
    self, SslContextBuilder, SslMethod, SslOptions, SslRef, SslSessionRef, SslStream,
    SslVerifyMode, SslVersion,
};
use crate::lib::x509::verify::X509VerifyFlags;
use crate::lib::x509::{X509, X509VerifyResult};
use crate::{CAPABILITIES, NAME};

/// The library's name in messages.
pub(crate) const LIBRARY: &str = "OpenSSL";

/// The transport under a connection: the socket, recording the ClientHello and noticing EOF.
pub(crate) type Io = Recording;

pub(crate) fn server_io(io: Box<dyn Transport>) -> Io {
    Recording::new(io, true)
}

pub(crate) fn client_io(io: Box<dyn Transport>) -> Io {
    Recording::new(io, false)
}

/// Requesting a client certificate once (OpenSSL could ask again on renegotiation).
pub(crate) const VERIFY_CLIENTS: SslVerifyMode =
    SslVerifyMode::PEER.union(SslVerifyMode::CLIENT_ONCE);

pub(crate) fn server_builder() -> Result<SslContextBuilder, ErrorStack> {
    let mut builder = SslContextBuilder::new(SslMethod::tls_server())?;
    // Renegotiation is refused because the connection report is fixed when the handshake
    // ends (and rustls and BoringSSL servers never renegotiate either).
    builder.set_options(SslOptions::CIPHER_SERVER_PREFERENCE | SslOptions::NO_RENEGOTIATION);
    Ok(builder)
}

pub(crate) fn client_builder() -> Result<SslContextBuilder, ErrorStack> {
    let mut builder = SslContextBuilder::new(SslMethod::tls_client())?;
    builder.set_options(SslOptions::NO_RENEGOTIATION);
    Ok(builder)
}

/// Debian builds OpenSSL with security level 2, and OpenSSL 3 forbids TLS 1.0/1.1 (their
/// MD5+SHA-1 handshake signatures) at any level above 0.
pub(crate) fn allow_legacy_versions(builder: &mut SslContextBuilder) {
    builder.set_security_level(0);
}

/// OpenSSL can do every suite tlsql knows ([`CAPABILITIES`]): nothing to refuse before the
/// library is asked.
pub(crate) fn refuse(settings: &TlsSettings) -> Result<(), TlsError> {
    match settings.unsupported_suite(&CAPABILITIES)? {
        Some((suite, key)) => Err(cannot_negotiate(suite, key)),
        None => Ok(()),
    }
}

/// The same for what a connector offers.
pub(crate) fn refuse_offer(suites: &[&CipherSuite]) -> Result<(), TlsError> {
    match suites.iter().find(|s| !CAPABILITIES.can_negotiate(s)) {
        Some(suite) => Err(cannot_negotiate(suite, "the offered suites")),
        None => Ok(()),
    }
}

/// A connector's TLS 1.3 preference: OpenSSL takes the order from the suite list itself
/// ([`set_ciphers`]).
pub(crate) fn prefer_tls13(_: &mut SslContextBuilder, _: &[&CipherSuite]) -> Result<(), TlsError> {
    Ok(())
}

/// Configures exactly `suites`, TLS 1.3 ones through the TLS 1.3 list.
pub(crate) fn set_ciphers(
    builder: &mut SslContextBuilder,
    suites: &[&CipherSuite],
) -> Result<(), TlsError> {
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

pub(crate) fn set_groups(builder: &mut SslContextBuilder, list: &str) -> bool {
    builder.set_groups_list(list).is_ok()
}

pub(crate) fn add_trusted(builder: &mut SslContextBuilder, cert: &X509) -> Result<(), ErrorStack> {
    builder.cert_store_mut().add_cert(cert.clone())
}

pub(crate) fn trust_partial_chains(builder: &mut SslContextBuilder) -> Result<(), ErrorStack> {
    builder
        .cert_store_mut()
        .set_flags(X509VerifyFlags::PARTIAL_CHAIN)
}

pub(crate) fn no_tls13_tickets(builder: &mut SslContextBuilder) -> Result<(), ErrorStack> {
    builder.set_num_tickets(0)
}

/// How long a session (id or ticket) stays resumable: `ssl-session-cache-timeout`.
#[allow(unsafe_code)]
pub(crate) fn set_session_timeout(builder: &mut SslContextBuilder, timeout: Duration) {
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

/// Where a server connection's resumption offer comes from: the recorded ClientHello.
pub(crate) struct OfferHook;

impl OfferHook {
    pub(crate) fn install(_: &mut SslContextBuilder) -> Result<Self, ErrorStack> {
        Ok(Self)
    }

    pub(crate) fn offer(&self, stream: &mut SslStream<Io>) -> Offer {
        stream.get_mut().take_offer()
    }
}

/// Whether a client offers `session` at Unix time `now`. OpenSSL leaves out a session whose
/// age in whole seconds exceeds its lifetime: for TLS 1.3 the ticket's lifetime hint, which
/// the `openssl` crate does not bind (hence the declaration here).
#[allow(unsafe_code)]
pub(crate) fn still_offered(session: &SslSessionRef, now: u64) -> bool {
    unsafe extern "C" {
        // libssl: `unsigned long SSL_SESSION_get_ticket_lifetime_hint(const SSL_SESSION *s)`.
        fn SSL_SESSION_get_ticket_lifetime_hint(
            s: *const openssl_sys::SSL_SESSION,
        ) -> std::ffi::c_ulong;
    }
    let lifetime = if session.protocol_version() == SslVersion::TLS1_3 {
        // SAFETY: `session` is a live SSL_SESSION for the whole call; the function reads one
        // field of it.
        i128::from(unsafe { SSL_SESSION_get_ticket_lifetime_hint(session.as_ptr()) })
    } else {
        i128::from(session.timeout())
    };
    let age = i128::from(now) - i128::from(session.time());
    (0..).contains(&age) && age <= lifetime
}

/// The code and text of a failed certificate verification.
pub(crate) fn verify_failure(ssl: &SslRef) -> Option<(i32, &'static str)> {
    let result = ssl.verify_result();
    (result != X509VerifyResult::OK).then(|| (result.as_raw(), result.error_string()))
}

/// OpenSSL 3 reports a hang-up as an "unexpected eof while reading" error; the transport saw it.
pub(crate) fn closed_during_handshake(io: &Io, _: &ssl::Error) -> bool {
    io.saw_eof()
}

pub(crate) fn closed_without_notify(io: &Io, _: &ssl::Error) -> bool {
    io.saw_eof()
}

/// Turns an OpenSSL error queue into `function: reason; …`.
pub(crate) fn describe(stack: &ErrorStack) -> String {
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

/// The reasons of an error queue, as OpenSSL words them (`no shared cipher`).
pub(crate) fn reasons(stack: &ErrorStack) -> Vec<String> {
    stack
        .errors()
        .iter()
        .filter_map(|e| e.reason())
        .map(str::to_string)
        .collect()
}

/// The group of the handshake's key exchange: `SSL_get_negotiated_group`, which the `openssl`
/// crate does not bind (its `peer_tmp_key` is gone once a TLS 1.2 exchange is done). None
/// when there was no exchange (a resumed TLS 1.2 session) or OpenSSL names a group tlsql
/// does not know.
#[allow(unsafe_code)]
pub(crate) fn negotiated_group(ssl: &SslRef) -> Option<&'static KxGroup> {
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
