//! End-to-end tests of the openssl backend: OpenSSL's own client (`SslConnector`, and the
//! `openssl s_client` tool for what the crate's client cannot show) against `build()`'s
//! context over TCP on 127.0.0.1, with certificates made by rcgen and loaded the way the
//! server loads them (`tlsql_tls_api::cert`).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use openssl::pkey::PKey;
use openssl::ssl::{
    SslConnector, SslFiletype, SslMethod, SslOptions, SslRef, SslSession, SslSessionRef, SslStream,
    SslVersion,
};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, PKCS_RSA_SHA256,
};
use tempfile::TempDir;
use time::OffsetDateTime;
use tlsql_tls_api::cert::{load_client_ca, load_identity};
use tlsql_tls_api::cipher::{KNOWN, KeyKind, SuiteKind};
use tlsql_tls_api::{
    SessionStats, TlsContext, TlsError, TlsInfo, TlsSettings, TlsStream, TlsVersion,
};

const TLS12_DEFAULT: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
    ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:\
    ECDHE-RSA-CHACHA20-POLY1305";
const TLS13_DEFAULT: &str =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
const IO_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, Debug)]
enum Key {
    Ecdsa,
    Rsa,
}

/// Certificates in a temporary directory: a CA with ECDSA and RSA server certificates, a
/// server certificate issued by an intermediate CA, a client certificate, and a client
/// certificate from a second CA the server does not trust.
struct Pki {
    dir: TempDir,
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

fn leaf_params(name: &str, purpose: ExtendedKeyUsagePurpose) -> CertificateParams {
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages.push(purpose);
    params
}

impl Pki {
    fn new() -> Self {
        let pki = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        let ca =
            CertifiedIssuer::self_signed(ca_params("tlsql test CA"), KeyPair::generate().unwrap())
                .unwrap();
        pki.write("ca.pem", &ca.pem());
        let server = |name: &str, key: KeyPair, issuer: &CertifiedIssuer<'_, KeyPair>| {
            let cert = leaf_params(name, ExtendedKeyUsagePurpose::ServerAuth)
                .signed_by(&key, issuer)
                .unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let (cert, key) = server("server ecdsa", KeyPair::generate().unwrap(), &ca);
        pki.write("server-ecdsa.pem", &cert);
        pki.write("server-ecdsa-key.pem", &key);
        let rsa_key = KeyPair::generate_for(&PKCS_RSA_SHA256).unwrap();
        let (cert, key) = server("server rsa", rsa_key, &ca);
        pki.write("server-rsa.pem", &cert);
        pki.write("server-rsa-key.pem", &key);
        let intermediate = CertifiedIssuer::signed_by(
            ca_params("tlsql intermediate CA"),
            KeyPair::generate().unwrap(),
            &ca,
        )
        .unwrap();
        let (cert, key) = server(
            "server behind intermediate",
            KeyPair::generate().unwrap(),
            &intermediate,
        );
        pki.write("server-chain.pem", &format!("{cert}{}", intermediate.pem()));
        pki.write("server-chain-key.pem", &key);
        pki.write(
            "other-key.pem",
            &KeyPair::generate().unwrap().serialize_pem(),
        );

        let client = |file: &str, issuer: &CertifiedIssuer<'_, KeyPair>| {
            let key = KeyPair::generate().unwrap();
            let cert = leaf_params("client", ExtendedKeyUsagePurpose::ClientAuth)
                .signed_by(&key, issuer)
                .unwrap();
            pki.write(&format!("{file}.pem"), &cert.pem());
            pki.write(&format!("{file}-key.pem"), &key.serialize_pem());
        };
        client("client", &ca);
        let foreign =
            CertifiedIssuer::self_signed(ca_params("foreign CA"), KeyPair::generate().unwrap())
                .unwrap();
        client("foreign-client", &foreign);
        pki
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, contents: &str) {
        std::fs::write(self.path(name), contents).unwrap();
    }

    fn settings(&self, key: Key) -> TlsSettings {
        let (cert, key) = match key {
            Key::Ecdsa => ("server-ecdsa.pem", "server-ecdsa-key.pem"),
            Key::Rsa => ("server-rsa.pem", "server-rsa-key.pem"),
        };
        self.settings_from(cert, key)
    }

    fn settings_from(&self, cert: &str, key: &str) -> TlsSettings {
        TlsSettings {
            identity: load_identity(&self.path(cert), &self.path(key), OffsetDateTime::now_utc())
                .unwrap(),
            client_ca: None,
            min_version: TlsVersion::Tls12,
            cipher_list: split(TLS12_DEFAULT),
            ciphersuites: split(TLS13_DEFAULT),
            groups: tlsql_tls_api::group::parse_list(tlsql_tls_api::group::DEFAULT_LIST).unwrap(),
            groups_strict: false,
            session_cache: true,
            session_timeout: Duration::from_secs(300),
        }
    }

    fn verifying(&self, key: Key) -> TlsSettings {
        TlsSettings {
            client_ca: Some(load_client_ca(&self.path("ca.pem")).unwrap()),
            ..self.settings(key)
        }
    }

    /// The DER of the client certificate `file`.pem.
    fn cert_der(&self, file: &str) -> Vec<u8> {
        load_client_ca(&self.path(&format!("{file}.pem")))
            .unwrap()
            .certs[0]
            .to_vec()
    }
}

fn split(list: &str) -> Vec<String> {
    list.split(':').map(str::to_string).collect()
}

fn build(settings: &TlsSettings) -> Arc<dyn TlsContext> {
    tlsql_tls_openssl::build(settings).unwrap()
}

/// Serves `n` connections one after the other: handshake, then `session` on the stream.
fn serve(
    ctx: Arc<dyn TlsContext>,
    n: usize,
    session: impl Fn(&mut dyn TlsStream) + Send + 'static,
) -> (SocketAddr, JoinHandle<Vec<Result<TlsInfo, TlsError>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        (0..n)
            .map(|_| {
                let (tcp, _) = listener.accept().unwrap();
                tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
                tcp.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
                let mut stream = ctx.accept(Box::new(tcp))?;
                session(&mut *stream);
                Ok(stream.info().clone())
            })
            .collect()
    });
    (addr, server)
}

fn ping_pong(stream: &mut dyn TlsStream) {
    let mut buf = [0; 4];
    stream.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    stream.write_all(b"pong").unwrap();
    stream.flush().unwrap();
    stream.shutdown().unwrap();
}

/// Serves `n` ping-pong connections and returns each outcome.
fn ping_pong_server(
    ctx: &Arc<dyn TlsContext>,
    n: usize,
) -> (SocketAddr, JoinHandle<Vec<Result<TlsInfo, TlsError>>>) {
    serve(ctx.clone(), n, ping_pong)
}

#[derive(Default)]
struct ClientOptions {
    /// Client certificate and key file stem (`client` → client.pem, client-key.pem).
    identity: Option<&'static str>,
    min: Option<SslVersion>,
    max: Option<SslVersion>,
    cipher_list: Option<&'static str>,
    ciphersuites: Option<&'static str>,
    /// Resume TLS 1.2 sessions by session id instead of tickets.
    no_ticket: bool,
    /// Allow TLS 1.0/1.1 (Debian's default security level forbids them).
    legacy: bool,
}

/// What the client saw of one connection.
struct Seen {
    version: String,
    cipher: String,
    reused: bool,
    session: SslSession,
}

/// An OpenSSL client with one connector, so its sessions can be offered again.
struct Client {
    connector: SslConnector,
}

impl Client {
    fn new(pki: &Pki, options: ClientOptions) -> Self {
        let mut b = SslConnector::builder(SslMethod::tls_client()).unwrap();
        b.set_ca_file(pki.path("ca.pem")).unwrap();
        if let Some(stem) = options.identity {
            b.set_certificate_chain_file(pki.path(&format!("{stem}.pem")))
                .unwrap();
            b.set_private_key_file(pki.path(&format!("{stem}-key.pem")), SslFiletype::PEM)
                .unwrap();
        }
        if options.legacy {
            b.set_security_level(0);
        }
        b.set_min_proto_version(options.min).unwrap();
        b.set_max_proto_version(options.max).unwrap();
        if let Some(list) = options.cipher_list {
            b.set_cipher_list(list).unwrap();
        }
        if let Some(list) = options.ciphersuites {
            b.set_ciphersuites(list).unwrap();
        }
        if options.no_ticket {
            b.set_options(SslOptions::NO_TICKET);
        }
        Self {
            connector: b.build(),
        }
    }

    fn open(
        &self,
        addr: SocketAddr,
        session: Option<&SslSessionRef>,
    ) -> Result<SslStream<TcpStream>, String> {
        let tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        tcp.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        let mut config = self.connector.configure().unwrap();
        if let Some(session) = session {
            offer(&mut config, session);
        }
        config.connect("localhost", tcp).map_err(|e| e.to_string())
    }

    /// Connects (offering `session`), sends ping, expects pong, reads to the server's
    /// close_notify (so that every session ticket has arrived) and answers it.
    fn connect(&self, addr: SocketAddr, session: Option<&SslSessionRef>) -> Result<Seen, String> {
        let mut stream = self.open(addr, session)?;
        let text = |e: io::Error| e.to_string();
        stream.write_all(b"ping").map_err(text)?;
        let mut buf = [0; 4];
        stream.read_exact(&mut buf).map_err(text)?;
        assert_eq!(&buf, b"pong");
        stream.read_to_end(&mut Vec::new()).map_err(text)?;
        // OpenSSL marks the session of a connection freed without close_notify unresumable.
        stream.shutdown().map_err(|e| e.to_string())?;
        let ssl = stream.ssl();
        Ok(Seen {
            version: ssl.version_str().to_string(),
            cipher: ssl.current_cipher().unwrap().name().to_string(),
            reused: ssl.session_reused(),
            session: ssl.session().unwrap().to_owned(),
        })
    }
}

/// Offers `session` for resumption on the next handshake of `ssl`.
#[allow(unsafe_code)]
fn offer(ssl: &mut SslRef, session: &SslSessionRef) {
    // SAFETY: the openssl crate requires a session made under the same SslContext as `ssl`;
    // every session offered here comes from an earlier connection of the same `Client`.
    unsafe { ssl.set_session(session) }.unwrap();
}

/// One connection with `client` against a fresh server built from `settings`.
fn handshake(
    settings: &TlsSettings,
    client: &Client,
) -> (Result<TlsInfo, TlsError>, Result<Seen, String>) {
    let ctx = build(settings);
    let (addr, server) = ping_pong_server(&ctx, 1);
    let seen = client.connect(addr, None);
    let mut outcomes = server.join().unwrap();
    (outcomes.remove(0), seen)
}

fn tls12_only() -> ClientOptions {
    ClientOptions {
        max: Some(SslVersion::TLS1_2),
        ..ClientOptions::default()
    }
}

fn tls13_only() -> ClientOptions {
    ClientOptions {
        min: Some(SslVersion::TLS1_3),
        ..ClientOptions::default()
    }
}

#[test]
fn tls12_and_tls13_with_ecdsa_and_rsa_certificates() {
    let pki = Pki::new();
    for (key, tls12_cipher) in [
        (Key::Ecdsa, "ECDHE-ECDSA-AES128-GCM-SHA256"),
        (Key::Rsa, "ECDHE-RSA-AES128-GCM-SHA256"),
    ] {
        let settings = pki.settings(key);
        for (options, version, cipher, label) in [
            (tls12_only(), TlsVersion::Tls12, tls12_cipher, "TLSv1.2"),
            (
                tls13_only(),
                TlsVersion::Tls13,
                "TLS_AES_128_GCM_SHA256",
                "TLSv1.3",
            ),
        ] {
            let (info, seen) = handshake(&settings, &Client::new(&pki, options));
            let info = info.unwrap();
            let seen = seen.unwrap();
            let expected = TlsInfo {
                version,
                cipher: cipher.to_string(),
                // The OpenSSL client's first group, read back from the key exchange.
                group: tlsql_tls_api::group::lookup("X25519"),
                resumed: false,
                peer_certificate: None,
            };
            assert_eq!(info, expected, "{key:?} {label}");
            assert_eq!(
                (seen.version.as_str(), seen.cipher.as_str()),
                (label, cipher)
            );
        }
    }
}

#[test]
fn server_preference_wins_over_the_clients() {
    let pki = Pki::new();
    let settings = TlsSettings {
        cipher_list: split("ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256"),
        ciphersuites: split("TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"),
        ..pki.settings(Key::Ecdsa)
    };
    let client = Client::new(
        &pki,
        ClientOptions {
            cipher_list: Some("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"),
            ..tls12_only()
        },
    );
    let (info, _) = handshake(&settings, &client);
    assert_eq!(info.unwrap().cipher, "ECDHE-ECDSA-AES256-GCM-SHA384");
    let client = Client::new(
        &pki,
        ClientOptions {
            ciphersuites: Some("TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"),
            ..tls13_only()
        },
    );
    let (info, _) = handshake(&settings, &client);
    assert_eq!(info.unwrap().cipher, "TLS_CHACHA20_POLY1305_SHA256");
}

#[test]
fn minimum_tls13_refuses_a_tls12_client() {
    let pki = Pki::new();
    let settings = TlsSettings {
        min_version: TlsVersion::Tls13,
        ..pki.settings(Key::Ecdsa)
    };
    assert_eq!(build(&settings).versions(), [TlsVersion::Tls13]);
    let (info, seen) = handshake(&settings, &Client::new(&pki, tls12_only()));
    let Err(TlsError::Handshake(reason)) = info else {
        panic!("expected a handshake failure, got {info:?}");
    };
    assert!(reason.contains("unsupported protocol"), "{reason}");
    assert!(seen.is_err());
}

#[test]
fn tls10_and_tls11_only_when_asked() {
    let pki = Pki::new();
    let legacy_client = |version| {
        Client::new(
            &pki,
            ClientOptions {
                min: Some(version),
                max: Some(version),
                legacy: true,
                ..ClientOptions::default()
            },
        )
    };
    let default = pki.settings(Key::Ecdsa);
    let (info, _) = handshake(&default, &legacy_client(SslVersion::TLS1));
    assert!(matches!(info, Err(TlsError::Handshake(_))), "{info:?}");

    let settings = TlsSettings {
        min_version: TlsVersion::Tls10,
        cipher_list: split(&format!("{TLS12_DEFAULT}:ECDHE-ECDSA-AES128-SHA")),
        ..pki.settings(Key::Ecdsa)
    };
    assert_eq!(build(&settings).versions(), TlsVersion::ALL);
    for (version, expected) in [
        (SslVersion::TLS1, TlsVersion::Tls10),
        (SslVersion::TLS1_1, TlsVersion::Tls11),
    ] {
        let (info, seen) = handshake(&settings, &legacy_client(version));
        let info = info.unwrap();
        assert_eq!(info.version, expected);
        assert_eq!(info.cipher, "ECDHE-ECDSA-AES128-SHA");
        assert_eq!(seen.unwrap().version, expected.as_str());
    }

    // TLS 1.0 without a suite it can use is not offered at all.
    let gcm_only = TlsSettings {
        min_version: TlsVersion::Tls10,
        ..pki.settings(Key::Ecdsa)
    };
    assert_eq!(
        build(&gcm_only).versions(),
        [TlsVersion::Tls12, TlsVersion::Tls13]
    );
}

/// Runs `openssl s_client` against one connection of `ctx` and returns its output.
fn s_client(
    ctx: &Arc<dyn TlsContext>,
    pki: &Pki,
    args: &[&str],
) -> (Result<TlsInfo, TlsError>, String) {
    // s_client sends nothing and leaves when its stdin (empty) ends.
    let (addr, server) = serve(ctx.clone(), 1, |stream| {
        let _ = stream.read(&mut [0; 16]);
    });
    let output = Command::new("openssl")
        .arg("s_client")
        .args(["-connect", &addr.to_string(), "-servername", "localhost"])
        .arg("-CAfile")
        .arg(pki.path("ca.pem"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the openssl command-line tool");
    let mut outcomes = server.join().unwrap();
    (
        outcomes.remove(0),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn openssl_s_client_tls1() {
    let pki = Pki::new();
    let settings = TlsSettings {
        min_version: TlsVersion::Tls10,
        cipher_list: split("ECDHE-ECDSA-AES128-SHA"),
        ..pki.settings(Key::Ecdsa)
    };
    let (info, output) = s_client(
        &build(&settings),
        &pki,
        &["-tls1", "-cipher", "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0"],
    );
    assert_eq!(info.unwrap().version, TlsVersion::Tls10);
    assert!(output.contains("Protocol  : TLSv1\n"), "{output}");
    assert!(output.contains("Verify return code: 0 (ok)"), "{output}");
}

#[test]
fn acceptable_ca_names_are_sent_only_when_verifying() {
    let pki = Pki::new();
    let (info, output) = s_client(&build(&pki.verifying(Key::Ecdsa)), &pki, &[]);
    info.unwrap();
    assert!(
        output.contains("Acceptable client certificate CA names\nCN = tlsql test CA\n"),
        "{output}"
    );
    let (info, output) = s_client(&build(&pki.settings(Key::Ecdsa)), &pki, &[]);
    info.unwrap();
    assert!(
        output.contains("No client certificate CA names sent"),
        "{output}"
    );
}

#[test]
fn client_certificates() {
    let pki = Pki::new();
    let verifying = pki.verifying(Key::Ecdsa);
    assert!(build(&verifying).verifies_clients());
    assert!(!build(&pki.settings(Key::Ecdsa)).verifies_clients());
    for versions in [tls12_only as fn() -> ClientOptions, tls13_only] {
        let with = |identity| {
            Client::new(
                &pki,
                ClientOptions {
                    identity,
                    ..versions()
                },
            )
        };
        let (info, _) = handshake(&verifying, &with(Some("client")));
        assert_eq!(
            info.unwrap().peer_certificate.unwrap().to_vec(),
            pki.cert_der("client")
        );

        let (info, _) = handshake(&verifying, &with(Some("foreign-client")));
        let Err(TlsError::Handshake(reason)) = info else {
            panic!("a certificate from an unknown CA was accepted: {info:?}");
        };
        assert_eq!(
            reason,
            "the client certificate did not verify: unable to get local issuer certificate"
        );

        let (info, seen) = handshake(&verifying, &with(None));
        assert_eq!(info.unwrap().peer_certificate, None);
        seen.unwrap();

        // Without ssl-ca no certificate is requested, so none is reported.
        let (info, _) = handshake(&pki.settings(Key::Ecdsa), &with(Some("client")));
        assert_eq!(info.unwrap().peer_certificate, None);
    }
}

#[test]
fn server_chain_is_sent() {
    let pki = Pki::new();
    let settings = pki.settings_from("server-chain.pem", "server-chain-key.pem");
    let (info, seen) = handshake(&settings, &Client::new(&pki, ClientOptions::default()));
    info.unwrap();
    seen.unwrap();
}

#[test]
fn key_that_does_not_match_the_certificate() {
    let pki = Pki::new();
    for (cert, key) in [
        ("server-ecdsa.pem", "other-key.pem"),
        ("server-rsa.pem", "server-ecdsa-key.pem"),
        ("server-ecdsa.pem", "server-rsa-key.pem"),
    ] {
        let err = tlsql_tls_openssl::build(&pki.settings_from(cert, key)).unwrap_err();
        let TlsError::KeyMismatch {
            cert_path,
            key_path,
        } = err
        else {
            panic!("{cert} with {key}: {err}");
        };
        assert_eq!((cert_path, key_path), (pki.path(cert), pki.path(key)));
    }
}

#[test]
fn pkcs1_and_sec1_keys() {
    let pki = Pki::new();
    let rsa = PKey::private_key_from_pem(&std::fs::read(pki.path("server-rsa-key.pem")).unwrap())
        .unwrap();
    pki.write(
        "pkcs1.pem",
        &String::from_utf8(rsa.rsa().unwrap().private_key_to_pem().unwrap()).unwrap(),
    );
    let ec = PKey::private_key_from_pem(&std::fs::read(pki.path("server-ecdsa-key.pem")).unwrap())
        .unwrap();
    pki.write(
        "sec1.pem",
        &String::from_utf8(ec.ec_key().unwrap().private_key_to_pem().unwrap()).unwrap(),
    );
    for (cert, key, header) in [
        ("server-rsa.pem", "pkcs1.pem", "BEGIN RSA PRIVATE KEY"),
        ("server-ecdsa.pem", "sec1.pem", "BEGIN EC PRIVATE KEY"),
    ] {
        assert!(
            std::fs::read_to_string(pki.path(key))
                .unwrap()
                .contains(header)
        );
        let (info, _) = handshake(
            &pki.settings_from(cert, key),
            &Client::new(&pki, ClientOptions::default()),
        );
        info.unwrap();
    }
}

#[test]
fn cipher_names_are_the_effective_list() {
    let pki = Pki::new();
    let tls13 = split(TLS13_DEFAULT);
    for (key, kind) in [(Key::Ecdsa, "ECDSA"), (Key::Rsa, "RSA")] {
        let mut expected = tls13.clone();
        expected.extend([
            format!("ECDHE-{kind}-AES128-GCM-SHA256"),
            format!("ECDHE-{kind}-AES256-GCM-SHA384"),
            format!("ECDHE-{kind}-CHACHA20-POLY1305"),
        ]);
        let ctx = build(&pki.settings(key));
        assert_eq!(ctx.cipher_names(), expected);
        assert_eq!(ctx.versions(), [TlsVersion::Tls12, TlsVersion::Tls13]);
        assert_eq!(ctx.backend(), "openssl");
    }
}

#[test]
fn every_known_cipher_is_configurable_and_unknown_names_are_refused() {
    let pki = Pki::new();
    for suite in KNOWN {
        let key = match suite.needs_key() {
            Some(KeyKind::Rsa) => Key::Rsa,
            _ => Key::Ecdsa,
        };
        let mut settings = TlsSettings {
            min_version: TlsVersion::Tls10,
            cipher_list: Vec::new(),
            ciphersuites: Vec::new(),
            ..pki.settings(key)
        };
        if suite.kind == SuiteKind::Tls13 {
            settings.ciphersuites.push(suite.openssl.to_string());
        } else {
            settings.cipher_list.push(suite.openssl.to_string());
        }
        let ctx = tlsql_tls_openssl::build(&settings)
            .unwrap_or_else(|e| panic!("{}: {e}", suite.openssl));
        assert_eq!(ctx.cipher_names(), [suite.openssl]);
    }
    let settings = TlsSettings {
        cipher_list: split("ECDHE-ECDSA-AES128-GCM-SHA256:NOPE-CIPHER"),
        ..pki.settings(Key::Ecdsa)
    };
    let err = tlsql_tls_openssl::build(&settings).unwrap_err();
    assert!(
        matches!(&err, TlsError::UnknownCipher(name) if name == "NOPE-CIPHER"),
        "{err}"
    );
}

#[test]
fn dhe_suite_is_negotiated() {
    let pki = Pki::new();
    let settings = TlsSettings {
        cipher_list: split("DHE-RSA-AES128-GCM-SHA256"),
        ..pki.settings(Key::Rsa)
    };
    let (info, _) = handshake(&settings, &Client::new(&pki, tls12_only()));
    assert_eq!(info.unwrap().cipher, "DHE-RSA-AES128-GCM-SHA256");
}

/// Two connections of one client to `ctx`, the second offering the first one's session.
fn twice(ctx: &Arc<dyn TlsContext>, client: &Client) -> [TlsInfo; 2] {
    let (addr, server) = ping_pong_server(ctx, 2);
    let first = client.connect(addr, None).unwrap();
    let second = client.connect(addr, Some(&first.session)).unwrap();
    assert!(!first.reused);
    let infos: Vec<TlsInfo> = server
        .join()
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(second.reused, infos[1].resumed);
    infos.try_into().unwrap()
}

#[test]
fn resumption_keeps_the_client_certificate() {
    let pki = Pki::new();
    let client_der = pki.cert_der("client");
    for (label, options) in [
        ("TLSv1.2 ticket", tls12_only()),
        (
            "TLSv1.2 session id",
            ClientOptions {
                no_ticket: true,
                ..tls12_only()
            },
        ),
        ("TLSv1.3", tls13_only()),
    ] {
        let ctx = build(&pki.verifying(Key::Ecdsa));
        let client = Client::new(
            &pki,
            ClientOptions {
                identity: Some("client"),
                ..options
            },
        );
        let [first, second] = twice(&ctx, &client);
        assert!(!first.resumed, "{label}");
        assert!(second.resumed, "{label}");
        assert_eq!(second.cipher, first.cipher, "{label}");
        for info in [&first, &second] {
            assert_eq!(
                info.peer_certificate.as_deref(),
                Some(&client_der[..]),
                "{label}"
            );
        }
        assert_eq!(
            ctx.session_stats(),
            SessionStats { hits: 1, misses: 0 },
            "{label}"
        );
    }
}

#[test]
fn a_new_context_does_not_resume_an_old_ones_sessions() {
    let pki = Pki::new();
    for (label, options) in [
        ("TLSv1.2 ticket", tls12_only()),
        (
            "TLSv1.2 session id",
            ClientOptions {
                no_ticket: true,
                ..tls12_only()
            },
        ),
        ("TLSv1.3", tls13_only()),
    ] {
        let settings = pki.verifying(Key::Ecdsa);
        let client = Client::new(
            &pki,
            ClientOptions {
                identity: Some("client"),
                ..options
            },
        );
        let old = build(&settings);
        let (addr, server) = ping_pong_server(&old, 1);
        let first = client.connect(addr, None).unwrap();
        server.join().unwrap();

        let new = build(&settings);
        let (addr, server) = ping_pong_server(&new, 1);
        let second = client.connect(addr, Some(&first.session)).unwrap();
        let info = server.join().unwrap().remove(0).unwrap();
        assert!(!info.resumed && !second.reused, "{label}");
        assert_eq!(
            info.peer_certificate.unwrap().to_vec(),
            pki.cert_der("client")
        );
        assert_eq!(
            old.session_stats(),
            SessionStats { hits: 0, misses: 0 },
            "{label}"
        );
        assert_eq!(
            new.session_stats(),
            SessionStats { hits: 0, misses: 1 },
            "{label}"
        );
    }
}

#[test]
fn session_cache_off_never_resumes() {
    let pki = Pki::new();
    for (label, options) in [
        ("TLSv1.2", tls12_only as fn() -> ClientOptions),
        ("TLSv1.3", tls13_only),
    ] {
        let client = Client::new(&pki, options());
        let off = build(&TlsSettings {
            session_cache: false,
            ..pki.settings(Key::Ecdsa)
        });
        let [first, second] = twice(&off, &client);
        assert!(!first.resumed && !second.resumed, "{label}");

        // A session the client got elsewhere is offered, and counted as a miss.
        let on = build(&pki.settings(Key::Ecdsa));
        let (addr, server) = ping_pong_server(&on, 1);
        let elsewhere = client.connect(addr, None).unwrap();
        server.join().unwrap();
        let off = build(&TlsSettings {
            session_cache: false,
            ..pki.settings(Key::Ecdsa)
        });
        let (addr, server) = ping_pong_server(&off, 1);
        let seen = client.connect(addr, Some(&elsewhere.session)).unwrap();
        assert!(!seen.reused, "{label}");
        assert!(
            !server.join().unwrap().remove(0).unwrap().resumed,
            "{label}"
        );
        assert_eq!(
            off.session_stats(),
            SessionStats { hits: 0, misses: 1 },
            "{label}"
        );
    }
}

#[test]
fn four_mebibytes_each_way() {
    const SIZE: usize = 4 << 20;
    let pki = Pki::new();
    let ctx = build(&pki.settings(Key::Ecdsa));
    let (addr, server) = serve(ctx, 1, |stream| {
        let mut buf = vec![0; SIZE];
        stream.read_exact(&mut buf).unwrap();
        stream.write_all(&buf).unwrap();
        stream.flush().unwrap();
        stream.shutdown().unwrap();
    });
    let data: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    let client = Client::new(&pki, ClientOptions::default());
    let mut stream = client.open(addr, None).unwrap();
    // A reader thread is not needed: the server reads everything before it answers.
    stream.write_all(&data).unwrap();
    let mut back = Vec::new();
    stream.read_to_end(&mut back).unwrap();
    assert!(back == data, "the echoed bytes differ");
    server.join().unwrap().remove(0).unwrap();
}

#[test]
fn end_of_stream_with_and_without_close_notify() {
    let pki = Pki::new();
    for clean in [true, false] {
        let ctx = build(&pki.settings(Key::Ecdsa));
        let (addr, server) = serve(ctx, 1, move |stream| {
            let mut buf = [0; 4];
            stream.read_exact(&mut buf).unwrap();
            stream.write_all(b"pong").unwrap();
            stream.flush().unwrap();
            let end = stream.read(&mut buf);
            if clean {
                assert_eq!(end.unwrap(), 0);
            } else {
                assert_eq!(end.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
            }
        });
        let client = Client::new(&pki, ClientOptions::default());
        let mut stream = client.open(addr, None).unwrap();
        stream.write_all(b"ping").unwrap();
        stream.read_exact(&mut [0; 4]).unwrap();
        if clean {
            stream.shutdown().unwrap();
        }
        drop(stream);
        server.join().unwrap().remove(0).unwrap();
    }
}

#[test]
fn sessions_expire_after_the_configured_timeout() {
    let pki = Pki::new();
    for (label, options) in [
        ("TLSv1.2 ticket", tls12_only as fn() -> ClientOptions),
        ("TLSv1.3", tls13_only),
    ] {
        let ctx = build(&TlsSettings {
            session_timeout: Duration::from_secs(1),
            ..pki.settings(Key::Ecdsa)
        });
        let client = Client::new(&pki, options());
        let (addr, server) = ping_pong_server(&ctx, 1);
        let first = client.connect(addr, None).unwrap();
        server.join().unwrap();
        // OpenSSL compares whole seconds: wait past the next boundary plus the timeout.
        thread::sleep(Duration::from_millis(2_500));
        let (addr, server) = ping_pong_server(&ctx, 1);
        let second = client.connect(addr, Some(&first.session)).unwrap();
        let info = server.join().unwrap().remove(0).unwrap();
        assert!(
            !info.resumed && !second.reused,
            "{label}: an expired session resumed"
        );
    }
}
