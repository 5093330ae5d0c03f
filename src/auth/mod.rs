//! Accounts and everything a login or an account statement needs: the two password plugins,
//! the RSA key of the `caching_sha2_password` exchange, `REQUIRE` transport policies,
//! privileges, and the durable account store.
//!
//! # Modules
//!
//! Each file uses only those listed before it.
//!
//! * [`scramble`]: the per-connection nonce, and the byte helpers the plugins build their
//!   answers with.
//! * [`native`]: `mysql_native_password` (stored `*` + hex SHA1(SHA1(pw)), 20-byte scramble).
//! * [`caching_sha2`]: `caching_sha2_password` (salted SHA-256-crypt at rest, the fast-path
//!   scramble of SHA256(SHA256(pw)), the full path with the cleartext password).
//! * [`rsa_key`]: the key pair for the public-key exchange of `caching_sha2_password` on plain
//!   TCP.
//! * [`require`]: `REQUIRE NONE | SSL | X509 | CIPHER … ISSUER … SUBJECT … SAN …`: model,
//!   validation, printing, and the check at login.
//! * [`plugin`]: [`Plugin`], the two plugins by name, and [`Password`], a cleartext password
//!   that never reaches a log.
//! * [`privileges`]: privilege names, sets, per-level grants and the `SHOW GRANTS` text.
//! * [`account`]: one account ([`account::Account`]) and its name ([`account::AccountKey`]).
//! * [`fast_auth`]: the per-account cache of SHA256(SHA256(pw)) that lets a
//!   `caching_sha2_password` login take the fast path.
//! * [`accounts`]: [`accounts::AccountStore`], the SQLite-backed, in-memory-cached store of
//!   accounts and persisted global variables, shared by every session.
//!
//! # Login recipe (what the session code does with these pieces)
//!
//! ```text
//! let account = store.find(user, client_host)            // client_host: "10.1.2.3", "::1", "localhost" (unix socket)
//!     ?; None => 1045 Access denied
//! if client's plugin != account.plugin => AuthSwitchRequest(account.plugin.name(), nonce + NUL)
//! match account.plugin {
//!   MysqlNativePassword  => native::verify(&account.auth_string, &nonce, &response) else 1045
//!   CachingSha2Password  => match store.sha2_cache().fast_auth(&account, &nonce, &response) {
//!       EmptyPassword    => OK
//!       CacheHit         => send AuthMoreData 01 03, then OK
//!       Denied           => 1045
//!       FullAuthRequired => send 01 04, read packet p:
//!           secure (TLS or unix socket) => password = caching_sha2::cleartext(&p)
//!           p == [0x02]                 => send 01 + rsa.public_pem(); password = rsa.decrypt_password(&next, &nonce)?
//!           p.len() == rsa.size()       => password = rsa.decrypt_password(&p, &nonce)?
//!           otherwise                   => 1045
//!           store.sha2_cache().full_auth(&account, &password) else 1045
//!   }
//! }
//! account.locked                                   => 3118 Access denied … Account is locked.
//! account.require.check(tls_info, peer_cert)       => Err(reason): log reason at info, 1045
//! require_secure_transport && !secure              => 3159
//! ```

pub mod account;
pub mod accounts;
pub mod caching_sha2;
pub mod fast_auth;
pub mod native;
pub mod plugin;
pub mod privileges;
pub mod require;
pub mod rsa_key;
pub mod scramble;

pub use plugin::{Password, Plugin};
pub use scramble::{NONCE_LEN, Nonce};

/// What a client answers to `nonce` for `plugin` (tlsql's own logins: the gateway's health
/// checks, the load tool): caching_sha2_password's scramble, else mysql_native_password's.
pub fn client_answer(plugin: &str, password: &[u8], nonce: &Nonce) -> Vec<u8> {
    match plugin {
        "caching_sha2_password" => caching_sha2::scramble(password, nonce),
        _ => native::scramble(password, nonce),
    }
}
