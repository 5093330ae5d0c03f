//! What both benches share.

use tlsql::config::TlsBackendKind;

/// The TLS backends compiled into this build.
pub(crate) fn compiled_backends() -> Vec<TlsBackendKind> {
    TlsBackendKind::ALL
        .into_iter()
        .filter(|k| tlsql::tls::Backend::from_name(k.name()).is_some())
        .collect()
}
