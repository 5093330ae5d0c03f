//! Basic data types of the protocol: fixed-length little-endian integers, length-encoded
//! integers, and strings that are NUL-terminated, length-encoded or run to the end of the packet.
//!
//! <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_data_types.html>

use super::ProtocolError;

/// A bounds-checked cursor over a client packet.
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts at the beginning of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// Whether everything was consumed.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Takes exactly `n` bytes.
    pub fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], ProtocolError> {
        if self.remaining() < n {
            return Err(ProtocolError::new(format!(
                "{what}: need {n} bytes, {} left",
                self.remaining()
            )));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// One byte.
    pub fn u8(&mut self, what: &str) -> Result<u8, ProtocolError> {
        Ok(self.take(1, what)?[0])
    }

    /// Little-endian u16.
    pub fn u16(&mut self, what: &str) -> Result<u16, ProtocolError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    /// Little-endian u32.
    pub fn u32(&mut self, what: &str) -> Result<u32, ProtocolError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Little-endian u64.
    pub fn u64(&mut self, what: &str) -> Result<u64, ProtocolError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// A length-encoded integer (`int<lenenc>`). `0xFB` (NULL) and `0xFF` are not integers.
    pub fn lenenc_int(&mut self, what: &str) -> Result<u64, ProtocolError> {
        match self.u8(what)? {
            n @ 0..=0xFA => Ok(u64::from(n)),
            0xFC => Ok(u64::from(self.u16(what)?)),
            0xFD => {
                let b = self.take(3, what)?;
                Ok(u64::from(b[0]) | u64::from(b[1]) << 8 | u64::from(b[2]) << 16)
            }
            0xFE => self.u64(what),
            other => Err(ProtocolError::new(format!(
                "{what}: invalid length-encoded integer prefix 0x{other:02X}"
            ))),
        }
    }

    /// A length-encoded string (`string<lenenc>`).
    pub fn lenenc_bytes(&mut self, what: &str) -> Result<&'a [u8], ProtocolError> {
        let len = self.lenenc_int(what)?;
        let len = usize::try_from(len)
            .map_err(|_| ProtocolError::new(format!("{what}: length {len} too large")))?;
        self.take(len, what)
    }

    /// A NUL-terminated string (`string<NUL>`), without the NUL.
    pub fn nul_bytes(&mut self, what: &str) -> Result<&'a [u8], ProtocolError> {
        let rest = &self.bytes[self.pos..];
        let end = rest
            .iter()
            .position(|b| *b == 0)
            .ok_or_else(|| ProtocolError::new(format!("{what}: missing NUL terminator")))?;
        self.pos += end + 1;
        Ok(&rest[..end])
    }

    /// Everything left (`string<EOF>`).
    pub fn rest(&mut self) -> &'a [u8] {
        let out = &self.bytes[self.pos..];
        self.pos = self.bytes.len();
        out
    }
}

/// Appends a length-encoded integer.
pub fn put_lenenc_int(out: &mut Vec<u8>, v: u64) {
    match v {
        0..=0xFA => out.push(v as u8),
        0xFB..=0xFFFF => {
            out.push(0xFC);
            out.extend_from_slice(&(v as u16).to_le_bytes());
        }
        0x1_0000..=0xFF_FFFF => {
            out.push(0xFD);
            out.extend_from_slice(&(v as u32).to_le_bytes()[..3]);
        }
        _ => {
            out.push(0xFE);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

/// Appends a length-encoded string.
pub fn put_lenenc_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_lenenc_int(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Appends a NUL-terminated string.
pub fn put_nul_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
    out.push(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenenc_round_trip_at_every_width() {
        for v in [
            0u64,
            250,
            251,
            0xFFFF,
            0x1_0000,
            0xFF_FFFF,
            0x100_0000,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_lenenc_int(&mut out, v);
            let expected_len = match v {
                0..=250 => 1,
                251..=0xFFFF => 3,
                0x1_0000..=0xFF_FFFF => 4,
                _ => 9,
            };
            assert_eq!(out.len(), expected_len, "{v}");
            let mut r = Reader::new(&out);
            assert_eq!(r.lenenc_int("v").unwrap(), v);
            assert!(r.is_empty());
        }
    }

    #[test]
    fn short_input_is_an_error_not_a_panic() {
        assert!(Reader::new(&[0xFC, 1]).lenenc_int("x").is_err());
        assert!(Reader::new(&[0xFB]).lenenc_int("x").is_err());
        assert!(Reader::new(&[5, b'a']).lenenc_bytes("x").is_err());
        assert!(Reader::new(b"abc").nul_bytes("x").is_err());
        assert!(Reader::new(&[1, 2, 3]).u32("x").is_err());
    }

    #[test]
    fn strings() {
        let mut out = Vec::new();
        put_nul_bytes(&mut out, b"root");
        put_lenenc_bytes(&mut out, b"pw");
        out.extend_from_slice(b"tail");
        let mut r = Reader::new(&out);
        assert_eq!(r.nul_bytes("user").unwrap(), b"root");
        assert_eq!(r.lenenc_bytes("auth").unwrap(), b"pw");
        assert_eq!(r.rest(), b"tail");
    }
}
