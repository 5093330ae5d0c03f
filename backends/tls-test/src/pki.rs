//! Certificates for the suite, made by rcgen in a temporary directory and loaded the way the
//! server loads them (`tlsql_tls_api::cert`).

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, PKCS_RSA_SHA256, SanType,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tempfile::TempDir;
use time::OffsetDateTime;
use tlsql_tls_api::cert::{load_client_ca, load_identity, read_certificates};
use tlsql_tls_api::{ConnectorSettings, Identity, ServerVerify, TlsSettings, TlsVersion, group};

/// The server's default TLS ≤ 1.2 suites.
pub const TLS12_DEFAULT: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
    ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:\
    ECDHE-RSA-CHACHA20-POLY1305";
/// The server's default TLS 1.3 suites.
pub const TLS13_DEFAULT: &str =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

/// A `:`-separated list as settings hold it.
pub fn split(list: &str) -> Vec<String> {
    list.split(':')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The server key types.
#[derive(Clone, Copy, Debug)]
pub enum Key {
    /// ECDSA P-256.
    Ecdsa,
    /// RSA 2048.
    Rsa,
}

/// Certificates in a temporary directory: a CA with ECDSA and RSA server certificates for
/// `localhost` and `127.0.0.1`, a server certificate behind an intermediate CA, a key that
/// matches nothing, two client certificates, and from a foreign CA a client and a server
/// certificate; a server certificate for another name and an expired one.
pub struct Pki {
    dir: TempDir,
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

fn leaf_params(name: &str, sans: &[&str], purpose: ExtendedKeyUsagePurpose) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.subject_alt_names = sans
        .iter()
        .map(|san| match san.parse() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName((*san).try_into().unwrap()),
        })
        .collect();
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages.push(purpose);
    params
}

const SERVER_NAMES: &[&str] = &["localhost", "127.0.0.1"];

impl Pki {
    /// Makes every file (RSA keys take a moment).
    pub fn new() -> Self {
        let pki = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        let ca =
            CertifiedIssuer::self_signed(ca_params("tlsql test CA"), KeyPair::generate().unwrap())
                .unwrap();
        pki.write("ca.pem", &ca.pem());
        let foreign =
            CertifiedIssuer::self_signed(ca_params("foreign CA"), KeyPair::generate().unwrap())
                .unwrap();
        pki.write("foreign-ca.pem", &foreign.pem());
        let server = |file: &str,
                      name: &str,
                      sans: &[&str],
                      key: KeyPair,
                      issuer: &CertifiedIssuer<'_, KeyPair>,
                      params: &dyn Fn(&mut CertificateParams)| {
            let mut p = leaf_params(name, sans, ExtendedKeyUsagePurpose::ServerAuth);
            params(&mut p);
            let cert = p.signed_by(&key, issuer).unwrap();
            pki.write(&format!("{file}.pem"), &cert.pem());
            pki.write(&format!("{file}-key.pem"), &key.serialize_pem());
            cert.pem()
        };
        let keep = |_: &mut CertificateParams| {};
        server(
            "server-ecdsa",
            "server ecdsa",
            SERVER_NAMES,
            KeyPair::generate().unwrap(),
            &ca,
            &keep,
        );
        let rsa = KeyPair::generate_for(&PKCS_RSA_SHA256).unwrap();
        server("server-rsa", "server rsa", SERVER_NAMES, rsa, &ca, &keep);
        let intermediate = CertifiedIssuer::signed_by(
            ca_params("tlsql intermediate CA"),
            KeyPair::generate().unwrap(),
            &ca,
        )
        .unwrap();
        let leaf = server(
            "server-chain",
            "server behind intermediate",
            SERVER_NAMES,
            KeyPair::generate().unwrap(),
            &intermediate,
            &keep,
        );
        pki.write("server-chain.pem", &format!("{leaf}{}", intermediate.pem()));
        server(
            "server-other-name",
            "server for another name",
            &["other.example"],
            KeyPair::generate().unwrap(),
            &ca,
            &keep,
        );
        server(
            "server-foreign",
            "server from a foreign CA",
            SERVER_NAMES,
            KeyPair::generate().unwrap(),
            &foreign,
            &keep,
        );
        server(
            "server-expired",
            "expired server",
            SERVER_NAMES,
            KeyPair::generate().unwrap(),
            &ca,
            &|p| {
                p.not_before = OffsetDateTime::now_utc() - Duration::from_secs(30 * 86400);
                p.not_after = OffsetDateTime::now_utc() - Duration::from_secs(86400);
            },
        );
        pki.write(
            "other-key.pem",
            &KeyPair::generate().unwrap().serialize_pem(),
        );
        let client = |file: &str, name: &str, issuer: &CertifiedIssuer<'_, KeyPair>| {
            let key = KeyPair::generate().unwrap();
            let cert = leaf_params(
                name,
                &["client.example"],
                ExtendedKeyUsagePurpose::ClientAuth,
            )
            .signed_by(&key, issuer)
            .unwrap();
            pki.write(&format!("{file}.pem"), &cert.pem());
            pki.write(&format!("{file}-key.pem"), &key.serialize_pem());
        };
        client("client", "client", &ca);
        client("client-b", "second client", &ca);
        client("foreign-client", "client", &foreign);
        pki
    }

    /// The path of `name` in the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `name`.
    pub fn write(&self, name: &str, contents: &str) {
        std::fs::write(self.path(name), contents).unwrap();
    }

    /// The server's defaults with the `key` certificate: TLS 1.2+, the default suites and
    /// groups, resumption on for 300 s, no client verification.
    pub fn settings(&self, key: Key) -> TlsSettings {
        match key {
            Key::Ecdsa => self.settings_from("server-ecdsa.pem", "server-ecdsa-key.pem"),
            Key::Rsa => self.settings_from("server-rsa.pem", "server-rsa-key.pem"),
        }
    }

    /// The defaults with the certificate and key files named.
    pub fn settings_from(&self, cert: &str, key: &str) -> TlsSettings {
        TlsSettings {
            identity: load_identity(&self.path(cert), &self.path(key), OffsetDateTime::now_utc())
                .unwrap(),
            client_ca: None,
            min_version: TlsVersion::Tls12,
            cipher_list: split(TLS12_DEFAULT),
            ciphersuites: split(TLS13_DEFAULT),
            groups: group::parse_list(group::DEFAULT_LIST).unwrap(),
            groups_strict: false,
            session_cache: true,
            session_timeout: Duration::from_secs(300),
        }
    }

    /// The defaults for the server certificate `stem` (with `stem-key.pem`), read without the
    /// validity check the server makes at startup (for the expired certificate).
    pub fn settings_unchecked(&self, stem: &str) -> TlsSettings {
        TlsSettings {
            identity: Identity::from_der(self.certs(stem), self.key(stem)).unwrap(),
            ..self.settings(Key::Ecdsa)
        }
    }

    /// The defaults plus client verification against the test CA.
    pub fn verifying(&self, key: Key) -> TlsSettings {
        TlsSettings {
            client_ca: Some(load_client_ca(&self.path("ca.pem")).unwrap()),
            ..self.settings(key)
        }
    }

    /// Every certificate of `stem`.pem.
    pub fn certs(&self, stem: &str) -> Vec<CertificateDer<'static>> {
        read_certificates(&self.path(&format!("{stem}.pem"))).unwrap()
    }

    /// The leaf certificate of `stem`.pem, DER.
    pub fn cert_der(&self, stem: &str) -> Vec<u8> {
        self.certs(stem)[0].to_vec()
    }

    /// The key of `stem`-key.pem.
    pub fn key(&self, stem: &str) -> PrivateKeyDer<'static> {
        tlsql_tls_api::cert::read_private_key(&self.path(&format!("{stem}-key.pem"))).unwrap()
    }

    /// The client identity `stem` (client, client-b, foreign-client) as a connector presents it.
    pub fn identity(&self, stem: &str) -> Arc<Identity> {
        Arc::new(Identity::from_der(self.certs(stem), self.key(stem)).unwrap())
    }

    /// A connector's settings trusting the test CA and checking the server's name: TLS 1.2
    /// and 1.3, the server defaults' suites, X25519 then P-256, sessions kept.
    pub fn connector(&self) -> ConnectorSettings {
        ConnectorSettings {
            roots: self.certs("ca"),
            verify: ServerVerify::Identity,
            min_version: TlsVersion::Tls12,
            max_version: TlsVersion::Tls13,
            cipher_list: split(TLS12_DEFAULT),
            ciphersuites: split(TLS13_DEFAULT),
            groups: group::parse_list("X25519:P-256").unwrap(),
            session_cache: true,
        }
    }

    /// Rewrites the PKCS#8 key `stem-key.pem` in the traditional form (PKCS#1 for RSA, SEC1
    /// for EC) with the `openssl` tool, into `file`.
    pub fn traditional_key(&self, stem: &str, file: &str) {
        let status = Command::new("openssl")
            .args(["pkey", "-traditional", "-in"])
            .arg(self.path(&format!("{stem}-key.pem")))
            .arg("-out")
            .arg(self.path(file))
            .status()
            .expect("the openssl command-line tool");
        assert!(status.success());
    }
}

impl Default for Pki {
    fn default() -> Self {
        Self::new()
    }
}
