//! The cursor tlsql's own grammar reads a statement's tokens with, and the hand-over of the
//! same tokens (never the text) to sqlparser for the expressions and statements it parses.
//!
//! Keywords are compared without regard to case and only against unquoted words, so
//! `` `SET` `` is a name, not a keyword.

use sqlparser::ast;
use sqlparser::dialect::MySqlDialect;
use sqlparser::tokenizer::{Location, Token, TokenWithSpan};

use crate::error::{ErrorKind, SqlError};
use crate::lex::{Source, is_trivia};

/// A position in one statement's tokens.
pub(crate) struct Parser<'a> {
    sql: &'a str,
    tokens: &'a [TokenWithSpan],
    /// The next token to read; grammar rules set it back to retry or to point an error at an
    /// earlier token.
    pub(crate) pos: usize,
}

impl<'a> Parser<'a> {
    /// A parser at the start of `source`.
    pub(crate) fn new(source: &'a Source<'a>) -> Self {
        Self {
            sql: source.text,
            tokens: &source.tokens,
            pos: 0,
        }
    }

    fn skip_trivia(&mut self) {
        while self
            .tokens
            .get(self.pos)
            .is_some_and(|t| is_trivia(&t.token))
        {
            self.pos += 1;
        }
    }

    /// The next significant token.
    pub(crate) fn peek(&mut self) -> Option<&'a Token> {
        self.skip_trivia();
        self.tokens.get(self.pos).map(|t| &t.token)
    }

    /// The next token without skipping whitespace (to tell adjacent tokens apart).
    pub(crate) fn peek_raw(&self) -> Option<&'a Token> {
        self.tokens.get(self.pos).map(|t| &t.token)
    }

    /// The position of the next significant token (to come back to it for an error).
    pub(crate) fn mark(&mut self) -> usize {
        self.skip_trivia();
        self.pos
    }

    /// Takes the next significant token.
    pub(crate) fn advance(&mut self) -> Option<&'a Token> {
        let t = self.peek();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    /// Whether the next token is the unquoted keyword `kw` (not consumed).
    pub(crate) fn at_keyword(&mut self, kw: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw))
    }

    /// Consumes the keyword `kw` if it is next.
    pub(crate) fn keyword(&mut self, kw: &str) -> bool {
        let found = self.at_keyword(kw);
        if found {
            self.pos += 1;
        }
        found
    }

    /// Consumes the keywords `kws` if they all come next.
    pub(crate) fn keywords(&mut self, kws: &[&str]) -> bool {
        let start = self.pos;
        if kws.iter().all(|kw| self.keyword(kw)) {
            return true;
        }
        self.pos = start;
        false
    }

    /// Whether the keywords `kws` come next (none consumed).
    pub(crate) fn at_keywords(&mut self, kws: &[&str]) -> bool {
        let start = self.pos;
        let found = self.keywords(kws);
        self.pos = start;
        found
    }

    pub(crate) fn expect_keyword(&mut self, kw: &str) -> Result<(), SqlError> {
        if self.keyword(kw) {
            Ok(())
        } else {
            Err(self.error(&format!("expected {kw}")))
        }
    }

    /// Consumes `expected` if it is next.
    pub(crate) fn token(&mut self, expected: &Token) -> bool {
        let found = self.peek() == Some(expected);
        if found {
            self.pos += 1;
        }
        found
    }

    pub(crate) fn expect_token(&mut self, expected: &Token, what: &str) -> Result<(), SqlError> {
        if self.token(expected) {
            Ok(())
        } else {
            Err(self.error(&format!("expected {what}")))
        }
    }

    /// A string literal (`'…'` or `"…"`).
    pub(crate) fn string(&mut self, what: &str) -> Result<String, SqlError> {
        match self.peek() {
            Some(Token::SingleQuotedString(s) | Token::DoubleQuotedString(s)) => {
                self.pos += 1;
                Ok(s.clone())
            }
            _ => Err(self.error(&format!("expected {what} as a quoted string"))),
        }
    }

    /// A name: a word, quoted or not.
    pub(crate) fn name(&mut self, what: &str) -> Result<String, SqlError> {
        match self.peek() {
            Some(Token::Word(w)) => {
                self.pos += 1;
                Ok(w.value.clone())
            }
            _ => Err(self.error(&format!("expected {what}"))),
        }
    }

    /// Whether only an optional semicolon is left.
    pub(crate) fn at_end(&mut self) -> bool {
        let start = self.pos;
        self.token(&Token::SemiColon);
        let end = self.peek().is_none();
        self.pos = start;
        end
    }

    /// The statement ends here (a semicolon may end it).
    pub(crate) fn end(&mut self) -> Result<(), SqlError> {
        self.token(&Token::SemiColon);
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.error("unexpected text after the end of the statement")),
        }
    }

    /// An expression, parsed by sqlparser from the tokens at the cursor; the cursor moves past
    /// it.
    pub(crate) fn expr(&mut self) -> Result<ast::Expr, SqlError> {
        self.skip_trivia();
        let mut parser = sqlparser::parser::Parser::new(&MySqlDialect {})
            .with_tokens_with_locations(self.tokens[self.pos..].to_vec());
        let expr = parser
            .parse_expr()
            .map_err(|e| SqlError::syntax(e.to_string()))?;
        self.pos += parser.index();
        Ok(expr)
    }

    /// Moves to the end, for a rule that reads no further.
    pub(crate) fn skip_rest(&mut self) {
        self.pos = self.tokens.len();
    }

    /// The significant tokens from the cursor to the end (a final semicolon left out),
    /// separated by spaces: how an error names a statement tlsql does not support.
    pub(crate) fn rest_text(&self) -> String {
        let mut words: Vec<String> = self.tokens[self.pos.min(self.tokens.len())..]
            .iter()
            .filter(|t| !is_trivia(&t.token))
            .map(|t| t.token.to_string())
            .collect();
        if words.last().is_some_and(|w| w == ";") {
            words.pop();
        }
        words.join(" ")
    }

    /// 1064 in MySQL's words, pointing at the current token, plus what was expected.
    pub(crate) fn error(&mut self, expected: &str) -> SqlError {
        self.skip_trivia();
        let (rest, line) = match self.tokens.get(self.pos) {
            Some(t) => (
                &self.sql[byte_offset(self.sql, t.span.start)..],
                t.span.start.line,
            ),
            None => ("", self.sql.lines().count().max(1) as u64),
        };
        let near: String = rest.chars().take(80).collect();
        SqlError::syntax(format!(
            "check the manual that corresponds to your MySQL server version for the right syntax to use near '{near}' at line {line} ({expected})"
        ))
    }
}

/// Parses a whole statement with sqlparser (the statements tlsql's grammar leaves to it:
/// queries, DML, DDL, transactions).
pub(crate) fn sqlparser_statement(source: &Source<'_>) -> Result<ast::Statement, SqlError> {
    let mut statements = sqlparser::parser::Parser::new(&MySqlDialect {})
        .with_tokens_with_locations(source.tokens.clone())
        .parse_statements()
        .map_err(|e| SqlError::syntax(e.to_string()))?;
    match statements.len() {
        1 => Ok(statements.remove(0)),
        0 => Err(SqlError::new(ErrorKind::EmptyQuery, "Query was empty")),
        _ => Err(SqlError::syntax(
            "multi-statements are not supported; send one statement per query",
        )),
    }
}

/// Byte offset of a tokenizer location (1-based line and character column).
fn byte_offset(sql: &str, loc: Location) -> usize {
    let mut line = 1;
    let mut col = 1;
    for (i, c) in sql.char_indices() {
        if line == loc.line && col == loc.column {
            return i;
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    sql.len()
}
