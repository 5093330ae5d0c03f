//! tlsql: a MySQL-compatible database server whose specialty is the connection between
//! client and server.
//!
//! # Layout
//!
//! * [`config`]: layered configuration (defaults, TOML, `TLSQL_…` environment, flags), validated.
//! * [`error`]: the errors clients see (MySQL number, SQLSTATE, message).
//! * [`protocol`]: the MySQL wire protocol: packets, handshake, result sets, values.
//! * [`tls`]: TLS contexts and auto-generated certificates.
#![warn(missing_docs)]

pub mod config;
pub mod error;
pub mod protocol;
pub mod tls;
