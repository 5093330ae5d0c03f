//! The certificates: the CA loaded and checked, server and client certificates issued by it
//! and checked against it, keys of each type.

use std::path::Path;
use std::time::Duration;

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_RSA_SHA256, PublicKeyData, RsaKeySize, SanType,
    SerialNumber,
};
use rustls_pki_types::{CertificateDer, ServerName};
use time::OffsetDateTime;
use tlsql_tls_api::SubjectAltName;
use tlsql_tls_api::cert::{self, CertSummary};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use super::files::{AutoTlsError, AutoTlsPaths, exists, invalid};
use crate::config::AutoTlsKey;

pub(super) const CA_VALIDITY: time::Duration = time::Duration::days(3650);
const SERVER_VALIDITY: time::Duration = time::Duration::days(365);
/// Certificates start slightly in the past so that a client whose clock is a little behind
/// still accepts a certificate made a moment ago.
pub(super) const BACKDATE: time::Duration = time::Duration::hours(1);

/// The CA, checked and ready to sign.
pub(super) struct Ca {
    der: CertificateDer<'static>,
    pub(super) summary: CertSummary,
    pub(super) issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    pub(super) fn load(paths: &AutoTlsPaths, now: OffsetDateTime) -> Result<Self, AutoTlsError> {
        let der = first_certificate(&paths.ca_cert)?;
        let key = load_key(&paths.ca_key)?;
        let ca = Self::from_parts(der, key, &paths.ca_cert)?;
        if now > ca.summary.not_after {
            return Err(invalid(
                &paths.ca_cert,
                format!(
                    "the auto-TLS CA expired on {}; remove every file in {} to generate a new one (clients must then trust the new ca.pem)",
                    cert::format_time(ca.summary.not_after),
                    paths.dir.display()
                ),
            ));
        }
        Ok(ca)
    }

    pub(super) fn from_parts(
        der: CertificateDer<'static>,
        key: KeyPair,
        path: &Path,
    ) -> Result<Self, AutoTlsError> {
        let (_, x509) = X509Certificate::from_der(&der)
            .map_err(|e| invalid(path, format!("invalid X.509 certificate: {e}")))?;
        let is_ca = matches!(x509.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
        if !is_ca {
            return Err(invalid(
                path,
                "not a CA certificate (basicConstraints CA:TRUE is missing)",
            ));
        }
        if key.subject_public_key_info() != x509.public_key().raw {
            return Err(invalid(
                path,
                "the key in ca-key.pem does not belong to this certificate",
            ));
        }
        let summary = CertSummary::from_der(&der).map_err(|e| invalid(path, e))?;
        let issuer = Issuer::from_ca_cert_der(&der, key)
            .map_err(|e| invalid(path, format!("cannot use this certificate to sign: {e}")))?;
        Ok(Self {
            der,
            summary,
            issuer,
        })
    }
}

/// A server or client certificate with its key, checked against the CA.
pub(super) struct Leaf {
    pub(super) key: KeyPair,
    pub(super) summary: CertSummary,
    pub(super) key_type: Option<AutoTlsKey>,
}

/// Loads a certificate and key pair; `None` when both are absent. When only one of them
/// exists the pair is useless (its other half is gone), so it is reissued, with a warning.
pub(super) fn load_pair(
    cert_path: &Path,
    key_path: &Path,
    ca: &Ca,
) -> Result<Option<Leaf>, AutoTlsError> {
    match (exists(cert_path)?, exists(key_path)?) {
        (true, true) => load_leaf(cert_path, key_path, ca).map(Some),
        (false, false) => Ok(None),
        (present, _) => {
            let (have, lack) = if present {
                (cert_path, key_path)
            } else {
                (key_path, cert_path)
            };
            log::warn!(
                "auto-tls: {} exists without {}; issuing a new pair",
                have.display(),
                lack.display()
            );
            Ok(None)
        }
    }
}

pub(super) fn load_leaf(cert_path: &Path, key_path: &Path, ca: &Ca) -> Result<Leaf, AutoTlsError> {
    let der = first_certificate(cert_path)?;
    let (_, x509) = X509Certificate::from_der(&der)
        .map_err(|e| invalid(cert_path, format!("invalid X.509 certificate: {e}")))?;
    let (_, ca_x509) = X509Certificate::from_der(&ca.der)
        .map_err(|e| invalid(cert_path, format!("invalid CA certificate: {e}")))?;
    if x509.verify_signature(Some(ca_x509.public_key())).is_err() {
        return Err(invalid(
            cert_path,
            "not signed by the auto-TLS CA in ca.pem (damaged, or left from another CA); remove it and its key to issue a new one",
        ));
    }
    let key = load_key(key_path)?;
    if key.subject_public_key_info() != x509.public_key().raw {
        return Err(invalid(
            key_path,
            format!(
                "this key does not belong to {}; remove both files to issue a new pair",
                cert_path.display()
            ),
        ));
    }
    let summary = CertSummary::from_der(&der).map_err(|e| invalid(cert_path, e))?;
    let key_type = AutoTlsKey::ALL
        .into_iter()
        .find(|k| key_label(*k) == summary.key_type);
    Ok(Leaf {
        key,
        summary,
        key_type,
    })
}

pub(super) fn first_certificate(path: &Path) -> Result<CertificateDer<'static>, AutoTlsError> {
    // read_certificates never returns an empty list.
    cert::read_certificates(path)?
        .into_iter()
        .next()
        .ok_or_else(|| invalid(path, "no certificate found"))
}

fn load_key(path: &Path) -> Result<KeyPair, AutoTlsError> {
    let der = cert::read_private_key(path)?;
    KeyPair::try_from(&der).map_err(|e| invalid(path, format!("unusable private key: {e}")))
}

/// How [`CertSummary::key_type`] names each key type.
pub(super) fn key_label(key: AutoTlsKey) -> &'static str {
    match key {
        AutoTlsKey::EcdsaP256 => "ECDSA P-256",
        AutoTlsKey::Rsa2048 => "RSA 2048",
        AutoTlsKey::Rsa4096 => "RSA 4096",
    }
}

pub(super) fn generate_key(key: AutoTlsKey) -> Result<KeyPair, rcgen::Error> {
    match key {
        AutoTlsKey::EcdsaP256 => KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256),
        AutoTlsKey::Rsa2048 => KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048),
        AutoTlsKey::Rsa4096 => KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_4096),
    }
}

#[derive(Clone, Copy)]
pub(super) enum Role {
    Server,
    Client,
}

/// Signs a server or client certificate for `key` with the CA; returns it as PEM.
pub(super) fn issue(
    role: Role,
    key: &KeyPair,
    ca: &Ca,
    now: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<String, AutoTlsError> {
    Ok(issue_params(role, key, now, not_after)
        .signed_by(key, &ca.issuer)?
        .pem())
}

/// The parameters [`issue`] signs.
pub(super) fn issue_params(
    role: Role,
    key: &KeyPair,
    now: OffsetDateTime,
    not_after: OffsetDateTime,
) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(random_serial());
    params.not_before = now.saturating_sub(BACKDATE);
    params.not_after = not_after;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    match role {
        Role::Server => {
            params.distinguished_name = common_name("tlsql auto-tls server");
            params.subject_alt_names = server_names();
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            // TLS 1.2 suites without forward secrecy encrypt the premaster secret to the
            // server's RSA key.
            if key.algorithm() == &PKCS_RSA_SHA256 {
                params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
            }
        }
        Role::Client => {
            params.distinguished_name = common_name("tlsql auto-tls client");
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
    }
    params
}

pub(super) fn common_name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

/// `localhost`, `127.0.0.1`, `::1` and this machine's host name when it is a valid DNS name,
/// so that `VERIFY_IDENTITY` works however a local client names the server.
pub(super) fn server_names() -> Vec<SanType> {
    let mut names = vec![
        SanType::IpAddress([127, 0, 0, 1].into()),
        SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()),
    ];
    let mut dns = vec!["localhost".to_string()];
    if let Ok(host) = gethostname::gethostname().into_string() {
        let host = host.to_ascii_lowercase();
        if matches!(
            ServerName::try_from(host.as_str()),
            Ok(ServerName::DnsName(_))
        ) && host != "localhost"
        {
            dns.push(host);
        }
    }
    for name in dns {
        // Names accepted by ServerName are ASCII, which is all an IA5String needs.
        if let Ok(name) = name.try_into() {
            names.push(SanType::DnsName(name));
        }
    }
    names
}

pub(super) fn same_name(present: &SubjectAltName, wanted: &SanType) -> bool {
    match (present, wanted) {
        (SubjectAltName::Dns(p), SanType::DnsName(w)) => p.eq_ignore_ascii_case(w.as_str()),
        (SubjectAltName::Ip(p), SanType::IpAddress(w)) => p == w,
        _ => false,
    }
}

pub(super) fn san_text(san: &SanType) -> String {
    match san {
        SanType::DnsName(name) => format!("DNS:{}", name.as_str()),
        SanType::IpAddress(ip) => format!("IP:{ip}"),
        other => format!("{other:?}"),
    }
}

/// One year, but at least twice `renew_within` (so a new certificate is not due at once), and
/// never beyond the CA.
pub(super) fn server_not_after(
    now: OffsetDateTime,
    renew_within: Duration,
    ca: &Ca,
) -> OffsetDateTime {
    let within = time::Duration::try_from(renew_within).unwrap_or(time::Duration::MAX);
    let validity = SERVER_VALIDITY.max(within.saturating_mul(2));
    now.checked_add(validity)
        .map_or(ca.summary.not_after, |t| t.min(ca.summary.not_after))
}

pub(super) fn expires_within(
    not_after: OffsetDateTime,
    now: OffsetDateTime,
    within: Duration,
) -> bool {
    let within = time::Duration::try_from(within).unwrap_or(time::Duration::MAX);
    now.checked_add(within)
        .is_none_or(|limit| not_after <= limit)
}

/// Certificates hold whole seconds; comparing against a `now` with a fraction would make a
/// certificate issued this second look a little older than it is.
pub(super) fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

pub(crate) fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    // Positive and without a leading zero byte, so it encodes in exactly 16 bytes.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}
