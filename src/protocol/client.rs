//! The connection phase seen from the client's side: tlsql in gateway mode is a client of its
//! backend servers. It reads a backend's greeting, passes it on to its own client with the
//! capabilities the relay cannot carry taken out, adjusts the client's login for the backend
//! leg's transport, and (for health checks) logs in itself.
//!
//! <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase_packets_protocol_handshake_v10.html>
//! and, for MariaDB's extended capabilities, <https://mariadb.com/kb/en/connection/>.

use super::ProtocolError;
use super::handshake::{Greeting, caps};
use super::wire::{Reader, put_lenenc_bytes, put_nul_bytes};

/// Capabilities the relay cannot carry, removed from a backend's greeting before it reaches the
/// client: compression hides the packet framing the relay follows; optional result-set metadata
/// and query attributes change the layout of packets the relay reads.
pub const NOT_RELAYABLE: u32 =
    COMPRESS | OPTIONAL_RESULTSET_METADATA | ZSTD_COMPRESSION | QUERY_ATTRIBUTES;

const COMPRESS: u32 = 1 << 5;
const OPTIONAL_RESULTSET_METADATA: u32 = 1 << 25;
const ZSTD_COMPRESSION: u32 = 1 << 26;
const QUERY_ATTRIBUTES: u32 = 1 << 27;

/// Offset of MariaDB's extended capabilities in a HandshakeResponse41 (the last 4 of the 23
/// filler bytes), used when the client's `CLIENT_MYSQL` (bit 0) is clear.
const RESPONSE_MARIADB_CAPS: usize = 4 + 4 + 1 + 19;

/// Parses what a server sends first: its greeting, or an ERR packet when it refuses the
/// connection (e.g. 1040, or 1129 for a blocked host).
pub fn read_greeting(payload: &[u8]) -> Result<Greeting, GreetingError> {
    if payload.first() == Some(&0xFF) {
        return Err(GreetingError::Refused(ServerError::parse(payload)?));
    }
    Ok(Greeting::parse(payload)?)
}

/// Why a greeting could not be used.
#[derive(Debug, thiserror::Error)]
pub enum GreetingError {
    /// The server sent an ERR packet instead of a greeting.
    #[error("refused: {0}")]
    Refused(ServerError),
    /// The bytes are not a greeting.
    #[error(transparent)]
    Malformed(#[from] ProtocolError),
}

/// An ERR packet a server sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("ERROR {code} ({sqlstate}): {message}")]
pub struct ServerError {
    /// Error number.
    pub code: u16,
    /// SQLSTATE (`HY000` when the packet carries none, as before the client sent its login).
    pub sqlstate: String,
    /// Message.
    pub message: String,
}

impl ServerError {
    /// Parses an ERR packet (`0xFF`, code, optional `#` + SQLSTATE, message).
    pub fn parse(payload: &[u8]) -> Result<Self, ProtocolError> {
        let mut r = Reader::new(payload);
        if r.u8("header")? != 0xFF {
            return Err(ProtocolError::new("not an ERR packet"));
        }
        let code = r.u16("error code")?;
        let rest = r.rest();
        let (sqlstate, message) = match rest {
            [b'#', state @ ..] if state.len() >= 5 => (
                String::from_utf8_lossy(&state[..5]).into_owned(),
                &state[5..],
            ),
            _ => ("HY000".to_string(), rest),
        };
        Ok(Self {
            code,
            sqlstate,
            message: String::from_utf8_lossy(message).into_owned(),
        })
    }
}

/// Sets or clears `CLIENT_SSL` in a HandshakeResponse41 or SSLRequest (the flag does not change
/// the packet's layout), and clears MariaDB extended capabilities the relay did not offer.
pub fn adjust_login(packet: &mut [u8], ssl: bool, mariadb_offered: u32) {
    if packet.len() < 4 {
        return;
    }
    let mut flags = u32::from_le_bytes([packet[0], packet[1], packet[2], packet[3]]);
    if ssl {
        flags |= caps::SSL;
    } else {
        flags &= !caps::SSL;
    }
    packet[..4].copy_from_slice(&flags.to_le_bytes());
    if flags & caps::LONG_PASSWORD == 0 && packet.len() >= RESPONSE_MARIADB_CAPS + 4 {
        let at = RESPONSE_MARIADB_CAPS;
        let asked =
            u32::from_le_bytes([packet[at], packet[at + 1], packet[at + 2], packet[at + 3]]);
        packet[at..at + 4].copy_from_slice(&(asked & mariadb_offered).to_le_bytes());
    }
}

/// The SSLRequest that goes before a login: the login's first 32 bytes with `CLIENT_SSL`.
pub fn ssl_request_for(login: &[u8]) -> Result<Vec<u8>, ProtocolError> {
    let head = login
        .get(..32)
        .ok_or_else(|| ProtocolError::new("login shorter than 32 bytes"))?;
    let mut out = head.to_vec();
    let flags = u32::from_le_bytes([out[0], out[1], out[2], out[3]]) | caps::SSL;
    out[..4].copy_from_slice(&flags.to_le_bytes());
    Ok(out)
}

/// A HandshakeResponse41 of tlsql's own (health checks log in as the monitor account).
pub struct Login<'a> {
    /// Capabilities asked for.
    pub capabilities: u32,
    /// Collation number.
    pub collation: u8,
    /// User name.
    pub user: &'a str,
    /// Answer to the server's nonce for `auth_plugin`.
    pub auth_response: &'a [u8],
    /// The plugin `auth_response` was computed with.
    pub auth_plugin: &'a str,
}

impl Login<'_> {
    /// Encodes the packet (`CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA` layout).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.user.len() + self.auth_response.len());
        let flags = self.capabilities | caps::PLUGIN_AUTH_LENENC_CLIENT_DATA | caps::PLUGIN_AUTH;
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(&(16u32 << 20).to_le_bytes());
        out.push(self.collation);
        out.extend_from_slice(&[0; 23]);
        put_nul_bytes(&mut out, self.user.as_bytes());
        put_lenenc_bytes(&mut out, self.auth_response);
        put_nul_bytes(&mut out, self.auth_plugin.as_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::handshake::{Greeting, HandshakeResponse};

    fn tlsql_greeting(caps: u32) -> Vec<u8> {
        Greeting {
            server_version: "8.0.40-tlsql".into(),
            connection_id: 42,
            scramble: b"abcdefghijklmnopqrst".to_vec(),
            capabilities: caps,
            collation: 45,
            status: 2,
            mariadb_capabilities: 0,
            auth_plugin: "caching_sha2_password".into(),
        }
        .encode()
    }

    #[test]
    fn keeps_mariadb_extended_capabilities() {
        // MariaDB clears CLIENT_MYSQL (bit 0) and puts its own flags in the reserved bytes.
        let mut g = read_greeting(&tlsql_greeting(caps::SERVER & !caps::LONG_PASSWORD)).unwrap();
        g.mariadb_capabilities = 0b1101;
        let again = read_greeting(&g.encode()).unwrap();
        assert_eq!(again.mariadb_capabilities, 0b1101);
        assert_eq!(again, g);
    }

    #[test]
    fn an_err_in_place_of_the_greeting_is_a_refusal() {
        let mut err = vec![0xFF];
        err.extend_from_slice(&1040u16.to_le_bytes());
        err.extend_from_slice(b"Too many connections");
        match read_greeting(&err) {
            Err(GreetingError::Refused(e)) => {
                assert_eq!(e.code, 1040);
                assert_eq!(e.sqlstate, "HY000");
                assert_eq!(e.message, "Too many connections");
            }
            other => panic!("{other:?}"),
        }
        assert!(read_greeting(&[9, 0]).is_err());
        assert!(read_greeting(&[]).is_err());
        assert!(read_greeting(&tlsql_greeting(caps::SERVER)[..20]).is_err());
    }

    #[test]
    fn adjusting_a_login_keeps_every_field() {
        let login = Login {
            capabilities: caps::PROTOCOL_41 | caps::SECURE_CONNECTION | caps::CONNECT_ATTRS,
            collation: 45,
            user: "alice",
            auth_response: &[1, 2, 3],
            auth_plugin: "mysql_native_password",
        };
        let mut bytes = login.encode();
        adjust_login(&mut bytes, true, 0);
        let ssl_request = ssl_request_for(&bytes).unwrap();
        assert_eq!(ssl_request.len(), 32);
        assert!(matches!(
            crate::protocol::handshake::FirstPacket::parse(&ssl_request),
            Ok(crate::protocol::handshake::FirstPacket::SslRequest { .. })
        ));
        adjust_login(&mut bytes, false, 0);
        let parsed = HandshakeResponse::parse(&bytes).unwrap();
        assert_eq!(parsed.user, "alice");
        assert_eq!(parsed.auth_response, [1, 2, 3]);
        assert_eq!(parsed.capabilities & caps::SSL, 0);
    }

    #[test]
    fn clears_mariadb_capabilities_that_were_not_offered() {
        let mut bytes = Login {
            capabilities: caps::PROTOCOL_41 | caps::SECURE_CONNECTION,
            collation: 45,
            user: "u",
            auth_response: &[],
            auth_plugin: "mysql_native_password",
        }
        .encode();
        bytes[RESPONSE_MARIADB_CAPS..RESPONSE_MARIADB_CAPS + 4]
            .copy_from_slice(&0b111u32.to_le_bytes());
        adjust_login(&mut bytes, false, 0b010);
        assert_eq!(
            &bytes[RESPONSE_MARIADB_CAPS..RESPONSE_MARIADB_CAPS + 4],
            &0b010u32.to_le_bytes()
        );
    }
}
