//! Real certificates for TLS tests, made with rcgen: CAs, server certificates (ECDSA P-256 or
//! RSA-2048, valid or expired), client certificates with chosen subjects and SANs.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use time::{Duration, OffsetDateTime};

/// Key algorithm of a generated certificate.
#[derive(Clone, Copy, Debug)]
pub enum Key {
    Ecdsa,
    Rsa,
}

fn key_pair(key: Key) -> KeyPair {
    match key {
        Key::Ecdsa => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap(),
        Key::Rsa => KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap(),
    }
}

/// A CA that writes what it issues into `dir`.
pub struct Ca {
    pub dir: PathBuf,
    pub cert: PathBuf,
    issuer: Issuer<'static, KeyPair>,
}

/// A certificate file and its key file.
#[derive(Clone, Debug)]
pub struct Pair {
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn dn(parts: &[(DnType, &str)]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for (t, v) in parts {
        dn.push(t.clone(), *v);
    }
    dn
}

impl Ca {
    /// A new CA called `/O=tlsql tests/CN=<name>`.
    pub fn new(dir: &Path, name: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let key = key_pair(Key::Ecdsa);
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(&[
            (DnType::OrganizationName, "tlsql tests"),
            (DnType::CommonName, name),
        ]);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = OffsetDateTime::now_utc() - Duration::days(1);
        params.not_after = OffsetDateTime::now_utc() + Duration::days(3650);
        let cert = params.self_signed(&key).unwrap();
        let path = dir.join(format!("{name}-ca.pem"));
        std::fs::write(&path, cert.pem()).unwrap();
        Self {
            dir: dir.to_path_buf(),
            cert: path,
            issuer: Issuer::new(params, key),
        }
    }

    fn write(&self, file: &str, cert: &rcgen::Certificate, key: &KeyPair) -> Pair {
        let pair = Pair {
            cert: self.dir.join(format!("{file}.pem")),
            key: self.dir.join(format!("{file}-key.pem")),
        };
        std::fs::write(&pair.cert, cert.pem()).unwrap();
        std::fs::write(&pair.key, key.serialize_pem()).unwrap();
        pair
    }

    /// A server certificate for localhost and 127.0.0.1, valid from `from` to `to` days
    /// relative to now.
    pub fn server_valid(&self, file: &str, key: Key, from: i64, to: i64) -> Pair {
        let sans = vec![
            SanType::DnsName("localhost".try_into().unwrap()),
            SanType::IpAddress([127, 0, 0, 1].into()),
        ];
        self.server_for(file, key, sans, from, to)
    }

    /// A server certificate for other names only (valid now): a client that checks the name
    /// of localhost or 127.0.0.1 must refuse it.
    pub fn server_named(&self, file: &str, key: Key, dns: &str) -> Pair {
        let sans = vec![SanType::DnsName(dns.try_into().unwrap())];
        self.server_for(file, key, sans, -1, 365)
    }

    fn server_for(&self, file: &str, key: Key, sans: Vec<SanType>, from: i64, to: i64) -> Pair {
        let k = key_pair(key);
        let mut params = CertificateParams::default();
        params.subject_alt_names = sans;
        params.distinguished_name = dn(&[
            (DnType::OrganizationName, "tlsql tests"),
            (DnType::CommonName, file),
        ]);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.not_before = OffsetDateTime::now_utc() + Duration::days(from);
        params.not_after = OffsetDateTime::now_utc() + Duration::days(to);
        let cert = params.signed_by(&k, &self.issuer).unwrap();
        self.write(file, &cert, &k)
    }

    /// A server certificate valid now.
    pub fn server(&self, file: &str, key: Key) -> Pair {
        self.server_valid(file, key, -1, 365)
    }

    /// A client certificate with the given subject and SANs.
    pub fn client(&self, file: &str, subject: &[(DnType, &str)], sans: Vec<SanType>) -> Pair {
        let k = key_pair(Key::Ecdsa);
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(subject);
        params.subject_alt_names = sans;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.not_before = OffsetDateTime::now_utc() - Duration::days(1);
        params.not_after = OffsetDateTime::now_utc() + Duration::days(365);
        let cert = params.signed_by(&k, &self.issuer).unwrap();
        self.write(file, &cert, &k)
    }
}
