//! SQL text as tokens, below every layer that reads statements: sqlparser's MySQL tokenizer
//! without whitespace and comments, splitting a multi-statement query, and MySQL's `LIKE`.

use sqlparser::dialect::MySqlDialect;
use sqlparser::tokenizer::{Location, Token, Tokenizer};

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

/// Significant tokens of a statement (no whitespace or comments).
pub fn tokenize(sql: &str) -> Result<Vec<Token>, SqlError> {
    let tokens = Tokenizer::new(&MySqlDialect {}, sql)
        .tokenize()
        .map_err(|e| SqlError::syntax(e.to_string()))?;
    Ok(tokens
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect())
}

/// Splits a multi-statement COM_QUERY at its semicolons (the tokenizer has already told
/// apart those inside quotes and comments). A semicolon at the end, or followed only by
/// whitespace and comments, ends the last statement instead of starting an empty one.
pub fn split_statements(sql: &str) -> Result<Vec<&str>, SqlError> {
    let tokens = Tokenizer::new(&MySqlDialect {}, sql)
        .tokenize_with_location()
        .map_err(|e| SqlError::syntax(e.to_string()))?;
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
    let mut has_content = false;
    let mut scanned = 0;
    for t in &tokens {
        let at = byte_at(t.span.start);
        // sqlparser tokenizes the inside of a MySQL executable comment (`/*!40101 … */`) as
        // code, but locates its tokens from the start of the comment's text: such a token
        // lies before where the scan has got to, or its location holds some other character.
        // A semicolon in there does not end the statement the comment is part of.
        let located = at >= scanned && sql.as_bytes().get(at) == Some(&b';');
        scanned = scanned.max(byte_at(t.span.end));
        match t.token {
            Token::SemiColon if located && at >= start => {
                statements.push(&sql[start..at]);
                start = at + 1;
                has_content = false;
            }
            Token::Whitespace(_) => {}
            _ => has_content = true,
        }
    }
    if has_content || statements.is_empty() {
        statements.push(&sql[start..]);
    }
    Ok(statements)
}
