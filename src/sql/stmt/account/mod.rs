//! Account statements: parsing and execution.
//!
//! ```text
//! CREATE USER [IF NOT EXISTS] user [auth] [, user [auth]]… [REQUIRE …] [ACCOUNT LOCK|UNLOCK]
//! ALTER USER [IF EXISTS] user [auth] [, user [auth]]… [REQUIRE …] [ACCOUNT LOCK|UNLOCK]
//! ALTER USER USER() IDENTIFIED BY 'pw'
//! DROP USER [IF EXISTS] user [, user]…
//! RENAME USER user TO user [, user TO user]…
//! SET PASSWORD [FOR user] = 'pw'
//! GRANT privs ON *.*|db.* TO user [, user]… [REQUIRE …] [WITH GRANT OPTION]
//! REVOKE privs ON *.*|db.* FROM user [, user]…
//! REVOKE ALL [PRIVILEGES], GRANT OPTION FROM user [, user]…
//! SHOW GRANTS [FOR user]
//! SHOW CREATE USER user
//! FLUSH PRIVILEGES
//!
//! auth: IDENTIFIED BY 'pw' | IDENTIFIED WITH plugin [BY 'pw' | AS 'stored']
//! user: 'u'@'h' | u@h | `u`@`h` | "u"@"h" | 'u' (host '%') | CURRENT_USER[()]
//! ```
//!
//! `PASSWORD EXPIRE DEFAULT`, `PASSWORD HISTORY DEFAULT`, `PASSWORD REUSE INTERVAL DEFAULT` and
//! `PASSWORD REQUIRE CURRENT DEFAULT` are accepted and ignored so that `SHOW CREATE USER` output
//! can be replayed; other password-policy and resource-limit options are 1235.
//!
//! # Why a hand-written parser
//!
//! sqlparser 0.64 (MySQL dialect) rejects `CREATE USER 'u'@'h' …`, `ALTER USER 'u'@'h' …`,
//! `DROP USER 'u'@'h'`, `RENAME USER`, `SET PASSWORD FOR`, `SHOW CREATE USER` and
//! `GRANT … REQUIRE …`, and parses `SHOW GRANTS FOR 'u'@'h'` as `SHOW GRANTS FOR` — dropping
//! the account (checked with sqlparser's `Parser::parse_sql`). So these statements are parsed by
//! recursive descent over the statement's tokens (sqlparser's MySQL tokenizer, which handles
//! quoting and escapes). Its tokens split unquoted account names oddly (`root@127.0.0.1`
//! becomes `root@127` `.` `0.0` `.1`), so unquoted host names are rebuilt from adjacent tokens.
//!
//! # Semantics
//!
//! A clause that is not given leaves that property unchanged: `ALTER USER … ACCOUNT LOCK`
//! keeps the password and `REQUIRE` (TiDB #70269), `ALTER USER … REQUIRE SSL` keeps the
//! password (TiDB #25225), `GRANT` without `REQUIRE` keeps `REQUIRE`; `REQUIRE NONE` clears it.
//! `IDENTIFIED WITH plugin` without `BY`/`AS` switches the plugin and clears the password, as
//! MySQL does. Every statement is atomic: if one account fails, none changes.
//!
//! # Privileges checked
//!
//! The acting account's privileges are read from the store when the statement runs, so a
//! `REVOKE` takes effect on the next statement of every session.
//!
//! | statement | needs |
//! |---|---|
//! | `CREATE USER`, `DROP USER`, `RENAME USER`, `REVOKE ALL …, GRANT OPTION` | `CREATE USER` (else 1227) |
//! | `ALTER USER`, `SET PASSWORD` | `CREATE USER`, except for changing one's own password (`IDENTIFIED BY`) |
//! | `GRANT`/`REVOKE privs ON level` | `GRANT OPTION` and the privileges themselves at that level (global ones count for every database); else 1227 for `*.*`, 1044 for `db.*` |
//! | `GRANT … REQUIRE …` | additionally `CREATE USER` (it changes an account property) |
//! | `SHOW GRANTS FOR` / `SHOW CREATE USER` another account | global `SELECT` or `CREATE USER` (else 1044 on database `mysql`, as MySQL says) |
//! | `FLUSH PRIVILEGES` | `RELOAD` |
//!
//! # Files
//!
//! * `ast`: the statements as parsed; `parse`: their grammar; `show`: `SHOW GRANTS` and
//!   `SHOW CREATE USER`; `execute`: the rest, against the account store.

mod ast;
mod execute;
mod parse;
mod show;

pub use ast::{
    AccountOptions, AccountStatement, AuthOption, Credential, Outcome, PrivilegeList, UserRef,
    UserSpec,
};
pub(crate) use execute::execute;
pub(crate) use parse::{parse, starts};

use crate::error::SqlError;
use crate::sql::exchange::{Exchange, Reply};

/// Runs an account statement as the session's account; its notes become the session's
/// warnings.
pub(crate) fn execute_for(
    stmt: &AccountStatement,
    ex: &mut Exchange<'_>,
) -> Result<Reply, SqlError> {
    let actor = ex.state.account_key();
    match execute(stmt, &ex.state.shared.accounts, &actor)? {
        Outcome::Ok { notes, .. } => {
            ex.state.warnings.extend(notes);
            Ok(Reply::Ok)
        }
        Outcome::ResultSet { columns, rows } => Ok(Reply::Rows { columns, rows }),
    }
}

/// What the tests of every file share: a store with its root account, statements run as one.
#[cfg(test)]
mod testing {
    use super::parse::{parse as parse_statement, starts};
    use super::{AccountStatement, Outcome, execute};
    use crate::auth::Nonce;
    use crate::auth::account::{Account, AccountKey};
    use crate::auth::accounts::AccountStore;
    use crate::error::SqlError;
    use crate::protocol::value::Value;
    use crate::sql::stmt::parser::Parser;

    pub(super) const NONCE: Nonce = [7; 20];

    pub(super) fn key(user: &str, host: &str) -> AccountKey {
        AccountKey::new(user, host)
    }

    /// Parses `sql` if it is an account statement: `None` if it is not one. A statement the
    /// tokenizer refuses is an error, whoever it belongs to.
    pub(super) fn parse(sql: &str) -> Option<Result<AccountStatement, SqlError>> {
        let source = match crate::lex::tokenize(sql) {
            Ok(source) => source,
            Err(e) => return Some(Err(e)),
        };
        let p = &mut Parser::new(&source);
        starts(p).then(|| parse_statement(p))
    }

    /// Parses and executes `sql` if it is an account statement.
    pub(super) fn run(
        sql: &str,
        store: &AccountStore,
        actor: &AccountKey,
    ) -> Option<Result<Outcome, SqlError>> {
        parse(sql).map(|stmt| stmt.and_then(|stmt| execute(&stmt, store, actor)))
    }

    pub(super) struct Env {
        _dir: tempfile::TempDir,
        pub(super) store: AccountStore,
        pub(super) root: AccountKey,
    }

    impl Env {
        pub(super) fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let store = AccountStore::open(dir.path()).unwrap();
            Env {
                _dir: dir,
                store,
                root: key("root", "localhost"),
            }
        }

        pub(super) fn run_as(&self, actor: &AccountKey, sql: &str) -> Result<Outcome, SqlError> {
            run(sql, &self.store, actor)
                .unwrap_or_else(|| panic!("not an account statement: {sql}"))
        }

        pub(super) fn root(&self, sql: &str) -> Outcome {
            self.run_as(&self.root.clone(), sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        }

        pub(super) fn root_err(&self, sql: &str) -> SqlError {
            self.run_as(&self.root.clone(), sql).unwrap_err()
        }

        pub(super) fn account(&self, user: &str, host: &str) -> Account {
            self.store.get(&key(user, host)).unwrap()
        }

        pub(super) fn show_create(&self, user: &str) -> String {
            match self.root(&format!("SHOW CREATE USER {user}")) {
                Outcome::ResultSet { rows, .. } => match &rows[0][0] {
                    Value::Text(s) => s.clone(),
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            }
        }

        pub(super) fn grants(
            &self,
            actor: &AccountKey,
            sql: &str,
        ) -> Result<(String, Vec<String>), SqlError> {
            match self.run_as(actor, sql)? {
                Outcome::ResultSet { columns, rows } => Ok((
                    columns[0].name.clone(),
                    rows.into_iter()
                        .map(|r| match &r[0] {
                            Value::Text(s) => s.clone(),
                            other => panic!("{other:?}"),
                        })
                        .collect(),
                )),
                other => panic!("{other:?}"),
            }
        }
    }

    pub(super) fn notes(outcome: Outcome) -> Vec<SqlError> {
        match outcome {
            Outcome::Ok {
                affected_rows,
                notes,
            } => {
                assert_eq!(affected_rows, 0);
                notes
            }
            other => panic!("{other:?}"),
        }
    }
}
