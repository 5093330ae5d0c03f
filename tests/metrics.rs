//! Native metrics: the server with `metrics.listen` on 127.0.0.1:0, real logins (ok, wrong
//! password, REQUIRE failures, plain TCP under require_secure_transport), reloads, a resumed
//! handshake, a failed handshake, then `/metrics` fetched with curl and every value checked;
//! `promtool check metrics` (Debian's prometheus package) on the served text.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;

use tlsql::config::TlsBackendKind;
use tlsql::metrics::ReloadTrigger;
use tlsql_tls_api::cert::{CertSummary, read_certificates};

use crate::util::TestServer;
use crate::util::raw::{RawClient, TlsOptions, client_config};

crate::backend_suite!(scraped_series_count_what_happened);

pub(crate) fn curl(addr: SocketAddr, accept: Option<&str>) -> String {
    let mut cmd = Command::new("curl");
    cmd.args(["-fsS", "--max-time", "10"]);
    if let Some(accept) = accept {
        cmd.args(["-H", &format!("Accept: {accept}")]);
    }
    let out = cmd
        .arg(format!("http://{addr}/metrics"))
        .output()
        .expect("curl runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The value of one series, given exactly as served (name and labels in order).
pub(crate) fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no series {series} in:\n{text}"))
        .parse()
        .unwrap()
}

fn login(result: &str, reason: &str) -> String {
    format!("tlsql_logins_total{{result=\"{result}\",reason=\"{reason}\"}}")
}

pub(crate) fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (Debian package prometheus, installed by .ci/install.sh)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {out:?}\n{text}"
    );
}

mod cases {
    use super::*;

    pub(super) fn scraped_series_count_what_happened(backend: TlsBackendKind) {
        let server = TestServer::start_with(|c, dir| {
            c.security.tls_backend = backend;
            c.socket = Some(dir.join("tlsql.sock"));
            c.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
        });
        let metrics = server.metrics.expect("metrics are served");
        let tls = server.tls_dir();
        let verified = TlsOptions {
            ca: Some(tls.join("ca.pem")),
            ..Default::default()
        };
        let with_cert = TlsOptions {
            identity: Some((tls.join("client-cert.pem"), tls.join("client-key.pem"))),
            ..verified.clone()
        };
        let before = curl(metrics, None);
        assert_eq!(value(&before, &login("ok", "ok")), 0.0);

        let mut root = RawClient::connect(server.addr).unwrap();
        root.start_tls(&verified).unwrap();
        root.login("root", "", None).unwrap();
        for sql in [
            "CREATE USER metrics_pw IDENTIFIED BY 'right'",
            "CREATE USER metrics_ssl IDENTIFIED WITH mysql_native_password BY 'pw' REQUIRE SSL",
            "CREATE USER metrics_x509 IDENTIFIED BY 'pw' REQUIRE X509",
            "CREATE USER metrics_subject IDENTIFIED BY 'pw' REQUIRE SUBJECT '/CN=someone else'",
        ] {
            root.query(sql).unwrap();
        }
        let attempt = |user: &str, password: &str, opts: Option<&TlsOptions>| {
            let mut c = RawClient::connect(server.addr).unwrap();
            if let Some(opts) = opts {
                c.start_tls(opts).unwrap();
            }
            c.login(user, password, None).map(|()| c)
        };
        let denied = |user: &str, password: &str, opts: Option<&TlsOptions>| {
            let err = attempt(user, password, opts).err().expect("refused");
            assert_eq!(err.code, 1045, "{user}: {err:?}");
        };
        let idle = attempt("metrics_pw", "right", Some(&verified)).unwrap();
        denied("metrics_pw", "wrong", Some(&verified));
        denied("metrics_ssl", "pw", None);
        denied("metrics_x509", "pw", Some(&verified));
        denied("metrics_subject", "pw", Some(&with_cert));

        // Plain TCP while require_secure_transport=ON.
        root.query("SET GLOBAL require_secure_transport = ON")
            .unwrap();
        let err = attempt("metrics_pw", "right", None).err().unwrap();
        assert_eq!(err.code, 3159, "{err:?}");
        root.query("SET GLOBAL require_secure_transport = OFF")
            .unwrap();

        // A resumed handshake (TLS 1.2 session id): the second connection resumes the first's.
        let store: Arc<dyn ::rustls::client::ClientSessionStore> =
            Arc::new(::rustls::client::ClientSessionMemoryCache::new(8));
        let resuming = TlsOptions {
            config: Some(client_config(&TlsOptions {
                versions: Some(vec![&::rustls::version::TLS12]),
                resumption: Some(store),
                ..verified.clone()
            })),
            ..Default::default()
        };
        drop(attempt("metrics_pw", "right", Some(&resuming)).unwrap());
        let mut resumed = attempt("metrics_pw", "right", Some(&resuming)).unwrap();
        assert_eq!(resumed.status("Ssl_sessions_reused"), "1");
        let cipher12 = resumed.status("Ssl_cipher");
        drop(resumed);

        // A handshake that fails: an SSLRequest followed by bytes that are no ClientHello.
        let mut raw = RawClient::connect(server.addr).unwrap();
        let mut ssl_request = Vec::new();
        ssl_request.extend_from_slice(&(0x0000_0800u32 | 0x0000_0200 | 0x0000_8000).to_le_bytes());
        ssl_request.extend_from_slice(&16_777_216u32.to_le_bytes());
        ssl_request.push(45);
        ssl_request.extend_from_slice(&[0; 23]);
        raw.write_packet(&ssl_request).unwrap();
        if let crate::util::raw::Transport::Plain(s) = &mut raw.stream {
            s.write_all(b"not a TLS record at all\r\n\r\n").unwrap();
        }
        let _ = raw.read_packet();
        drop(raw);

        // Reloads: the statement, and the SIGHUP path.
        root.query("ALTER INSTANCE RELOAD TLS").unwrap();
        server
            .shared
            .reload_tls_for(ReloadTrigger::Sighup, false)
            .unwrap();

        // A connection still in the connection phase: greeted, never answered.
        let pending = TcpStream::connect(server.addr).unwrap();

        let text = curl(metrics, None);
        promtool_check(&text);
        let om = curl(metrics, Some("application/openmetrics-text;version=1.0.0"));
        assert!(om.ends_with("# EOF\n"), "{om}");

        assert_eq!(
            value(
                &text,
                &format!(
                    "tlsql_info{{version=\"{}\",tls_backend=\"{}\"}}",
                    tlsql::instance::SERVER_VERSION,
                    backend.name()
                )
            ),
            1.0
        );
        // root, the idle session, the two resumption logins; two ok logins of the checks.
        assert_eq!(value(&text, &login("ok", "ok")), 4.0);
        for (reason, n) in [
            ("password", 1.0),
            ("require_ssl", 1.0),
            ("require_x509", 1.0),
            ("require_subject", 1.0),
            ("insecure_transport", 1.0),
            ("require_issuer", 0.0),
            ("require_san", 0.0),
            ("require_cipher", 0.0),
            ("locked", 0.0),
        ] {
            assert_eq!(value(&text, &login("denied", reason)), n, "{reason}");
        }
        let resumed_12 = format!(
            "tlsql_tls_handshakes_total{{version=\"TLSv1.2\",cipher=\"{cipher12}\",resumed=\"true\"}}"
        );
        assert_eq!(value(&text, &resumed_12), 1.0);
        let handshakes: f64 = text
            .lines()
            .filter(|l| l.starts_with("tlsql_tls_handshakes_total{"))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
            .sum();
        // root, idle, wrong password, x509, subject, two resumption connections.
        assert_eq!(handshakes, 7.0);
        assert_eq!(value(&text, "tlsql_tls_handshake_seconds_count"), 7.0);
        // Bytes that are no ClientHello: every backend calls it a protocol failure.
        assert_eq!(
            value(
                &text,
                "tlsql_tls_handshake_failures_total{reason=\"protocol\"}"
            ),
            1.0
        );
        assert_eq!(
            value(
                &text,
                "tlsql_tls_handshake_failures_total{reason=\"other\"}"
            ),
            0.0
        );
        assert_eq!(
            value(
                &text,
                "tlsql_tls_handshake_failures_total{reason=\"timeout\"}"
            ),
            0.0
        );
        assert!(value(&text, "tlsql_tls_session_cache_hits_total") >= 0.0);
        for (trigger, n) in [
            ("statement", 1.0),
            ("sighup", 1.0),
            ("file", 0.0),
            ("renewal", 0.0),
        ] {
            let series = format!("tlsql_tls_reloads_total{{trigger=\"{trigger}\",result=\"ok\"}}");
            assert_eq!(value(&text, &series), n, "{trigger}");
        }

        // The certificates in use, as their files say.
        for file in ["server-cert.pem", "ca.pem"] {
            let path = tls.join(file);
            let cert = CertSummary::from_der(&read_certificates(&path).unwrap()[0]).unwrap();
            let label = format!("{{file=\"{}\"}}", path.display());
            assert_eq!(
                value(
                    &text,
                    &format!("tlsql_tls_certificate_not_after_seconds{label}")
                ),
                cert.not_after.unix_timestamp() as f64
            );
            assert_eq!(
                value(
                    &text,
                    &format!("tlsql_tls_certificate_not_before_seconds{label}")
                ),
                cert.not_before.unix_timestamp() as f64
            );
        }

        // root and the idle session are logged in and idle; the pending one is in the
        // connection phase. Closed connections and the pending one's worker take a moment to be
        // seen, so the scrape is repeated until the states settle (bounded).
        let states = |t: &str| {
            ["handshake", "idle", "active"]
                .map(|s| value(t, &format!("tlsql_connections{{state=\"{s}\"}}")))
        };
        let mut state = text;
        for _ in 0..100 {
            if states(&state) == [1.0, 2.0, 0.0] {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            state = curl(metrics, None);
        }
        assert_eq!(states(&state), [1.0, 2.0, 0.0], "{state}");

        // No user name and no address in any series.
        for secret in ["metrics_", "root", "127.0.0.1"] {
            assert!(!state.contains(secret), "{secret} in\n{state}");
        }
        drop((idle, pending));
    }
}
