//! A session's SQLite connection and the database files attached to it: one file per MySQL
//! database in `<data-dir>/db/`, attached under the database's name when a statement needs it.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};

use super::translate::{TableRef, quote};
use super::types::sql_error;
use super::{Outcome, StorageError};
use crate::error::{ErrorKind, SqlError};

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

    /// Attaches the database of `t` and says whether the table exists.
    pub(super) fn with_attached(&mut self, t: &TableRef) -> Result<bool, SqlError> {
        Ok(self.attach_if_exists(&t.db, &[])? && self.table_exists(t)?)
    }

    /// With autocommit off, the first statement opens a transaction, as in MySQL.
    pub(super) fn begin_implicitly(&self) -> Result<(), SqlError> {
        if !self.autocommit && !self.in_transaction() {
            self.batch("BEGIN")?;
        }
        Ok(())
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
        Ok(Outcome::done(0, 0))
    }
}

pub(super) fn no_such_table(t: &TableRef) -> SqlError {
    SqlError::new(
        ErrorKind::NoSuchTable,
        format!("Table '{}.{}' doesn't exist", t.db, t.table),
    )
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
