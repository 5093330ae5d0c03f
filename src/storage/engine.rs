//! The SQLite engine: one file per database, one connection per session.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params_from_iter};
use sqlparser::ast::{ObjectType, Statement};

use super::translate::{self, TableRef, quote};
use super::types::{column_for, decimal_scale, from_sqlite, sql_error, to_sqlite, with_scale};
use super::{ExecError, Outcome, RowSink, SessionContext, StorageError};
use crate::auth::privileges::Privilege;
use crate::error::{ErrorKind, SqlError};
use crate::protocol::value::{Column, Value};

/// SQLite's default limit on attached databases per connection.
const MAX_ATTACHED: usize = 10;

/// How long a statement waits for another session's write lock before failing with 1205.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// The table in every database file that keeps each table's MySQL definition.
pub(super) const CATALOG: &str = "_tlsql_tables";

/// The engine: where the database files live.
#[derive(Debug)]
pub struct Engine {
    dir: PathBuf,
}

impl Engine {
    /// Opens (creating if needed) the storage under `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Engine, StorageError> {
        let dir = data_dir.join("db");
        let failed = |source| StorageError::Dir {
            path: dir.clone(),
            source,
        };
        crate::files::private_subdir(&dir).map_err(failed)?;
        // Files left more open by an older version lose what others could read.
        for entry in fs::read_dir(&dir).map_err(failed)? {
            let entry = entry.map_err(failed)?;
            if entry.file_type().map_err(failed)?.is_file() {
                crate::files::tighten(&entry.path(), crate::files::GROUP_READABLE_MODE)
                    .map_err(failed)?;
            }
        }
        Ok(Engine { dir })
    }

    /// A session's connection.
    pub fn connect(&self) -> Result<EngineSession, SqlError> {
        let conn = Connection::open_in_memory().map_err(|e| sql_error(&e, None))?;
        conn.busy_timeout(LOCK_WAIT)
            .map_err(|e| sql_error(&e, None))?;
        add_sleep(&conn).map_err(|e| sql_error(&e, None))?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(EngineSession {
            conn,
            dir: self.dir.clone(),
            current: None,
            autocommit: true,
            attached: Vec::new(),
        })
    }

    /// Moves every database's write-ahead log into its file and empties the log (at
    /// shutdown), so the files are complete on their own. A database still written by a
    /// session is left as it is rather than waited for; its log stays valid. Every file is
    /// tried; the first failure is returned.
    pub fn checkpoint(&self) -> Result<(), StorageError> {
        let entries = fs::read_dir(&self.dir).map_err(|source| StorageError::Dir {
            path: self.dir.clone(),
            source,
        })?;
        let mut first_failure = None;
        for path in entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "sqlite"))
        {
            let done = Connection::open(&path).and_then(|conn| {
                conn.busy_timeout(Duration::ZERO)?;
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            });
            if let Err(source) = done {
                first_failure.get_or_insert(StorageError::Checkpoint { path, source });
            }
        }
        first_failure.map_or(Ok(()), Err)
    }
}

/// MySQL's `SLEEP(seconds)`: waits, then returns 0. NULL, negative or non-numeric arguments
/// wait for nothing (MySQL's non-strict behaviour).
fn add_sleep(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function("sleep", 1, FunctionFlags::SQLITE_UTF8, |ctx| {
        let seconds = ctx.get::<Option<f64>>(0).ok().flatten().unwrap_or(0.0);
        if let Ok(wait) = Duration::try_from_secs_f64(seconds) {
            std::thread::sleep(wait);
        }
        Ok(0i64)
    })
}

/// A prepared query or DML statement: the SQLite form, its parameters and result columns.
pub struct Prepared {
    /// Number of `?` parameters.
    pub params: u16,
    /// Result columns (empty for statements without a result set).
    pub columns: Vec<Column>,
    data: DataStatement,
}

/// Whether storage binds `?` parameters in `statement` ([`EngineSession::prepare`] takes it):
/// queries and DML.
pub fn takes_parameters(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::Query(_) | Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_)
    )
}

/// A query or DML statement rewritten for SQLite, checked against the session's privileges.
struct DataStatement {
    /// The SQLite text.
    sql: String,
    /// Whether it produces a result set (a query) rather than a change count.
    rows: bool,
    /// Whether it inserts (and so reports LAST_INSERT_ID).
    insert: bool,
    /// The databases it names, attached before each run.
    dbs: Vec<String>,
}

/// One session's view of storage.
pub struct EngineSession {
    pub(super) conn: Connection,
    pub(super) dir: PathBuf,
    pub(super) current: Option<String>,
    autocommit: bool,
    /// Attached databases, least recently used first.
    attached: Vec<String>,
}

/// 1049 `Unknown database 'x'`.
pub(super) fn unknown_database(db: &str) -> SqlError {
    SqlError::new(
        ErrorKind::UnknownDatabase,
        format!("Unknown database '{db}'"),
    )
}

/// MySQL database names as files: letters, digits, `_` and `$`, at most 64 characters.
pub(super) fn check_database_name(db: &str) -> Result<(), SqlError> {
    let valid = !db.is_empty()
        && db.len() <= 64
        && db
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        && ![
            "main",
            "temp",
            "mysql",
            "information_schema",
            "performance_schema",
        ]
        .contains(&db.to_ascii_lowercase().as_str());
    if valid {
        Ok(())
    } else {
        Err(SqlError::new(
            ErrorKind::WrongDatabaseName,
            format!("Incorrect database name '{db}'"),
        ))
    }
}

impl EngineSession {
    /// Whether autocommit is on.
    pub fn autocommit(&self) -> bool {
        self.autocommit
    }

    /// Whether a transaction is open.
    pub fn in_transaction(&self) -> bool {
        !self.conn.is_autocommit()
    }

    /// The default database.
    pub fn database(&self) -> Option<&str> {
        self.current.as_deref()
    }

    /// `SET autocommit`: turning it on commits an open transaction, as in MySQL.
    pub fn set_autocommit(&mut self, on: bool) -> Result<(), SqlError> {
        if on && self.in_transaction() {
            self.batch("COMMIT")?;
        }
        self.autocommit = on;
        Ok(())
    }

    /// COM_RESET_CONNECTION: roll back, autocommit on, no default database kept.
    pub fn reset(&mut self) -> Result<(), SqlError> {
        if self.in_transaction() {
            self.batch("ROLLBACK")?;
        }
        self.autocommit = true;
        Ok(())
    }

    pub(super) fn batch(&self, sql: &str) -> Result<(), SqlError> {
        self.conn
            .execute_batch(sql)
            .map_err(|e| sql_error(&e, self.current.as_deref()))
    }

    pub(super) fn database_path(&self, db: &str) -> PathBuf {
        self.dir.join(format!("{db}.sqlite"))
    }

    /// Whether database `db` exists.
    pub(super) fn database_exists(&self, db: &str) -> bool {
        check_database_name(db).is_ok() && self.database_path(db).is_file()
    }

    /// The databases that exist, sorted.
    pub(super) fn databases(&self) -> Result<Vec<String>, SqlError> {
        let entries = fs::read_dir(&self.dir)
            .map_err(|e| SqlError::unknown(format!("reading {}: {e}", self.dir.display())))?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(".sqlite"))
                    .map(str::to_string)
            })
            .filter(|n| check_database_name(n).is_ok())
            .collect();
        names.sort();
        Ok(names)
    }

    /// Attaches `db` and returns true, or returns false when there is no such database. A
    /// database already attached is not looked up on disk again (this runs per statement).
    pub(super) fn attach_if_exists(&mut self, db: &str, keep: &[&str]) -> Result<bool, SqlError> {
        if !self.attached.iter().any(|a| a == db) && !self.database_exists(db) {
            return Ok(false);
        }
        self.attach(db, keep).map(|()| true)
    }

    /// Makes `db` reachable under its own name. Attaching is impossible inside a transaction,
    /// so a database first used inside one is an error naming the cause.
    pub(super) fn attach(&mut self, db: &str, keep: &[&str]) -> Result<(), SqlError> {
        if let Some(pos) = self.attached.iter().position(|a| a == db) {
            let name = self.attached.remove(pos);
            self.attached.push(name);
            return Ok(());
        }
        if !self.database_exists(db) {
            return Err(unknown_database(db));
        }
        if self.in_transaction() {
            return Err(SqlError::unknown(format!(
                "database '{db}' is first used inside this transaction; use it before START TRANSACTION"
            )));
        }
        while self.attached.len() >= MAX_ATTACHED - 1 {
            let Some(pos) = self.attached.iter().position(|a| {
                Some(a.as_str()) != self.current.as_deref() && !keep.contains(&a.as_str())
            }) else {
                return Err(SqlError::unknown(format!(
                    "a statement may use at most {} databases",
                    MAX_ATTACHED - 1
                )));
            };
            let old = self.attached.remove(pos);
            self.batch(&format!("DETACH DATABASE {}", quote(&old)))?;
        }
        self.open_file(db)?;
        self.attached.push(db.to_string());
        Ok(())
    }

    /// Attaches the file of `db` (creating it if missing) with the durability settings.
    pub(super) fn open_file(&self, db: &str) -> Result<(), SqlError> {
        let path = self.database_path(db);
        self.conn
            .execute("ATTACH DATABASE ?1 AS ?2", (path.to_string_lossy(), db))
            .map_err(|e| sql_error(&e, None))?;
        let schema = quote(db);
        self.batch(&format!(
            "PRAGMA {schema}.journal_mode=WAL; PRAGMA {schema}.synchronous=FULL; \
             CREATE TABLE IF NOT EXISTS {schema}.{CATALOG} (name TEXT PRIMARY KEY, definition TEXT NOT NULL);"
        ))
    }

    pub(super) fn detach(&mut self, db: &str) -> Result<(), SqlError> {
        if let Some(pos) = self.attached.iter().position(|a| a == db) {
            self.attached.remove(pos);
            self.batch(&format!("DETACH DATABASE {}", quote(db)))?;
        }
        Ok(())
    }

    /// `USE db` / COM_INIT_DB / the login database.
    pub fn use_database(&mut self, db: &str) -> Result<(), SqlError> {
        if !self.database_exists(db) {
            return Err(unknown_database(db));
        }
        self.attach(db, &[])?;
        self.current = Some(db.to_string());
        Ok(())
    }

    /// The MySQL definition of `table`, from the catalog.
    pub(super) fn definition(&self, t: &TableRef) -> Result<Option<String>, SqlError> {
        self.conn
            .query_row(
                &format!(
                    "SELECT definition FROM {}.{CATALOG} WHERE name = ?1",
                    quote(&t.db)
                ),
                [&t.table],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| sql_error(&e, Some(&t.db)))
    }

    pub(super) fn table_exists(&self, t: &TableRef) -> Result<bool, SqlError> {
        self.conn
            .query_row(
                &format!(
                    "SELECT 1 FROM {}.sqlite_master WHERE type = 'table' AND name = ?1",
                    quote(&t.db)
                ),
                [&t.table],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
            .map_err(|e| sql_error(&e, Some(&t.db)))
    }

    /// Runs one statement (parsed by the SQL layer), writing any result set to `sink`.
    pub fn execute(
        &mut self,
        statement: Statement,
        ctx: &dyn SessionContext,
        sink: &mut dyn RowSink,
    ) -> Result<Outcome, ExecError> {
        match statement {
            Statement::Query(_)
            | Statement::Insert(_)
            | Statement::Update(_)
            | Statement::Delete(_) => {
                let data = self.data_statement(statement, ctx)?;
                self.run_data(&data, &[], sink)
            }
            Statement::CreateTable(ct) => {
                let target = translate::resolve(&ct.name, self.current.as_deref())?;
                ctx.authorize(Privilege::Create, &target.db, Some(&target.table))?;
                self.create_table(&ct, &target).map_err(ExecError::from)
            }
            Statement::CreateIndex(ci) => {
                let target = translate::resolve(&ci.table_name, self.current.as_deref())?;
                ctx.authorize(Privilege::Create, &target.db, Some(&target.table))?;
                let Some(name) = &ci.name else {
                    return Err(SqlError::syntax("CREATE INDEX needs a name").into());
                };
                let index = translate::name_parts(name)?.pop().unwrap_or_default();
                let columns: Vec<String> = ci
                    .columns
                    .iter()
                    .map(|c| c.column.expr.to_string())
                    .collect();
                let sql =
                    translate::create_index_sql(&target, &index, ci.unique, &columns.join(", "));
                self.ddl(&[target.db.as_str()], &[sql])
                    .map_err(ExecError::from)
            }
            Statement::Drop {
                object_type,
                if_exists,
                names,
                table,
                ..
            } => self
                .drop(object_type, if_exists, &names, table.as_ref(), ctx)
                .map_err(ExecError::from),
            Statement::CreateDatabase {
                db_name,
                if_not_exists,
                ..
            } => {
                let db = translate::name_parts(&db_name)?.join(".");
                ctx.authorize(Privilege::Create, &db, None)?;
                self.create_database(&db, if_not_exists)
                    .map_err(ExecError::from)
            }
            Statement::StartTransaction { modes, .. } => {
                if self.in_transaction() {
                    self.batch("COMMIT")?;
                }
                // A transaction that may write takes SQLite's write lock up front, waiting
                // for it like a MySQL row lock; a deferred one that reads first could only
                // fail (SQLITE_BUSY) when it later tries to write while another writes.
                let read_only = modes.iter().any(|m| {
                    matches!(
                        m,
                        sqlparser::ast::TransactionMode::AccessMode(
                            sqlparser::ast::TransactionAccessMode::ReadOnly
                        )
                    )
                });
                self.batch(if read_only {
                    "BEGIN DEFERRED"
                } else {
                    "BEGIN IMMEDIATE"
                })?;
                Ok(done(0, 0))
            }
            Statement::Commit { .. } => {
                if self.in_transaction() {
                    self.batch("COMMIT")?;
                }
                Ok(done(0, 0))
            }
            Statement::Rollback {
                savepoint: None, ..
            } => {
                if self.in_transaction() {
                    self.batch("ROLLBACK")?;
                }
                Ok(done(0, 0))
            }
            Statement::AlterTable(alter) => self.alter_table(&alter, ctx).map_err(ExecError::from),
            Statement::Truncate(t) => {
                for target in &t.table_names {
                    let target = translate::resolve(&target.name, self.current.as_deref())?;
                    ctx.authorize(Privilege::Drop, &target.db, Some(&target.table))?;
                    if !self.with_attached(&target)? {
                        return Err(no_such_table(&target).into());
                    }
                    let schema = quote(&target.db);
                    let mut statements =
                        vec![format!("DELETE FROM {schema}.{}", quote(&target.table))];
                    let has_sequence = self.conn.query_row(
                        &format!(
                            "SELECT 1 FROM {schema}.sqlite_master WHERE name = 'sqlite_sequence'"
                        ),
                        [],
                        |_| Ok(()),
                    );
                    if has_sequence
                        .optional()
                        .map_err(|e| sql_error(&e, None))?
                        .is_some()
                    {
                        statements.push(format!(
                            "DELETE FROM {schema}.sqlite_sequence WHERE name = '{}'",
                            target.table.replace('\'', "''")
                        ));
                    }
                    self.ddl(&[target.db.as_str()], &statements)?;
                }
                Ok(done(0, 0))
            }
            other => Err(SqlError::not_supported(first_words(&other.to_string())).into()),
        }
    }

    /// Parses, authorizes and rewrites a query or DML statement; returns the SQLite text,
    /// whether it produces rows, whether it inserts, and the database of its first table.
    fn data_statement(
        &mut self,
        mut statement: Statement,
        ctx: &dyn SessionContext,
    ) -> Result<DataStatement, SqlError> {
        let (privilege, rows, insert) = match &statement {
            Statement::Query(_) => (Privilege::Select, true, false),
            Statement::Insert(_) => (Privilege::Insert, false, true),
            Statement::Update(_) => (Privilege::Update, false, false),
            _ => (Privilege::Delete, false, false),
        };
        let found = translate::rewrite(&mut statement, self.current.as_deref(), ctx)?;
        for (i, t) in found.tables.iter().enumerate() {
            ctx.authorize(
                if i == 0 { privilege } else { Privilege::Select },
                &t.db,
                Some(&t.table),
            )?;
        }
        // Virtual tables first: computing information_schema attaches other databases, which
        // could detach those the statement itself needs.
        for (schema, table) in &found.virtual_tables {
            // Status and variables are public, as in MySQL; the account table is not.
            if schema == "mysql" {
                ctx.authorize(Privilege::Select, schema, Some(table))?;
            }
            self.fill_virtual_table(schema, table, ctx)?;
        }
        let keep: Vec<&str> = found.tables.iter().map(|t| t.db.as_str()).collect();
        for t in &found.tables {
            if !self.attach_if_exists(&t.db, &keep)? {
                return Err(no_such_table(t));
            }
        }
        let mut dbs: Vec<String> = found.tables.into_iter().map(|t| t.db).collect();
        dbs.sort();
        dbs.dedup();
        Ok(DataStatement {
            sql: statement.to_string(),
            rows,
            insert,
            dbs,
        })
    }

    /// Runs a data statement: its databases attached, inside the implicit transaction when
    /// autocommit is off.
    fn run_data(
        &mut self,
        data: &DataStatement,
        params: &[Value],
        sink: &mut dyn RowSink,
    ) -> Result<Outcome, ExecError> {
        let dbs: Vec<&str> = data.dbs.iter().map(String::as_str).collect();
        for db in &dbs {
            self.attach(db, &dbs)?;
        }
        self.begin_implicitly()?;
        if data.rows {
            self.run_rows(&data.sql, params, sink)
        } else {
            self.run_change(&data.sql, params, data.insert)
                .map_err(ExecError::from)
        }
    }

    /// Copies a server-computed table into the temporary table that stands in for it.
    fn fill_virtual_table(
        &mut self,
        schema: &str,
        table: &str,
        ctx: &dyn SessionContext,
    ) -> Result<(), SqlError> {
        let computed = if schema.eq_ignore_ascii_case("information_schema") {
            self.information_schema(table, ctx)?
        } else {
            None
        };
        let Some(vt) = computed.or_else(|| ctx.virtual_table(schema, table)) else {
            return Err(SqlError::new(
                ErrorKind::NoSuchTable,
                format!("Table '{schema}.{table}' doesn't exist"),
            ));
        };
        let name = quote(&translate::virtual_table_name(schema, table));
        let columns: Vec<String> = vt.columns.iter().map(|c| quote(c)).collect();
        self.batch(&format!(
            "DROP TABLE IF EXISTS temp.{name}; CREATE TEMP TABLE {name} ({});",
            columns.join(", ")
        ))?;
        let placeholders = vec!["?"; vt.columns.len()].join(", ");
        let mut insert = self
            .conn
            .prepare(&format!("INSERT INTO temp.{name} VALUES ({placeholders})"))
            .map_err(|e| sql_error(&e, None))?;
        for row in &vt.rows {
            insert
                .execute(params_from_iter(row.iter().map(to_sqlite)))
                .map_err(|e| sql_error(&e, None))?;
        }
        Ok(())
    }

    /// With autocommit off, the first statement opens a transaction, as in MySQL.
    fn begin_implicitly(&self) -> Result<(), SqlError> {
        if !self.autocommit && !self.in_transaction() {
            self.batch("BEGIN")?;
        }
        Ok(())
    }

    /// Runs a statement with a result set, streaming rows to `sink`. The column types come
    /// from the declared types, or for expressions from the first row, so the first row is
    /// read before the column definitions are written.
    fn run_rows(
        &self,
        sql: &str,
        params: &[Value],
        sink: &mut dyn RowSink,
    ) -> Result<Outcome, ExecError> {
        let db = self.current.as_deref();
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| sql_error(&e, db))?;
        let declared: Vec<(String, Option<String>)> = stmt
            .columns()
            .map(|c| (c.name().to_string(), c.decl_type().map(str::to_string)))
            .collect();
        let width = declared.len();
        // SQLite keeps DECIMAL(p,s) as a number; MySQL shows it with exactly s decimals.
        let scales: Vec<Option<usize>> = declared
            .iter()
            .map(|(_, decl)| decl.as_deref().and_then(decimal_scale))
            .collect();
        let mut rows = stmt
            .query(params_from_iter(params.iter().map(to_sqlite)))
            .map_err(|e| sql_error(&e, db))?;
        let read = |row: &rusqlite::Row<'_>| -> Result<Vec<Value>, SqlError> {
            (0..width)
                .map(|i| {
                    row.get_ref(i)
                        .map(|v| with_scale(from_sqlite(v), scales[i]))
                        .map_err(|e| sql_error(&e, db))
                })
                .collect()
        };
        let first = match rows.next().map_err(|e| sql_error(&e, db))? {
            Some(row) => Some(read(row)?),
            None => None,
        };
        let columns: Vec<Column> = declared
            .into_iter()
            .enumerate()
            .map(|(i, (name, decl))| {
                column_for(
                    &name,
                    decl.as_deref(),
                    first.as_ref().and_then(|r| r.get(i)),
                )
            })
            .collect();
        sink.columns(&columns)?;
        let Some(first) = first else {
            return Ok(Outcome::Rows);
        };
        sink.row(&first)?;
        while let Some(row) = rows.next().map_err(|e| sql_error(&e, db))? {
            sink.row(&read(row)?)?;
        }
        Ok(Outcome::Rows)
    }

    fn run_change(&self, sql: &str, params: &[Value], insert: bool) -> Result<Outcome, SqlError> {
        let db = self.current.as_deref();
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| sql_error(&e, db))?;
        let affected = stmt
            .execute(params_from_iter(params.iter().map(to_sqlite)))
            .map_err(|e| sql_error(&e, db))?;
        // MySQL reports the first id of a multi-row insert; generated ids are consecutive.
        let last_insert_id = if insert && affected > 0 {
            u64::try_from(self.conn.last_insert_rowid())
                .map_or(0, |last| last.saturating_sub(affected as u64 - 1))
        } else {
            0
        };
        Ok(done(affected as u64, last_insert_id))
    }

    /// Runs DDL as MySQL does: it commits an open transaction first and is atomic itself.
    pub(super) fn ddl(&mut self, dbs: &[&str], statements: &[String]) -> Result<Outcome, SqlError> {
        for db in dbs {
            self.attach(db, dbs)?;
        }
        if self.in_transaction() {
            self.batch("COMMIT")?;
        }
        self.batch("BEGIN")?;
        for s in statements {
            if let Err(e) = self.batch(s) {
                let _ = self.batch("ROLLBACK");
                return Err(e);
            }
        }
        self.batch("COMMIT")?;
        Ok(done(0, 0))
    }

    /// Attaches the database of `t` and says whether the table exists.
    pub(super) fn with_attached(&mut self, t: &TableRef) -> Result<bool, SqlError> {
        Ok(self.attach_if_exists(&t.db, &[])? && self.table_exists(t)?)
    }

    fn create_table(
        &mut self,
        ct: &sqlparser::ast::CreateTable,
        target: &TableRef,
    ) -> Result<Outcome, SqlError> {
        if !self.database_exists(&target.db) {
            return Err(unknown_database(&target.db));
        }
        if target.table.starts_with("_tlsql_")
            || target.table.to_ascii_lowercase().starts_with("sqlite_")
        {
            return Err(SqlError::new(
                ErrorKind::WrongTableName,
                format!("Incorrect table name '{}'", target.table),
            ));
        }
        let definition = translate::create_table(ct, target)?;
        if self.with_attached(target)? {
            let exists = SqlError::new(
                ErrorKind::TableExists,
                format!("Table '{}' already exists", target.table),
            );
            return if ct.if_not_exists {
                Ok(noted(vec![exists]))
            } else {
                Err(exists)
            };
        }
        let mut statements = definition.sqlite;
        statements.push(format!(
            "INSERT OR REPLACE INTO {}.{CATALOG} VALUES ('{}', '{}')",
            quote(&target.db),
            target.table.replace('\'', "''"),
            definition.mysql.replace('\'', "''")
        ));
        self.ddl(&[target.db.as_str()], &statements)
    }

    fn drop(
        &mut self,
        object_type: ObjectType,
        if_exists: bool,
        names: &[sqlparser::ast::ObjectName],
        index_table: Option<&sqlparser::ast::ObjectName>,
        ctx: &dyn SessionContext,
    ) -> Result<Outcome, SqlError> {
        match object_type {
            ObjectType::Table => {
                let targets: Vec<TableRef> = names
                    .iter()
                    .map(|n| translate::resolve(n, self.current.as_deref()))
                    .collect::<Result<_, _>>()?;
                let mut missing = Vec::new();
                let mut statements = Vec::new();
                let mut dbs = Vec::new();
                for t in &targets {
                    ctx.authorize(Privilege::Drop, &t.db, Some(&t.table))?;
                    if !self.with_attached(t)? {
                        missing.push(format!("{}.{}", t.db, t.table));
                        continue;
                    }
                    dbs.push(t.db.clone());
                    statements.push(format!("DROP TABLE {}.{}", quote(&t.db), quote(&t.table)));
                    statements.push(format!(
                        "DELETE FROM {}.{CATALOG} WHERE name = '{}'",
                        quote(&t.db),
                        t.table.replace('\'', "''")
                    ));
                }
                let unknown = |tables: &str| {
                    SqlError::new(ErrorKind::UnknownTable, format!("Unknown table '{tables}'"))
                };
                if !missing.is_empty() && !if_exists {
                    return Err(unknown(&missing.join(",")));
                }
                let dbs: Vec<&str> = dbs.iter().map(String::as_str).collect();
                self.ddl(&dbs, &statements)?;
                Ok(noted(missing.iter().map(|m| unknown(m)).collect()))
            }
            ObjectType::Database | ObjectType::Schema => {
                let Some(name) = names.first() else {
                    return Err(SqlError::syntax("DROP DATABASE needs a name"));
                };
                let db = translate::name_parts(name)?.join(".");
                ctx.authorize(Privilege::Drop, &db, None)?;
                self.drop_database(&db, if_exists)
            }
            ObjectType::Index => {
                let (Some(name), Some(table)) = (names.first(), index_table) else {
                    return Err(SqlError::syntax("DROP INDEX needs ON <table>"));
                };
                let target = translate::resolve(table, self.current.as_deref())?;
                ctx.authorize(Privilege::Drop, &target.db, Some(&target.table))?;
                let index = translate::name_parts(name)?.pop().unwrap_or_default();
                let sql = format!(
                    "DROP INDEX {}.{}",
                    quote(&target.db),
                    quote(&translate::index_name(&target.table, &index))
                );
                self.ddl(&[target.db.as_str()], &[sql])
            }
            other => Err(SqlError::not_supported(format!("DROP {other}"))),
        }
    }

    fn create_database(&mut self, db: &str, if_not_exists: bool) -> Result<Outcome, SqlError> {
        check_database_name(db)?;
        if self.database_exists(db) {
            let exists = SqlError::new(
                ErrorKind::DbCreateExists,
                format!("Can't create database '{db}'; database exists"),
            );
            return if if_not_exists {
                Ok(noted(vec![exists]))
            } else {
                Err(exists)
            };
        }
        if self.in_transaction() {
            self.batch("COMMIT")?;
        }
        // ATTACH creates the file; the catalog table makes it a database.
        self.attach_new(db)?;
        Ok(done(1, 0))
    }

    fn attach_new(&mut self, db: &str) -> Result<(), SqlError> {
        let path = self.database_path(db);
        // Created 0600 before SQLite sees it: SQLite would make it 0644, and its -wal and -shm
        // files inherit the database file's mode.
        crate::files::create_new(&path, crate::files::PRIVATE_MODE)
            .map_err(|e| SqlError::unknown(format!("creating {}: {e}", path.display())))?;
        self.attach(db, &[])
    }

    fn drop_database(&mut self, db: &str, if_exists: bool) -> Result<Outcome, SqlError> {
        if !self.database_exists(db) {
            let missing = SqlError::new(
                ErrorKind::DbDropExists,
                format!("Can't drop database '{db}'; database doesn't exist"),
            );
            return if if_exists {
                Ok(noted(vec![missing]))
            } else {
                Err(missing)
            };
        }
        if self.in_transaction() {
            self.batch("COMMIT")?;
        }
        self.attach(db, &[])?;
        let tables: Vec<String> = {
            let mut stmt = self
                .conn
                .prepare(&format!("SELECT name FROM {}.{CATALOG}", quote(db)))
                .map_err(|e| sql_error(&e, None))?;
            let names = stmt
                .query_map([], |r| r.get(0))
                .map_err(|e| sql_error(&e, None))?;
            names
                .collect::<Result<_, _>>()
                .map_err(|e| sql_error(&e, None))?
        };
        self.detach(db)?;
        let path = self.database_path(db);
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            if let Err(e) = fs::remove_file(&file)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                return Err(SqlError::unknown(format!(
                    "removing {}: {e}",
                    file.display()
                )));
            }
        }
        if self.current.as_deref() == Some(db) {
            self.current = None;
        }
        Ok(done(tables.len() as u64, 0))
    }

    /// COM_STMT_PREPARE of a statement that [takes parameters](takes_parameters).
    pub fn prepare(
        &mut self,
        statement: Statement,
        ctx: &dyn SessionContext,
    ) -> Result<Prepared, SqlError> {
        if !takes_parameters(&statement) {
            return Err(SqlError::not_supported(
                "parameters outside SELECT, INSERT, UPDATE and DELETE",
            ));
        }
        let data = self.data_statement(statement, ctx)?;
        let stmt = self
            .conn
            .prepare_cached(&data.sql)
            .map_err(|e| sql_error(&e, self.current.as_deref()))?;
        let params = u16::try_from(stmt.parameter_count()).unwrap_or(u16::MAX);
        let columns = stmt
            .columns()
            .map(|c| column_for(c.name(), c.decl_type(), None))
            .collect();
        drop(stmt);
        Ok(Prepared {
            params,
            columns,
            data,
        })
    }

    /// COM_STMT_EXECUTE.
    pub fn execute_prepared(
        &mut self,
        prepared: &Prepared,
        params: &[Value],
        sink: &mut dyn RowSink,
    ) -> Result<Outcome, ExecError> {
        self.run_data(&prepared.data, params, sink)
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
}

pub(super) fn done(affected_rows: u64, last_insert_id: u64) -> Outcome {
    Outcome::Done {
        affected_rows,
        last_insert_id,
        notes: Vec::new(),
    }
}

/// Nothing changed; what would have been errors are notes (`IF [NOT] EXISTS`).
fn noted(notes: Vec<SqlError>) -> Outcome {
    Outcome::Done {
        affected_rows: 0,
        last_insert_id: 0,
        notes,
    }
}

pub(super) fn no_such_table(t: &TableRef) -> SqlError {
    SqlError::new(
        ErrorKind::NoSuchTable,
        format!("Table '{}.{}' doesn't exist", t.db, t.table),
    )
}

fn first_words(sql: &str) -> String {
    sql.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

/// Lists the tables of an attached database (without the catalog and SQLite's own tables).
pub(super) fn tables_of(session: &EngineSession, db: &str) -> Result<Vec<String>, SqlError> {
    let mut stmt = session
        .conn
        .prepare(&format!(
            "SELECT name FROM {}.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
             AND name <> '{CATALOG}' ORDER BY name",
            quote(db)
        ))
        .map_err(|e| sql_error(&e, Some(db)))?;
    let names = stmt
        .query_map([], |r| r.get(0))
        .map_err(|e| sql_error(&e, Some(db)))?;
    names
        .collect::<Result<Vec<String>, _>>()
        .map_err(|e| sql_error(&e, Some(db)))
}
