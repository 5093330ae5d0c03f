//! Prepared statements by name, in SQL: `PREPARE name FROM 'text' | @variable`,
//! `EXECUTE name [USING @a, …]` and `{DEALLOCATE | DROP} PREPARE name`. The session's prepared
//! statements run them (`sql::prepared`), as they run COM_STMT_PREPARE's; drivers use the
//! commands, people at the `mysql` prompt and stored scripts use these.
//!
//! <https://dev.mysql.com/doc/refman/8.0/en/sql-prepared-statements.html>

use sqlparser::tokenizer::Token;

use super::parser::Parser;
use crate::error::{ErrorKind, SqlError};

/// Where `PREPARE` takes the statement's text from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PreparedText {
    /// A string literal.
    Literal(String),
    /// A user variable's value (`@name`, without the `@`).
    Variable(String),
}

/// One of the three statements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamedStatement {
    /// `PREPARE name FROM …`.
    Prepare {
        /// The statement's name, as written.
        name: String,
        /// Its text.
        text: PreparedText,
    },
    /// `EXECUTE name [USING @a, …]`.
    Execute {
        /// The statement's name, as written.
        name: String,
        /// The user variables bound to its parameters, in order, without the `@`.
        using: Vec<String>,
    },
    /// `DEALLOCATE PREPARE name`, `DROP PREPARE name`.
    Deallocate {
        /// The statement's name, as written.
        name: String,
    },
}

/// 1295, MySQL's answer to COM_STMT_PREPARE of one of these statements.
pub(crate) fn not_in_prepared_statements() -> SqlError {
    SqlError::new(
        ErrorKind::UnsupportedInPreparedStatements,
        "This command is not supported in the prepared statement protocol yet",
    )
}

/// Whether the parser is at one of the three statements.
pub(crate) fn starts(p: &mut Parser<'_>) -> bool {
    p.at_keyword("PREPARE")
        || p.at_keyword("EXECUTE")
        || p.at_keywords(&["DEALLOCATE", "PREPARE"])
        || p.at_keywords(&["DROP", "PREPARE"])
}

/// Parses one of the three statements (the parser is at its first keyword).
pub(crate) fn parse(p: &mut Parser<'_>) -> Result<NamedStatement, SqlError> {
    let statement = if p.keyword("PREPARE") {
        let name = p.name("a statement name")?;
        p.expect_keyword("FROM")?;
        let text = match user_variable(p) {
            Some(variable) => PreparedText::Variable(variable),
            None => PreparedText::Literal(p.string("the statement to prepare")?),
        };
        NamedStatement::Prepare { name, text }
    } else if p.keyword("EXECUTE") {
        let name = p.name("a statement name")?;
        let mut using = Vec::new();
        if p.keyword("USING") {
            loop {
                match user_variable(p) {
                    Some(variable) => using.push(variable),
                    None => return Err(p.error("expected a user variable (@name)")),
                }
                if !p.token(&Token::Comma) {
                    break;
                }
            }
        }
        NamedStatement::Execute { name, using }
    } else {
        if !p.keyword("DEALLOCATE") {
            p.expect_keyword("DROP")?;
        }
        p.expect_keyword("PREPARE")?;
        NamedStatement::Deallocate {
            name: p.name("a statement name")?,
        }
    };
    p.end()?;
    Ok(statement)
}

/// A user variable at the cursor (`@name`), without its `@`; the cursor moves past it.
fn user_variable(p: &mut Parser<'_>) -> Option<String> {
    let name = match p.peek() {
        Some(Token::Word(w)) => w.value.strip_prefix('@')?,
        _ => return None,
    };
    if name.is_empty() || name.starts_with('@') {
        return None;
    }
    let name = name.to_string();
    p.advance();
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::tokenize;

    fn parsed(sql: &str) -> Result<NamedStatement, SqlError> {
        let source = tokenize(sql).unwrap();
        let p = &mut Parser::new(&source);
        assert!(starts(p), "{sql}");
        parse(p)
    }

    #[test]
    fn the_three_statements_and_their_forms() {
        assert_eq!(
            parsed("PREPARE s FROM 'SELECT ?'").unwrap(),
            NamedStatement::Prepare {
                name: "s".into(),
                text: PreparedText::Literal("SELECT ?".into())
            }
        );
        assert_eq!(
            parsed("prepare S1 from @q;").unwrap(),
            NamedStatement::Prepare {
                name: "S1".into(),
                text: PreparedText::Variable("q".into())
            }
        );
        assert_eq!(
            parsed("EXECUTE s USING @a, @b").unwrap(),
            NamedStatement::Execute {
                name: "s".into(),
                using: vec!["a".into(), "b".into()]
            }
        );
        assert_eq!(
            parsed("EXECUTE s").unwrap(),
            NamedStatement::Execute {
                name: "s".into(),
                using: vec![]
            }
        );
        for sql in ["DEALLOCATE PREPARE s", "DROP PREPARE s"] {
            assert_eq!(
                parsed(sql).unwrap(),
                NamedStatement::Deallocate { name: "s".into() }
            );
        }
    }

    #[test]
    fn malformed_forms_are_syntax_errors() {
        for sql in [
            "PREPARE s 'SELECT 1'",
            "PREPARE s FROM 42",
            "EXECUTE s USING 1",
            "EXECUTE s USING @@version",
            "EXECUTE s USING @a,",
            "DEALLOCATE PREPARE",
            "EXECUTE s t",
        ] {
            let e = parsed(sql).unwrap_err();
            assert_eq!(e.code(), 1064, "{sql}: {e}");
        }
    }
}
