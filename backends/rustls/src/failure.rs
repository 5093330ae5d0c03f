//! rustls' errors in the words every backend uses (`tlsql_tls_api::failure`).

use std::io;

use rustls::{AlertDescription, CertificateError, PeerIncompatible, PeerMisbehaved};
use tlsql_tls_api::failure::{self, HandshakeFailure, Peer, Said};
use tlsql_tls_api::{TlsError, TlsVersion};

use crate::NAME;

/// What `complete_io` reported, classified. `leaf` is the certificate our verifier refused
/// (a connector's), `name` the server name it checked, `versions` this side's.
pub(crate) fn classify(
    e: &io::Error,
    peer: Peer,
    leaf: Option<&[u8]>,
    name: Option<&str>,
    versions: &[TlsVersion],
) -> TlsError {
    let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return match e.kind() {
            io::ErrorKind::UnexpectedEof => failure::peer_closed(peer),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => failure::timed_out(peer),
            _ => failure::other(format!("I/O error: {e}")),
        };
    };
    let text = tls.to_string();
    let said = Said {
        backend: NAME,
        text: &text,
    };
    let kind = match tls {
        rustls::Error::InvalidCertificate(reason) => {
            let kind = match reason {
                CertificateError::UnknownIssuer => HandshakeFailure::UnknownCa,
                CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. } => HandshakeFailure::Expired,
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => HandshakeFailure::NameMismatch,
                _ => HandshakeFailure::BadCertificate,
            };
            return failure::certificate_refused(peer, kind, leaf, name, said);
        }
        rustls::Error::NoCertificatesPresented => HandshakeFailure::BadCertificate,
        rustls::Error::PeerIncompatible(
            PeerIncompatible::Tls12NotOfferedOrEnabled
            | PeerIncompatible::Tls12NotOffered
            | PeerIncompatible::SupportedVersionsExtensionRequired
            | PeerIncompatible::ServerDoesNotSupportTls12Or13,
        ) => return failure::no_common_version(peer, versions, said),
        rustls::Error::PeerIncompatible(
            PeerIncompatible::NoCipherSuitesInCommon | PeerIncompatible::NoKxGroupsInCommon,
        ) => HandshakeFailure::NoSharedCipher,
        rustls::Error::PeerMisbehaved(PeerMisbehaved::SelectedUnofferedCipherSuite) => {
            HandshakeFailure::NoSharedCipher
        }
        rustls::Error::AlertReceived(alert) => match alert {
            AlertDescription::UnknownCA => HandshakeFailure::UnknownCa,
            AlertDescription::CertificateExpired => HandshakeFailure::Expired,
            AlertDescription::BadCertificate
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateRevoked
            | AlertDescription::CertificateRequired => HandshakeFailure::BadCertificate,
            AlertDescription::HandshakeFailure | AlertDescription::InsufficientSecurity => {
                HandshakeFailure::NoSharedCipher
            }
            AlertDescription::ProtocolVersion => {
                return failure::no_common_version(peer, versions, said);
            }
            _ => {
                return failure::other(format!(
                    "the peer aborted the handshake with alert {alert:?}"
                ));
            }
        },
        rustls::Error::PeerIncompatible(_)
        | rustls::Error::PeerMisbehaved(_)
        | rustls::Error::InappropriateMessage { .. }
        | rustls::Error::InappropriateHandshakeMessage { .. }
        | rustls::Error::InvalidMessage(_) => HandshakeFailure::Protocol,
        _ => return failure::other(text.clone()),
    };
    failure::handshake_failed(peer, kind, said)
}
