//! Data cost on an open connection, TLS 1.3 vs plaintext, for every TLS backend compiled in:
//! a 64 MiB result set (64 rows of 1 MiB) and small queries (`SELECT 1`) one after another.
//!
//! `cargo bench --bench throughput [--features openssl|boring]`

mod common;
#[allow(dead_code, unreachable_pub)]
#[path = "../tests/util/mod.rs"]
mod util;

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mysql::prelude::Queryable;
use util::TestServer;
use util::certs::{Ca, Key};
use util::raw::{RawClient, TlsOptions};

const ROWS: usize = 64;
const BULK: &str = "SELECT id, REPEAT(REPEAT('x', 1024), 1024) FROM bulk.rows";

fn throughput(c: &mut Criterion) {
    for backend in common::compiled_backends() {
        let mut ca_path = None;
        let server = TestServer::start_with(|cfg, dir| {
            let ca = Ca::new(&dir.join("pki"), "bench");
            let pair = ca.server("server", Key::Ecdsa);
            cfg.security.tls_backend = backend;
            cfg.security.ssl_cert = Some(pair.cert);
            cfg.security.ssl_key = Some(pair.key);
            ca_path = Some(ca.cert);
        });
        let mut root = server.root();
        root.query_drop("CREATE DATABASE bulk").unwrap();
        root.query_drop("CREATE TABLE bulk.rows (id INT PRIMARY KEY)")
            .unwrap();
        for id in 0..ROWS {
            root.query_drop(format!("INSERT INTO bulk.rows VALUES ({id})"))
                .unwrap();
        }
        let tls = TlsOptions {
            versions: Some(vec![&rustls::version::TLS13]),
            ca: ca_path,
            ..Default::default()
        };
        let mut sessions = Vec::new();
        for (label, opts) in [("plaintext", None), ("TLSv1.3", Some(&tls))] {
            let mut c = RawClient::connect(server.addr).unwrap();
            if let Some(opts) = opts {
                c.start_tls(opts).unwrap();
            }
            c.login("root", "", None).unwrap();
            sessions.push((label, c));
        }

        let mut group = c.benchmark_group(format!("bulk_64MiB/{}", backend.name()));
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(8))
            .throughput(Throughput::Bytes((ROWS << 20) as u64));
        for (label, client) in &mut sessions {
            group.bench_function(*label, |b| {
                b.iter(|| {
                    let rows = client.query(BULK).unwrap();
                    assert_eq!(rows.len(), ROWS);
                })
            });
        }
        group.finish();

        let mut group = c.benchmark_group(format!("small_queries/{}", backend.name()));
        group
            .sample_size(30)
            .measurement_time(Duration::from_secs(3))
            .throughput(Throughput::Elements(1));
        for (label, client) in &mut sessions {
            group.bench_function(*label, |b| b.iter(|| client.query("SELECT 1").unwrap()));
        }
        group.finish();
    }
}

criterion_group!(benches, throughput);
criterion_main!(benches);
