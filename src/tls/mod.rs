//! TLS: the context holder, backend choice and reload (the lead's module), and auto-generated
//! certificates.

pub mod auto;
