//! The account statements as parsed, and the errors that name accounts.

use std::fmt;

use crate::auth::account::AccountKey;
use crate::auth::privileges::{PrivilegeLevel, PrivilegeSet};
use crate::auth::require::TlsRequirement;
use crate::auth::{Password, Plugin};
use crate::error::{ErrorKind, SqlError};
use crate::protocol::value::{Column, Value};

/// An account named in a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserRef {
    /// `'u'@'h'` (host lower-cased, as MySQL stores it; `%` when omitted).
    Named(AccountKey),
    /// `CURRENT_USER`, `CURRENT_USER()`, `USER()`: the acting account.
    CurrentUser,
}

impl UserRef {
    pub(super) fn resolve(&self, actor: &AccountKey) -> AccountKey {
        match self {
            UserRef::Named(key) => key.clone(),
            UserRef::CurrentUser => actor.clone(),
        }
    }
}

/// A stored credential given with `AS`. `Debug` is redacted like a password.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// `BY 'pw'`: hashed with the plugin when executed.
    Password(Password),
    /// `AS 'stored'`: the plugin's stored form, checked when executed (1827 if malformed).
    Stored(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Password(p) => write!(f, "Password({p:?})"),
            Credential::Stored(_) => f.write_str("Stored(<redacted>)"),
        }
    }
}

/// `IDENTIFIED …`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthOption {
    /// `IDENTIFIED BY 'pw'`: new password, plugin unchanged (the default plugin for a new
    /// account).
    Password(Password),
    /// `IDENTIFIED WITH plugin [BY 'pw' | AS 'stored']`; no credential means an empty password.
    Plugin {
        /// The plugin.
        plugin: Plugin,
        /// The credential, if any.
        credential: Option<Credential>,
    },
}

/// One account of a `CREATE USER` / `ALTER USER` list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSpec {
    /// The account.
    pub user: UserRef,
    /// Its `IDENTIFIED` clause, if given.
    pub auth: Option<AuthOption>,
}

/// Account properties set by `CREATE USER` / `ALTER USER`; `None` means "not given".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountOptions {
    /// `REQUIRE …`.
    pub require: Option<TlsRequirement>,
    /// `ACCOUNT LOCK` (true) / `ACCOUNT UNLOCK` (false).
    pub locked: Option<bool>,
}

/// The privileges of a `GRANT`/`REVOKE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrivilegeList {
    /// `ALL [PRIVILEGES]`: every privilege of the level, without `GRANT OPTION`.
    All,
    /// Named privileges (empty for `USAGE`).
    Set(PrivilegeSet),
}

impl PrivilegeList {
    pub(super) fn resolve(self, level: &PrivilegeLevel) -> PrivilegeSet {
        match self {
            PrivilegeList::All => PrivilegeSet::all(level),
            PrivilegeList::Set(set) => set,
        }
    }
}

/// A parsed account statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountStatement {
    /// `CREATE USER`.
    CreateUser {
        /// `IF NOT EXISTS`.
        if_not_exists: bool,
        /// The accounts.
        users: Vec<UserSpec>,
        /// `REQUIRE`, `ACCOUNT`.
        options: AccountOptions,
    },
    /// `ALTER USER`.
    AlterUser {
        /// `IF EXISTS`.
        if_exists: bool,
        /// The accounts.
        users: Vec<UserSpec>,
        /// `REQUIRE`, `ACCOUNT`.
        options: AccountOptions,
    },
    /// `DROP USER`.
    DropUser {
        /// `IF EXISTS`.
        if_exists: bool,
        /// The accounts.
        users: Vec<UserRef>,
    },
    /// `RENAME USER from TO to, …`.
    RenameUser {
        /// The renames, applied in order.
        renames: Vec<(UserRef, UserRef)>,
    },
    /// `SET PASSWORD [FOR user] = 'pw'`.
    SetPassword {
        /// The account (`None`: the acting account).
        user: Option<UserRef>,
        /// The new password.
        password: Password,
    },
    /// `GRANT privs ON level TO users [REQUIRE …] [WITH GRANT OPTION]`.
    Grant {
        /// The privileges.
        privileges: PrivilegeList,
        /// `*.*` or `db.*`.
        level: PrivilegeLevel,
        /// The grantees (they must exist).
        users: Vec<UserRef>,
        /// `REQUIRE …`, if given.
        require: Option<TlsRequirement>,
        /// `WITH GRANT OPTION`.
        with_grant_option: bool,
    },
    /// `REVOKE privs ON level FROM users`.
    Revoke {
        /// The privileges.
        privileges: PrivilegeList,
        /// `*.*` or `db.*`.
        level: PrivilegeLevel,
        /// The accounts.
        users: Vec<UserRef>,
    },
    /// `REVOKE ALL [PRIVILEGES], GRANT OPTION FROM users`: every privilege at every level.
    RevokeAll {
        /// The accounts.
        users: Vec<UserRef>,
    },
    /// `SHOW GRANTS [FOR user]`.
    ShowGrants {
        /// The account (`None`: the acting account).
        user: Option<UserRef>,
    },
    /// `SHOW CREATE USER user`.
    ShowCreateUser {
        /// The account.
        user: UserRef,
    },
    /// `FLUSH PRIVILEGES`.
    FlushPrivileges,
}

/// What a statement returns to the client.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// An OK packet.
    Ok {
        /// Affected rows (0 for account statements, as MySQL).
        affected_rows: u64,
        /// Notes for the warning count and `SHOW WARNINGS`.
        notes: Vec<SqlError>,
    },
    /// A text result set (`SHOW GRANTS`, `SHOW CREATE USER`).
    ResultSet {
        /// Columns.
        columns: Vec<Column>,
        /// Rows.
        rows: Vec<Vec<Value>>,
    },
}

impl Outcome {
    pub(super) fn ok(notes: Vec<SqlError>) -> Self {
        Outcome::Ok {
            affected_rows: 0,
            notes,
        }
    }
}

/// 1396 `Operation X failed for 'a'@'h','b'@'h'`.
pub(super) fn cannot_user(operation: &str, failed: &[AccountKey]) -> SqlError {
    let list: Vec<String> = failed.iter().map(AccountKey::to_string).collect();
    SqlError::new(
        ErrorKind::CannotUser,
        format!("Operation {operation} failed for {}", list.join(",")),
    )
}

pub(super) fn no_such_grant(key: &AccountKey) -> SqlError {
    SqlError::new(
        ErrorKind::NoSuchGrant,
        format!(
            "There is no such grant defined for user '{}' on host '{}'",
            key.user, key.host
        ),
    )
}
