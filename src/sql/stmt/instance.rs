//! `ALTER INSTANCE RELOAD TLS [FOR CHANNEL mysql_main] [NO ROLLBACK ON ERROR]`: the TLS
//! context built again from the configured files, for new connections.
//!
//! Other `ALTER INSTANCE` actions are 1235. `NO ROLLBACK ON ERROR` lets a failed reload
//! disable TLS (with a warning) instead of keeping the old context, unless
//! `require_secure_transport` is ON.

use sqlparser::tokenizer::Token;

use super::parser::Parser;
use crate::auth::privileges::Privilege;
use crate::error::{ErrorKind, SqlError};
use crate::sql::exchange::{Exchange, Reply};
use crate::tls::ReloadOutcome;

/// A parsed `ALTER INSTANCE RELOAD TLS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlterInstance {
    /// `NO ROLLBACK ON ERROR` was given.
    pub no_rollback: bool,
}

impl AlterInstance {
    /// Parses `ALTER INSTANCE …` (the parser is at `ALTER`).
    pub(crate) fn parse(p: &mut Parser<'_>) -> Result<AlterInstance, SqlError> {
        let start = p.pos;
        let mut words = Vec::new();
        while !p.at_end() {
            match p.advance() {
                Some(Token::Word(w)) if w.quote_style.is_none() => {
                    words.push(w.value.to_ascii_uppercase())
                }
                _ => {
                    // Every form of ALTER INSTANCE is keywords and names: anything else is a
                    // statement tlsql does not know.
                    p.pos = start;
                    return Err(SqlError::not_supported(p.rest_text()));
                }
            }
        }
        if words.get(2..4) != Some(&["RELOAD".to_string(), "TLS".to_string()][..]) {
            p.pos = start;
            return Err(SqlError::not_supported(p.rest_text()));
        }
        let mut rest = &words[4..];
        if rest.len() >= 3 && rest[0] == "FOR" && rest[1] == "CHANNEL" {
            if !rest[2].eq_ignore_ascii_case("mysql_main") {
                return Err(SqlError::new(
                    ErrorKind::WrongArguments,
                    format!(
                        "Incorrect arguments to ALTER INSTANCE RELOAD TLS: unknown channel '{}'",
                        rest[2].to_ascii_lowercase()
                    ),
                ));
            }
            rest = &rest[3..];
        }
        let no_rollback = match rest {
            [] => false,
            [a, b, c, d] if [a, b, c, d] == ["NO", "ROLLBACK", "ON", "ERROR"] => true,
            _ => return Err(SqlError::syntax(format!("near '{}'", rest.join(" ")))),
        };
        Ok(AlterInstance { no_rollback })
    }

    /// Reloads TLS as the logged-in account, which needs `CONNECTION_ADMIN` or `SUPER`.
    pub(crate) fn execute(self, ex: &mut Exchange<'_>) -> Result<Reply, SqlError> {
        let state = &mut *ex.state;
        state.require_any_privilege(&[Privilege::ConnectionAdmin, Privilege::Super])?;
        let who = format!(
            "'{}'@'{}'",
            crate::logging::field(&state.identity.user),
            state.identity.client_host
        );
        let failed = |reason: &dyn std::fmt::Display| {
            format!("Failed to set up SSL because of the following SSL library error: {reason}")
        };
        match state.shared.reload_tls(self.no_rollback) {
            Ok(ReloadOutcome::Reloaded) => {
                log::info!(
                    "ALTER INSTANCE RELOAD TLS by {who}: new connections use the reloaded context"
                );
            }
            Ok(ReloadOutcome::Disabled(reason)) => {
                state
                    .warnings
                    .push(SqlError::new(ErrorKind::SslLibrary, failed(&reason)));
            }
            Err(e) => return Err(SqlError::new(ErrorKind::SslLibrary, failed(&e))),
        }
        Ok(Reply::Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::tokenize;

    fn parsed(sql: &str) -> Result<AlterInstance, SqlError> {
        let source = tokenize(sql).unwrap();
        AlterInstance::parse(&mut Parser::new(&source))
    }

    #[test]
    fn reload_tls_forms() {
        assert_eq!(
            parsed("ALTER INSTANCE RELOAD TLS"),
            Ok(AlterInstance { no_rollback: false })
        );
        assert_eq!(
            parsed("alter instance reload tls for channel MYSQL_MAIN no rollback on error"),
            Ok(AlterInstance { no_rollback: true })
        );
        let e = parsed("ALTER INSTANCE RELOAD TLS FOR CHANNEL other").unwrap_err();
        assert_eq!(
            (e.code(), e.message.as_str()),
            (
                1210,
                "Incorrect arguments to ALTER INSTANCE RELOAD TLS: unknown channel 'other'"
            )
        );
        let e = parsed("ALTER INSTANCE ROTATE INNODB MASTER KEY").unwrap_err();
        assert_eq!(
            e.message,
            "This version of tlsql doesn't yet support 'ALTER INSTANCE ROTATE INNODB MASTER KEY'"
        );
        assert_eq!(
            parsed("ALTER INSTANCE RELOAD TLS NOW").unwrap_err().code(),
            1064
        );
    }
}
