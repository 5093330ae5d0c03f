//! The relay: a logged-in session's commands, passed to its backend and the backend's answers
//! passed back, packet by packet, without decoding them.
//!
//! The backend's bytes are read into one buffer and written to the client as they are, whole
//! buffers at a time; the relay only looks at each packet's header and first bytes to follow
//! the response ([`Response`]) and know when the client speaks next. A result of any
//! size streams through: at most one buffer (and one client packet) is held. The one exception
//! is `SHOW [SESSION] STATUS`, whose `Ssl_*` rows describe the backend leg and are rewritten to
//! describe the client's own connection, as the client would see them connecting directly.

use std::io::{self, Write};
use std::time::Duration;

use crate::error::{ErrorKind, SqlError};
use crate::lex;
use crate::protocol::exchange::{ClientPart, PREFIX_LEN, Response, Step, command};
use crate::protocol::packet::MAX_PAYLOAD;
use crate::protocol::response;
use crate::protocol::wire::{Reader, put_lenenc_bytes};
use crate::session::{Client, Executor, SessionTls};

use super::backends::{BackendIo, Lease};

/// Bytes read from the backend at a time.
const READ_BUF_BYTES: usize = 64 * 1024;

/// The `Ssl_*` status rows that describe the client's own connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ClientLegStatus {
    rows: Vec<(&'static str, String)>,
}

impl ClientLegStatus {
    /// The values a session without TLS reports: what a client on the unix socket sees while
    /// its backend leg is TLS.
    pub(crate) fn none() -> Self {
        Self {
            rows: vec![
                ("Ssl_cipher", String::new()),
                ("Ssl_cipher_list", String::new()),
                ("Ssl_sessions_reused", "0".into()),
                ("Ssl_verify_mode", "0".into()),
                ("Ssl_version", String::new()),
            ],
        }
    }

    /// The values a TLS client's session reports, from its handshake.
    pub(crate) fn of(tls: &SessionTls) -> Self {
        Self {
            rows: vec![
                ("Ssl_cipher", tls.info.cipher.clone()),
                ("Ssl_cipher_list", tls.context.cipher_names.clone()),
                (
                    "Ssl_sessions_reused",
                    u8::from(tls.info.resumed).to_string(),
                ),
                ("Ssl_verify_mode", tls.context.verify_mode().to_string()),
                ("Ssl_version", tls.info.version.to_string()),
            ],
        }
    }

    fn value(&self, name: &[u8]) -> Option<&str> {
        self.rows
            .iter()
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A `Variable_name`/`Value` row with the client leg's value, or `None` to keep the row.
    fn rewrite(&self, row: &[u8]) -> Option<Vec<u8>> {
        let mut r = Reader::new(row);
        let name = r.lenenc_bytes("name").ok()?;
        r.lenenc_bytes("value").ok()?;
        if !r.is_empty() {
            return None;
        }
        let value = self.value(name)?;
        let mut out = Vec::with_capacity(row.len() + value.len());
        put_lenenc_bytes(&mut out, name);
        put_lenenc_bytes(&mut out, value.as_bytes());
        Some(out)
    }
}

/// Whether a COM_QUERY is `SHOW [SESSION | LOCAL] STATUS …` (the status rows the relay
/// rewrites). Most queries are told apart by their first byte, without tokenizing.
pub(crate) fn is_session_status(query: &[u8]) -> bool {
    let start = query.iter().position(|b| !b.is_ascii_whitespace());
    if !matches!(
        start.map(|i| query[i]),
        Some(b's' | b'S' | b'/' | b'-' | b'#')
    ) {
        return false;
    }
    let Ok(text) = std::str::from_utf8(query) else {
        return false;
    };
    let Ok(source) = lex::tokenize(text) else {
        return false;
    };
    let mut words = source.tokens.iter().filter(|t| !lex::is_trivia(&t.token));
    let mut next_word = || match words.next().map(|t| &t.token) {
        Some(sqlparser::tokenizer::Token::Word(w)) if w.quote_style.is_none() => {
            Some(w.value.to_ascii_uppercase())
        }
        _ => None,
    };
    if next_word().as_deref() != Some("SHOW") {
        return false;
    }
    match next_word().as_deref() {
        Some("STATUS") => true,
        Some("SESSION" | "LOCAL") => next_word().as_deref() == Some("STATUS"),
        _ => false,
    }
}

/// Why relaying a command stopped.
enum Failure {
    /// The client cannot be written to or read from.
    Client(io::Error),
    /// The backend closed, failed or broke the protocol; `at_boundary` when the client has
    /// received whole packets only (it can still be told why).
    Backend { reason: String, at_boundary: bool },
}

/// A session relayed to a backend.
pub(crate) struct Relay {
    io: BackendIo,
    /// Backend bytes read and not yet consumed: `buf[start..end]`; `buf[pending..start]` has
    /// been consumed but not yet written to the client.
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    pending: usize,
    /// Packets on their way to the backend.
    out: Vec<u8>,
    /// The backend's OK that completes the login, sent by [`Executor::login_ok`].
    login_ok: Option<Vec<u8>>,
    deprecate_eof: bool,
    /// The client leg's TLS status, for `SHOW STATUS` (none when both legs are plain: the
    /// backend already tells the truth).
    status: Option<ClientLegStatus>,
    wait_timeout: Duration,
    write_timeout: Duration,
    lease: Lease,
    /// tlsql's connection number, for the log.
    id: u32,
}

/// What [`Relay::new`] takes.
pub(crate) struct Relayed {
    pub(crate) io: BackendIo,
    /// Backend bytes already read after the login's OK (none in practice).
    pub(crate) leftover: Vec<u8>,
    pub(crate) login_ok: Vec<u8>,
    pub(crate) deprecate_eof: bool,
    pub(crate) status: Option<ClientLegStatus>,
    pub(crate) wait_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) lease: Lease,
    pub(crate) id: u32,
}

impl Relay {
    pub(crate) fn new(relayed: Relayed) -> Self {
        let mut buf = vec![0u8; READ_BUF_BYTES.max(relayed.leftover.len())].into_boxed_slice();
        buf[..relayed.leftover.len()].copy_from_slice(&relayed.leftover);
        Self {
            io: relayed.io,
            end: relayed.leftover.len(),
            buf,
            start: 0,
            pending: 0,
            out: Vec::with_capacity(16 * 1024),
            login_ok: Some(relayed.login_ok),
            deprecate_eof: relayed.deprecate_eof,
            status: relayed.status,
            wait_timeout: relayed.wait_timeout,
            write_timeout: relayed.write_timeout,
            lease: relayed.lease,
            id: relayed.id,
        }
    }

    /// Queues a packet for the backend with sequence id `seq` (split at 16 MiB); returns the
    /// next sequence id.
    fn queue(&mut self, payload: &[u8], mut seq: u8) -> u8 {
        let mut rest = payload;
        loop {
            let chunk = rest.len().min(MAX_PAYLOAD);
            let len = chunk.to_le_bytes();
            self.out.extend_from_slice(&[len[0], len[1], len[2], seq]);
            self.out.extend_from_slice(&rest[..chunk]);
            seq = seq.wrapping_add(1);
            rest = &rest[chunk..];
            if chunk < MAX_PAYLOAD {
                return seq;
            }
        }
    }

    fn send(&mut self) -> Result<(), Failure> {
        let out = std::mem::take(&mut self.out);
        let sent = self.io.write_all(&out).and_then(|()| self.io.flush());
        self.out = out;
        self.out.clear();
        sent.map_err(|e| Failure::Backend {
            reason: format!("cannot write to the backend: {e}"),
            at_boundary: true,
        })
    }

    /// Writes what was consumed and not yet forwarded.
    fn forward(&mut self, client: &mut Client<'_>) -> Result<(), Failure> {
        if self.pending < self.start {
            client
                .stream
                .write_framed(&self.buf[self.pending..self.start])
                .map_err(Failure::Client)?;
        }
        self.pending = self.start;
        Ok(())
    }

    /// Makes `n` unconsumed bytes available in the buffer (`n` at most its size), reading from
    /// the backend. Before blocking, what was consumed is forwarded and the client flushed, so
    /// a slow result reaches the client as it comes.
    fn fill(
        &mut self,
        n: usize,
        client: &mut Client<'_>,
        at_boundary: bool,
    ) -> Result<(), Failure> {
        while self.end - self.start < n {
            self.forward(client)?;
            client.stream.flush().map_err(Failure::Client)?;
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
                self.pending = 0;
            }
            match io::Read::read(&mut self.io, &mut self.buf[self.end..]) {
                Ok(0) => {
                    return Err(Failure::Backend {
                        reason: "the backend closed the connection".into(),
                        at_boundary,
                    });
                }
                Ok(read) => self.end += read,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(Failure::Backend {
                        reason: format!("cannot read from the backend: {e}"),
                        at_boundary,
                    });
                }
            }
        }
        Ok(())
    }

    /// Relays the backend's response until `response` is complete.
    fn pump(
        &mut self,
        mut response: Response,
        client: &mut Client<'_>,
        rewrite: bool,
    ) -> Result<(), Failure> {
        let mut step = if response.is_done() {
            Step::Done
        } else {
            Step::More
        };
        // Payload bytes of the current frame still to forward, and whether its packet goes on
        // in the next frame (a frame of exactly 16 MiB - 1).
        let mut frame_left = 0usize;
        let mut continued = false;
        let mut last_seq = 0u8;
        loop {
            if frame_left > 0 {
                if self.start == self.end {
                    self.fill(1, client, false)?;
                }
                let n = frame_left.min(self.end - self.start);
                self.start += n;
                frame_left -= n;
                continue;
            }
            if !continued {
                match step {
                    Step::Done => {
                        self.forward(client)?;
                        client.stream.set_seq(last_seq.wrapping_add(1));
                        return Ok(());
                    }
                    Step::ClientTurn(part) => {
                        self.forward(client)?;
                        client.stream.flush().map_err(Failure::Client)?;
                        self.client_turn(part, last_seq, client)?;
                        response.client_part_done(part);
                    }
                    Step::More => {}
                }
            }
            self.fill(4, client, !continued)?;
            let h = &self.buf[self.start..self.start + 4];
            let len = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
            let seq = h[3];
            if !continued {
                let want = len.min(PREFIX_LEN);
                self.fill(4 + want, client, true)?;
                let prefix = &self.buf[self.start + 4..self.start + 4 + want];
                let was_row = response.in_rows();
                step = response.packet(prefix, len).map_err(|e| Failure::Backend {
                    reason: format!("the backend broke the protocol: {e}"),
                    at_boundary: true,
                })?;
                let is_row = was_row && response.in_rows();
                if rewrite && is_row && 4 + len <= self.buf.len() {
                    self.fill(4 + len, client, true)?;
                    let row = &self.buf[self.start + 4..self.start + 4 + len];
                    if let Some(new) = self.status.as_ref().and_then(|s| s.rewrite(row)) {
                        self.forward(client)?;
                        let mut packet = Vec::with_capacity(4 + new.len());
                        packet.extend_from_slice(&(new.len() as u32).to_le_bytes()[..3]);
                        packet.push(seq);
                        packet.extend_from_slice(&new);
                        client
                            .stream
                            .write_framed(&packet)
                            .map_err(Failure::Client)?;
                        self.start += 4 + len;
                        self.pending = self.start;
                        last_seq = seq;
                        continue;
                    }
                }
            }
            last_seq = seq;
            continued = len == MAX_PAYLOAD;
            self.start += 4;
            frame_left = len;
        }
    }

    /// The client's part in the middle of a response: one authentication message, or a file's
    /// contents up to an empty packet. `last_seq` is the sequence id of the backend's last packet.
    fn client_turn(
        &mut self,
        part: ClientPart,
        last_seq: u8,
        client: &mut Client<'_>,
    ) -> Result<(), Failure> {
        let mut seq = last_seq.wrapping_add(1);
        client.stream.set_seq(seq);
        loop {
            let packet = client
                .stream
                .read_packet()
                .map_err(|e| Failure::Client(io::Error::other(e.to_string())))?;
            seq = self.queue(&packet, seq);
            self.send()?;
            if part == ClientPart::AuthReply || packet.is_empty() {
                return Ok(());
            }
        }
    }

    /// Tells the client why its session ends, when it can still be told.
    fn lost(&self, reason: &str, client: &mut Client<'_>) {
        let err = SqlError::new(
            ErrorKind::LostConnection,
            format!(
                "Lost connection to backend {} during query: {reason}",
                self.lease.backend().address
            ),
        );
        let _ = client
            .stream
            .write_packet(&response::err(&err))
            .and_then(|()| client.stream.flush());
    }
}

impl Executor for Relay {
    fn login_ok(&mut self, client: &mut Client<'_>) -> io::Result<()> {
        match self.login_ok.take() {
            Some(ok) => client.stream.write_packet(&ok),
            None => Ok(()),
        }
    }

    fn command(&mut self, packet: &[u8], client: &mut Client<'_>) -> io::Result<()> {
        let Some(&cmd) = packet.first() else {
            let err = SqlError::new(ErrorKind::MalformedPacket, "Malformed communication packet");
            return client.stream.write_packet(&response::err(&err));
        };
        if matches!(
            cmd,
            command::BINLOG_DUMP | command::BINLOG_DUMP_GTID | command::REGISTER_SLAVE
        ) {
            client.stream.set_seq(1);
            let err = SqlError::not_supported("replication through the gateway");
            return client.stream.write_packet(&response::err(&err));
        }
        let rewrite =
            cmd == command::QUERY && self.status.is_some() && is_session_status(&packet[1..]);
        self.queue(packet, 0);
        let outcome = self.send().and_then(|()| {
            self.pump(
                Response::to_command(cmd, self.deprecate_eof),
                client,
                rewrite,
            )
        });
        match outcome {
            Ok(()) => Ok(()),
            Err(Failure::Client(e)) => Err(e),
            Err(Failure::Backend {
                reason,
                at_boundary,
            }) => {
                log::info!(
                    "connection {}: backend {} lost: {reason}; ending the session",
                    self.id,
                    self.lease.backend().address
                );
                if at_boundary {
                    self.lost(&reason, client);
                }
                Err(io::Error::other(format!(
                    "backend {} lost: {reason}",
                    self.lease.backend().address
                )))
            }
        }
    }

    fn timeouts(&self) -> (Duration, Duration) {
        (self.wait_timeout, self.write_timeout)
    }
}

impl Drop for Relay {
    /// Ends the backend's session as a client would: COM_QUIT, then TLS close_notify.
    fn drop(&mut self) {
        self.out.clear();
        self.queue(&[0x01], 0);
        let _ = self.io.write_all(&self.out).and_then(|()| self.io.flush());
        if let BackendIo::Tls(tls) = &mut self.io {
            let _ = tls.shutdown();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_session_status_queries() {
        for q in [
            "SHOW STATUS",
            "show status like 'Ssl%'",
            "  SHOW SESSION STATUS WHERE Variable_name = 'Ssl_cipher'",
            "/* c */ show local status",
            "-- c\nSHOW STATUS",
        ] {
            assert!(is_session_status(q.as_bytes()), "{q}");
        }
        for q in [
            "SHOW GLOBAL STATUS",
            "SELECT 1",
            "SHOW VARIABLES",
            "SHOW `STATUS`",
            "select 'SHOW STATUS'",
            "\u{ff}",
        ] {
            assert!(!is_session_status(q.as_bytes()), "{q}");
        }
    }

    #[test]
    fn rewrites_only_the_client_legs_rows() {
        let status = ClientLegStatus {
            rows: vec![("Ssl_cipher", "TLS_AES_128_GCM_SHA256".into())],
        };
        let mut row = Vec::new();
        put_lenenc_bytes(&mut row, b"Ssl_cipher");
        put_lenenc_bytes(&mut row, b"TLS_AES_256_GCM_SHA384");
        let new = status.rewrite(&row).unwrap();
        let mut r = Reader::new(&new);
        assert_eq!(r.lenenc_bytes("n").unwrap(), b"Ssl_cipher");
        assert_eq!(r.lenenc_bytes("v").unwrap(), b"TLS_AES_128_GCM_SHA256");
        let mut other = Vec::new();
        put_lenenc_bytes(&mut other, b"Uptime");
        put_lenenc_bytes(&mut other, b"5");
        assert!(status.rewrite(&other).is_none());
        assert!(status.rewrite(b"\xfc").is_none());
    }
}
