//! What both benches share.

use tlsql::config::TlsBackendKind;

/// The TLS backends compiled into this build.
pub(crate) fn compiled_backends() -> Vec<TlsBackendKind> {
    TlsBackendKind::compiled_in()
}
