//! The one integration test binary: the server in-process on 127.0.0.1:0, real clients.
//!
//! * `core`: protocol, SQL, accounts, limits, persistence (the `mysql` crate and a raw client).
//! * `tls`: one suite, instantiated for every TLS backend compiled into this build.

mod util;

mod core;
mod tls;
