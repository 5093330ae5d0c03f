//! The MySQL client/server protocol.
pub mod value;
