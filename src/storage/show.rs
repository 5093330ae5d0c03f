//! `SHOW DATABASES`, `SHOW TABLES`, `SHOW COLUMNS`/`DESCRIBE`, `SHOW CREATE
//! TABLE|VIEW|DATABASE`, `SHOW INDEX`, `SHOW TABLE STATUS`, answered from the database files and
//! the catalog of MySQL definitions.

use sqlparser::ast::{SetExpr, Statement};

use super::conn::{EngineSession, no_such_table, tables_of, unknown_database, views_of};
use super::definition::{KeyKind, TABLE_COLLATION, TableDef};
use super::translate::{self, TableRef, quote};
use super::types::{column_for, sql_error};
use super::view::{self, not_view};
use super::{ExecError, Filter, Outcome, RowSink, SessionContext, Show, TableName};
use crate::auth::privileges::Privilege;
use crate::error::SqlError;
use crate::protocol::value::{Cell, Column, Value};

impl EngineSession {
    /// Runs one of the [`Show`] statements, writing its result set to `sink`.
    pub fn show(
        &mut self,
        show: Show,
        ctx: &dyn SessionContext,
        sink: &mut dyn RowSink,
    ) -> Result<Outcome, ExecError> {
        self.notice_dropped_databases()?;
        let listing = match show {
            Show::Databases { filter } => {
                let pattern = filter.as_ref().and_then(Filter::pattern);
                let listing = databases(self, pattern, ctx)?;
                return self.send_where(listing, filter, ctx, sink);
            }
            Show::Tables { db, full, filter } => {
                let db = db
                    .or_else(|| self.current.clone())
                    .ok_or_else(translate::no_database)?;
                let pattern = filter.as_ref().and_then(Filter::pattern);
                let listing = tables(self, &db, full, pattern, ctx)?;
                return self.send_where(listing, filter, ctx, sink);
            }
            Show::Columns {
                table,
                full,
                filter,
            } => {
                let target = self.table_ref(table)?;
                let pattern = filter.as_ref().and_then(Filter::pattern);
                let listing = columns(self, &target, full, pattern, ctx)?;
                return self.send_where(listing, filter, ctx, sink);
            }
            Show::CreateTable(table) => {
                let target = self.table_ref(table)?;
                create_table(self, &target, ctx)?
            }
            Show::CreateView(view) => {
                let target = self.table_ref(view)?;
                create_view(self, &target, ctx)?
            }
            Show::Index(table) => {
                let target = self.table_ref(table)?;
                index(self, &target, ctx)?
            }
            Show::TableStatus { db, filter } => {
                let db = db
                    .or_else(|| self.current.clone())
                    .ok_or_else(translate::no_database)?;
                let pattern = filter.as_ref().and_then(Filter::pattern);
                let listing = table_status(self, &db, pattern, ctx)?;
                return self.send_where(listing, filter, ctx, sink);
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

    /// Sends the rows of `listing` that a `WHERE` filter keeps (all of them for any other).
    /// SQLite evaluates the condition over the listing's rows, named as the `SHOW` names its
    /// columns; they compare without case, as MySQL's do (its `SHOW`s read
    /// information_schema, whose columns have a case-insensitive collation).
    fn send_where(
        &mut self,
        listing: Listing,
        filter: Option<Filter>,
        ctx: &dyn SessionContext,
        sink: &mut dyn RowSink,
    ) -> Result<Outcome, ExecError> {
        let Some(Filter::Where(condition)) = filter else {
            return listing.send(sink);
        };
        // Each row is numbered, to come out in the listing's order. VALUES needs a row: with
        // none, one is made and left out, so the condition is still checked (an unknown column
        // is an error).
        let (rows, empty) = if listing.rows.is_empty() {
            (
                format!("(0{})", ", NULL".repeat(listing.columns.len())),
                " WHERE 0",
            )
        } else {
            let rows = listing
                .rows
                .iter()
                .enumerate()
                .map(|(i, row)| {
                    let cells: Vec<String> = row.iter().map(value_text).collect();
                    format!("({i}, {})", cells.join(", "))
                })
                .collect::<Vec<_>>()
                .join(", ");
            (rows, "")
        };
        let names: Vec<String> = listing
            .columns
            .iter()
            .map(|c| format!("`{}`", c.name.replace('`', "``")))
            .collect();
        let columns: Vec<String> = names
            .iter()
            .enumerate()
            .map(|(i, name)| format!("column{} COLLATE NOCASE AS {name}", i + 2))
            .collect();
        let mut statement = translate::parse_one(&format!(
            "WITH shown AS (SELECT column1 AS tlsql_row, {} FROM (VALUES {rows}){empty}) \
             SELECT {} FROM shown ORDER BY tlsql_row",
            columns.join(", "),
            names.join(", ")
        ))?;
        if let Statement::Query(query) = &mut statement
            && let SetExpr::Select(select) = query.body.as_mut()
        {
            select.selection = Some(*condition);
        }
        self.execute(
            statement,
            ctx,
            &mut AsListed {
                columns: &listing.columns,
                sink,
            },
        )
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
        if self.temporary(&target).is_none() && !self.with_attached(&target)? {
            return Err(no_such_table(&target));
        }
        let sqlite = self.sqlite_table(&target);
        let stmt = self
            .conn
            .prepare(&format!(
                "SELECT * FROM {}.{} LIMIT 0",
                quote(&sqlite.db),
                quote(&sqlite.table)
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
            sink.row(&Value::cells(row))?;
        }
        Ok(Outcome::Rows)
    }
}

/// A listing's first column as MySQL names it: with the `LIKE` pattern, when there is one, in
/// parentheses (`Database (p%)`, `Tables_in_db (t%)`).
fn with_pattern(name: &str, pattern: Option<&str>) -> String {
    match pattern {
        Some(pattern) => format!("{name} ({pattern})"),
        None => name.to_string(),
    }
}

fn databases(
    session: &EngineSession,
    pattern: Option<&str>,
    ctx: &dyn SessionContext,
) -> Result<Listing, SqlError> {
    let mut listing = Listing::new(&[&with_pattern("Database", pattern)]);
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
    let heading = with_pattern(&format!("Tables_in_{db}"), pattern);
    let mut listing = if full {
        Listing::new(&[&heading, "Table_type"])
    } else {
        Listing::new(&[&heading])
    };
    let mut names: Vec<(String, &str)> = tables_of(session, db)?
        .into_iter()
        .map(|t| (t, "BASE TABLE"))
        .chain(views_of(session, db)?.into_iter().map(|v| (v, "VIEW")))
        .collect();
    names.sort();
    for (table, kind) in names {
        if pattern.is_none_or(|p| crate::lex::like(p, &table)) {
            let mut row = vec![Value::Text(table)];
            if full {
                row.push(Value::from(kind));
            }
            listing.push(row);
        }
    }
    Ok(listing)
}

/// A filtered listing's rows under the listing's own column definitions: SQLite would type a
/// column from its first value (a column of NULLs would turn numeric).
struct AsListed<'a> {
    columns: &'a [Column],
    sink: &'a mut dyn RowSink,
}

impl RowSink for AsListed<'_> {
    fn columns(&mut self, _: &[Column]) -> std::io::Result<()> {
        self.sink.columns(self.columns)
    }

    fn row(&mut self, row: &[Cell<'_>]) -> std::io::Result<()> {
        self.sink.row(row)
    }
}

/// A listing's value as a literal of MySQL's SQL (backslashes escape in its strings).
fn value_text(value: &Value) -> String {
    match value {
        Value::Text(text) => format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''")),
        other => translate::literal(other).to_string(),
    }
}

/// What describing a table or view needs: a privilege on it (MySQL asks for any; SELECT
/// here), its database attached, and the table itself; the session's temporary table, nothing.
fn open_table(
    session: &mut EngineSession,
    target: &TableRef,
    ctx: &dyn SessionContext,
) -> Result<(), SqlError> {
    if session.temporary(target).is_some() {
        return Ok(());
    }
    ctx.authorize(Privilege::Select, &target.db, Some(&target.table))?;
    if !session.database_exists(&target.db) {
        return Err(no_such_table(target));
    }
    session.attach(&target.db, &[])?;
    if session.table_exists(target)? || session.view_exists(target)? {
        Ok(())
    } else {
        Err(no_such_table(target))
    }
}

fn columns(
    session: &mut EngineSession,
    target: &TableRef,
    full: bool,
    pattern: Option<&str>,
    ctx: &dyn SessionContext,
) -> Result<Listing, SqlError> {
    open_table(session, target, ctx)?;
    let mut listing = if full {
        Listing::new(&[
            "Field",
            "Type",
            "Collation",
            "Null",
            "Key",
            "Default",
            "Extra",
            "Privileges",
            "Comment",
        ])
    } else {
        Listing::new(&["Field", "Type", "Null", "Key", "Default", "Extra"])
    };
    for column in describe(session, target)? {
        if pattern.is_some_and(|p| !crate::lex::like(p, &column.name)) {
            continue;
        }
        let mut row = vec![Value::Text(column.name), Value::Text(column.column_type)];
        if full {
            row.push(column.collation.map_or(Value::Null, Value::Text));
        }
        row.extend([
            Value::from(if column.nullable { "YES" } else { "NO" }),
            Value::from(column.key),
            column.default,
            Value::Text(column.extra),
        ]);
        if full {
            row.push(Value::from(PRIVILEGES));
            row.push(Value::Text(column.comment));
        }
        listing.push(row);
    }
    Ok(listing)
}

/// What `SHOW FULL COLUMNS` and `information_schema.COLUMNS` list as a column's privileges.
pub(super) const PRIVILEGES: &str = "select,insert,update,references";

/// A column as `SHOW COLUMNS` and `information_schema.COLUMNS` describe it.
pub(super) struct DescribedColumn {
    pub(super) name: String,
    /// The MySQL type as MySQL prints it (`varchar(40)`).
    pub(super) column_type: String,
    pub(super) nullable: bool,
    /// `PRI`, `UNI`, `MUL` or empty.
    pub(super) key: &'static str,
    pub(super) default: Value,
    /// `auto_increment`, `on update CURRENT_TIMESTAMP`, or empty.
    pub(super) extra: String,
    /// The collation of a character column.
    pub(super) collation: Option<String>,
    pub(super) comment: String,
}

/// The columns of `target`, whose database is attached, in table order.
pub(super) fn describe(
    session: &EngineSession,
    target: &TableRef,
) -> Result<Vec<DescribedColumn>, SqlError> {
    match session.table_def(target)? {
        Some(def) => Ok(describe_def(&def)),
        None => describe_sqlite(session, target),
    }
}

/// The columns of a definition as `SHOW COLUMNS` describes them.
pub(super) fn describe_def(def: &TableDef) -> Vec<DescribedColumn> {
    def.columns
        .iter()
        .map(|c| {
            let leads = |kind: KeyKind, single: bool| {
                def.keys.iter().any(|k| {
                    k.kind == kind
                        && k.columns[0].eq_ignore_ascii_case(&c.name)
                        && (!single || k.columns.len() == 1)
                })
            };
            let key = if leads(KeyKind::Primary, false) {
                "PRI"
            } else if leads(KeyKind::Unique, true) {
                "UNI"
            } else if leads(KeyKind::Unique, false) || leads(KeyKind::Index, false) {
                "MUL"
            } else {
                ""
            };
            let mut extra = Vec::new();
            if c.auto_increment {
                extra.push("auto_increment".to_string());
            }
            if c.default
                .as_deref()
                .is_some_and(|d| d.starts_with("CURRENT_TIMESTAMP"))
            {
                extra.push("DEFAULT_GENERATED".to_string());
            }
            if let Some(u) = &c.on_update {
                extra.push(format!("on update {u}"));
            }
            DescribedColumn {
                name: c.name.clone(),
                column_type: c.column_type.clone(),
                nullable: c.nullable,
                key,
                default: match c.default.as_deref() {
                    None | Some("NULL") => Value::Null,
                    Some(d) => Value::Text(plain_default(d)),
                },
                extra: extra.join(" "),
                collation: is_character(&c.data_type).then(|| {
                    c.collation
                        .clone()
                        .unwrap_or_else(|| TABLE_COLLATION.to_string())
                }),
                comment: c.comment.clone().unwrap_or_default(),
            }
        })
        .collect()
}

/// Whether a type (by its name alone) holds characters.
pub(super) fn is_character(data_type: &str) -> bool {
    matches!(
        data_type,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set"
    )
}

/// The columns of a table the catalog has no definition of, as SQLite declares them.
fn describe_sqlite(
    session: &EngineSession,
    target: &TableRef,
) -> Result<Vec<DescribedColumn>, SqlError> {
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
    let mut described = Vec::new();
    for row in rows {
        let (name, sqlite_type, not_null, default, pk) = row.map_err(|e| sql_error(&e, None))?;
        described.push(DescribedColumn {
            name,
            column_type: sqlite_type.to_ascii_lowercase(),
            nullable: !(not_null || pk > 0),
            key: if pk > 0 { "PRI" } else { "" },
            default: default.map_or(Value::Null, |d| Value::Text(plain_default(&d))),
            extra: String::new(),
            collation: None,
            comment: String::new(),
        });
    }
    Ok(described)
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
    // MySQL answers SHOW CREATE TABLE of a view as SHOW CREATE VIEW.
    if session.temporary(target).is_none() && session.view_exists(target)? {
        return create_view(session, target, ctx);
    }
    let definition = match session.table_def(target)? {
        Some(def) => def.show_create(
            session.temporary(target).is_some(),
            session.next_auto_increment(&session.sqlite_table(target))?,
        ),
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

fn create_view(
    session: &mut EngineSession,
    target: &TableRef,
    ctx: &dyn SessionContext,
) -> Result<Listing, SqlError> {
    ctx.authorize(Privilege::Select, &target.db, Some(&target.table))?;
    ctx.authorize(Privilege::ShowView, &target.db, Some(&target.table))?;
    if !session.attach_if_exists(&target.db, &[])? {
        return Err(no_such_table(target));
    }
    if let Some(def) = view::view_def(session, target)?
        && session.view_exists(target)?
    {
        return Ok(Listing::new(&[
            "View",
            "Create View",
            "character_set_client",
            "collation_connection",
        ])
        .row(vec![
            target.table.clone(),
            def.create,
            VIEW_CHARSET.to_string(),
            VIEW_COLLATION.to_string(),
        ]));
    }
    Err(if session.table_exists(target)? {
        not_view(target)
    } else {
        no_such_table(target)
    })
}

/// The client character set and connection collation a view is shown with (MySQL keeps those
/// of the session that made it; tlsql's sessions start with these).
pub(super) const VIEW_CHARSET: &str = "utf8mb4";
/// See [`VIEW_CHARSET`].
pub(super) const VIEW_COLLATION: &str = TABLE_COLLATION;

/// `SHOW INDEX`: one row per column of each key, in the definition's order.
fn index(
    session: &mut EngineSession,
    target: &TableRef,
    ctx: &dyn SessionContext,
) -> Result<Listing, SqlError> {
    open_table(session, target, ctx)?;
    let mut listing = Listing::new(&[
        "Table",
        "Non_unique",
        "Key_name",
        "Seq_in_index",
        "Column_name",
        "Collation",
        "Cardinality",
        "Sub_part",
        "Packed",
        "Null",
        "Index_type",
        "Comment",
        "Index_comment",
        "Visible",
        "Expression",
    ]);
    for row in index_rows(session, target)? {
        listing.push(vec![
            Value::Text(target.table.clone()),
            Value::Int(i64::from(row.non_unique)),
            Value::Text(row.key),
            Value::Int(row.seq),
            Value::Text(row.column),
            Value::from("A"),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::from(if row.nullable { "YES" } else { "" }),
            Value::from("BTREE"),
            Value::from(""),
            Value::from(""),
            Value::from("YES"),
            Value::Null,
        ]);
    }
    Ok(listing)
}

/// One column of one key, as `SHOW INDEX` and `information_schema.STATISTICS` list it.
pub(super) struct IndexRow {
    pub(super) non_unique: bool,
    pub(super) key: String,
    pub(super) seq: i64,
    pub(super) column: String,
    pub(super) nullable: bool,
}

/// The keys of `target` (attached), column by column.
pub(super) fn index_rows(
    session: &EngineSession,
    target: &TableRef,
) -> Result<Vec<IndexRow>, SqlError> {
    Ok(session
        .table_def(target)?
        .map_or_else(Vec::new, |def| index_rows_def(&def)))
}

/// The keys of a definition, column by column.
pub(super) fn index_rows_def(def: &TableDef) -> Vec<IndexRow> {
    let mut rows = Vec::new();
    for key in &def.keys {
        for (i, column) in key.columns.iter().enumerate() {
            rows.push(IndexRow {
                non_unique: key.kind == KeyKind::Index,
                key: key.name.clone(),
                seq: i64::try_from(i + 1).unwrap_or(i64::MAX),
                column: column.clone(),
                nullable: def.column(column).is_some_and(|c| c.nullable),
            });
        }
    }
    rows
}

/// `SHOW TABLE STATUS`: MySQL's 18 columns; the row count is counted, the sizes SQLite does
/// not track per table are 0.
fn table_status(
    session: &mut EngineSession,
    db: &str,
    pattern: Option<&str>,
    ctx: &dyn SessionContext,
) -> Result<Listing, SqlError> {
    ctx.authorize_database(db)?;
    if !session.attach_if_exists(db, &[])? {
        return Err(unknown_database(db));
    }
    let mut listing = Listing::new(&[
        "Name",
        "Engine",
        "Version",
        "Row_format",
        "Rows",
        "Avg_row_length",
        "Data_length",
        "Max_data_length",
        "Index_length",
        "Data_free",
        "Auto_increment",
        "Create_time",
        "Update_time",
        "Check_time",
        "Collation",
        "Checksum",
        "Create_options",
        "Comment",
    ]);
    let mut names: Vec<(String, bool)> = tables_of(session, db)?
        .into_iter()
        .map(|t| (t, false))
        .chain(views_of(session, db)?.into_iter().map(|v| (v, true)))
        .collect();
    names.sort();
    for (table, is_view) in names {
        if pattern.is_some_and(|p| !crate::lex::like(p, &table)) {
            continue;
        }
        // MySQL's row for a view: its name and `VIEW` as the comment (dump tools look for it).
        if is_view {
            let mut row = vec![Value::Text(table)];
            row.extend(std::iter::repeat_n(Value::Null, 16));
            row.push(Value::from("VIEW"));
            listing.push(row);
            continue;
        }
        let target = TableRef {
            db: db.to_string(),
            table: table.clone(),
        };
        let rows: i64 = session
            .conn
            .query_row(
                &format!("SELECT count(*) FROM {}.{}", quote(db), quote(&table)),
                [],
                |r| r.get(0),
            )
            .map_err(|e| sql_error(&e, Some(db)))?;
        let comment = session
            .catalog_def(&target)?
            .and_then(|d| d.comment)
            .unwrap_or_default();
        let next = session.next_auto_increment(&target)?;
        let mut row = vec![Value::Text(table)];
        row.extend(base_table_status(Value::Int(rows), next, comment));
        listing.push(row);
    }
    Ok(listing)
}

/// A base table's status from `Engine` to `Comment`, the columns `SHOW TABLE STATUS` and
/// `information_schema.TABLES` share (in the same order): `rows` as counted or estimated, the
/// next AUTO_INCREMENT value, the table's comment.
pub(super) fn base_table_status(rows: Value, next: Option<u64>, comment: String) -> Vec<Value> {
    vec![
        Value::from("InnoDB"),
        Value::Int(10),
        Value::from("Dynamic"),
        rows,
        Value::Int(0),
        Value::Int(0),
        Value::Int(0),
        Value::Int(0),
        Value::Int(0),
        next.map_or(Value::Null, |n| {
            Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
        }),
        Value::Null,
        Value::Null,
        Value::Null,
        Value::from(TABLE_COLLATION),
        Value::Null,
        Value::from(""),
        Value::Text(comment),
    ]
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
