//! Gateway mode against real MariaDB backends (`util::mariadb`): every outcome through the
//! gateway is compared with the same connection made directly to the backend — logins and
//! refusals for every REQUIRE account and transport, client addresses (PROXY v2), backend
//! `require_secure_transport`, status rows, backend verification, failover, a backend dying
//! under a session, streaming memory, Galera.
//!
//! Shared state: the shared [`pair`] gets the test binary's identity CA added to its `ssl-ca`
//! once (additive, allowed by the fixture's rules) and accounts of the tests' own; tests that
//! kill backends own theirs.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;

use crate::util::TestServer;
use crate::util::mariadb::{
    Connect, MariaDb, Options, Outcome, PASSWORD, accounts, create_accounts, galera, outcome, pair,
    pki,
};
use tlsql::config::{Balance, Config, UpstreamTls};
use tlsql::upstream::identity::{GENERATED_CERT, GENERATED_KEY, IdentityAuthority};

// ---------------------------------------------------------------------------------------------
// The gateway under test

/// The identity CA of this test binary (named like the test CA, as auto-tls generates it),
/// trusted by the shared pair. Each gateway gets a copy in its data directory, so every gateway
/// of the binary forwards identities the backends already trust.
fn identity_files() -> &'static (PathBuf, PathBuf) {
    static FILES: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("tlsql-identity.")
            .tempdir()
            .unwrap()
            .keep();
        let ca = tlsql_tls_api::cert::read_certificates(&pki().ca.cert).unwrap();
        let (authority, added) = IdentityAuthority::generated(&dir, &ca).unwrap();
        assert!(added, "a new identity CA for the test CA");
        assert_eq!(authority.names(), ["/O=tlsql tests/CN=backend"]);
        let files = (dir.join(GENERATED_CERT), dir.join(GENERATED_KEY));
        for server in pair() {
            server.add_ca(&files.0);
        }
        files
    })
}

/// How a test wants its gateway.
struct Setup {
    backends: Vec<SocketAddr>,
    /// `monitor-user` and its password: health checks log in and ask `wsrep_ready`.
    monitor: Option<(&'static str, &'static str)>,
    /// Serve `/metrics` (on a free port).
    metrics: bool,
    tls: UpstreamTls,
    proxy_protocol: bool,
    balance: Balance,
    health_interval: Duration,
}

impl Setup {
    fn to(backends: &[SocketAddr]) -> Self {
        Self {
            backends: backends.to_vec(),
            monitor: None,
            metrics: false,
            tls: UpstreamTls::VerifyIdentity,
            proxy_protocol: true,
            balance: Balance::Ordered,
            health_interval: Duration::from_millis(300),
        }
    }
}

/// Starts a gateway in this process: the test CA's server certificate and client CA on the
/// client leg (so the test clients verify it as they verify the backends), the backends
/// verified against the test CA, the binary's identity CA in its data directory.
fn gateway(setup: Setup) -> TestServer {
    let (cert, key) = identity_files();
    TestServer::start_with(|config: &mut Config, dir: &Path| {
        let tls = config.data_dir.join("tls");
        std::fs::create_dir_all(&tls).unwrap();
        for path in [&config.data_dir, &tls] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        std::fs::copy(cert, tls.join(GENERATED_CERT)).unwrap();
        std::fs::copy(key, tls.join(GENERATED_KEY)).unwrap();
        let pki = pki();
        // The gateway's own copy of its certificate, which a test may rotate.
        let (own_cert, own_key) = (dir.join("server.pem"), dir.join("server-key.pem"));
        std::fs::copy(&pki.server.cert, &own_cert).unwrap();
        std::fs::copy(&pki.server.key, &own_key).unwrap();
        config.security.ssl_cert = Some(own_cert);
        config.security.ssl_key = Some(own_key);
        config.security.ssl_ca = Some(pki.ca.cert.clone());
        config.socket = Some(dir.join("gateway.sock"));
        let up = &mut config.upstream;
        up.servers = setup
            .backends
            .iter()
            .map(|a| a.to_string().parse().unwrap())
            .collect();
        up.tls = setup.tls;
        up.ssl_ca = Some(pki.ca.cert.clone());
        up.proxy_protocol = setup.proxy_protocol;
        up.balance = setup.balance;
        up.health_interval = setup.health_interval;
        up.connect_timeout = Duration::from_secs(3);
        if setup.metrics {
            config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
        }
        if let Some((user, password)) = setup.monitor {
            up.monitor_user = Some(user.to_string());
            up.monitor_password = tlsql::config::Secret::new(password);
        }
        // MariaDB's TLS 1.3 preference (OpenSSL's default order), so that the client leg
        // negotiates what a direct connection would and REQUIRE CIPHER compares alike.
        // BoringSSL's TLS 1.3 suites are fixed; it follows the client's order, as MariaDB does.
        if config.security.tls_backend != tlsql::config::TlsBackendKind::Boring {
            config.security.tls_ciphersuites = [
                "TLS_AES_256_GCM_SHA384",
                "TLS_CHACHA20_POLY1305_SHA256",
                "TLS_AES_128_GCM_SHA256",
            ]
            .map(String::from)
            .to_vec();
        }
    })
}

/// `'gw_rw'@'%'` with every privilege, for the tests that write (the matrix accounts have
/// none). Created once per server: an account change makes MariaDB rebuild its privilege
/// tables, which other tests' logins on a shared server should not have to meet.
fn writer(port: u16, root: impl FnOnce() -> mysql::Conn) {
    static DONE: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut done = DONE.lock().unwrap_or_else(|p| p.into_inner());
    if done.contains(&port) {
        return;
    }
    let mut root = root();
    root.query_drop(format!(
        "CREATE USER IF NOT EXISTS 'gw_rw'@'%' IDENTIFIED BY '{PASSWORD}'"
    ))
    .unwrap();
    root.query_drop("GRANT ALL PRIVILEGES ON *.* TO 'gw_rw'@'%'")
        .unwrap();
    done.push(port);
}

/// Outcomes compare exactly, except a failed TLS handshake: its text is each TLS library's
/// own (MariaDB's OpenSSL directly, tlsql's library through the gateway).
fn same(direct: &Outcome, through: &Outcome) -> bool {
    match (direct, through) {
        (Outcome::Failed(_), Outcome::Failed(_)) => true,
        (a, b) => a == b,
    }
}

// ---------------------------------------------------------------------------------------------
// Logins

/// Every REQUIRE account of the matrix over every TCP way of connecting: the outcome through
/// the gateway is the backend's own. The PROXY header makes the backend see 127.0.0.1 as it
/// would directly, so even the addresses in messages match.
#[test]
fn require_matrix_through_the_gateway_equals_direct() {
    let backend = &pair()[0];
    let gw = gateway(Setup::to(&[backend.addr()]));
    let p = pki();
    let mut mismatches = Vec::new();
    let mut compared = 0;
    for account in accounts().iter().filter(|a| a.host == "%") {
        let base = Connect::tcp(backend.addr(), account.user);
        let ways: [(&str, Connect); 5] = [
            ("plain TCP", base.clone()),
            ("TLS without certificate", base.clone().verified_tls()),
            (
                "TLS as alice",
                base.clone().verified_tls().identity(&p.alice),
            ),
            (
                "TLS as mallory",
                base.clone().verified_tls().identity(&p.mallory),
            ),
            (
                "TLS as alice from a foreign CA",
                base.clone().verified_tls().identity(&p.alice_foreign),
            ),
        ];
        // MariaDB's ed25519 login with the `mysql` crate fails about once in 300 attempts on
        // its own (300 direct logins, no gateway involved): a mismatch there is tried again.
        let attempts = if account.plugin == "ed25519" { 3 } else { 1 };
        for (way, direct) in ways {
            let mut d = outcome(&direct);
            let mut g = outcome(&direct.to(gw.addr));
            for _ in 1..attempts {
                if same(&d, &g) {
                    break;
                }
                d = outcome(&direct);
                g = outcome(&direct.to(gw.addr));
            }
            compared += 1;
            if !same(&d, &g) {
                mismatches.push(format!(
                    "{} over {way}:\n  direct:  {d:?}\n  gateway: {g:?}",
                    account.user
                ));
            }
        }
    }
    assert!(compared >= 40, "{compared} cells");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// A wrong password, an unknown user and an unknown database give the backend's errors.
#[test]
fn refusals_are_the_backends_own() {
    let backend = &pair()[0];
    let gw = gateway(Setup::to(&[backend.addr()]));
    let mut wrong = Connect::tcp(backend.addr(), "r_none").verified_tls();
    wrong.password = "wrong".into();
    let mut unknown = Connect::tcp(backend.addr(), "nobody_here");
    unknown.password = "x".into();
    for c in [wrong, unknown] {
        let d = outcome(&c);
        assert!(matches!(d, Outcome::Err { code: 1045, .. }), "{d:?}");
        assert_eq!(outcome(&c.to(gw.addr)), d);
    }
    // A database that does not exist: 1044/1049 as the backend says.
    let opts = |addr: SocketAddr| {
        mysql::OptsBuilder::new()
            .ip_or_hostname(Some("127.0.0.1"))
            .tcp_port(addr.port())
            .user(Some("r_none"))
            .pass(Some(PASSWORD))
            .db_name(Some("no_such_db"))
            .prefer_socket(false)
    };
    let direct = mysql::Conn::new(opts(backend.addr()))
        .err()
        .unwrap()
        .to_string();
    let through = mysql::Conn::new(opts(gw.addr)).err().unwrap().to_string();
    assert_eq!(direct, through);
}

/// With the PROXY protocol the backend matches `'px'@'127.0.0.2'` against the real client
/// address; without it the backend sees the gateway and refuses, exactly like a direct
/// connection from 127.0.0.1.
#[test]
fn proxy_protocol_carries_the_client_address() {
    let backend = &pair()[0];
    let with = gateway(Setup::to(&[backend.addr()]));
    let without = gateway(Setup {
        proxy_protocol: false,
        ..Setup::to(&[backend.addr()])
    });
    let mut px = Connect::tcp(backend.addr(), "px").verified_tls();
    px.bind = Some("127.0.0.2".parse().unwrap());
    let direct = outcome(&px);
    assert_eq!(
        direct,
        Outcome::Ok {
            user: "px@127.0.0.2".into(),
            current_user: "px@127.0.0.2".into(),
            ssl_cipher_nonempty: true,
        }
    );
    assert_eq!(outcome(&px.to(with.addr)), direct);
    let refused = outcome(&px.to(without.addr));
    let mut from_1 = px.clone();
    from_1.bind = None;
    assert_eq!(refused, outcome(&from_1));
    assert!(
        matches!(refused, Outcome::Err { code: 1045, .. }),
        "{refused:?}"
    );
}

/// A backend with `require_secure_transport=ON`: a plain client gets the backend's refusal
/// through the gateway (the backend leg mirrors the plain client leg), a TLS client gets in.
#[test]
fn backend_require_secure_transport_holds_through_the_gateway() {
    let strict = MariaDb::start(&Options {
        require_secure_transport: true,
        extra_ca: vec![identity_files().0.clone()],
        ..Options::default()
    });
    create_accounts(&mut strict.root());
    let gw = gateway(Setup::to(&[strict.addr()]));
    let plain = Connect::tcp(strict.addr(), "r_none");
    let d = outcome(&plain);
    assert!(matches!(d, Outcome::Err { code: 1045, .. }), "{d:?}");
    assert_eq!(outcome(&plain.to(gw.addr)), d);
    let tls = plain.clone().verified_tls();
    let d = outcome(&tls);
    assert!(matches!(d, Outcome::Ok { .. }), "{d:?}");
    assert_eq!(outcome(&tls.to(gw.addr)), d);
}

// ---------------------------------------------------------------------------------------------
// Status

fn tls_client(addr: SocketAddr, user: &str) -> mysql::Conn {
    mysql::Conn::new(
        mysql::OptsBuilder::new()
            .ip_or_hostname(Some("127.0.0.1"))
            .tcp_port(addr.port())
            .user(Some(user))
            .pass(Some(PASSWORD))
            .prefer_socket(false)
            .ssl_opts(Some(
                mysql::SslOpts::default().with_root_cert_path(Some(pki().ca.cert.clone())),
            )),
    )
    .unwrap()
}

fn ssl_rows(conn: &mut mysql::Conn, query: &str) -> Vec<(String, String)> {
    conn.query(query).unwrap()
}

fn row<'a>(rows: &'a [(String, String)], name: &str) -> &'a str {
    rows.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("{name} in {rows:?}"))
}

/// `SHOW [SESSION] STATUS` through the gateway describes the client's own connection: with a
/// plain backend leg (`upstream.tls = "disabled"`) the backend would say the session has no
/// TLS, yet the rows show the client leg's protocol and cipher; with a TLS leg the suite list
/// is the gateway's, not the backend's. Everything else is the backend's.
#[test]
fn session_tls_status_is_the_client_legs() {
    let backend = &pair()[0];
    let plain_leg = gateway(Setup {
        tls: UpstreamTls::Disabled,
        ..Setup::to(&[backend.addr()])
    });
    let active = plain_leg.shared.tls.current().unwrap();
    let mut conn = tls_client(plain_leg.addr, "r_none");
    for query in [
        "SHOW SESSION STATUS LIKE 'Ssl_%'",
        "show status where Variable_name like 'ssl%'",
        "SHOW LOCAL STATUS",
    ] {
        let rows = ssl_rows(&mut conn, query);
        assert_eq!(row(&rows, "Ssl_version"), "TLSv1.3", "{query}");
        assert!(row(&rows, "Ssl_cipher").starts_with("TLS_"), "{query}");
        assert_eq!(
            row(&rows, "Ssl_cipher_list"),
            active.cipher_names,
            "{query}"
        );
        assert_eq!(row(&rows, "Ssl_verify_mode"), "5", "{query}");
        assert_eq!(row(&rows, "Ssl_sessions_reused"), "0", "{query}");
    }
    // What the backend itself knows of its plain leg.
    let global = ssl_rows(&mut conn, "SHOW GLOBAL STATUS LIKE 'Ssl_version'");
    assert_eq!(row(&global, "Ssl_version"), "");
    let via_schema: Option<String> = conn
        .query_first(
            "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_cipher'",
        )
        .unwrap();
    assert_eq!(via_schema.as_deref(), Some(""));

    let tls_leg = gateway(Setup::to(&[backend.addr()]));
    let mut conn = tls_client(tls_leg.addr, "r_none");
    let rows = ssl_rows(&mut conn, "SHOW STATUS LIKE 'Ssl_cipher%'");
    assert_eq!(
        row(&rows, "Ssl_cipher_list"),
        tls_leg.shared.tls.current().unwrap().cipher_names
    );
    let direct = ssl_rows(
        &mut tls_client(backend.addr(), "r_none"),
        "SHOW STATUS LIKE 'Ssl_cipher_list'",
    );
    assert_ne!(
        row(&direct, "Ssl_cipher_list"),
        row(&rows, "Ssl_cipher_list")
    );
}

// ---------------------------------------------------------------------------------------------
// Backend verification

/// A backend whose certificate comes from another CA, or names another host, is refused by a
/// verifying gateway: the client gets ERR 1105 naming the backend and the reason.
#[test]
fn backends_with_wrong_certificates_are_refused() {
    let p = pki();
    let foreign = MariaDb::start(&Options {
        server: Some(
            p.foreign
                .server("foreign-backend", crate::util::certs::Key::Ecdsa),
        ),
        ..Options::default()
    });
    create_accounts(&mut foreign.root());
    let gw = gateway(Setup::to(&[foreign.addr()]));
    let c = Connect::tcp(foreign.addr(), "r_none")
        .verified_tls()
        .to(gw.addr);
    match outcome(&c) {
        Outcome::Err {
            code: 1105,
            message,
            ..
        } => {
            assert!(message.contains("no backend available"), "{message}");
            assert!(message.contains(&foreign.addr().to_string()), "{message}");
        }
        other => panic!("a backend from another CA was used: {other:?}"),
    }

    // A certificate of the right CA for another name: refused by verify-identity, accepted by
    // verify-ca.
    let other_name = MariaDb::start(&Options {
        server: Some(p.ca.server_named(
            "not-localhost",
            crate::util::certs::Key::Ecdsa,
            "db.elsewhere",
        )),
        extra_ca: vec![identity_files().0.clone()],
        ..Options::default()
    });
    create_accounts(&mut other_name.root());
    let strict = gateway(Setup::to(&[other_name.addr()]));
    let c = Connect::tcp(other_name.addr(), "r_none").verified_tls();
    match outcome(&c.to(strict.addr)) {
        Outcome::Err {
            code: 1105,
            message,
            ..
        } => {
            assert!(
                message.contains("db.elsewhere") || message.contains("name"),
                "{message}"
            );
        }
        other => panic!("a backend for another name was used: {other:?}"),
    }
    let lenient = gateway(Setup {
        tls: UpstreamTls::VerifyCa,
        ..Setup::to(&[other_name.addr()])
    });
    assert!(matches!(outcome(&c.to(lenient.addr)), Outcome::Ok { .. }));
}

// ---------------------------------------------------------------------------------------------
// Failures

fn wait_until(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Two backends: one killed → new sessions go to the other; both killed → ERR 1105 with each
/// backend's reason; restarted → sessions again.
#[test]
fn failover_no_backend_and_recovery() {
    let opts = Options {
        extra_ca: vec![identity_files().0.clone()],
        ..Options::default()
    };
    let a = MariaDb::start(&opts);
    let b = MariaDb::start(&opts);
    for s in [&a, &b] {
        create_accounts(&mut s.root());
    }
    let gw = gateway(Setup {
        metrics: true,
        ..Setup::to(&[a.addr(), b.addr()])
    });
    let scrape = || crate::metrics::curl(gw.metrics.unwrap(), None);
    let up = |addr: SocketAddr| format!("tlsql_upstream_up{{server=\"{addr}\"}}");
    let refused = |addr: SocketAddr| {
        format!("tlsql_upstream_connect_failures_total{{server=\"{addr}\",reason=\"refused\"}}")
    };
    let port_of = |c: &Connect| -> u16 {
        let mut conn = mysql::Conn::new(opts_of(c)).unwrap();
        conn.query_first::<u16, _>("SELECT @@port")
            .unwrap()
            .unwrap()
    };
    let client = Connect::tcp(a.addr(), "r_none").verified_tls().to(gw.addr);
    assert_eq!(port_of(&client), a.port, "ordered: the first backend");
    let text = scrape();
    assert_eq!(crate::metrics::value(&text, &up(a.addr())), 1.0);
    assert_eq!(crate::metrics::value(&text, &refused(a.addr())), 0.0);
    crate::metrics::promtool_check(&text);
    let held = mysql::Conn::new(opts_of(&client)).unwrap();
    let sessions = format!("tlsql_upstream_connections{{server=\"{}\"}}", a.addr());
    assert_eq!(crate::metrics::value(&scrape(), &sessions), 1.0);
    drop(held);
    a.kill();
    assert_eq!(port_of(&client), b.port, "the next healthy backend");
    let text = scrape();
    assert_eq!(crate::metrics::value(&text, &up(a.addr())), 0.0);
    assert!(
        crate::metrics::value(&text, &refused(a.addr())) >= 1.0,
        "{text}"
    );
    assert_eq!(crate::metrics::value(&text, &up(b.addr())), 1.0);
    b.kill();
    match outcome(&client) {
        Outcome::Err {
            code: 1105,
            message,
            ..
        } => {
            assert!(message.starts_with("no backend available: "), "{message}");
            assert!(message.contains(&a.addr().to_string()), "{message}");
            assert!(message.contains(&b.addr().to_string()), "{message}");
        }
        other => panic!("{other:?}"),
    }
    b.restart();
    wait_until(
        "a backend to be healthy again",
        Duration::from_secs(30),
        || matches!(outcome(&client), Outcome::Ok { .. }),
    );
    assert_eq!(port_of(&client), b.port);
}

fn opts_of(c: &Connect) -> mysql::OptsBuilder {
    let mut o = mysql::OptsBuilder::new()
        .ip_or_hostname(Some(c.host.clone()))
        .tcp_port(c.port)
        .user(Some(c.user.clone()))
        .pass(Some(c.password.clone()))
        .prefer_socket(false)
        .read_timeout(Some(Duration::from_secs(60)));
    if c.tls {
        o = o.ssl_opts(Some(
            mysql::SslOpts::default().with_root_cert_path(c.ca.clone()),
        ));
    }
    o
}

/// A backend that dies under a session ends that session with an error (2013, as a direct
/// client would see), never a silent reconnect; the gateway keeps serving.
#[test]
fn a_session_whose_backend_dies_gets_an_error() {
    let opts = Options {
        extra_ca: vec![identity_files().0.clone()],
        ..Options::default()
    };
    let a = MariaDb::start(&opts);
    let b = MariaDb::start(&opts);
    for s in [&a, &b] {
        create_accounts(&mut s.root());
        writer(s.port, || s.root());
    }
    let gw = gateway(Setup::to(&[a.addr(), b.addr()]));
    let client = Connect::tcp(a.addr(), "gw_rw").verified_tls().to(gw.addr);
    let mut conn = mysql::Conn::new(opts_of(&client)).unwrap();
    conn.query_drop("CREATE DATABASE IF NOT EXISTS dies")
        .unwrap();
    conn.query_drop("CREATE TABLE IF NOT EXISTS dies.t (id INT PRIMARY KEY)")
        .unwrap();
    conn.query_drop("START TRANSACTION").unwrap();
    conn.query_drop("INSERT INTO dies.t VALUES (1)").unwrap();
    a.kill();
    let err = conn
        .query_drop("INSERT INTO dies.t VALUES (2)")
        .unwrap_err();
    match &err {
        mysql::Error::MySqlError(e) => {
            assert_eq!(e.code, 2013, "{e}");
            assert!(e.message.contains(&a.addr().to_string()), "{e}");
        }
        other => {
            let text = other.to_string();
            assert!(!text.is_empty());
        }
    }
    // The session is over: no silent reconnect carried it to the other backend.
    assert!(conn.query_drop("SELECT 1").is_err());
    // New sessions go to the survivor.
    let mut again = mysql::Conn::new(opts_of(&client)).unwrap();
    let port: u16 = again.query_first("SELECT @@port").unwrap().unwrap();
    assert_eq!(port, b.port);
}

// ---------------------------------------------------------------------------------------------
// Streaming

/// A 256 MB result streams through the gateway: the process (gateway and client together)
/// grows by far less than the result.
#[test]
fn a_large_result_streams_with_bounded_memory() {
    let backend = &pair()[1];
    writer(backend.port, || backend.root());
    let gw = gateway(Setup::to(&[backend.addr()]));
    let client = Connect::tcp(backend.addr(), "gw_rw")
        .verified_tls()
        .to(gw.addr);
    let mut conn = mysql::Conn::new(opts_of(&client)).unwrap();
    conn.query_drop("CREATE DATABASE IF NOT EXISTS gw_stream")
        .unwrap();
    conn.query_drop("USE gw_stream").unwrap();
    let _memory = crate::util::memory_lock();
    let before = crate::util::rss_bytes() >> 10;
    let mut bytes = 0usize;
    let mut rows = 0usize;
    let result = conn
        .query_iter("SELECT REPEAT('x', 1048576) FROM seq_1_to_256")
        .unwrap();
    for row in result {
        let row = row.unwrap();
        let value: Vec<u8> = mysql::from_row(row);
        bytes += value.len();
        rows += 1;
    }
    let grown = (crate::util::rss_bytes() >> 10).saturating_sub(before);
    assert_eq!((rows, bytes), (256, 256 << 20));
    assert!(
        grown < 64 * 1024,
        "the process grew by {grown} KiB for a 256 MiB result"
    );
}

// ---------------------------------------------------------------------------------------------
// Galera

/// Writes through the gateway to a three-node Galera cluster; the serving node is killed;
/// writes continue through the gateway on another node; every committed row is on the
/// survivors.
#[test]
fn galera_writes_survive_the_serving_node() {
    let cluster = galera();
    cluster.add_ca(&identity_files().0);
    let addrs: Vec<SocketAddr> = (1..=3).map(|i| cluster.node(i).addr()).collect();
    writer(cluster.node(1).port, || cluster.node(1).root());
    let gw = gateway(Setup::to(&addrs));
    let client = Connect::tcp(addrs[0], "gw_rw").verified_tls().to(gw.addr);
    let mut first = mysql::Conn::new(opts_of(&client)).unwrap();
    first
        .query_drop("CREATE DATABASE IF NOT EXISTS gw_galera")
        .unwrap();
    first
        .query_drop("CREATE TABLE IF NOT EXISTS gw_galera.t (id INT PRIMARY KEY, node INT)")
        .unwrap();
    first.query_drop("DELETE FROM gw_galera.t").unwrap();
    let serving: u16 = first.query_first("SELECT @@port").unwrap().unwrap();
    assert_eq!(serving, cluster.node(1).port);
    let mut committed = Vec::new();
    for id in 0..20 {
        first
            .exec_drop("INSERT INTO gw_galera.t VALUES (?, 1)", (id,))
            .unwrap();
        committed.push(id);
    }
    cluster.kill(1);
    assert!(
        first
            .query_drop("INSERT INTO gw_galera.t VALUES (100, 1)")
            .is_err()
    );
    let mut second = None;
    wait_until(
        "a session on a surviving node",
        Duration::from_secs(30),
        || {
            second = mysql::Conn::new(opts_of(&client)).ok();
            second.is_some()
        },
    );
    let mut second = second.unwrap();
    let now_serving: u16 = second.query_first("SELECT @@port").unwrap().unwrap();
    assert_ne!(now_serving, serving);
    for id in 20..40 {
        second
            .exec_drop("INSERT INTO gw_galera.t VALUES (?, 2)", (id,))
            .unwrap();
        committed.push(id);
    }
    for i in [2, 3] {
        let mut root = cluster.node(i).root();
        // Galera applies a commit on the other nodes asynchronously; a causal read waits until
        // this node has applied everything committed before it.
        root.query_drop("SET SESSION wsrep_sync_wait = 1").unwrap();
        let ids: Vec<i32> = root
            .query("SELECT id FROM gw_galera.t ORDER BY id")
            .unwrap();
        assert_eq!(ids, committed, "node {i}");
    }
}

// ---------------------------------------------------------------------------------------------
// Commands that are exchanges, the unix socket, reloads, shutdown

/// COM_CHANGE_USER is an authentication exchange relayed like the login: the backend checks
/// the new account's REQUIRE on the existing transport, and answers as it would directly.
/// `LOAD DATA LOCAL INFILE` hands the turn to the client in the middle of a response.
#[test]
fn change_user_and_local_infile_are_relayed() {
    let backend = &pair()[0];
    writer(backend.port, || backend.root());
    let gw = gateway(Setup::to(&[backend.addr()]));
    let change = |addr: SocketAddr, to: &str| -> String {
        let mut conn = tls_client(addr, "r_none");
        let opts = mysql::ChangeUserOpts::default()
            .with_user(Some(to.into()))
            .with_pass(Some(PASSWORD.into()));
        match conn.change_user(opts) {
            Ok(()) => conn
                .query_first::<String, _>("SELECT CURRENT_USER()")
                .unwrap()
                .unwrap(),
            Err(e) => e.to_string(),
        }
    };
    for to in ["r_ssl", "r_x509", "r_none", "nobody"] {
        let direct = change(backend.addr(), to);
        assert_eq!(change(gw.addr, to), direct, "change to {to}");
    }
    assert_eq!(change(gw.addr, "r_ssl"), "r_ssl@%");

    let mut conn = mysql::Conn::new(
        opts_of(
            &Connect::tcp(backend.addr(), "gw_rw")
                .verified_tls()
                .to(gw.addr),
        )
        .local_infile_handler(Some(mysql::LocalInfileHandler::new(|_, writer| {
            for i in 0..1000 {
                writeln!(writer, "{i}\trow {i}")?;
            }
            Ok(())
        }))),
    )
    .unwrap();
    conn.query_drop("CREATE DATABASE IF NOT EXISTS gw_infile")
        .unwrap();
    conn.query_drop("CREATE OR REPLACE TABLE gw_infile.t (id INT PRIMARY KEY, note TEXT)")
        .unwrap();
    conn.query_drop("LOAD DATA LOCAL INFILE 'rows.tsv' INTO TABLE gw_infile.t")
        .unwrap();
    let count: u32 = conn
        .query_first("SELECT COUNT(*) FROM gw_infile.t")
        .unwrap()
        .unwrap();
    assert_eq!(count, 1000);
    // The session goes on normally after the exchange.
    let sum: u64 = conn
        .query_first("SELECT SUM(id) FROM gw_infile.t")
        .unwrap()
        .unwrap();
    assert_eq!(sum, 999 * 1000 / 2);
}

/// A client on the gateway's unix socket gets a TLS backend leg (its transport is secure), so
/// `REQUIRE SSL` accounts log in; the backend sees the gateway's address (PROXY `LOCAL`).
#[test]
fn unix_socket_clients_get_a_tls_backend_leg() {
    let backend = &pair()[0];
    let gw = gateway(Setup::to(&[backend.addr()]));
    let socket = gw.config.socket.clone().unwrap();
    let got = outcome(&Connect::socket(&socket, "r_ssl"));
    assert_eq!(
        got,
        Outcome::Ok {
            user: "r_ssl@127.0.0.1".into(),
            current_user: "r_ssl@%".into(),
            // The client's own connection has no TLS; the status rows say so.
            ssl_cipher_nonempty: false,
        }
    );
    assert!(matches!(
        outcome(&Connect::socket(&socket, "r_x509")),
        Outcome::Err { code: 1045, .. }
    ));
}

/// The gateway's own certificate is rotated and reloaded (what SIGHUP does) twenty times
/// while clients keep connecting through it: no connection fails, and new ones see the new
/// certificate.
#[test]
fn gateway_reloads_under_load_fail_no_connection() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    let backend = &pair()[1];
    let gw = gateway(Setup::to(&[backend.addr()]));
    let stop = Arc::new(AtomicBool::new(false));
    let connected = Arc::new(AtomicU32::new(0));
    let client = {
        let (stop, connected, addr) = (Arc::clone(&stop), Arc::clone(&connected), gw.addr);
        std::thread::spawn(move || {
            let mut failures = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(120);
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                match outcome(&Connect::tcp(addr, "r_ssl").verified_tls()) {
                    Outcome::Ok { .. } => {
                        connected.fetch_add(1, Ordering::Relaxed);
                    }
                    other => failures.push(other),
                }
            }
            failures
        })
    };
    let cert = gw.config.security.ssl_cert.clone().unwrap();
    let key = gw.config.security.ssl_key.clone().unwrap();
    for i in 0..20 {
        let fresh = pki()
            .ca
            .server(&format!("gw-rotated-{i}"), crate::util::certs::Key::Ecdsa);
        std::fs::copy(&fresh.cert, &cert).unwrap();
        std::fs::copy(&fresh.key, &key).unwrap();
        gw.shared.reload_tls(false).unwrap();
        let seen = connected.load(Ordering::Relaxed);
        let until = Instant::now() + Duration::from_secs(30);
        while connected.load(Ordering::Relaxed) < seen + 2 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let failures = client.join().unwrap();
    let ok = connected.load(Ordering::Relaxed);
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    assert!(ok >= 40, "only {ok} connections during 20 reloads");
}

/// SIGTERM drains: a statement running on a backend finishes and its result reaches the client,
/// an idle session gets ERR 1053 unprompted (sequence id 0) and the close, as on the embedded
/// engine, and new connections are refused.
#[test]
fn shutdown_drains_relayed_sessions() {
    use crate::util::raw::{RawClient, TlsOptions, parse_err};
    use std::io::Read as _;

    let backend = &pair()[1];
    let gw = gateway(Setup::to(&[backend.addr()]));
    let addr = gw.addr;
    let mut idle = RawClient::connect(addr).unwrap();
    idle.start_tls(&TlsOptions {
        ca: Some(pki().ca.cert.clone()),
        ..TlsOptions::default()
    })
    .unwrap();
    idle.login("r_none", PASSWORD, None).unwrap();
    let running = std::thread::spawn(move || {
        let mut conn = tls_client(addr, "r_none");
        conn.query_first::<u32, _>("SELECT SLEEP(2) + 7")
    });
    std::thread::sleep(Duration::from_millis(700));
    gw.begin_shutdown();
    let result = running.join().unwrap().unwrap();
    assert_eq!(result, Some(7), "the running statement finished");
    idle.seq = 0;
    let packet = idle.read_packet().expect("ERR 1053 before the close");
    let err = parse_err(&packet);
    assert_eq!((packet[0], err.code), (0xFF, 1053), "{}", err.message);
    assert_eq!(idle.seq, 1, "sent with sequence id 0");
    let mut rest = [0u8; 1];
    assert!(
        matches!(idle.stream.read(&mut rest), Ok(0)),
        "then the close"
    );
    assert!(matches!(
        outcome(&Connect::tcp(addr, "r_none").verified_tls()),
        Outcome::Failed(_)
    ));
}

/// A backend that refuses a connection before greeting it — here with too many connections —
/// is not cut out of the balancing for it: a session the gateway cannot place elsewhere gets the
/// backend's own refusal, as a direct client would. Host-restricted accounts answer alike
/// directly and through the gateway.
#[test]
fn a_backend_that_refuses_before_the_greeting_answers_as_directly() {
    let backend = MariaDb::start(&Options {
        extra_ca: vec![identity_files().0.clone()],
        ..Options::default()
    });
    create_accounts(&mut backend.root());
    backend
        .root()
        .query_drop(format!(
            "CREATE USER 'only2'@'127.0.0.2' IDENTIFIED BY '{PASSWORD}'"
        ))
        .unwrap();
    // Only the startup probe: a saturated backend must meet the session, not a probe.
    let gw = gateway(Setup {
        health_interval: Duration::from_secs(600),
        ..Setup::to(&[backend.addr()])
    });
    let from = |ip: &str| {
        let mut c = Connect::tcp(backend.addr(), "only2").verified_tls();
        c.bind = Some(ip.parse().unwrap());
        c
    };
    for ip in ["127.0.0.1", "127.0.0.2", "127.0.0.3"] {
        assert_eq!(
            outcome(&from(ip).to(gw.addr)),
            outcome(&from(ip)),
            "from {ip}"
        );
    }

    let mut root = backend.root();
    root.query_drop("SET GLOBAL max_connections = 10").unwrap();
    let limit: u32 = root
        .query_first("SELECT @@max_connections")
        .unwrap()
        .unwrap();
    let r_none = Connect::tcp(backend.addr(), "r_none").verified_tls();
    // MariaDB lets one connection past the limit through to authentication (for an account
    // with CONNECTION ADMIN); beyond that it refuses before the greeting. Root's own
    // connection counts too.
    let _held: Vec<mysql::Conn> = (0..limit + 1)
        .filter_map(|_| mysql::Conn::new(opts_of(&r_none)).ok())
        .collect();
    // MariaDB counts a closed connection out only once its thread has finished, so the slot
    // past the limit (a refusal after the greeting, SQLSTATE 08004) may be taken or free from
    // one attempt to the next (a refusal before it, HY000): the two are compared in the same
    // state, i.e. until they agree or the attempts run out.
    let mut attempts = 0;
    let (direct, through) = loop {
        attempts += 1;
        let direct = outcome(&r_none);
        let through = outcome(&r_none.to(gw.addr));
        if direct == through || attempts == 5 {
            break (direct, through);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        matches!(direct, Outcome::Err { code: 1040, .. }),
        "{direct:?}"
    );
    assert_eq!(through, direct);
}

/// With a monitor account the health check logs in and asks `wsrep_ready`: a Galera node cut off
/// from its cluster (`gmcast.isolate`) stops being ready, the gateway takes it out and new
/// sessions go to the next node; when it rejoins it is taken back. A wrong monitor password makes
/// the backend down with the backend's refusal as the reason.
#[test]
fn monitor_health_checks_follow_galera_readiness() {
    let cluster = galera();
    cluster.add_ca(&identity_files().0);
    let mut root = cluster.node(1).root();
    root.query_drop("CREATE USER IF NOT EXISTS 'gw_monitor'@'%' IDENTIFIED BY 'monitor-pw'")
        .unwrap();
    let addrs: Vec<SocketAddr> = (1..=3).map(|i| cluster.node(i).addr()).collect();
    let gw = gateway(Setup {
        monitor: Some(("gw_monitor", "monitor-pw")),
        ..Setup::to(&addrs)
    });
    let client = Connect::tcp(addrs[0], "r_none").verified_tls().to(gw.addr);
    let port_of = |c: &Connect| -> Option<u16> {
        let mut conn = mysql::Conn::new(opts_of(c)).ok()?;
        conn.query_first("SELECT @@port").ok()?
    };
    assert_eq!(port_of(&client), Some(cluster.node(1).port));
    let isolate = |on: u8| {
        cluster
            .node(1)
            .root()
            .query_drop(format!(
                "SET GLOBAL wsrep_provider_options = 'gmcast.isolate={on}'"
            ))
            .unwrap();
    };
    isolate(1);
    wait_until("node 1 taken out", Duration::from_secs(60), || {
        port_of(&client) == Some(cluster.node(2).port)
    });
    isolate(0);
    wait_until("node 1 taken back", Duration::from_secs(90), || {
        port_of(&client) == Some(cluster.node(1).port)
    });

    let wrong = gateway(Setup {
        monitor: Some(("gw_monitor", "wrong")),
        ..Setup::to(&addrs[..1])
    });
    match outcome(
        &Connect::tcp(addrs[0], "r_none")
            .verified_tls()
            .to(wrong.addr),
    ) {
        Outcome::Err {
            code: 1105,
            message,
            ..
        } => {
            assert!(message.contains("monitor login refused"), "{message}");
            assert!(message.contains("1045"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}
