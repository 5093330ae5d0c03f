//! Connection cost: TCP connect + (TLS) + login as root + COM_QUIT, against the server in this
//! process on 127.0.0.1:0, for every TLS backend compiled in × TLS 1.3 / 1.2 × full / resumed
//! handshake × ECDSA P-256 / RSA-2048 server certificate, and plaintext as the floor. Full TLS 1.3
//! handshakes are measured per key exchange group the client offers (X25519, and the hybrid
//! X25519MLKEM768 where the server's backend has it) to give the price of post-quantum safety;
//! resumed and TLS 1.2 handshakes offer X25519 (and P-256), so every backend does the same work.
//!
//! `cargo bench --bench handshake [--features openssl|boring]`

mod common;
#[allow(dead_code, unreachable_pub)]
#[path = "../tests/util/mod.rs"]
mod util;

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rustls::client::Resumption;
use rustls::crypto::SupportedKxGroup;
use rustls::crypto::aws_lc_rs::kx_group::{SECP256R1, X25519, X25519MLKEM768};
use tlsql::config::TlsBackendKind;
use util::TestServer;
use util::certs::{Ca, Key};
use util::raw::{RawClient, TlsOptions, client_config};

fn server(backend: TlsBackendKind, key: Key) -> (TestServer, std::path::PathBuf) {
    let mut ca_path = None;
    let server = TestServer::start_with(|c, dir| {
        let ca = Ca::new(&dir.join("pki"), "bench");
        let pair = ca.server("server", key);
        c.security.tls_backend = backend;
        c.security.ssl_cert = Some(pair.cert);
        c.security.ssl_key = Some(pair.key);
        ca_path = Some(ca.cert);
    });
    (server, ca_path.unwrap())
}

/// One connection's life: connect, optional TLS, login, quit.
fn connect_login_quit(server: &TestServer, tls: Option<&TlsOptions>) {
    let mut c = RawClient::connect(server.addr).unwrap();
    if let Some(opts) = tls {
        c.start_tls(opts).unwrap();
    }
    c.login("root", "", None).unwrap();
    c.seq = 0;
    c.write_packet(&[0x01]).unwrap();
}

fn handshake(c: &mut Criterion) {
    {
        let (server, _) = server(TlsBackendKind::Rustls, Key::Ecdsa);
        let mut group = c.benchmark_group("handshake");
        group
            .sample_size(30)
            .measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_secs(1));
        group.bench_function("plaintext", |b| {
            b.iter(|| connect_login_quit(&server, None))
        });
        group.finish();
    }
    for backend in common::compiled_backends() {
        for key in [Key::Ecdsa, Key::Rsa] {
            let (server, ca) = server(backend, key);
            let mut group = c.benchmark_group(format!("handshake/{}/{key:?}", backend.name()));
            group
                .sample_size(30)
                .measurement_time(Duration::from_secs(3))
                .warm_up_time(Duration::from_secs(1));
            for (label, version) in [
                ("TLSv1.3", &rustls::version::TLS13),
                ("TLSv1.2", &rustls::version::TLS12),
            ] {
                let base = TlsOptions {
                    versions: Some(vec![version]),
                    ca: Some(ca.clone()),
                    ..Default::default()
                };
                // TLS 1.2 also needs P-256 on offer: OpenSSL and BoringSSL take the client's
                // groups as the curves it accepts for an ECDSA certificate (RFC 8422).
                let classical: Vec<&'static dyn SupportedKxGroup> = vec![X25519, SECP256R1];
                let offers: Vec<(&str, Vec<&'static dyn SupportedKxGroup>)> = if label == "TLSv1.3"
                {
                    vec![
                        ("X25519", vec![X25519]),
                        ("X25519MLKEM768", vec![X25519MLKEM768]),
                    ]
                } else {
                    vec![("X25519", classical.clone())]
                };
                for (kx_name, kx) in offers {
                    let mut full = (*client_config(&TlsOptions {
                        groups: Some(kx),
                        ..base.clone()
                    }))
                    .clone();
                    full.resumption = Resumption::disabled();
                    let full = TlsOptions {
                        config: Some(Arc::new(full)),
                        ..Default::default()
                    };
                    // OpenSSL 3.0 has no ML-KEM: a client offering only the hybrid group
                    // cannot connect, so there is nothing to measure.
                    if RawClient::connect(server.addr)
                        .map_err(|e| e.to_string())
                        .and_then(|mut c| c.start_tls(&full))
                        .is_err()
                    {
                        eprintln!("{}: no {kx_name}, skipped", backend.name());
                        continue;
                    }
                    group.bench_function(format!("{label}/full/{kx_name}"), |b| {
                        b.iter(|| connect_login_quit(&server, Some(&full)))
                    });
                }

                let mut resuming = (*client_config(&TlsOptions {
                    groups: Some(classical),
                    ..base.clone()
                }))
                .clone();
                resuming.resumption = Resumption::in_memory_sessions(64);
                let resumed = TlsOptions {
                    config: Some(Arc::new(resuming)),
                    ..Default::default()
                };
                connect_login_quit(&server, Some(&resumed));
                group.bench_function(format!("{label}/resumed"), |b| {
                    b.iter(|| connect_login_quit(&server, Some(&resumed)))
                });
            }
            group.finish();
        }
    }
}

criterion_group!(benches, handshake);
criterion_main!(benches);
