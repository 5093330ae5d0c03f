//! Key exchange groups: what each backend offers, what a session negotiated (`Ssl_group`),
//! and settings a backend cannot apply, which stop the server instead of turning TLS off.

use ::rustls::crypto::SupportedKxGroup;
use ::rustls::crypto::aws_lc_rs::kx_group::{SECP256R1, SECP384R1, X25519, X25519MLKEM768};
use tlsql::config::TlsBackendKind;
use tlsql_tls_api::TlsVersion;
use tlsql_tls_api::group;

use crate::tls::{fixture, server_with};
use crate::util::TestServer;
use crate::util::certs::Key;
use crate::util::raw::{RawClient, TlsOptions};

crate::backend_suite!(
    the_default_list_keeps_the_groups_the_backend_has,
    each_group_a_client_offers_alone_is_negotiated_and_reported,
    a_client_preferring_the_hybrid_gets_it_where_the_backend_has_it,
    an_explicit_list_is_offered_exactly,
    settings_the_backend_cannot_apply_refuse_to_start,
);

/// Whether the backend's library has the post-quantum hybrid: rustls (aws-lc-rs) and
/// BoringSSL do; Debian 12's OpenSSL 3.0 does not.
fn has_hybrid(backend: TlsBackendKind) -> bool {
    backend != TlsBackendKind::Openssl
}

/// One change to a configuration, as a test step.
type ConfigChange = Box<dyn Fn(&mut tlsql::config::Config)>;

fn offering(
    f: &crate::tls::Fixture,
    groups: &[&'static dyn SupportedKxGroup],
    version: &'static ::rustls::SupportedProtocolVersion,
) -> TlsOptions {
    TlsOptions {
        ca: Some(f.ca.cert.clone()),
        groups: Some(groups.to_vec()),
        versions: Some(vec![version]),
        ..Default::default()
    }
}

/// What the client itself saw negotiated, in tlsql's names.
fn client_group(c: &RawClient) -> Option<&'static str> {
    let named = c.tls_connection()?.negotiated_key_exchange_group()?.name();
    group::by_iana(u16::from(named)).map(|g| g.name)
}

mod cases {
    use super::*;

    pub(super) fn the_default_list_keeps_the_groups_the_backend_has(backend: TlsBackendKind) {
        let (server, f) = server_with(backend, Key::Ecdsa);
        let expected = if has_hybrid(backend) {
            "X25519MLKEM768:X25519:P-256:P-384"
        } else {
            "X25519:P-256:P-384"
        };
        let mut c = RawClient::connect(server.addr).unwrap();
        c.start_tls(&offering(&f, &[X25519], &::rustls::version::TLS13))
            .unwrap();
        c.login("root", "", None).unwrap();
        assert_eq!(c.status("Current_tls_groups"), expected);
        let rows = c.query("SELECT @@tls_groups, @@global.tls_groups").unwrap();
        assert_eq!(rows[0][0].as_deref(), Some(expected));
        assert_eq!(rows[0][1].as_deref(), Some(expected));
        let global = c.query("SHOW GLOBAL STATUS LIKE 'Ssl_group'").unwrap();
        assert_eq!(global[0][1].as_deref(), Some(""), "no group server-wide");

        let mut plain = RawClient::connect(server.addr).unwrap();
        plain.login("root", "", None).unwrap();
        assert_eq!(plain.status("Ssl_group"), "");
        assert_eq!(plain.status("Current_tls_groups"), expected);
    }

    pub(super) fn each_group_a_client_offers_alone_is_negotiated_and_reported(
        backend: TlsBackendKind,
    ) {
        let (server, f) = server_with(backend, Key::Ecdsa);
        let cases: [(&'static dyn SupportedKxGroup, &str, bool); 4] = [
            (X25519MLKEM768, "X25519MLKEM768", has_hybrid(backend)),
            (X25519, "X25519", true),
            (SECP256R1, "P-256", true),
            (SECP384R1, "P-384", true),
        ];
        for (kx, name, offered) in cases {
            let mut c = RawClient::connect(server.addr).unwrap();
            let started = c.start_tls(&offering(&f, &[kx], &::rustls::version::TLS13));
            if !offered {
                assert!(
                    started.is_err() || c.login("root", "", None).is_err(),
                    "{backend:?} cannot do {name}, so a client offering only it must fail"
                );
                continue;
            }
            started.unwrap();
            c.login("root", "", None).unwrap();
            assert_eq!(c.status("Ssl_group"), name, "{backend:?}");
            assert_eq!(client_group(&c), Some(name), "the client agrees");
            assert_eq!(c.status("Ssl_version"), TlsVersion::Tls13.as_str());
        }
        // TLS 1.2 has a key exchange group too (ECDHE). Only P-256: in TLS 1.2 the client's
        // groups also bound the curve of an ECDSA certificate, and OpenSSL enforces that.
        let mut c = RawClient::connect(server.addr).unwrap();
        c.start_tls(&offering(&f, &[SECP256R1], &::rustls::version::TLS12))
            .unwrap();
        c.login("root", "", None).unwrap();
        assert_eq!(c.status("Ssl_version"), "TLSv1.2");
        assert_eq!(c.status("Ssl_group"), "P-256");
        assert_eq!(client_group(&c), Some("P-256"));
    }

    pub(super) fn a_client_preferring_the_hybrid_gets_it_where_the_backend_has_it(
        backend: TlsBackendKind,
    ) {
        let (server, f) = server_with(backend, Key::Ecdsa);
        let mut c = RawClient::connect(server.addr).unwrap();
        c.start_tls(&offering(
            &f,
            &[X25519MLKEM768, X25519],
            &::rustls::version::TLS13,
        ))
        .unwrap();
        c.login("root", "", None).unwrap();
        let expected = if has_hybrid(backend) {
            "X25519MLKEM768"
        } else {
            "X25519"
        };
        assert_eq!(c.status("Ssl_group"), expected);
        assert_eq!(client_group(&c), Some(expected));
    }

    pub(super) fn an_explicit_list_is_offered_exactly(backend: TlsBackendKind) {
        let server = TestServer::start_with(|c, dir| {
            let f = fixture(dir, Key::Ecdsa);
            c.security.tls_backend = backend;
            c.security.ssl_cert = Some(f.server.cert.clone());
            c.security.ssl_key = Some(f.server.key.clone());
            c.security.tls_groups = group::parse_list("P-384:X25519").unwrap();
        });
        let mut c = RawClient::connect(server.addr).unwrap();
        c.start_tls(&TlsOptions {
            groups: Some(vec![X25519]),
            ..Default::default()
        })
        .unwrap();
        c.login("root", "", None).unwrap();
        assert_eq!(c.status("Current_tls_groups"), "P-384:X25519");
        assert_eq!(c.status("Ssl_group"), "X25519");
        // P-256 is not in the list: a client offering only it finds no group in common.
        let mut c = RawClient::connect(server.addr).unwrap();
        let refused = c
            .start_tls(&TlsOptions {
                groups: Some(vec![SECP256R1]),
                ..Default::default()
            })
            .is_err()
            || c.login("root", "", None).is_err();
        assert!(refused, "P-256 was not configured");
    }

    /// Asking a backend for what it cannot do stops the server with a message naming the
    /// backend and the setting: serving plaintext instead would give the operator less than
    /// asked for.
    pub(super) fn settings_the_backend_cannot_apply_refuse_to_start(backend: TlsBackendKind) {
        let unusable_group = if has_hybrid(backend) {
            "X448"
        } else {
            "X25519MLKEM768"
        };
        let mut attempts: Vec<(&str, ConfigChange, String)> = vec![(
            "tls-groups",
            Box::new(move |c| {
                c.security.tls_groups =
                    group::parse_list(&format!("X25519:{unusable_group}")).unwrap()
            }),
            format!(
                "the {} backend cannot negotiate the key exchange group {unusable_group}",
                backend.name()
            ),
        )];
        match backend {
            TlsBackendKind::Boring => attempts.push((
                "tls-ciphersuites",
                Box::new(|c| c.security.tls_ciphersuites = vec!["TLS_AES_128_GCM_SHA256".into()]),
                "the boring backend cannot restrict TLS 1.3 cipher suites".to_string(),
            )),
            TlsBackendKind::Rustls => attempts.push((
                "tls-version",
                Box::new(|c| c.security.tls_version = TlsVersion::Tls11),
                "the rustls backend does not support TLSv1.0 or TLSv1.1".to_string(),
            )),
            // OpenSSL applies every version and suite tlsql knows; its gap is the hybrid group.
            TlsBackendKind::Openssl => {}
        }
        for (setting, apply, expected) in attempts {
            let dir = tempfile::tempdir().unwrap();
            let mut config = TestServer::config(dir.path());
            let f = fixture(dir.path(), Key::Ecdsa);
            config.security.tls_backend = backend;
            config.security.ssl_cert = Some(f.server.cert.clone());
            config.security.ssl_key = Some(f.server.key.clone());
            apply(&mut config);
            let err = tlsql::server::Server::start(config)
                .err()
                .unwrap_or_else(|| panic!("{setting}: must refuse to start, not serve plaintext"));
            let msg = err.to_string();
            assert!(
                msg.contains(&expected) && msg.contains("refusing to start"),
                "{setting}: {msg}"
            );
        }
    }
}
