//! Resumption state every backend counts the same way: the hit and miss counters of a context
//! or connector, and what a ClientHello offered for resumption.
//!
//! `SessionStats::misses` counts handshakes where the client offered a session that was not
//! resumed. The C libraries' own miss counters only count session-id cache misses (a ticket
//! that no longer decrypts is not one), so the C backends read the offer from the ClientHello
//! instead: the legacy session id and the session_ticket and pre_shared_key extensions,
//! nothing else.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::{SessionStats, TlsVersion};

/// TLS record content type of handshake messages (RFC 8446 §5.1).
const HANDSHAKE: u8 = 22;
/// Handshake message type of a ClientHello (RFC 8446 §4).
const CLIENT_HELLO: u8 = 1;
/// Extension carrying a TLS 1.2 session ticket (RFC 5077 §3.2).
const SESSION_TICKET: u16 = 35;
/// Extension carrying TLS 1.3 ticket identities (RFC 8446 §4.2.11).
const PRE_SHARED_KEY: u16 = 41;

/// Hit and miss counters of one context or connector (they start at zero with each new one).
#[derive(Debug, Default)]
pub struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Counters {
    /// A handshake resumed a session.
    pub fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// A handshake offered a session that was not resumed.
    pub fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a completed handshake: a hit if it resumed, a miss if a session was offered and
    /// not resumed. Failed handshakes count as neither.
    pub fn count(&self, resumed: bool, offered: bool) {
        if resumed {
            self.hit();
        } else if offered {
            self.miss();
        }
    }

    /// The counts so far.
    pub fn snapshot(&self) -> SessionStats {
        SessionStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

/// The resumption-related parts of a ClientHello.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Offer {
    /// A non-empty legacy session id.
    pub session_id: bool,
    /// A non-empty session_ticket extension.
    pub ticket: bool,
    /// A pre_shared_key extension.
    pub psk: bool,
}

impl Offer {
    /// Whether the client asked to resume a session, given the version that was negotiated.
    /// TLS 1.3 clients send a random legacy session id for middlebox compatibility, so under
    /// TLS 1.3 only a pre_shared_key counts.
    pub fn asks_resumption(&self, version: TlsVersion) -> bool {
        match version {
            TlsVersion::Tls13 => self.psk,
            _ => self.session_id || self.ticket,
        }
    }

    /// Reads the first ClientHello from the records at the start of `bytes`; `None` if they
    /// do not start with a complete, well-formed one.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        Self::parse_body(&client_hello_body(bytes)?)
    }

    /// Reads a ClientHello message body (from `legacy_version` on, RFC 8446 §4.1.2).
    pub fn parse_body(body: &[u8]) -> Option<Self> {
        let mut r = Reader(body);
        r.take(2 + 32)?; // legacy_version, random
        let mut offer = Self {
            session_id: !r.vec8()?.is_empty(),
            ..Self::default()
        };
        r.vec16()?; // cipher_suites
        r.vec8()?; // legacy_compression_methods
        if r.0.is_empty() {
            return Some(offer);
        }
        let mut extensions = Reader(r.vec16()?);
        while !extensions.0.is_empty() {
            let kind = extensions.u16()?;
            let data = extensions.vec16()?;
            match kind {
                SESSION_TICKET => offer.ticket = !data.is_empty(),
                PRE_SHARED_KEY => offer.psk = true,
                _ => {}
            }
        }
        Some(offer)
    }
}

/// Joins handshake record fragments until the first message is complete (RFC 8446 §5.1
/// allows a message to span records) and returns its body if it is a ClientHello.
fn client_hello_body(records: &[u8]) -> Option<Vec<u8>> {
    let mut message = Vec::new();
    let mut r = Reader(records);
    loop {
        if r.u8()? != HANDSHAKE {
            return None;
        }
        r.take(2)?; // legacy_record_version
        message.extend_from_slice(r.vec16()?);
        let mut m = Reader(&message);
        if m.u8()? != CLIENT_HELLO {
            return None;
        }
        if let Some(body) = m.u24().and_then(|len| m.take(len)) {
            return Some(body.to_vec());
        }
    }
}

/// A cursor over big-endian TLS encodings; every read is bounds-checked.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
    }

    fn u24(&mut self) -> Option<usize> {
        let b = self.take(3)?;
        Some(
            usize::from(*b.first()?) << 16 | usize::from(*b.get(1)?) << 8 | usize::from(*b.get(2)?),
        )
    }

    fn vec8(&mut self) -> Option<&'a [u8]> {
        let len = self.u8()?;
        self.take(usize::from(len))
    }

    fn vec16(&mut self) -> Option<&'a [u8]> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vec16(data: &[u8]) -> Vec<u8> {
        let mut out = u16::try_from(data.len()).unwrap().to_be_bytes().to_vec();
        out.extend_from_slice(data);
        out
    }

    /// A ClientHello handshake message with the given session id and extensions.
    fn hello(session_id: &[u8], extensions: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = vec![3, 3];
        body.extend_from_slice(&[7; 32]);
        body.push(u8::try_from(session_id.len()).unwrap());
        body.extend_from_slice(session_id);
        body.extend(vec16(&[0x13, 0x01, 0xc0, 0x2b]));
        body.extend_from_slice(&[1, 0]);
        let mut ext = Vec::new();
        for (kind, data) in extensions {
            ext.extend_from_slice(&kind.to_be_bytes());
            ext.extend(vec16(data));
        }
        body.extend(vec16(&ext));
        let len = u32::try_from(body.len()).unwrap().to_be_bytes();
        let mut message = vec![CLIENT_HELLO, len[1], len[2], len[3]];
        message.extend(body);
        message
    }

    /// `message` split into handshake records of at most `chunk` bytes.
    fn records(message: &[u8], chunk: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for fragment in message.chunks(chunk) {
            out.extend_from_slice(&[HANDSHAKE, 3, 1]);
            out.extend(vec16(fragment));
        }
        out
    }

    #[test]
    fn fresh_hello_offers_nothing() {
        let offer = Offer::parse(&records(&hello(&[], &[(0, b"\0\0")]), 1000)).unwrap();
        assert_eq!(offer, Offer::default());
        assert!(!offer.asks_resumption(TlsVersion::Tls12));
    }

    #[test]
    fn session_id_counts_only_below_tls13() {
        let offer = Offer::parse(&records(&hello(&[9; 32], &[]), 1000)).unwrap();
        assert!(offer.asks_resumption(TlsVersion::Tls12));
        assert!(!offer.asks_resumption(TlsVersion::Tls13));
    }

    #[test]
    fn empty_ticket_extension_only_announces_support() {
        let empty = Offer::parse(&records(&hello(&[], &[(SESSION_TICKET, b"")]), 1000)).unwrap();
        assert!(!empty.asks_resumption(TlsVersion::Tls12));
        let full = Offer::parse(&records(&hello(&[], &[(SESSION_TICKET, b"tkt")]), 1000)).unwrap();
        assert!(full.asks_resumption(TlsVersion::Tls12));
    }

    #[test]
    fn psk_across_records() {
        let message = hello(&[1; 32], &[(43, b"\x02\x03\x04"), (PRE_SHARED_KEY, b"id")]);
        let offer = Offer::parse(&records(&message, 10)).unwrap();
        assert!(offer.asks_resumption(TlsVersion::Tls13));
    }

    #[test]
    fn malformed_input_is_not_an_offer() {
        let message = hello(&[1; 32], &[(PRE_SHARED_KEY, b"id")]);
        let whole = records(&message, 1000);
        assert_eq!(Offer::parse(&whole[..whole.len() - 1]), None);
        assert_eq!(Offer::parse(b""), None);
        let mut alert = whole.clone();
        alert[0] = 21;
        assert_eq!(Offer::parse(&alert), None);
        let mut server_hello = whole;
        server_hello[5] = 2;
        assert_eq!(Offer::parse(&server_hello), None);
    }
}
