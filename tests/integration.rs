//! The one integration test binary: the server in-process on 127.0.0.1:0, real clients.
//!
//! * `admission`: the reserved connection, the per-host limit, private files.
//! * `certs`: `tlsql certs` (the real binary): files, modes, chain, served and verified.
//! * `core`: protocol, SQL, accounts, limits, persistence (the `mysql` crate and a raw client).
//! * `hostile`: memory, long data, prepared statements, framing errors and error sizes under
//!   hostile clients.
//! * `groups`: key exchange groups offered, negotiated and reported; settings a backend cannot
//!   apply stop the server.
//! * `tls`: the TLS suite, instantiated for every TLS backend compiled into this build.
//! * `policy`: REQUIRE clauses, `require_secure_transport`, privileges, per backend.
//! * `lifecycle`: reloads, SIGHUP-style reloads, auto-reload, resumption, per backend.
//! * `metrics`: `/metrics` scraped with curl after real logins, failures, reloads and a resumed
//!   handshake; `promtool check metrics` on what it serves.
//! * `idle`: quiet sessions hold no worker thread; their next command (pipelined ones too),
//!   `wait_timeout` and shutdown reach them, over plain TCP and every TLS backend.
//! * `shutdown`: graceful shutdown: ERR 1053, close_notify, running statements, checkpoint.
//! * `gateway`: gateway mode against the real MariaDB backends and Galera cluster: every
//!   outcome compared with the same connection made directly to the backend.
//! * `backends`: the real MariaDB servers and Galera cluster the gateway tests run against
//!   (`util::mariadb`): the REQUIRE matrix, `require_secure_transport` and PROXY v2 as MariaDB
//!   answers them directly, Galera replication and a killed node.
#![allow(unreachable_pub)]

/// Instantiates `cases::<name>(backend)` as a test for every TLS backend compiled in, so
/// rustls, OpenSSL and BoringSSL are held to the same behaviour by the same code.
#[macro_export]
macro_rules! backend_suite {
    ($($case:ident),* $(,)?) => {
        #[cfg(feature = "rustls")]
        mod rustls {
            $( #[test] fn $case() { super::cases::$case(tlsql::config::TlsBackendKind::Rustls) } )*
        }
        #[cfg(feature = "openssl")]
        mod openssl {
            $( #[test] fn $case() { super::cases::$case(tlsql::config::TlsBackendKind::Openssl) } )*
        }
        #[cfg(feature = "boring")]
        mod boring {
            $( #[test] fn $case() { super::cases::$case(tlsql::config::TlsBackendKind::Boring) } )*
        }
    };
}

mod util;

mod admission;
mod backends;
mod certs;
mod core;
mod gateway;
mod groups;
mod hostile;
mod idle;
mod lifecycle;
mod metrics;
mod policy;
mod shutdown;
mod tls;
