//! What BoringSSL does differently from OpenSSL, for the code shared in `backends/ossl/`.

use std::time::Duration;

use tlsql_tls_api::cipher::{CipherSuite, SuiteKind};
use tlsql_tls_api::group;
use tlsql_tls_api::resumption::Offer;
use tlsql_tls_api::{KxGroup, TlsError, TlsSettings, Transport};

use crate::common::library;
use crate::lib::error::ErrorStack;
use crate::lib::ex_data::Index;
use crate::lib::ssl::{
    self, ErrorCode, Ssl, SslContextBuilder, SslMethod, SslOptions, SslRef, SslSessionRef,
    SslStream, SslVerifyMode,
};
use crate::lib::x509::verify::X509VerifyFlags;
use crate::lib::x509::{X509, X509VerifyError};
use crate::{CAPABILITIES, NAME, TLS13_SUITES};

/// The library's name in messages.
pub(crate) const LIBRARY: &str = "BoringSSL";

/// The transport under a connection: the socket itself (BoringSSL tells a hang-up apart).
pub(crate) type Io = Box<dyn Transport>;

pub(crate) fn server_io(io: Box<dyn Transport>) -> Io {
    io
}

pub(crate) fn client_io(io: Box<dyn Transport>) -> Io {
    io
}

/// BoringSSL has no `SSL_VERIFY_CLIENT_ONCE`: it never renegotiates or asks for a certificate
/// after the handshake, so asking once is all it does anyway.
pub(crate) const VERIFY_CLIENTS: SslVerifyMode = SslVerifyMode::PEER;

pub(crate) fn server_builder() -> Result<SslContextBuilder, ErrorStack> {
    let mut builder = SslContextBuilder::new(SslMethod::tls())?;
    builder.set_options(SslOptions::CIPHER_SERVER_PREFERENCE);
    Ok(builder)
}

pub(crate) fn client_builder() -> Result<SslContextBuilder, ErrorStack> {
    SslContextBuilder::new(SslMethod::tls())
}

/// BoringSSL needs nothing more for TLS 1.0/1.1 than the version range.
pub(crate) fn allow_legacy_versions(_: &mut SslContextBuilder) {}

/// Refuses what [`CAPABILITIES`] says BoringSSL cannot do: a TLS 1.3 list other than its fixed
/// set (or none), and the TLS ≤ 1.2 suites it dropped.
pub(crate) fn refuse(settings: &TlsSettings) -> Result<(), TlsError> {
    let tls13: Vec<&str> = settings.ciphersuites.iter().map(String::as_str).collect();
    refuse_tls13(&tls13)?;
    match settings.unsupported_suite(&CAPABILITIES)? {
        Some((suite, _)) => Err(cannot_negotiate(suite)),
        None => Ok(()),
    }
}

/// The same for what a connector offers.
pub(crate) fn refuse_offer(suites: &[&CipherSuite]) -> Result<(), TlsError> {
    let tls13: Vec<&str> = suites
        .iter()
        .filter(|s| s.kind == SuiteKind::Tls13)
        .map(|s| s.openssl)
        .collect();
    refuse_tls13(&tls13)?;
    match suites.iter().find(|s| !CAPABILITIES.can_negotiate(s)) {
        Some(suite) => Err(cannot_negotiate(suite)),
        None => Ok(()),
    }
}

/// No TLS 1.3 suite at all is honoured by the version range (TLS 1.3 is then off).
fn refuse_tls13(tls13: &[&str]) -> Result<(), TlsError> {
    let fixed_set =
        tls13.len() == TLS13_SUITES.len() && TLS13_SUITES.iter().all(|n| tls13.contains(n));
    if tls13.is_empty() || fixed_set {
        return Ok(());
    }
    Err(TlsError::Unsupported {
        backend: NAME,
        what: format!(
            "cannot restrict TLS 1.3 cipher suites (it always offers {})",
            TLS13_SUITES.join(", ")
        ),
        alternative: "leave security.tls-ciphersuites at its default, or use the rustls or \
                      openssl backend"
            .to_string(),
    })
}

fn cannot_negotiate(suite: &CipherSuite) -> TlsError {
    TlsError::Unsupported {
        backend: NAME,
        what: format!("cannot negotiate the cipher {}", suite.openssl),
        alternative: format!(
            "remove {} from security.ssl-cipher, or use the openssl backend",
            suite.openssl
        ),
    }
}

/// Configures the TLS ≤ 1.2 suites through the strict cipher list; the TLS 1.3 ones are what
/// BoringSSL does anyway ([`refuse`] checked that).
pub(crate) fn set_ciphers(
    builder: &mut SslContextBuilder,
    suites: &[&CipherSuite],
) -> Result<(), TlsError> {
    let older: Vec<&str> = suites
        .iter()
        .filter(|s| s.kind != SuiteKind::Tls13)
        .map(|s| s.openssl)
        .collect();
    if older.is_empty() {
        // TLS ≤ 1.2 is already outside the version range.
        return Ok(());
    }
    // The strict list fails on a name BoringSSL does not know; trying each name alone first
    // makes the error name it.
    for (name, suite) in older
        .iter()
        .zip(suites.iter().filter(|s| s.kind != SuiteKind::Tls13))
    {
        builder
            .set_strict_cipher_list(name)
            .map_err(|_| cannot_negotiate(suite))?;
    }
    let list = older.join(":");
    builder.set_strict_cipher_list(&list).map_err(library)?;
    // info().cipher reports BoringSSL's names: they must be the configured ones.
    let names: Vec<&str> = builder
        .ciphers()
        .map(|stack| stack.iter().map(|c| c.name()).collect())
        .unwrap_or_default();
    if names != older {
        return Err(TlsError::Library {
            backend: NAME,
            message: format!("cipher list {list} was configured as {}", names.join(":")),
        });
    }
    Ok(())
}

pub(crate) fn set_groups(builder: &mut SslContextBuilder, list: &str) -> bool {
    builder.set_curves_list(list).is_ok()
}

pub(crate) fn add_trusted(builder: &mut SslContextBuilder, cert: &X509) -> Result<(), ErrorStack> {
    builder.cert_store_mut().add_cert(cert)
}

pub(crate) fn trust_partial_chains(builder: &mut SslContextBuilder) -> Result<(), ErrorStack> {
    builder
        .cert_store_mut()
        .try_set_flags(X509VerifyFlags::PARTIAL_CHAIN)
}

/// NO_TICKET also stops TLS 1.3 tickets: BoringSSL resumes TLS 1.3 only statelessly.
pub(crate) fn no_tls13_tickets(_: &mut SslContextBuilder) -> Result<(), ErrorStack> {
    Ok(())
}

/// A connector's TLS 1.3 preference. BoringSSL's TLS 1.3 suites and their order are fixed
/// (AES-128-GCM first on AES hardware), with one lever: its CNSA 2024-07 compliance policy puts
/// AES-256-GCM first. The gateway uses it when a client leg negotiated AES-256-GCM, so that a
/// backend's `REQUIRE CIPHER 'TLS_AES_256_GCM_SHA384'` sees that suite; any other first choice
/// keeps BoringSSL's order.
#[allow(unsafe_code)]
pub(crate) fn prefer_tls13(
    builder: &mut SslContextBuilder,
    suites: &[&CipherSuite],
) -> Result<(), TlsError> {
    let first = suites.iter().find(|s| s.kind == SuiteKind::Tls13);
    if first.is_none_or(|s| s.openssl != "TLS_AES_256_GCM_SHA384") {
        return Ok(());
    }
    // SAFETY: the builder owns a valid SSL_CTX for the whole call; the policy is one of the
    // enum's values and only changes the context's preferences.
    let set = unsafe {
        boring_sys::SSL_CTX_set_compliance_policy(
            builder.as_ptr(),
            boring_sys::ssl_compliance_policy_t::ssl_compliance_policy_cnsa_202407,
        )
    };
    if set == 1 {
        Ok(())
    } else {
        Err(TlsError::Library {
            backend: NAME,
            message: "the CNSA 2024-07 policy (AES-256-GCM first in TLS 1.3) was refused".into(),
        })
    }
}

/// How long a session (id or ticket) stays resumable: `ssl-session-cache-timeout`.
#[allow(unsafe_code)]
pub(crate) fn set_session_timeout(builder: &mut SslContextBuilder, timeout: Duration) {
    let seconds = u32::try_from(timeout.as_secs()).unwrap_or(u32::MAX);
    // SAFETY: the builder owns a valid SSL_CTX for the whole call, and both functions only
    // store the number in it.
    unsafe {
        boring_sys::SSL_CTX_set_timeout(builder.as_ptr(), seconds);
        boring_sys::SSL_CTX_set_session_psk_dhe_timeout(builder.as_ptr(), seconds);
    }
}

/// Where a server connection's resumption offer comes from: the ClientHello callback leaves
/// it in the connection's ex-data.
pub(crate) struct OfferHook(Index<Ssl, Offer>);

impl OfferHook {
    pub(crate) fn install(builder: &mut SslContextBuilder) -> Result<Self, ErrorStack> {
        let index = Ssl::new_ex_index()?;
        builder.set_select_certificate_callback(move |mut hello| {
            let seen = Offer::parse_body(hello.as_bytes()).unwrap_or_default();
            hello.ssl_mut().set_ex_data(index, seen);
            Ok(())
        });
        Ok(Self(index))
    }

    pub(crate) fn offer(&self, stream: &mut SslStream<Io>) -> Offer {
        stream.ssl().ex_data(self.0).copied().unwrap_or_default()
    }
}

/// Whether a client offers `session` at Unix time `now`: BoringSSL leaves out a session once its age in whole seconds reaches its lifetime.
pub(crate) fn still_offered(session: &SslSessionRef, now: u64) -> bool {
    let age = i128::from(now) - i128::from(session.time());
    (0..).contains(&age) && age < i128::from(session.timeout())
}

/// The code and text of a failed certificate verification. BoringSSL reports INVALID_CALL as
/// long as no certificate has been verified.
pub(crate) fn verify_failure(ssl: &SslRef) -> Option<(i32, &'static str)> {
    match ssl.verify_result() {
        Err(e) if e != X509VerifyError::INVALID_CALL => Some((e.as_raw(), e.error_string())),
        _ => None,
    }
}

/// A hang-up is a SYSCALL error with neither an I/O error nor a reason.
pub(crate) fn closed_during_handshake(_: &Io, error: &ssl::Error) -> bool {
    error.code() == ErrorCode::SYSCALL && error.io_error().is_none() && error.ssl_error().is_none()
}

pub(crate) fn closed_without_notify(_: &Io, error: &ssl::Error) -> bool {
    error.code() == ErrorCode::SYSCALL && error.io_error().is_none()
}

/// Turns a BoringSSL error queue into its reasons (see [`reasons`]).
pub(crate) fn describe(stack: &ErrorStack) -> String {
    let mut reasons = reasons(stack);
    reasons.dedup();
    if reasons.is_empty() {
        "unknown BoringSSL error".to_string()
    } else {
        reasons.join("; ")
    }
}

/// BoringSSL names reasons as codes (`NO_SHARED_CIPHER`) and every function
/// `OPENSSL_internal`; lowercased, the codes read as OpenSSL's reasons do (`no shared cipher`).
pub(crate) fn reasons(stack: &ErrorStack) -> Vec<String> {
    stack
        .errors()
        .iter()
        .map(|e| match e.reason() {
            Some(code) => code.to_ascii_lowercase().replace('_', " "),
            None => e.to_string(),
        })
        .collect()
}

pub(crate) fn negotiated_group(ssl: &SslRef) -> Option<&'static KxGroup> {
    ssl.curve().and_then(group::by_iana)
}
