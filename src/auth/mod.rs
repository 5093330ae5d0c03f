//! Accounts and everything a login or an account statement needs: the two password plugins,
//! the RSA key of the `caching_sha2_password` exchange, `REQUIRE` transport policies,
//! privileges, and the durable account store.
//!
//! # Modules
//!
//! * [`native`]: `mysql_native_password` (stored `*` + hex SHA1(SHA1(pw)), 20-byte scramble).
//! * [`caching_sha2`]: `caching_sha2_password` (salted SHA-256-crypt at rest, fast path through
//!   a per-account cache of SHA256(SHA256(pw)), full path with the cleartext password).
//! * [`rsa_key`]: the key pair for the public-key exchange of `caching_sha2_password` on plain
//!   TCP.
//! * [`require`]: `REQUIRE NONE | SSL | X509 | CIPHER … ISSUER … SUBJECT … SAN …`: model,
//!   validation, printing, and the check at login.
//! * [`privileges`]: privilege names, sets, per-level grants and the `SHOW GRANTS` text.
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

pub mod accounts;
pub mod caching_sha2;
pub mod native;
pub mod privileges;
pub mod require;
pub mod rsa_key;

use std::fmt;

/// Length of the scramble (nonce) the server sends in the greeting and in AuthSwitchRequest.
pub const NONCE_LEN: usize = 20;

/// The per-connection random scramble both plugins mix into the client's response.
pub type Nonce = [u8; NONCE_LEN];

/// An authentication plugin an account can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Plugin {
    /// `mysql_native_password`: SHA-1 challenge/response.
    MysqlNativePassword,
    /// `caching_sha2_password`: SHA-256 challenge/response with a full-authentication fallback.
    CachingSha2Password,
}

impl Plugin {
    /// The plugin for accounts created without `IDENTIFIED WITH` (MySQL 8's default).
    pub const DEFAULT: Plugin = Plugin::CachingSha2Password;

    /// The name on the wire and in SQL.
    pub fn name(self) -> &'static str {
        match self {
            Plugin::MysqlNativePassword => "mysql_native_password",
            Plugin::CachingSha2Password => "caching_sha2_password",
        }
    }

    /// Finds a plugin by name, ignoring ASCII case as MySQL does.
    pub fn from_name(name: &str) -> Option<Plugin> {
        [Plugin::MysqlNativePassword, Plugin::CachingSha2Password]
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }

    /// The stored form of `password` for this plugin (an empty password is stored as `""`).
    /// `caching_sha2_password` draws a fresh salt, so two calls give different strings.
    pub fn hash_password(self, password: &[u8]) -> String {
        match self {
            Plugin::MysqlNativePassword => native::hash_password(password),
            Plugin::CachingSha2Password => caching_sha2::hash_password(password),
        }
    }

    /// Whether `stored` has this plugin's stored form (what `IDENTIFIED WITH p AS '…'` accepts).
    pub fn is_valid_stored(self, stored: &str) -> bool {
        match self {
            Plugin::MysqlNativePassword => native::is_valid_stored(stored),
            Plugin::CachingSha2Password => caching_sha2::is_valid_stored(stored),
        }
    }
}

impl fmt::Display for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A cleartext password from a statement. Its `Debug` output is redacted so that it can never
/// reach a log through a `{:?}` of the statement that carries it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a cleartext password.
    pub fn new(password: impl Into<String>) -> Self {
        Self(password.into())
    }

    /// The password bytes, for hashing.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Whether the password is empty (accounts without a password store `""`).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Upper-case hex, as MySQL prints password hashes.
fn hex_upper(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// XORs `data` with `key` repeated as often as needed (both scrambles and the RSA payload use
/// this construction).
fn xor_repeating(data: &mut [u8], key: &[u8]) {
    if key.is_empty() {
        return;
    }
    for (d, k) in data.iter_mut().zip(key.iter().cycle()) {
        *d ^= k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_names_round_trip_ignoring_case() {
        assert_eq!(
            Plugin::from_name("MYSQL_NATIVE_PASSWORD"),
            Some(Plugin::MysqlNativePassword)
        );
        assert_eq!(
            Plugin::from_name("caching_sha2_password"),
            Some(Plugin::CachingSha2Password)
        );
        assert_eq!(Plugin::from_name("sha256_password"), None);
        assert_eq!(Plugin::DEFAULT.name(), "caching_sha2_password");
    }

    #[test]
    fn password_debug_is_redacted() {
        let p = Password::new("hunter2");
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn xor_repeats_the_key() {
        let mut data = [0u8; 5];
        xor_repeating(&mut data, &[1, 2]);
        assert_eq!(data, [1, 2, 1, 2, 1]);
        assert_eq!(hex_upper(&[0x0a, 0xff]), "0AFF");
    }
}
