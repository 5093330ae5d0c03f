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
//! | [`instance`] | `ALTER INSTANCE RELOAD TLS` |
//! | [`database`] | `USE`, `FLUSH` (other than `PRIVILEGES`) |
//! | `storage` | everything else: queries, DML, DDL, transactions |
//!
//! A new statement is a variant of [`Statement`], a file with its `parse` and `execute`, and a
//! line in [`Statement::parse`] where its leading keywords are recognised.

pub mod account;
pub mod database;
pub mod instance;
pub(crate) mod parser;
mod query;
pub mod set;
pub mod show;
mod storage;

use std::io;

use sqlparser::ast;

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
    /// `ALTER INSTANCE …` ([`instance`]).
    AlterInstance(instance::AlterInstance),
    /// `USE db` ([`database`]).
    Use(database::Use),
    /// `FLUSH …` other than `PRIVILEGES`: accepted, nothing to do ([`database`]).
    Flush,
    /// A statement sqlparser parsed, for storage.
    Storage(Box<ast::Statement>),
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
            })
        } else if p.at_keywords(&["ALTER", "INSTANCE"]) {
            Some(Statement::AlterInstance(instance::AlterInstance::parse(p)?))
        } else if p.at_keyword("USE") {
            Some(Statement::Use(database::Use::parse(p)?))
        } else if p.at_keyword("FLUSH") {
            database::parse_flush(p);
            Some(Statement::Flush)
        } else {
            None
        };
        match ours {
            Some(statement) => Ok(statement),
            None => parser::sqlparser_statement(source).map(|s| Statement::Storage(Box::new(s))),
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
            Statement::Storage(s) => return storage::execute(*s, ex),
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
            Ok(Statement::Storage(_)) => "storage".into(),
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
            ("`SET` x", "storage"),
            ("SELECT 'SET'", "storage"),
            ("SHOW PROCESSLIST", "storage"),
            ("EXPLAIN SELECT 1", "storage"),
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
