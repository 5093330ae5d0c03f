//! Graceful shutdown: idle sessions and logins get ERR 1053 (and close_notify over
//! TLS), running statements finish within `shutdown-timeout`, new connections are refused,
//! storage is checkpointed.

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use tlsql::config::TlsBackendKind;
use tlsql::status::Counters;

use crate::util::TestServer;
use crate::util::raw::{RawClient, TlsOptions, parse_err};

crate::backend_suite!(idle_tls_session_gets_1053_and_close_notify);

/// The next packet is ERR 1053 sent unprompted (sequence id 0), then the server closes: over
/// TLS with close_notify, which rustls reports as a clean end (`Ok(0)`), not an error.
fn expect_shutdown_then_close(c: &mut RawClient) {
    let packet = c.read_packet().expect("ERR 1053 before the close");
    assert_eq!(packet.first(), Some(&0xFF), "an ERR packet: {packet:?}");
    assert_eq!(c.seq, 1, "sent with sequence id 0");
    let err = parse_err(&packet);
    assert_eq!(
        (err.code, err.state.as_str(), err.message.as_str()),
        (1053, "08S01", "Server shutdown in progress")
    );
    let mut rest = [0u8; 1];
    match c.stream.read(&mut rest) {
        Ok(0) => {}
        other => panic!("expected a clean close after ERR 1053, got {other:?}"),
    }
}

/// Waits (bounded) until some session is running a command.
fn wait_until_running(server: &TestServer) {
    let until = Instant::now() + Duration::from_secs(10);
    while Counters::get(&server.shared.counters.threads_running) == 0 {
        assert!(Instant::now() < until, "the statement never started");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn root(server: &TestServer) -> RawClient {
    let mut c = RawClient::connect(server.addr).unwrap();
    c.login("root", "", None).unwrap();
    c
}

#[test]
fn idle_plain_session_gets_1053_then_the_close() {
    let server = TestServer::start();
    let mut c = root(&server);
    assert_eq!(c.query("SELECT 1").unwrap(), vec![vec![Some("1".into())]]);
    server.begin_shutdown();
    expect_shutdown_then_close(&mut c);
}

#[test]
fn connection_waiting_for_its_login_gets_1053() {
    let server = TestServer::start();
    let mut c = RawClient::connect(server.addr).unwrap();
    server.begin_shutdown();
    let packet = c.read_packet().expect("ERR 1053 before the close");
    let err = parse_err(&packet);
    assert_eq!((packet[0], err.code), (0xFF, 1053), "{}", err.message);
    assert_eq!(
        c.seq, 3,
        "in the place of the reply to the login (sequence id 2)"
    );
    assert_eq!(c.stream.read(&mut [0u8; 1]).unwrap(), 0);
}

#[test]
fn running_statement_finishes_while_new_connections_are_refused() {
    let server = TestServer::start();
    let addr = server.addr;
    let sleeper = std::thread::spawn(move || {
        let mut c = RawClient::connect(addr).unwrap();
        c.login("root", "", None).unwrap();
        let rows = c.query("SELECT SLEEP(2)");
        (c, rows)
    });
    wait_until_running(&server);
    server.begin_shutdown();
    // The listener closes as soon as the acceptor sees the shutdown, while the statement runs.
    let until = Instant::now() + Duration::from_secs(1);
    loop {
        match TcpStream::connect(addr) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
            // A connect that reached the backlog as the listener closed is reset: also refused.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("unexpected connect error: {e}"),
            Ok(_) => assert!(Instant::now() < until, "still accepting after shutdown"),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!sleeper.is_finished(), "the statement was still running");
    let (mut c, rows) = sleeper.join().unwrap();
    assert_eq!(rows.unwrap(), vec![vec![Some("0".into())]]);
    expect_shutdown_then_close(&mut c);
}

#[test]
fn shutdown_returns_at_the_timeout_when_a_statement_runs_longer() {
    let server = TestServer::start_with(|c, _| c.shutdown_timeout = Duration::from_millis(500));
    let addr = server.addr;
    // Left running: the server stops waiting for it, which is what is tested.
    let _sleeper = std::thread::spawn(move || {
        let mut c = RawClient::connect(addr).unwrap();
        c.login("root", "", None).unwrap();
        let _ = c.query("SELECT SLEEP(5)");
    });
    wait_until_running(&server);
    let started = Instant::now();
    server.stop();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(3),
        "serve returned after {took:?}; expected the 500ms shutdown-timeout"
    );
}

#[test]
fn storage_is_checkpointed_at_shutdown() {
    let server = TestServer::start();
    let mut c = server.root();
    c.query_drop("CREATE DATABASE shop").unwrap();
    c.query_drop("CREATE TABLE shop.items (id INT PRIMARY KEY, name TEXT)")
        .unwrap();
    c.query_drop("INSERT INTO shop.items VALUES (1, 'tea'), (2, 'coffee')")
        .unwrap();
    let wal = server.config.data_dir.join("db").join("shop.sqlite-wal");
    assert!(
        std::fs::metadata(&wal).unwrap().len() > 0,
        "the committed rows are in the log"
    );
    // The session stays open (idle) while the server stops.
    let (dir, config) = server.stop();
    let left = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(left, 0, "the log was moved into the database file");
    drop(c);
    let server = TestServer::start_in(dir, config);
    let names: Vec<String> = server
        .root()
        .query("SELECT name FROM shop.items ORDER BY id")
        .unwrap();
    assert_eq!(names, ["tea", "coffee"]);
}

mod cases {
    use super::*;

    pub(super) fn idle_tls_session_gets_1053_and_close_notify(backend: TlsBackendKind) {
        let server = TestServer::start_with(|c, _| c.security.tls_backend = backend);
        let mut c = RawClient::connect(server.addr).unwrap();
        c.start_tls(&TlsOptions::default()).unwrap();
        c.login("root", "", None).unwrap();
        assert_eq!(c.query("SELECT 1").unwrap(), vec![vec![Some("1".into())]]);
        server.begin_shutdown();
        expect_shutdown_then_close(&mut c);
    }
}
