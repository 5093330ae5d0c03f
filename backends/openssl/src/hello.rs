//! The server's transport, keeping the first bytes the client sends so the ClientHello's
//! resumption offer can be read after the handshake.
//!
//! OpenSSL's own miss counter only counts session-id cache misses (a ticket that no longer
//! decrypts is not one), and the openssl crate exposes neither it nor the ClientHello
//! extensions; `tlsql_tls_api::resumption::Offer` reads them from the recorded bytes.

use std::io::{self, Read, Write};

use tlsql_tls_api::Transport;
use tlsql_tls_api::resumption::Offer;

/// How many leading bytes are kept. A ClientHello is a few hundred bytes (about 2 KiB with a
/// post-quantum key share); one that does not fit is simply not inspected.
const KEEP: usize = 64 * 1024;

/// A transport that remembers the first bytes it delivered (on a server) and whether it
/// reached EOF.
pub(crate) struct Recording {
    inner: Box<dyn Transport>,
    /// `None` once the ClientHello has been inspected, or when nothing is recorded.
    kept: Option<Vec<u8>>,
    eof: bool,
}

impl Recording {
    pub(crate) fn new(inner: Box<dyn Transport>, record: bool) -> Self {
        Self {
            inner,
            kept: record.then(Vec::new),
            eof: false,
        }
    }

    /// What the first ClientHello offered; stops keeping bytes.
    pub(crate) fn take_offer(&mut self) -> Offer {
        self.kept
            .take()
            .and_then(|bytes| Offer::parse(&bytes))
            .unwrap_or_default()
    }

    /// Whether the peer closed its side of the connection.
    pub(crate) fn saw_eof(&self) -> bool {
        self.eof
    }
}

impl Read for Recording {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.eof = true;
        }
        if let Some(kept) = &mut self.kept {
            let room = KEEP.saturating_sub(kept.len());
            let fresh = buf.get(..n).unwrap_or(buf);
            kept.extend_from_slice(fresh.get(..room).unwrap_or(fresh));
        }
        Ok(n)
    }
}

impl Write for Recording {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
