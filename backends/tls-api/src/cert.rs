//! Certificate handling shared by every backend: reading PEM files, checking them, and turning
//! X.509 names and dates into the strings MySQL shows (`/C=SE/O=Example/CN=client`,
//! `Nov 28 06:42:32 2021 UTC`).
//!
//! Files are read here, not in the backends, so the same bad file produces the same message
//! whichever library is compiled in.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::X509Name;

use crate::{ClientCa, Identity, TlsError};

/// X.509 name attributes by their OpenSSL short names, as `X509_NAME_oneline` prints them.
/// `REQUIRE ISSUER/SUBJECT` strings may use only these keys.
pub const NAME_KEYS: &[(&str, &str)] = &[
    ("C", "2.5.4.6"),
    ("ST", "2.5.4.8"),
    ("L", "2.5.4.7"),
    ("street", "2.5.4.9"),
    ("O", "2.5.4.10"),
    ("OU", "2.5.4.11"),
    ("CN", "2.5.4.3"),
    ("SN", "2.5.4.4"),
    ("serialNumber", "2.5.4.5"),
    ("title", "2.5.4.12"),
    ("businessCategory", "2.5.4.15"),
    ("postalCode", "2.5.4.17"),
    ("name", "2.5.4.41"),
    ("GN", "2.5.4.42"),
    ("initials", "2.5.4.43"),
    ("generationQualifier", "2.5.4.44"),
    ("dnQualifier", "2.5.4.46"),
    ("pseudonym", "2.5.4.65"),
    ("organizationIdentifier", "2.5.4.97"),
    ("emailAddress", "1.2.840.113549.1.9.1"),
    ("DC", "0.9.2342.19200300.100.1.25"),
    ("UID", "0.9.2342.19200300.100.1.1"),
];

/// A subject alternative name entry of the kinds `REQUIRE SAN` can name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SubjectAltName {
    /// `DNS:name`
    Dns(String),
    /// `IP:address`
    Ip(IpAddr),
    /// `URI:uri`
    Uri(String),
    /// `email:address`
    Email(String),
}

impl fmt::Display for SubjectAltName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dns(v) => write!(f, "DNS:{v}"),
            Self::Ip(v) => write!(f, "IP:{v}"),
            Self::Uri(v) => write!(f, "URI:{v}"),
            Self::Email(v) => write!(f, "email:{v}"),
        }
    }
}

/// What the server needs to know about one certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertSummary {
    /// Subject in `/C=…/O=…/CN=…` form, attributes in certificate order.
    pub subject: String,
    /// Issuer in the same form.
    pub issuer: String,
    /// Subject alternative names of the kinds tlsql understands.
    pub subject_alt_names: Vec<SubjectAltName>,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// Public key, e.g. `ECDSA P-256` or `RSA 2048`.
    pub key_type: String,
}

impl CertSummary {
    /// Parses a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, String> {
        let (_, cert) = X509Certificate::from_der(der)
            .map_err(|e| format!("invalid X.509 certificate: {e}"))?;
        let subject_alt_names = match cert.subject_alternative_name() {
            Ok(Some(ext)) => ext
                .value
                .general_names
                .iter()
                .filter_map(alt_name)
                .collect(),
            Ok(None) => Vec::new(),
            Err(e) => return Err(format!("invalid subjectAltName extension: {e}")),
        };
        Ok(Self {
            subject: oneline(cert.subject()),
            issuer: oneline(cert.issuer()),
            subject_alt_names,
            not_before: cert.validity().not_before.to_datetime(),
            not_after: cert.validity().not_after.to_datetime(),
            key_type: key_type(&cert),
        })
    }

    /// The kind of the certificate's key, as cipher suites need it.
    pub fn key_kind(&self) -> Option<crate::cipher::KeyKind> {
        if self.key_type.starts_with("RSA") {
            Some(crate::cipher::KeyKind::Rsa)
        } else if self.key_type.starts_with("ECDSA") {
            Some(crate::cipher::KeyKind::Ecdsa)
        } else {
            None
        }
    }

    /// Whether `at` lies within the validity period.
    pub fn is_valid_at(&self, at: OffsetDateTime) -> bool {
        self.not_before <= at && at <= self.not_after
    }
}

fn alt_name(name: &GeneralName<'_>) -> Option<SubjectAltName> {
    match name {
        GeneralName::DNSName(v) => Some(SubjectAltName::Dns(v.to_string())),
        GeneralName::URI(v) => Some(SubjectAltName::Uri(v.to_string())),
        GeneralName::RFC822Name(v) => Some(SubjectAltName::Email(v.to_string())),
        GeneralName::IPAddress(bytes) => match bytes.len() {
            4 => <[u8; 4]>::try_from(*bytes)
                .ok()
                .map(|b| SubjectAltName::Ip(IpAddr::from(b))),
            16 => <[u8; 16]>::try_from(*bytes)
                .ok()
                .map(|b| SubjectAltName::Ip(IpAddr::from(b))),
            _ => None,
        },
        _ => None,
    }
}

fn key_type(cert: &X509Certificate<'_>) -> String {
    match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
        Ok(PublicKey::EC(_)) => {
            let curve = cert
                .public_key()
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| oid.to_id_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => "ECDSA P-256".to_string(),
                Some("1.3.132.0.34") => "ECDSA P-384".to_string(),
                Some("1.3.132.0.35") => "ECDSA P-521".to_string(),
                Some(other) => format!("ECDSA {other}"),
                None => "ECDSA".to_string(),
            }
        }
        Ok(_) => cert.public_key().algorithm.algorithm.to_id_string(),
        Err(_) => "unknown".to_string(),
    }
}

/// Formats a name as OpenSSL's `X509_NAME_oneline` does: `/KEY=value` per attribute, in
/// certificate order; unknown attribute types appear as dotted OIDs.
pub fn oneline(name: &X509Name<'_>) -> String {
    let mut out = String::new();
    for rdn in name.iter_rdn() {
        for attr in rdn.iter() {
            let oid = attr.attr_type().to_id_string();
            let key = NAME_KEYS.iter().find(|(_, o)| *o == oid).map(|(k, _)| *k);
            out.push('/');
            out.push_str(key.unwrap_or(&oid));
            out.push('=');
            match attr.as_str() {
                Ok(v) => out.push_str(v),
                Err(_) => {
                    for b in attr.attr_value().data.iter() {
                        out.push_str(&format!("\\x{b:02X}"));
                    }
                }
            }
        }
    }
    out
}

/// Formats a time as MySQL's `Ssl_server_not_after` shows it: `Nov 28 06:42:32 2021 UTC`
/// (month, space-padded day, time, year).
pub fn format_time(t: OffsetDateTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{} {:>2} {:02}:{:02}:{:02} {} UTC",
        MONTHS[usize::from(u8::from(t.month())) - 1],
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.year()
    )
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn bad(path: &Path, reason: impl Into<String>) -> TlsError {
    TlsError::BadFile {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Reads every certificate of a PEM file; an empty or malformed file is an error naming it.
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, pem::Error>>()
        .map_err(|e| bad(path, format!("malformed PEM: {e}")))?;
    if certs.is_empty() {
        return Err(bad(path, "no PEM certificate (BEGIN CERTIFICATE) found"));
    }
    for (i, der) in certs.iter().enumerate() {
        CertSummary::from_der(der)
            .map_err(|e| bad(path, format!("certificate #{}: {e}", i + 1)))?;
    }
    Ok(certs)
}

/// Reads the first private key of a PEM file (PKCS#1, PKCS#8 or SEC1, unencrypted).
pub fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(path)?;
    match PrivateKeyDer::from_pem_slice(&bytes) {
        Ok(key) => Ok(key),
        Err(pem::Error::NoItemsFound) => {
            let encrypted = bytes
                .windows(29)
                .any(|w| w == b"BEGIN ENCRYPTED PRIVATE KEY--")
                || bytes.windows(16).any(|w| w == b"Proc-Type: 4,ENC");
            Err(bad(
                path,
                if encrypted {
                    "the private key is passphrase-protected, which is not supported"
                } else {
                    "no PEM private key (PKCS#1, PKCS#8 or SEC1) found"
                },
            ))
        }
        Err(e) => Err(bad(path, format!("malformed PEM: {e}"))),
    }
}

/// Reads and checks the server identity: the chain parses, the leaf is valid at `now`.
/// (Whether the key matches the leaf is checked by the backend, which owns the key type
/// support, and reported as [`TlsError::KeyMismatch`].)
pub fn load_identity(
    cert_path: &Path,
    key_path: &Path,
    now: OffsetDateTime,
) -> Result<Identity, TlsError> {
    let chain = read_certificates(cert_path)?;
    let key = read_private_key(key_path)?;
    let leaf = CertSummary::from_der(&chain[0]).map_err(|e| bad(cert_path, e))?;
    check_validity(cert_path, &leaf, now)?;
    Ok(Identity {
        chain,
        key,
        cert_path: cert_path.to_path_buf(),
        key_path: key_path.to_path_buf(),
        leaf,
    })
}

/// Fails if `now` is outside the certificate's validity period.
pub fn check_validity(
    path: &Path,
    leaf: &CertSummary,
    now: OffsetDateTime,
) -> Result<(), TlsError> {
    if now > leaf.not_after {
        return Err(TlsError::Validity {
            path: path.to_path_buf(),
            reason: format!("certificate expired on {}", format_time(leaf.not_after)),
        });
    }
    if now < leaf.not_before {
        return Err(TlsError::Validity {
            path: path.to_path_buf(),
            reason: format!(
                "certificate is not valid before {}",
                format_time(leaf.not_before)
            ),
        });
    }
    Ok(())
}

/// Reads the CA bundle used to verify client certificates.
pub fn load_client_ca(path: &Path) -> Result<ClientCa, TlsError> {
    let certs = read_certificates(path)?;
    Ok(ClientCa {
        path: PathBuf::from(path),
        certs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn time_format_pads_the_day_with_a_space() {
        assert_eq!(
            format_time(datetime!(2021-11-28 06:42:32 UTC)),
            "Nov 28 06:42:32 2021 UTC"
        );
        assert_eq!(
            format_time(datetime!(2029-12-01 04:48:40 UTC)),
            "Dec  1 04:48:40 2029 UTC"
        );
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = read_certificates(Path::new("/nonexistent/server.pem")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot read /nonexistent/server.pem: "),
            "{err}"
        );
    }

    #[test]
    fn file_without_pem_is_rejected() {
        let dir = std::env::temp_dir().join(format!("tlsql-cert-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("empty.pem");
        std::fs::write(&path, b"not a certificate\n").unwrap();
        let err = read_certificates(&path).unwrap_err().to_string();
        assert!(
            err.ends_with("no PEM certificate (BEGIN CERTIFICATE) found"),
            "{err}"
        );
        let err = read_private_key(&path).unwrap_err().to_string();
        assert!(
            err.ends_with("no PEM private key (PKCS#1, PKCS#8 or SEC1) found"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
