//! The local executor: the statements of a logged-in session, parsed once and run by the
//! server itself (variables, status, accounts, `ALTER INSTANCE`) or by storage.
//!
//! * `local`: `LocalSession`, the session's SQL side, which the session hands each command to
//!   (the server opens it with `local::open`); the COM_* commands.
//! * `prepared`: prepared statements.
//! * [`stmt`]: [`stmt::Statement`], one file per statement family, each with its grammar and
//!   its execution.
//! * `exchange`: one command's work, and how a statement's response is written.
//! * `context`: what statements read of the session, and storage's view of it.
//! * `variables`, `status_vars`: system variables and status counters computed from live
//!   server state.
//!
//! Within the module, each file uses only those listed after it.

mod context;
mod exchange;
pub(crate) mod local;
mod prepared;
mod status_vars;
pub mod stmt;
mod variables;
