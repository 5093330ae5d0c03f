//! Server contexts: what every backend's `build` must do alike. The client is the backend's
//! own connector unless said otherwise.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use rustls::client::{Resumption, Tls12Resumption};
use rustls::crypto::aws_lc_rs;
use rustls::version::TLS12;
use rustls::{ClientConfig, ClientConnection, HandshakeKind, RootCertStore, StreamOwned};
use tlsql_tls_api::capabilities::Tls13Suites;
use tlsql_tls_api::cipher::{KNOWN, KeyKind, SuiteKind};
use tlsql_tls_api::{
    ConnectorSettings, HandshakeFailure, SessionStats, TlsConnector, TlsContext, TlsError, TlsInfo,
    TlsSettings, TlsVersion, group,
};

use crate::Backend;
use crate::net::{self, Outcome, handshake, ping, pong_server, serve};
use crate::pki::{Key, Pki, TLS12_DEFAULT, TLS13_DEFAULT, split};

/// The context `settings` describe (which must build).
pub fn build(b: &Backend, settings: &TlsSettings) -> Arc<dyn TlsContext> {
    (b.build)(settings).unwrap_or_else(|e| panic!("{}: {e}", b.name))
}

fn build_err(b: &Backend, settings: &TlsSettings) -> TlsError {
    match (b.build)(settings) {
        Ok(ctx) => panic!("expected an error, got {ctx:?}"),
        Err(e) => e,
    }
}

/// The backend's connector with the test defaults changed by `change`.
pub fn connector(
    b: &Backend,
    pki: &Pki,
    change: impl FnOnce(&mut ConnectorSettings),
) -> Arc<dyn TlsConnector> {
    let mut settings = pki.connector();
    change(&mut settings);
    (b.connector)(&settings).unwrap_or_else(|e| panic!("{} connector: {e}", b.name))
}

fn tls12_only(s: &mut ConnectorSettings) {
    s.max_version = TlsVersion::Tls12;
}

fn tls13_only(s: &mut ConnectorSettings) {
    s.min_version = TlsVersion::Tls13;
}

fn defaults(_: &mut ConnectorSettings) {}

/// The kind and message of a failed handshake.
pub fn failure(outcome: &Outcome) -> (HandshakeFailure, String) {
    match outcome {
        Err(TlsError::Handshake { reason, message }) => (*reason, message.clone()),
        other => panic!("expected a handshake failure, got {other:?}"),
    }
}

/// Whether `b` picks TLS 1.3 suites itself (then any of the defaults may be negotiated).
fn fixed_tls13(b: &Backend) -> bool {
    matches!(b.capabilities.tls13_suites, Tls13Suites::Fixed(_))
}

pub fn reports_version_cipher_and_group_for_both_key_types(b: &Backend) {
    let pki = Pki::new();
    for (key, tls12_cipher) in [
        (Key::Ecdsa, "ECDHE-ECDSA-AES128-GCM-SHA256"),
        (Key::Rsa, "ECDHE-RSA-AES128-GCM-SHA256"),
    ] {
        let ctx = build(b, &pki.settings(key));
        assert_eq!(ctx.backend(), b.name);
        for (versions, version, cipher) in [
            (
                tls12_only as fn(&mut ConnectorSettings),
                TlsVersion::Tls12,
                tls12_cipher,
            ),
            (tls13_only, TlsVersion::Tls13, "TLS_AES_128_GCM_SHA256"),
        ] {
            let (info, seen) = handshake(&ctx, &*connector(b, &pki, versions), None);
            let info = info.unwrap();
            let seen = seen.unwrap();
            let mut expected = TlsInfo {
                version,
                cipher: cipher.to_string(),
                // The client's first group, read back from the key exchange.
                group: group::lookup("X25519"),
                resumed: false,
                peer_certificate: None,
            };
            if version == TlsVersion::Tls13 && fixed_tls13(b) {
                // BoringSSL picks among its TLS 1.3 suites by the client's preference when it
                // has AES instructions and puts ChaCha20 first when it has not.
                assert!(
                    split(TLS13_DEFAULT).contains(&info.cipher),
                    "{}",
                    info.cipher
                );
                expected.cipher = info.cipher.clone();
            }
            assert_eq!(info, expected, "{key:?} {version}");
            assert_eq!((seen.version, &seen.cipher), (version, &info.cipher));
            assert_eq!(seen.group, info.group);
        }
    }
}

pub fn server_cipher_preference_wins(b: &Backend) {
    let pki = Pki::new();
    let mut settings = TlsSettings {
        cipher_list: split("ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256"),
        ..pki.settings(Key::Ecdsa)
    };
    if !fixed_tls13(b) {
        settings.ciphersuites = split("TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256");
    }
    let ctx = build(b, &settings);
    let client = connector(b, &pki, |s| {
        s.cipher_list = split("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384");
        tls12_only(s);
    });
    let (info, _) = handshake(&ctx, &*client, None);
    assert_eq!(info.unwrap().cipher, "ECDHE-ECDSA-AES256-GCM-SHA384");
    if fixed_tls13(b) {
        return;
    }
    let client = connector(b, &pki, |s| {
        s.ciphersuites = split("TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256");
        tls13_only(s);
    });
    let (info, _) = handshake(&ctx, &*client, None);
    assert_eq!(info.unwrap().cipher, "TLS_CHACHA20_POLY1305_SHA256");
}

pub fn minimum_tls13_refuses_a_tls12_client(b: &Backend) {
    let pki = Pki::new();
    let settings = TlsSettings {
        min_version: TlsVersion::Tls13,
        ..pki.settings(Key::Ecdsa)
    };
    let ctx = build(b, &settings);
    assert_eq!(ctx.versions(), [TlsVersion::Tls13]);
    let (info, seen) = handshake(&ctx, &*connector(b, &pki, tls12_only), None);
    let (reason, message) = failure(&info);
    assert_eq!(reason, HandshakeFailure::Protocol);
    assert!(
        message.starts_with("the client offers no protocol version this server allows (TLSv1.3)"),
        "{message}"
    );
    assert_eq!(
        seen.unwrap_err().handshake_failure(),
        Some(HandshakeFailure::Protocol)
    );
    // The same context still serves TLS 1.3.
    let (info, _) = handshake(&ctx, &*connector(b, &pki, defaults), None);
    assert_eq!(info.unwrap().version, TlsVersion::Tls13);
}

pub fn tls10_and_tls11_as_the_capabilities_say(b: &Backend) {
    let pki = Pki::new();
    if !b.capabilities.legacy_versions {
        for min_version in [TlsVersion::Tls10, TlsVersion::Tls11] {
            let err = build_err(
                b,
                &TlsSettings {
                    min_version,
                    ..pki.settings(Key::Ecdsa)
                },
            );
            assert!(
                matches!(err, TlsError::Unsupported { backend, .. } if backend == b.name),
                "{err}"
            );
        }
        return;
    }
    let legacy_client = |version| {
        connector(b, &pki, |s| {
            s.min_version = version;
            s.max_version = version;
            s.cipher_list = split("ECDHE-ECDSA-AES128-SHA");
            s.ciphersuites = Vec::new();
        })
    };
    let default = build(b, &pki.settings(Key::Ecdsa));
    let (info, _) = handshake(&default, &*legacy_client(TlsVersion::Tls10), None);
    assert!(matches!(info, Err(TlsError::Handshake { .. })), "{info:?}");

    let settings = TlsSettings {
        min_version: TlsVersion::Tls10,
        cipher_list: split(&format!("{TLS12_DEFAULT}:ECDHE-ECDSA-AES128-SHA")),
        ..pki.settings(Key::Ecdsa)
    };
    let ctx = build(b, &settings);
    assert_eq!(ctx.versions(), TlsVersion::ALL);
    for version in [TlsVersion::Tls10, TlsVersion::Tls11] {
        let (info, seen) = handshake(&ctx, &*legacy_client(version), None);
        let info = info.unwrap();
        assert_eq!(info.version, version);
        assert_eq!(info.cipher, "ECDHE-ECDSA-AES128-SHA");
        assert_eq!(seen.unwrap().version, version);
    }

    // TLS 1.0 without a suite it can use is not offered at all.
    let gcm_only = TlsSettings {
        min_version: TlsVersion::Tls10,
        ..pki.settings(Key::Ecdsa)
    };
    assert_eq!(
        build(b, &gcm_only).versions(),
        [TlsVersion::Tls12, TlsVersion::Tls13]
    );
}

/// Runs `openssl s_client` against one connection of `ctx` and returns its output.
fn s_client(ctx: &Arc<dyn TlsContext>, pki: &Pki, args: &[&str]) -> (Outcome, String) {
    // s_client sends nothing and leaves when its stdin (empty) ends.
    let (addr, server) = serve(ctx, 1, |stream| {
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

pub fn openssl_s_client_tls1(b: &Backend) {
    if !b.capabilities.legacy_versions {
        return;
    }
    let pki = Pki::new();
    let settings = TlsSettings {
        min_version: TlsVersion::Tls10,
        cipher_list: split("ECDHE-ECDSA-AES128-SHA"),
        ..pki.settings(Key::Ecdsa)
    };
    let (info, output) = s_client(
        &build(b, &settings),
        &pki,
        &["-tls1", "-cipher", "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0"],
    );
    assert_eq!(info.unwrap().version, TlsVersion::Tls10);
    assert!(output.contains("Protocol  : TLSv1\n"), "{output}");
    assert!(output.contains("Verify return code: 0 (ok)"), "{output}");
}

pub fn acceptable_ca_names_are_sent_only_when_verifying(b: &Backend) {
    let pki = Pki::new();
    let (info, output) = s_client(&build(b, &pki.verifying(Key::Ecdsa)), &pki, &[]);
    info.unwrap();
    assert!(
        output.contains("Acceptable client certificate CA names\nCN = tlsql test CA\n"),
        "{output}"
    );
    let (info, output) = s_client(&build(b, &pki.settings(Key::Ecdsa)), &pki, &[]);
    info.unwrap();
    assert!(
        output.contains("No client certificate CA names sent"),
        "{output}"
    );
}

pub fn client_certificates(b: &Backend) {
    let pki = Pki::new();
    let verifying = build(b, &pki.verifying(Key::Ecdsa));
    let plain = build(b, &pki.settings(Key::Ecdsa));
    assert!(verifying.verifies_clients());
    assert!(!plain.verifies_clients());
    for versions in [tls12_only as fn(&mut ConnectorSettings), tls13_only] {
        let client = connector(b, &pki, |s| {
            versions(s);
            s.session_cache = false;
        });
        let (info, _) = handshake(&verifying, &*client, Some(&pki.identity("client")));
        assert_eq!(
            info.unwrap().peer_certificate.unwrap().to_vec(),
            pki.cert_der("client")
        );

        let (info, _) = handshake(&verifying, &*client, Some(&pki.identity("foreign-client")));
        let (reason, message) = failure(&info);
        assert_eq!(reason, HandshakeFailure::UnknownCa, "{message}");
        assert!(
            message.starts_with(
                "the client certificate did not verify: it is not signed by a CA in ssl-ca"
            ),
            "{message}"
        );

        let (info, seen) = handshake(&verifying, &*client, None);
        assert_eq!(info.unwrap().peer_certificate, None);
        seen.unwrap();

        // Without ssl-ca no certificate is requested, so none is reported, even one from a
        // foreign CA.
        for stem in ["client", "foreign-client"] {
            let (info, _) = handshake(&plain, &*client, Some(&pki.identity(stem)));
            assert_eq!(info.unwrap().peer_certificate, None);
        }
    }
}

pub fn server_chain_is_sent(b: &Backend) {
    let pki = Pki::new();
    let ctx = build(
        b,
        &pki.settings_from("server-chain.pem", "server-chain-key.pem"),
    );
    let (info, seen) = handshake(&ctx, &*connector(b, &pki, defaults), None);
    info.unwrap();
    seen.unwrap();
}

pub fn key_that_does_not_match_the_certificate(b: &Backend) {
    let pki = Pki::new();
    for (cert, key) in [
        ("server-ecdsa.pem", "other-key.pem"),
        ("server-rsa.pem", "server-ecdsa-key.pem"),
        ("server-ecdsa.pem", "server-rsa-key.pem"),
    ] {
        let err = build_err(b, &pki.settings_from(cert, key));
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

pub fn pkcs1_and_sec1_keys(b: &Backend) {
    // rcgen writes PKCS#8; operators often have the traditional forms.
    let pki = Pki::new();
    pki.traditional_key("server-rsa", "pkcs1.pem");
    pki.traditional_key("server-ecdsa", "sec1.pem");
    for (key, cert, file, header, cipher) in [
        (
            Key::Rsa,
            "server-rsa.pem",
            "pkcs1.pem",
            "BEGIN RSA PRIVATE KEY",
            "ECDHE-RSA-AES128-GCM-SHA256",
        ),
        (
            Key::Ecdsa,
            "server-ecdsa.pem",
            "sec1.pem",
            "BEGIN EC PRIVATE KEY",
            "ECDHE-ECDSA-AES128-GCM-SHA256",
        ),
    ] {
        assert!(
            std::fs::read_to_string(pki.path(file))
                .unwrap()
                .contains(header),
            "{key:?}"
        );
        let ctx = build(b, &pki.settings_from(cert, file));
        let (info, _) = handshake(&ctx, &*connector(b, &pki, tls12_only), None);
        assert_eq!(info.unwrap().cipher, cipher);
    }
}

pub fn cipher_names_are_the_effective_list(b: &Backend) {
    let pki = Pki::new();
    let tls13 = split(TLS13_DEFAULT);
    for (key, kind) in [(Key::Ecdsa, "ECDSA"), (Key::Rsa, "RSA")] {
        let mut expected = tls13.clone();
        expected.extend([
            format!("ECDHE-{kind}-AES128-GCM-SHA256"),
            format!("ECDHE-{kind}-AES256-GCM-SHA384"),
            format!("ECDHE-{kind}-CHACHA20-POLY1305"),
        ]);
        let ctx = build(b, &pki.settings(key));
        assert_eq!(ctx.cipher_names(), expected);
        assert_eq!(ctx.versions(), [TlsVersion::Tls12, TlsVersion::Tls13]);
        assert_eq!(ctx.backend(), b.name);
        assert!(!ctx.verifies_clients());
        assert_eq!(ctx.session_stats(), SessionStats::default());
    }
    let tls13_only = build(
        b,
        &TlsSettings {
            min_version: TlsVersion::Tls13,
            ..pki.settings(Key::Rsa)
        },
    );
    assert_eq!(tls13_only.versions(), [TlsVersion::Tls13]);
    assert_eq!(tls13_only.cipher_names(), tls13);
}

pub fn every_known_cipher_as_the_capabilities_say(b: &Backend) {
    let pki = Pki::new();
    let oldest = if b.capabilities.legacy_versions {
        TlsVersion::Tls10
    } else {
        TlsVersion::Tls12
    };
    for suite in KNOWN {
        if suite.kind == SuiteKind::Tls13 && fixed_tls13(b) {
            continue; // fixed_tls13_suites_accept_the_set_or_none
        }
        let key = match suite.needs_key() {
            Some(KeyKind::Rsa) => Key::Rsa,
            _ => Key::Ecdsa,
        };
        let mut settings = TlsSettings {
            min_version: oldest,
            cipher_list: Vec::new(),
            ciphersuites: Vec::new(),
            ..pki.settings(key)
        };
        if suite.kind == SuiteKind::Tls13 {
            settings.ciphersuites.push(suite.openssl.to_string());
        } else {
            settings.cipher_list.push(suite.openssl.to_string());
        }
        match (b.build)(&settings) {
            Ok(ctx) => {
                assert!(
                    b.capabilities.can_negotiate(suite),
                    "{} was declared unsupported",
                    suite.openssl
                );
                assert_eq!(ctx.cipher_names(), [suite.openssl]);
            }
            Err(TlsError::Unsupported { backend, what, .. }) => {
                assert_eq!(backend, b.name);
                assert!(
                    !b.capabilities.can_negotiate(suite),
                    "{} was declared supported",
                    suite.openssl
                );
                assert!(
                    what.starts_with(&format!("cannot negotiate the cipher {}", suite.openssl)),
                    "{what}"
                );
            }
            Err(e) => panic!("{}: {e}", suite.openssl),
        }
    }
    let settings = TlsSettings {
        cipher_list: split("ECDHE-ECDSA-AES128-GCM-SHA256:NOPE-CIPHER"),
        ..pki.settings(Key::Ecdsa)
    };
    let err = build_err(b, &settings);
    assert!(
        matches!(&err, TlsError::UnknownCipher(name) if name == "NOPE-CIPHER"),
        "{err}"
    );
}

pub fn fixed_tls13_suites_accept_the_set_or_none(b: &Backend) {
    let Tls13Suites::Fixed(fixed) = b.capabilities.tls13_suites else {
        return;
    };
    let pki = Pki::new();
    for list in [
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256",
    ] {
        let settings = TlsSettings {
            ciphersuites: split(list),
            ..pki.settings(Key::Ecdsa)
        };
        let err = build_err(b, &settings);
        let TlsError::Unsupported { backend, what, .. } = &err else {
            panic!("{list}: {err}");
        };
        assert_eq!(*backend, b.name);
        assert!(
            what.starts_with("cannot restrict TLS 1.3 cipher suites"),
            "{what}"
        );
    }

    // The same set in another order is accepted (and reported as configured).
    let reordered: Vec<String> = fixed.iter().rev().map(|s| s.to_string()).collect();
    let ctx = build(
        b,
        &TlsSettings {
            ciphersuites: reordered.clone(),
            ..pki.settings(Key::Ecdsa)
        },
    );
    assert_eq!(ctx.cipher_names()[..fixed.len()], reordered);

    // No TLS 1.3 suite at all turns TLS 1.3 off.
    let settings = TlsSettings {
        ciphersuites: Vec::new(),
        ..pki.settings(Key::Ecdsa)
    };
    let ctx = build(b, &settings);
    assert_eq!(ctx.versions(), [TlsVersion::Tls12]);
    let (info, _) = handshake(&ctx, &*connector(b, &pki, tls13_only), None);
    assert!(matches!(info, Err(TlsError::Handshake { .. })), "{info:?}");
}

pub fn dhe_suite_is_negotiated_where_available(b: &Backend) {
    let name = "DHE-RSA-AES128-GCM-SHA256";
    let dhe = tlsql_tls_api::cipher::lookup(name).unwrap();
    if !b.capabilities.can_negotiate(dhe) {
        return;
    }
    let pki = Pki::new();
    let settings = TlsSettings {
        cipher_list: split(name),
        ..pki.settings(Key::Rsa)
    };
    let client = connector(b, &pki, |s| {
        s.cipher_list = split(name);
        tls12_only(s);
    });
    let (info, _) = handshake(&build(b, &settings), &*client, None);
    assert_eq!(info.unwrap().cipher, name);
}

pub fn client_without_a_common_suite_is_told_so(b: &Backend) {
    let pki = Pki::new();
    let ctx = build(
        b,
        &TlsSettings {
            cipher_list: split("ECDHE-ECDSA-AES128-GCM-SHA256"),
            ..pki.settings(Key::Ecdsa)
        },
    );
    let client = connector(b, &pki, |s| {
        s.cipher_list = split("ECDHE-ECDSA-CHACHA20-POLY1305");
        tls12_only(s);
    });
    let (info, seen) = handshake(&ctx, &*client, None);
    let (reason, message) = failure(&info);
    assert_eq!(reason, HandshakeFailure::NoSharedCipher, "{message}");
    assert!(
        message.starts_with("the client offers none of the configured cipher suites; "),
        "{message}"
    );
    assert!(seen.is_err());
}

pub fn no_suite_left_is_an_error(b: &Backend) {
    let pki = Pki::new();
    // An RSA key cannot use ECDSA suites, and no TLS 1.3 suite is configured.
    let err = build_err(
        b,
        &TlsSettings {
            ciphersuites: Vec::new(),
            cipher_list: split("ECDHE-ECDSA-AES128-GCM-SHA256"),
            ..pki.settings(Key::Rsa)
        },
    );
    assert!(matches!(err, TlsError::Library { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("no cipher suite is left to negotiate"),
        "{err}"
    );
}

pub fn groups_as_the_capabilities_say(b: &Backend) {
    let pki = Pki::new();
    for g in group::ALL {
        let settings = TlsSettings {
            groups: vec![g],
            groups_strict: true,
            ..pki.settings(Key::Ecdsa)
        };
        let built = (b.build)(&settings);
        if let Some(declared) = b.capabilities.has_group(g) {
            assert_eq!(built.is_ok(), declared, "{}: {built:?}", g.name);
        }
        let Ok(ctx) = built else {
            let err = built.unwrap_err();
            assert!(
                err.to_string().contains(&format!(
                    "cannot negotiate the key exchange group {}",
                    g.name
                )),
                "{err}"
            );
            continue;
        };
        assert_eq!(ctx.groups(), [g]);
        // The connector offers what its library has; this group is the only one they share.
        let client = connector(b, &pki, |s| s.groups = group::ALL.iter().collect());
        let (info, seen) = handshake(&ctx, &*client, None);
        assert_eq!(info.unwrap().group, Some(g), "{}", g.name);
        assert_eq!(seen.unwrap().group, Some(g));
    }
}

/// Two connections of one connector to `ctx`, the second offering the first one's session.
fn twice(
    ctx: &Arc<dyn TlsContext>,
    client: &dyn TlsConnector,
    identity: Option<&Arc<tlsql_tls_api::Identity>>,
) -> [TlsInfo; 2] {
    let (addr, server) = pong_server(ctx, 2);
    let first = ping(client, addr, "localhost", identity).unwrap();
    let second = ping(client, addr, "localhost", identity).unwrap();
    assert!(!first.resumed);
    let infos: Vec<TlsInfo> = server
        .join()
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(second.resumed, infos[1].resumed);
    infos.try_into().unwrap()
}

/// A rustls client for TLS 1.2 that resumes by session id only (never takes tickets).
fn session_id_client(pki: &Pki, identity: Option<&str>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(pki.certs("ca").remove(0)).unwrap();
    let builder = ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_protocol_versions(&[&TLS12])
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match identity {
        Some(stem) => builder
            .with_client_auth_cert(pki.certs(stem), pki.key(stem))
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.resumption =
        Resumption::in_memory_sessions(16).tls12_resumption(Tls12Resumption::SessionIdOnly);
    Arc::new(config)
}

/// One ping-pong of the session-id client; whether it resumed.
fn session_id_ping(config: &Arc<ClientConfig>, addr: SocketAddr) -> bool {
    let conn = ClientConnection::new(config.clone(), "localhost".try_into().unwrap()).unwrap();
    let mut s = StreamOwned::new(conn, net::tcp(addr));
    s.write_all(b"ping").unwrap();
    s.flush().unwrap();
    let mut buf = [0; 4];
    s.read_exact(&mut buf).unwrap();
    s.read_to_end(&mut Vec::new()).unwrap();
    s.conn.send_close_notify();
    s.flush().unwrap();
    s.conn.handshake_kind() == Some(HandshakeKind::Resumed)
}

pub fn resumption_keeps_the_client_certificate(b: &Backend) {
    let pki = Pki::new();
    let client_der = pki.cert_der("client");
    let identity = pki.identity("client");
    for (label, versions) in [
        ("TLSv1.2", tls12_only as fn(&mut ConnectorSettings)),
        ("TLSv1.3", tls13_only),
    ] {
        let ctx = build(b, &pki.verifying(Key::Ecdsa));
        let client = connector(b, &pki, versions);
        let (addr, server) = pong_server(&ctx, 2);
        let seen = ping(&*client, addr, "localhost", Some(&identity)).unwrap();
        // The server counted the first handshake before it answered.
        assert_eq!(
            ctx.session_stats(),
            SessionStats { hits: 0, misses: 0 },
            "{label}"
        );
        assert!(!seen.resumed, "{label}");
        assert!(
            ping(&*client, addr, "localhost", Some(&identity))
                .unwrap()
                .resumed,
            "{label}"
        );
        let [first, second]: [TlsInfo; 2] = server
            .join()
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
            .try_into()
            .unwrap();
        assert!(!first.resumed, "{label}");
        assert!(second.resumed, "{label}");
        assert_eq!(second.cipher, first.cipher, "{label}");
        assert_eq!(second.version, first.version, "{label}");
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

    // TLS 1.2 by session id.
    let ctx = build(b, &pki.verifying(Key::Ecdsa));
    let config = session_id_client(&pki, Some("client"));
    let (addr, server) = pong_server(&ctx, 2);
    assert!(!session_id_ping(&config, addr));
    assert!(session_id_ping(&config, addr), "TLSv1.2 session id");
    for info in server.join().unwrap() {
        assert_eq!(
            info.unwrap().peer_certificate.as_deref(),
            Some(&client_der[..])
        );
    }
    assert_eq!(ctx.session_stats(), SessionStats { hits: 1, misses: 0 });
}

pub fn resumption_without_a_client_certificate(b: &Backend) {
    let pki = Pki::new();
    for versions in [tls12_only as fn(&mut ConnectorSettings), tls13_only] {
        let ctx = build(b, &pki.verifying(Key::Rsa));
        let [_, second] = twice(&ctx, &*connector(b, &pki, versions), None);
        assert!(second.resumed);
        assert_eq!(second.peer_certificate, None);
    }
}

pub fn a_new_context_does_not_resume_an_old_ones_sessions(b: &Backend) {
    let pki = Pki::new();
    let identity = pki.identity("client");
    for (label, versions) in [
        ("TLSv1.2", tls12_only as fn(&mut ConnectorSettings)),
        ("TLSv1.3", tls13_only),
    ] {
        let settings = pki.verifying(Key::Ecdsa);
        let client = connector(b, &pki, versions);
        let old = build(b, &settings);
        let (addr, server) = pong_server(&old, 1);
        ping(&*client, addr, "localhost", Some(&identity)).unwrap();
        server.join().unwrap();

        let new = build(b, &settings);
        let (addr, server) = pong_server(&new, 1);
        let second = ping(&*client, addr, "localhost", Some(&identity)).unwrap();
        let info = server.join().unwrap().remove(0).unwrap();
        assert!(!info.resumed && !second.resumed, "{label}");
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
        assert_eq!(
            client.session_stats(),
            SessionStats { hits: 0, misses: 1 },
            "{label}"
        );
    }

    // TLS 1.2 by session id.
    let settings = pki.verifying(Key::Ecdsa);
    let config = session_id_client(&pki, Some("client"));
    let old = build(b, &settings);
    let (addr, server) = pong_server(&old, 1);
    session_id_ping(&config, addr);
    server.join().unwrap();
    let new = build(b, &settings);
    let (addr, server) = pong_server(&new, 1);
    assert!(!session_id_ping(&config, addr), "TLSv1.2 session id");
    let info = server.join().unwrap().remove(0).unwrap();
    assert!(!info.resumed);
    assert_eq!(
        info.peer_certificate.unwrap().to_vec(),
        pki.cert_der("client")
    );
    assert_eq!(old.session_stats(), SessionStats { hits: 0, misses: 0 });
    assert_eq!(new.session_stats(), SessionStats { hits: 0, misses: 1 });
}

pub fn session_cache_off_never_resumes(b: &Backend) {
    let pki = Pki::new();
    let off_settings = TlsSettings {
        session_cache: false,
        ..pki.settings(Key::Ecdsa)
    };
    for (label, versions) in [
        ("TLSv1.2", tls12_only as fn(&mut ConnectorSettings)),
        ("TLSv1.3", tls13_only),
    ] {
        let client = connector(b, &pki, versions);
        let off = build(b, &off_settings);
        let (addr, server) = pong_server(&off, 3);
        for _ in 0..3 {
            assert!(
                !ping(&*client, addr, "localhost", None).unwrap().resumed,
                "{label}"
            );
        }
        assert!(
            server
                .join()
                .unwrap()
                .into_iter()
                .all(|i| !i.unwrap().resumed)
        );
        assert_eq!(off.session_stats().hits, 0, "{label}");

        // A session the client got elsewhere is offered, and counted as a miss.
        let client = connector(b, &pki, versions);
        let on = build(b, &pki.settings(Key::Ecdsa));
        let (addr, server) = pong_server(&on, 1);
        ping(&*client, addr, "localhost", None).unwrap();
        server.join().unwrap();
        let off = build(b, &off_settings);
        let (addr, server) = pong_server(&off, 1);
        let seen = ping(&*client, addr, "localhost", None).unwrap();
        assert!(!seen.resumed, "{label}");
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

pub fn sessions_expire_after_the_configured_timeout(b: &Backend) {
    let pki = Pki::new();
    for (label, versions) in [
        ("TLSv1.2", tls12_only as fn(&mut ConnectorSettings)),
        ("TLSv1.3", tls13_only),
    ] {
        let ctx = build(
            b,
            &TlsSettings {
                session_timeout: Duration::from_secs(1),
                ..pki.settings(Key::Ecdsa)
            },
        );
        let client = connector(b, &pki, versions);
        let (addr, server) = pong_server(&ctx, 1);
        ping(&*client, addr, "localhost", None).unwrap();
        server.join().unwrap();
        // The C libraries compare whole seconds: wait past the next boundary plus the timeout.
        thread::sleep(Duration::from_millis(2_500));
        let (addr, server) = pong_server(&ctx, 1);
        let second = ping(&*client, addr, "localhost", None).unwrap();
        let info = server.join().unwrap().remove(0).unwrap();
        assert!(
            !info.resumed && !second.resumed,
            "{label}: an expired session resumed"
        );
        // A client may know the session expired and not offer it (OpenSSL's reads the ticket
        // lifetime); what it offered, the server counts as a miss.
        let offered = client.session_stats().misses;
        assert_eq!(
            ctx.session_stats(),
            SessionStats {
                hits: 0,
                misses: offered
            },
            "{label}"
        );
    }
}

pub fn four_mebibytes_each_way(b: &Backend) {
    const SIZE: usize = 4 << 20;
    let pki = Pki::new();
    let ctx = build(b, &pki.settings(Key::Ecdsa));
    let (addr, server) = serve(&ctx, 1, |stream| {
        let mut buf = vec![0; SIZE];
        stream.read_exact(&mut buf).unwrap();
        stream.write_all(&buf).unwrap();
        stream.flush().unwrap();
        // The client closes with close_notify: a clean end of stream.
        assert_eq!(stream.read(&mut [0; 1]).unwrap(), 0);
        stream.shutdown().unwrap();
    });
    let data: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    let client = connector(b, &pki, defaults);
    let mut stream = client
        .connect(Box::new(net::tcp(addr)), "localhost", None)
        .unwrap();
    // A reader thread is not needed: the server reads everything before it answers.
    stream.write_all(&data).unwrap();
    stream.flush().unwrap();
    let mut back = vec![0; SIZE];
    stream.read_exact(&mut back).unwrap();
    assert!(back == data, "the echoed bytes differ");
    stream.shutdown().unwrap();
    server.join().unwrap().remove(0).unwrap();
}

pub fn end_of_stream_with_and_without_close_notify(b: &Backend) {
    let pki = Pki::new();
    for clean in [true, false] {
        let ctx = build(b, &pki.settings(Key::Ecdsa));
        let (addr, server) = serve(&ctx, 1, move |stream| {
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
        let client = connector(b, &pki, defaults);
        let mut stream = client
            .connect(Box::new(net::tcp(addr)), "localhost", None)
            .unwrap();
        stream.write_all(b"ping").unwrap();
        stream.flush().unwrap();
        stream.read_exact(&mut [0; 4]).unwrap();
        if clean {
            stream.shutdown().unwrap();
        }
        drop(stream);
        server.join().unwrap().remove(0).unwrap();
    }
}
