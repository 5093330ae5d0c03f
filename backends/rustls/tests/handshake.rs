//! End-to-end tests of the rustls backend: a rustls client against `build()`'s context over
//! real TCP on 127.0.0.1, with certificates made by rcgen and loaded the way the server loads
//! them (`tlsql_tls_api::cert`).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_RSA_SHA256,
};
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::version::{TLS12, TLS13};
use rustls::{
    ClientConfig, ClientConnection, HandshakeKind, RootCertStore, StreamOwned,
    SupportedCipherSuite, SupportedProtocolVersion,
};
use tempfile::TempDir;
use time::OffsetDateTime;
use tlsql_tls_api::cert::{load_client_ca, load_identity};
use tlsql_tls_api::{SessionStats, TlsContext, TlsError, TlsInfo, TlsSettings, TlsVersion};

const TLS12_DEFAULT: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
    ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:\
    ECDHE-RSA-CHACHA20-POLY1305";
const TLS13_DEFAULT: &str =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// A client certificate chain and its key.
type ClientIdentity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

#[derive(Clone, Copy, Debug)]
enum Key {
    Ecdsa,
    Rsa,
}

/// A CA with ECDSA and RSA server certificates and a client certificate, plus a client
/// certificate from a second CA the server does not trust.
struct Pki {
    dir: TempDir,
    ca_roots: Arc<RootCertStore>,
    client: ClientIdentity,
    foreign_client: ClientIdentity,
}

fn new_ca(name: &str) -> (rcgen::Certificate, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert, Issuer::new(params, key))
}

fn leaf(
    issuer: &Issuer<'static, KeyPair>,
    name: &str,
    key: KeyPair,
    purpose: ExtendedKeyUsagePurpose,
) -> (rcgen::Certificate, KeyPair) {
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages.push(purpose);
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert, key)
}

fn der_pair(cert: &rcgen::Certificate, key: &KeyPair) -> ClientIdentity {
    (
        vec![cert.der().clone()],
        PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
    )
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, pem: String| std::fs::write(dir.path().join(name), pem).unwrap();
        let (ca, issuer) = new_ca("tlsql test CA");
        write("ca.pem", ca.pem());

        let (cert, key) = leaf(
            &issuer,
            "ecdsa server",
            KeyPair::generate().unwrap(),
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        write("ecdsa-cert.pem", cert.pem());
        write("ecdsa-key.pem", key.serialize_pem());
        let (cert, key) = leaf(
            &issuer,
            "rsa server",
            KeyPair::generate_for(&PKCS_RSA_SHA256).unwrap(),
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        write("rsa-cert.pem", cert.pem());
        write("rsa-key.pem", key.serialize_pem());

        let (cert, key) = leaf(
            &issuer,
            "client",
            KeyPair::generate().unwrap(),
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        let client = der_pair(&cert, &key);
        let (_, foreign_issuer) = new_ca("foreign CA");
        let (cert, key) = leaf(
            &foreign_issuer,
            "client",
            KeyPair::generate().unwrap(),
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        let foreign_client = der_pair(&cert, &key);

        let mut roots = RootCertStore::empty();
        roots.add(ca.der().clone()).unwrap();
        Self {
            dir,
            ca_roots: Arc::new(roots),
            client,
            foreign_client,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn files(&self, key: Key) -> (PathBuf, PathBuf) {
        match key {
            Key::Ecdsa => (self.path("ecdsa-cert.pem"), self.path("ecdsa-key.pem")),
            Key::Rsa => (self.path("rsa-cert.pem"), self.path("rsa-key.pem")),
        }
    }

    /// The server's defaults: TLS 1.2+, the default suites, resumption on for 300 s.
    fn settings(&self, key: Key) -> TlsSettings {
        let (cert, key) = self.files(key);
        TlsSettings {
            identity: load_identity(&cert, &key, OffsetDateTime::now_utc()).unwrap(),
            client_ca: None,
            min_version: TlsVersion::Tls12,
            cipher_list: names(TLS12_DEFAULT),
            ciphersuites: names(TLS13_DEFAULT),
            groups: tlsql_tls_api::group::parse_list(tlsql_tls_api::group::DEFAULT_LIST).unwrap(),
            groups_strict: false,
            session_cache: true,
            session_timeout: Duration::from_secs(300),
        }
    }

    fn settings_with_client_ca(&self, key: Key) -> TlsSettings {
        TlsSettings {
            client_ca: Some(load_client_ca(&self.path("ca.pem")).unwrap()),
            ..self.settings(key)
        }
    }

    fn client(&self, versions: &[&'static SupportedProtocolVersion]) -> ClientBuilder<'_> {
        ClientBuilder {
            pki: self,
            versions: versions.to_vec(),
            suites: None,
            identity: None,
        }
    }
}

fn names(list: &str) -> Vec<String> {
    list.split(':').map(str::to_string).collect()
}

struct ClientBuilder<'a> {
    pki: &'a Pki,
    versions: Vec<&'static SupportedProtocolVersion>,
    suites: Option<Vec<SupportedCipherSuite>>,
    identity: Option<&'a ClientIdentity>,
}

impl<'a> ClientBuilder<'a> {
    fn suites(mut self, suites: &[SupportedCipherSuite]) -> Self {
        self.suites = Some(suites.to_vec());
        self
    }

    fn identity(mut self, id: &'a ClientIdentity) -> Self {
        self.identity = Some(id);
        self
    }

    fn build(self) -> Arc<ClientConfig> {
        let mut provider = aws_lc_rs::default_provider();
        if let Some(suites) = self.suites {
            provider.cipher_suites = suites;
        }
        let builder = ClientConfig::builder_with_provider(Arc::new(provider))
            .with_protocol_versions(&self.versions)
            .unwrap()
            .with_root_certificates(self.pki.ca_roots.clone());
        Arc::new(match self.identity {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .unwrap(),
            None => builder.with_no_client_auth(),
        })
    }
}

/// What the client saw of one connection.
#[derive(Debug)]
struct ClientView {
    version: rustls::ProtocolVersion,
    suite: String,
    resumed: bool,
}

/// The server thread of one connection: the report and what the follow-up closure returned.
type Served<R> = JoinHandle<Result<(TlsInfo, R), TlsError>>;

/// Accepts one connection on `ctx`, then runs `then` on the established stream.
fn serve<R: Send + 'static>(
    ctx: &Arc<dyn TlsContext>,
    then: impl FnOnce(&mut dyn tlsql_tls_api::TlsStream) -> R + Send + 'static,
) -> (SocketAddr, Served<R>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let ctx = ctx.clone();
    let handle = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        tcp.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        let mut stream = ctx.accept(Box::new(tcp))?;
        let out = then(&mut *stream);
        Ok((stream.info().clone(), out))
    });
    (addr, handle)
}

fn tcp(addr: SocketAddr) -> TcpStream {
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    tcp.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    tcp
}

fn client_stream(
    addr: SocketAddr,
    config: &Arc<ClientConfig>,
) -> io::Result<StreamOwned<ClientConnection, TcpStream>> {
    let name = ServerName::try_from("localhost").unwrap();
    let conn = ClientConnection::new(config.clone(), name).unwrap();
    let mut stream = StreamOwned::new(conn, tcp(addr));
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock)?;
    }
    Ok(stream)
}

/// One connection with a short exchange both ways (which also delivers TLS 1.3 tickets to
/// the client) and a clean close_notify from the server.
fn exchange(
    ctx: &Arc<dyn TlsContext>,
    client: &Arc<ClientConfig>,
) -> Result<(TlsInfo, ClientView), TlsError> {
    let (addr, server) = serve(ctx, |s| {
        s.write_all(b"ping").unwrap();
        s.flush().unwrap();
        let mut pong = [0; 4];
        s.read_exact(&mut pong).unwrap();
        assert_eq!(&pong, b"pong");
        s.shutdown().unwrap();
    });
    let client_side = client_stream(addr, client).and_then(|mut s| {
        let mut ping = [0; 4];
        s.read_exact(&mut ping)?;
        assert_eq!(&ping, b"ping");
        s.write_all(b"pong")?;
        s.flush()?;
        let mut rest = Vec::new();
        s.read_to_end(&mut rest)?;
        assert!(rest.is_empty());
        Ok(ClientView {
            version: s.conn.protocol_version().unwrap(),
            suite: format!("{:?}", s.conn.negotiated_cipher_suite().unwrap().suite()),
            resumed: s.conn.handshake_kind() == Some(HandshakeKind::Resumed),
        })
    });
    let (info, ()) = server.join().unwrap()?;
    let view = client_side.unwrap();
    assert_eq!(info.resumed, view.resumed);
    Ok((info, view))
}

fn build(settings: &TlsSettings) -> Arc<dyn TlsContext> {
    tlsql_tls_rustls::build(settings).unwrap()
}

fn build_err(settings: &TlsSettings) -> TlsError {
    match tlsql_tls_rustls::build(settings) {
        Ok(ctx) => panic!("expected an error, got {ctx:?}"),
        Err(e) => e,
    }
}

fn suite(name: &str) -> SupportedCipherSuite {
    *aws_lc_rs::ALL_CIPHER_SUITES
        .iter()
        .find(|s| s.suite().as_str() == Some(name))
        .unwrap()
}

#[test]
fn both_versions_with_both_key_types_report_openssl_names() {
    let pki = Pki::new();
    let cases = [
        (
            Key::Ecdsa,
            &TLS12,
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        ),
        (
            Key::Rsa,
            &TLS12,
            "ECDHE-RSA-AES128-GCM-SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ),
        (
            Key::Ecdsa,
            &TLS13,
            "TLS_AES_128_GCM_SHA256",
            "TLS13_AES_128_GCM_SHA256",
        ),
        (
            Key::Rsa,
            &TLS13,
            "TLS_AES_128_GCM_SHA256",
            "TLS13_AES_128_GCM_SHA256",
        ),
    ];
    for (key, version, openssl_name, rustls_name) in cases {
        let ctx = build(&pki.settings(key));
        assert_eq!(ctx.backend(), "rustls");
        let (info, view) = exchange(&ctx, &pki.client(&[version]).build()).unwrap();
        let expected = if version == &TLS12 {
            TlsVersion::Tls12
        } else {
            TlsVersion::Tls13
        };
        assert_eq!(info.version, expected, "{key:?}");
        assert_eq!(view.version, version.version, "{key:?}");
        assert_eq!(info.cipher, openssl_name, "{key:?} {expected}");
        assert_eq!(view.suite, rustls_name, "{key:?} {expected}");
        assert!(!info.resumed);
        assert_eq!(info.peer_certificate, None);
    }
}

#[test]
fn rsa_key_in_pkcs1_form_is_accepted() {
    // rcgen writes PKCS#8; operators often have the traditional `RSA PRIVATE KEY` form.
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    let pki = Pki::new();
    let (cert, key) = pki.files(Key::Rsa);
    let pkcs8 = std::fs::read_to_string(&key).unwrap();
    let rsa_key = rsa::PrivateKey::from_pkcs8_pem(&pkcs8).unwrap();
    let pkcs1 = rsa_key.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF).unwrap();
    assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let pkcs1_path = pki.path("rsa-key-pkcs1.pem");
    std::fs::write(&pkcs1_path, pkcs1.as_bytes()).unwrap();
    let ctx = build(&TlsSettings {
        identity: load_identity(&cert, &pkcs1_path, OffsetDateTime::now_utc()).unwrap(),
        ..pki.settings(Key::Rsa)
    });
    let (info, _) = exchange(&ctx, &pki.client(&[&TLS12]).build()).unwrap();
    assert_eq!(info.cipher, "ECDHE-RSA-AES128-GCM-SHA256");
}

#[test]
fn context_reports_its_suites_and_versions() {
    let pki = Pki::new();
    let ctx = build(&pki.settings(Key::Ecdsa));
    assert_eq!(
        ctx.cipher_names(),
        [
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            "ECDHE-ECDSA-CHACHA20-POLY1305",
        ]
    );
    assert_eq!(ctx.versions(), [TlsVersion::Tls12, TlsVersion::Tls13]);
    assert!(!ctx.verifies_clients());
    assert_eq!(ctx.session_stats(), SessionStats::default());

    let tls13_only = build(&TlsSettings {
        min_version: TlsVersion::Tls13,
        ..pki.settings(Key::Rsa)
    });
    assert_eq!(tls13_only.versions(), [TlsVersion::Tls13]);
    assert_eq!(
        tls13_only.cipher_names(),
        [
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
        ]
    );
}

#[test]
fn server_preference_order_wins() {
    let pki = Pki::new();
    let ctx = build(&TlsSettings {
        ciphersuites: names("TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384"),
        cipher_list: names("ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256"),
        ..pki.settings(Key::Ecdsa)
    });
    let client13 = pki
        .client(&[&TLS13])
        .suites(&[
            suite("TLS13_AES_256_GCM_SHA384"),
            suite("TLS13_CHACHA20_POLY1305_SHA256"),
        ])
        .build();
    let (info, _) = exchange(&ctx, &client13).unwrap();
    assert_eq!(info.cipher, "TLS_CHACHA20_POLY1305_SHA256");

    let client12 = pki
        .client(&[&TLS12])
        .suites(&[
            suite("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
            suite("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
        ])
        .build();
    let (info, _) = exchange(&ctx, &client12).unwrap();
    assert_eq!(info.cipher, "ECDHE-ECDSA-AES256-GCM-SHA384");
}

#[test]
fn client_without_a_common_suite_is_told_so() {
    let pki = Pki::new();
    let ctx = build(&TlsSettings {
        cipher_list: names("ECDHE-ECDSA-AES128-GCM-SHA256"),
        ..pki.settings(Key::Ecdsa)
    });
    let client = pki
        .client(&[&TLS12])
        .suites(&[suite("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256")])
        .build();
    let err = exchange(&ctx, &client).unwrap_err();
    assert_eq!(
        err.to_string(),
        "TLS handshake failed: the client offers none of the configured cipher suites"
    );
}

#[test]
fn tls13_minimum_refuses_a_tls12_client() {
    let pki = Pki::new();
    let ctx = build(&TlsSettings {
        min_version: TlsVersion::Tls13,
        ..pki.settings(Key::Ecdsa)
    });
    let err = exchange(&ctx, &pki.client(&[&TLS12]).build()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "TLS handshake failed: the client offers no protocol version this server allows (TLSv1.3)"
    );
    // The same context still serves TLS 1.3.
    let (info, _) = exchange(&ctx, &pki.client(&[&TLS13, &TLS12]).build()).unwrap();
    assert_eq!(info.version, TlsVersion::Tls13);
}

#[test]
fn verified_client_certificate_is_reported() {
    let pki = Pki::new();
    for (key, version) in [(Key::Ecdsa, &TLS13), (Key::Rsa, &TLS12)] {
        let ctx = build(&pki.settings_with_client_ca(key));
        assert!(ctx.verifies_clients());
        let client = pki.client(&[version]).identity(&pki.client).build();
        let (info, _) = exchange(&ctx, &client).unwrap();
        assert_eq!(info.peer_certificate.as_ref(), Some(&pki.client.0[0]));
    }
}

#[test]
fn client_certificate_from_a_foreign_ca_fails_the_handshake() {
    let pki = Pki::new();
    for version in [&TLS13, &TLS12] {
        let ctx = build(&pki.settings_with_client_ca(Key::Ecdsa));
        let client = pki.client(&[version]).identity(&pki.foreign_client).build();
        let err = exchange(&ctx, &client).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, TlsError::Handshake(_)), "{msg}");
        assert!(msg.contains("issuer is unknown"), "{msg}");
    }
}

#[test]
fn no_client_certificate_is_fine_when_a_ca_is_configured() {
    let pki = Pki::new();
    let ctx = build(&pki.settings_with_client_ca(Key::Ecdsa));
    let (info, _) = exchange(&ctx, &pki.client(&[&TLS13]).build()).unwrap();
    assert_eq!(info.peer_certificate, None);
}

#[test]
fn without_a_ca_no_certificate_is_requested() {
    let pki = Pki::new();
    let ctx = build(&pki.settings(Key::Ecdsa));
    // Even a client with a certificate from a foreign CA gets in: nothing is requested.
    let client = pki.client(&[&TLS13]).identity(&pki.foreign_client).build();
    let (info, _) = exchange(&ctx, &client).unwrap();
    assert_eq!(info.peer_certificate, None);
}

#[test]
fn key_that_does_not_match_the_certificate_is_refused() {
    let pki = Pki::new();
    let (cert, _) = pki.files(Key::Ecdsa);
    let (_, key) = pki.files(Key::Rsa);
    let settings = TlsSettings {
        identity: load_identity(&cert, &key, OffsetDateTime::now_utc()).unwrap(),
        ..pki.settings(Key::Ecdsa)
    };
    match build_err(&settings) {
        TlsError::KeyMismatch {
            cert_path,
            key_path,
        } => {
            assert_eq!(cert_path, cert);
            assert_eq!(key_path, key);
        }
        other => panic!("expected KeyMismatch, got {other}"),
    }
}

#[test]
fn tls10_and_tls11_are_refused() {
    let pki = Pki::new();
    for min_version in [TlsVersion::Tls10, TlsVersion::Tls11] {
        let err = build_err(&TlsSettings {
            min_version,
            ..pki.settings(Key::Ecdsa)
        });
        assert!(
            matches!(
                err,
                TlsError::Unsupported {
                    backend: "rustls",
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "the rustls backend does not support TLSv1.0 or TLSv1.1; set security.tls-version \
             to TLSv1.2 or TLSv1.3, or build with --features openssl"
        );
    }
}

#[test]
fn ciphers_rustls_cannot_negotiate_are_refused_by_name() {
    let pki = Pki::new();
    for (name, tls13) in [
        ("ECDHE-RSA-AES128-SHA256", false),
        ("DHE-RSA-AES128-GCM-SHA256", false),
        ("AES128-GCM-SHA256", false),
        ("ECDHE-ECDSA-AES128-SHA", false),
        ("TLS_AES_128_CCM_SHA256", true),
    ] {
        let mut settings = pki.settings(Key::Ecdsa);
        let key = if tls13 {
            settings.ciphersuites.push(name.to_string());
            "security.tls-ciphersuites"
        } else {
            settings.cipher_list.insert(0, name.to_string());
            "security.ssl-cipher"
        };
        let err = build_err(&settings);
        assert!(
            matches!(
                err,
                TlsError::Unsupported {
                    backend: "rustls",
                    ..
                }
            ),
            "{err}"
        );
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!(
                "the rustls backend cannot negotiate the cipher {name} "
            )),
            "{msg}"
        );
        assert!(
            msg.ends_with(&format!(
                "remove {name} from {key}, or build with --features openssl"
            )),
            "{msg}"
        );
    }
}

#[test]
fn unknown_cipher_names_are_reported_as_unknown() {
    let pki = Pki::new();
    let mut settings = pki.settings(Key::Ecdsa);
    settings.cipher_list.push("NOT-A-CIPHER".to_string());
    assert!(matches!(
        build_err(&settings),
        TlsError::UnknownCipher(name) if name == "NOT-A-CIPHER"
    ));
}

#[test]
fn no_suite_left_is_an_error() {
    let pki = Pki::new();
    // An RSA key cannot use ECDSA suites, and no TLS 1.3 suite is configured.
    let err = build_err(&TlsSettings {
        ciphersuites: Vec::new(),
        cipher_list: names("ECDHE-ECDSA-AES128-GCM-SHA256"),
        ..pki.settings(Key::Rsa)
    });
    assert!(matches!(err, TlsError::Library { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("no cipher suite is left to negotiate"),
        "{err}"
    );
}

#[test]
fn sessions_resume_with_their_client_certificate() {
    let pki = Pki::new();
    for version in [&TLS12, &TLS13] {
        let ctx = build(&pki.settings_with_client_ca(Key::Ecdsa));
        let client = pki.client(&[version]).identity(&pki.client).build();
        let (first, _) = exchange(&ctx, &client).unwrap();
        assert!(!first.resumed);
        assert_eq!(ctx.session_stats(), SessionStats { hits: 0, misses: 0 });

        let (second, view) = exchange(&ctx, &client).unwrap();
        assert!(second.resumed, "{version:?}");
        assert!(view.resumed);
        assert_eq!(second.version, first.version);
        assert_eq!(second.peer_certificate.as_ref(), Some(&pki.client.0[0]));
        assert_eq!(ctx.session_stats(), SessionStats { hits: 1, misses: 0 });
    }
}

#[test]
fn sessions_resume_without_a_client_certificate() {
    let pki = Pki::new();
    for version in [&TLS12, &TLS13] {
        let ctx = build(&pki.settings_with_client_ca(Key::Rsa));
        let client = pki.client(&[version]).build();
        exchange(&ctx, &client).unwrap();
        let (second, _) = exchange(&ctx, &client).unwrap();
        assert!(second.resumed, "{version:?}");
        assert_eq!(second.peer_certificate, None);
    }
}

#[test]
fn a_new_context_does_not_resume_an_old_contexts_session() {
    let pki = Pki::new();
    for version in [&TLS12, &TLS13] {
        let client = pki.client(&[version]).build();
        let old = build(&pki.settings(Key::Ecdsa));
        exchange(&old, &client).unwrap();

        let new = build(&pki.settings(Key::Ecdsa));
        let (info, _) = exchange(&new, &client).unwrap();
        assert!(!info.resumed, "{version:?}");
        assert_eq!(new.session_stats(), SessionStats { hits: 0, misses: 1 });
    }
}

#[test]
fn without_session_cache_nothing_resumes() {
    let pki = Pki::new();
    for version in [&TLS12, &TLS13] {
        let ctx = build(&TlsSettings {
            session_cache: false,
            ..pki.settings(Key::Ecdsa)
        });
        let client = pki.client(&[version]).build();
        for _ in 0..3 {
            let (info, _) = exchange(&ctx, &client).unwrap();
            assert!(!info.resumed, "{version:?}");
        }
        assert_eq!(ctx.session_stats().hits, 0);
    }
}

#[test]
fn sessions_expire_after_the_timeout() {
    let pki = Pki::new();
    for version in [&TLS12, &TLS13] {
        let ctx = build(&TlsSettings {
            session_timeout: Duration::from_secs(1),
            ..pki.settings(Key::Ecdsa)
        });
        let client = pki.client(&[version]).build();
        exchange(&ctx, &client).unwrap();
        // Only ever older than the timeout when the client comes back, however slow the
        // machine: the session was stored before this sleep started.
        thread::sleep(Duration::from_millis(1500));
        let (info, _) = exchange(&ctx, &client).unwrap();
        assert!(!info.resumed, "{version:?}");
        assert_eq!(ctx.session_stats(), SessionStats { hits: 0, misses: 1 });
    }
}

#[test]
fn four_mebibytes_each_way() {
    const LEN: usize = 4 << 20;
    let pattern = |i: usize| (i % 251) as u8;
    let pki = Pki::new();
    let ctx = build(&pki.settings(Key::Ecdsa));
    let (addr, server) = serve(&ctx, move |s| {
        let data: Vec<u8> = (0..LEN).map(pattern).collect();
        s.write_all(&data).unwrap();
        s.flush().unwrap();
        let mut back = vec![0; LEN];
        s.read_exact(&mut back).unwrap();
        // The client closes with close_notify: a clean end of stream.
        let mut tail = [0; 1];
        let eof = s.read(&mut tail).unwrap();
        (back == data, eof)
    });
    let mut client = client_stream(addr, &pki.client(&[&TLS13]).build()).unwrap();
    let mut received = vec![0; LEN];
    client.read_exact(&mut received).unwrap();
    assert!(received.iter().enumerate().all(|(i, b)| *b == pattern(i)));
    client.write_all(&received).unwrap();
    client.conn.send_close_notify();
    client.flush().unwrap();
    let (_, (echoed, eof)) = server.join().unwrap().unwrap();
    assert!(echoed);
    assert_eq!(eof, 0);
}

#[test]
fn peer_vanishing_without_close_notify_is_an_error_not_a_hang() {
    let pki = Pki::new();
    let ctx = build(&pki.settings(Key::Rsa));
    let (addr, server) = serve(&ctx, |s| {
        let mut buf = [0; 16];
        s.read(&mut buf).map_err(|e| e.kind())
    });
    let client = client_stream(addr, &pki.client(&[&TLS12]).build()).unwrap();
    drop(client);
    let (_, read) = server.join().unwrap().unwrap();
    assert_eq!(read, Err(io::ErrorKind::UnexpectedEof));
}

/// Every context and every test client names its provider; none is installed process-wide.
#[test]
fn process_default_provider_is_never_installed() {
    let pki = Pki::new();
    let ctx = build(&pki.settings(Key::Ecdsa));
    exchange(&ctx, &pki.client(&[&TLS13]).build()).unwrap();
    assert!(CryptoProvider::get_default().is_none());
}
