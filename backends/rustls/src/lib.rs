//! tlsql's TLS backend on rustls 0.23 with the aws-lc-rs crypto provider.
//!
//! The provider is always passed explicitly: the process-default provider is never consulted,
//! because feature unification can enable several providers in one binary.
//!
//! What rustls cannot do ([`CAPABILITIES`]) is refused when a context is built, never
//! downgraded silently: TLS 1.0/1.1, any cipher that is not ECDHE with AES-GCM or
//! ChaCha20-Poly1305 (or the matching TLS 1.3 suites), and the groups aws-lc-rs lacks (P-521,
//! X448). Sessions are resumed statefully from storage each context owns, which also enforces
//! the session timeout.
//!
//! Without the `library` feature the crate declares only [`NAME`] and [`CAPABILITIES`].
#![deny(missing_docs)]

use tlsql_tls_api::capabilities::{Capabilities, GroupSet, SuiteSet, Tls13Suites};

/// The backend's name, as `security.tls-backend` and `Tls_backend` spell it.
pub const NAME: &str = "rustls";

/// What rustls with aws-lc-rs can do.
pub const CAPABILITIES: Capabilities = Capabilities {
    name: NAME,
    legacy_versions: false,
    tls13_suites: Tls13Suites::Configurable(&[
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
    ]),
    tls12_suites: SuiteSet::Only(&[
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    ]),
    groups: GroupSet::Only(&["X25519MLKEM768", "X25519", "P-256", "P-384"]),
};

#[cfg(feature = "library")]
mod connector;
#[cfg(feature = "library")]
mod context;
#[cfg(feature = "library")]
mod failure;
#[cfg(feature = "library")]
mod session;

#[cfg(feature = "library")]
pub use connector::build_connector;
#[cfg(feature = "library")]
pub use context::build;
