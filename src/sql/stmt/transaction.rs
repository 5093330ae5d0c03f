//! Starting a transaction: `START TRANSACTION` and `BEGIN`, in MySQL's grammar (sqlparser's
//! refuses `WITH CONSISTENT SNAPSHOT`). Storage opens the SQLite transaction; the server first
//! releases the session's table locks, as MySQL does.
//!
//! ```text
//! START TRANSACTION [characteristic [, characteristic]…]
//!   characteristic: WITH CONSISTENT SNAPSHOT | READ WRITE | READ ONLY
//! BEGIN [WORK]
//! ```
//!
//! A transaction that may write takes SQLite's write lock when it starts (storage's choice, so
//! that it never fails later for a write it could not make). One `WITH CONSISTENT SNAPSHOT` is a
//! reading one, as `mysqldump --single-transaction` uses it: it starts without the write lock,
//! so writers are not held up, and each database it reads is read from one snapshot, taken when
//! the transaction first reads that database. A write in it waits for the write lock and fails
//! (1213 deadlock, as in MySQL, where a snapshot can conflict too) if another session committed a
//! write to that database after the snapshot.

use sqlparser::ast::{self, BeginTransactionKind, TransactionAccessMode, TransactionMode};
use sqlparser::tokenizer::Token;

use super::parser::Parser;
use crate::error::SqlError;
use crate::sql::exchange::{Exchange, Reply};

/// A parsed `START TRANSACTION` / `BEGIN`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Begin {
    /// `READ ONLY` (true), `READ WRITE` (false), or neither.
    pub read_only: Option<bool>,
    /// `WITH CONSISTENT SNAPSHOT`.
    pub consistent_snapshot: bool,
}

/// Whether the statement starts a transaction (nothing consumed): `START TRANSACTION`, or
/// `BEGIN` alone or with `WORK`.
pub(super) fn starts(p: &mut Parser<'_>) -> bool {
    if p.at_keywords(&["START", "TRANSACTION"]) {
        return true;
    }
    let start = p.pos;
    let begin = p.keyword("BEGIN") && {
        p.keyword("WORK");
        p.at_end()
    };
    p.pos = start;
    begin
}

impl Begin {
    /// Parses the statement [`starts`] recognised.
    pub(crate) fn parse(p: &mut Parser<'_>) -> Result<Begin, SqlError> {
        let mut begin = Begin::default();
        if p.keyword("BEGIN") {
            p.keyword("WORK");
            p.end()?;
            return Ok(begin);
        }
        p.expect_keyword("START")?;
        p.expect_keyword("TRANSACTION")?;
        if p.at_end() {
            p.end()?;
            return Ok(begin);
        }
        loop {
            if p.keywords(&["WITH", "CONSISTENT", "SNAPSHOT"]) {
                begin.consistent_snapshot = true;
            } else if p.keywords(&["READ", "ONLY"]) {
                begin.read_only = Some(true);
            } else if p.keywords(&["READ", "WRITE"]) {
                begin.read_only = Some(false);
            } else {
                return Err(p.error("expected WITH CONSISTENT SNAPSHOT, READ ONLY or READ WRITE"));
            }
            if !p.token(&Token::Comma) {
                break;
            }
        }
        p.end()?;
        Ok(begin)
    }

    /// Releases the session's table locks and has storage start the transaction.
    pub(crate) fn execute(self, ex: &mut Exchange<'_>) -> Result<Reply, SqlError> {
        ex.state.shared.table_locks.unlock_tables(ex.state.id);
        let modes = match self.read_only {
            Some(true) => vec![TransactionMode::AccessMode(TransactionAccessMode::ReadOnly)],
            Some(false) => vec![TransactionMode::AccessMode(
                TransactionAccessMode::ReadWrite,
            )],
            None => Vec::new(),
        };
        let statement = ast::Statement::StartTransaction {
            modes,
            begin: false,
            transaction: Some(BeginTransactionKind::Transaction),
            // Storage opens a deferred (reading) transaction for a consistent snapshot.
            modifier: self
                .consistent_snapshot
                .then_some(ast::TransactionModifier::Deferred),
            statements: Vec::new(),
            exception: None,
            has_end_keyword: false,
        };
        super::set::evaluate_query(ex, statement)?;
        Ok(Reply::Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::tokenize;

    fn parsed(sql: &str) -> Option<Result<Begin, SqlError>> {
        let source = tokenize(sql).unwrap();
        let p = &mut Parser::new(&source);
        starts(p).then(|| Begin::parse(p))
    }

    #[test]
    fn begin_forms() {
        assert_eq!(parsed("BEGIN").unwrap().unwrap(), Begin::default());
        assert_eq!(parsed("begin work;").unwrap().unwrap(), Begin::default());
        assert_eq!(
            parsed("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
                .unwrap()
                .unwrap(),
            Begin {
                read_only: Some(true),
                consistent_snapshot: true
            }
        );
        assert_eq!(
            parsed("START TRANSACTION READ WRITE").unwrap().unwrap(),
            Begin {
                read_only: Some(false),
                consistent_snapshot: false
            }
        );
        assert_eq!(
            parsed("START TRANSACTION WITH SNAPSHOT")
                .unwrap()
                .unwrap_err()
                .code(),
            1064
        );
        assert!(parsed("BEGIN NOT ATOMIC SELECT 1; END").is_none());
        assert!(parsed("STARTING").is_none());
    }
}
