//! `SHOW DATABASES`, `SHOW TABLES`, `SHOW COLUMNS`/`DESCRIBE`, `SHOW CREATE TABLE|DATABASE`,
//! answered from the database files and the catalog of MySQL definitions.
//!
//! These are recognised from tokens (sqlparser's MySQL dialect does not parse all of MySQL's
//! forms), and anything else falls through to the statement parser.

use sqlparser::ast::Statement;
use sqlparser::tokenizer::Token;

use super::engine::{EngineSession, no_such_table, tables_of, unknown_database};
use super::translate::{self, TableRef, quote};
use super::types::sql_error;
use super::{ExecError, Outcome, RowSink, SessionContext};
use crate::auth::privileges::Privilege;
use crate::error::SqlError;
use crate::protocol::value::{Column, Value};

/// Runs the statement of `tokens` if it is one of the SHOW forms above.
pub(super) fn run(
    session: &mut EngineSession,
    tokens: &[Token],
    ctx: &dyn SessionContext,
    sink: &mut dyn RowSink,
) -> Result<Option<Outcome>, ExecError> {
    let mut cur = Cursor { tokens, at: 0 };
    let first = cur.keyword();
    let result = match first.as_deref() {
        Some("DESCRIBE" | "DESC") => {
            let target = cur.table(session.current.as_deref())?;
            columns(session, &target, None, ctx)?
        }
        Some("EXPLAIN") if matches!(cur.peek_word().as_deref(), Some(w) if !is_statement_keyword(w)) =>
        {
            let target = cur.table(session.current.as_deref())?;
            columns(session, &target, None, ctx)?
        }
        Some("SHOW") => {
            let full = cur.eat("FULL");
            match cur.keyword().as_deref() {
                Some("DATABASES" | "SCHEMAS") => {
                    let pattern = cur.like()?;
                    databases(session, pattern.as_deref(), ctx)?
                }
                Some("TABLES") => {
                    let db = if cur.eat("FROM") || cur.eat("IN") {
                        Some(cur.name()?)
                    } else {
                        session.current.clone()
                    };
                    let db = db.ok_or_else(translate::no_database)?;
                    let pattern = cur.like()?;
                    tables(session, &db, full, pattern.as_deref(), ctx)?
                }
                Some("COLUMNS" | "FIELDS") => {
                    if !(cur.eat("FROM") || cur.eat("IN")) {
                        return Err(SqlError::syntax("SHOW COLUMNS needs FROM <table>").into());
                    }
                    let mut target = cur.table(session.current.as_deref())?;
                    if cur.eat("FROM") || cur.eat("IN") {
                        target.db = cur.name()?;
                    }
                    let pattern = cur.like()?;
                    columns(session, &target, pattern.as_deref(), ctx)?
                }
                Some("CREATE") => match cur.keyword().as_deref() {
                    Some("TABLE") => {
                        let target = cur.table(session.current.as_deref())?;
                        create_table(session, &target, ctx)?
                    }
                    Some("DATABASE" | "SCHEMA") => {
                        let db = cur.name()?;
                        ctx.authorize_database(&db)?;
                        if !session.database_exists(&db) {
                            return Err(unknown_database(&db).into());
                        }
                        let text = format!(
                            "CREATE DATABASE `{db}` /*!40100 DEFAULT CHARACTER SET utf8mb4 */"
                        );
                        Listing::new(&["Database", "Create Database"]).row(vec![db, text])
                    }
                    _ => return Ok(None),
                },
                _ => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    result.send(sink).map(Some)
}

fn is_statement_keyword(w: &str) -> bool {
    matches!(
        w,
        "SELECT"
            | "INSERT"
            | "UPDATE"
            | "DELETE"
            | "REPLACE"
            | "WITH"
            | "FORMAT"
            | "ANALYZE"
            | "TABLE"
    )
}

/// A server-computed result set of text columns.
struct Listing {
    columns: Vec<Column>,
    rows: Vec<Vec<Value>>,
}

impl Listing {
    fn new(names: &[&str]) -> Listing {
        Listing {
            columns: names.iter().map(|n| Column::text(n)).collect(),
            rows: Vec::new(),
        }
    }

    fn row(mut self, values: Vec<String>) -> Listing {
        self.push(values.into_iter().map(Value::Text).collect());
        self
    }

    fn push(&mut self, values: Vec<Value>) {
        self.rows.push(values);
    }

    fn send(self, sink: &mut dyn RowSink) -> Result<Outcome, ExecError> {
        sink.columns(&self.columns)?;
        for row in &self.rows {
            sink.row(row)?;
        }
        Ok(Outcome::Rows)
    }
}

fn databases(
    session: &EngineSession,
    pattern: Option<&str>,
    ctx: &dyn SessionContext,
) -> Result<Listing, SqlError> {
    let mut listing = Listing::new(&["Database"]);
    for db in session.databases()? {
        if ctx.authorize_database(&db).is_ok() && pattern.is_none_or(|p| crate::lex::like(p, &db)) {
            listing.push(vec![Value::Text(db)]);
        }
    }
    Ok(listing)
}

fn tables(
    session: &mut EngineSession,
    db: &str,
    full: bool,
    pattern: Option<&str>,
    ctx: &dyn SessionContext,
) -> Result<Listing, SqlError> {
    ctx.authorize_database(db)?;
    session.attach(db, &[])?;
    let heading = format!("Tables_in_{db}");
    let mut listing = if full {
        Listing::new(&[&heading, "Table_type"])
    } else {
        Listing::new(&[&heading])
    };
    for table in tables_of(session, db)? {
        if pattern.is_none_or(|p| crate::lex::like(p, &table)) {
            let mut row = vec![Value::Text(table)];
            if full {
                row.push(Value::from("BASE TABLE"));
            }
            listing.push(row);
        }
    }
    Ok(listing)
}

/// The MySQL type and AUTO_INCREMENT flag of each column, from the stored definition.
fn mysql_columns(
    session: &EngineSession,
    target: &TableRef,
) -> Result<Vec<(String, String, bool)>, SqlError> {
    let Some(definition) = session.definition(target)? else {
        return Ok(Vec::new());
    };
    let Ok(Statement::CreateTable(ct)) = translate::parse_one(&definition) else {
        return Ok(Vec::new());
    };
    Ok(ct
        .columns
        .iter()
        .map(|c| {
            (
                c.name.value.clone(),
                c.data_type.to_string().to_ascii_lowercase(),
                translate::is_auto_increment(&c.options),
            )
        })
        .collect())
}

/// What describing a table needs: a privilege on it (MySQL asks for any; SELECT here), its
/// database attached, and the table itself.
fn open_table(
    session: &mut EngineSession,
    target: &TableRef,
    ctx: &dyn SessionContext,
) -> Result<(), SqlError> {
    ctx.authorize(Privilege::Select, &target.db, Some(&target.table))?;
    if !session.database_exists(&target.db) {
        return Err(no_such_table(target));
    }
    session.attach(&target.db, &[])?;
    if session.table_exists(target)? {
        Ok(())
    } else {
        Err(no_such_table(target))
    }
}

fn columns(
    session: &mut EngineSession,
    target: &TableRef,
    pattern: Option<&str>,
    ctx: &dyn SessionContext,
) -> Result<Listing, SqlError> {
    open_table(session, target, ctx)?;
    let mut listing = Listing::new(&["Field", "Type", "Null", "Key", "Default", "Extra"]);
    for column in describe(session, target)? {
        if pattern.is_some_and(|p| !crate::lex::like(p, &column.name)) {
            continue;
        }
        listing.push(vec![
            Value::Text(column.name),
            Value::Text(column.column_type),
            Value::from(if column.nullable { "YES" } else { "NO" }),
            Value::from(column.key),
            column.default,
            Value::from(column.extra),
        ]);
    }
    Ok(listing)
}

/// A column as `SHOW COLUMNS` and `information_schema.COLUMNS` describe it.
pub(super) struct DescribedColumn {
    pub(super) name: String,
    /// The MySQL type as declared, lower case (`varchar(40)`).
    pub(super) column_type: String,
    pub(super) nullable: bool,
    /// `PRI`, `UNI`, `MUL` or empty.
    pub(super) key: &'static str,
    pub(super) default: Value,
    /// `auto_increment` or empty.
    pub(super) extra: &'static str,
}

/// The columns of `target`, whose database is attached, in table order.
pub(super) fn describe(
    session: &EngineSession,
    target: &TableRef,
) -> Result<Vec<DescribedColumn>, SqlError> {
    let mysql = mysql_columns(session, target)?;
    let mut stmt = session
        .conn
        .prepare("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1, ?2)")
        .map_err(|e| sql_error(&e, None))?;
    let rows = stmt
        .query_map((&target.table, &target.db), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })
        .map_err(|e| sql_error(&e, None))?;
    let keys = index_keys(session, target)?;
    let mut described = Vec::new();
    for row in rows {
        let (name, sqlite_type, not_null, default, pk) = row.map_err(|e| sql_error(&e, None))?;
        let (column_type, auto) = mysql
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(&name))
            .map_or((sqlite_type.to_ascii_lowercase(), false), |(_, t, a)| {
                (t.clone(), *a)
            });
        let key = if pk > 0 {
            "PRI"
        } else {
            keys.iter()
                .find(|(column, _)| column.eq_ignore_ascii_case(&name))
                .map_or("", |(_, key)| *key)
        };
        described.push(DescribedColumn {
            name,
            column_type,
            nullable: !(not_null || pk > 0),
            key,
            default: default.map_or(Value::Null, |d| Value::Text(plain_default(&d))),
            extra: if auto { "auto_increment" } else { "" },
        });
    }
    Ok(described)
}

/// The `Key` of columns that lead an index, as MySQL rates them: `UNI` for the column of a
/// one-column unique index, `MUL` for the first column of any other index (UNI wins).
fn index_keys(
    session: &EngineSession,
    target: &TableRef,
) -> Result<Vec<(String, &'static str)>, SqlError> {
    let mut stmt = session
        .conn
        .prepare(
            "SELECT l.\"unique\", (SELECT count(*) FROM pragma_index_info(l.name, ?2)), \
             (SELECT name FROM pragma_index_info(l.name, ?2) WHERE seqno = 0) \
             FROM pragma_index_list(?1, ?2) AS l WHERE l.origin <> 'pk'",
        )
        .map_err(|e| sql_error(&e, None))?;
    let indexes = stmt
        .query_map((&target.table, &target.db), |r| {
            Ok((
                r.get::<_, bool>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })
        .map_err(|e| sql_error(&e, None))?;
    let mut keys: Vec<(String, &'static str)> = Vec::new();
    for index in indexes {
        let (unique, width, first) = index.map_err(|e| sql_error(&e, None))?;
        let Some(first) = first else { continue };
        let key = if unique && width == 1 { "UNI" } else { "MUL" };
        match keys.iter_mut().find(|(c, _)| *c == first) {
            Some(entry) if key == "UNI" => entry.1 = key,
            Some(_) => {}
            None => keys.push((first, key)),
        }
    }
    Ok(keys)
}

/// `('abc')` as SQLite keeps a default → `abc` as MySQL shows it.
fn plain_default(d: &str) -> String {
    let d = d
        .strip_prefix('(')
        .and_then(|x| x.strip_suffix(')'))
        .unwrap_or(d);
    match d.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')) {
        Some(text) => text.replace("''", "'"),
        None => d.to_string(),
    }
}

fn create_table(
    session: &mut EngineSession,
    target: &TableRef,
    ctx: &dyn SessionContext,
) -> Result<Listing, SqlError> {
    open_table(session, target, ctx)?;
    let definition = match session.definition(target)? {
        Some(d) => d,
        None => session
            .conn
            .query_row(
                &format!(
                    "SELECT sql FROM {}.sqlite_master WHERE type = 'table' AND name = ?1",
                    quote(&target.db)
                ),
                [&target.table],
                |r| r.get::<_, String>(0),
            )
            .map_err(|_| no_such_table(target))?,
    };
    Ok(Listing::new(&["Table", "Create Table"]).row(vec![target.table.clone(), definition]))
}

/// Walks the tokens of a SHOW statement.
struct Cursor<'a> {
    tokens: &'a [Token],
    at: usize,
}

impl Cursor<'_> {
    fn peek_word(&self) -> Option<String> {
        match self.tokens.get(self.at) {
            Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
            _ => None,
        }
    }

    fn keyword(&mut self) -> Option<String> {
        let w = self.peek_word()?;
        self.at += 1;
        Some(w)
    }

    fn eat(&mut self, keyword: &str) -> bool {
        if self.peek_word().as_deref() == Some(keyword) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn name(&mut self) -> Result<String, SqlError> {
        match self.tokens.get(self.at) {
            Some(Token::Word(w)) => {
                self.at += 1;
                Ok(w.value.clone())
            }
            other => Err(SqlError::syntax(format!(
                "expected a name, found '{}'",
                other.map(ToString::to_string).unwrap_or_default()
            ))),
        }
    }

    /// `t` or `db.t`.
    fn table(&mut self, current: Option<&str>) -> Result<TableRef, SqlError> {
        let first = self.name()?;
        if matches!(self.tokens.get(self.at), Some(Token::Period)) {
            self.at += 1;
            let table = self.name()?;
            return Ok(TableRef { db: first, table });
        }
        let db = current.ok_or_else(translate::no_database)?;
        Ok(TableRef {
            db: db.to_string(),
            table: first,
        })
    }

    /// An optional `LIKE 'pattern'`; the statement must end after it.
    fn like(&mut self) -> Result<Option<String>, SqlError> {
        let pattern = if self.eat("LIKE") {
            match self.tokens.get(self.at) {
                Some(Token::SingleQuotedString(p) | Token::DoubleQuotedString(p)) => {
                    self.at += 1;
                    Some(p.clone())
                }
                _ => return Err(SqlError::syntax("LIKE needs a quoted pattern")),
            }
        } else {
            None
        };
        match self.tokens.get(self.at) {
            None | Some(Token::SemiColon | Token::EOF) => Ok(pattern),
            Some(t) => Err(SqlError::syntax(format!("near '{t}'"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_shown_without_sqlite_quoting() {
        assert_eq!(plain_default("('')"), "");
        assert_eq!(plain_default("('it''s')"), "it's");
        assert_eq!(plain_default("CURRENT_TIMESTAMP"), "CURRENT_TIMESTAMP");
        assert_eq!(plain_default("(0)"), "0");
    }
}
