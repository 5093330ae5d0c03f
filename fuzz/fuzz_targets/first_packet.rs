//! The client's first packet: SSLRequest or HandshakeResponse41, before any authentication.
//! Oracle: a packet with CLIENT_SSL is never accepted as a login (that would be a plaintext
//! login from a client that asked for TLS).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlsql::protocol::handshake::{FirstPacket, HandshakeResponse, caps};

fuzz_target!(|payload: &[u8]| {
    if let Ok(FirstPacket::Login(login)) = FirstPacket::parse(payload) {
        assert_eq!(
            login.capabilities & caps::SSL,
            0,
            "a login claiming CLIENT_SSL"
        );
    }
    let _ = HandshakeResponse::parse(payload);
});
