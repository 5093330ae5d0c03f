//! Certificate lifecycle, per backend: ALTER INSTANCE RELOAD TLS (success, every kind of broken
//! file, NO ROLLBACK ON ERROR), auto-reload after a rename into place, the certificate check
//! (expiry warning, live auto-tls renewal), and session resumption across connections and
//! reloads.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::rustls::pki_types::CertificateDer;
use ::rustls::pki_types::pem::PemObject;
use mysql::prelude::Queryable;
use tlsql::config::TlsBackendKind;
use tlsql::server::maintenance::check_certificates;

use crate::tls::{Fixture, server_with};
use crate::util::TestServer;
use crate::util::certs::{Key, Pair};
use crate::util::raw::{RawClient, ServerError, TlsOptions};

crate::backend_suite!(
    reload_serves_new_connections_and_keeps_old_ones,
    failed_reloads_keep_the_old_certificate,
    no_rollback_on_error_turns_tls_off_until_a_good_reload,
    auto_reload_follows_a_rename_into_place,
    certificate_check_warns_before_expiry,
    auto_tls_certificate_is_renewed_live,
    resumption_within_a_context_and_never_across_a_reload,
    reloads_under_load_fail_no_connection,
);

/// The DER of the first certificate in a PEM file.
fn file_der(path: &Path) -> Vec<u8> {
    CertificateDer::pem_file_iter(path)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .to_vec()
}

/// A logged-in root session over TLS, and the certificate the server presented.
fn tls_root(server: &TestServer, opts: &TlsOptions) -> (RawClient, Vec<u8>) {
    let mut c = RawClient::connect(server.addr).unwrap();
    c.start_tls(opts).unwrap();
    let served = c.tls_connection().unwrap().peer_certificates().unwrap()[0].to_vec();
    c.login("root", "", None).unwrap();
    (c, served)
}

fn verified(f: &Fixture) -> TlsOptions {
    TlsOptions {
        ca: Some(f.ca.cert.clone()),
        ..Default::default()
    }
}

/// Copies `from` over the configured files, each through a rename as certificate managers do.
fn install(pair: &Pair, f: &Fixture) {
    for (src, dst) in [(&pair.cert, &f.server.cert), (&pair.key, &f.server.key)] {
        let tmp = dst.with_extension("tmp");
        std::fs::copy(src, &tmp).unwrap();
        std::fs::rename(&tmp, dst).unwrap();
    }
}

fn reload(c: &mut RawClient, sql: &str) -> Result<(), ServerError> {
    c.query(sql).map(|_| ())
}

mod cases {
    use super::*;

    pub(super) fn reload_serves_new_connections_and_keeps_old_ones(backend: TlsBackendKind) {
        let (server, f) = server_with(backend, Key::Ecdsa);
        let (mut old, before) = tls_root(&server, &verified(&f));
        assert_eq!(before, file_der(&f.server.cert));
        let not_after_before = old.status("Ssl_server_not_after");

        let renewed = f.ca.server_valid("renewed", Key::Ecdsa, -1, 30);
        install(&renewed, &f);
        reload(&mut old, "ALTER INSTANCE RELOAD TLS").unwrap();

        let (mut new, after) = tls_root(&server, &verified(&f));
        assert_eq!(
            after,
            file_der(&renewed.cert),
            "new connections get the new certificate"
        );
        assert_ne!(new.status("Ssl_server_not_after"), not_after_before);
        // The established session keeps working on its own context.
        assert_eq!(
            old.query("SELECT 40 + 2").unwrap()[0][0].as_deref(),
            Some("42")
        );
        assert_eq!(old.status("Ssl_version"), new.status("Ssl_version"));
    }

    pub(super) fn failed_reloads_keep_the_old_certificate(backend: TlsBackendKind) {
        let (server, f) = server_with(backend, Key::Ecdsa);
        let (mut c, original) = tls_root(&server, &verified(&f));
        let cert = std::fs::read(&f.server.cert).unwrap();
        let key = std::fs::read(&f.server.key).unwrap();
        let ca = std::fs::read(&f.ca.cert).unwrap();
        let expired = f.ca.server_valid("expired", Key::Ecdsa, -30, -1);
        let other_key = f.ca.server_valid("other", Key::Ecdsa, -1, 30);
        // (what is broken, how, a word the 3888 message must contain)
        type Breakage<'a> = (&'a str, Box<dyn Fn() + 'a>, &'a str);
        let broken: [Breakage<'_>; 4] = [
            (
                "garbage key",
                Box::new(|| std::fs::write(&f.server.key, "not a key").unwrap()),
                "key",
            ),
            (
                "expired certificate",
                Box::new(|| install(&expired, &f)),
                "expired",
            ),
            (
                "key of another certificate",
                Box::new(|| {
                    std::fs::copy(&other_key.key, &f.server.key)
                        .map(|_| ())
                        .unwrap()
                }),
                "match",
            ),
            (
                "missing CA",
                Box::new(|| std::fs::remove_file(&f.ca.cert).unwrap()),
                "ca",
            ),
        ];
        for (label, breaks, reason) in broken {
            breaks();
            let e = reload(&mut c, "ALTER INSTANCE RELOAD TLS").unwrap_err();
            assert_eq!(e.code, 3888, "{label}: {}", e.message);
            assert!(
                e.message.to_lowercase().contains(reason),
                "{label}: {}",
                e.message
            );
            let (_, served) = tls_root(&server, &TlsOptions::default());
            assert_eq!(
                served, original,
                "{label}: the old certificate is still served"
            );
            std::fs::write(&f.server.cert, &cert).unwrap();
            std::fs::write(&f.server.key, &key).unwrap();
            std::fs::write(&f.ca.cert, &ca).unwrap();
        }
        reload(&mut c, "ALTER INSTANCE RELOAD TLS").unwrap();
    }

    pub(super) fn no_rollback_on_error_turns_tls_off_until_a_good_reload(backend: TlsBackendKind) {
        let (server, f) = server_with(backend, Key::Ecdsa);
        let (mut c, _) = tls_root(&server, &verified(&f));
        let key = std::fs::read(&f.server.key).unwrap();
        std::fs::write(&f.server.key, "not a key").unwrap();

        // Refused while require_secure_transport is ON: TLS may not be switched off then.
        c.query("SET GLOBAL require_secure_transport = ON").unwrap();
        let e = reload(&mut c, "ALTER INSTANCE RELOAD TLS NO ROLLBACK ON ERROR").unwrap_err();
        assert_eq!(e.code, 3888, "{}", e.message);
        assert!(RawClient::connect(server.addr).unwrap().offers_tls());
        c.query("SET GLOBAL require_secure_transport = OFF")
            .unwrap();

        reload(&mut c, "ALTER INSTANCE RELOAD TLS NO ROLLBACK ON ERROR").unwrap();
        let warnings = c.query("SHOW WARNINGS").unwrap();
        assert_eq!(warnings[0][1].as_deref(), Some("3888"), "{warnings:?}");
        let mut plain = RawClient::connect(server.addr).unwrap();
        assert!(!plain.offers_tls(), "CLIENT_SSL is no longer advertised");
        plain.login("root", "", None).unwrap();
        assert_eq!(
            plain.query("SELECT @@have_ssl").unwrap()[0][0].as_deref(),
            Some("DISABLED")
        );
        // The established TLS session is untouched.
        assert!(!c.status("Ssl_cipher").is_empty());

        std::fs::write(&f.server.key, &key).unwrap();
        plain.query("ALTER INSTANCE RELOAD TLS").unwrap();
        let (mut back, _) = tls_root(&server, &verified(&f));
        assert_eq!(
            back.query("SELECT @@have_ssl").unwrap()[0][0].as_deref(),
            Some("YES")
        );
    }

    pub(super) fn auto_reload_follows_a_rename_into_place(backend: TlsBackendKind) {
        let mut fx = None;
        let server = TestServer::start_with(|c, dir| {
            let f = crate::tls::fixture(dir, Key::Ecdsa);
            c.security.tls_backend = backend;
            c.security.ssl_cert = Some(f.server.cert.clone());
            c.security.ssl_key = Some(f.server.key.clone());
            c.security.ssl_ca = Some(f.ca.cert.clone());
            c.security.auto_reload = true;
            fx = Some(f);
        });
        let f = fx.unwrap();
        let renewed = f.ca.server_valid("renewed", Key::Ecdsa, -1, 30);
        install(&renewed, &f);
        let want = file_der(&renewed.cert);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let (_, served) = tls_root(&server, &verified(&f));
            if served == want {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the renamed certificate was not picked up"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub(super) fn certificate_check_warns_before_expiry(backend: TlsBackendKind) {
        let mut fx = None;
        let server = TestServer::start_with(|c, dir| {
            let f = crate::tls::fixture(dir, Key::Ecdsa);
            let short = f.ca.server_valid("short", Key::Ecdsa, -1, 10);
            c.security.tls_backend = backend;
            c.security.ssl_cert = Some(short.cert.clone());
            c.security.ssl_key = Some(short.key.clone());
            c.security.expiry_warning = Duration::from_secs(30 * 86_400);
            fx = Some(short);
        });
        let short = fx.unwrap();
        let notices = check_certificates(&server.shared);
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert_eq!(notices[0].level, log::Level::Warn);
        assert!(
            notices[0]
                .message
                .contains(&short.cert.display().to_string()),
            "{notices:?}"
        );

        let (dir, mut config) = server.stop();
        config.security.expiry_warning = Duration::from_secs(5 * 86_400);
        let server = TestServer::start_in(dir, config);
        assert!(
            check_certificates(&server.shared).is_empty(),
            "10 days left, warning at 5"
        );
    }

    pub(super) fn auto_tls_certificate_is_renewed_live(backend: TlsBackendKind) {
        let server = TestServer::start_with(|c, _| {
            c.security.tls_backend = backend;
            c.security.expiry_warning = Duration::from_secs(86_400);
        });
        let tls = server.tls_dir();
        let opts = TlsOptions {
            ca: Some(tls.join("ca.pem")),
            ..Default::default()
        };
        let (_, first) = tls_root(&server, &opts);
        assert!(
            check_certificates(&server.shared).is_empty(),
            "a fresh certificate is not due"
        );

        // Replace the server certificate with one from the same CA that ends in 12 hours:
        // within expiry-warning (one day), so the check must reissue and swap it in.
        let ca_key =
            rcgen::KeyPair::from_pem(&std::fs::read_to_string(tls.join("ca-key.pem")).unwrap())
                .unwrap();
        let issuer = rcgen::Issuer::from_ca_cert_pem(
            &std::fs::read_to_string(tls.join("ca.pem")).unwrap(),
            ca_key,
        )
        .unwrap();
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        params.not_before = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
        params.not_after = time::OffsetDateTime::now_utc() + time::Duration::hours(12);
        let short = params.signed_by(&key, &issuer).unwrap();
        std::fs::write(tls.join("server-cert.pem"), short.pem()).unwrap();
        std::fs::write(tls.join("server-key.pem"), key.serialize_pem()).unwrap();

        // The daily check runs on its own thread and may meet another one; checks running
        // together must renew once, or each would write and load its own certificate.
        let reissues = std::thread::scope(|s| {
            let checks: Vec<_> = (0..4)
                .map(|_| s.spawn(|| check_certificates(&server.shared)))
                .collect();
            checks
                .into_iter()
                .flat_map(|c| c.join().unwrap())
                .filter(|n| n.message.contains("reissued"))
                .count()
        });
        assert_eq!(reissues, 1, "concurrent checks renew once");
        let (mut c, renewed) = tls_root(&server, &opts);
        assert_ne!(renewed, first);
        assert_ne!(renewed, short.der().to_vec());
        assert_eq!(
            renewed,
            file_der(&tls.join("server-cert.pem")),
            "the reissued file is what is served"
        );
        let not_after = c.status("Ssl_server_not_after");
        assert!(!not_after.is_empty());
    }

    pub(super) fn resumption_within_a_context_and_never_across_a_reload(backend: TlsBackendKind) {
        let (server, f) = server_with(backend, Key::Ecdsa);
        server
            .root()
            .query_drop(
                "CREATE USER 'cert'@'%' IDENTIFIED WITH mysql_native_password BY 'pw' REQUIRE X509",
            )
            .unwrap();
        for version in [&::rustls::version::TLS12, &::rustls::version::TLS13] {
            let store: Arc<dyn ::rustls::client::ClientSessionStore> =
                Arc::new(::rustls::client::ClientSessionMemoryCache::new(8));
            let with_store = TlsOptions {
                versions: Some(vec![version]),
                identity: Some((f.client.cert.clone(), f.client.key.clone())),
                resumption: Some(store),
                ..verified(&f)
            };
            let opts = TlsOptions {
                config: Some(crate::util::raw::client_config(&with_store)),
                ..Default::default()
            };
            let session = |expect_reused: &str| {
                let mut c = RawClient::connect(server.addr).unwrap();
                c.start_tls(&opts).unwrap();
                // The REQUIRE X509 account logs in on a resumed session too: the session keeps
                // the certificate it was created with.
                c.login("cert", "pw", None).unwrap();
                assert_eq!(
                    c.status("Ssl_sessions_reused"),
                    expect_reused,
                    "{version:?}"
                );
                assert_eq!(c.status("Ssl_session_cache_mode"), "SERVER");
                c
            };
            let hits = |c: &mut RawClient| -> u64 {
                c.query("SHOW GLOBAL STATUS LIKE 'Ssl_session_cache_hits'")
                    .unwrap()[0][1]
                    .as_deref()
                    .unwrap()
                    .parse()
                    .unwrap()
            };
            drop(session("0"));
            let mut second = session("1");
            let before = hits(&mut second);
            assert!(before >= 1);
            // A reload starts a fresh resumption context: the stored session is not resumed.
            let (mut root, _) = tls_root(&server, &verified(&f));
            root.query("ALTER INSTANCE RELOAD TLS").unwrap();
            drop(session("0"));
            drop(session("1"));
        }
    }

    pub(super) fn reloads_under_load_fail_no_connection(backend: TlsBackendKind) {
        use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

        let (server, f) = server_with(backend, Key::Ecdsa);
        let pairs: Vec<Pair> = (0..4)
            .map(|i| {
                f.ca.server_valid(&format!("rotated-{i}"), Key::Ecdsa, -1, 30)
            })
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let connected = Arc::new(AtomicU32::new(0));
        let addr = server.addr;
        let opts = verified(&f);
        let client = {
            let stop = Arc::clone(&stop);
            let connected = Arc::clone(&connected);
            std::thread::spawn(move || {
                let (mut ok, mut failures) = (0u32, Vec::new());
                let deadline = Instant::now() + Duration::from_secs(60);
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline && ok < 5_000 {
                    let mut c = RawClient::connect(addr).unwrap();
                    let attempt = c
                        .start_tls(&opts)
                        .and_then(|()| c.login("root", "", None).map_err(|e| e.message))
                        .and_then(|()| c.query("SELECT 1").map(|_| ()).map_err(|e| e.message));
                    match attempt {
                        Ok(()) => {
                            ok += 1;
                            connected.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => failures.push(e),
                    }
                }
                (ok, failures)
            })
        };
        let (mut root, _) = tls_root(&server, &verified(&f));
        for i in 0..20 {
            install(&pairs[i % pairs.len()], &f);
            reload(&mut root, "ALTER INSTANCE RELOAD TLS").unwrap();
            // Let the client connect at least twice on each context before the next reload.
            let seen = connected.load(Ordering::Relaxed);
            let deadline = Instant::now() + Duration::from_secs(20);
            while connected.load(Ordering::Relaxed) < seen + 2
                && Instant::now() < deadline
                && !client.is_finished()
            {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        stop.store(true, Ordering::Relaxed);
        let (ok, failures) = client.join().unwrap();
        assert!(
            failures.is_empty(),
            "{} of {} connections failed: {:?}",
            failures.len(),
            ok as usize + failures.len(),
            &failures[..failures.len().min(3)]
        );
        assert!(ok >= 40, "only {ok} connections during 20 reloads");
    }
}
