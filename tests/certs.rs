//! `tlsql certs`, run as the real binary: the six files, their modes, `openssl verify`, the
//! files served by the server (`ssl-cert`, `ssl-key`, `ssl-ca`) on every backend, a client that
//! verifies the host name against a `--host` name and logs in with the client certificate, and
//! the refusals (existing files, bad names).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use mysql::prelude::Queryable;
use tlsql::config::TlsBackendKind;
use tlsql_tls_api::cert::{CertSummary, read_certificates};

use crate::util::TestServer;

crate::backend_suite!(generated_files_serve_verified_tls_and_client_certificate_login);

const FILES: [&str; 6] = [
    "ca.pem",
    "ca-key.pem",
    "server-cert.pem",
    "server-key.pem",
    "client-cert.pem",
    "client-key.pem",
];

fn tlsql_certs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tlsql"))
        .arg("certs")
        .args(args)
        .output()
        .expect("the tlsql binary runs")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn summary(path: &Path) -> CertSummary {
    CertSummary::from_der(&read_certificates(path).unwrap()[0]).unwrap()
}

mod cases {
    use super::*;

    pub(super) fn generated_files_serve_verified_tls_and_client_certificate_login(
        backend: TlsBackendKind,
    ) {
        // RSA where the backend is a C library, so both key types are served somewhere.
        let key = match backend {
            TlsBackendKind::Rustls => "ecdsa-p256",
            _ => "rsa-2048",
        };
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("certs");
        let run = tlsql_certs(&[
            "--out",
            out.to_str().unwrap(),
            "--host",
            "localhost",
            "db.tlsql.test",
            "--key",
            key,
            "--days",
            "30",
        ]);
        assert!(run.status.success(), "{run:?}");
        assert_eq!(mode(&out), 0o700);
        for name in FILES {
            let expected = if name.ends_with("key.pem") {
                0o600
            } else {
                0o640
            };
            assert_eq!(mode(&out.join(name)), expected, "{name}");
        }

        let verify = Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(out.join("ca.pem"))
            .arg(out.join("server-cert.pem"))
            .arg(out.join("client-cert.pem"))
            .output()
            .expect("openssl runs");
        let stdout = String::from_utf8_lossy(&verify.stdout);
        assert!(verify.status.success(), "{verify:?}");
        assert_eq!(stdout.matches(": OK").count(), 2, "{stdout}");

        let server_cert = summary(&out.join("server-cert.pem"));
        let sans: Vec<String> = server_cert
            .subject_alt_names
            .iter()
            .map(|s| format!("{s:?}"))
            .collect();
        assert_eq!(sans.len(), 2, "{sans:?}");
        assert!(
            sans[0].contains("localhost") && sans[1].contains("db.tlsql.test"),
            "{sans:?}"
        );
        let days = (server_cert.not_after - time::OffsetDateTime::now_utc()).whole_days();
        assert!(
            (29..=30).contains(&days),
            "server certificate valid for {days} days"
        );
        assert_eq!(
            server_cert.key_type,
            if key == "rsa-2048" {
                "RSA 2048"
            } else {
                "ECDSA P-256"
            }
        );

        let server = TestServer::start_with(|c, _| {
            c.security.tls_backend = backend;
            c.security.ssl_cert = Some(out.join("server-cert.pem"));
            c.security.ssl_key = Some(out.join("server-key.pem"));
            c.security.ssl_ca = Some(out.join("ca.pem"));
        });
        let subject = summary(&out.join("client-cert.pem")).subject;
        server
            .root()
            .query_drop(format!(
                "CREATE USER cert_user IDENTIFIED BY 'pw' REQUIRE SUBJECT '{subject}'"
            ))
            .unwrap();
        let ssl = |identity: bool| {
            let ssl = mysql::SslOpts::default().with_root_cert_path(Some(out.join("ca.pem")));
            if identity {
                ssl.with_client_identity(Some(mysql::ClientIdentity::new(
                    out.join("client-cert.pem"),
                    out.join("client-key.pem"),
                )))
            } else {
                ssl
            }
        };
        let connect = |host: &str, identity: bool| {
            mysql::Conn::new(
                server
                    .opts("cert_user", "pw")
                    .ip_or_hostname(Some(host))
                    .ssl_opts(Some(ssl(identity))),
            )
        };

        // `localhost` is a --host name: verified, and the client certificate logs in.
        let mut c = connect("localhost", true).expect("verified login with the client certificate");
        let user: String = c.query_first("SELECT CURRENT_USER()").unwrap().unwrap();
        assert_eq!(user, "cert_user@%");
        let (_, version): (String, String) = c
            .query_first("SHOW STATUS LIKE 'Ssl_version'")
            .unwrap()
            .unwrap();
        assert!(version.starts_with("TLSv1."), "{version}");

        // 127.0.0.1 was not given: the same server fails host name verification there.
        let err = connect("127.0.0.1", true).expect_err("127.0.0.1 is not a --host name");
        assert!(!matches!(err, mysql::Error::MySqlError(_)), "{err}");

        // Without the client certificate, REQUIRE SUBJECT refuses the login.
        match connect("localhost", false) {
            Err(mysql::Error::MySqlError(e)) => assert_eq!(e.code, 1045, "{e}"),
            other => panic!("logged in without the client certificate: {other:?}"),
        }
    }
}

#[test]
fn existing_files_are_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("certs");
    let args = ["--out", out.to_str().unwrap(), "--host", "localhost"];
    assert!(tlsql_certs(&args).status.success());
    let before: Vec<Vec<u8>> = FILES
        .iter()
        .map(|f| std::fs::read(out.join(f)).unwrap())
        .collect();

    let again = tlsql_certs(&args);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&again.stderr).trim(),
        format!(
            "tlsql certs: {}: already exists; tlsql certs never overwrites a file: remove it or choose another --out",
            out.join("ca.pem").display()
        )
    );
    let after: Vec<Vec<u8>> = FILES
        .iter()
        .map(|f| std::fs::read(out.join(f)).unwrap())
        .collect();
    assert_eq!(before, after);

    // One file left over is enough to refuse, and nothing else is written.
    let partial = dir.path().join("partial");
    std::fs::create_dir(&partial).unwrap();
    std::fs::write(partial.join("client-key.pem"), "kept").unwrap();
    let refused = tlsql_certs(&["--out", partial.to_str().unwrap(), "--host", "localhost"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("client-key.pem: already exists"),
        "{refused:?}"
    );
    assert_eq!(std::fs::read_dir(&partial).unwrap().count(), 1);
    assert_eq!(
        std::fs::read(partial.join("client-key.pem")).unwrap(),
        b"kept"
    );
}

#[test]
fn bad_arguments_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("certs");
    let out = out.to_str().unwrap();
    let bad_host = tlsql_certs(&["--out", out, "--host", "db.example.com", "not a name"]);
    assert_eq!(bad_host.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&bad_host.stderr).trim(),
        "tlsql certs: --host \"not a name\" is neither an IP address nor a valid DNS name"
    );
    let no_host = tlsql_certs(&["--out", out]);
    assert_eq!(no_host.status.code(), Some(2));
    let bad_key = tlsql_certs(&["--out", out, "--host", "h", "--key", "dsa"]);
    assert_eq!(bad_key.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_key.stderr).contains("unknown key type 'dsa'"));
    assert!(
        !Path::new(out).exists(),
        "nothing is written on a usage error"
    );
}
