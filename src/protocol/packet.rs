//! Packet framing: every MySQL message is a sequence of packets with a 3-byte little-endian
//! payload length and a 1-byte sequence id. A payload of 0xFFFFFF bytes or more is split into
//! 0xFFFFFF-byte packets followed by a shorter one — an empty one when the length is an exact
//! multiple — and the reader joins them.
//!
//! <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_packets.html>
//!
//! [`PacketStream`] owns both directions of one connection. Reads are buffered, and writes are
//! collected and sent by [`PacketStream::flush`] (or when the buffer grows large), so a result
//! set leaves in a few large writes: on TLS each write is a record, and small records are slow.
//! Both buffers are allocated when first needed and given back by
//! [`PacketStream::release_buffers`], so an idle connection holds neither.

use std::io::{self, IoSlice, Read, Write};
use std::ops::{Deref, DerefMut};

use super::wire::put_lenenc_int;

/// Largest payload of a single packet; longer payloads continue in the next packet.
pub const MAX_PAYLOAD: usize = 0xFF_FFFF;

/// Size of the read buffer; also how much the reader may hold beyond the current packet (which
/// matters when TLS starts: those bytes are the ClientHello).
const READ_BUF_BYTES: usize = 16 * 1024;

/// The first allocation for a payload; later ones double what has arrived (see
/// [`PacketStream::read_growing`]).
const GROW_STEP_BYTES: usize = 16 * 1024;

/// Written data is sent once this much has accumulated, without waiting for a flush.
const WRITE_FLUSH_BYTES: usize = 64 * 1024;

/// A write buffer that grew past this (a large row) is shrunk back to [`WRITE_FLUSH_BYTES`]
/// when the response is flushed, so one large result does not pin memory for the session's
/// lifetime.
const WRITE_KEEP_BYTES: usize = 2 * WRITE_FLUSH_BYTES;

/// A value this large or larger is sent from where it lies rather than copied into the write
/// buffer: a buffer of [`WRITE_FLUSH_BYTES`] would be sent as soon as it held it anyway.
const SPLICE_BYTES: usize = WRITE_FLUSH_BYTES;

/// The payload of a packet being queued ([`PacketStream::write_packet_with`]): bytes appended
/// to the write buffer, which it dereferences to, and large values that stay where they lie
/// (`'d`) until the packet is sent.
pub struct Payload<'w, 'd> {
    buf: &'w mut Vec<u8>,
    /// Large values, each with the buffer length at which it goes.
    spliced: Vec<(usize, &'d [u8])>,
}

impl<'w, 'd> Payload<'w, 'd> {
    /// A payload of values too small to splice, appended to `buf`: what encoders' unit tests
    /// look at.
    #[cfg(test)]
    pub(crate) fn unspliced(buf: &'w mut Vec<u8>) -> Self {
        Self {
            buf,
            spliced: Vec::new(),
        }
    }

    /// Appends a length-encoded string; a value of [`SPLICE_BYTES`] or more is sent from where
    /// it lies.
    pub fn put_lenenc_bytes(&mut self, bytes: &'d [u8]) {
        put_lenenc_int(self.buf, bytes.len() as u64);
        if bytes.len() < SPLICE_BYTES {
            self.buf.extend_from_slice(bytes);
        } else {
            self.spliced.push((self.buf.len(), bytes));
        }
    }
}

impl Deref for Payload<'_, '_> {
    type Target = Vec<u8>;

    fn deref(&self) -> &Vec<u8> {
        self.buf
    }
}

impl DerefMut for Payload<'_, '_> {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        self.buf
    }
}

/// Why a packet could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PacketError {
    /// The connection failed or timed out.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The peer closed the connection at a packet boundary.
    #[error("connection closed by the client")]
    Closed,
    /// The peer closed the connection in the middle of a packet.
    #[error("connection closed in the middle of a packet")]
    Truncated,
    /// A packet's sequence id is not the expected one.
    #[error("packets out of order: expected sequence id {expected}, got {got}")]
    OutOfOrder {
        /// The id the reader expected.
        expected: u8,
        /// The id the packet carried.
        got: u8,
    },
    /// The joined payload exceeds `max-allowed-packet` (MySQL ER_NET_PACKET_TOO_LARGE).
    #[error("packet of at least {size} bytes exceeds max_allowed_packet ({limit})")]
    TooLarge {
        /// Bytes announced so far.
        size: usize,
        /// The limit.
        limit: usize,
    },
}

/// Buffered packet reader and writer over one byte stream.
pub struct PacketStream<S> {
    stream: S,
    /// Empty until the first read needs it ([`READ_BUF_BYTES`] then).
    rbuf: Box<[u8]>,
    rpos: usize,
    rend: usize,
    wbuf: Vec<u8>,
    seq: u8,
    max_payload: usize,
}

impl<S: Read + Write> PacketStream<S> {
    /// Wraps `stream`, refusing incoming payloads longer than `max_payload` bytes.
    pub fn new(stream: S, max_payload: usize) -> Self {
        Self {
            stream,
            rbuf: Box::default(),
            rpos: 0,
            rend: 0,
            wbuf: Vec::new(),
            seq: 0,
            max_payload,
        }
    }

    /// The sequence id the next packet (read or written) will carry.
    pub fn seq(&self) -> u8 {
        self.seq
    }

    /// Sets the next sequence id (a new command starts at 0; after the TLS switch the count
    /// continues where the SSLRequest left it).
    pub fn set_seq(&mut self, seq: u8) {
        self.seq = seq;
    }

    /// Changes the incoming payload limit (`max_allowed_packet`).
    pub fn set_max_payload(&mut self, max_payload: usize) {
        self.max_payload = max_payload;
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The underlying stream, mutably (for a TLS shutdown at close).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Gives up the stream: returns it, the bytes read from it but not yet consumed, and the
    /// next sequence id. Pending output is flushed first.
    pub fn into_parts(mut self) -> io::Result<(S, Vec<u8>, u8)> {
        self.flush()?;
        let leftover = self.rbuf[self.rpos..self.rend].to_vec();
        Ok((self.stream, leftover, self.seq))
    }

    /// Reads one logical packet (joining 0xFFFFFF-byte continuations) and returns its payload.
    pub fn read_packet(&mut self) -> Result<Vec<u8>, PacketError> {
        let mut payload = Vec::new();
        let mut first = true;
        loop {
            let mut header = [0u8; 4];
            if !self.read_exact_buffered(&mut header)? {
                return Err(if first {
                    PacketError::Closed
                } else {
                    PacketError::Truncated
                });
            }
            let len =
                usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
            if header[3] != self.seq {
                return Err(PacketError::OutOfOrder {
                    expected: self.seq,
                    got: header[3],
                });
            }
            self.seq = self.seq.wrapping_add(1);
            let total = payload.len() + len;
            if total > self.max_payload {
                return Err(PacketError::TooLarge {
                    size: total,
                    limit: self.max_payload,
                });
            }
            self.read_growing(&mut payload, total)?;
            first = false;
            if len < MAX_PAYLOAD {
                return Ok(payload);
            }
        }
    }

    /// Reads into `payload` until it holds `total` bytes. The header only announces a length:
    /// memory is committed as bytes arrive (at most doubling what has arrived, from
    /// [`GROW_STEP_BYTES`]), so a client that announces 16 MiB and sends nothing pins 16 KiB,
    /// not 16 MiB.
    fn read_growing(&mut self, payload: &mut Vec<u8>, total: usize) -> Result<(), PacketError> {
        while payload.len() < total {
            let start = payload.len();
            let step = (total - start).min(start.max(GROW_STEP_BYTES));
            payload.resize(start + step, 0);
            if !self.read_exact_buffered(&mut payload[start..])? {
                return Err(PacketError::Truncated);
            }
        }
        Ok(())
    }

    /// Whether bytes of a next packet are already buffered.
    pub fn has_input(&self) -> bool {
        self.rpos < self.rend
    }

    /// Waits until the next packet has begun to arrive, consuming nothing: afterwards at least
    /// one byte of it is buffered. A stream that ends first is [`PacketError::Closed`]; a read
    /// error leaves the stream as it was, so the read can be tried again.
    pub fn fill(&mut self) -> Result<(), PacketError> {
        if self.has_input() || self.refill()? > 0 {
            Ok(())
        } else {
            Err(PacketError::Closed)
        }
    }

    /// Gives the buffers' memory back while nothing is buffered in them (an idle session);
    /// the next read or write allocates again.
    pub fn release_buffers(&mut self) {
        if !self.has_input() {
            self.rbuf = Box::default();
            self.rpos = 0;
            self.rend = 0;
        }
        if self.wbuf.is_empty() {
            self.wbuf = Vec::new();
        }
    }

    /// Reads what the stream has into the (empty) read buffer; 0 at the end of the stream.
    fn refill(&mut self) -> io::Result<usize> {
        if self.rbuf.is_empty() {
            self.rbuf = vec![0u8; READ_BUF_BYTES].into_boxed_slice();
        }
        let n = self.stream.read(&mut self.rbuf)?;
        self.rpos = 0;
        self.rend = n;
        Ok(n)
    }

    /// Fills `out` completely; `Ok(false)` if the stream ended before the first byte.
    fn read_exact_buffered(&mut self, out: &mut [u8]) -> Result<bool, PacketError> {
        let ended = |done: usize| {
            if done == 0 {
                Ok(false)
            } else {
                Err(PacketError::Truncated)
            }
        };
        let mut done = 0;
        while done < out.len() {
            if self.rpos == self.rend {
                // Large payloads bypass the buffer; small reads refill it.
                if out.len() - done >= READ_BUF_BYTES {
                    let n = self.stream.read(&mut out[done..])?;
                    if n == 0 {
                        return ended(done);
                    }
                    done += n;
                    continue;
                }
                if self.refill()? == 0 {
                    return ended(done);
                }
            }
            let n = (self.rend - self.rpos).min(out.len() - done);
            out[done..done + n].copy_from_slice(&self.rbuf[self.rpos..self.rpos + n]);
            self.rpos += n;
            done += n;
        }
        Ok(true)
    }

    /// Queues one logical packet, splitting it at 0xFFFFFF bytes.
    pub fn write_packet(&mut self, payload: &[u8]) -> io::Result<()> {
        let mut rest = payload;
        loop {
            let chunk = rest.len().min(MAX_PAYLOAD);
            let len = chunk.to_le_bytes();
            self.wbuf
                .extend_from_slice(&[len[0], len[1], len[2], self.seq]);
            self.wbuf.extend_from_slice(&rest[..chunk]);
            self.seq = self.seq.wrapping_add(1);
            rest = &rest[chunk..];
            if self.wbuf.len() >= WRITE_FLUSH_BYTES {
                self.send_buffered()?;
            }
            if chunk < MAX_PAYLOAD {
                return Ok(());
            }
        }
    }

    /// Queues one logical packet whose payload `encode` appends to the write buffer, so the
    /// payload is built where it is sent from rather than copied there. A large value that
    /// `encode` [splices](Payload::put_lenenc_bytes) in is sent from where it lies, in the same
    /// vectored write as the bytes around it, and is not copied into the buffer at all. Split
    /// at 0xFFFFFF bytes like [`PacketStream::write_packet`].
    pub fn write_packet_with<'d>(
        &mut self,
        encode: impl FnOnce(&mut Payload<'_, 'd>),
    ) -> io::Result<()> {
        let start = self.wbuf.len();
        self.wbuf.extend_from_slice(&[0; 4]);
        let mut payload = Payload {
            buf: &mut self.wbuf,
            spliced: Vec::new(),
        };
        encode(&mut payload);
        let spliced = payload.spliced;
        let spliced_len: usize = spliced.iter().map(|(_, bytes)| bytes.len()).sum();
        let len = self.wbuf.len() - start - 4 + spliced_len;
        if len >= MAX_PAYLOAD {
            // Rare (16 MiB and more): joined, then framed again by the splitting writer.
            let buffered = self.wbuf.split_off(start + 4);
            self.wbuf.truncate(start);
            let mut whole = Vec::with_capacity(len);
            let mut from = 0;
            for (at, bytes) in spliced {
                let at = at - start - 4;
                whole.extend_from_slice(&buffered[from..at]);
                whole.extend_from_slice(bytes);
                from = at;
            }
            whole.extend_from_slice(&buffered[from..]);
            return self.write_packet(&whole);
        }
        let le = len.to_le_bytes();
        self.wbuf[start..start + 4].copy_from_slice(&[le[0], le[1], le[2], self.seq]);
        self.seq = self.seq.wrapping_add(1);
        if !spliced.is_empty() {
            return self.send_spliced(&spliced);
        }
        if self.wbuf.len() >= WRITE_FLUSH_BYTES {
            self.send_buffered()?;
        }
        Ok(())
    }

    /// Sends the write buffer with the spliced values in their places, in vectored writes.
    fn send_spliced(&mut self, spliced: &[(usize, &[u8])]) -> io::Result<()> {
        let mut parts = Vec::with_capacity(2 * spliced.len() + 1);
        let mut from = 0;
        for &(at, bytes) in spliced {
            parts.push(IoSlice::new(&self.wbuf[from..at]));
            parts.push(IoSlice::new(bytes));
            from = at;
        }
        parts.push(IoSlice::new(&self.wbuf[from..]));
        parts.retain(|part| !part.is_empty());
        let mut rest = &mut parts[..];
        while !rest.is_empty() {
            match self.stream.write_vectored(rest) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => IoSlice::advance_slices(&mut rest, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.wbuf.clear();
        Ok(())
    }

    /// Queues bytes that are already framed packets (the gateway forwards a backend's packets
    /// as they came). The caller keeps the sequence id right with [`PacketStream::set_seq`].
    pub fn write_framed(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.wbuf.len() + bytes.len() >= WRITE_FLUSH_BYTES {
            self.send_buffered()?;
            if bytes.len() >= WRITE_FLUSH_BYTES {
                return self.stream.write_all(bytes);
            }
        }
        self.wbuf.extend_from_slice(bytes);
        Ok(())
    }

    fn send_buffered(&mut self) -> io::Result<()> {
        if !self.wbuf.is_empty() {
            self.stream.write_all(&self.wbuf)?;
            self.wbuf.clear();
        }
        Ok(())
    }

    /// Sends everything queued (the end of a response).
    pub fn flush(&mut self) -> io::Result<()> {
        self.send_buffered()?;
        if self.wbuf.capacity() > WRITE_KEEP_BYTES {
            self.wbuf.shrink_to(WRITE_FLUSH_BYTES);
        }
        self.stream.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A stream that reads from one buffer and writes into another.
    struct Duplex {
        input: Cursor<Vec<u8>>,
        output: Vec<u8>,
        /// Read at most this many bytes per call, to exercise partial reads.
        max_read: usize,
    }

    impl Read for Duplex {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.max_read);
            self.input.read(&mut buf[..n])
        }
    }

    impl Write for Duplex {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn duplex(input: Vec<u8>, max_read: usize) -> Duplex {
        Duplex {
            input: Cursor::new(input),
            output: Vec::new(),
            max_read,
        }
    }

    fn written(len: usize) -> Vec<u8> {
        let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut ps = PacketStream::new(duplex(Vec::new(), usize::MAX), usize::MAX);
        ps.write_packet(&payload).unwrap();
        ps.flush().unwrap();
        ps.stream.output
    }

    /// Splits framed bytes into (length, seq) headers, checking the framing is consistent.
    fn headers(mut bytes: &[u8]) -> Vec<(usize, u8)> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let len =
                usize::from(bytes[0]) | usize::from(bytes[1]) << 8 | usize::from(bytes[2]) << 16;
            out.push((len, bytes[3]));
            bytes = &bytes[4 + len..];
        }
        out
    }

    #[test]
    fn writer_splits_at_the_boundary() {
        assert_eq!(headers(&written(0)), vec![(0, 0)]);
        assert_eq!(headers(&written(10)), vec![(10, 0)]);
        assert_eq!(
            headers(&written(MAX_PAYLOAD - 1)),
            vec![(MAX_PAYLOAD - 1, 0)]
        );
        // Exactly 0xFFFFFF: an empty packet must end the sequence.
        assert_eq!(
            headers(&written(MAX_PAYLOAD)),
            vec![(MAX_PAYLOAD, 0), (0, 1)]
        );
        assert_eq!(
            headers(&written(MAX_PAYLOAD + 1)),
            vec![(MAX_PAYLOAD, 0), (1, 1)]
        );
        assert_eq!(
            headers(&written(2 * MAX_PAYLOAD)),
            vec![(MAX_PAYLOAD, 0), (MAX_PAYLOAD, 1), (0, 2)]
        );
    }

    /// A stream that takes at most `max_write` bytes per call, vectored or not.
    struct Trickle {
        output: Vec<u8>,
        max_write: usize,
        calls: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Ok(0)
        }
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.write_vectored(&[IoSlice::new(buf)])
        }
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            self.calls += 1;
            let before = self.output.len();
            for buf in bufs {
                let room = self.max_write - (self.output.len() - before);
                self.output.extend_from_slice(&buf[..buf.len().min(room)]);
            }
            Ok(self.output.len() - before)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn large_values_leave_from_where_they_lie_in_order() {
        let (first, second) = (pattern(300_000), pattern(SPLICE_BYTES));
        let trickle = Trickle {
            output: Vec::new(),
            max_write: 70_000,
            calls: 0,
        };
        let mut ps = PacketStream::new(trickle, usize::MAX);
        ps.write_packet(b"before").unwrap();
        ps.write_packet_with(|out| {
            out.push(7);
            out.put_lenenc_bytes(&first);
            out.put_lenenc_bytes(b"small");
            out.put_lenenc_bytes(&second);
            out.push(9);
        })
        .unwrap();
        // Neither value went through the write buffer.
        assert!(ps.wbuf.capacity() < SPLICE_BYTES, "{}", ps.wbuf.capacity());
        ps.write_packet(b"after").unwrap();
        ps.flush().unwrap();

        let mut row = vec![7, 0xFD];
        row.extend_from_slice(&300_000u32.to_le_bytes()[..3]);
        row.extend_from_slice(&first);
        row.extend_from_slice(b"\x05small\xFD");
        row.extend_from_slice(&(SPLICE_BYTES as u32).to_le_bytes()[..3]);
        row.extend_from_slice(&second);
        row.push(9);
        let mut expected = vec![6, 0, 0, 0];
        expected.extend_from_slice(b"before");
        expected.extend_from_slice(&(row.len() as u32).to_le_bytes()[..3]);
        expected.push(1);
        expected.extend_from_slice(&row);
        expected.extend_from_slice(&[5, 0, 0, 2]);
        expected.extend_from_slice(b"after");
        assert_eq!(ps.stream.output.len(), expected.len());
        assert!(ps.stream.output == expected);
        assert!(ps.stream.calls > 5, "partial writes were resumed");
    }

    #[test]
    fn a_spliced_payload_of_16_mib_is_split_like_any_other() {
        let value = pattern(MAX_PAYLOAD);
        let mut ps = PacketStream::new(duplex(Vec::new(), usize::MAX), usize::MAX);
        ps.write_packet_with(|out| {
            out.push(1);
            out.put_lenenc_bytes(&value);
        })
        .unwrap();
        ps.flush().unwrap();
        let bytes = ps.stream.output;
        assert_eq!(headers(&bytes), vec![(MAX_PAYLOAD, 0), (5, 1)]);
        let mut reader = PacketStream::new(duplex(bytes, 7000), usize::MAX);
        let payload = reader.read_packet().unwrap();
        assert_eq!(payload[..5], [1, 0xFD, 0xFF, 0xFF, 0xFF]);
        assert!(payload[5..] == value[..]);
    }

    #[test]
    fn reader_joins_what_the_writer_split() {
        for len in [
            0,
            1,
            1000,
            MAX_PAYLOAD - 1,
            MAX_PAYLOAD,
            MAX_PAYLOAD + 1,
            2 * MAX_PAYLOAD,
        ] {
            let bytes = written(len);
            let mut ps = PacketStream::new(duplex(bytes, 7000), usize::MAX);
            let payload = ps.read_packet().unwrap();
            assert_eq!(payload.len(), len);
            assert!(
                payload
                    .iter()
                    .enumerate()
                    .all(|(i, b)| *b == (i % 251) as u8)
            );
            assert!(matches!(ps.read_packet(), Err(PacketError::Closed)));
        }
    }

    #[test]
    fn reader_checks_sequence_ids() {
        let mut ps = PacketStream::new(duplex(vec![1, 0, 0, 5, 0xAA], 100), 1024);
        assert!(matches!(
            ps.read_packet(),
            Err(PacketError::OutOfOrder {
                expected: 0,
                got: 5
            })
        ));
    }

    #[test]
    fn reader_enforces_the_limit_before_reading_the_payload() {
        let mut ps = PacketStream::new(duplex(vec![0xFF, 0xFF, 0xFF, 0], 100), 1024);
        assert!(matches!(
            ps.read_packet(),
            Err(PacketError::TooLarge {
                size: MAX_PAYLOAD,
                limit: 1024
            })
        ));
    }

    #[test]
    fn truncated_packets_are_errors() {
        let mut ps = PacketStream::new(duplex(vec![5, 0, 0, 0, 1, 2], 100), 1024);
        assert!(matches!(ps.read_packet(), Err(PacketError::Truncated)));
        let mut ps = PacketStream::new(duplex(vec![5, 0], 100), 1024);
        assert!(matches!(ps.read_packet(), Err(PacketError::Truncated)));
    }

    #[test]
    fn leftover_bytes_are_handed_back() {
        // An SSLRequest-like packet followed by the start of a ClientHello in the same read.
        let mut input = vec![2, 0, 0, 1, 0xAB, 0xCD];
        input.extend_from_slice(&[0x16, 0x03, 0x01]);
        let mut ps = PacketStream::new(duplex(input, 1000), 1024);
        ps.set_seq(1);
        assert_eq!(ps.read_packet().unwrap(), vec![0xAB, 0xCD]);
        let (_, leftover, seq) = ps.into_parts().unwrap();
        assert_eq!(leftover, vec![0x16, 0x03, 0x01]);
        assert_eq!(seq, 2);
    }
}
