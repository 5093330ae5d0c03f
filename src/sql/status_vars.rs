//! Status variables (`SHOW STATUS`, `performance_schema.*_status`): server counters, the live
//! TLS context, and — at session scope — this connection's TLS parameters.

use crate::instance::Instance;
use crate::protocol::value::Value;
use crate::session::SessionTls;
use crate::status::Counters;
use tlsql_tls_api::cert::format_time;

/// All status variables, sorted by name. `tls` is the asking session's TLS state; with
/// `global` the session-only values are reported empty, as MySQL does.
pub(crate) fn rows(
    shared: &Instance,
    tls: Option<&SessionTls>,
    global: bool,
) -> Vec<(&'static str, Value)> {
    let c = &shared.counters;
    let n = |counter: &std::sync::atomic::AtomicU64| Value::UInt(Counters::get(counter));
    let text = |s: String| Value::Text(s);
    let active = shared.tls.current();
    let session_tls = if global { None } else { tls };
    let stats = active
        .as_ref()
        .map(|a| a.context.session_stats())
        .unwrap_or_default();

    let mut rows: Vec<(&'static str, Value)> = vec![
        ("Aborted_clients", n(&c.aborted_clients)),
        ("Aborted_connects", n(&c.aborted_connects)),
        (
            "Caching_sha2_password_rsa_public_key",
            text(shared.rsa.public_pem().to_string()),
        ),
        (
            "Connection_errors_max_connections",
            n(&c.connection_errors_max_connections),
        ),
        ("Connections", n(&c.connections)),
        (
            "Current_tls_ca",
            text(
                active
                    .as_ref()
                    .and_then(|a| a.ca_path.as_ref())
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            ),
        ),
        (
            "Current_tls_cert",
            text(
                active
                    .as_ref()
                    .map(|a| a.cert_path.display().to_string())
                    .unwrap_or_default(),
            ),
        ),
        (
            "Current_tls_cipher",
            text(
                active
                    .as_ref()
                    .map(|a| a.ssl_cipher.clone())
                    .unwrap_or_default(),
            ),
        ),
        (
            "Current_tls_ciphersuites",
            text(
                active
                    .as_ref()
                    .map(|a| a.tls_ciphersuites.clone())
                    .unwrap_or_default(),
            ),
        ),
        (
            "Current_tls_groups",
            text(
                active
                    .as_ref()
                    .map(|a| a.groups.clone())
                    .unwrap_or_default(),
            ),
        ),
        (
            "Current_tls_key",
            text(
                active
                    .as_ref()
                    .map(|a| a.key_path.display().to_string())
                    .unwrap_or_default(),
            ),
        ),
        (
            "Current_tls_version",
            text(
                active
                    .as_ref()
                    .map(|a| a.versions.clone())
                    .unwrap_or_default(),
            ),
        ),
        ("Questions", n(&c.questions)),
        ("Ssl_accept_failures", n(&c.ssl_accept_failures)),
        ("Ssl_accepts", n(&c.ssl_accepts)),
        (
            "Ssl_cipher",
            text(
                session_tls
                    .map(|t| t.info.cipher.clone())
                    .unwrap_or_default(),
            ),
        ),
        // The suites this session's context accepts (the live context's on a plain session).
        (
            "Ssl_cipher_list",
            text(match (session_tls, &active) {
                (Some(t), _) => t.context.cipher_names.clone(),
                (None, _) if global => String::new(),
                (None, Some(a)) => a.cipher_names.clone(),
                (None, None) => String::new(),
            }),
        ),
        ("Ssl_finished_accepts", n(&c.ssl_finished_accepts)),
        // tlsql's own: MySQL reports no key exchange group.
        (
            "Ssl_group",
            text(
                session_tls
                    .and_then(|t| t.info.group)
                    .map(|g| g.name.to_string())
                    .unwrap_or_default(),
            ),
        ),
        (
            "Ssl_server_not_after",
            text(
                active
                    .as_ref()
                    .map(|a| format_time(a.server_cert.not_after))
                    .unwrap_or_default(),
            ),
        ),
        (
            "Ssl_server_not_before",
            text(
                active
                    .as_ref()
                    .map(|a| format_time(a.server_cert.not_before))
                    .unwrap_or_default(),
            ),
        ),
        ("Ssl_session_cache_hits", Value::UInt(stats.hits)),
        ("Ssl_session_cache_misses", Value::UInt(stats.misses)),
        (
            "Ssl_session_cache_mode",
            text(
                match &active {
                    Some(a) if a.session_cache => "SERVER",
                    Some(_) => "OFF",
                    None => "NONE",
                }
                .to_string(),
            ),
        ),
        (
            "Ssl_session_cache_timeout",
            Value::UInt(shared.config.security.ssl_session_cache_timeout.as_secs()),
        ),
        (
            "Ssl_sessions_reused",
            Value::UInt(u64::from(session_tls.is_some_and(|t| t.info.resumed))),
        ),
        (
            "Ssl_verify_mode",
            Value::UInt(u64::from(
                session_tls.map_or(0, |t| t.context.verify_mode()),
            )),
        ),
        (
            "Ssl_version",
            text(
                session_tls
                    .map(|t| t.info.version.to_string())
                    .unwrap_or_default(),
            ),
        ),
        ("Prepared_stmt_count", n(&c.prepared_stmt_count)),
        ("Threads_cached", n(&c.threads_cached)),
        ("Threads_connected", n(&c.threads_connected)),
        ("Threads_created", n(&c.threads_created)),
        ("Threads_running", n(&c.threads_running)),
        ("Tls_backend", text(shared.tls.backend().name().to_string())),
        ("Uptime", Value::UInt(c.uptime_secs())),
    ];
    rows.sort_by(|a, b| a.0.cmp(b.0));
    rows
}
