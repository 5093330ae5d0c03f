//! The account store: every account (user, host pattern, plugin, stored password, `REQUIRE`,
//! lock, privileges) and the persisted global variables.
//!
//! Durable in `<data-dir>/system.db` (SQLite, WAL, `synchronous=FULL`: a statement that
//! returned OK survives a crash), served from memory: logins and privilege checks never touch
//! the disk. One [`AccountStore`] is shared by all sessions (`Send + Sync`).
//!
//! # Host matching
//!
//! A login from `client_host` (the peer IP as text for TCP — `127.0.0.1`, `::1`,
//! `10.1.2.3`; give IPv4-mapped IPv6 addresses in their IPv4 form — or `localhost` for a unix
//! socket) matches an account whose host pattern matches it, `%` standing for any run of
//! characters and `_` for one, `\` escaping either, ignoring ASCII case. No DNS lookups are made
//! (MySQL's `skip_name_resolve=ON`), so `'u'@'localhost'` matches only unix-socket logins; the
//! initial root accounts exist for `localhost`, `127.0.0.1` and `::1` for that reason. IP/netmask
//! host patterns are not supported.
//!
//! Candidates are tried in MySQL's order (`get_sort` in `sql_auth_cache.cc`): host patterns
//! without wildcards first, then patterns whose first wildcard comes later before those whose
//! wildcard comes earlier, `%` alone last; for the same host rank, named users before the
//! anonymous user `''` (which matches any user name). As in MySQL, `''@'localhost'` therefore
//! wins over `'u'@'%'` for a unix-socket login of `u`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use rusqlite::{Connection, OptionalExtension, params};

use super::account::{Account, AccountKey};
use super::fast_auth::FastAuthCache;
use super::plugin::Plugin;
use super::privileges::{Grants, PrivilegeSet};
use super::require::{RequireColumns, TlsRequirement};
use crate::error::SqlError;

/// Why the store could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountStoreError {
    /// The data directory could not be created.
    #[error("cannot create {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// SQLite failed.
    #[error("account database {}: {source}", path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// A stored row does not make sense (the file was edited or damaged).
    #[error("account database {}: account {account}: {reason}", path.display())]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// The account whose row is bad.
        account: AccountKey,
        /// What is wrong.
        reason: String,
    },
}

impl From<AccountStoreError> for SqlError {
    fn from(e: AccountStoreError) -> Self {
        SqlError::unknown(e.to_string())
    }
}

/// The accounts being changed by [`AccountStore::update`], by name.
pub type AccountMap = BTreeMap<AccountKey, Account>;

/// Schema version kept in SQLite's `user_version`.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE accounts (
    user         TEXT NOT NULL,
    host         TEXT NOT NULL,
    plugin       TEXT NOT NULL,
    auth_string  TEXT NOT NULL,
    ssl_type     TEXT NOT NULL,
    ssl_cipher   TEXT,
    x509_issuer  TEXT,
    x509_subject TEXT,
    san          TEXT,
    locked       INTEGER NOT NULL,
    privileges   TEXT NOT NULL,
    PRIMARY KEY (user, host)
);
CREATE TABLE db_grants (
    user       TEXT NOT NULL,
    host       TEXT NOT NULL,
    db         TEXT NOT NULL,
    privileges TEXT NOT NULL,
    PRIMARY KEY (user, host, db)
);
CREATE TABLE persisted_variables (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

/// Hosts of the initial passwordless root accounts.
const INITIAL_ROOT_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The shared account store. See the module documentation.
pub struct AccountStore {
    path: PathBuf,
    /// Serializes writers; readers never take it.
    db: Mutex<Connection>,
    /// Accounts in match order. Writers build a new vector and swap it in.
    accounts: RwLock<Arc<Vec<Account>>>,
    sha2_cache: FastAuthCache,
    created: bool,
}

impl fmt::Debug for AccountStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountStore")
            .field("path", &self.path)
            .field("accounts", &self.snapshot().len())
            .finish()
    }
}

impl AccountStore {
    /// File name of the system database inside the data directory.
    pub const FILE_NAME: &'static str = "system.db";

    /// Opens (creating if needed) `<data_dir>/system.db`. A new store gets the initial
    /// accounts: `root` without password for `localhost`, `127.0.0.1` and `::1`, with all
    /// privileges and `GRANT OPTION`; [`created_initial_accounts`](Self::created_initial_accounts)
    /// then says so, for the server to log a warning. Dropping all accounts later does not bring
    /// them back.
    pub fn open(data_dir: &Path) -> Result<Self, AccountStoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| AccountStoreError::CreateDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let path = data_dir.join(Self::FILE_NAME);
        let sqlite = |source| AccountStoreError::Sqlite {
            path: path.clone(),
            source,
        };
        // Password hashes: the file (and so its WAL) is 0600 before SQLite writes anything.
        crate::files::sqlite_file(&path, crate::files::PRIVATE_MODE).map_err(|source| {
            AccountStoreError::CreateDir {
                path: path.clone(),
                source,
            }
        })?;
        let mut conn = Connection::open(&path).map_err(sqlite)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sqlite)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
            .map_err(sqlite)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sqlite)?;
        let created = match version {
            0 => {
                let tx = conn.transaction().map_err(sqlite)?;
                tx.execute_batch(SCHEMA).map_err(sqlite)?;
                for host in INITIAL_ROOT_HOSTS {
                    let mut root = Account::new(
                        AccountKey::new("root", host),
                        Plugin::DEFAULT,
                        String::new(),
                    );
                    root.grants = Grants::superuser();
                    write_account(&tx, &root).map_err(sqlite)?;
                }
                tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                    .map_err(sqlite)?;
                tx.commit().map_err(sqlite)?;
                true
            }
            SCHEMA_VERSION => false,
            other => {
                return Err(AccountStoreError::Corrupt {
                    path,
                    account: AccountKey::new("", ""),
                    reason: format!(
                        "schema version {other} is newer than this server understands ({SCHEMA_VERSION})"
                    ),
                });
            }
        };
        let accounts = load_accounts(&conn, &path)?;
        Ok(Self {
            path,
            db: Mutex::new(conn),
            accounts: RwLock::new(Arc::new(accounts)),
            sha2_cache: FastAuthCache::new(),
            created,
        })
    }

    /// Whether [`open`](Self::open) created the store and its passwordless root accounts.
    pub fn created_initial_accounts(&self) -> bool {
        self.created
    }

    /// Moves the write-ahead log into `system.db` and empties it (at shutdown). It runs on the
    /// store's own connection, so it waits only for an account statement in progress.
    pub fn checkpoint(&self) -> Result<(), AccountStoreError> {
        let conn = self.db.lock().unwrap_or_else(|p| p.into_inner());
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(|source| AccountStoreError::Sqlite {
                path: self.path.clone(),
                source,
            })
    }

    /// Where the store lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `caching_sha2_password` fast-auth cache (kept consistent with account changes by
    /// this store).
    pub fn sha2_cache(&self) -> &FastAuthCache {
        &self.sha2_cache
    }

    fn snapshot(&self) -> Arc<Vec<Account>> {
        Arc::clone(&self.accounts.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The account a login of `user` from `client_host` authenticates against: the first match
    /// in MySQL's order (module documentation). The returned account's `user`/`host` are what
    /// `CURRENT_USER()` reports.
    pub fn find(&self, user: &str, client_host: &str) -> Option<Account> {
        self.snapshot()
            .iter()
            .find(|a| (a.user == user || a.user.is_empty()) && host_matches(&a.host, client_host))
            .cloned()
    }

    /// The account named exactly `key`.
    pub fn get(&self, key: &AccountKey) -> Option<Account> {
        self.snapshot()
            .iter()
            .find(|a| a.user == key.user && a.host == key.host)
            .cloned()
    }

    /// Every account, in match order.
    pub fn accounts(&self) -> Vec<Account> {
        self.snapshot().as_ref().clone()
    }

    /// Accounts without a password (for a startup warning).
    pub fn passwordless_accounts(&self) -> Vec<AccountKey> {
        self.snapshot()
            .iter()
            .filter(|a| a.has_empty_password())
            .map(Account::key)
            .collect()
    }

    /// Changes accounts atomically: `change` edits a copy of all accounts; if it returns Ok,
    /// the differences are written in one SQLite transaction and then published to every
    /// session. If `change` or the write fails, nothing changes. The fast-auth cache forgets
    /// every account that was dropped, renamed away, or whose plugin or password changed.
    /// Writers are serialized; logins keep reading the previous state until the swap.
    pub fn update<T>(
        &self,
        change: impl FnOnce(&mut AccountMap) -> Result<T, SqlError>,
    ) -> Result<T, SqlError> {
        let mut conn = self.db.lock().unwrap_or_else(|e| e.into_inner());
        let before = self.snapshot();
        let old: AccountMap = before.iter().map(|a| (a.key(), a.clone())).collect();
        let mut new = old.clone();
        let out = change(&mut new)?;

        let sqlite = |source| AccountStoreError::Sqlite {
            path: self.path.clone(),
            source,
        };
        let tx = conn.transaction().map_err(sqlite)?;
        for key in old.keys() {
            if !new.contains_key(key) {
                delete_account(&tx, key).map_err(sqlite)?;
            }
        }
        for (key, account) in &new {
            if old.get(key) != Some(account) {
                delete_account(&tx, key).map_err(sqlite)?;
                write_account(&tx, account).map_err(sqlite)?;
            }
        }
        tx.commit().map_err(sqlite)?;

        let mut ordered: Vec<Account> = new.values().cloned().collect();
        sort_for_matching(&mut ordered);
        *self.accounts.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(ordered);
        for (key, account) in &old {
            let credentials_kept = new.get(key).is_some_and(|n| {
                n.plugin == account.plugin && n.auth_string == account.auth_string
            });
            if !credentials_kept {
                self.sha2_cache.invalidate(key);
            }
        }
        Ok(out)
    }

    /// `FLUSH PRIVILEGES`: re-reads every account from disk and empties the fast-auth cache.
    pub fn reload(&self) -> Result<(), AccountStoreError> {
        let conn = self.db.lock().unwrap_or_else(|e| e.into_inner());
        let accounts = load_accounts(&conn, &self.path)?;
        *self.accounts.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(accounts);
        self.sha2_cache.clear();
        Ok(())
    }

    /// A persisted global variable (`SET PERSIST`-like; e.g. `require_secure_transport`).
    pub fn get_persisted(&self, name: &str) -> Result<Option<String>, AccountStoreError> {
        let conn = self.db.lock().unwrap_or_else(|e| e.into_inner());
        conn.query_row(
            "SELECT value FROM persisted_variables WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .optional()
        .map_err(|source| AccountStoreError::Sqlite {
            path: self.path.clone(),
            source,
        })
    }

    /// Persists a global variable (durable when this returns).
    pub fn set_persisted(&self, name: &str, value: &str) -> Result<(), AccountStoreError> {
        let conn = self.db.lock().unwrap_or_else(|e| e.into_inner());
        conn.execute(
            "INSERT INTO persisted_variables (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            [name, value],
        )
        .map(|_| ())
        .map_err(|source| AccountStoreError::Sqlite {
            path: self.path.clone(),
            source,
        })
    }
}

fn delete_account(conn: &Connection, key: &AccountKey) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM accounts WHERE user = ?1 AND host = ?2",
        [&key.user, &key.host],
    )?;
    conn.execute(
        "DELETE FROM db_grants WHERE user = ?1 AND host = ?2",
        [&key.user, &key.host],
    )?;
    Ok(())
}

fn write_account(conn: &Connection, a: &Account) -> rusqlite::Result<()> {
    let req = a.require.to_columns();
    conn.execute(
        "INSERT INTO accounts (user, host, plugin, auth_string, ssl_type, ssl_cipher,
             x509_issuer, x509_subject, san, locked, privileges)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            a.user,
            a.host,
            a.plugin.name(),
            a.auth_string,
            req.ssl_type,
            req.cipher,
            req.issuer,
            req.subject,
            req.san,
            a.locked,
            a.grants.global.to_storage(),
        ],
    )?;
    for (db, set) in &a.grants.databases {
        conn.execute(
            "INSERT INTO db_grants (user, host, db, privileges) VALUES (?1, ?2, ?3, ?4)",
            params![a.user, a.host, db, set.to_storage()],
        )?;
    }
    Ok(())
}

struct AccountRow {
    key: AccountKey,
    plugin: String,
    auth_string: String,
    require: RequireColumns,
    locked: bool,
    privileges: String,
}

fn load_accounts(conn: &Connection, path: &Path) -> Result<Vec<Account>, AccountStoreError> {
    let sqlite = |source| AccountStoreError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let corrupt = |key: &AccountKey, reason: String| AccountStoreError::Corrupt {
        path: path.to_path_buf(),
        account: key.clone(),
        reason,
    };
    let mut stmt = conn
        .prepare(
            "SELECT user, host, plugin, auth_string, ssl_type, ssl_cipher, x509_issuer,
                    x509_subject, san, locked, privileges FROM accounts",
        )
        .map_err(sqlite)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(AccountRow {
                key: AccountKey::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                plugin: r.get(2)?,
                auth_string: r.get(3)?,
                require: RequireColumns {
                    ssl_type: r.get(4)?,
                    cipher: r.get(5)?,
                    issuer: r.get(6)?,
                    subject: r.get(7)?,
                    san: r.get(8)?,
                },
                locked: r.get(9)?,
                privileges: r.get(10)?,
            })
        })
        .map_err(sqlite)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sqlite)?;

    let mut accounts: AccountMap = BTreeMap::new();
    for row in rows {
        let key = row.key;
        let plugin = Plugin::from_name(&row.plugin)
            .ok_or_else(|| corrupt(&key, format!("unknown plugin '{}'", row.plugin)))?;
        if !plugin.is_valid_stored(&row.auth_string) {
            return Err(corrupt(
                &key,
                format!("authentication string is not a valid {plugin} hash"),
            ));
        }
        let require = TlsRequirement::from_columns(row.require)
            .map_err(|e| corrupt(&key, format!("REQUIRE: {}", e.message)))?;
        let global = PrivilegeSet::from_storage(&row.privileges)
            .ok_or_else(|| corrupt(&key, format!("privileges '{}'", row.privileges)))?;
        let mut account = Account::new(key.clone(), plugin, row.auth_string);
        account.require = require;
        account.locked = row.locked;
        account.grants.global = global;
        accounts.insert(key, account);
    }

    let mut stmt = conn
        .prepare("SELECT user, host, db, privileges FROM db_grants")
        .map_err(sqlite)?;
    let grants = stmt
        .query_map([], |r| {
            Ok((
                AccountKey::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .map_err(sqlite)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sqlite)?;
    for (key, db, privileges) in grants {
        let set = PrivilegeSet::from_storage(&privileges)
            .filter(|s| s.iter().all(|p| p.is_database_level()))
            .ok_or_else(|| corrupt(&key, format!("privileges '{privileges}' on `{db}`")))?;
        let Some(account) = accounts.get_mut(&key) else {
            return Err(corrupt(
                &key,
                format!("grant on `{db}` for a missing account"),
            ));
        };
        if !set.is_empty() {
            account.grants.databases.insert(db, set);
        }
    }

    let mut ordered: Vec<Account> = accounts.into_values().collect();
    sort_for_matching(&mut ordered);
    Ok(ordered)
}

/// MySQL's rank of a host pattern (`get_sort`): 128 without wildcards, else one more than
/// the 1-based position of the first wildcard (capped at 127), 1 for `%` alone, 0 for `""`.
fn host_rank(pattern: &str) -> u32 {
    let chars: Vec<char> = pattern.chars().collect();
    if chars.is_empty() {
        return 0;
    }
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => i += 2,
            '%' | '_' => {
                if pattern == "%" {
                    return 1;
                }
                let position = u32::try_from(i + 1).unwrap_or(u32::MAX);
                return position.saturating_add(1).min(127);
            }
            _ => i += 1,
        }
    }
    128
}

/// Sorts accounts into login match order (module documentation), deterministically.
fn sort_for_matching(accounts: &mut [Account]) {
    accounts.sort_by(|a, b| {
        host_rank(&b.host)
            .cmp(&host_rank(&a.host))
            .then_with(|| a.user.is_empty().cmp(&b.user.is_empty()))
            .then_with(|| a.host.cmp(&b.host))
            .then_with(|| a.user.cmp(&b.user))
    });
}

/// Whether `client_host` matches `pattern` (`%`, `_`, `\` escape, ASCII case-insensitive).
pub fn host_matches(pattern: &str, client_host: &str) -> bool {
    let p: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    let s: Vec<char> = client_host
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .collect();
    // Iterative wildcard matching with one backtrack point for the last `%`: linear in
    // practice, never exponential.
    let (mut pi, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        let step = match p.get(pi) {
            Some('%') => {
                star = Some((pi, si));
                pi += 1;
                continue;
            }
            Some('_') => Some(1),
            Some('\\') if pi + 1 < p.len() => (p[pi + 1] == s[si]).then_some(2),
            Some(c) => (*c == s[si]).then_some(1),
            None => None,
        };
        match step {
            Some(n) => {
                pi += n;
                si += 1;
            }
            None => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '%')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::privileges::{Privilege, PrivilegeLevel};
    use crate::auth::require::RequireClause;

    fn store() -> (tempfile::TempDir, AccountStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = AccountStore::open(dir.path()).unwrap();
        (dir, store)
    }

    fn add(store: &AccountStore, user: &str, host: &str) {
        store
            .update(|m| {
                let key = AccountKey::new(user, host);
                m.insert(
                    key.clone(),
                    Account::new(key, Plugin::MysqlNativePassword, String::new()),
                );
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn host_patterns() {
        assert!(host_matches("%", "10.1.2.3"));
        assert!(host_matches("%", "localhost"));
        assert!(host_matches("10.1.%", "10.1.2.3"));
        assert!(!host_matches("10.1.%", "10.12.2.3"));
        assert!(host_matches("10.1._.3", "10.1.2.3"));
        assert!(!host_matches("10.1._.3", "10.1.22.3"));
        assert!(host_matches("LocalHost", "localhost"));
        assert!(host_matches("%.example.com", "db.example.com"));
        assert!(!host_matches("%.example.com", "example.com"));
        assert!(host_matches("a%b%c", "axxbyyc"));
        assert!(!host_matches("a%b%c", "axxbyy"));
        assert!(host_matches("my\\_host", "my_host"));
        assert!(!host_matches("my\\_host", "myxhost"));
        assert!(host_matches("::1", "::1"));
        assert!(!host_matches("127.0.0.1", "localhost"));
        assert!(!host_matches("", "localhost"));
        assert!(host_matches("%%", ""));
    }

    #[test]
    fn host_rank_follows_mysql_get_sort() {
        assert_eq!(host_rank("localhost"), 128);
        assert_eq!(host_rank("10.0.0.1"), 128);
        assert_eq!(host_rank("10.0.%"), 7);
        assert_eq!(host_rank("%.example.com"), 2);
        assert_eq!(host_rank("%"), 1);
        assert_eq!(host_rank(""), 0);
        assert_eq!(host_rank("my\\_host"), 128);
    }

    #[test]
    fn most_specific_match_first() {
        let (_dir, s) = store();
        add(&s, "app", "%");
        add(&s, "app", "10.0.%");
        add(&s, "app", "10.0.0.%");
        add(&s, "app", "10.0.0.7");
        add(&s, "", "10.0.0.7");
        add(&s, "", "localhost");
        let host = |u: &str, h: &str| s.find(u, h).map(|a| (a.user, a.host));
        assert_eq!(
            host("app", "10.0.0.7"),
            Some(("app".into(), "10.0.0.7".into()))
        );
        assert_eq!(
            host("app", "10.0.0.8"),
            Some(("app".into(), "10.0.0.%".into()))
        );
        assert_eq!(
            host("app", "10.0.1.8"),
            Some(("app".into(), "10.0.%".into()))
        );
        assert_eq!(host("app", "192.0.2.1"), Some(("app".into(), "%".into())));
        // Anonymous users match any name, after the named users of the same host rank.
        assert_eq!(
            host("other", "10.0.0.7"),
            Some(("".into(), "10.0.0.7".into()))
        );
        assert_eq!(host("other", "192.0.2.1"), None);
        // MySQL's famous surprise: the anonymous localhost account outranks 'app'@'%'.
        assert_eq!(
            host("app", "localhost"),
            Some(("".into(), "localhost".into()))
        );
        // Root exists only for the three local addresses.
        assert_eq!(
            host("root", "127.0.0.1"),
            Some(("root".into(), "127.0.0.1".into()))
        );
        assert_eq!(host("root", "::1"), Some(("root".into(), "::1".into())));
        assert_eq!(host("root", "10.0.0.9"), None);
        assert_eq!(host("Root", "::1"), None, "user names are case-sensitive");
    }

    #[test]
    fn initial_accounts_only_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = AccountStore::open(dir.path()).unwrap();
        assert!(s.created_initial_accounts());
        let mut roots = s.passwordless_accounts();
        roots.sort();
        assert_eq!(
            roots,
            [
                AccountKey::new("root", "127.0.0.1"),
                AccountKey::new("root", "::1"),
                AccountKey::new("root", "localhost"),
            ]
        );
        let root = s.find("root", "localhost").unwrap();
        assert_eq!(root.grants, Grants::superuser());
        assert_eq!(root.plugin, Plugin::CachingSha2Password);
        s.update(|m| {
            m.clear();
            Ok(())
        })
        .unwrap();
        drop(s);
        let s = AccountStore::open(dir.path()).unwrap();
        assert!(!s.created_initial_accounts());
        assert!(s.accounts().is_empty(), "dropped root must not come back");
    }

    #[test]
    fn everything_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let s = AccountStore::open(dir.path()).unwrap();
        let key = AccountKey::new("alice", "10.%");
        let mut alice = Account::new(
            key.clone(),
            Plugin::CachingSha2Password,
            Plugin::CachingSha2Password.hash_password(b"pw"),
        );
        alice.require = TlsRequirement::from_clauses(vec![
            RequireClause::Subject("/CN=alice".into()),
            RequireClause::San("DNS:alice.example".into()),
        ])
        .unwrap();
        alice.locked = true;
        alice.grants.grant(
            &PrivilegeLevel::Global,
            PrivilegeSet::of(&[Privilege::Process]),
        );
        alice.grants.grant(
            &PrivilegeLevel::Database("app".into()),
            PrivilegeSet::of(&[Privilege::Select, Privilege::GrantOption]),
        );
        let stored = alice.clone();
        s.update(move |m| {
            m.insert(key, alice);
            Ok(())
        })
        .unwrap();
        s.set_persisted("require_secure_transport", "ON").unwrap();
        s.set_persisted("require_secure_transport", "OFF").unwrap();
        drop(s);

        let s = AccountStore::open(dir.path()).unwrap();
        assert_eq!(s.get(&stored.key()), Some(stored));
        assert_eq!(
            s.get_persisted("require_secure_transport")
                .unwrap()
                .as_deref(),
            Some("OFF")
        );
        assert_eq!(s.get_persisted("nothing").unwrap(), None);
    }

    #[test]
    fn failed_update_changes_nothing() {
        let (_dir, s) = store();
        let before = s.accounts();
        let err = s
            .update(|m| {
                m.clear();
                Err::<(), _>(SqlError::unknown("no"))
            })
            .unwrap_err();
        assert_eq!(err.message, "no");
        assert_eq!(s.accounts(), before);
    }

    #[test]
    fn cache_invalidation_rules() {
        let (_dir, s) = store();
        let keys = ["a", "b", "c", "d", "e"].map(|u| AccountKey::new(u, "%"));
        s.update(|m| {
            for k in &keys {
                m.insert(
                    k.clone(),
                    Account::new(
                        k.clone(),
                        Plugin::CachingSha2Password,
                        Plugin::CachingSha2Password.hash_password(b"pw"),
                    ),
                );
            }
            Ok(())
        })
        .unwrap();
        let fill = |s: &AccountStore| {
            for k in &keys {
                if let Some(acct) = s.get(k) {
                    assert!(s.sha2_cache().full_auth(&acct, b"pw"));
                }
            }
        };
        fill(&s);
        let [a, b, c, d, e] = keys.clone();
        s.update(|m| {
            // a: password changed; b: dropped; c: renamed; d: only REQUIRE and lock changed.
            m.get_mut(&a).unwrap().auth_string = Plugin::CachingSha2Password.hash_password(b"new");
            m.remove(&b);
            let mut moved = m.remove(&c).unwrap();
            moved.user = "c2".into();
            m.insert(moved.key(), moved);
            let acct = m.get_mut(&d).unwrap();
            acct.require = TlsRequirement::Ssl;
            acct.locked = true;
            Ok(())
        })
        .unwrap();
        let cache = s.sha2_cache();
        assert!(!cache.contains(&a));
        assert!(!cache.contains(&b));
        assert!(!cache.contains(&c));
        assert!(
            cache.contains(&d),
            "REQUIRE/lock changes keep the cached password"
        );
        assert!(cache.contains(&e));
        s.reload().unwrap();
        assert!(!cache.contains(&d), "FLUSH PRIVILEGES empties the cache");
        assert!(!cache.contains(&e));
    }

    #[test]
    fn corrupted_requirement_refuses_to_open() {
        // TiDB's r13_broken_user: a damaged stored requirement must never mean "no requirement".
        let dir = tempfile::tempdir().unwrap();
        drop(AccountStore::open(dir.path()).unwrap());
        let conn = Connection::open(dir.path().join(AccountStore::FILE_NAME)).unwrap();
        conn.execute(
            "UPDATE accounts SET ssl_type = 'SPECIFIED', x509_subject = 'abc' WHERE host = '::1'",
            [],
        )
        .unwrap();
        drop(conn);
        let err = AccountStore::open(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("account 'root'@'::1': REQUIRE: Incorrect SUBJECT value: 'abc'"),
            "{err}"
        );
    }

    #[test]
    fn corrupted_rows_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        drop(AccountStore::open(dir.path()).unwrap());
        let db = dir.path().join(AccountStore::FILE_NAME);
        for (sql, expected) in [
            (
                "UPDATE accounts SET plugin = 'nope'",
                "unknown plugin 'nope'",
            ),
            (
                "UPDATE accounts SET auth_string = 'x'",
                "not a valid caching_sha2_password hash",
            ),
            ("UPDATE accounts SET privileges = 'FLY'", "privileges 'FLY'"),
            (
                "INSERT INTO db_grants VALUES ('root', 'localhost', 'd', 'SUPER')",
                "privileges 'SUPER' on `d`",
            ),
            (
                "INSERT INTO db_grants VALUES ('ghost', '%', 'd', 'SELECT')",
                "grant on `d` for a missing account",
            ),
        ] {
            let conn = Connection::open(&db).unwrap();
            conn.execute_batch("BEGIN").unwrap();
            conn.execute(sql, []).unwrap();
            conn.execute_batch("COMMIT").unwrap();
            let err = AccountStore::open(dir.path()).unwrap_err().to_string();
            assert!(err.contains(expected), "{sql}: {err}");
            // Undo by recreating the store.
            drop(conn);
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
            }
            drop(AccountStore::open(dir.path()).unwrap());
        }
    }

    #[test]
    fn store_is_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<AccountStore>();
    }
}
