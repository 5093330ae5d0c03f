//! tlsql: a MySQL-compatible database server whose specialty is the connection between
//! client and server.
//!
//! # Layout
//!
//! * [`files`]: private files and directories, created with their final mode whatever the umask.
//! * [`auth`]: accounts, password plugins, `REQUIRE` policies, privileges.
//! * [`config`]: layered configuration (defaults, TOML, `TLSQL_…` environment, flags), validated.
//! * [`error`]: the errors clients see (MySQL number, SQLSTATE, message).
//! * [`logging`]: what may reach the log: client-supplied fields escaped and capped, no secrets.
//! * [`protocol`]: the MySQL wire protocol: packets, handshake, result sets, values.
//! * [`server`]: listeners, the acceptor thread, the worker pool, shared state.
//! * [`session`]: one connection: greeting, TLS upgrade, login, command loop.
//! * [`sql`]: statements the server executes itself (variables, status, accounts, ALTER INSTANCE).
//! * [`status`]: server-wide counters.
//! * [`storage`]: the storage interface the session needs, and the SQLite engine behind it.
//! * [`tls`]: the TLS backend in use, the live context and its reloads, auto-generated certificates.
#![warn(missing_docs)]

pub mod auth;
pub mod config;
pub mod error;
pub mod files;
pub mod logging;
pub mod protocol;
pub mod server;
pub mod session;
pub mod sql;
pub mod status;
pub mod storage;
pub mod tls;
