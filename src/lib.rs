//! tlsql: a MySQL-compatible database server whose specialty is the connection between
//! client and server.
//!
//! # Layout
//!
//! Each module uses only modules listed before it (lowest first):
//!
//! * [`error`], [`logging`], [`files`], [`config`], [`shutdown`]: the errors clients see, what
//!   may reach the log, private files, the validated configuration, the shutdown signal.
//! * [`protocol`]: the MySQL wire protocol: packets, handshake, values, and the response
//!   writers (taken by value, finished by consuming them).
//! * [`net`]: the client's transport: a socket with connection-phase deadlines, or TLS over it.
//! * [`tls`]: the TLS backend in use, the live context and its reloads, auto-generated
//!   certificates; [`status`]: server-wide counters; [`certs`]: `tlsql certs`, operator-owned
//!   certificate files made by the auto-tls code.
//! * [`auth`]: accounts, password plugins, `REQUIRE` policies, privileges.
//! * [`metrics`]: Prometheus series and the `/metrics` endpoint.
//! * [`charset`]: the character sets and collations tlsql knows; [`vars`]: system variable
//!   definitions and their global values; [`lex`]: SQL tokens, made once per query, statement
//!   splitting, `LIKE`.
//! * [`storage`]: the storage interface a statement needs, and the SQLite engine behind it.
//! * [`instance`]: what every session shares (configuration, TLS, storage, accounts, counters,
//!   connection slots, the registry of local sessions and their table locks).
//! * [`session`]: one connection: greeting, TLS upgrade, login, command loop, and the
//!   [`session::Executor`] seam that runs its commands.
//! * [`sql`]: the local executor: each statement parsed once into a [`sql::stmt::Statement`]
//!   (sqlparser's AST, and tlsql's grammar for what sqlparser does not read) and run by its
//!   family: the server itself (variables, status, accounts, ALTER INSTANCE) or storage. A
//!   SELECT text that sessions keep sending is parsed once for all of them
//!   ([`sql::stmt::cache`]), and rewritten for SQLite once per database when the rewrite
//!   depends on nothing of a session's own ([`storage::SharedQuery`]).
//! * [`upstream`]: gateway mode, the other service a session can log in to: the login and every
//!   command relayed to a backend server.
//! * [`server`]: listeners, the worker pool (whose idle workers accept TCP connections), the
//!   acceptor thread (unix socket, shutdown); it gives each session the local service or, with
//!   `[upstream]` servers, the gateway.
#![warn(missing_docs)]

pub mod auth;
pub mod certs;
pub mod charset;
pub mod config;
pub mod error;
pub mod files;
pub mod instance;
pub mod lex;
pub mod logging;
pub mod metrics;
pub mod net;
pub mod protocol;
pub mod server;
pub mod session;
pub mod shutdown;
pub mod sql;
pub mod status;
pub mod storage;
pub mod tls;
pub mod upstream;
pub mod vars;
