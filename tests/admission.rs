//! Admission: the reserved connection for SUPER / CONNECTION_ADMIN, `max-connections-per-host`,
//! and private files in the data directory. Stalled clients are raw sockets that read the
//! greeting and never answer it, as a slow-handshake attacker does.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mysql::prelude::Queryable;

use crate::util::TestServer;

/// Reads the first packet: `Ok` for a greeting, `Err(code)` for an ERR packet.
fn first_packet(stream: &mut impl Read) -> Result<(), u16> {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).expect("the server answers");
    let len = usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload).expect("a whole packet");
    match payload.first() {
        Some(0xFF) => Err(u16::from_le_bytes([payload[1], payload[2]])),
        _ => Ok(()),
    }
}

/// A TCP connection from `local` (an address of the loopback network) to the server.
fn connect_from(local: &str, server: SocketAddr) -> TcpStream {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let local: SocketAddr = format!("{local}:0").parse().unwrap();
    socket.bind(&local.into()).unwrap();
    socket.connect(&server.into()).unwrap();
    let stream = TcpStream::from(socket);
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// A client from `local` that got its greeting and will never answer it.
fn stall_from(local: &str, server: SocketAddr) -> TcpStream {
    let mut s = connect_from(local, server);
    assert_eq!(first_packet(&mut s), Ok(()), "a stalled client is greeted");
    s
}

fn server_error(e: mysql::Error) -> u16 {
    match e {
        mysql::Error::MySqlError(e) => e.code,
        other => panic!("expected a server error, got {other}"),
    }
}

/// Waits (bounded) until `Threads_connected` is `n`: closed connections give their slot back
/// when their worker notices the close.
fn wait_connected(server: &TestServer, n: u64) {
    let gauge = &server.shared.counters.threads_connected;
    for _ in 0..200 {
        if gauge.load(std::sync::atomic::Ordering::Relaxed) == n {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!(
        "Threads_connected stayed {} instead of {n}",
        gauge.load(std::sync::atomic::Ordering::Relaxed)
    );
}

/// Accounts for every host: `app` without privileges, `ops` with CONNECTION_ADMIN, `boss`
/// with SUPER.
fn create_accounts(server: &TestServer) {
    let mut root = server.root();
    for sql in [
        "CREATE USER 'app'@'%' IDENTIFIED BY 'app-pw'",
        "CREATE USER 'ops'@'%' IDENTIFIED BY 'ops-pw'",
        "GRANT CONNECTION_ADMIN ON *.* TO 'ops'@'%'",
        "CREATE USER 'boss'@'%' IDENTIFIED BY 'boss-pw'",
        "GRANT SUPER ON *.* TO 'boss'@'%'",
    ] {
        root.query_drop(sql).unwrap();
    }
    drop(root);
    wait_connected(server, 0);
}

fn login(server: &TestServer, user: &str, from: &str) -> Result<mysql::Conn, mysql::Error> {
    let from: SocketAddr = format!("{from}:0").parse().unwrap();
    mysql::Conn::new(
        server
            .opts(user, &format!("{user}-pw"))
            .bind_address(Some(from)),
    )
}

fn select_one(conn: &mut mysql::Conn) -> u32 {
    conn.query_first("SELECT 1").unwrap().unwrap()
}

#[test]
fn the_reserved_connection_admits_connection_admin_and_super_while_stalled_handshakes_hold_every_slot()
 {
    let server = TestServer::start_with(|c, _| c.max_connections = 3);
    create_accounts(&server);
    let _stalled: Vec<_> = (0..3)
        .map(|_| stall_from("127.0.0.1", server.addr))
        .collect();

    let refused = login(&server, "app", "127.0.0.1").map(drop).unwrap_err();
    assert_eq!(
        server_error(refused),
        1040,
        "a non-admin gets no reserved slot"
    );

    let mut ops = login(&server, "ops", "127.0.0.1").expect("CONNECTION_ADMIN gets in");
    assert_eq!(select_one(&mut ops), 1);
    let refused = login(&server, "boss", "127.0.0.1").map(drop).unwrap_err();
    assert_eq!(
        server_error(refused),
        1040,
        "only one reserved connection while it is held"
    );

    drop(ops);
    wait_connected(&server, 3);
    let mut boss = login(&server, "boss", "127.0.0.1").expect("SUPER gets in");
    assert_eq!(select_one(&mut boss), 1);
    let refused = server
        .shared
        .counters
        .connection_errors_max_connections
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(refused, 2, "Connection_errors_max_connections");
}

#[test]
fn a_client_that_also_stalls_the_extra_handshake_does_not_keep_the_operator_out() {
    let server = TestServer::start_with(|c, _| c.max_connections = 2);
    create_accounts(&server);
    let _stalled: Vec<_> = (0..2)
        .map(|_| stall_from("127.0.0.1", server.addr))
        .collect();
    // The attacker's next handshake is let in (it might be an operator) and stalls too; its
    // address may run only one such handshake at a time.
    let _candidate = stall_from("127.0.0.1", server.addr);
    let mut more = connect_from("127.0.0.1", server.addr);
    assert_eq!(first_packet(&mut more), Err(1040));

    let mut ops = login(&server, "ops", "127.0.0.2").expect("the operator gets in");
    assert_eq!(select_one(&mut ops), 1);
}

#[test]
fn max_connections_per_host_limits_one_address_including_handshakes() {
    let server = TestServer::start_with(|c, dir| {
        c.max_connections_per_host = 2;
        c.socket = Some(dir.join("tlsql.sock"));
    });
    create_accounts(&server);
    let mut stalled: Vec<_> = (0..2)
        .map(|_| stall_from("127.0.0.1", server.addr))
        .collect();
    let mut third = connect_from("127.0.0.1", server.addr);
    assert_eq!(
        first_packet(&mut third),
        Err(1040),
        "ERR 1040 before the greeting"
    );

    let mut app = login(&server, "app", "127.0.0.2").expect("another address gets in");
    assert_eq!(select_one(&mut app), 1);

    let socket = server.config.socket.clone().unwrap();
    let _unix: Vec<_> = (0..3)
        .map(|_| {
            let mut s = UnixStream::connect(&socket).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            assert_eq!(
                first_packet(&mut s),
                Ok(()),
                "the unix socket is not limited"
            );
            s
        })
        .collect();

    drop(stalled.pop());
    drop(third);
    wait_connected(&server, 5);
    let _again = stall_from("127.0.0.1", server.addr);
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, u32)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        out.push((path.clone(), meta.permissions().mode() & 0o7777));
        if meta.is_dir() {
            walk(&path, out);
        }
    }
}

#[test]
fn nothing_in_a_fresh_data_directory_is_open_to_other_users() {
    let server = TestServer::start();
    let mut root = server.root();
    root.query_drop("CREATE DATABASE shop").unwrap();
    root.query_drop("USE shop").unwrap();
    root.query_drop("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))")
        .unwrap();
    root.query_drop("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
        .unwrap();
    root.query_drop("CREATE USER 'app'@'%' IDENTIFIED BY 'secret'")
        .unwrap();

    let data = &server.config.data_dir;
    let mode = std::fs::metadata(data).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o700, "the data directory");
    let mut entries = Vec::new();
    walk(data, &mut entries);
    let names: Vec<String> = entries
        .iter()
        .map(|(p, _)| p.strip_prefix(data).unwrap().display().to_string())
        .collect();
    for expected in [
        "system.db",
        "system.db-wal",
        "system.db-shm",
        "db/shop.sqlite",
        "db/shop.sqlite-wal",
        "db/shop.sqlite-shm",
        "tls/server-key.pem",
        "private_key.pem",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    for ((path, mode), name) in entries.iter().zip(&names) {
        assert_eq!(
            mode & 0o027,
            0,
            "{name} is mode {mode:o}: group-writable or open to others"
        );
        let secret = name.starts_with("system.db")
            || name.starts_with("db/")
            || name.ends_with("key.pem") && !name.ends_with("public_key.pem");
        if path.is_dir() {
            assert_eq!(*mode, 0o700, "{name}");
        } else if secret {
            assert_eq!(*mode, 0o600, "{name}");
        }
    }
}
