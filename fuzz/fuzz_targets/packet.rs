//! The packet reader: arbitrary bytes from a client, delivered in arbitrary read sizes.
//!
//! Input: byte 0 picks the largest read the stream returns at once (1..=256, so buffer refills
//! happen at every offset), byte 1 the payload limit (0..=255 × 64 bytes), the rest is what the
//! client sent. Oracle: the packets read, written again from the same sequence id, are exactly
//! the bytes the reader consumed; no payload exceeds the limit.
#![no_main]

use std::io::{self, Read, Write};

use libfuzzer_sys::fuzz_target;
use tlsql::protocol::packet::{PacketError, PacketStream};

/// A client that sends `data` in reads of at most `chunk` bytes, and whose output is kept.
struct Client<'a> {
    data: &'a [u8],
    chunk: usize,
    written: Vec<u8>,
}

impl Read for Client<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.chunk).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

impl Write for Client<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fuzz_target!(|input: &[u8]| {
    let [chunk, limit, data @ ..] = input else {
        return;
    };
    let chunk = usize::from(*chunk) + 1;
    let limit = usize::from(*limit) * 64;
    let mut reader = PacketStream::new(
        Client {
            data,
            chunk,
            written: Vec::new(),
        },
        limit,
    );
    let mut payloads = Vec::new();
    let failure = loop {
        match reader.read_packet() {
            Ok(payload) => {
                assert!(payload.len() <= limit, "payload over the limit");
                payloads.push(payload);
            }
            Err(e) => break e,
        }
    };
    let (_, unread, _) = reader.into_parts().expect("flush to memory");
    let mut writer = PacketStream::new(
        Client {
            data: &[],
            chunk,
            written: Vec::new(),
        },
        limit,
    );
    for payload in &payloads {
        writer.write_packet(payload).expect("write to memory");
    }
    writer.flush().expect("flush to memory");
    let rewritten = &writer.get_ref().written;
    assert_eq!(
        &data[..rewritten.len()],
        rewritten.as_slice(),
        "packets read do not re-encode to the bytes they came from"
    );
    if matches!(failure, PacketError::Closed) {
        // A clean end is only at a packet boundary with nothing left over.
        assert_eq!(rewritten.len(), data.len());
        assert!(unread.is_empty());
    }
});
