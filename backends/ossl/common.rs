//! What the server and client sides share: certificates and keys into the library, the
//! connection report, failure classification, and the established stream.

use std::io::{self, Read, Write};

use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tlsql_tls_api::failure::{self, HandshakeFailure, Peer, Said};
use tlsql_tls_api::{Identity, TlsError, TlsInfo, TlsStream, TlsVersion};

use crate::NAME;
use crate::lib::ec::EcKey;
use crate::lib::error::ErrorStack;
use crate::lib::pkey::{PKey, Private};
use crate::lib::rsa::Rsa;
use crate::lib::ssl::{
    self, ErrorCode, HandshakeError, SslContextBuilder, SslRef, SslStream, SslVersion,
};
use crate::lib::x509::X509;
use crate::shim::{self, Io, LIBRARY};

pub(crate) fn library(e: ErrorStack) -> TlsError {
    TlsError::Library {
        backend: NAME,
        message: shim::describe(&e),
    }
}

fn said(text: &str) -> Said<'_> {
    Said {
        backend: NAME,
        text,
    }
}

pub(crate) fn ssl_version(version: TlsVersion) -> SslVersion {
    match version {
        TlsVersion::Tls10 => SslVersion::TLS1,
        TlsVersion::Tls11 => SslVersion::TLS1_1,
        TlsVersion::Tls12 => SslVersion::TLS1_2,
        TlsVersion::Tls13 => SslVersion::TLS1_3,
    }
}

/// Sets the range `versions` spans (oldest first).
pub(crate) fn set_versions(
    builder: &mut SslContextBuilder,
    versions: &[TlsVersion],
) -> Result<(), TlsError> {
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
        shim::allow_legacy_versions(builder);
    }
    Ok(())
}

/// Installs a certificate chain and its key (a server's identity, or a client certificate).
pub(crate) fn set_identity(
    builder: &mut SslContextBuilder,
    identity: &Identity,
) -> Result<(), TlsError> {
    let bad_cert = |e: ErrorStack| TlsError::BadFile {
        path: identity.cert_path.clone(),
        reason: format!(
            "{LIBRARY} cannot use the certificate: {}",
            shim::describe(&e)
        ),
    };
    let key = private_key(&identity.key).map_err(|reason| TlsError::BadFile {
        path: identity.key_path.clone(),
        reason,
    })?;
    // The key goes in first: a certificate installed after it drops (or replaces) a key that
    // does not match, and check_private_key then reports the mismatch.
    builder
        .set_private_key(&key)
        .map_err(|e| TlsError::BadFile {
            path: identity.key_path.clone(),
            reason: format!(
                "{LIBRARY} cannot use the private key: {}",
                shim::describe(&e)
            ),
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
        _ => return Err(format!("{LIBRARY} cannot read this private key format")),
    };
    parsed.map_err(|e| {
        format!(
            "{LIBRARY} cannot read the private key: {}",
            shim::describe(&e)
        )
    })
}

/// Makes every certificate of `certs` a trust anchor of the context's store, an intermediate
/// CA included (as it is on rustls; by default the library would insist on a chain up to a
/// self-signed root). `bad` turns a certificate the library refuses into the caller's error.
pub(crate) fn trust(
    builder: &mut SslContextBuilder,
    certs: &[CertificateDer<'static>],
    bad: impl Fn(ErrorStack) -> TlsError,
) -> Result<Vec<X509>, TlsError> {
    let mut anchors = Vec::new();
    for der in certs {
        let cert = X509::from_der(der).map_err(&bad)?;
        shim::add_trusted(builder, &cert).map_err(&bad)?;
        anchors.push(cert);
    }
    shim::trust_partial_chains(builder).map_err(library)?;
    Ok(anchors)
}

fn negotiated_version(ssl: &SslRef) -> Option<TlsVersion> {
    let version = ssl.version2()?;
    TlsVersion::ALL
        .into_iter()
        .find(|v| ssl_version(*v) == version)
}

/// The connection report. `peer_certificate` is the peer's leaf: on a server only if it
/// verified (`require_verified`), on a connector always (it verified, or verification is off).
pub(crate) fn report(ssl: &SslRef, require_verified: bool) -> Result<TlsInfo, TlsError> {
    let version = negotiated_version(ssl).ok_or_else(|| {
        failure::other(format!(
            "{LIBRARY} negotiated an unexpected protocol version {}",
            ssl.version_str()
        ))
    })?;
    let cipher = ssl
        .current_cipher()
        .ok_or_else(|| failure::other(format!("{LIBRARY} reports no cipher")))?
        .name()
        .to_string();
    // A resumed session keeps the certificate and verify result it was created with.
    let peer_certificate = match ssl.peer_certificate() {
        Some(cert) if !require_verified || shim::verify_failure(ssl).is_none() => {
            Some(CertificateDer::from(cert.to_der().map_err(library)?))
        }
        _ => None,
    };
    Ok(TlsInfo {
        version,
        cipher,
        group: shim::negotiated_group(ssl),
        resumed: ssl.session_reused(),
        peer_certificate,
    })
}

/// What went wrong in a handshake that did not complete.
pub(crate) fn handshake_error(
    error: HandshakeError<Io>,
    peer: Peer,
    verifying: bool,
    name: Option<&str>,
    versions: &[TlsVersion],
) -> TlsError {
    match error {
        // A blocking socket only "would block" when its timeout expired.
        HandshakeError::Failure(mid) | HandshakeError::WouldBlock(mid) => {
            let closed = shim::closed_during_handshake(mid.get_ref(), mid.error());
            let verifying = verifying.then_some(name);
            handshake_failure(mid.ssl(), mid.error(), closed, peer, verifying, versions)
        }
        HandshakeError::SetupFailure(e) => library(e),
    }
}

/// Why a handshake failed, in the words every backend uses: the peer's certificate (with what
/// is wrong with it), the socket, the peer hanging up, or the library's reasons. `verifying`
/// is `None` when the peer's certificate is not checked (a connector with verification off
/// ignores what the library found wrong with it), else the server name a connector checked;
/// `versions` are this side's.
fn handshake_failure(
    ssl: &SslRef,
    error: &ssl::Error,
    closed: bool,
    peer: Peer,
    verifying: Option<Option<&str>>,
    versions: &[TlsVersion],
) -> TlsError {
    if let (Some((code, text)), Some(name)) = (shim::verify_failure(ssl), verifying) {
        let leaf = match peer {
            Peer::Server => ssl
                .peer_cert_chain()
                .and_then(|chain| chain.iter().next())
                .and_then(|cert| cert.to_der().ok()),
            Peer::Client => None,
        };
        return failure::certificate_refused(
            peer,
            HandshakeFailure::from_x509_verify_code(code),
            leaf.as_deref(),
            name,
            said(text),
        );
    }
    if let Some(e) = error.io_error() {
        return match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => failure::timed_out(peer),
            _ => failure::other(format!("I/O error: {e}")),
        };
    }
    if closed {
        return failure::peer_closed(peer);
    }
    let Some(stack) = error.ssl_error() else {
        return failure::other(error.to_string());
    };
    let mut reasons = shim::reasons(stack);
    reasons.dedup();
    let text = if reasons.is_empty() {
        shim::describe(stack)
    } else {
        reasons.join("; ")
    };
    let kind = reasons
        .iter()
        .find_map(|r| HandshakeFailure::from_openssl_reason(r));
    match kind {
        Some(HandshakeFailure::Protocol)
            if reasons.iter().any(|r| {
                r.contains("unsupported protocol")
                    || r.contains("protocol version")
                    || r.contains("version too")
            }) =>
        {
            failure::no_common_version(peer, versions, said(&text))
        }
        Some(kind) => failure::handshake_failed(peer, kind, said(&text)),
        None => failure::other(text),
    }
}

/// An established connection. `SslStream` reassembles records and splits large writes, so
/// any buffer size works in both directions.
pub(crate) struct Stream {
    pub(crate) inner: SslStream<Io>,
    pub(crate) info: TlsInfo,
}

impl Read for Stream {
    /// Returns 0 after the peer's close_notify; a peer that drops the connection without one
    /// is an `UnexpectedEof` error (as on the other backends).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.ssl_read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.code() == ErrorCode::ZERO_RETURN => return Ok(0),
                // A record that carried no application data (a key update, a ticket).
                Err(e) if e.code() == ErrorCode::WANT_READ && e.io_error().is_none() => {}
                Err(e) if shim::closed_without_notify(self.inner.get_ref(), &e) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the peer closed the connection without close_notify",
                    ));
                }
                Err(e) => return Err(e.into_io_error().unwrap_or_else(io::Error::other)),
            }
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl TlsStream for Stream {
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
