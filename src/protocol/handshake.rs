//! The connection phase: the server's greeting, the client's SSLRequest or login, and the
//! packets of the authentication exchange.
//!
//! <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase.html>

use super::ProtocolError;
use super::wire::{Reader, put_nul_bytes};

/// Capability flags (`CLIENT_*` in MySQL's `mysql_com.h`).
pub mod caps {
    #![allow(missing_docs)]
    pub const LONG_PASSWORD: u32 = 1;
    pub const FOUND_ROWS: u32 = 1 << 1;
    pub const LONG_FLAG: u32 = 1 << 2;
    pub const CONNECT_WITH_DB: u32 = 1 << 3;
    pub const PROTOCOL_41: u32 = 1 << 9;
    pub const INTERACTIVE: u32 = 1 << 10;
    pub const SSL: u32 = 1 << 11;
    pub const TRANSACTIONS: u32 = 1 << 13;
    pub const SECURE_CONNECTION: u32 = 1 << 15;
    pub const MULTI_STATEMENTS: u32 = 1 << 16;
    pub const MULTI_RESULTS: u32 = 1 << 17;
    pub const PS_MULTI_RESULTS: u32 = 1 << 18;
    pub const PLUGIN_AUTH: u32 = 1 << 19;
    pub const CONNECT_ATTRS: u32 = 1 << 20;
    pub const PLUGIN_AUTH_LENENC_CLIENT_DATA: u32 = 1 << 21;
    pub const DEPRECATE_EOF: u32 = 1 << 24;

    /// What tlsql advertises, apart from `SSL` (which depends on a TLS context being loaded).
    /// Only what is implemented: no compression, no session tracking, no query attributes — a
    /// client that is promised a feature it then doesn't get breaks.
    pub const SERVER: u32 = LONG_PASSWORD
        | FOUND_ROWS
        | LONG_FLAG
        | CONNECT_WITH_DB
        | PROTOCOL_41
        | INTERACTIVE
        | TRANSACTIONS
        | SECURE_CONNECTION
        | MULTI_STATEMENTS
        | MULTI_RESULTS
        | PS_MULTI_RESULTS
        | PLUGIN_AUTH
        | CONNECT_ATTRS
        | PLUGIN_AUTH_LENENC_CLIENT_DATA
        | DEPRECATE_EOF;
}

/// Server status flags (`SERVER_STATUS_*`).
pub mod status {
    #![allow(missing_docs)]
    pub const IN_TRANS: u16 = 1;
    pub const AUTOCOMMIT: u16 = 2;
    pub const MORE_RESULTS_EXISTS: u16 = 8;
}

/// Length of the authentication nonce ("scramble").
pub const SCRAMBLE_LEN: usize = 20;

/// The server greeting, `Protocol::HandshakeV10`: what tlsql sends, and in gateway mode what it
/// reads from a backend and passes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Greeting {
    /// Version string; clients parse its leading `major.minor.patch`.
    pub server_version: String,
    /// Connection id (`CONNECTION_ID()`).
    pub connection_id: u32,
    /// The nonce (20 bytes from tlsql, MySQL and MariaDB), without the NUL servers append;
    /// must not contain NUL bytes (clients treat it as a C string).
    pub scramble: Vec<u8>,
    /// Capabilities offered.
    pub capabilities: u32,
    /// Default collation number.
    pub collation: u8,
    /// `status::*` flags.
    pub status: u16,
    /// MariaDB's extended capabilities, sent when `CLIENT_MYSQL` (bit 0) is clear (zero from
    /// tlsql and MySQL).
    pub mariadb_capabilities: u32,
    /// The plugin the scramble is meant for.
    pub auth_plugin: String,
}

impl Greeting {
    /// Encodes the payload. libmysqlclient and Connector/C require 20 bytes of auth data plus a
    /// NUL, announced as length 21.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96 + self.server_version.len());
        out.push(10);
        put_nul_bytes(&mut out, self.server_version.as_bytes());
        out.extend_from_slice(&self.connection_id.to_le_bytes());
        let (part1, part2) = self.scramble.split_at(self.scramble.len().min(8));
        out.extend_from_slice(part1);
        out.extend(std::iter::repeat_n(0, 8 - part1.len()));
        out.push(0);
        out.extend_from_slice(&(self.capabilities as u16).to_le_bytes());
        out.push(self.collation);
        out.extend_from_slice(&self.status.to_le_bytes());
        out.extend_from_slice(&((self.capabilities >> 16) as u16).to_le_bytes());
        out.push(u8::try_from(self.scramble.len() + 1).unwrap_or(0));
        out.extend_from_slice(&[0; 6]);
        out.extend_from_slice(&self.mariadb_capabilities.to_le_bytes());
        out.extend_from_slice(part2);
        // The second part is at least 13 bytes, its NUL included.
        out.extend(std::iter::repeat_n(
            0,
            13usize.saturating_sub(part2.len()).max(1),
        ));
        put_nul_bytes(&mut out, self.auth_plugin.as_bytes());
        out
    }

    /// Parses a HandshakeV10 payload as a client reads it (the gateway reads its backends').
    /// <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase_packets_protocol_handshake_v10.html>
    pub fn parse(payload: &[u8]) -> Result<Self, ProtocolError> {
        let mut r = Reader::new(payload);
        let version = r.u8("protocol version")?;
        if version != 10 {
            return Err(ProtocolError::new(format!(
                "protocol version {version} (only 10 is supported)"
            )));
        }
        let server_version = String::from_utf8_lossy(r.nul_bytes("server version")?).into_owned();
        let connection_id = r.u32("connection id")?;
        let mut scramble = r.take(8, "auth plugin data")?.to_vec();
        r.u8("filler")?;
        let mut capabilities = u32::from(r.u16("capabilities")?);
        if r.is_empty() {
            return Err(ProtocolError::new("greeting without protocol 4.1 fields"));
        }
        let collation = r.u8("collation")?;
        let status = r.u16("status")?;
        capabilities |= u32::from(r.u16("capabilities")?) << 16;
        let data_len = usize::from(r.u8("auth plugin data length")?);
        let reserved = r.take(10, "reserved")?;
        let mariadb_capabilities = if capabilities & caps::LONG_PASSWORD == 0 {
            u32::from_le_bytes([reserved[6], reserved[7], reserved[8], reserved[9]])
        } else {
            0
        };
        if capabilities & caps::SECURE_CONNECTION != 0 {
            let part2 = r.take(data_len.saturating_sub(8).max(13), "auth plugin data")?;
            scramble.extend_from_slice(part2.strip_suffix(&[0]).unwrap_or(part2));
        }
        let mut auth_plugin = String::from("mysql_native_password");
        if capabilities & caps::PLUGIN_AUTH != 0 && !r.is_empty() {
            // Some servers omit the final NUL.
            let rest = r.rest();
            auth_plugin =
                String::from_utf8_lossy(rest.strip_suffix(&[0]).unwrap_or(rest)).into_owned();
        }
        Ok(Self {
            server_version,
            connection_id,
            scramble,
            capabilities,
            collation,
            status,
            mariadb_capabilities,
            auth_plugin,
        })
    }
}

/// The client's first packet: either a request to start TLS or a login.
#[derive(Debug)]
pub enum FirstPacket {
    /// `Protocol::SSLRequest`: capabilities, max packet and collation, nothing else. The client
    /// starts the TLS handshake right after it without waiting for an answer.
    SslRequest {
        /// Client capabilities.
        capabilities: u32,
    },
    /// A `Protocol::HandshakeResponse41` in plaintext.
    Login(HandshakeResponse),
}

impl FirstPacket {
    /// Classifies and parses the first client packet. `CLIENT_SSL` means the client wants TLS:
    /// only the 32-byte SSLRequest form (or the 4-byte one old Connector/J versions send) may
    /// carry it; a login that claims `CLIENT_SSL` is malformed, never processed as plaintext.
    pub fn parse(payload: &[u8]) -> Result<Self, ProtocolError> {
        let mut r = Reader::new(payload);
        let capabilities = r.u32("capabilities")?;
        if capabilities & caps::SSL != 0 {
            return if payload.len() == 32 || payload.len() == 4 {
                Ok(Self::SslRequest { capabilities })
            } else {
                Err(ProtocolError::new(format!(
                    "a {}-byte login packet with CLIENT_SSL set (an SSLRequest is 32 bytes)",
                    payload.len()
                )))
            };
        }
        HandshakeResponse::parse(payload).map(Self::Login)
    }
}

/// `Protocol::HandshakeResponse41`.
///
/// <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase_packets_protocol_handshake_response.html>
#[derive(Clone, PartialEq, Eq)]
pub struct HandshakeResponse {
    /// Client capabilities.
    pub capabilities: u32,
    /// Largest packet the client accepts.
    pub max_packet: u32,
    /// Client collation number.
    pub collation: u8,
    /// User name.
    pub user: String,
    /// Authentication response (scramble-derived, never a clear password here).
    pub auth_response: Vec<u8>,
    /// Initial database, if the client named one.
    pub database: Option<String>,
    /// The plugin the response was computed with; `mysql_native_password` if not sent.
    pub auth_plugin: String,
    /// Connection attributes (`program_name`, `_client_name`, …).
    pub attributes: Vec<(String, String)>,
}

impl std::fmt::Debug for HandshakeResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The auth response is derived from the password: keep it out of logs.
        f.debug_struct("HandshakeResponse")
            .field("capabilities", &format_args!("{:#010x}", self.capabilities))
            .field("user", &self.user)
            .field("database", &self.database)
            .field("auth_plugin", &self.auth_plugin)
            .field("auth_response_len", &self.auth_response.len())
            .finish()
    }
}

fn utf8(bytes: &[u8], what: &str) -> Result<String, ProtocolError> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| ProtocolError::new(format!("{what} is not valid UTF-8")))
}

impl HandshakeResponse {
    /// Parses a HandshakeResponse41 (the pre-4.1 format is refused).
    pub fn parse(payload: &[u8]) -> Result<Self, ProtocolError> {
        let mut r = Reader::new(payload);
        let capabilities = r.u32("capabilities")?;
        if capabilities & caps::PROTOCOL_41 == 0 {
            return Err(ProtocolError::new("client does not speak protocol 4.1"));
        }
        let max_packet = r.u32("max packet size")?;
        let collation = r.u8("collation")?;
        r.take(23, "filler")?;
        let user = r.nul_bytes("user name")?;
        // MySQL strips quotes some clients put around the name.
        let user = match user {
            [b'\'', inner @ .., b'\''] => inner,
            other => other,
        };
        let user = utf8(user, "user name")?;
        let auth_response = if capabilities & caps::PLUGIN_AUTH_LENENC_CLIENT_DATA != 0 {
            r.lenenc_bytes("auth response")?
        } else if capabilities & caps::SECURE_CONNECTION != 0 {
            let len = r.u8("auth response length")?;
            r.take(usize::from(len), "auth response")?
        } else {
            r.nul_bytes("auth response")?
        }
        .to_vec();
        let mut database = None;
        if capabilities & caps::CONNECT_WITH_DB != 0 && !r.is_empty() {
            let db = utf8(r.nul_bytes("database")?, "database name")?;
            if !db.is_empty() {
                database = Some(db);
            }
        }
        let mut auth_plugin = String::from("mysql_native_password");
        if capabilities & caps::PLUGIN_AUTH != 0 && !r.is_empty() {
            let name = utf8(r.nul_bytes("auth plugin")?, "auth plugin name")?;
            if !name.is_empty() {
                auth_plugin = name;
            }
        }
        let attributes = attributes(&mut r, capabilities)?;
        Ok(Self {
            capabilities,
            max_packet,
            collation,
            user,
            auth_response,
            database,
            auth_plugin,
            attributes,
        })
    }
}

impl HandshakeResponse {
    /// Parses the body of a COM_CHANGE_USER (after its command byte), sent by a client that
    /// logged in with `capabilities`: the same fields as a login, in another layout.
    ///
    /// <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_change_user.html>
    pub fn parse_change_user(body: &[u8], capabilities: u32) -> Result<Self, ProtocolError> {
        let mut r = Reader::new(body);
        let user = r.nul_bytes("user name")?;
        let user = match user {
            [b'\'', inner @ .., b'\''] => inner,
            other => other,
        };
        let user = utf8(user, "user name")?;
        // The length is one byte here even with CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA.
        let auth_response = if capabilities & caps::SECURE_CONNECTION != 0 {
            let len = r.u8("auth response length")?;
            r.take(usize::from(len), "auth response")?
        } else {
            r.nul_bytes("auth response")?
        }
        .to_vec();
        let database = utf8(r.nul_bytes("database")?, "database name")?;
        let mut collation = 0;
        if !r.is_empty() {
            // A two-byte character set number; login collations fit in one.
            collation = u8::try_from(r.u16("character set")?).unwrap_or(0);
        }
        let mut auth_plugin = String::from("mysql_native_password");
        if capabilities & caps::PLUGIN_AUTH != 0 && !r.is_empty() {
            let name = utf8(r.nul_bytes("auth plugin")?, "auth plugin name")?;
            if !name.is_empty() {
                auth_plugin = name;
            }
        }
        let attributes = attributes(&mut r, capabilities)?;
        Ok(Self {
            capabilities,
            max_packet: 0,
            collation,
            user,
            auth_response,
            database: (!database.is_empty()).then_some(database),
            auth_plugin,
            attributes,
        })
    }
}

/// The connection attributes that end a login or a COM_CHANGE_USER, when the client sends
/// them.
fn attributes(
    r: &mut Reader<'_>,
    capabilities: u32,
) -> Result<Vec<(String, String)>, ProtocolError> {
    let mut attributes = Vec::new();
    if capabilities & caps::CONNECT_ATTRS != 0 && !r.is_empty() {
        let block = r.lenenc_bytes("connection attributes")?;
        if block.len() > 65535 {
            return Err(ProtocolError::new("connection attributes exceed 64 KiB"));
        }
        let mut a = Reader::new(block);
        while !a.is_empty() {
            let k = utf8(a.lenenc_bytes("attribute name")?, "attribute name")?;
            let v = utf8(a.lenenc_bytes("attribute value")?, "attribute value")?;
            attributes.push((k, v));
        }
    }
    Ok(attributes)
}

/// `Protocol::AuthSwitchRequest`: asks the client to answer for another plugin. The nonce is
/// sent as 20 bytes plus NUL, which libmysqlclient's plugins require.
pub fn auth_switch_request(plugin: &str, scramble: &[u8; SCRAMBLE_LEN]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + plugin.len() + SCRAMBLE_LEN + 1);
    out.push(0xFE);
    put_nul_bytes(&mut out, plugin.as_bytes());
    put_nul_bytes(&mut out, scramble);
    out
}

/// `Protocol::AuthMoreData`: plugin-specific data (`01 03` fast-auth success, `01 04` full auth
/// needed, `01 <PEM>` the RSA public key).
pub fn auth_more_data(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + data.len());
    out.push(0x01);
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::wire::{put_lenenc_bytes, put_lenenc_int};

    fn response_bytes(
        caps: u32,
        user: &[u8],
        auth: &[u8],
        db: Option<&[u8]>,
        plugin: &[u8],
        attrs: &[(&str, &str)],
    ) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&caps.to_le_bytes());
        out.extend_from_slice(&16_777_216u32.to_le_bytes());
        out.push(45);
        out.extend_from_slice(&[0; 23]);
        put_nul_bytes(&mut out, user);
        put_lenenc_bytes(&mut out, auth);
        if let Some(db) = db {
            put_nul_bytes(&mut out, db);
        }
        put_nul_bytes(&mut out, plugin);
        let mut block = Vec::new();
        for (k, v) in attrs {
            put_lenenc_bytes(&mut block, k.as_bytes());
            put_lenenc_bytes(&mut block, v.as_bytes());
        }
        put_lenenc_int(&mut out, block.len() as u64);
        out.extend_from_slice(&block);
        out
    }

    #[test]
    fn greeting_layout_matches_mysql() {
        let greeting = Greeting {
            server_version: "8.0.40-tlsql".into(),
            connection_id: 7,
            scramble: b"abcdefghijklmnopqrst".to_vec(),
            capabilities: caps::SERVER | caps::SSL,
            collation: 45,
            status: status::AUTOCOMMIT,
            mariadb_capabilities: 0,
            auth_plugin: "caching_sha2_password".into(),
        };
        let g = greeting.encode();
        let mut r = Reader::new(&g);
        assert_eq!(r.u8("v").unwrap(), 10);
        assert_eq!(r.nul_bytes("ver").unwrap(), b"8.0.40-tlsql");
        assert_eq!(r.u32("id").unwrap(), 7);
        assert_eq!(r.take(8, "s1").unwrap(), b"abcdefgh");
        assert_eq!(r.u8("filler").unwrap(), 0);
        let low = r.u16("caps").unwrap();
        assert_eq!(r.u8("coll").unwrap(), 45);
        assert_eq!(r.u16("status").unwrap(), 2);
        let high = r.u16("caps2").unwrap();
        assert_eq!(
            u32::from(low) | u32::from(high) << 16,
            caps::SERVER | caps::SSL
        );
        assert_eq!(r.u8("len").unwrap(), 21);
        assert_eq!(r.take(10, "reserved").unwrap(), &[0; 10]);
        assert_eq!(r.take(13, "s2").unwrap(), b"ijklmnopqrst\0");
        assert_eq!(r.nul_bytes("plugin").unwrap(), b"caching_sha2_password");
        assert!(r.is_empty());
        assert_eq!(Greeting::parse(&g).unwrap(), greeting);
    }

    #[test]
    fn ssl_request_is_recognised_only_in_its_short_form() {
        let mut ssl = Vec::new();
        ssl.extend_from_slice(&(caps::PROTOCOL_41 | caps::SSL).to_le_bytes());
        ssl.extend_from_slice(&[0; 28]);
        assert!(matches!(
            FirstPacket::parse(&ssl).unwrap(),
            FirstPacket::SslRequest { .. }
        ));
        // A full login claiming CLIENT_SSL is never treated as a plaintext login.
        let login = response_bytes(caps::SERVER | caps::SSL, b"root", b"", None, b"x", &[]);
        assert!(FirstPacket::parse(&login).is_err());
    }

    #[test]
    fn login_fields_are_parsed() {
        let login = response_bytes(
            caps::SERVER,
            b"'alice'",
            &[1, 2, 3],
            Some(b"shop"),
            b"caching_sha2_password",
            &[("_client_name", "libmariadb"), ("program_name", "mariadb")],
        );
        let FirstPacket::Login(resp) = FirstPacket::parse(&login).unwrap() else {
            panic!("not a login")
        };
        assert_eq!(resp.user, "alice");
        assert_eq!(resp.auth_response, vec![1, 2, 3]);
        assert_eq!(resp.database.as_deref(), Some("shop"));
        assert_eq!(resp.auth_plugin, "caching_sha2_password");
        assert_eq!(
            resp.attributes[1],
            ("program_name".into(), "mariadb".into())
        );
        assert!(!format!("{resp:?}").contains("[1, 2, 3]"));
    }

    #[test]
    fn every_truncation_of_a_login_is_an_error_not_a_panic() {
        let login = response_bytes(
            caps::SERVER,
            b"bob",
            &[9; 20],
            Some(b"db"),
            b"mysql_native_password",
            &[("a", "b")],
        );
        for cut in 0..login.len() {
            let _ = FirstPacket::parse(&login[..cut]);
        }
        assert!(FirstPacket::parse(&login[..10]).is_err());
    }

    #[test]
    fn change_user_bodies() {
        // As node mysql2 sends it: one-byte auth length, database, character set, plugin,
        // attributes.
        let caps = caps::SERVER | caps::CONNECT_ATTRS;
        let mut body = Vec::new();
        put_nul_bytes(&mut body, b"'bob'");
        body.push(20);
        body.extend_from_slice(&[7; 20]);
        put_nul_bytes(&mut body, b"shop");
        body.extend_from_slice(&224u16.to_le_bytes());
        put_nul_bytes(&mut body, b"mysql_native_password");
        let mut attrs = Vec::new();
        put_lenenc_bytes(&mut attrs, b"_client_name");
        put_lenenc_bytes(&mut attrs, b"node");
        put_lenenc_bytes(&mut body, &attrs);
        let r = HandshakeResponse::parse_change_user(&body, caps).unwrap();
        assert_eq!(r.user, "bob");
        assert_eq!(r.auth_response, [7; 20]);
        assert_eq!(r.database.as_deref(), Some("shop"));
        assert_eq!(r.collation, 224);
        assert_eq!(r.auth_plugin, "mysql_native_password");
        assert_eq!(r.attributes, [("_client_name".into(), "node".into())]);
        // The oldest form: user, NUL-ended auth, empty database, nothing more.
        let r = HandshakeResponse::parse_change_user(
            b"u\0\0\0",
            caps::SERVER & !caps::SECURE_CONNECTION,
        )
        .unwrap();
        assert_eq!((r.user.as_str(), r.database, r.collation), ("u", None, 0));
        assert!(r.auth_response.is_empty());
        for truncated in [&body[..3], &body[..10], &body[..28]] {
            assert!(HandshakeResponse::parse_change_user(truncated, caps).is_err());
        }
    }

    #[test]
    fn pre_41_clients_are_refused() {
        let mut old = response_bytes(caps::SERVER & !caps::PROTOCOL_41, b"x", b"", None, b"", &[]);
        old[0] &= !(caps::PROTOCOL_41 as u8);
        assert!(HandshakeResponse::parse(&old).is_err());
    }
}
