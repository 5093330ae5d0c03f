//! One account: its name (`'user'@'host'`) and what is stored about it. The store that keeps
//! them is [`super::accounts`].

use std::fmt;

use super::plugin::Plugin;
use super::privileges::{Grants, quote_identifier};
use super::require::TlsRequirement;

/// An account name: user and host pattern, as in `'user'@'host'`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountKey {
    /// User name (`""` is the anonymous user).
    pub user: String,
    /// Host pattern (`%`, `localhost`, `10.0.%`, …).
    pub host: String,
}

impl AccountKey {
    /// An account name.
    pub fn new(user: impl Into<String>, host: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            host: host.into(),
        }
    }

    /// `` `user`@`host` ``: how MySQL 8 writes the account in `SHOW GRANTS` and
    /// `SHOW CREATE USER` output.
    pub fn quoted(&self) -> String {
        format!(
            "{}@{}",
            quote_identifier(&self.user),
            quote_identifier(&self.host)
        )
    }
}

impl fmt::Display for AccountKey {
    /// `'user'@'host'`, as MySQL writes accounts in error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}'@'{}'", self.user, self.host)
    }
}

/// One account.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    /// User name (`""` is the anonymous user).
    pub user: String,
    /// Host pattern.
    pub host: String,
    /// Authentication plugin.
    pub plugin: Plugin,
    /// The plugin's stored form of the password (`""`: no password). Never the cleartext.
    pub auth_string: String,
    /// Transport requirement checked at login.
    pub require: TlsRequirement,
    /// `ACCOUNT LOCK`: logins fail with 3118.
    pub locked: bool,
    /// Privileges.
    pub grants: Grants,
}

impl Account {
    /// An unlocked account with no requirement and no privileges.
    pub fn new(key: AccountKey, plugin: Plugin, auth_string: String) -> Self {
        Self {
            user: key.user,
            host: key.host,
            plugin,
            auth_string,
            require: TlsRequirement::None,
            locked: false,
            grants: Grants::default(),
        }
    }

    /// The account's name.
    pub fn key(&self) -> AccountKey {
        AccountKey::new(self.user.clone(), self.host.clone())
    }

    /// Whether the account has no password.
    pub fn has_empty_password(&self) -> bool {
        self.auth_string.is_empty()
    }
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The stored hash is kept out of logs: it is what an offline attack starts from.
        f.debug_struct("Account")
            .field("user", &self.user)
            .field("host", &self.host)
            .field("plugin", &self.plugin)
            .field(
                "auth_string",
                &if self.auth_string.is_empty() {
                    "<empty>"
                } else {
                    "<redacted>"
                },
            )
            .field("require", &self.require)
            .field("locked", &self.locked)
            .field("grants", &self.grants)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_debug() {
        let key = AccountKey::new("u`x", "%");
        assert_eq!(key.to_string(), "'u`x'@'%'");
        assert_eq!(key.quoted(), "`u``x`@`%`");
        let acct = Account::new(
            AccountKey::new("u", "%"),
            Plugin::MysqlNativePassword,
            Plugin::MysqlNativePassword.hash_password(b"pw"),
        );
        let debug = format!("{acct:?}");
        assert!(debug.contains("<redacted>"), "{debug}");
        assert!(!debug.contains(&acct.auth_string), "{debug}");
    }
}
