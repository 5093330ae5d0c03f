//! tlsql's TLS backend on OpenSSL: the `openssl` crate against the system library (3.0 on
//! Debian 12).
//!
//! Contexts are built from the DER that `tlsql_tls_api::cert` already read, never from
//! files. Versions and ciphers are set explicitly (OpenSSL's defaults are neither the
//! configuration nor the same as the other backends'), every configured cipher name must be
//! one OpenSSL knows, and resumption state (session cache, ticket keys, session-id context)
//! belongs to one context, so a reload never resumes an old context's sessions.
//!
//! The code that drives the library is shared with the boring crate (BoringSSL and its crate
//! are forks of OpenSSL and this crate): `backends/ossl/` holds it, compiled here against
//! `openssl`; [`shim`] holds what differs. Two calls have no safe binding:
//! `SSL_CTX_set_timeout` (session lifetime) and `SSL_get_negotiated_group`, both in [`shim`];
//! they and offering a kept session to a connection are the crate's only `unsafe`.
//!
//! Without the `library` feature the crate declares only [`NAME`] and [`CAPABILITIES`].
#![deny(missing_docs)]

use tlsql_tls_api::capabilities::{Capabilities, GroupSet, SuiteSet, Tls13Suites};

/// The backend's name, as `security.tls-backend` and `Tls_backend` spell it.
pub const NAME: &str = "openssl";

/// What OpenSSL can do: every version, suite and group tlsql knows; which groups the system
/// library has depends on its version (3.0 has no post-quantum hybrid).
pub const CAPABILITIES: Capabilities = Capabilities {
    name: NAME,
    legacy_versions: true,
    tls13_suites: Tls13Suites::Configurable(&[
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_AES_128_CCM_SHA256",
        "TLS_AES_128_CCM_8_SHA256",
    ]),
    tls12_suites: SuiteSet::All,
    groups: GroupSet::FromLibrary,
};

#[cfg(feature = "library")]
use openssl as lib;

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
mod hello;
#[cfg(feature = "library")]
mod shim;

#[cfg(feature = "library")]
pub use connector::build_connector;
#[cfg(feature = "library")]
pub use context::build;
