//! The MySQL client/server protocol, server side.
//!
//! # Note to developers
//!
//! The reference is MySQL's "Client/Server Protocol" documentation
//! (<https://dev.mysql.com/doc/dev/mysql-server/latest/PAGE_PROTOCOL.html>); each parser cites
//! the page it follows. What real clients send, and where they deviate, is collected in
//! `../shared/reference/mysql-protocol-and-clients.md`. Everything here works on bytes that came
//! from the network: parsers return [`ProtocolError`] and never panic.
//!
//! * [`packet`]: framing (length + sequence id), splitting and joining at 16 MiB.
//! * [`wire`]: integer and string encodings (length-encoded integers and strings).
//! * [`handshake`]: HandshakeV10, SSLRequest, HandshakeResponse41, auth-switch and auth-more-data.
//! * [`client`]: the connection phase from the client's side (the gateway is its backends' client).
//! * [`exchange`]: where a server's response ends, read as a client reads it (the gateway's relay).
//! * [`response`]: OK, ERR, EOF and result sets in the text and binary protocols.
//! * [`writers`]: responses built by value and finished by consuming them: OK, ERR, result
//!   sets, PREPARE_OK.
//! * [`command`]: the command phase: command bytes and COM_STMT_EXECUTE parameters.
//! * [`value`]: values and column definitions.

pub mod client;
pub mod command;
pub mod exchange;
pub mod handshake;
pub mod packet;
pub mod response;
pub mod value;
pub mod wire;
pub mod writers;

/// A client packet that does not follow the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed packet: {0}")]
pub struct ProtocolError(pub String);

impl ProtocolError {
    pub(crate) fn new(what: impl Into<String>) -> Self {
        Self(what.into())
    }
}
