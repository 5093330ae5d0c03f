//! The authentication plugins an account can use, and the cleartext passwords statements carry.

use std::fmt;

use super::{caching_sha2, native};

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
}
