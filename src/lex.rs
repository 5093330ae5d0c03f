//! SQL text as tokens, below every layer that reads statements: sqlparser's MySQL tokenizer run
//! once per query, a multi-statement query split into its statements, and MySQL's `LIKE`.
//!
//! Every later reader of a statement (tlsql's own grammar, sqlparser's parser, the count of
//! prepared-statement parameters) works on the tokens made here: nothing tokenizes a statement
//! a second time.

use sqlparser::dialect::MySqlDialect;
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer};

use crate::error::SqlError;

/// `LIKE` as MySQL matches variable names: `%`, `_`, `\` escapes, case-insensitive.
pub fn like(pattern: &str, text: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('%', rest)) => (0..=t.len()).any(|i| go(rest, &t[i..])),
            Some(('_', rest)) => !t.is_empty() && go(rest, &t[1..]),
            Some(('\\', rest)) if !rest.is_empty() => {
                !t.is_empty() && t[0].eq_ignore_ascii_case(&rest[0]) && go(&rest[1..], &t[1..])
            }
            Some((c, rest)) => !t.is_empty() && t[0].eq_ignore_ascii_case(c) && go(rest, &t[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    go(&p, &t)
}

/// One statement: its text and its tokens. Whitespace and comments are kept as tokens (the
/// account grammar tells adjacent tokens from separated ones); locations count lines and
/// characters from 1 at the start of `text`, as errors report them.
#[derive(Clone, Debug)]
pub struct Source<'a> {
    /// The statement as the client sent it.
    pub text: &'a str,
    /// Its tokens, in order.
    pub tokens: Vec<TokenWithSpan>,
}

impl Source<'_> {
    /// Whether the statement is only whitespace and comments.
    pub fn is_empty(&self) -> bool {
        self.tokens.iter().all(|t| is_trivia(&t.token))
    }

    /// The number of `?` parameters: placeholders, not question marks inside strings, quoted
    /// names or comments.
    pub fn placeholders(&self) -> usize {
        self.tokens
            .iter()
            .filter(|t| matches!(&t.token, Token::Placeholder(p) if p == "?"))
            .count()
    }
}

/// Whether a token carries no meaning (whitespace, comments).
pub fn is_trivia(token: &Token) -> bool {
    matches!(token, Token::Whitespace(_))
}

fn tokens(sql: &str) -> Result<Vec<TokenWithSpan>, SqlError> {
    Tokenizer::new(&MySqlDialect {}, sql)
        .tokenize_with_location()
        .map_err(|e| SqlError::syntax(e.to_string()))
}

/// Tokenizes one statement (a query sent without `CLIENT_MULTI_STATEMENTS`, or a prepared
/// statement).
pub fn tokenize(sql: &str) -> Result<Source<'_>, SqlError> {
    Ok(Source {
        text: sql,
        tokens: tokens(sql)?,
    })
}

/// Splits a multi-statement COM_QUERY at its semicolons (the tokenizer has already told
/// apart those inside quotes and comments), tokenizing it once. A semicolon at the end, or
/// followed only by whitespace and comments, ends the last statement instead of starting an
/// empty one.
pub fn split_statements(sql: &str) -> Result<Vec<Source<'_>>, SqlError> {
    let tokens = tokens(sql)?;
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(sql.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    // Locations count lines and characters from 1; slicing needs bytes.
    let byte_at = |at: Location| -> usize {
        let line_start = usize::try_from(at.line.saturating_sub(1))
            .ok()
            .and_then(|line| line_starts.get(line))
            .copied()
            .unwrap_or(sql.len());
        let column = usize::try_from(at.column.saturating_sub(1)).unwrap_or(usize::MAX);
        sql[line_start..]
            .char_indices()
            .nth(column)
            .map_or(sql.len(), |(i, _)| line_start + i)
    };
    let mut statements = Vec::new();
    let mut start = 0;
    let mut current = Vec::new();
    let mut has_content = false;
    let mut scanned = 0;
    for t in tokens {
        let at = byte_at(t.span.start);
        // sqlparser tokenizes the inside of a MySQL executable comment (`/*!40101 … */`) as
        // code, but locates its tokens from the start of the comment's text: such a token
        // lies before where the scan has got to, or its location holds some other character.
        // A semicolon in there does not end the statement the comment is part of.
        let located = at >= scanned && sql.as_bytes().get(at) == Some(&b';');
        scanned = scanned.max(byte_at(t.span.end));
        match t.token {
            Token::SemiColon if located && at >= start => {
                statements.push(statement(sql, start, at, std::mem::take(&mut current)));
                start = at + 1;
                has_content = false;
                continue;
            }
            Token::Whitespace(_) => {}
            _ => has_content = true,
        }
        current.push(t);
    }
    if has_content || statements.is_empty() {
        statements.push(statement(sql, start, sql.len(), current));
    }
    Ok(statements)
}

/// The statement `sql[start..end]`, its tokens' locations made relative to its own start.
fn statement(sql: &str, start: usize, end: usize, mut tokens: Vec<TokenWithSpan>) -> Source<'_> {
    let before = &sql[..start];
    let origin = Location {
        line: before.matches('\n').count() as u64 + 1,
        column: before.rsplit('\n').next().unwrap_or("").chars().count() as u64 + 1,
    };
    let rebase = |at: Location| {
        if at.line == origin.line {
            Location::new(1, at.column.saturating_sub(origin.column - 1).max(1))
        } else {
            Location::new(at.line.saturating_sub(origin.line - 1).max(1), at.column)
        }
    };
    for t in &mut tokens {
        t.span = Span::new(rebase(t.span.start), rebase(t.span.end));
    }
    Source {
        text: &sql[start..end],
        tokens,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        split_statements(sql)
            .unwrap()
            .into_iter()
            .map(|s| s.text)
            .collect()
    }

    #[test]
    fn statements_split_at_semicolons_outside_quotes_and_comments() {
        let sql = "INSERT INTO t VALUES ('a;b', \"c;d\", `e;f`); -- x;y\nSELECT 'é;' /* ; */ ; SELECT 3;  -- end";
        assert_eq!(
            texts(sql),
            vec![
                "INSERT INTO t VALUES ('a;b', \"c;d\", `e;f`)",
                " -- x;y\nSELECT 'é;' /* ; */ ",
                " SELECT 3",
            ]
        );
        assert_eq!(texts("SELECT 1;"), vec!["SELECT 1"]);
        assert_eq!(texts("SELECT 1"), vec!["SELECT 1"]);
        assert_eq!(texts(""), vec![""]);
        assert_eq!(
            texts("SELECT 1;;SELECT 2"),
            vec!["SELECT 1", "", "SELECT 2"]
        );
        assert!(split_statements("SELECT 'open; SELECT 2").is_err());
    }

    #[test]
    fn semicolons_inside_executable_comments_do_not_split() {
        assert_eq!(
            texts("/*!40101 SET a=1; SET b=2 */; SELECT 'é'; SELECT 2"),
            vec!["/*!40101 SET a=1; SET b=2 */", " SELECT 'é'", " SELECT 2"]
        );
        assert_eq!(
            texts("SELECT 1; /*!40101 SET @x=';' */; SELECT 3"),
            vec!["SELECT 1", " /*!40101 SET @x=';' */", " SELECT 3"]
        );
        // Found by the `statement` fuzz target: the location sqlparser gave a semicolon in the
        // comment fell inside a two-byte character, and slicing there panicked.
        let found = "  ;;;;/*!4\u{181}\0\0*;; @;;;\0\0\u{6}\0@\0\u{181}\0\0*/@";
        let statements = texts(found);
        assert_eq!(
            statements.concat().len() + statements.len() - 1,
            found.len()
        );
    }

    #[test]
    fn each_statement_has_its_own_tokens_located_from_its_start() {
        let statements = split_statements("SELECT 1;\n SELECT\n'x' ; SET @a = 2").unwrap();
        let significant = |s: &Source<'_>| -> Vec<String> {
            s.tokens
                .iter()
                .filter(|t| !is_trivia(&t.token))
                .map(|t| format!("{}@{}:{}", t.token, t.span.start.line, t.span.start.column))
                .collect()
        };
        assert_eq!(significant(&statements[0]), ["SELECT@1:1", "1@1:8"]);
        assert_eq!(significant(&statements[1]), ["SELECT@2:2", "'x'@3:1"]);
        assert_eq!(
            significant(&statements[2]),
            ["SET@1:2", "@a@1:6", "=@1:9", "2@1:11"]
        );
    }

    #[test]
    fn placeholders_are_tokens_not_question_marks() {
        let source = tokenize("SELECT ?, '?', `?`, \"?\" /* ? */ FROM t WHERE a = ? -- ?").unwrap();
        assert_eq!(source.placeholders(), 2);
        assert!(tokenize(" /* nothing */ ").unwrap().is_empty());
        assert!(!source.is_empty());
    }

    #[test]
    fn like_matches_mysql_style() {
        assert!(like("Ssl%", "Ssl_cipher"));
        assert!(like("ssl\\_cipher", "Ssl_cipher"));
        assert!(!like("ssl\\_cipher", "SslXcipher"));
        assert!(like("Ssl_server_not%", "Ssl_server_not_after"));
        assert!(!like("Ssl-cipher", "Ssl_cipher"));
        assert!(like("%", ""));
    }
}
