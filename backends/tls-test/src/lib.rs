//! One conformance suite for every tlsql TLS backend, written once and run by each backend
//! crate with one line (as rustls runs one suite per crypto provider):
//!
//! ```text
//! // backends/<crate>/tests/conformance.rs
//! tlsql_tls_test::suite!(tlsql_tls_openssl);
//! ```
//!
//! The suite checks what must be identical across backends (certificates, versions, cipher
//! lists and names, client verification, resumption and its counters, groups, errors, the
//! connection report, and the connector against its own server context and against rustls')
//! and that each crate's `CAPABILITIES` tell the truth: where a declaration says the library
//! cannot do something, the suite expects the refusal. What one library does that the others
//! do not (its own words, its quirks) stays in that crate's test file.
//!
//! Every server listens on 127.0.0.1 port 0; every client is the backend's own connector
//! (`build_connector`), except for TLS 1.2 session-id resumption (a rustls client that never
//! takes tickets) and what only `openssl s_client` shows.

pub mod client;
pub mod net;
pub mod pki;
pub mod server;

use tlsql_tls_api::{BuildFn, Capabilities, ConnectorFn};

/// The backend under test, as its crate exports it.
pub struct Backend {
    /// `NAME`.
    pub name: &'static str,
    /// `CAPABILITIES`.
    pub capabilities: &'static Capabilities,
    /// `build`.
    pub build: BuildFn,
    /// `build_connector`.
    pub connector: ConnectorFn,
}

/// Runs the whole suite against the backend crate `$krate`.
#[macro_export]
macro_rules! suite {
    ($krate:ident) => {
        $crate::cases! {
            $crate::Backend {
                name: $krate::NAME,
                capabilities: &$krate::CAPABILITIES,
                build: $krate::build,
                connector: $krate::build_connector,
            };
            server: [
                reports_version_cipher_and_group_for_both_key_types,
                server_cipher_preference_wins,
                minimum_tls13_refuses_a_tls12_client,
                tls10_and_tls11_as_the_capabilities_say,
                openssl_s_client_tls1,
                acceptable_ca_names_are_sent_only_when_verifying,
                client_certificates,
                server_chain_is_sent,
                key_that_does_not_match_the_certificate,
                pkcs1_and_sec1_keys,
                cipher_names_are_the_effective_list,
                every_known_cipher_as_the_capabilities_say,
                fixed_tls13_suites_accept_the_set_or_none,
                dhe_suite_is_negotiated_where_available,
                client_without_a_common_suite_is_told_so,
                no_suite_left_is_an_error,
                groups_as_the_capabilities_say,
                resumption_keeps_the_client_certificate,
                resumption_without_a_client_certificate,
                a_new_context_does_not_resume_an_old_ones_sessions,
                session_cache_off_never_resumes,
                sessions_expire_after_the_configured_timeout,
                four_mebibytes_each_way,
                end_of_stream_with_and_without_close_notify,
            ],
            client: [
                verify_identity_accepts_a_dns_name_and_an_ip,
                another_name_fails_verify_identity_but_passes_verify_ca,
                another_ca_fails_verify_ca_but_passes_none,
                expired_server_certificate_fails,
                client_identity_reaches_the_server,
                identities_alternate,
                resumption_per_identity,
                versions_and_suites_are_honoured,
                verification_without_roots_is_a_settings_error,
            ],
        }
    };
}

/// Defines one `#[test]` per case of the suite.
#[doc(hidden)]
#[macro_export]
macro_rules! cases {
    ($backend:expr; $($module:ident: [$($case:ident),* $(,)?]),* $(,)?) => {
        const BACKEND: $crate::Backend = $backend;
        $($(
            #[test]
            fn $case() {
                $crate::$module::$case(&BACKEND)
            }
        )*)*
    };
}
