//! Native Prometheus metrics: what happens on the TLS port, counted where it happens (the
//! session's login, TLS reloads) and read from the live state at scrape time (certificates,
//! session cache, connections). [`http`] serves them at `metrics.listen`.
//!
//! No series carries a user name or a client address: their number is unbounded, and they are
//! in the log.
//!
//! The handshake failure `reason` is the TLS backend's classification of the failure
//! (`timeout` also when the connect deadline cut the handshake short); a client certificate that
//! is expired or not yet valid counts as `bad_certificate`, as SPEC §11 lists the reasons.

pub mod http;

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tlsql_tls_api::cert::CertSummary;
use tlsql_tls_api::{HandshakeFailure, TlsError, TlsInfo};

use crate::auth::require::RequireFailure;
use crate::status::Counters;
use crate::tls::ActiveTls;

type Labels = Vec<(&'static str, String)>;

/// Handshake failure reasons, as SPEC §11 names them.
const FAILURE_REASONS: [&str; 6] = [
    "timeout",
    "protocol",
    "bad_certificate",
    "unknown_ca",
    "no_shared_cipher",
    "other",
];

/// Why a login was refused, the `reason` of `tlsql_logins_total{result="denied"}`.
const DENIED_REASONS: [&str; 9] = [
    "password",
    "require_ssl",
    "require_x509",
    "require_subject",
    "require_issuer",
    "require_san",
    "require_cipher",
    "insecure_transport",
    "locked",
];

/// What starts a TLS reload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReloadTrigger {
    /// `ALTER INSTANCE RELOAD TLS`.
    Statement,
    /// SIGHUP.
    Sighup,
    /// `security.auto-reload`: a watched file changed.
    File,
    /// auto-tls reissued its server certificate.
    Renewal,
}

impl ReloadTrigger {
    const ALL: [ReloadTrigger; 4] = [Self::Statement, Self::Sighup, Self::File, Self::Renewal];

    fn name(self) -> &'static str {
        match self {
            Self::Statement => "statement",
            Self::Sighup => "sighup",
            Self::File => "file",
            Self::Renewal => "renewal",
        }
    }
}

/// The counters the server updates as things happen; the rest is read at scrape time.
#[derive(Debug)]
pub struct Metrics {
    handshakes: Family<Labels, Counter>,
    handshake_failures: Family<Labels, Counter>,
    handshake_seconds: Histogram,
    reloads: Family<Labels, Counter>,
    logins: Family<Labels, Counter>,
    upstream_failures: Family<Labels, Counter>,
    /// Logged-in sessions; the rest of `Threads_connected` is still logging in.
    pub sessions: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        let metrics = Self {
            handshakes: Family::default(),
            handshake_failures: Family::default(),
            // 0.5 ms to about 4 s: a local ECDSA handshake takes about a millisecond, an
            // RSA-4096 one over a slow link seconds.
            handshake_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 14)),
            reloads: Family::default(),
            logins: Family::default(),
            upstream_failures: Family::default(),
            sessions: AtomicU64::new(0),
        };
        // Every known label value is exported from the start (at 0), so that a rate or an
        // alert on a reason works before its first occurrence.
        for reason in FAILURE_REASONS {
            metrics
                .handshake_failures
                .get_or_create(&vec![("reason", reason.into())])
                .inc_by(0);
        }
        for trigger in ReloadTrigger::ALL {
            for result in ["ok", "error"] {
                metrics
                    .reloads
                    .get_or_create(&reload_labels(trigger, result))
                    .inc_by(0);
            }
        }
        metrics
            .logins
            .get_or_create(&login_labels("ok", "ok"))
            .inc_by(0);
        for reason in DENIED_REASONS {
            metrics
                .logins
                .get_or_create(&login_labels("denied", reason))
                .inc_by(0);
        }
        metrics
    }
}

fn reload_labels(trigger: ReloadTrigger, result: &str) -> Labels {
    vec![
        ("trigger", trigger.name().into()),
        ("result", result.into()),
    ]
}

fn login_labels(result: &str, reason: &str) -> Labels {
    vec![("result", result.into()), ("reason", reason.into())]
}

/// The `reason` label of a refused `REQUIRE` check.
pub fn require_reason(failure: &RequireFailure) -> &'static str {
    let clause = match failure {
        RequireFailure::NotEncrypted { required }
        | RequireFailure::NoVerifiedCertificate { required } => *required,
        RequireFailure::CipherMismatch { .. } => "CIPHER",
        RequireFailure::IssuerMismatch { .. } => "ISSUER",
        RequireFailure::SubjectMismatch { .. } => "SUBJECT",
        RequireFailure::SanMismatch { .. } => "SAN",
    };
    match clause {
        "SSL" => "require_ssl",
        "X509" => "require_x509",
        "CIPHER" => "require_cipher",
        "ISSUER" => "require_issuer",
        "SUBJECT" => "require_subject",
        "SAN" => "require_san",
        _ => "password",
    }
}

/// A gateway backend as a scrape sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamState {
    /// The configured address (`host:port`).
    pub server: String,
    /// Whether it passed its last health check.
    pub up: bool,
    /// Sessions relayed to it now.
    pub sessions: usize,
}

/// What the scrape reads from the live server.
pub struct Scrape<'a> {
    /// The backends, in gateway mode.
    pub upstream: &'a [UpstreamState],
    /// Server-wide status counters.
    pub counters: &'a Counters,
    /// The TLS context serving new connections, if TLS is on.
    pub tls: Option<&'a ActiveTls>,
    /// The TLS backend's name.
    pub backend: &'a str,
    /// The server version (`tlsql_info`).
    pub version: &'a str,
}

impl Metrics {
    /// A TLS handshake finished.
    pub fn handshake_done(&self, info: &TlsInfo, took: Duration) {
        self.handshakes
            .get_or_create(&vec![
                ("version", info.version.as_str().into()),
                ("cipher", info.cipher.clone()),
                ("resumed", info.resumed.to_string()),
            ])
            .inc();
        self.handshake_seconds.observe(took.as_secs_f64());
    }

    /// A TLS handshake failed with `error`; `timed_out` when the connect deadline had passed.
    pub fn handshake_failed(&self, error: &TlsError, timed_out: bool) {
        let reason = match error.handshake_failure() {
            _ if timed_out => "timeout",
            Some(HandshakeFailure::NameMismatch | HandshakeFailure::Expired) => "bad_certificate",
            Some(kind) => kind.as_str(),
            None => "other",
        };
        self.handshake_failures
            .get_or_create(&vec![("reason", reason.into())])
            .inc();
    }

    /// A TLS reload finished (`ok`: the new context serves new connections).
    pub fn reload(&self, trigger: ReloadTrigger, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.reloads
            .get_or_create(&reload_labels(trigger, result))
            .inc();
    }

    /// A failed attempt to reach a gateway backend (a session's or a health check's), by the
    /// backend's configured address and the kind of failure.
    pub fn upstream_connect_failed(&self, server: &str, reason: &'static str) {
        self.upstream_connect_failed_by(server, reason, 1);
    }

    /// Adds `n` to a backend's failure count (0 exports the series before any failure).
    pub fn upstream_connect_failed_by(&self, server: &str, reason: &'static str, n: u64) {
        self.upstream_failures
            .get_or_create(&vec![
                ("server", server.to_string()),
                ("reason", reason.into()),
            ])
            .inc_by(n);
    }

    /// A login succeeded.
    pub fn login_ok(&self) {
        self.logins.get_or_create(&login_labels("ok", "ok")).inc();
    }

    /// A login was refused for `reason` (one of the `denied` reasons; see [`require_reason`]).
    pub fn login_denied(&self, reason: &'static str) {
        self.logins
            .get_or_create(&login_labels("denied", reason))
            .inc();
    }

    /// Every series, in OpenMetrics text (as the `prometheus-client` crate writes it) or, with
    /// `openmetrics` false, in the classic Prometheus text format (see [`classic_text`]).
    pub fn render(&self, scrape: &Scrape<'_>, openmetrics: bool) -> String {
        let mut registry = Registry::with_prefix("tlsql");
        // A gauge at 1 rather than an OpenMetrics info series, which the Prometheus text
        // format (and promtool) does not know.
        let info = Family::<Labels, Gauge>::default();
        info.get_or_create(&vec![
            ("version", scrape.version.to_string()),
            ("tls_backend", scrape.backend.to_string()),
        ])
        .set(1);
        registry.register("info", "The server version and TLS backend", info);
        registry.register(
            "tls_handshakes",
            "TLS handshakes completed, by protocol version, cipher and whether the session was resumed",
            self.handshakes.clone(),
        );
        registry.register(
            "tls_handshake_failures",
            "TLS handshakes that failed, by reason",
            self.handshake_failures.clone(),
        );
        registry.register(
            "tls_handshake_seconds",
            "Duration of completed TLS handshakes",
            self.handshake_seconds.clone(),
        );
        let (not_after, not_before) = certificate_gauges(scrape.tls);
        registry.register(
            "tls_certificate_not_after_seconds",
            "End of validity (Unix time) of the certificates in use, by file; for a CA bundle the earliest",
            not_after,
        );
        registry.register(
            "tls_certificate_not_before_seconds",
            "Start of validity (Unix time) of the certificates in use, by file; for a CA bundle the latest",
            not_before,
        );
        registry.register(
            "tls_reloads",
            "TLS reloads, by what started them and their result",
            self.reloads.clone(),
        );
        let stats = scrape
            .tls
            .map(|t| t.context.session_stats())
            .unwrap_or_default();
        registry.register(
            "tls_session_cache_hits",
            "Handshakes that resumed a session, in the current TLS context (a reload starts at 0)",
            ConstCounter::new(stats.hits),
        );
        registry.register(
            "tls_session_cache_misses",
            "Handshakes offering a session that could not be resumed, in the current TLS context",
            ConstCounter::new(stats.misses),
        );
        registry.register(
            "connections",
            "Client connections by state: handshake (connection phase: TLS and login), active (running a command), idle",
            self.connection_gauges(scrape.counters),
        );
        registry.register(
            "logins",
            "Logins by result (ok, denied) and reason",
            self.logins.clone(),
        );
        if !scrape.upstream.is_empty() {
            let up = Family::<Labels, Gauge>::default();
            let sessions = Family::<Labels, Gauge>::default();
            for backend in scrape.upstream {
                let labels = vec![("server", backend.server.clone())];
                up.get_or_create(&labels).set(i64::from(backend.up));
                sessions
                    .get_or_create(&labels)
                    .set(i64::try_from(backend.sessions).unwrap_or(i64::MAX));
            }
            registry.register(
                "upstream_up",
                "Whether a gateway backend passed its last health check (1) or not (0)",
                up,
            );
            registry.register(
                "upstream_connections",
                "Sessions the gateway relays to each backend now",
                sessions,
            );
            registry.register(
                "upstream_connect_failures",
                "Failed attempts to reach a backend (sessions and health checks), by backend and kind: resolve, refused, timeout, greeting, tls, monitor",
                self.upstream_failures.clone(),
            );
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &registry);
        if openmetrics {
            text
        } else {
            classic_text(&text)
        }
    }

    fn connection_gauges(&self, counters: &Counters) -> Family<Labels, Gauge> {
        let connected = Counters::get(&counters.threads_connected);
        let sessions = Counters::get(&self.sessions).min(connected);
        let active = Counters::get(&counters.threads_running).min(sessions);
        let family = Family::<Labels, Gauge>::default();
        for (state, n) in [
            ("handshake", connected - sessions),
            ("active", active),
            ("idle", sessions - active),
        ] {
            family
                .get_or_create(&vec![("state", state.into())])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        family
    }
}

/// `not_after` and `not_before` per file: the server certificate and the CA bundle in use.
fn certificate_gauges(tls: Option<&ActiveTls>) -> (Family<Labels, Gauge>, Family<Labels, Gauge>) {
    let not_after = Family::<Labels, Gauge>::default();
    let not_before = Family::<Labels, Gauge>::default();
    let Some(tls) = tls else {
        return (not_after, not_before);
    };
    let set = |file: &std::path::Path, certs: &[CertSummary]| {
        let label = vec![("file", file.display().to_string())];
        if let Some(end) = certs.iter().map(|c| c.not_after).min() {
            not_after.get_or_create(&label).set(end.unix_timestamp());
        }
        if let Some(start) = certs.iter().map(|c| c.not_before).max() {
            not_before.get_or_create(&label).set(start.unix_timestamp());
        }
    };
    set(&tls.cert_path, std::slice::from_ref(&tls.server_cert));
    if let Some(ca) = &tls.ca_path {
        set(ca, &tls.ca_certs);
    }
    (not_after, not_before)
}

/// The classic Prometheus text format (`text/plain; version=0.0.4`) from OpenMetrics text: the
/// two differ, for what is written here, only in that OpenMetrics names a counter's metadata
/// without its `_total` suffix and ends with `# EOF`. Scrapers that ask for OpenMetrics
/// (Prometheus does) get it unchanged; others (curl, promtool, older scrapers) get this.
fn classic_text(openmetrics: &str) -> String {
    let counters: Vec<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| Some((p, line.strip_prefix(p)?)));
        match meta {
            Some((prefix, rest))
                if counters
                    .iter()
                    .any(|c| rest.strip_prefix(c).is_some_and(|r| r.starts_with(' '))) =>
            {
                let (name, tail) = rest.split_at(rest.find(' ').unwrap_or(rest.len()));
                out.push_str(&format!("{prefix}{name}_total{tail}"));
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_text_names_counter_metadata_with_total_and_drops_eof() {
        let om = "# HELP a_b Things.\n# TYPE a_b counter\na_b_total{x=\"1\"} 2\n# HELP a_bc Gauge.\n# TYPE a_bc gauge\na_bc 3\n# EOF\n";
        assert_eq!(
            classic_text(om),
            "# HELP a_b_total Things.\n# TYPE a_b_total counter\na_b_total{x=\"1\"} 2\n# HELP a_bc Gauge.\n# TYPE a_bc gauge\na_bc 3\n"
        );
    }

    #[test]
    fn require_failures_map_to_their_clause() {
        let f = RequireFailure::NotEncrypted { required: "SSL" };
        assert_eq!(require_reason(&f), "require_ssl");
        let f = RequireFailure::NoVerifiedCertificate {
            required: "SUBJECT",
        };
        assert_eq!(require_reason(&f), "require_subject");
        let f = RequireFailure::CipherMismatch {
            required: "A".into(),
            negotiated: "B".into(),
        };
        assert_eq!(require_reason(&f), "require_cipher");
    }
}
