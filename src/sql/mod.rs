//! Statements the server executes itself rather than passing them to storage.

pub mod account_stmt;
