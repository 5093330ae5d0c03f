//! Why a handshake failed, classified the same way on every backend and on both sides (a
//! server accepting a client, a connector reaching a server), with a message that names what
//! was wrong and ends with the library's own words.
//!
//! The C libraries share their vocabulary: OpenSSL's reason strings (`no shared cipher`) and
//! BoringSSL's reason codes lowercased with spaces (`NO_SHARED_CIPHER`) read the same, and both
//! number certificate verification errors as `X509_V_ERR_*`. The classifiers here work on that
//! vocabulary; the rustls backend maps its typed errors itself.

use std::fmt;
use std::net::IpAddr;

use crate::cert::{CertSummary, SubjectAltName, format_time};
use crate::{TlsError, TlsVersion};

/// The kind of a handshake failure, for metrics (`tlsql_tls_handshake_failures_total{reason}`)
/// and for the first words of the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandshakeFailure {
    /// The peer did not complete the handshake in time.
    Timeout,
    /// No common protocol version, or a malformed or unexpected message.
    Protocol,
    /// The peer's certificate was refused for a reason not listed below (or the peer refused
    /// ours as bad).
    BadCertificate,
    /// The peer's certificate does not lead to a trusted CA (or the peer does not trust ours).
    UnknownCa,
    /// No cipher suite (or key exchange group) both sides can use.
    NoSharedCipher,
    /// The server's certificate is not for the name the connector asked for.
    NameMismatch,
    /// The peer's certificate is outside its validity period (or the peer says ours is).
    Expired,
    /// Anything else: the connection dropped, an I/O error, a library error.
    Other,
}

impl HandshakeFailure {
    /// The label: `timeout`, `protocol`, `bad_certificate`, `unknown_ca`, `no_shared_cipher`,
    /// `name_mismatch`, `expired`, `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Protocol => "protocol",
            Self::BadCertificate => "bad_certificate",
            Self::UnknownCa => "unknown_ca",
            Self::NoSharedCipher => "no_shared_cipher",
            Self::NameMismatch => "name_mismatch",
            Self::Expired => "expired",
            Self::Other => "other",
        }
    }

    /// Classifies an OpenSSL reason string (or a BoringSSL reason code lowercased, `_` read
    /// as a space). `None` for reasons that say nothing about the kind of failure.
    pub fn from_openssl_reason(reason: &str) -> Option<Self> {
        let reason = reason.to_ascii_lowercase().replace('_', " ");
        let has = |words: &str| reason.contains(words);
        Some(if has("alert unknown ca") {
            Self::UnknownCa
        } else if has("alert certificate expired") {
            Self::Expired
        } else if has("alert bad certificate")
            || has("alert certificate unknown")
            || has("alert unsupported certificate")
            || has("alert certificate revoked")
            || has("certificate required")
            || has("peer did not return a certificate")
        {
            Self::BadCertificate
        } else if has("no shared cipher")
            || has("no cipher match")
            || has("no shared group")
            || has("no suitable key share")
            || has("alert handshake failure")
            || has("alert insufficient security")
        {
            Self::NoSharedCipher
        } else if has("unsupported protocol")
            || has("wrong version number")
            || has("alert protocol version")
            || has("version too low")
            || has("version too high")
            || has("unknown protocol")
            || has("unexpected message")
            || has("decode error")
            || has("bad packet")
            || has("http request")
        {
            Self::Protocol
        } else {
            return None;
        })
    }

    /// Classifies an `X509_V_ERR_*` code (numbered alike by OpenSSL and BoringSSL).
    pub fn from_x509_verify_code(code: i32) -> Self {
        match code {
            // UNABLE_TO_GET_ISSUER_CERT, DEPTH_ZERO_SELF_SIGNED_CERT, SELF_SIGNED_CERT_IN_CHAIN,
            // UNABLE_TO_GET_ISSUER_CERT_LOCALLY, UNABLE_TO_VERIFY_LEAF_SIGNATURE, CERT_UNTRUSTED
            2 | 18 | 19 | 20 | 21 | 27 => Self::UnknownCa,
            // CERT_NOT_YET_VALID, CERT_HAS_EXPIRED
            9 | 10 => Self::Expired,
            // HOSTNAME_MISMATCH, EMAIL_MISMATCH, IP_ADDRESS_MISMATCH
            62..=64 => Self::NameMismatch,
            _ => Self::BadCertificate,
        }
    }
}

impl fmt::Display for HandshakeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which side's certificate a message is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// A client's certificate, checked by a server context against `ssl-ca`.
    Client,
    /// A server's certificate, checked by a connector against its roots.
    Server,
}

impl Peer {
    fn noun(self) -> &'static str {
        match self {
            Self::Client => "the client",
            Self::Server => "the server",
        }
    }

    fn trusted(self) -> &'static str {
        match self {
            Self::Client => "a CA in ssl-ca",
            Self::Server => "a CA of the configured roots",
        }
    }
}

/// What a library said about a failure: the backend's name and its words.
#[derive(Clone, Copy, Debug)]
pub struct Said<'a> {
    /// The backend (`openssl`).
    pub backend: &'a str,
    /// The library's words (`unable to get local issuer certificate`).
    pub text: &'a str,
}

impl fmt::Display for Said<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} says: {}", self.backend, self.text)
    }
}

/// The failure of a handshake whose peer certificate did not verify. `leaf` (DER) is the
/// refused certificate when the library still has it; `name` the server name a connector
/// checked. The message says exactly what is wrong (the issuer that is not trusted, the names
/// the certificate is for, or the date it expired), then what the library said.
pub fn certificate_refused(
    peer: Peer,
    reason: HandshakeFailure,
    leaf: Option<&[u8]>,
    name: Option<&str>,
    said: Said<'_>,
) -> TlsError {
    let leaf = leaf.and_then(|der| CertSummary::from_der(der).ok());
    let why = match (reason, &leaf) {
        (HandshakeFailure::UnknownCa, Some(leaf)) => format!(
            "it is not signed by {} (its issuer is {})",
            peer.trusted(),
            leaf.issuer
        ),
        (HandshakeFailure::UnknownCa, None) => format!("it is not signed by {}", peer.trusted()),
        (HandshakeFailure::NameMismatch, leaf) => {
            let names = leaf
                .as_ref()
                .map(|l| names_of(&l.subject_alt_names))
                .unwrap_or_default();
            let wanted = name.unwrap_or("the requested name");
            if names.is_empty() {
                format!("it is not for {wanted}")
            } else {
                format!("it is for {names}, not for {wanted}")
            }
        }
        (HandshakeFailure::Expired, Some(leaf)) => {
            if leaf.not_after < time::OffsetDateTime::now_utc() {
                format!("it expired on {}", format_time(leaf.not_after))
            } else {
                format!("it is not valid before {}", format_time(leaf.not_before))
            }
        }
        (HandshakeFailure::Expired, None) => "it is outside its validity period".to_string(),
        _ => "it was refused".to_string(),
    };
    TlsError::Handshake {
        reason,
        message: format!("{} certificate did not verify: {why}; {said}", peer.noun()),
    }
}

fn names_of(sans: &[SubjectAltName]) -> String {
    sans.iter()
        .filter(|n| matches!(n, SubjectAltName::Dns(_) | SubjectAltName::Ip(_)))
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The failure of a handshake for a reason other than the peer's certificate. The message is
/// the same words on every backend for the same `reason`, then what the library said.
pub fn handshake_failed(peer: Peer, reason: HandshakeFailure, said: Said<'_>) -> TlsError {
    let them = peer.noun();
    let what = match (reason, peer) {
        (HandshakeFailure::Timeout, _) => format!("{them} did not complete the handshake in time"),
        (HandshakeFailure::Protocol, _) => format!("{them} broke the TLS protocol"),
        (HandshakeFailure::NoSharedCipher, Peer::Client) => {
            "the client offers none of the configured cipher suites".to_string()
        }
        (HandshakeFailure::NoSharedCipher, Peer::Server) => {
            "the server accepts none of the offered cipher suites".to_string()
        }
        (HandshakeFailure::UnknownCa, _) => {
            format!("{them} does not trust the CA of this side's certificate")
        }
        (HandshakeFailure::BadCertificate, _) => {
            format!("{them} refused this side's certificate, or requires one")
        }
        (HandshakeFailure::Expired, _) => {
            format!("{them} says this side's certificate has expired")
        }
        (HandshakeFailure::NameMismatch, _) => {
            format!("{them} says this side's certificate is for another name")
        }
        (HandshakeFailure::Other, _) => return other(said.text),
    };
    TlsError::Handshake {
        reason,
        message: format!("{what}; {said}"),
    }
}

/// The peers have no protocol version in common; `allowed` are this side's versions.
pub fn no_common_version(peer: Peer, allowed: &[TlsVersion], said: Said<'_>) -> TlsError {
    let allowed: Vec<&str> = allowed.iter().map(|v| v.as_str()).collect();
    let what = match peer {
        Peer::Client => "the client offers no protocol version this server allows",
        Peer::Server => "the server accepts none of the protocol versions offered",
    };
    TlsError::Handshake {
        reason: HandshakeFailure::Protocol,
        message: format!("{what} ({}); {said}", allowed.join(", ")),
    }
}

/// A failure the library describes and nothing classifies: its words alone.
pub fn other(library: impl Into<String>) -> TlsError {
    TlsError::Handshake {
        reason: HandshakeFailure::Other,
        message: library.into(),
    }
}

/// The connection dropped before the handshake finished.
pub fn peer_closed(peer: Peer) -> TlsError {
    other(format!(
        "{} closed the connection during the handshake",
        peer.noun()
    ))
}

/// The socket timed out (a blocking socket only "would block" when its timeout expired).
pub fn timed_out(peer: Peer) -> TlsError {
    TlsError::Handshake {
        reason: HandshakeFailure::Timeout,
        message: format!("{} did not complete the handshake in time", peer.noun()),
    }
}

/// Whether `name` is an IP address (checked against IP SANs, never sent as SNI) rather than a
/// DNS name.
pub fn ip_address(name: &str) -> Option<IpAddr> {
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_and_boringssl_reasons_classify_alike() {
        for (openssl, boring, kind) in [
            (
                "no shared cipher",
                "NO_SHARED_CIPHER",
                HandshakeFailure::NoSharedCipher,
            ),
            (
                "unsupported protocol",
                "UNSUPPORTED_PROTOCOL",
                HandshakeFailure::Protocol,
            ),
            (
                "tlsv1 alert unknown ca",
                "TLSV1_ALERT_UNKNOWN_CA",
                HandshakeFailure::UnknownCa,
            ),
            (
                "sslv3 alert certificate expired",
                "SSLV3_ALERT_CERTIFICATE_EXPIRED",
                HandshakeFailure::Expired,
            ),
        ] {
            assert_eq!(HandshakeFailure::from_openssl_reason(openssl), Some(kind));
            assert_eq!(HandshakeFailure::from_openssl_reason(boring), Some(kind));
        }
        assert_eq!(
            HandshakeFailure::from_openssl_reason("internal error"),
            None
        );
        assert_eq!(
            HandshakeFailure::from_x509_verify_code(20),
            HandshakeFailure::UnknownCa
        );
        assert_eq!(
            HandshakeFailure::from_x509_verify_code(64),
            HandshakeFailure::NameMismatch
        );
        assert_eq!(
            HandshakeFailure::NoSharedCipher.as_str(),
            "no_shared_cipher"
        );
    }

    #[test]
    fn messages_start_alike_and_end_with_the_library() {
        let said = Said {
            backend: "lib",
            text: "its words",
        };
        let err = handshake_failed(Peer::Client, HandshakeFailure::NoSharedCipher, said);
        assert_eq!(
            err.to_string(),
            "TLS handshake failed: the client offers none of the configured cipher suites; lib \
             says: its words"
        );
        assert_eq!(
            err.handshake_failure(),
            Some(HandshakeFailure::NoSharedCipher)
        );
        let err = certificate_refused(
            Peer::Server,
            HandshakeFailure::NameMismatch,
            None,
            Some("db.example.com"),
            said,
        );
        assert_eq!(
            err.to_string(),
            "TLS handshake failed: the server certificate did not verify: it is not for \
             db.example.com; lib says: its words"
        );
    }
}
