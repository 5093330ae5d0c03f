//! tlsql: a MySQL-compatible database server whose specialty is the connection between
//! client and server.
//!
//! # Layout
//!
//! * [`error`]: the errors clients see (MySQL number, SQLSTATE, message).
//! * [`protocol`]: the MySQL wire protocol: packets, handshake, result sets, values.
#![warn(missing_docs)]

pub mod error;
pub mod protocol;
