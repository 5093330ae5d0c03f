//! tlsql's TLS backend on BoringSSL: the `boring` crate, which builds BoringSSL from source.
//!
//! Contexts are built from the DER that `tlsql_tls_api::cert` already read, never from
//! files. Versions are always set explicitly (BoringSSL's default minimum is TLS 1.0), the
//! TLS ≤ 1.2 cipher list is strict, and resumption state (session cache, ticket keys,
//! session-id context) belongs to one context, so a reload never resumes an old context's
//! sessions.
//!
//! What BoringSSL cannot do ([`CAPABILITIES`]) is refused when a context is built:
//! restricting TLS 1.3 suites (the boring crate cannot configure them; the default set in any
//! order is accepted, and BoringSSL then follows the client's preference among them, or puts
//! ChaCha20 first on machines without AES instructions) and the TLS ≤ 1.2 suites it dropped
//! (DHE, SHA-384 CBC, static-RSA SHA-256 CBC).
//!
//! The code that drives the library is shared with the openssl crate: `backends/ossl/` holds
//! it, compiled here against `boring`; [`shim`] holds what differs. The session lifetime has no
//! safe binding in the boring crate: the shim calls `SSL_CTX_set_timeout` (TLS 1.2) and
//! `SSL_CTX_set_session_psk_dhe_timeout` (TLS 1.3) through boring-sys; that and offering a kept
//! session to a connection are the crate's only `unsafe`.
//!
//! Without the `library` feature the crate declares only [`NAME`] and [`CAPABILITIES`].
#![deny(missing_docs)]

use tlsql_tls_api::capabilities::{Capabilities, GroupSet, SuiteSet, Tls13Suites};

/// The backend's name, as `security.tls-backend` and `Tls_backend` spell it.
pub const NAME: &str = "boring";

/// The TLS 1.3 suites BoringSSL always offers; it has no way to change them.
const TLS13_SUITES: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// What BoringSSL can do.
pub const CAPABILITIES: Capabilities = Capabilities {
    name: NAME,
    legacy_versions: true,
    tls13_suites: Tls13Suites::Fixed(TLS13_SUITES),
    tls12_suites: SuiteSet::AllExcept(&[
        "DHE-RSA-AES128-GCM-SHA256",
        "DHE-RSA-AES256-GCM-SHA384",
        "DHE-RSA-CHACHA20-POLY1305",
        "ECDHE-ECDSA-AES256-SHA384",
        "ECDHE-RSA-AES256-SHA384",
        "AES128-SHA256",
        "AES256-SHA256",
        "DHE-RSA-AES128-SHA",
        "DHE-RSA-AES256-SHA",
    ]),
    groups: GroupSet::Only(&["X25519MLKEM768", "X25519", "P-256", "P-384", "P-521"]),
};

#[cfg(feature = "library")]
use boring as lib;

#[cfg(feature = "library")]
#[path = "../../ossl/common.rs"]
mod common;
#[cfg(feature = "library")]
#[path = "../../ossl/connector.rs"]
mod connector;
#[cfg(feature = "library")]
#[path = "../../ossl/context.rs"]
mod context;
#[cfg(feature = "library")]
mod shim;

#[cfg(feature = "library")]
pub use connector::build_connector;
#[cfg(feature = "library")]
pub use context::build;
