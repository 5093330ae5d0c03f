//! The TLS suite: written once, instantiated for every backend compiled into this build by
//! `backend_suite!`, so rustls, OpenSSL and BoringSSL are held to the same behaviour.

use std::time::Duration;

use mysql::prelude::Queryable;
use rcgen::DnType;
use tlsql::config::TlsBackendKind;

use crate::util::TestServer;
use crate::util::certs::{Ca, Key, Pair};
use crate::util::raw::{RawClient, TlsOptions};

crate::backend_suite!(
    plain_connection_reports_no_tls,
    tls12_and_tls13_report_version_and_cipher,
    rsa_certificate_negotiates_rsa_suites,
    status_variables_describe_the_context,
    client_certificate_valid_foreign_and_absent,
    client_rejects_a_server_from_another_ca,
    expired_or_mismatched_server_certificate_disables_tls,
    expired_certificate_with_require_secure_transport_refuses_to_start,
    pipelined_client_hello_is_not_lost,
    delayed_client_hello_is_waited_for,
    minimum_version_tls13_refuses_tls12_clients,
    mysql_crate_verifies_the_auto_tls_ca,
    large_values_arrive_whole_in_both_protocols,
);

/// Certificates for one test: a CA, a server certificate, a client certificate from that CA
/// and one from a foreign CA.
pub(crate) struct Fixture {
    pub(crate) ca: Ca,
    pub(crate) server: Pair,
    pub(crate) client: Pair,
    pub(crate) foreign_client: Pair,
}

pub(crate) fn fixture(dir: &std::path::Path, key: Key) -> Fixture {
    let ca = Ca::new(&dir.join("pki"), "test");
    let foreign = Ca::new(&dir.join("foreign"), "foreign");
    let server = ca.server("server", key);
    let subject = [
        (DnType::CountryName, "SE"),
        (DnType::OrganizationName, "tlsql tests"),
        (DnType::CommonName, "client"),
    ];
    let client = ca.client("client", &subject, vec![]);
    let foreign_client = foreign.client("foreign-client", &subject, vec![]);
    Fixture {
        ca,
        server,
        client,
        foreign_client,
    }
}

/// A server on `backend` with the fixture's certificates and CA.
pub(crate) fn server_with(backend: TlsBackendKind, key: Key) -> (TestServer, Fixture) {
    let mut fx = None;
    let server = TestServer::start_with(|c, dir| {
        let f = fixture(dir, key);
        c.security.tls_backend = backend;
        c.security.ssl_cert = Some(f.server.cert.clone());
        c.security.ssl_key = Some(f.server.key.clone());
        c.security.ssl_ca = Some(f.ca.cert.clone());
        fx = Some(f);
    });
    (server, fx.unwrap())
}

fn verified(f: &Fixture) -> TlsOptions {
    TlsOptions {
        ca: Some(f.ca.cert.clone()),
        ..Default::default()
    }
}

mod cases {
    use super::*;

    pub(super) fn plain_connection_reports_no_tls(backend: TlsBackendKind) {
        let (server, _) = server_with(backend, Key::Ecdsa);
        let mut c = RawClient::connect(server.addr).unwrap();
        assert!(c.offers_tls());
        c.login("root", "", None).unwrap();
        assert_eq!(c.status("Ssl_cipher"), "");
        assert_eq!(c.status("Ssl_version"), "");
        assert_eq!(c.status("Ssl_verify_mode"), "0");
        assert_eq!(c.status("Tls_backend"), backend.name());
        // Server-wide values are there even on a plain session, as in MySQL.
        assert!(!c.status("Ssl_server_not_after").is_empty());
    }

    pub(super) fn tls12_and_tls13_report_version_and_cipher(backend: TlsBackendKind) {
        let (server, f) = server_with(backend, Key::Ecdsa);
        for (version, name, cipher) in [
            (
                &::rustls::version::TLS13,
                "TLSv1.3",
                "TLS_AES_128_GCM_SHA256",
            ),
            (
                &::rustls::version::TLS12,
                "TLSv1.2",
                "ECDHE-ECDSA-AES128-GCM-SHA256",
            ),
        ] {
            let mut c = RawClient::connect(server.addr).unwrap();
            let opts = TlsOptions {
                versions: Some(vec![version]),
                ..verified(&f)
            };
            c.start_tls(&opts).unwrap();
            c.login("root", "", None).unwrap();
            assert_eq!(c.status("Ssl_version"), name);
            // BoringSSL follows the client's TLS 1.3 order (documented); the others the server's.
            if !(backend == TlsBackendKind::Boring && name == "TLSv1.3") {
                assert_eq!(c.status("Ssl_cipher"), cipher, "{name}");
            }
            let negotiated = c
                .tls_connection()
                .unwrap()
                .negotiated_cipher_suite()
                .unwrap();
            let iana = format!("{:?}", negotiated.suite()).replace("TLS13_", "TLS_");
            let expected = tlsql_tls_api::cipher::lookup(&c.status("Ssl_cipher"))
                .unwrap()
                .iana;
            assert_eq!(
                iana, expected,
                "Ssl_cipher names the suite really negotiated"
            );
        }
    }

    pub(super) fn rsa_certificate_negotiates_rsa_suites(backend: TlsBackendKind) {
        let (server, f) = server_with(backend, Key::Rsa);
        let mut c = RawClient::connect(server.addr).unwrap();
        let opts = TlsOptions {
            versions: Some(vec![&::rustls::version::TLS12]),
            ..verified(&f)
        };
        c.start_tls(&opts).unwrap();
        c.login("root", "", None).unwrap();
        assert_eq!(c.status("Ssl_cipher"), "ECDHE-RSA-AES128-GCM-SHA256");
        let list = c.status("Ssl_cipher_list");
        assert!(
            list.contains("ECDHE-RSA-AES256-GCM-SHA384") && !list.contains("ECDSA"),
            "{list}"
        );
    }

    pub(super) fn status_variables_describe_the_context(backend: TlsBackendKind) {
        let (server, f) = server_with(backend, Key::Ecdsa);
        let mut c = RawClient::connect(server.addr).unwrap();
        c.start_tls(&verified(&f)).unwrap();
        c.login("root", "", None).unwrap();
        assert_eq!(
            c.status("Ssl_cipher_list"),
            "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305"
        );
        assert_eq!(c.status("Ssl_verify_mode"), "5");
        let not_after = c.status("Ssl_server_not_after");
        let re = regex_like_openssl_date(&not_after);
        assert!(re, "Ssl_server_not_after format: {not_after:?}");
        assert_eq!(
            c.status("Current_tls_cert"),
            f.server.cert.display().to_string()
        );
        assert_eq!(c.status("Current_tls_ca"), f.ca.cert.display().to_string());
        let rows = c
            .query("SELECT @@have_ssl, @@tls_version, @@ssl_ca")
            .unwrap();
        assert_eq!(rows[0][0].as_deref(), Some("YES"));
        assert_eq!(rows[0][1].as_deref(), Some("TLSv1.2,TLSv1.3"));
        assert_eq!(rows[0][2].as_deref(), Some(f.ca.cert.to_str().unwrap()));
        let accepts: u64 = c
            .query("SHOW GLOBAL STATUS LIKE 'Ssl_finished_accepts'")
            .unwrap()[0][1]
            .as_deref()
            .unwrap()
            .parse()
            .unwrap();
        assert!(accepts >= 1);
    }

    pub(super) fn client_certificate_valid_foreign_and_absent(backend: TlsBackendKind) {
        let (server, f) = server_with(backend, Key::Ecdsa);
        server
            .root()
            .query_drop("CREATE USER 'cert'@'%' IDENTIFIED BY 'pw' REQUIRE X509")
            .unwrap();
        // Valid certificate: logs in.
        let mut c = RawClient::connect(server.addr).unwrap();
        let opts = TlsOptions {
            identity: Some((f.client.cert.clone(), f.client.key.clone())),
            ..verified(&f)
        };
        c.start_tls(&opts).unwrap();
        c.login("cert", "pw", None).unwrap();
        // From a foreign CA: the handshake itself fails.
        let mut c = RawClient::connect(server.addr).unwrap();
        let opts = TlsOptions {
            identity: Some((f.foreign_client.cert.clone(), f.foreign_client.key.clone())),
            ..verified(&f)
        };
        let failed = c.start_tls(&opts).is_err() || c.login("cert", "pw", None).is_err();
        assert!(failed, "a certificate from a foreign CA must not get in");
        // Absent: TLS works, but the X509 account is refused like a bad password.
        let mut c = RawClient::connect(server.addr).unwrap();
        c.start_tls(&verified(&f)).unwrap();
        let e = c.login("cert", "pw", None).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                1045,
                "Access denied for user 'cert'@'127.0.0.1' (using password: YES)"
            )
        );
        assert!(server.root().ping().is_ok());
    }

    pub(super) fn client_rejects_a_server_from_another_ca(backend: TlsBackendKind) {
        let (server, _) = server_with(backend, Key::Ecdsa);
        let other = Ca::new(&server.dir.path().join("other"), "other");
        let mut c = RawClient::connect(server.addr).unwrap();
        let err = c
            .start_tls(&TlsOptions {
                ca: Some(other.cert.clone()),
                ..Default::default()
            })
            .unwrap_err();
        assert!(
            err.contains("UnknownIssuer") || err.contains("issuer"),
            "{err}"
        );
        assert!(server.root().ping().is_ok());
    }

    pub(super) fn expired_or_mismatched_server_certificate_disables_tls(backend: TlsBackendKind) {
        for broken in ["expired", "mismatched"] {
            let server = TestServer::start_with(|c, dir| {
                let f = fixture(dir, Key::Ecdsa);
                c.security.tls_backend = backend;
                let expired = f.ca.server_valid("expired", Key::Ecdsa, -30, -1);
                let other = f.ca.server("other", Key::Ecdsa);
                c.security.ssl_cert = Some(if broken == "expired" {
                    expired.cert
                } else {
                    f.server.cert.clone()
                });
                c.security.ssl_key = Some(if broken == "expired" {
                    expired.key
                } else {
                    other.key
                });
            });
            let c = RawClient::connect(server.addr).unwrap();
            assert!(
                !c.offers_tls(),
                "{broken}: CLIENT_SSL advertised without a usable context"
            );
            let mut root = server.root();
            let have: String = root.query_first("SELECT @@have_ssl").unwrap().unwrap();
            assert_eq!(have, "DISABLED");
        }
    }

    pub(super) fn expired_certificate_with_require_secure_transport_refuses_to_start(
        backend: TlsBackendKind,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut config = TestServer::config(dir.path());
        let f = fixture(dir.path(), Key::Ecdsa);
        let expired = f.ca.server_valid("expired", Key::Ecdsa, -30, -1);
        config.security.tls_backend = backend;
        config.security.ssl_cert = Some(expired.cert.clone());
        config.security.ssl_key = Some(expired.key);
        config.security.require_secure_transport = true;
        let err = tlsql::server::Server::start(config)
            .err()
            .expect("must refuse to start");
        let msg = err.to_string();
        assert!(
            msg.contains("certificate expired on") && msg.contains(expired.cert.to_str().unwrap()),
            "{msg}"
        );
    }

    pub(super) fn pipelined_client_hello_is_not_lost(backend: TlsBackendKind) {
        let (server, f) = server_with(backend, Key::Ecdsa);
        let mut c = RawClient::connect(server.addr).unwrap();
        c.start_tls(&TlsOptions {
            pipelined: true,
            ..verified(&f)
        })
        .unwrap();
        c.login("root", "", None).unwrap();
        assert!(!c.status("Ssl_cipher").is_empty());
    }

    pub(super) fn delayed_client_hello_is_waited_for(backend: TlsBackendKind) {
        let (server, f) = server_with(backend, Key::Ecdsa);
        let mut c = RawClient::connect(server.addr).unwrap();
        c.start_tls(&TlsOptions {
            delay: Some(Duration::from_millis(300)),
            ..verified(&f)
        })
        .unwrap();
        c.login("root", "", None).unwrap();
        assert!(!c.status("Ssl_cipher").is_empty());
    }

    pub(super) fn minimum_version_tls13_refuses_tls12_clients(backend: TlsBackendKind) {
        let server = TestServer::start_with(|c, dir| {
            let f = fixture(dir, Key::Ecdsa);
            c.security.tls_backend = backend;
            c.security.ssl_cert = Some(f.server.cert);
            c.security.ssl_key = Some(f.server.key);
            c.security.tls_version = tlsql_tls_api::TlsVersion::Tls13;
        });
        let mut c = RawClient::connect(server.addr).unwrap();
        assert!(
            c.start_tls(&TlsOptions {
                versions: Some(vec![&::rustls::version::TLS12]),
                ..Default::default()
            })
            .is_err()
        );
        let mut c = RawClient::connect(server.addr).unwrap();
        c.start_tls(&TlsOptions {
            versions: Some(vec![&::rustls::version::TLS13]),
            ..Default::default()
        })
        .unwrap();
        c.login("root", "", None).unwrap();
        assert_eq!(
            c.query("SELECT @@tls_version").unwrap()[0][0].as_deref(),
            Some("TLSv1.3")
        );
    }

    pub(super) fn mysql_crate_verifies_the_auto_tls_ca(backend: TlsBackendKind) {
        let server = TestServer::start_with(|c, _| c.security.tls_backend = backend);
        let mut c = auto_tls_root(&server);
        let (_, cipher): (String, String) = c
            .query_first("SHOW STATUS LIKE 'Ssl_cipher'")
            .unwrap()
            .unwrap();
        assert!(!cipher.is_empty());
    }

    /// Values from a few bytes to 1 MB, around the size from which rows leave from SQLite's
    /// memory rather than through the write buffer, in many rows of one result, with a
    /// DECIMAL column printed at its scale: what arrives is what was stored, in the text
    /// protocol and the binary one.
    pub(super) fn large_values_arrive_whole_in_both_protocols(backend: TlsBackendKind) {
        let server = TestServer::start_with(|c, _| c.security.tls_backend = backend);
        let mut c = auto_tls_root(&server);
        c.query_drop("CREATE DATABASE big").unwrap();
        c.query_drop(
            "CREATE TABLE big.t (id INT PRIMARY KEY, price DECIMAL(10,2), body LONGTEXT, raw LONGBLOB)",
        )
        .unwrap();
        let sizes = [0, 10, 65_535, 65_536, 65_537, 200_000, 1_000_000, 3];
        let text = |n: usize, seed: usize| -> String {
            (0..n)
                .map(|i| char::from(b'a' + ((i + seed) % 26) as u8))
                .collect()
        };
        let blob = |n: usize| -> Vec<u8> { (0..n).map(|i| (i % 251) as u8).collect() };
        for (id, &n) in sizes.iter().enumerate() {
            c.exec_drop(
                "INSERT INTO big.t VALUES (?, ?, ?, ?)",
                (id, id as f64 + 0.5, text(n, id), blob(n)),
            )
            .unwrap();
        }
        let check = |rows: Vec<(usize, String, String, Vec<u8>)>| {
            assert_eq!(rows.len(), sizes.len());
            for (id, price, body, raw) in rows {
                assert_eq!(price, format!("{id}.50"));
                assert_eq!(body.len(), sizes[id], "row {id}");
                assert!(body == text(sizes[id], id), "row {id}: text differs");
                assert!(raw == blob(sizes[id]), "row {id}: blob differs");
            }
        };
        check(
            c.query("SELECT id, price, body, raw FROM big.t ORDER BY id")
                .unwrap(),
        );
        check(
            c.exec(
                "SELECT id, price, body, raw FROM big.t WHERE id >= ? ORDER BY id",
                (0,),
            )
            .unwrap(),
        );
    }

    /// root over TLS through the `mysql` crate, verifying the server's auto-tls CA.
    fn auto_tls_root(server: &TestServer) -> mysql::Conn {
        let ca = server.tls_dir().join("ca.pem");
        let ssl = mysql::SslOpts::default().with_root_cert_path(Some(ca));
        mysql::Conn::new(
            server
                .opts("root", "")
                .ip_or_hostname(Some("localhost"))
                .ssl_opts(Some(ssl)),
        )
        .unwrap()
    }

    /// `Nov 28 06:42:32 2021 UTC`: month, space-padded day, time, year, UTC.
    fn regex_like_openssl_date(s: &str) -> bool {
        let parts: Vec<&str> = s.split(' ').filter(|p| !p.is_empty()).collect();
        parts.len() == 5
            && [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ]
            .contains(&parts[0])
            && (s.as_bytes()[4] == b' ' || s.as_bytes()[4].is_ascii_digit())
            && parts[2].len() == 8
            && parts[3].len() == 4
            && parts[4] == "UTC"
    }
}
