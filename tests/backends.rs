//! The real backends of the gateway tests (`util::mariadb`), exercised directly: what MariaDB
//! 10.11 answers for every REQUIRE account and way of connecting, for
//! `require_secure_transport=ON`, for PROXY protocol v2 headers, and what a Galera cluster does
//! when a node is killed. These are the answers the gateway must reproduce.
//!
//! Shared state: `matrix_*` and `proxy_*` only read the shared [`pair`]; `galera_*` holds the
//! shared cluster exclusively ([`galera`]) and kills a node of it; `strict_*`, `own_*` and
//! `backends_with_*` start servers of their own.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use ppp::v2::{AddressFamily, Builder, Command, Protocol, Version};
use procfs::net::TcpState;
use procfs::process::{FDTarget, Process};
use rcgen::DnType;

use crate::util::certs::Ca;
use crate::util::mariadb::{
    Connect, MariaDb, Options, Outcome, PASSWORD, accounts, create_accounts, galera, outcome, pair,
    pki,
};

/// The TCP addresses (IPv4 and IPv6) process `pid` listens on, sorted.
fn listening(pid: u32) -> Vec<SocketAddr> {
    let process = Process::new(pid as i32).expect("the server process");
    let sockets: HashSet<u64> = process
        .fd()
        .expect("its file descriptors")
        .filter_map(|fd| match fd.ok()?.target {
            FDTarget::Socket(inode) => Some(inode),
            _ => None,
        })
        .collect();
    let mut addrs: Vec<SocketAddr> = procfs::net::tcp()
        .expect("/proc/net/tcp")
        .into_iter()
        .chain(procfs::net::tcp6().expect("/proc/net/tcp6"))
        .filter(|e| e.state == TcpState::Listen && sockets.contains(&e.inode))
        .map(|e| e.local_address)
        .collect();
    addrs.sort();
    addrs
}

// ---------------------------------------------------------------------------------------------
// The REQUIRE matrix

/// How a matrix cell ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cell {
    /// Logged in as the account, from 127.0.0.1 (or localhost over the socket).
    In,
    /// ERR 1045 28000 `Access denied for user 'u'@'h' (using password: YES)`.
    Denied,
    /// The TLS handshake failed: the server sent the `unknown_ca` alert for the client
    /// certificate (with TLS 1.3 the client sees it at its first read).
    UnknownCa,
}
use Cell::{Denied, In, UnknownCa};

/// The ways of connecting, in matrix column order.
const WAYS: [&str; 6] = [
    "plain TCP",
    "TLS without certificate",
    "TLS as alice",
    "TLS as mallory (same CA, other subject)",
    "TLS as alice from a foreign CA",
    "unix socket",
];

fn way(server: &MariaDb, user: &str, column: usize) -> Connect {
    let pki = pki();
    let tcp = Connect::tcp(server.addr(), user);
    match column {
        0 => tcp,
        1 => tcp.verified_tls(),
        2 => tcp.verified_tls().identity(&pki.alice),
        3 => tcp.verified_tls().identity(&pki.mallory),
        4 => tcp.verified_tls().identity(&pki.alice_foreign),
        _ => Connect::socket(&server.socket, user),
    }
}

fn cell(o: &Outcome, user: &str, column: usize) -> Cell {
    let host = if column == 5 {
        "localhost"
    } else {
        "127.0.0.1"
    };
    match o {
        Outcome::Ok {
            user: seen,
            current_user,
            ssl_cipher_nonempty,
        } => {
            assert_eq!(seen, &format!("{user}@{host}"));
            assert_eq!(current_user, &format!("{user}@%"));
            assert_eq!(*ssl_cipher_nonempty, (1..=4).contains(&column), "{user}");
            In
        }
        Outcome::Err {
            code: 1045,
            sqlstate,
            message,
        } => {
            assert_eq!(sqlstate, "28000");
            assert_eq!(
                message,
                &format!("Access denied for user '{user}'@'{host}' (using password: YES)")
            );
            Denied
        }
        Outcome::Failed(e) if e.contains("received fatal alert: UnknownCA") => UnknownCa,
        other => panic!("{user} over {}: unexpected {other:?}", WAYS[column]),
    }
}

/// Every matrix account over every way of connecting, directly against both servers of the
/// pair: the expected cell, and the same outcome from both (they are configured alike, so a
/// comparison through the gateway has a stable reference).
#[test]
fn matrix_of_require_accounts_on_mariadb() {
    let servers = pair();
    let expected: [(&str, [Cell; 6]); 9] = [
        ("r_none", [In, In, In, In, UnknownCa, In]),
        // MariaDB does not count the unix socket as TLS for REQUIRE SSL.
        ("r_ssl", [Denied, In, In, In, UnknownCa, Denied]),
        ("r_x509", [Denied, Denied, In, In, UnknownCa, Denied]),
        ("r_subject", [Denied, Denied, In, Denied, UnknownCa, Denied]),
        ("r_issuer", [Denied, Denied, In, In, UnknownCa, Denied]),
        ("r_both", [Denied, Denied, In, Denied, UnknownCa, Denied]),
        ("r_cipher", [Denied, In, In, In, UnknownCa, Denied]),
        (
            "r_cipher_other",
            [Denied, Denied, Denied, Denied, UnknownCa, Denied],
        ),
        // Through AuthSwitch to client_ed25519, on every transport.
        ("r_ed25519", [In, In, In, In, UnknownCa, In]),
    ];
    for server in servers {
        assert_eq!(listening(server.pid()), [server.addr()], "loopback only");
        let plugin: Option<String> = server
            .root()
            .query_first("SELECT plugin FROM mysql.user WHERE user = 'r_ed25519'")
            .unwrap();
        assert_eq!(
            plugin.as_deref(),
            Some("ed25519"),
            "the ed25519 plugin loads"
        );
    }
    assert_eq!(
        accounts().len(),
        expected.len() + 1,
        "every matrix account but px (PROXY tests) has a row here"
    );
    let mut mismatches = Vec::new();
    for (user, cells) in &expected {
        for (column, want) in cells.iter().enumerate() {
            // MariaDB's ed25519 login with the `mysql` crate fails about once in 300 attempts
            // on its own: a refusal of that account is tried again.
            let login = |server: &MariaDb| {
                let mut got = outcome(&way(server, user, column));
                for _ in 0..2 {
                    if *user != "r_ed25519" || !matches!(got, Outcome::Err { code: 1045, .. }) {
                        break;
                    }
                    got = outcome(&way(server, user, column));
                }
                got
            };
            let first = login(&servers[0]);
            let second = login(&servers[1]);
            assert_eq!(
                first, second,
                "{user} over {}: the two servers disagree",
                WAYS[column]
            );
            let got = cell(&first, user, column);
            if got != *want {
                mismatches.push(format!(
                    "{user} over {}: expected {want:?}, got {got:?}",
                    WAYS[column]
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));

    // A client that does not trust the server's CA never gets to log in.
    let mut foreign_trust = Connect::tcp(servers[0].addr(), "r_none").verified_tls();
    foreign_trust.ca = Some(pki().foreign.cert.clone());
    match outcome(&foreign_trust) {
        Outcome::Failed(e) => assert!(e.contains("UnknownIssuer"), "{e}"),
        other => panic!("a server from another CA was accepted: {other:?}"),
    }
}

#[test]
fn normalization_replaces_only_the_client_address() {
    let denied = Outcome::Err {
        code: 1045,
        sqlstate: "28000".into(),
        message: "Access denied for user 'px'@'127.0.0.2' (using password: YES)".into(),
    };
    assert_eq!(
        denied.without_client_host(),
        Outcome::Err {
            code: 1045,
            sqlstate: "28000".into(),
            message: "Access denied for user 'px'@'<client>' (using password: YES)".into(),
        }
    );
    let host = Outcome::Err {
        code: 1130,
        sqlstate: "HY000".into(),
        message: "Host '10.1.2.3' is not allowed to connect to this MariaDB server".into(),
    };
    assert_eq!(
        host.without_client_host(),
        Outcome::Err {
            code: 1130,
            sqlstate: "HY000".into(),
            message: "Host '<client>' is not allowed to connect to this MariaDB server".into(),
        }
    );
    let ok = Outcome::Ok {
        user: "px@127.0.0.2".into(),
        current_user: "px@127.0.0.2".into(),
        ssl_cipher_nonempty: true,
    };
    assert_eq!(
        ok.without_client_host(),
        Outcome::Ok {
            user: "px@<client>".into(),
            current_user: "px@127.0.0.2".into(),
            ssl_cipher_nonempty: true,
        }
    );
}

// ---------------------------------------------------------------------------------------------
// PROXY protocol v2

/// A PROXY v2 header for a TCP connection from `source` to `destination`, encoded by the `ppp`
/// crate (the gateway's own header is what the gateway tests check; this one is the reference).
fn proxy_header(source: SocketAddr, destination: SocketAddr) -> Vec<u8> {
    Builder::with_addresses(
        Version::Two | Command::Proxy,
        Protocol::Stream,
        (source, destination),
    )
    .build()
    .expect("encode a PROXY v2 header")
}

/// A PROXY v2 `LOCAL` header: a connection the proxy makes on its own behalf (health checks).
fn local_header() -> Vec<u8> {
    Builder::new(
        Version::Two | Command::Local,
        AddressFamily::Unspecified | Protocol::Unspecified,
    )
    .build()
    .expect("encode a PROXY v2 LOCAL header")
}

/// When the relay sends the PROXY header to the backend.
#[derive(Clone, Copy, Debug)]
enum HeaderAt {
    /// At once on connecting, before the server's greeting arrives.
    Connect,
    /// After the greeting arrived (and before it is passed on to the client).
    AfterGreeting,
}

/// Relays one client connection to `backend`, sending `header` to the backend first: the
/// backend leg of a gateway with the PROXY protocol on, without the rest of the gateway.
/// Returns the address to connect to; the relay ends with its one connection.
fn relay_with_header(backend: SocketAddr, header: Vec<u8>, at: HeaderAt) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the relay");
    let addr = listener.local_addr().expect("relay address");
    std::thread::spawn(move || -> std::io::Result<()> {
        let (mut client, _) = listener.accept()?;
        let mut upstream = TcpStream::connect(backend)?;
        for s in [&client, &upstream] {
            s.set_read_timeout(Some(Duration::from_secs(60)))?;
        }
        match at {
            HeaderAt::Connect => upstream.write_all(&header)?,
            HeaderAt::AfterGreeting => {
                let mut greeting = [0u8; 1024];
                let n = upstream.read(&mut greeting)?;
                upstream.write_all(&header)?;
                client.write_all(&greeting[..n])?;
            }
        }
        let (mut c_in, mut u_out) = (client.try_clone()?, upstream.try_clone()?);
        let up = std::thread::spawn(move || {
            let _ = std::io::copy(&mut c_in, &mut u_out);
            let _ = u_out.shutdown(Shutdown::Write);
        });
        let _ = std::io::copy(&mut upstream, &mut client);
        let _ = client.shutdown(Shutdown::Write);
        let _ = up.join();
        Ok(())
    });
    addr
}

/// MariaDB with `proxy_protocol_networks=127.0.0.0/8`: a header sent from 127.0.0.1 before the
/// greeting makes the server see the claimed address — for account matching (`'px'@'127.0.0.2'`),
/// `USER()` and error messages, over plain TCP and TLS alike — exactly as if the client had
/// connected from that address. A `LOCAL` header keeps the real address; no header at all is
/// accepted too (the header is optional from a trusted network).
#[test]
fn proxy_v2_header_sets_the_client_address() {
    let server = &pair()[0];
    let claimed: SocketAddr = "127.0.0.2:40000".parse().unwrap();
    let via = |c: &Connect, header: Vec<u8>, at: HeaderAt| {
        outcome(&c.to(relay_with_header(server.addr(), header, at)))
    };
    let header = || proxy_header(claimed, server.addr());

    // 'px'@'127.0.0.2': refused from 127.0.0.1, in through a header claiming 127.0.0.2 (sent
    // before or after the greeting: MariaDB reads it as the client's first packet), and the
    // same outcome as connecting from 127.0.0.2 directly.
    let px = Connect::tcp(server.addr(), "px");
    let mut px_from_2 = px.clone();
    px_from_2.bind = Some(claimed.ip());
    let direct = outcome(&px_from_2);
    assert_eq!(
        direct,
        Outcome::Ok {
            user: "px@127.0.0.2".into(),
            current_user: "px@127.0.0.2".into(),
            ssl_cipher_nonempty: false,
        }
    );
    assert_eq!(via(&px, header(), HeaderAt::Connect), direct);
    assert_eq!(via(&px, header(), HeaderAt::AfterGreeting), direct);
    let refused = |host: &str| Outcome::Err {
        code: 1045,
        sqlstate: "28000".into(),
        message: format!("Access denied for user 'px'@'{host}' (using password: YES)"),
    };
    assert_eq!(outcome(&px), refused("127.0.0.1"));
    assert_eq!(
        via(&px, local_header(), HeaderAt::Connect),
        refused("127.0.0.1")
    );
    let other: SocketAddr = "127.0.0.3:40000".parse().unwrap();
    assert_eq!(
        via(&px, proxy_header(other, server.addr()), HeaderAt::Connect),
        refused("127.0.0.3")
    );

    // The header precedes the SSLRequest; TLS and the client certificate work as usual.
    let subject = Connect::tcp(server.addr(), "r_subject")
        .verified_tls()
        .identity(&pki().alice);
    let relayed = via(&subject, header(), HeaderAt::Connect);
    assert_eq!(
        relayed,
        Outcome::Ok {
            user: "r_subject@127.0.0.2".into(),
            current_user: "r_subject@%".into(),
            ssl_cipher_nonempty: true,
        }
    );
    let mut subject_from_2 = subject.clone();
    subject_from_2.bind = Some(claimed.ip());
    assert_eq!(outcome(&subject_from_2), relayed);

    // Without a header the connection from the trusted network is taken as it is.
    assert_eq!(
        outcome(&Connect::tcp(server.addr(), "r_none")),
        Outcome::Ok {
            user: "r_none@127.0.0.1".into(),
            current_user: "r_none@%".into(),
            ssl_cipher_nonempty: false,
        }
    );
}

// ---------------------------------------------------------------------------------------------
// require_secure_transport, and a header from an untrusted address

/// A server of its own with `require_secure_transport=ON` and no `proxy_protocol_networks`.
/// MariaDB 10.11 refuses plain TCP with ERR 1045 (not MySQL's 3159), worded like a bad
/// password; TLS and the unix socket are secure. A PROXY header from an address outside
/// `proxy_protocol_networks` is refused.
#[test]
fn strict_server_refuses_plain_tcp_and_untrusted_proxy_headers() {
    let t = Instant::now();
    let server = MariaDb::start(&Options {
        require_secure_transport: true,
        proxy_networks: None,
        ..Options::default()
    });
    eprintln!(
        "strict server started in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    create_accounts(&mut server.root());
    let r_none = Connect::tcp(server.addr(), "r_none");
    assert_eq!(
        outcome(&r_none),
        Outcome::Err {
            code: 1045,
            sqlstate: "28000".into(),
            message: "Access denied for user 'r_none'@'127.0.0.1' (using password: YES)".into(),
        }
    );
    // A wrong password gets exactly the same answer.
    let mut wrong = r_none.clone();
    wrong.password = "wrong".into();
    assert_eq!(outcome(&wrong), outcome(&r_none));
    assert!(matches!(
        outcome(&r_none.clone().verified_tls()),
        Outcome::Ok { .. }
    ));
    assert_eq!(
        outcome(&Connect::socket(&server.socket, "r_none")),
        Outcome::Ok {
            user: "r_none@localhost".into(),
            current_user: "r_none@%".into(),
            ssl_cipher_nonempty: false,
        }
    );
    // A PROXY header from an address outside proxy_protocol_networks: MariaDB sends its
    // greeting, takes the header for the client's first packet and answers it with ERR 1130
    // (sequence id 1), then closes. Read off the wire, since a client that sent its own
    // handshake response (sequence 1) is out of step with that answer.
    let header = || proxy_header("127.0.0.2:40000".parse().unwrap(), server.addr());
    let mut raw = TcpStream::connect(server.addr()).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    raw.write_all(&header()).unwrap();
    let mut wire = Vec::new();
    // The server resets the connection after its ERR; what arrived before is kept.
    let _ = raw.read_to_end(&mut wire);
    let (greeting, rest) = split_packet(&wire);
    assert_eq!(
        (greeting.0, greeting.1[0]),
        (0, 10),
        "a HandshakeV10 greeting"
    );
    let (err, rest) = split_packet(rest);
    assert_eq!(err.0, 1, "sequence id of the ERR");
    assert_eq!(err.1[0], 0xff);
    assert_eq!(u16::from_le_bytes([err.1[1], err.1[2]]), 1130);
    assert_eq!(
        String::from_utf8_lossy(&err.1[3..]),
        "#HY000Proxy header is not accepted from 127.0.0.1"
    );
    assert!(rest.is_empty());
    // Clients see only a broken connection, plain or TLS, whenever the header is sent.
    for at in [HeaderAt::Connect, HeaderAt::AfterGreeting] {
        for c in [r_none.clone(), r_none.clone().verified_tls()] {
            let got = outcome(&c.to(relay_with_header(server.addr(), header(), at)));
            assert!(matches!(got, Outcome::Failed(_)), "{at:?}: {got:?}");
        }
    }

    // The variable is dynamic: OFF lets plain TCP in again.
    server
        .root()
        .query_drop("SET GLOBAL require_secure_transport = OFF")
        .unwrap();
    assert!(matches!(outcome(&r_none), Outcome::Ok { .. }));
}

/// A server of its own: a session on it ends with an error when it is killed; it restarts with
/// its data and accounts; and an added CA (as a gateway's identity CA would be) is trusted from
/// then on without a restart.
#[test]
fn own_server_restarts_after_kill_and_trusts_an_added_ca() {
    let t = Instant::now();
    let server = MariaDb::start(&Options::default());
    eprintln!("own server started in {:.1} s", t.elapsed().as_secs_f64());
    create_accounts(&mut server.root());
    let mut root = server.root();
    root.query_drop("CREATE DATABASE kept").unwrap();
    root.query_drop("CREATE TABLE kept.t (id INT PRIMARY KEY)")
        .unwrap();
    root.query_drop("INSERT INTO kept.t VALUES (7)").unwrap();

    let pid = server.pid();
    server.kill();
    assert!(root.query_drop("SELECT 1").is_err());
    let t = Instant::now();
    server.restart();
    eprintln!("own server restarted in {:.1} s", t.elapsed().as_secs_f64());
    assert_ne!(server.pid(), pid);
    let kept: Vec<u32> = server.root().query("SELECT id FROM kept.t").unwrap();
    assert_eq!(kept, [7]);

    let dir = tempfile::tempdir().unwrap();
    let identity = Ca::new(dir.path(), "identity");
    let bob = identity.client("bob", &[(DnType::CommonName, "bob")], vec![]);
    let x509 = Connect::tcp(server.addr(), "r_x509")
        .verified_tls()
        .identity(&bob);
    match outcome(&x509) {
        Outcome::Failed(e) => assert!(e.contains("UnknownCA"), "{e}"),
        other => panic!("a client certificate from an untrusted CA: {other:?}"),
    }
    server.add_ca(&identity.cert);
    assert!(matches!(outcome(&x509), Outcome::Ok { .. }));
    // ISSUER names the test CA, not the added one.
    let issuer = Connect::tcp(server.addr(), "r_issuer")
        .verified_tls()
        .identity(&bob);
    assert!(matches!(outcome(&issuer), Outcome::Err { code: 1045, .. }));
}

/// Backends whose certificate a verifying client must refuse — one from another CA, one for
/// another name — are refused by the `mysql` crate verifying against the test CA (what a
/// gateway in `verify-identity` mode must do too), and accepted when the client does not verify.
#[test]
fn backends_with_a_foreign_or_misnamed_certificate() {
    let pki = pki();
    let t = Instant::now();
    let (foreign, misnamed) = std::thread::scope(|s| {
        let foreign = s.spawn(|| {
            MariaDb::start(&Options {
                server: Some(pki.foreign_server.clone()),
                ..Options::default()
            })
        });
        let misnamed = MariaDb::start(&Options {
            server: Some(pki.misnamed_server.clone()),
            ..Options::default()
        });
        (foreign.join().expect("foreign-CA server starts"), misnamed)
    });
    eprintln!("two servers started in {:.1} s", t.elapsed().as_secs_f64());
    for (server, reason) in [
        (&foreign, "UnknownIssuer"),
        (&misnamed, "certificate not valid for name"),
    ] {
        create_accounts(&mut server.root());
        let verified = Connect::tcp(server.addr(), "r_ssl").verified_tls();
        match outcome(&verified) {
            Outcome::Failed(e) => assert!(e.contains(reason), "{e}"),
            other => panic!("{reason}: the client accepted the server: {other:?}"),
        }
        let mut unverified = verified.clone();
        unverified.ca = None;
        assert_eq!(
            outcome(&unverified),
            Outcome::Ok {
                user: "r_ssl@127.0.0.1".into(),
                current_user: "r_ssl@%".into(),
                ssl_cipher_nonempty: true,
            }
        );
    }
}

/// Splits one MySQL packet (sequence id, payload) off the front of `bytes`.
fn split_packet(bytes: &[u8]) -> ((u8, &[u8]), &[u8]) {
    assert!(bytes.len() >= 4, "a packet header in {bytes:?}");
    let len = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], 0]) as usize;
    assert!(bytes.len() >= 4 + len, "a whole packet in {bytes:?}");
    ((bytes[3], &bytes[4..4 + len]), &bytes[4 + len..])
}

// ---------------------------------------------------------------------------------------------
// Galera

fn wait_for_status(conn: &mut mysql::Conn, name: &str, want: &str, limit: Duration) -> Duration {
    let t = Instant::now();
    loop {
        let row: Option<(String, String)> = conn
            .query_first(format!("SHOW GLOBAL STATUS LIKE '{name}'"))
            .unwrap();
        if row.as_ref().map(|(_, v)| v.as_str()) == Some(want) {
            return t.elapsed();
        }
        assert!(
            t.elapsed() < limit,
            "{name} is {row:?}, not {want}, after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A client over verified TLS with alice's certificate, as a REQUIRE SUBJECT account with
/// write access to `galera_test`, reading with `wsrep_sync_wait` so that a read sees every write
/// committed anywhere in the cluster before it.
fn galera_client(addr: SocketAddr) -> mysql::Conn {
    let pki = pki();
    let tls = mysql::SslOpts::default()
        .with_root_cert_path(Some(pki.ca.cert.clone()))
        .with_client_identity(Some(mysql::ClientIdentity::new(
            pki.alice.cert.clone(),
            pki.alice.key.clone(),
        )));
    let opts = mysql::OptsBuilder::new()
        .ip_or_hostname(Some(addr.ip().to_string()))
        .tcp_port(addr.port())
        .user(Some("g_writer"))
        .pass(Some(PASSWORD))
        .prefer_socket(false)
        .read_timeout(Some(Duration::from_secs(60)))
        .ssl_opts(Some(tls));
    let mut conn = mysql::Conn::new(opts).expect("g_writer logs in");
    conn.query_drop("SET SESSION wsrep_sync_wait = 1").unwrap();
    conn
}

fn ids(conn: &mut mysql::Conn) -> Vec<u32> {
    conn.query("SELECT id FROM galera_test.t ORDER BY id")
        .unwrap()
}

/// Write on node 1, read on node 3; kill -9 node 1, the others go on (write on node 2);
/// node 1 rejoins with everything committed while it was down.
#[test]
fn galera_replicates_and_survives_a_killed_node() {
    let cluster = galera();
    let mut root = cluster.node(1).root();
    root.query_drop("CREATE DATABASE IF NOT EXISTS galera_test")
        .unwrap();
    root.query_drop("CREATE OR REPLACE TABLE galera_test.t (id INT PRIMARY KEY, node INT)")
        .unwrap();
    root.query_drop(format!(
        "CREATE OR REPLACE USER g_writer IDENTIFIED BY '{PASSWORD}' REQUIRE SUBJECT '{}'",
        crate::util::mariadb::ALICE
    ))
    .unwrap();
    root.query_drop("GRANT ALL ON galera_test.* TO g_writer")
        .unwrap();
    drop(root);

    // Every port of the cluster is distinct (allocated together by the script).
    let mut ports: Vec<u16> = cluster
        .nodes
        .iter()
        .flat_map(|n| [n.port, n.gcomm, n.ist, n.sst])
        .collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 4 * cluster.nodes.len());

    // Nothing listens beyond 127.0.0.1: SQL and group communication (IST and SST listen only
    // during a transfer, on 127.0.0.1 too).
    for node in &cluster.nodes {
        let mut want = vec![node.addr(), SocketAddr::from(([127, 0, 0, 1], node.gcomm))];
        want.sort();
        assert_eq!(listening(node.pid()), want, "node {}", node.index);
    }

    // Every node: the matrix account logs in with the client certificate over verified TLS.
    for node in &cluster.nodes {
        let c = Connect::tcp(node.addr(), "r_subject")
            .verified_tls()
            .identity(&pki().alice);
        assert!(
            matches!(outcome(&c), Outcome::Ok { .. }),
            "node {}",
            node.index
        );
    }

    let mut n1 = galera_client(cluster.node(1).addr());
    n1.query_drop("INSERT INTO galera_test.t VALUES (1, 1), (2, 1)")
        .unwrap();
    let mut n3 = galera_client(cluster.node(3).addr());
    assert_eq!(ids(&mut n3), [1, 2]);

    cluster.kill(1);
    let t = Instant::now();
    let mut n2 = galera_client(cluster.node(2).addr());
    let mut root2 = cluster.node(2).root();
    let evicted = wait_for_status(
        &mut root2,
        "wsrep_cluster_size",
        "2",
        Duration::from_secs(60),
    );
    n2.query_drop("INSERT INTO galera_test.t VALUES (3, 2)")
        .unwrap();
    eprintln!(
        "node 1 killed: cluster size 2 after {:.1} s, write on node 2 after {:.1} s",
        evicted.as_secs_f64(),
        t.elapsed().as_secs_f64()
    );
    // A session on the killed node ends with an error, never a silent reconnect.
    assert!(n1.query_drop("SELECT 1").is_err());
    assert_eq!(ids(&mut n3), [1, 2, 3]);

    let t = Instant::now();
    cluster.restart(1);
    eprintln!("node 1 rejoined in {:.1} s", t.elapsed().as_secs_f64());
    let mut n1 = galera_client(cluster.node(1).addr());
    assert_eq!(ids(&mut n1), [1, 2, 3]);
    // A CA added to the cluster is trusted on every node, the restarted one included.
    let dir = tempfile::tempdir().unwrap();
    let identity = Ca::new(dir.path(), "galera-identity");
    let carol = identity.client("carol", &[(DnType::CommonName, "carol")], vec![]);
    cluster.add_ca(&identity.cert);
    for node in &cluster.nodes {
        let c = Connect::tcp(node.addr(), "r_x509")
            .verified_tls()
            .identity(&carol);
        assert!(
            matches!(outcome(&c), Outcome::Ok { .. }),
            "node {}",
            node.index
        );
    }
    n1.query_drop("INSERT INTO galera_test.t VALUES (4, 1)")
        .unwrap();
    for node in &cluster.nodes {
        assert_eq!(
            ids(&mut galera_client(node.addr())),
            [1, 2, 3, 4],
            "node {}",
            node.index
        );
        let size: Option<(String, String)> = node
            .root()
            .query_first("SHOW GLOBAL STATUS LIKE 'wsrep_cluster_size'")
            .unwrap();
        assert_eq!(size.map(|(_, v)| v).as_deref(), Some("3"));
    }
}
