//! tlsql: a MySQL-compatible database server whose specialty is the connection between
//! client and server.
//!
//! # Layout
//!
//! * [`auth`]: accounts, password plugins, `REQUIRE` policies, privileges.
//! * [`error`]: the errors clients see (MySQL number, SQLSTATE, message).
//! * [`protocol`]: the MySQL wire protocol: packets, handshake, result sets, values.
//! * [`sql`]: statements the server executes itself (account statements, …).
#![warn(missing_docs)]

pub mod auth;
pub mod error;
pub mod protocol;
pub mod sql;
