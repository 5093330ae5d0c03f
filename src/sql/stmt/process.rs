//! Sessions seen and stopped from another: `SHOW [FULL] PROCESSLIST` and
//! `KILL [CONNECTION | QUERY] id`, over the server's registry of local sessions
//! ([`crate::instance::sessions`]).
//!
//! ```text
//! KILL [CONNECTION | QUERY] expr
//! ```
//!
//! As in MySQL: without `PROCESS` a session lists only the sessions of its own user name; it
//! may kill those, and any with `CONNECTION_ADMIN` or `SUPER` (else 1095); an unknown id is
//! 1094. A killed statement fails with 1317; a killed connection closes after its current
//! statement (at once if it waits for its client). `KILL` of the session's own connection
//! answers 1317 and closes it.

use std::io;

use sqlparser::ast::Expr;
use sqlparser::tokenizer::Token;

use super::parser::Parser;
use crate::auth::privileges::Privilege;
use crate::error::{ErrorKind, SqlError};
use crate::instance::locks::interrupted;
use crate::instance::sessions::Kill as KillMode;
use crate::protocol::value::{Column, Value};
use crate::sql::exchange::{Exchange, Reply};

/// A parsed `KILL`.
#[derive(Clone, Debug, PartialEq)]
pub struct Kill {
    /// `QUERY`: only the running statement.
    pub query: bool,
    /// The connection id.
    pub id: KillTarget,
}

/// The id `KILL` names.
#[derive(Clone, Debug, PartialEq)]
pub enum KillTarget {
    /// A number.
    Id(u64),
    /// An expression (`KILL CONNECTION_ID()`), evaluated by storage.
    Expr(Box<Expr>),
}

impl Kill {
    /// Parses `KILL …` (the parser is at `KILL`).
    pub(crate) fn parse(p: &mut Parser<'_>) -> Result<Kill, SqlError> {
        p.expect_keyword("KILL")?;
        let query = p.keyword("QUERY");
        if !query {
            p.keyword("CONNECTION");
        }
        let start = p.mark();
        let id = match p.advance() {
            Some(Token::Number(n, _)) if p.at_end() => match n.parse() {
                Ok(id) => KillTarget::Id(id),
                Err(_) => {
                    p.pos = start;
                    KillTarget::Expr(Box::new(p.expr()?))
                }
            },
            _ => {
                p.pos = start;
                KillTarget::Expr(Box::new(p.expr()?))
            }
        };
        p.end()?;
        Ok(Kill { query, id })
    }

    /// Marks the session and stops what it does.
    pub(crate) fn execute(self, ex: &mut Exchange<'_>) -> Result<Reply, SqlError> {
        let value = match self.id {
            KillTarget::Id(id) => Value::UInt(id),
            KillTarget::Expr(expr) => super::set::evaluate(ex, *expr)?,
        };
        let shown = value
            .to_text()
            .map(|t| String::from_utf8_lossy(&t).into_owned())
            .unwrap_or_else(|| "NULL".into());
        let unknown = || {
            SqlError::new(
                ErrorKind::NoSuchThread,
                format!("Unknown thread id: {shown}"),
            )
        };
        let id = match value {
            Value::Int(i) => u32::try_from(i).ok(),
            Value::UInt(u) => u32::try_from(u).ok(),
            Value::Text(t) => t.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(unknown)?;
        let target = ex.state.shared.sessions.get(id).ok_or_else(unknown)?;
        let own_user = target.activity().account.user == ex.state.identity.account_user;
        if !own_user {
            ex.state
                .require_any_privilege(&[Privilege::ConnectionAdmin, Privilege::Super])
                .map_err(|_| {
                    SqlError::new(
                        ErrorKind::KillDenied,
                        format!("You are not owner of thread {id}"),
                    )
                })?;
        }
        let mode = if self.query {
            KillMode::Query
        } else {
            KillMode::Connection
        };
        if id == ex.state.id {
            target.mark(mode);
        } else {
            target.kill(mode);
        }
        log::info!(
            "session {}: KILL {}{id} by '{}'@'{}'",
            ex.state.id,
            if self.query { "QUERY " } else { "" },
            crate::logging::field(&ex.state.identity.user),
            ex.state.identity.client_host
        );
        if id == ex.state.id {
            return Err(interrupted());
        }
        Ok(Reply::Ok)
    }
}

/// `SHOW [FULL] PROCESSLIST`.
pub(super) fn show(full: bool, ex: &mut Exchange<'_>) -> io::Result<()> {
    let rows = ex.state.process_rows(full);
    ex.send_rows(
        &[
            Column::int("Id"),
            Column::text("User"),
            Column::text("Host"),
            Column::text("db"),
            Column::text("Command"),
            Column::int("Time"),
            Column::text("State"),
            Column::text("Info"),
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::tokenize;

    fn parsed(sql: &str) -> Result<Kill, SqlError> {
        let source = tokenize(sql).unwrap();
        Kill::parse(&mut Parser::new(&source))
    }

    #[test]
    fn kill_forms() {
        assert_eq!(
            parsed("KILL 12").unwrap(),
            Kill {
                query: false,
                id: KillTarget::Id(12)
            }
        );
        assert_eq!(
            parsed("kill connection 7;").unwrap(),
            Kill {
                query: false,
                id: KillTarget::Id(7)
            }
        );
        let k = parsed("KILL QUERY CONNECTION_ID()").unwrap();
        assert!(k.query);
        assert!(matches!(k.id, KillTarget::Expr(e) if e.to_string() == "CONNECTION_ID()"));
        assert!(matches!(
            parsed("KILL 3 + 4").unwrap().id,
            KillTarget::Expr(_)
        ));
        assert_eq!(parsed("KILL").unwrap_err().code(), 1064);
        assert_eq!(parsed("KILL 1 2").unwrap_err().code(), 1064);
    }
}
