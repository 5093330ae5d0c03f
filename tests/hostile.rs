//! What a hostile or broken client can make the server hold or say: memory bounded by the
//! bytes that arrived (not by what a header announced), long data and prepared statements
//! bounded, framing errors answered with an ERR before the close, error messages capped.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::util::raw::{RawClient, parse_err};
use crate::util::{TestServer, rss_bytes};

/// Waits until `done` holds, for at most five seconds.
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

#[test]
fn an_announced_packet_pins_only_the_bytes_that_arrived() {
    // Each logged-in client announces a 16 MiB packet and sends 10 bytes of it; each
    // pre-auth client announces 256 KiB (just under the pre-auth limit) and sends nothing.
    // Allocating what was announced would pin 24 × 16 MiB + 200 × 256 KiB = 434 MiB.
    let server = TestServer::start();
    let _memory = crate::util::memory_lock();
    let before = rss_bytes();
    let mut held = Vec::new();
    for _ in 0..24 {
        let mut raw = RawClient::connect(server.addr).unwrap();
        raw.login("root", "", None).unwrap();
        raw.stream
            .write_all(b"\xff\xff\xff\x00\x03SELECT 1")
            .unwrap();
        raw.stream.flush().unwrap();
        held.push(raw);
    }
    let mut pre_auth = Vec::new();
    for _ in 0..200 {
        let mut raw = RawClient::connect(server.addr).unwrap();
        raw.stream.write_all(b"\xff\xff\x03\x01").unwrap();
        raw.stream.flush().unwrap();
        pre_auth.push(raw);
    }
    // The workers read the headers as soon as they arrive; give them the moment to do so.
    std::thread::sleep(Duration::from_millis(500));
    let grown = rss_bytes().saturating_sub(before);
    // Measured here: about 20 MiB (workers, sessions, buffers), 448 MiB before the reader
    // grew payloads as data arrived.
    assert!(
        grown < 96 << 20,
        "224 hostile connections grew the server by {} MiB",
        grown >> 20
    );
    let mut c = server.root();
    use mysql::prelude::Queryable;
    assert_eq!(c.query_first::<i64, _>("SELECT 1 + 1").unwrap(), Some(2));
}

/// COM_STMT_PREPARE through the raw client: the statement id, after reading the whole reply.
fn prepare(raw: &mut RawClient, sql: &str) -> Result<u32, crate::util::raw::ServerError> {
    raw.seq = 0;
    let mut p = vec![0x16];
    p.extend_from_slice(sql.as_bytes());
    raw.write_packet(&p).unwrap();
    let ok = raw.read_packet().unwrap();
    if ok[0] == 0xFF {
        return Err(parse_err(&ok));
    }
    let id = u32::from_le_bytes(ok[1..5].try_into().unwrap());
    let columns = u16::from_le_bytes([ok[5], ok[6]]);
    let params = u16::from_le_bytes([ok[7], ok[8]]);
    // Definitions, each list followed by EOF (the raw client does not ask for DEPRECATE_EOF).
    for count in [params, columns] {
        if count > 0 {
            for _ in 0..=count {
                raw.read_packet().unwrap();
            }
        }
    }
    Ok(id)
}

fn send_long_data(raw: &mut RawClient, id: u32, param: u16, chunk: &[u8]) {
    raw.seq = 0;
    let mut p = vec![0x18];
    p.extend_from_slice(&id.to_le_bytes());
    p.extend_from_slice(&param.to_le_bytes());
    p.extend_from_slice(chunk);
    raw.write_packet(&p).unwrap();
}

/// COM_STMT_EXECUTE of a one-parameter statement whose value came as long data; the first
/// packet of the reply.
fn execute_one_param(raw: &mut RawClient, id: u32) -> Vec<u8> {
    raw.seq = 0;
    let mut p = vec![0x17];
    p.extend_from_slice(&id.to_le_bytes());
    p.push(0); // no cursor
    p.extend_from_slice(&1u32.to_le_bytes());
    p.push(0); // NULL bitmap: not NULL
    p.push(1); // types follow
    p.extend_from_slice(&[0xFC, 0x00]); // MYSQL_TYPE_BLOB
    raw.write_packet(&p).unwrap();
    let first = raw.read_packet().unwrap();
    if first[0] != 0xFF {
        // Drain the result set: column count, definitions, EOF, rows, EOF.
        let mut eofs = 0;
        while eofs < 2 {
            let packet = raw.read_packet().unwrap();
            if packet[0] == 0xFE && packet.len() < 9 {
                eofs += 1;
            }
        }
    }
    first
}

#[test]
fn long_data_beyond_max_allowed_packet_fails_at_execute_and_the_statement_recovers() {
    let server = TestServer::start_with(|c, _| c.max_allowed_packet = 64 * 1024);
    let mut raw = RawClient::connect(server.addr).unwrap();
    raw.login("root", "", None).unwrap();
    let id = prepare(&mut raw, "SELECT LENGTH(?)").unwrap();
    let _memory = crate::util::memory_lock();
    let before = rss_bytes();
    // 64 chunks of 48 KiB: each fits in a packet, together 3 MiB, far over the limit.
    let chunk = vec![b'x'; 48 * 1024];
    for _ in 0..64 {
        send_long_data(&mut raw, id, 0, &chunk);
    }
    let reply = execute_one_param(&mut raw, id);
    let e = parse_err(&reply);
    assert_eq!(e.code, 1153, "{e:?}");
    assert!(rss_bytes().saturating_sub(before) < 2 << 20);
    // The statement is usable again with long data within the limit.
    send_long_data(&mut raw, id, 0, &chunk);
    let reply = execute_one_param(&mut raw, id);
    assert_ne!(reply[0], 0xFF, "{:?}", parse_err(&reply));
    assert_eq!(raw.query("SELECT 1").unwrap(), vec![vec![Some("1".into())]]);
}

#[test]
fn prepared_statements_are_bounded_server_wide_and_given_back() {
    let server = TestServer::start_with(|c, _| c.max_prepared_stmt_count = 3);
    let mut first = RawClient::connect(server.addr).unwrap();
    first.login("root", "", None).unwrap();
    let mut second = RawClient::connect(server.addr).unwrap();
    second.login("root", "", None).unwrap();
    prepare(&mut first, "SELECT 1").unwrap();
    prepare(&mut first, "SELECT 2").unwrap();
    let third = prepare(&mut second, "SELECT 3").unwrap();
    let e = prepare(&mut second, "SELECT 4").unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (
            1461,
            "Can't create more than max_prepared_stmt_count statements (current value: 3)"
        )
    );
    assert_eq!(first.status("Prepared_stmt_count"), "3");
    // COM_STMT_CLOSE gives one place back; a session that ends gives back all of its own.
    second.seq = 0;
    let mut close = vec![0x19];
    close.extend_from_slice(&third.to_le_bytes());
    second.write_packet(&close).unwrap();
    prepare(&mut second, "SELECT 5").unwrap();
    drop(first);
    assert!(eventually(|| second.status("Prepared_stmt_count") == "1"));
    prepare(&mut second, "SELECT 6").unwrap();
    prepare(&mut second, "SELECT 7").unwrap();
    assert_eq!(
        second.query("SELECT @@max_prepared_stmt_count").unwrap(),
        vec![vec![Some("3".into())]]
    );
}

#[test]
fn framing_errors_are_answered_before_the_close() {
    let server = TestServer::start_with(|c, _| c.max_allowed_packet = 64 * 1024);
    // After login: a command with sequence id 5 instead of 0.
    let mut raw = RawClient::connect(server.addr).unwrap();
    raw.login("root", "", None).unwrap();
    raw.seq = 5;
    raw.write_packet(b"\x03SELECT 1").unwrap();
    let e = parse_err(&raw.read_packet().unwrap());
    assert_eq!(
        (e.code, e.state.as_str(), e.message.as_str()),
        (1156, "08S01", "Got packets out of order")
    );
    // Before login: the HandshakeResponse with sequence id 7 instead of 1.
    let mut raw = RawClient::connect(server.addr).unwrap();
    raw.seq = 7;
    raw.write_packet(&[0u8; 40]).unwrap();
    assert_eq!(parse_err(&raw.read_packet().unwrap()).code, 1156);
    // Before login: a packet over the pre-auth limit.
    let mut raw = RawClient::connect(server.addr).unwrap();
    raw.stream.write_all(b"\xff\xff\x3f\x01").unwrap();
    assert_eq!(parse_err(&raw.read_packet().unwrap()).code, 1153);
    let mut c = server.root();
    use mysql::prelude::Queryable;
    assert_eq!(c.query_first::<i64, _>("SELECT 1 + 1").unwrap(), Some(2));
}

#[test]
fn error_messages_are_capped_at_512_bytes() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(server.addr).unwrap();
    let user = "u".repeat(200_000);
    let e = raw.login(&user, "", None).unwrap_err();
    assert_eq!(e.code, 1045);
    assert!(e.message.len() <= 512, "{} bytes", e.message.len());
    assert!(e.message.starts_with("Access denied for user 'uuu"));
    assert!(e.message.ends_with('…'));
    // A statement error that quotes a huge statement is capped the same way.
    let mut raw = RawClient::connect(server.addr).unwrap();
    raw.login("root", "", None).unwrap();
    let e = raw
        .query(&format!("SELECT FROM {}", "x".repeat(100_000)))
        .unwrap_err();
    assert_eq!(e.code, 1064);
    assert!(e.message.len() <= 512, "{} bytes", e.message.len());
}
