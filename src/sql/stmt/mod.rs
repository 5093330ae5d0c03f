//! Statements, parsed once into a [`Statement`] and run by the family they belong to: one file
//! per family, with its grammar and its execution side by side (as mini-redis's `cmd/`).
//!
//! A statement's tokens are made once ([`crate::lex`]). tlsql's own grammar reads the
//! statements sqlparser's MySQL dialect rejects or reads wrongly (account statements, `SHOW`,
//! `SET` with `:=` or `CHARACTER SET`, `ALTER INSTANCE`), handing the same tokens to sqlparser
//! for the expressions inside them; every other statement is sqlparser's, parsed from those
//! tokens and run by storage.
//!
//! | family | statements |
//! |---|---|
//! | [`account`] | `CREATE`/`ALTER`/`DROP`/`RENAME USER`, `GRANT`, `REVOKE`, `SET PASSWORD`, `SHOW GRANTS`, `SHOW CREATE USER`, `FLUSH PRIVILEGES` |
//! | [`set`] | `SET` variables, `NAMES`, `CHARACTER SET`, `TRANSACTION` |
//! | [`show`] | `SHOW VARIABLES`/`STATUS`/`WARNINGS`/`ERRORS`, and the `SHOW`s and `DESCRIBE` storage answers |
//! | [`catalog`] | `SHOW ENGINES`/`CHARACTER SET`/`COLLATION`, `SHOW SLAVE`/`REPLICA`/`MASTER STATUS` |
//! | [`process`] | `SHOW [FULL] PROCESSLIST`, `KILL` |
//! | [`lock`] | `LOCK TABLES`, `UNLOCK TABLES` |
//! | [`transaction`] | `START TRANSACTION`, `BEGIN` |
//! | [`instance`] | `ALTER INSTANCE RELOAD TLS` |
//! | [`database`] | `USE`, `FLUSH` (other than `PRIVILEGES`) |
//! | `storage` | `ALTER TABLE … {DISABLE\|ENABLE} KEYS`, and everything else: queries, DML, DDL, `COMMIT`, `ROLLBACK`, savepoints |
//!
//! `CREATE SCHEMA` is MySQL's other name for `CREATE DATABASE`; sqlparser reads it as the SQL
//! standard's schema, so its `SCHEMA` keyword is handed over as `DATABASE`.
//!
//! A new statement is a variant of [`Statement`], a file with its `parse` and `execute`, and a
//! line in [`Statement::parse`] where its leading keywords are recognised.

pub mod account;
pub mod cache;
pub mod catalog;
pub mod database;
pub mod instance;
pub mod lock;
pub mod named;
pub(crate) mod parser;
pub mod process;
mod query;
pub mod set;
pub mod show;
mod storage;
pub mod transaction;

use std::io;
use std::sync::Arc;

use sqlparser::ast;
use sqlparser::keywords::Keyword;

use self::parser::Parser;
use super::exchange::Exchange;
use crate::error::{ErrorKind, SqlError};
use crate::lex::Source;

/// A parsed statement.
#[derive(Clone, Debug)]
pub enum Statement {
    /// Account management ([`account`]).
    Account(account::AccountStatement),
    /// `SET …` ([`set`]).
    Set(set::Set),
    /// `SHOW [GLOBAL|SESSION] VARIABLES|STATUS …` ([`show`]).
    ShowVariables(show::ShowVariables),
    /// `SHOW WARNINGS|ERRORS`, `SHOW COUNT(*) WARNINGS|ERRORS` ([`show`]).
    ShowWarnings(show::ShowWarnings),
    /// A `SHOW` or `DESCRIBE` that storage answers ([`show`]).
    Show(crate::storage::Show),
    /// A `SHOW` of the server's own state ([`catalog`], [`process`]).
    ServerShow(show::ServerShow),
    /// `KILL` ([`process`]).
    Kill(process::Kill),
    /// `LOCK TABLES`, `UNLOCK TABLES` ([`lock`]).
    Lock(lock::LockStatement),
    /// `START TRANSACTION`, `BEGIN` ([`transaction`]).
    Begin(transaction::Begin),
    /// `ALTER INSTANCE …` ([`instance`]).
    AlterInstance(instance::AlterInstance),
    /// `USE db` ([`database`]).
    Use(database::Use),
    /// `FLUSH …` other than `PRIVILEGES`: accepted, nothing to do ([`database`]).
    Flush,
    /// `ALTER TABLE t {DISABLE|ENABLE} KEYS` (`storage`).
    Keys(crate::storage::TableName),
    /// `PREPARE`, `EXECUTE`, `DEALLOCATE PREPARE` ([`named`]): the session's prepared
    /// statements run them, so [`Statement::execute`] refuses them.
    Named(named::NamedStatement),
    /// A statement sqlparser parsed, for storage.
    Storage(Box<ast::Statement>),
    /// A SELECT from the parse cache ([`cache`]), shared with the other sessions that send its
    /// text.
    Shared(Arc<crate::storage::SharedQuery>),
}

/// 1065 `Query was empty`.
pub(crate) fn empty_query() -> SqlError {
    SqlError::new(ErrorKind::EmptyQuery, "Query was empty")
}

impl Statement {
    /// Parses one statement.
    pub fn parse(source: &Source<'_>) -> Result<Statement, SqlError> {
        if source.is_empty() {
            return Err(empty_query());
        }
        let p = &mut Parser::new(source);
        // tlsql's grammar, by leading keywords; what it does not claim is sqlparser's.
        let ours = if account::starts(p) {
            Some(Statement::Account(account::parse(p)?))
        } else if p.at_keyword("SET") {
            Some(Statement::Set(set::Set::parse(p)?))
        } else if p.at_keyword("SHOW")
            || p.at_keyword("DESCRIBE")
            || p.at_keyword("DESC")
            || p.at_keyword("EXPLAIN")
        {
            show::parse(p)?.map(|show| match show {
                show::ShowStatement::Variables(s) => Statement::ShowVariables(s),
                show::ShowStatement::Warnings(s) => Statement::ShowWarnings(s),
                show::ShowStatement::Storage(s) => Statement::Show(s),
                show::ShowStatement::Server(s) => Statement::ServerShow(s),
            })
        } else if p.at_keywords(&["ALTER", "INSTANCE"]) {
            Some(Statement::AlterInstance(instance::AlterInstance::parse(p)?))
        } else if p.at_keywords(&["ALTER", "TABLE"]) {
            storage::parse_keys(p)?.map(Statement::Keys)
        } else if p.at_keyword("USE") {
            Some(Statement::Use(database::Use::parse(p)?))
        } else if p.at_keyword("FLUSH") {
            database::parse_flush(p);
            Some(Statement::Flush)
        } else if p.at_keyword("KILL") {
            Some(Statement::Kill(process::Kill::parse(p)?))
        } else if named::starts(p) {
            Some(Statement::Named(named::parse(p)?))
        } else if lock::starts(p) {
            Some(Statement::Lock(lock::LockStatement::parse(p)?))
        } else if transaction::starts(p) {
            Some(Statement::Begin(transaction::Begin::parse(p)?))
        } else if p.at_keywords(&["CREATE", "SCHEMA"]) {
            p.keyword("CREATE");
            let schema = p.mark();
            return parser::sqlparser_statement_as(source, schema, Keyword::DATABASE)
                .map(|s| Statement::Storage(Box::new(s)));
        } else {
            None
        };
        match ours {
            Some(statement) => Ok(statement),
            None => parser::sqlparser_statement(source).map(|s| Statement::Storage(Box::new(s))),
        }
    }

    /// Whether the statement changes data, definitions or accounts (what
    /// `MAX_UPDATES_PER_HOUR` counts, as MySQL's "updates").
    pub fn changes_data(&self) -> bool {
        use account::AccountStatement as A;
        match self {
            Statement::Account(a) => !matches!(
                a,
                A::ShowGrants { .. }
                    | A::ShowCreateUser { .. }
                    | A::FlushPrivileges
                    | A::FlushUserResources
            ),
            Statement::Storage(s) => !matches!(
                **s,
                ast::Statement::Query(_)
                    | ast::Statement::StartTransaction { .. }
                    | ast::Statement::Commit { .. }
                    | ast::Statement::Rollback { .. }
                    | ast::Statement::Savepoint { .. }
                    | ast::Statement::ReleaseSavepoint { .. }
                    | ast::Statement::Explain { .. }
                    | ast::Statement::ExplainTable { .. }
            ),
            _ => false,
        }
    }

    /// Whether the statement leaves the previous statement's warnings in place (it reads
    /// them); every other statement starts with none.
    pub fn keeps_warnings(&self) -> bool {
        matches!(self, Statement::ShowWarnings(_))
    }

    /// Runs the statement and queues its response.
    pub(crate) fn execute(self, ex: &mut Exchange<'_>) -> io::Result<()> {
        let reply = match self {
            Statement::Account(s) => account::execute_for(&s, ex),
            Statement::Set(s) => s.execute(ex),
            Statement::ShowVariables(s) => return s.execute(ex),
            Statement::ShowWarnings(s) => s.execute(ex),
            Statement::Show(s) => return storage::show(s, ex),
            Statement::AlterInstance(s) => s.execute(ex),
            Statement::Use(s) => s.execute(ex),
            Statement::Flush => Ok(super::exchange::Reply::Ok),
            Statement::Keys(table) => return storage::keys(table, ex),
            Statement::ServerShow(s) => return catalog::execute(s, ex),
            Statement::Kill(s) => s.execute(ex),
            Statement::Lock(s) => s.execute(ex),
            Statement::Begin(s) => s.execute(ex),
            // The session's prepared statements run these; COM_STMT_PREPARE refuses them.
            Statement::Named(_) => Err(named::not_in_prepared_statements()),
            Statement::Storage(s) => {
                // Held while storage runs it: table locks see what it uses.
                let shared = Arc::clone(&ex.state.shared);
                let _use = match lock::begin_statement(ex, &shared.table_locks, &s) {
                    Ok(used) => used,
                    Err(e) => return ex.send_error(&e),
                };
                return storage::execute(*s, ex);
            }
            Statement::Shared(query) => {
                let shared = Arc::clone(&ex.state.shared);
                let _use = match lock::begin_statement(ex, &shared.table_locks, query.statement()) {
                    Ok(used) => used,
                    Err(e) => return ex.send_error(&e),
                };
                return storage::execute_shared(&query, ex);
            }
        };
        ex.reply(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::tokenize;

    fn parsed(sql: &str) -> Statement {
        Statement::parse(&tokenize(sql).unwrap()).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The family a statement goes to; `storage` for what sqlparser parses, or refuses.
    fn family(sql: &str) -> String {
        match Statement::parse(&tokenize(sql).unwrap()) {
            Ok(Statement::Account(_)) => "account".into(),
            Ok(Statement::Set(_)) => "set".into(),
            Ok(Statement::ShowVariables(v)) => format!(
                "show {}{}",
                if v.global { "global " } else { "" },
                if v.status { "status" } else { "variables" }
            ),
            Ok(Statement::ShowWarnings(show::ShowWarnings::Count)) => "count warnings".into(),
            Ok(Statement::ShowWarnings(_)) => "warnings".into(),
            Ok(Statement::Show(s)) => format!("storage show {s:?}"),
            Ok(Statement::AlterInstance(_)) => "alter instance".into(),
            Ok(Statement::Use(_)) => "use".into(),
            Ok(Statement::Flush) => "flush".into(),
            Ok(Statement::Keys(t)) => format!("keys {}", t.table),
            Ok(Statement::ServerShow(s)) => format!("server show {s:?}"),
            Ok(Statement::Kill(_)) => "kill".into(),
            Ok(Statement::Lock(_)) => "lock".into(),
            Ok(Statement::Begin(_)) => "begin".into(),
            Ok(Statement::Named(_)) => "named".into(),
            Ok(Statement::Storage(s)) if matches!(*s, ast::Statement::CreateDatabase { .. }) => {
                "create database".into()
            }
            Ok(Statement::Storage(_) | Statement::Shared(_)) => "storage".into(),
            Err(e) if e.message.contains("sql parser error") => "storage".into(),
            Err(e) => panic!("{sql}: {e}"),
        }
    }

    #[test]
    fn statements_are_classified_by_their_unquoted_leading_words() {
        let cases = [
            ("set password = 'x'", "account"),
            ("SET @@session.autocommit = 1", "set"),
            ("show global status like 'Ssl%'", "show global status"),
            ("/* c */ SHOW VARIABLES", "show variables"),
            ("SHOW LOCAL VARIABLES LIKE 'a'", "show variables"),
            ("SHOW ERRORS", "warnings"),
            ("SHOW COUNT(*) WARNINGS", "count warnings"),
            ("SHOW CREATE USER root", "account"),
            (
                "SHOW CREATE TABLE t",
                "storage show CreateTable(TableName { db: None, table: \"t\" })",
            ),
            ("rename user a to b", "account"),
            ("FLUSH PRIVILEGES", "account"),
            ("FLUSH TABLES", "flush"),
            ("ALTER INSTANCE RELOAD TLS", "alter instance"),
            ("USE db", "use"),
            ("/*!40000 ALTER TABLE `t` DISABLE KEYS */", "keys t"),
            ("ALTER TABLE t ADD c INT", "storage"),
            ("`SET` x", "storage"),
            ("SELECT 'SET'", "storage"),
            (
                "SHOW PROCESSLIST",
                "server show ProcessList { full: false }",
            ),
            ("SHOW ENGINES", "server show Engines"),
            ("KILL QUERY 3", "kill"),
            ("LOCK TABLES t READ", "lock"),
            ("unlock tables", "lock"),
            ("START TRANSACTION WITH CONSISTENT SNAPSHOT", "begin"),
            ("BEGIN", "begin"),
            ("COMMIT", "storage"),
            ("SAVEPOINT a", "storage"),
            (
                "CREATE SCHEMA IF NOT EXISTS `s` DEFAULT CHARACTER SET utf8mb4",
                "create database",
            ),
            ("CREATE DATABASE d", "create database"),
            ("EXPLAIN SELECT 1", "storage"),
            ("PREPARE s FROM 'SELECT 1'", "named"),
            ("execute s", "named"),
            ("DROP PREPARE s", "named"),
            ("DROP TABLE prepare", "storage"),
        ];
        for (sql, expected) in cases {
            assert_eq!(family(sql), expected, "{sql}");
        }
    }

    #[test]
    fn empty_and_multiple_statements_are_refused() {
        let e = Statement::parse(&tokenize(" -- nothing\n").unwrap()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::EmptyQuery);
        let e = Statement::parse(&tokenize("SELECT 1; SELECT 2").unwrap()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Syntax);
        assert!(matches!(parsed("SELECT 1;"), Statement::Storage(_)));
    }
}
