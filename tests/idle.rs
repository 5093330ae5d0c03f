//! Idle sessions: a session whose client is quiet holds no worker thread; its next command,
//! its `wait_timeout` and the server's shutdown reach it all the same, over plain TCP and TLS.

use std::io::Read;
use std::time::Duration;

use mysql::prelude::Queryable;
use tlsql::config::TlsBackendKind;

use crate::util::TestServer;
use crate::util::raw::{RawClient, TlsOptions, parse_err};

crate::backend_suite!(
    quiet_tls_session_answers_its_next_command,
    pipelined_tls_commands_are_answered_from_the_buffers,
    quiet_tls_session_past_wait_timeout_gets_4031,
    quiet_tls_session_gets_1053_at_shutdown,
);

/// Longer than the session's idle grace (10 ms) with room for a slow test machine: after it
/// every quiet session has been handed to the idle poller.
const QUIET: Duration = Duration::from_millis(300);

fn threads(c: &mut mysql::Conn) -> (u64, u64, u64, u64) {
    let rows: Vec<(String, u64)> = c.query("SHOW GLOBAL STATUS LIKE 'Threads_%'").unwrap();
    let get = |name: &str| rows.iter().find(|r| r.0 == name).unwrap().1;
    (
        get("Threads_connected"),
        get("Threads_running"),
        get("Threads_cached"),
        get("Threads_created"),
    )
}

#[test]
fn quiet_sessions_hold_no_worker() {
    let server = TestServer::start();
    let mut quiet: Vec<mysql::Conn> = (0..30).map(|_| server.root()).collect();
    for c in &mut quiet {
        c.query_drop("SELECT 1").unwrap();
    }
    std::thread::sleep(QUIET);
    let mut observer = server.root();
    let (connected, running, cached, created) = threads(&mut observer);
    assert_eq!((connected, running), (31, 1));
    // Every worker but the observer's waits for work: none is tied to a quiet session.
    assert_eq!(cached, created - 1, "created {created}, cached {cached}");

    // Each quiet session answers its next command, and goes quiet again.
    for (i, c) in quiet.iter_mut().enumerate() {
        let n: i64 = c.query_first(format!("SELECT {i}")).unwrap().unwrap();
        assert_eq!(n, i as i64);
    }
    std::thread::sleep(QUIET);
    let (connected, running, cached, created) = threads(&mut observer);
    assert_eq!((connected, running), (31, 1));
    assert_eq!(cached, created - 1, "created {created}, cached {cached}");
}

/// More connections at once than workers wait in `accept` (4): each listener that takes the
/// last place makes another listen, so every one is served; afterwards every worker but the
/// observer's is idle again, listening or waiting for a job.
#[test]
fn connections_arriving_together_are_all_served() {
    let server = TestServer::start();
    let start = std::sync::Arc::new(std::sync::Barrier::new(16));
    let clients: Vec<_> = (0..16)
        .map(|i| {
            let opts = server.opts("root", "");
            let start = std::sync::Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                let mut c = mysql::Conn::new(opts).unwrap();
                let n: i64 = c.query_first(format!("SELECT {i}")).unwrap().unwrap();
                assert_eq!(n, i);
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
    std::thread::sleep(QUIET);
    let mut observer = server.root();
    let (connected, running, cached, created) = threads(&mut observer);
    assert_eq!((connected, running), (1, 1));
    assert_eq!(cached, created - 1, "created {created}, cached {cached}");
}

#[test]
fn quiet_plain_session_answers_its_next_command() {
    let server = TestServer::start();
    let mut c = RawClient::connect(server.addr).unwrap();
    c.login("root", "", None).unwrap();
    std::thread::sleep(QUIET);
    assert_eq!(c.query("SELECT 1").unwrap(), vec![vec![Some("1".into())]]);
    std::thread::sleep(QUIET);
    assert_eq!(c.query("SELECT 2").unwrap(), vec![vec![Some("2".into())]]);
}

#[test]
fn pipelined_plain_commands_are_answered_from_the_buffers() {
    let server = TestServer::start();
    let mut c = RawClient::connect(server.addr).unwrap();
    c.login("root", "", None).unwrap();
    pipelined(&mut c);
}

#[test]
fn quiet_plain_session_past_wait_timeout_gets_4031() {
    let server = TestServer::start();
    let mut c = RawClient::connect(server.addr).unwrap();
    c.login("root", "", None).unwrap();
    past_wait_timeout(&mut c);
}

#[test]
fn quiet_plain_session_gets_1053_at_shutdown() {
    let server = TestServer::start();
    let mut c = RawClient::connect(server.addr).unwrap();
    c.login("root", "", None).unwrap();
    assert_eq!(c.query("SELECT 1").unwrap(), vec![vec![Some("1".into())]]);
    std::thread::sleep(QUIET);
    server.begin_shutdown();
    expect_unsolicited_err(&mut c, 1053);
}

/// A statement larger than the server's read buffer (16 KiB) followed by two small ones, all
/// in one write: the later ones wait in the server's buffers (and, over TLS, in the TLS
/// library's), not on the socket, and must be answered without another byte arriving.
fn pipelined(c: &mut RawClient) {
    let big = format!("SELECT '{}'", "x".repeat(40_000));
    c.pipeline(&[&big, "SELECT 1", "SELECT 2"]).unwrap();
    let rows = c.read_result().unwrap();
    assert_eq!(rows[0][0].as_deref().map(<[u8]>::len), Some(40_000));
    assert_eq!(c.read_result().unwrap(), vec![vec![Some(b"1".to_vec())]]);
    assert_eq!(c.read_result().unwrap(), vec![vec![Some(b"2".to_vec())]]);
}

/// With `wait_timeout` at one second, a quiet session is ended with ERR 4031 (sent unprompted,
/// sequence id 0) and closed, as MySQL 8.0 does.
fn past_wait_timeout(c: &mut RawClient) {
    c.query("SET SESSION wait_timeout = 1").unwrap();
    let started = std::time::Instant::now();
    expect_unsolicited_err(c, 4031);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(10),
        "ended after {waited:?}"
    );
}

fn expect_unsolicited_err(c: &mut RawClient, code: u16) {
    let packet = c.read_packet().expect("an ERR before the close");
    assert_eq!(packet.first(), Some(&0xFF), "an ERR packet: {packet:?}");
    assert_eq!(c.seq, 1, "sent with sequence id 0");
    assert_eq!(parse_err(&packet).code, code);
    let mut rest = [0u8; 1];
    match c.stream.read(&mut rest) {
        Ok(0) => {}
        // rustls reports a close without close_notify (the timeout path sends none) as
        // UnexpectedEof; MySQL closes the same way.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        other => panic!("expected the close after ERR {code}, got {other:?}"),
    }
}

mod cases {
    use super::*;

    fn tls_root(backend: TlsBackendKind) -> (TestServer, RawClient) {
        let server = TestServer::start_with(|c, _| c.security.tls_backend = backend);
        let mut c = RawClient::connect(server.addr).unwrap();
        c.start_tls(&TlsOptions::default()).unwrap();
        c.login("root", "", None).unwrap();
        (server, c)
    }

    pub(super) fn quiet_tls_session_answers_its_next_command(backend: TlsBackendKind) {
        let (_server, mut c) = tls_root(backend);
        std::thread::sleep(QUIET);
        assert_eq!(c.query("SELECT 1").unwrap(), vec![vec![Some("1".into())]]);
        std::thread::sleep(QUIET);
        assert_eq!(c.query("SELECT 2").unwrap(), vec![vec![Some("2".into())]]);
    }

    pub(super) fn pipelined_tls_commands_are_answered_from_the_buffers(backend: TlsBackendKind) {
        let (_server, mut c) = tls_root(backend);
        pipelined(&mut c);
        std::thread::sleep(QUIET);
        pipelined(&mut c);
    }

    pub(super) fn quiet_tls_session_past_wait_timeout_gets_4031(backend: TlsBackendKind) {
        let (_server, mut c) = tls_root(backend);
        past_wait_timeout(&mut c);
    }

    pub(super) fn quiet_tls_session_gets_1053_at_shutdown(backend: TlsBackendKind) {
        let (server, mut c) = tls_root(backend);
        std::thread::sleep(QUIET);
        server.begin_shutdown();
        expect_unsolicited_err(&mut c, 1053);
    }
}

/// Workers run with a 1 MiB stack (`WORKER_STACK_BYTES`). The deepest a statement goes is
/// nesting at the parser's limit: just below it the statement runs, far beyond it the client
/// gets an error, and in both cases the server (its worker) carries on.
#[test]
fn deep_nesting_fits_the_worker_stack() {
    let server = TestServer::start();
    let mut c = RawClient::connect(server.addr).unwrap();
    c.login("root", "", None).unwrap();
    let nested = |depth: usize| format!("SELECT {}1{}", "(".repeat(depth), ")".repeat(depth));
    assert_eq!(c.query(&nested(40)).unwrap(), vec![vec![Some("1".into())]]);
    let subqueries =
        |depth: usize| format!("SELECT {}1{}", "(SELECT ".repeat(depth), ")".repeat(depth));
    assert_eq!(
        c.query(&subqueries(20)).unwrap(),
        vec![vec![Some("1".into())]]
    );
    for deep in [nested(5000), subqueries(2000)] {
        let err = c.query(&deep).unwrap_err();
        assert_ne!(err.code, 2013, "the connection survived: {err:?}");
    }
    assert_eq!(c.query("SELECT 2").unwrap(), vec![vec![Some("2".into())]]);
}
