//! `USE db`, and `FLUSH` other than `FLUSH PRIVILEGES` (which is an account statement).

use super::parser::Parser;
use crate::error::SqlError;
use crate::sql::context::use_database;
use crate::sql::exchange::{Exchange, Reply};

/// `USE db`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Use {
    /// The database.
    pub db: String,
}

impl Use {
    /// Parses `USE db` (the parser is at `USE`).
    pub(crate) fn parse(p: &mut Parser<'_>) -> Result<Use, SqlError> {
        p.expect_keyword("USE")?;
        let db = p.name("a database name")?;
        p.end()?;
        Ok(Use { db })
    }

    /// Makes `db` the default database.
    pub(crate) fn execute(self, ex: &mut Exchange<'_>) -> Result<Reply, SqlError> {
        use_database(ex.engine, ex.state, &self.db)?;
        Ok(Reply::Ok)
    }
}

/// `FLUSH …` other than `PRIVILEGES`: tables, logs, hosts, status have nothing to flush here
/// (SQLite writes through, counters are live), so the statement is accepted as it is.
pub(crate) fn parse_flush(p: &mut Parser<'_>) {
    p.skip_rest();
}
