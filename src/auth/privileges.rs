//! Privileges: names, sets, per-level grants, the `SHOW GRANTS` text, and the access-denied
//! errors MySQL uses.
//!
//! Levels are global (`ON *.*`) and per database (`ON db.*`). A global privilege covers every
//! database. Database names match exactly (no `_`/`%` wildcards in database grants, unlike
//! MySQL, where `GRANT … ON my_db.*` silently also matches `myXdb`).
//!
//! | privilege | global | database | what it allows in tlsql |
//! |---|---|---|---|
//! | `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `CREATE`, `DROP` | ✓ | ✓ | the statements of their names |
//! | `LOCK TABLES` | ✓ | ✓ | `LOCK TABLES` (with `SELECT` on each table) |
//! | `SHOW VIEW` | ✓ | ✓ | `SHOW CREATE VIEW` (with `SELECT`) |
//! | `EVENT`, `TRIGGER` | ✓ | ✓ | nothing more (granted by dump tools' documented grants) |
//! | `RELOAD` | ✓ | | `FLUSH PRIVILEGES` |
//! | `PROCESS` | ✓ | | every session in `SHOW PROCESSLIST` |
//! | `SUPER` | ✓ | | what `CONNECTION_ADMIN` and `SYSTEM_VARIABLES_ADMIN` allow |
//! | `REPLICATION CLIENT` (MariaDB's `BINLOG MONITOR`) | ✓ | | `SHOW SLAVE`/`REPLICA`/`MASTER STATUS` |
//! | `REPLICATION SLAVE` | ✓ | | nothing (tlsql has no binary log) |
//! | `SLAVE MONITOR` (MariaDB's; `REPLICA MONITOR`) | ✓ | | `SHOW SLAVE`/`REPLICA STATUS` |
//! | `CREATE USER` | ✓ | | every account statement on other accounts |
//! | `CONNECTION_ADMIN` (MySQL 8 dynamic) | ✓ | | the reserved connection, `KILL` of others' sessions, `ALTER INSTANCE` |
//! | `SYSTEM_VARIABLES_ADMIN` (MySQL 8 dynamic) | ✓ | | `SET GLOBAL` |
//! | `GRANT OPTION` | ✓ | ✓ | `GRANT` |
//!
//! `ALL [PRIVILEGES]` means every privilege of the level except `GRANT OPTION`; `USAGE` means
//! none.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{ErrorKind, SqlError};

/// One privilege.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Privilege {
    /// `SELECT`
    Select,
    /// `INSERT`
    Insert,
    /// `UPDATE`
    Update,
    /// `DELETE`
    Delete,
    /// `CREATE`
    Create,
    /// `DROP`
    Drop,
    /// `RELOAD` (`FLUSH PRIVILEGES`)
    Reload,
    /// `PROCESS` (every session in `SHOW PROCESSLIST`)
    Process,
    /// `SUPER`
    Super,
    /// `LOCK TABLES`
    LockTables,
    /// `REPLICATION SLAVE` (nothing to do without a binary log; accepted for tools' grants)
    ReplicationSlave,
    /// `REPLICATION CLIENT` (`SHOW SLAVE|REPLICA|MASTER STATUS`)
    ReplicationClient,
    /// `SHOW VIEW`
    ShowView,
    /// `CREATE USER` (every account statement on other accounts)
    CreateUser,
    /// `EVENT`
    Event,
    /// `TRIGGER`
    Trigger,
    /// MariaDB's `SLAVE MONITOR` (`SHOW SLAVE STATUS` there)
    SlaveMonitor,
    /// `CONNECTION_ADMIN` (`ALTER INSTANCE RELOAD TLS`)
    ConnectionAdmin,
    /// `SYSTEM_VARIABLES_ADMIN` (`SET GLOBAL`)
    SystemVariablesAdmin,
    /// `GRANT OPTION`
    GrantOption,
}

impl Privilege {
    /// Every privilege, in the order MySQL 8 prints static privileges, then dynamic ones
    /// (alphabetically), then `GRANT OPTION`.
    pub const ALL: [Privilege; 20] = [
        Privilege::Select,
        Privilege::Insert,
        Privilege::Update,
        Privilege::Delete,
        Privilege::Create,
        Privilege::Drop,
        Privilege::Reload,
        Privilege::Process,
        Privilege::Super,
        Privilege::LockTables,
        Privilege::ReplicationSlave,
        Privilege::ReplicationClient,
        Privilege::ShowView,
        Privilege::CreateUser,
        Privilege::Event,
        Privilege::Trigger,
        Privilege::SlaveMonitor,
        Privilege::ConnectionAdmin,
        Privilege::SystemVariablesAdmin,
        Privilege::GrantOption,
    ];

    /// The SQL name: `SELECT`, `CREATE USER`, `CONNECTION_ADMIN`, `GRANT OPTION`.
    pub fn name(self) -> &'static str {
        match self {
            Privilege::Select => "SELECT",
            Privilege::Insert => "INSERT",
            Privilege::Update => "UPDATE",
            Privilege::Delete => "DELETE",
            Privilege::Create => "CREATE",
            Privilege::Drop => "DROP",
            Privilege::Reload => "RELOAD",
            Privilege::Process => "PROCESS",
            Privilege::Super => "SUPER",
            Privilege::LockTables => "LOCK TABLES",
            Privilege::ReplicationSlave => "REPLICATION SLAVE",
            Privilege::ReplicationClient => "REPLICATION CLIENT",
            Privilege::ShowView => "SHOW VIEW",
            Privilege::CreateUser => "CREATE USER",
            Privilege::Event => "EVENT",
            Privilege::Trigger => "TRIGGER",
            Privilege::SlaveMonitor => "SLAVE MONITOR",
            Privilege::ConnectionAdmin => "CONNECTION_ADMIN",
            Privilege::SystemVariablesAdmin => "SYSTEM_VARIABLES_ADMIN",
            Privilege::GrantOption => "GRANT OPTION",
        }
    }

    /// Finds a privilege by name, ignoring ASCII case and runs of spaces (`create  user`).
    /// `ALL`, `ALL PRIVILEGES` and `USAGE` are not single privileges; see [`PrivilegeSet::all`].
    /// MariaDB's names for two of them are accepted too (`BINLOG MONITOR` is its name for
    /// `REPLICATION CLIENT`, `REPLICA MONITOR` for `SLAVE MONITOR`).
    pub fn from_name(name: &str) -> Option<Privilege> {
        let normalized = name
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_uppercase();
        match normalized.as_str() {
            "BINLOG MONITOR" => return Some(Privilege::ReplicationClient),
            "REPLICA MONITOR" => return Some(Privilege::SlaveMonitor),
            _ => {}
        }
        Privilege::ALL.into_iter().find(|p| p.name() == normalized)
    }

    /// MySQL 8 dynamic privileges, printed on a separate `GRANT` line.
    pub fn is_dynamic(self) -> bool {
        matches!(
            self,
            Privilege::ConnectionAdmin | Privilege::SystemVariablesAdmin
        )
    }

    /// Whether the privilege can be granted `ON db.*`.
    pub fn is_database_level(self) -> bool {
        PrivilegeSet::ALL_DATABASE.contains(self) || self == Privilege::GrantOption
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of privileges.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PrivilegeSet(u32);

impl PrivilegeSet {
    /// No privileges (`USAGE`).
    pub const EMPTY: PrivilegeSet = PrivilegeSet(0);

    /// `ALL PRIVILEGES ON *.*`: every privilege except `GRANT OPTION` (the last one).
    pub const ALL_GLOBAL: PrivilegeSet = PrivilegeSet((1 << Privilege::GrantOption as u32) - 1);

    /// `ALL PRIVILEGES ON db.*`: `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `CREATE`, `DROP`,
    /// `LOCK TABLES`, `SHOW VIEW`, `EVENT`, `TRIGGER`.
    pub const ALL_DATABASE: PrivilegeSet = PrivilegeSet(
        (1 << Privilege::Select as u32)
            | (1 << Privilege::Insert as u32)
            | (1 << Privilege::Update as u32)
            | (1 << Privilege::Delete as u32)
            | (1 << Privilege::Create as u32)
            | (1 << Privilege::Drop as u32)
            | (1 << Privilege::LockTables as u32)
            | (1 << Privilege::ShowView as u32)
            | (1 << Privilege::Event as u32)
            | (1 << Privilege::Trigger as u32),
    );

    /// `ALL [PRIVILEGES]` at `level`.
    pub fn all(level: &PrivilegeLevel) -> PrivilegeSet {
        match level {
            PrivilegeLevel::Global => Self::ALL_GLOBAL,
            PrivilegeLevel::Database(_) => Self::ALL_DATABASE,
        }
    }

    /// The set holding `privileges`.
    pub fn of(privileges: &[Privilege]) -> PrivilegeSet {
        privileges.iter().fold(Self::EMPTY, |set, p| set.with(*p))
    }

    /// Whether `p` is in the set.
    pub fn contains(self, p: Privilege) -> bool {
        self.0 & p.bit() != 0
    }

    /// Whether every privilege of `other` is in the set.
    pub fn contains_all(self, other: PrivilegeSet) -> bool {
        self.0 & other.0 == other.0
    }

    /// The set plus `p`.
    #[must_use]
    pub fn with(self, p: Privilege) -> PrivilegeSet {
        PrivilegeSet(self.0 | p.bit())
    }

    /// Union.
    #[must_use]
    pub fn union(self, other: PrivilegeSet) -> PrivilegeSet {
        PrivilegeSet(self.0 | other.0)
    }

    /// The privileges of `self` not in `other`.
    #[must_use]
    pub fn difference(self, other: PrivilegeSet) -> PrivilegeSet {
        PrivilegeSet(self.0 & !other.0)
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The privileges, in [`Privilege::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Privilege> {
        Privilege::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }

    /// The storage form: names joined by `,` (`SELECT,CREATE USER,GRANT OPTION`).
    pub fn to_storage(self) -> String {
        self.iter()
            .map(Privilege::name)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Reads the storage form back; `None` if a name is unknown.
    pub fn from_storage(s: &str) -> Option<PrivilegeSet> {
        s.split(',')
            .filter(|n| !n.is_empty())
            .try_fold(Self::EMPTY, |set, n| {
                Some(set.with(Privilege::from_name(n)?))
            })
    }
}

impl fmt::Debug for PrivilegeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// Where a grant applies.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PrivilegeLevel {
    /// `*.*`
    Global,
    /// `db.*`
    Database(String),
}

impl fmt::Display for PrivilegeLevel {
    /// `*.*` or `` `db`.* `` (identifier quoted as MySQL's `SHOW GRANTS` does).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrivilegeLevel::Global => f.write_str("*.*"),
            PrivilegeLevel::Database(db) => write!(f, "{}.*", quote_identifier(db)),
        }
    }
}

/// Quotes an identifier with backticks, doubling embedded backticks.
pub fn quote_identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// An account's privileges at every level.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grants {
    /// `ON *.*`.
    pub global: PrivilegeSet,
    /// `ON db.*`, by database name; never holds an empty set.
    pub databases: BTreeMap<String, PrivilegeSet>,
}

impl Grants {
    /// `ALL PRIVILEGES ON *.* … WITH GRANT OPTION` (the initial root accounts).
    pub fn superuser() -> Grants {
        Grants {
            global: PrivilegeSet::ALL_GLOBAL.with(Privilege::GrantOption),
            databases: BTreeMap::new(),
        }
    }

    /// Whether `p` is granted `ON *.*`.
    pub fn has_global(&self, p: Privilege) -> bool {
        self.global.contains(p)
    }

    /// Whether `p` applies to database `db` (granted on it or globally).
    pub fn has_db(&self, db: &str, p: Privilege) -> bool {
        self.has_global(p) || self.databases.get(db).is_some_and(|set| set.contains(p))
    }

    /// Whether any privilege applies to `db` (what `USE db` needs; otherwise 1044).
    pub fn has_any_on_db(&self, db: &str) -> bool {
        !self
            .global
            .difference(PrivilegeSet::of(&[Privilege::GrantOption]))
            .is_empty()
            || self.databases.contains_key(db)
    }

    /// The privileges held at `level` (the global ones alone for [`PrivilegeLevel::Global`];
    /// for a database, what is granted on it plus what applies through global grants).
    pub fn effective(&self, level: &PrivilegeLevel) -> PrivilegeSet {
        match level {
            PrivilegeLevel::Global => self.global,
            PrivilegeLevel::Database(db) => {
                let global_on_db = self
                    .global
                    .iter()
                    .filter(|p| p.is_database_level())
                    .fold(PrivilegeSet::EMPTY, PrivilegeSet::with);
                global_on_db.union(self.databases.get(db).copied().unwrap_or_default())
            }
        }
    }

    /// Adds `set` at `level`.
    pub fn grant(&mut self, level: &PrivilegeLevel, set: PrivilegeSet) {
        match level {
            PrivilegeLevel::Global => self.global = self.global.union(set),
            PrivilegeLevel::Database(db) => {
                if !set.is_empty() {
                    let entry = self.databases.entry(db.clone()).or_default();
                    *entry = entry.union(set);
                }
            }
        }
    }

    /// Removes `set` at `level`. Returns false when `level` is a database the account has no
    /// grant on (MySQL's 1141 `There is no such grant defined …`).
    pub fn revoke(&mut self, level: &PrivilegeLevel, set: PrivilegeSet) -> bool {
        match level {
            PrivilegeLevel::Global => {
                self.global = self.global.difference(set);
                true
            }
            PrivilegeLevel::Database(db) => {
                let Some(current) = self.databases.get_mut(db) else {
                    return false;
                };
                *current = current.difference(set);
                if current.is_empty() {
                    self.databases.remove(db);
                }
                true
            }
        }
    }

    /// The lines of `SHOW GRANTS` for `grantee` (already quoted, `` `u`@`h` ``), in MySQL 8's
    /// format: the global line first (`GRANT USAGE ON *.*` when there is nothing global;
    /// `ALL PRIVILEGES` when every global privilege is held), then MySQL 8's separate line of
    /// dynamic privileges, then one line per database in name order.
    pub fn show_grants(&self, grantee: &str) -> Vec<String> {
        let mut lines = Vec::new();
        let grant_option = |set: PrivilegeSet| {
            if set.contains(Privilege::GrantOption) {
                " WITH GRANT OPTION"
            } else {
                ""
            }
        };
        let global = self.global;
        if global.contains_all(PrivilegeSet::ALL_GLOBAL) {
            lines.push(format!(
                "GRANT ALL PRIVILEGES ON *.* TO {grantee}{}",
                grant_option(global)
            ));
        } else {
            let static_privs: Vec<&str> = global
                .iter()
                .filter(|p| !p.is_dynamic() && *p != Privilege::GrantOption)
                .map(Privilege::name)
                .collect();
            let list = if static_privs.is_empty() {
                "USAGE".to_string()
            } else {
                static_privs.join(", ")
            };
            lines.push(format!(
                "GRANT {list} ON *.* TO {grantee}{}",
                grant_option(global)
            ));
            let dynamic: Vec<&str> = global
                .iter()
                .filter(|p| p.is_dynamic())
                .map(Privilege::name)
                .collect();
            if !dynamic.is_empty() {
                lines.push(format!(
                    "GRANT {} ON *.* TO {grantee}{}",
                    dynamic.join(","),
                    grant_option(global)
                ));
            }
        }
        for (db, set) in &self.databases {
            let level = PrivilegeLevel::Database(db.clone());
            let list = if set.contains_all(PrivilegeSet::ALL_DATABASE) {
                "ALL PRIVILEGES".to_string()
            } else {
                let names: Vec<&str> = set
                    .iter()
                    .filter(|p| *p != Privilege::GrantOption)
                    .map(Privilege::name)
                    .collect();
                if names.is_empty() {
                    "USAGE".to_string()
                } else {
                    names.join(", ")
                }
            };
            lines.push(format!(
                "GRANT {list} ON {level} TO {grantee}{}",
                grant_option(*set)
            ));
        }
        lines
    }
}

/// 1227 `Access denied; you need (at least one of) the X privilege(s) for this operation`,
/// listing `alternatives` (any one of them would have sufficed).
pub fn specific_access_denied(alternatives: &[Privilege]) -> SqlError {
    let names: Vec<&str> = alternatives.iter().map(|p| p.name()).collect();
    SqlError::new(
        ErrorKind::SpecificAccessDenied,
        format!(
            "Access denied; you need (at least one of) the {} privilege(s) for this operation",
            names.join(", ")
        ),
    )
}

/// 1044 `Access denied for user 'u'@'h' to database 'db'`.
pub fn db_access_denied(user: &str, host: &str, db: &str) -> SqlError {
    SqlError::new(
        ErrorKind::DbAccessDenied,
        format!("Access denied for user '{user}'@'{host}' to database '{db}'"),
    )
}

/// 1142 `SELECT command denied to user 'u'@'h' for table 't'`.
pub fn table_access_denied(command: &str, user: &str, host: &str, table: &str) -> SqlError {
    SqlError::new(
        ErrorKind::TableAccessDenied,
        format!("{command} command denied to user '{user}'@'{host}' for table '{table}'"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRANTEE: &str = "`u`@`%`";

    fn db(name: &str) -> PrivilegeLevel {
        PrivilegeLevel::Database(name.to_string())
    }

    #[test]
    fn names_parse_case_and_space_insensitively() {
        assert_eq!(
            Privilege::from_name("create  user"),
            Some(Privilege::CreateUser)
        );
        assert_eq!(
            Privilege::from_name("Grant Option"),
            Some(Privilege::GrantOption)
        );
        assert_eq!(
            Privilege::from_name("system_variables_admin"),
            Some(Privilege::SystemVariablesAdmin)
        );
        assert_eq!(
            Privilege::from_name("binlog monitor"),
            Some(Privilege::ReplicationClient)
        );
        assert_eq!(
            Privilege::from_name("REPLICA  MONITOR"),
            Some(Privilege::SlaveMonitor)
        );
        assert_eq!(Privilege::from_name("ALL"), None);
        assert_eq!(Privilege::from_name("ALTER"), None);
        for p in Privilege::ALL {
            assert_eq!(Privilege::from_name(p.name()), Some(p));
        }
    }

    #[test]
    fn all_sets_cover_the_right_privileges() {
        let global: Vec<Privilege> = PrivilegeSet::ALL_GLOBAL.iter().collect();
        assert_eq!(global.len(), Privilege::ALL.len() - 1);
        assert_eq!(Privilege::ALL.last(), Some(&Privilege::GrantOption));
        assert!(!PrivilegeSet::ALL_GLOBAL.contains(Privilege::GrantOption));
        let db: Vec<&str> = PrivilegeSet::ALL_DATABASE
            .iter()
            .map(Privilege::name)
            .collect();
        assert_eq!(
            db,
            [
                "SELECT",
                "INSERT",
                "UPDATE",
                "DELETE",
                "CREATE",
                "DROP",
                "LOCK TABLES",
                "SHOW VIEW",
                "EVENT",
                "TRIGGER"
            ]
        );
        assert!(Privilege::GrantOption.is_database_level());
        assert!(!Privilege::Super.is_database_level());
    }

    #[test]
    fn storage_round_trip() {
        let set = PrivilegeSet::of(&[
            Privilege::CreateUser,
            Privilege::Select,
            Privilege::GrantOption,
        ]);
        assert_eq!(set.to_storage(), "SELECT,CREATE USER,GRANT OPTION");
        assert_eq!(PrivilegeSet::from_storage(&set.to_storage()), Some(set));
        assert_eq!(PrivilegeSet::from_storage(""), Some(PrivilegeSet::EMPTY));
        assert_eq!(PrivilegeSet::from_storage("SELECT,FLY"), None);
    }

    #[test]
    fn global_grants_cover_every_database() {
        let mut g = Grants::default();
        g.grant(
            &PrivilegeLevel::Global,
            PrivilegeSet::of(&[Privilege::Select]),
        );
        g.grant(&db("app"), PrivilegeSet::of(&[Privilege::Insert]));
        assert!(g.has_db("anything", Privilege::Select));
        assert!(g.has_db("app", Privilege::Insert));
        assert!(!g.has_db("other", Privilege::Insert));
        assert!(!g.has_global(Privilege::Insert));
        assert!(g.has_any_on_db("other"));
        assert_eq!(
            g.effective(&db("app")),
            PrivilegeSet::of(&[Privilege::Select, Privilege::Insert])
        );

        let only_db = Grants {
            databases: [("app".to_string(), PrivilegeSet::of(&[Privilege::Select]))].into(),
            ..Grants::default()
        };
        assert!(only_db.has_any_on_db("app"));
        assert!(!only_db.has_any_on_db("App"));
        let grant_option_only = Grants {
            global: PrivilegeSet::of(&[Privilege::GrantOption]),
            ..Grants::default()
        };
        assert!(!grant_option_only.has_any_on_db("app"));
    }

    #[test]
    fn revoke_removes_and_reports_missing_database_grants() {
        let mut g = Grants::default();
        g.grant(
            &db("app"),
            PrivilegeSet::of(&[Privilege::Select, Privilege::Insert]),
        );
        assert!(g.revoke(&db("app"), PrivilegeSet::of(&[Privilege::Select])));
        assert_eq!(g.databases["app"], PrivilegeSet::of(&[Privilege::Insert]));
        assert!(g.revoke(&db("app"), PrivilegeSet::ALL_DATABASE));
        assert!(!g.databases.contains_key("app"));
        assert!(!g.revoke(&db("app"), PrivilegeSet::ALL_DATABASE));
        assert!(g.revoke(&PrivilegeLevel::Global, PrivilegeSet::ALL_GLOBAL));
    }

    #[test]
    fn show_grants_usage_only() {
        assert_eq!(
            Grants::default().show_grants(GRANTEE),
            ["GRANT USAGE ON *.* TO `u`@`%`"]
        );
    }

    #[test]
    fn show_grants_superuser() {
        assert_eq!(
            Grants::superuser().show_grants("`root`@`localhost`"),
            ["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"]
        );
    }

    #[test]
    fn show_grants_static_dynamic_and_databases() {
        let mut g = Grants::default();
        g.grant(
            &PrivilegeLevel::Global,
            PrivilegeSet::of(&[
                Privilege::SystemVariablesAdmin,
                Privilege::Reload,
                Privilege::Select,
                Privilege::ConnectionAdmin,
            ]),
        );
        g.grant(&db("zeta"), PrivilegeSet::ALL_DATABASE);
        g.grant(
            &db("alpha"),
            PrivilegeSet::of(&[Privilege::Insert, Privilege::Select]),
        );
        g.grant(&db("we`ird"), PrivilegeSet::of(&[Privilege::GrantOption]));
        assert_eq!(
            g.show_grants(GRANTEE),
            [
                "GRANT SELECT, RELOAD ON *.* TO `u`@`%`",
                "GRANT CONNECTION_ADMIN,SYSTEM_VARIABLES_ADMIN ON *.* TO `u`@`%`",
                "GRANT SELECT, INSERT ON `alpha`.* TO `u`@`%`",
                "GRANT USAGE ON `we``ird`.* TO `u`@`%` WITH GRANT OPTION",
                "GRANT ALL PRIVILEGES ON `zeta`.* TO `u`@`%`",
            ]
        );
    }

    #[test]
    fn access_denied_messages() {
        let e = specific_access_denied(&[Privilege::CreateUser]);
        assert_eq!(e.code(), 1227);
        assert_eq!(
            e.message,
            "Access denied; you need (at least one of) the CREATE USER privilege(s) for this operation"
        );
        let e = specific_access_denied(&[Privilege::Super, Privilege::SystemVariablesAdmin]);
        assert!(
            e.message
                .contains("the SUPER, SYSTEM_VARIABLES_ADMIN privilege(s)")
        );
        assert_eq!(
            db_access_denied("u", "%", "app").message,
            "Access denied for user 'u'@'%' to database 'app'"
        );
        let e = table_access_denied("SELECT", "u", "%", "t1");
        assert_eq!(
            (e.code(), e.message.as_str()),
            (1142, "SELECT command denied to user 'u'@'%' for table 't1'")
        );
    }
}
