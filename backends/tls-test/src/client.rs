//! Connectors: what every backend's `build_connector` must do alike, each against its own
//! backend's server context and against the rustls one.

use std::sync::Arc;

use tlsql_tls_api::{
    ConnectorSettings, HandshakeFailure, Identity, ServerVerify, SessionStats, TlsConnector,
    TlsContext, TlsError, TlsInfo, TlsSettings, TlsVersion,
};

use crate::Backend;
use crate::net::{Outcome, ping, pong_server};
use crate::pki::{Key, Pki, split};
use crate::server::{build, connector, failure};

/// The server contexts a connector is tried against: its own backend's and rustls'.
fn servers(b: &Backend, settings: &TlsSettings) -> Vec<(&'static str, Arc<dyn TlsContext>)> {
    vec![
        (b.name, build(b, settings)),
        (
            tlsql_tls_rustls::NAME,
            tlsql_tls_rustls::build(settings).unwrap(),
        ),
    ]
}

/// One connection of `client` to `name` on a fresh server of `ctx`.
fn connect(
    ctx: &Arc<dyn TlsContext>,
    client: &dyn TlsConnector,
    name: &str,
    identity: Option<&Arc<Identity>>,
) -> (Outcome, Result<TlsInfo, TlsError>) {
    let (addr, server) = pong_server(ctx, 1);
    let seen = ping(client, addr, name, identity);
    (server.join().unwrap().remove(0), seen)
}

fn verifying(verify: ServerVerify) -> impl FnOnce(&mut ConnectorSettings) {
    move |s| s.verify = verify
}

pub fn verify_identity_accepts_a_dns_name_and_an_ip(b: &Backend) {
    let pki = Pki::new();
    let client = connector(b, &pki, |_| {});
    for (server, ctx) in servers(b, &pki.settings(Key::Ecdsa)) {
        for name in ["localhost", "127.0.0.1"] {
            let (info, seen) = connect(&ctx, &*client, name, None);
            let seen = seen.unwrap_or_else(|e| panic!("{server} {name}: {e}"));
            assert_eq!(
                seen.peer_certificate.unwrap().to_vec(),
                pki.cert_der("server-ecdsa"),
                "{server} {name}"
            );
            assert_eq!(info.unwrap().peer_certificate, None);
        }
    }
}

pub fn another_name_fails_verify_identity_but_passes_verify_ca(b: &Backend) {
    let pki = Pki::new();
    let settings = pki.settings_from("server-other-name.pem", "server-other-name-key.pem");
    let identity = connector(b, &pki, |_| {});
    let ca = connector(b, &pki, verifying(ServerVerify::Ca));
    for (server, ctx) in servers(b, &settings) {
        for name in ["localhost", "127.0.0.1"] {
            let (info, seen) = connect(&ctx, &*identity, name, None);
            let (reason, message) = failure(&seen.map(|_| panic!("{server} {name}: accepted")));
            assert_eq!(
                reason,
                HandshakeFailure::NameMismatch,
                "{server}: {message}"
            );
            assert!(
                message.starts_with(&format!(
                    "the server certificate did not verify: it is for DNS:other.example, not for {name}; "
                )),
                "{server}: {message}"
            );
            assert!(info.is_err(), "{server} {name}");
            let (info, seen) = connect(&ctx, &*ca, name, None);
            info.unwrap();
            seen.unwrap_or_else(|e| panic!("{server} {name} verify-ca: {e}"));
        }
    }
}

pub fn another_ca_fails_verify_ca_but_passes_none(b: &Backend) {
    let pki = Pki::new();
    let settings = pki.settings_from("server-foreign.pem", "server-foreign-key.pem");
    let ca = connector(b, &pki, verifying(ServerVerify::Ca));
    let none = connector(b, &pki, verifying(ServerVerify::None));
    for (server, ctx) in servers(b, &settings) {
        let (_, seen) = connect(&ctx, &*ca, "localhost", None);
        let (reason, message) = failure(&seen.map(|_| panic!("{server}: accepted")));
        assert_eq!(reason, HandshakeFailure::UnknownCa, "{server}: {message}");
        assert!(
            message.starts_with(
                "the server certificate did not verify: it is not signed by a CA of the \
                 configured roots (its issuer is /CN=foreign CA); "
            ),
            "{server}: {message}"
        );
        let (info, seen) = connect(&ctx, &*none, "localhost", None);
        info.unwrap();
        assert_eq!(
            seen.unwrap().peer_certificate.unwrap().to_vec(),
            pki.cert_der("server-foreign")
        );
    }
}

pub fn expired_server_certificate_fails(b: &Backend) {
    let pki = Pki::new();
    let settings = pki.settings_unchecked("server-expired");
    for verify in [ServerVerify::Identity, ServerVerify::Ca] {
        let client = connector(b, &pki, verifying(verify));
        for (server, ctx) in servers(b, &settings) {
            let (_, seen) = connect(&ctx, &*client, "localhost", None);
            let (reason, message) = failure(&seen.map(|_| panic!("{server}: accepted")));
            assert_eq!(reason, HandshakeFailure::Expired, "{server}: {message}");
            assert!(
                message.starts_with("the server certificate did not verify: it expired on "),
                "{server}: {message}"
            );
        }
    }
}

pub fn client_identity_reaches_the_server(b: &Backend) {
    let pki = Pki::new();
    let client = connector(b, &pki, |_| {});
    let identity = pki.identity("client");
    for (server, ctx) in servers(b, &pki.verifying(Key::Ecdsa)) {
        let (info, seen) = connect(&ctx, &*client, "localhost", Some(&identity));
        seen.unwrap();
        assert_eq!(
            info.unwrap().peer_certificate.unwrap().to_vec(),
            pki.cert_der("client"),
            "{server}"
        );
    }
}

pub fn identities_alternate(b: &Backend) {
    let pki = Pki::new();
    let client = connector(b, &pki, |s| s.session_cache = false);
    let (a, other) = (pki.identity("client"), pki.identity("client-b"));
    let order = [Some(&a), Some(&other), Some(&a), None, Some(&other), None];
    for (server, ctx) in servers(b, &pki.verifying(Key::Ecdsa)) {
        let (addr, outcomes) = pong_server(&ctx, order.len());
        for identity in order {
            ping(&*client, addr, "localhost", identity).unwrap();
        }
        for (identity, outcome) in order.iter().zip(outcomes.join().unwrap()) {
            assert_eq!(
                outcome.unwrap().peer_certificate,
                identity.map(|i| i.chain[0].clone()),
                "{server}"
            );
        }
    }
}

pub fn resumption_per_identity(b: &Backend) {
    let pki = Pki::new();
    let (a, other) = (pki.identity("client"), pki.identity("client-b"));
    // Each step: the identity presented, and whether the connection resumes.
    let steps = [
        (Some(&a), false),
        (Some(&a), true),
        (Some(&other), false),
        (None, false),
        (None, true),
        (Some(&other), true),
        (Some(&a), true),
    ];
    for versions in [TlsVersion::Tls12, TlsVersion::Tls13] {
        for (server, ctx) in servers(b, &pki.verifying(Key::Ecdsa)) {
            let client = connector(b, &pki, |s| {
                s.min_version = versions;
                s.max_version = versions;
            });
            let (addr, outcomes) = pong_server(&ctx, steps.len());
            for (identity, resumes) in steps {
                let seen = ping(&*client, addr, "localhost", identity).unwrap();
                assert_eq!(seen.resumed, resumes, "{server} {versions}");
            }
            for ((identity, resumes), outcome) in steps.iter().zip(outcomes.join().unwrap()) {
                let info = outcome.unwrap();
                assert_eq!(info.resumed, *resumes, "{server} {versions}");
                // A resumed session carries the certificate of its own identity, never another.
                assert_eq!(info.peer_certificate, identity.map(|i| i.chain[0].clone()));
            }
            // Four resumptions, and never a session of another identity offered.
            assert_eq!(
                client.session_stats(),
                SessionStats { hits: 4, misses: 0 },
                "{server} {versions}"
            );
        }
    }
}

pub fn versions_and_suites_are_honoured(b: &Backend) {
    let pki = Pki::new();
    for (server, ctx) in servers(b, &pki.settings(Key::Ecdsa)) {
        let tls13 = connector(b, &pki, |s| s.min_version = TlsVersion::Tls13);
        let (_, seen) = connect(&ctx, &*tls13, "localhost", None);
        assert_eq!(seen.unwrap().version, TlsVersion::Tls13, "{server}");
        let tls12 = connector(b, &pki, |s| {
            s.max_version = TlsVersion::Tls12;
            s.cipher_list = split("ECDHE-ECDSA-CHACHA20-POLY1305");
        });
        let (info, seen) = connect(&ctx, &*tls12, "localhost", None);
        let seen = seen.unwrap();
        assert_eq!(
            (seen.version, seen.cipher.as_str()),
            (TlsVersion::Tls12, "ECDHE-ECDSA-CHACHA20-POLY1305"),
            "{server}"
        );
        assert_eq!(info.unwrap().cipher, seen.cipher);
    }
    // A TLS 1.3 connector against a server that stops at TLS 1.2.
    let tls12_server = TlsSettings {
        ciphersuites: Vec::new(),
        ..pki.settings(Key::Ecdsa)
    };
    let tls13 = connector(b, &pki, |s| s.min_version = TlsVersion::Tls13);
    for (server, ctx) in servers(b, &tls12_server) {
        let (_, seen) = connect(&ctx, &*tls13, "localhost", None);
        let (reason, message) = failure(&seen.map(|_| panic!("{server}: accepted")));
        assert_eq!(reason, HandshakeFailure::Protocol, "{server}: {message}");
    }
}

pub fn verification_without_roots_is_a_settings_error(b: &Backend) {
    let pki = Pki::new();
    for verify in [ServerVerify::Identity, ServerVerify::Ca] {
        let settings = ConnectorSettings {
            roots: Vec::new(),
            verify,
            ..pki.connector()
        };
        let err = (b.connector)(&settings).unwrap_err();
        assert!(matches!(err, TlsError::ClientSettings(_)), "{err}");
    }
    let settings = ConnectorSettings {
        roots: Vec::new(),
        verify: ServerVerify::None,
        ..pki.connector()
    };
    assert_eq!((b.connector)(&settings).unwrap().backend(), b.name);
}
