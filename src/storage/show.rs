//! `SHOW DATABASES`, `SHOW TABLES`, `SHOW COLUMNS`/`DESCRIBE`, `SHOW CREATE TABLE|DATABASE`,
//! answered from the database files and the catalog of MySQL definitions.

use sqlparser::ast::Statement;

use super::conn::{EngineSession, no_such_table, tables_of, unknown_database};
use super::translate::{self, TableRef, quote};
use super::types::{column_for, sql_error};
use super::{ExecError, Outcome, RowSink, SessionContext, Show, TableName};
use crate::auth::privileges::Privilege;
use crate::error::SqlError;
use crate::protocol::value::{Column, Value};

impl EngineSession {
    /// Runs one of the [`Show`] statements, writing its result set to `sink`.
    pub fn show(
        &mut self,
        show: Show,
        ctx: &dyn SessionContext,
        sink: &mut dyn RowSink,
    ) -> Result<Outcome, ExecError> {
        let listing = match show {
            Show::Databases { pattern } => databases(self, pattern.as_deref(), ctx)?,
            Show::Tables { db, full, pattern } => {
                let db = db
                    .or_else(|| self.current.clone())
                    .ok_or_else(translate::no_database)?;
                tables(self, &db, full, pattern.as_deref(), ctx)?
            }
            Show::Columns { table, pattern } => {
                let target = self.table_ref(table)?;
                columns(self, &target, pattern.as_deref(), ctx)?
            }
            Show::CreateTable(table) => {
                let target = self.table_ref(table)?;
                create_table(self, &target, ctx)?
            }
            Show::CreateDatabase(db) => {
                ctx.authorize_database(&db)?;
                if !self.database_exists(&db) {
                    return Err(unknown_database(&db).into());
                }
                let text =
                    format!("CREATE DATABASE `{db}` /*!40100 DEFAULT CHARACTER SET utf8mb4 */");
                Listing::new(&["Database", "Create Database"]).row(vec![db, text])
            }
        };
        listing.send(sink)
    }

    /// COM_FIELD_LIST: the columns of `table` in the default database.
    pub fn field_list(
        &mut self,
        table: &str,
        wildcard: Option<&str>,
    ) -> Result<Vec<Column>, SqlError> {
        let db = self.current.clone().ok_or_else(translate::no_database)?;
        let target = TableRef {
            db: db.clone(),
            table: table.to_string(),
        };
        if !self.with_attached(&target)? {
            return Err(no_such_table(&target));
        }
        let stmt = self
            .conn
            .prepare(&format!(
                "SELECT * FROM {}.{} LIMIT 0",
                quote(&db),
                quote(table)
            ))
            .map_err(|e| sql_error(&e, Some(&db)))?;
        let columns = stmt
            .columns()
            .filter(|c| wildcard.is_none_or(|w| crate::lex::like(w, c.name())))
            .map(|c| {
                let mut column = column_for(c.name(), c.decl_type(), None);
                column.schema = db.clone();
                column.table = table.to_string();
                column.org_table = table.to_string();
                column.org_name = c.name().to_string();
                column
            })
            .collect();
        stmt.finalize().map_err(|e| sql_error(&e, Some(&db)))?;
        Ok(columns)
    }

    /// A table name resolved against the default database.
    fn table_ref(&self, name: TableName) -> Result<TableRef, SqlError> {
        let db = match name.db {
            Some(db) => db,
            None => self.current.clone().ok_or_else(translate::no_database)?,
        };
        Ok(TableRef {
            db,
            table: name.table,
        })
    }
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
