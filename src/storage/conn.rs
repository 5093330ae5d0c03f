//! A session's SQLite connection and the database files attached to it: one file per MySQL
//! database in `<data-dir>/db/`, attached under the database's name when a statement needs it.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};

use super::definition::TableDef;
use super::functions::UpsertTally;
use super::pool::{self, Interrupter, Lease, Ready, Slot};
use super::translate::{self, TableRef, quote};
use super::types::sql_error;
use super::{Outcome, StorageError};
use crate::error::{ErrorKind, SqlError};

/// The limit on attached databases per connection the bundled SQLite is built with
/// (`SQLITE_MAX_ATTACHED` in `.cargo/config.toml`): a statement may name one fewer (the
/// connection's own in-memory `main` is not counted, but the limit is checked before each
/// ATTACH).
const MAX_ATTACHED: usize = 125;

/// How many databases a session keeps attached between statements; beyond that the least
/// recently used are detached (each holds file descriptors and a page cache).
const KEEP_ATTACHED: usize = 16;

/// The table in every database file that keeps each table's MySQL definition.
pub(super) const CATALOG: &str = "_tlsql_tables";

/// The engine: where the database files live.
#[derive(Debug)]
pub struct Engine {
    dir: PathBuf,
    /// Bumped by every `CREATE`/`DROP DATABASE`, so that the other sessions look again at the
    /// files they have attached before their next statement.
    databases_changed: Arc<AtomicU64>,
    /// Connections given back by ended sessions, the most recent last.
    pool: Arc<Mutex<Vec<Ready>>>,
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
        Ok(Engine {
            dir,
            databases_changed: Arc::new(AtomicU64::new(0)),
            pool: Arc::default(),
        })
    }

    /// A session's connection: one an ended session gave back, else a new one.
    pub fn connect(&self) -> Result<EngineSession, SqlError> {
        let pooled = pool::lock(&self.pool).pop();
        let Ready {
            conn,
            interrupted,
            upserts,
        } = match pooled {
            Some(ready) => ready,
            None => Ready::open().map_err(|e| sql_error(&e, None))?,
        };
        let slot = Arc::new(Mutex::new(Some(conn.get_interrupt_handle())));
        Ok(EngineSession {
            conn: Lease(Some(conn)),
            interrupted,
            upserts,
            slot,
            pool: Arc::clone(&self.pool),
            dir: self.dir.clone(),
            current: None,
            autocommit: true,
            foreign_key_checks: true,
            pragmas_changed: false,
            temp_used: false,
            temporary: Vec::new(),
            attached: Vec::new(),
            files: Vec::new(),
            databases_changed: Arc::clone(&self.databases_changed),
            databases_seen: self.databases_changed.load(Ordering::Acquire),
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

/// One session's view of storage.
pub struct EngineSession {
    pub(super) conn: Lease,
    /// Set by the session's [`Interrupter`]; `SLEEP` ends when it is.
    pub(super) interrupted: Arc<AtomicBool>,
    /// What the connection's upsert counting function counts into.
    pub(super) upserts: Arc<UpsertTally>,
    /// The connection's interrupt handle for this session's [`Interrupter`]s.
    pub(super) slot: Slot,
    /// Where the connection goes when the session ends.
    pub(super) pool: Arc<Mutex<Vec<Ready>>>,
    pub(super) dir: PathBuf,
    pub(super) current: Option<String>,
    autocommit: bool,
    /// `foreign_key_checks`.
    foreign_key_checks: bool,
    /// Whether a PRAGMA that sessions change was changed (foreign keys, legacy ALTER TABLE).
    pub(super) pragmas_changed: bool,
    /// Whether tables were made in SQLite's `temp` schema (`information_schema`, the server's
    /// tables, the session's temporary tables).
    pub(super) temp_used: bool,
    /// The session's temporary tables (`CREATE TEMPORARY TABLE`), in the order they were made.
    pub(super) temporary: Vec<Temporary>,
    /// Attached databases, least recently used first.
    pub(super) attached: Vec<String>,
    /// The file (device, inode) each attached database was opened from.
    pub(super) files: Vec<(String, (u64, u64))>,
    databases_changed: Arc<AtomicU64>,
    /// The value of `databases_changed` when this session last looked at its files.
    databases_seen: u64,
}

/// A temporary table: the session's own, in SQLite's `temp` schema under
/// [`translate::temporary_name`], its MySQL definition kept here rather than in a catalog.
pub(super) struct Temporary {
    /// Its MySQL name.
    pub(super) table: TableRef,
    pub(super) def: TableDef,
}

/// The device and inode of a file, which tell a database file from one made later under the
/// same name.
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
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
    /// What stops this connection's running statement from another thread.
    pub fn interrupter(&self) -> Interrupter {
        Interrupter {
            slot: Arc::clone(&self.slot),
            interrupted: Arc::clone(&self.interrupted),
        }
    }

    /// Forgets an interrupt that ended a statement (before the next one).
    pub fn clear_interrupt(&self) {
        self.interrupted.store(false, Ordering::Release);
    }

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

    /// COM_RESET_CONNECTION: roll back, the temporary tables dropped, autocommit and foreign
    /// key checks on, no default database kept.
    pub fn reset(&mut self) -> Result<(), SqlError> {
        if self.in_transaction() {
            self.batch("ROLLBACK")?;
        }
        for t in std::mem::take(&mut self.temporary) {
            let table = translate::temporary_table(&t.table);
            self.batch(&format!("DROP TABLE temp.{}", quote(&table.table)))?;
        }
        self.autocommit = true;
        self.set_foreign_key_checks(true)
    }

    /// The session's temporary table that `t` names: by its MySQL name, or as a rewritten
    /// statement names it (`temp`.[`translate::temporary_name`]).
    pub(super) fn temporary(&self, t: &TableRef) -> Option<&Temporary> {
        self.temporary.iter().find(|tmp| {
            if t.db == "temp" {
                translate::temporary_name(&tmp.table) == t.table
            } else {
                translate::names_temporary(&tmp.table, t)
            }
        })
    }

    /// 1235 naming `statement` when `t` is a temporary table, which `statement` cannot
    /// change (it would otherwise reach the base table the temporary one shadows).
    pub(super) fn refuse_temporary(&self, t: &TableRef, statement: &str) -> Result<(), SqlError> {
        match self.temporary(t) {
            Some(_) => Err(SqlError::not_supported(format!(
                "{statement} on a TEMPORARY table"
            ))),
            None => Ok(()),
        }
    }

    /// The MySQL names of the session's temporary tables.
    pub(super) fn temporary_names(&self) -> Vec<TableRef> {
        self.temporary.iter().map(|tmp| tmp.table.clone()).collect()
    }

    /// Where SQLite keeps the table `t` names: a temporary table's in `temp`, a base table
    /// under its own name.
    pub(super) fn sqlite_table(&self, t: &TableRef) -> TableRef {
        self.temporary(t)
            .map_or_else(|| t.clone(), |tmp| translate::temporary_table(&tmp.table))
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

    /// Called by every statement first: when a session has created or dropped a database
    /// since this one last looked, the databases attached here whose file is gone or was
    /// replaced are detached, so that a database dropped elsewhere is unknown here at once
    /// (1049, its tables 1146) rather than read from a file no longer in the data directory.
    /// Inside a transaction nothing is detached (SQLite cannot); the look is left for the
    /// first statement after it.
    pub(super) fn notice_dropped_databases(&mut self) -> Result<(), SqlError> {
        let now = self.databases_changed.load(Ordering::Acquire);
        if now == self.databases_seen || self.in_transaction() {
            return Ok(());
        }
        self.databases_seen = now;
        let stale: Vec<String> = self
            .files
            .iter()
            .filter(|(db, id)| file_id(&self.database_path(db)) != Some(*id))
            .map(|(db, _)| db.clone())
            .collect();
        for db in stale {
            self.detach(&db)?;
        }
        Ok(())
    }

    /// Tells every session that a database was created or dropped.
    pub(super) fn databases_changed(&self) {
        self.databases_changed.fetch_add(1, Ordering::AcqRel);
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
        while self.attached.len() >= KEEP_ATTACHED {
            let Some(pos) = self.attached.iter().position(|a| {
                Some(a.as_str()) != self.current.as_deref() && !keep.contains(&a.as_str())
            }) else {
                break;
            };
            let old = self.attached.remove(pos);
            self.files.retain(|(d, _)| *d != old);
            self.batch(&format!("DETACH DATABASE {}", quote(&old)))?;
        }
        if self.attached.len() >= MAX_ATTACHED - 1 {
            return Err(SqlError::not_supported(format!(
                "more than {} databases in one statement",
                MAX_ATTACHED - 1
            )));
        }
        let id = file_id(&self.database_path(db));
        self.open_file(db)?;
        self.attached.push(db.to_string());
        if let Some(id) = id {
            self.files.retain(|(d, _)| d != db);
            self.files.push((db.to_string(), id));
        }
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
        self.files.retain(|(d, _)| d != db);
        if let Some(pos) = self.attached.iter().position(|a| a == db) {
            self.attached.remove(pos);
            self.batch(&format!("DETACH DATABASE {}", quote(db)))?;
        }
        Ok(())
    }

    /// No default database any more (COM_CHANGE_USER without one).
    pub fn forget_database(&mut self) {
        self.current = None;
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

    /// The MySQL definition of the table `t` names as MySQL describes it: the session's
    /// temporary table's, or the catalog's (see [`EngineSession::catalog_def`]).
    pub(super) fn table_def(&self, t: &TableRef) -> Result<Option<TableDef>, SqlError> {
        match self.temporary(t) {
            Some(tmp) => Ok(Some(tmp.def.clone())),
            None => self.catalog_def(t),
        }
    }

    /// The MySQL definition of base table `t` as MySQL describes it, if the catalog has one.
    pub(super) fn catalog_def(&self, t: &TableRef) -> Result<Option<TableDef>, SqlError> {
        let Some(text) = self.definition(t)? else {
            return Ok(None);
        };
        match translate::parse_one(&text)? {
            sqlparser::ast::Statement::CreateTable(ct) => {
                TableDef::from_create(&ct, &t.table).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// Writes the definition of `t` into the catalog (inside the caller's transaction).
    pub(super) fn catalog_statement(t: &TableRef, def: &TableDef) -> String {
        format!(
            "INSERT OR REPLACE INTO {}.{CATALOG} VALUES ('{}', '{}')",
            quote(&t.db),
            t.table.replace('\'', "''"),
            def.show_create(false, None).replace('\'', "''")
        )
    }

    /// The value AUTO_INCREMENT gives the next row of `t` (SQLite's sequence plus one), or
    /// `None` when the table has no AUTO_INCREMENT column; `t` as SQLite names it (see
    /// [`EngineSession::sqlite_table`]).
    pub(super) fn next_auto_increment(&self, t: &TableRef) -> Result<Option<u64>, SqlError> {
        let schema = quote(&t.db);
        let has_sequence = self
            .conn
            .query_row(
                &format!("SELECT 1 FROM {schema}.sqlite_master WHERE name = 'sqlite_sequence'"),
                [],
                |_| Ok(()),
            )
            .optional()
            .map_err(|e| sql_error(&e, None))?
            .is_some();
        let autoincrement = self
            .conn
            .query_row(
                &format!(
                    "SELECT 1 FROM {schema}.sqlite_master WHERE type = 'table' AND name = ?1 \
                     AND sql LIKE '%AUTOINCREMENT%'"
                ),
                [&t.table],
                |_| Ok(()),
            )
            .optional()
            .map_err(|e| sql_error(&e, None))?
            .is_some();
        if !autoincrement {
            return Ok(None);
        }
        if !has_sequence {
            return Ok(Some(1));
        }
        let seq: Option<i64> = self
            .conn
            .query_row(
                &format!("SELECT seq FROM {schema}.sqlite_sequence WHERE name = ?1"),
                [&t.table],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| sql_error(&e, None))?;
        Ok(Some(seq.map_or(1, |s| u64::try_from(s).unwrap_or(0) + 1)))
    }

    pub(super) fn table_exists(&self, t: &TableRef) -> Result<bool, SqlError> {
        self.schema_object_exists(t, "table")
    }

    /// Whether `t` is a view (its database attached).
    pub(super) fn view_exists(&self, t: &TableRef) -> Result<bool, SqlError> {
        self.schema_object_exists(t, "view")
    }

    /// Whether the attached database of `t` holds an object of SQLite type `kind` named `t`.
    fn schema_object_exists(&self, t: &TableRef, kind: &str) -> Result<bool, SqlError> {
        self.conn
            .query_row(
                &format!(
                    "SELECT 1 FROM {}.sqlite_master WHERE type = ?1 AND name = ?2",
                    quote(&t.db)
                ),
                [kind, t.table.as_str()],
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

    /// Runs the statements that rebuild table `table` of `db` as DDL, with SQLite's foreign
    /// key enforcement off while the old table is dropped and the new one renamed (SQLite's
    /// documented procedure), then checks the rebuilt table's own foreign keys: rows they
    /// reject undo the whole statement (1452, as MySQL refuses such an `ALTER TABLE`).
    pub(super) fn rebuild_ddl(
        &mut self,
        db: &str,
        table: &str,
        statements: &[String],
    ) -> Result<Outcome, SqlError> {
        self.attach(db, &[db])?;
        if self.in_transaction() {
            self.batch("COMMIT")?;
        }
        self.pragmas_changed = true;
        self.batch("PRAGMA foreign_keys = OFF; PRAGMA legacy_alter_table = ON; BEGIN")?;
        let run = || -> Result<(), SqlError> {
            for s in statements {
                self.batch(s)?;
            }
            let violation = self
                .conn
                .query_row(
                    &format!("SELECT 1 FROM {}.pragma_foreign_key_check(?1)", quote(db)),
                    [table],
                    |_| Ok(()),
                )
                .optional()
                .map_err(|e| sql_error(&e, Some(db)))?;
            if violation.is_some() {
                return Err(SqlError::new(
                    ErrorKind::NoReferencedRow,
                    format!(
                        "Cannot add or update a child row: a foreign key constraint fails (`{db}`.`{table}`)"
                    ),
                ));
            }
            self.batch("COMMIT")
        };
        let done = run();
        if done.is_err() {
            let _ = self.batch("ROLLBACK");
        }
        let restored = self.batch(&format!(
            "PRAGMA legacy_alter_table = OFF; PRAGMA foreign_keys = {}",
            if self.foreign_key_checks { "ON" } else { "OFF" }
        ));
        done.and(restored).map(|()| Outcome::done(0, 0))
    }

    /// `SET foreign_key_checks`: whether SQLite enforces foreign keys. SQLite changes this
    /// only outside a transaction, so inside one it takes effect when the transaction ends.
    pub fn set_foreign_key_checks(&mut self, on: bool) -> Result<(), SqlError> {
        self.foreign_key_checks = on;
        self.pragmas_changed |= !on;
        self.apply_foreign_key_checks()
    }

    /// Applies `foreign_key_checks` if no transaction is open (a no-op in one).
    pub(super) fn apply_foreign_key_checks(&self) -> Result<(), SqlError> {
        if self.in_transaction() {
            return Ok(());
        }
        self.batch(if self.foreign_key_checks {
            "PRAGMA foreign_keys = ON"
        } else {
            "PRAGMA foreign_keys = OFF"
        })
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
    objects_of(session, db, "table")
}

/// Lists the views of an attached database.
pub(super) fn views_of(session: &EngineSession, db: &str) -> Result<Vec<String>, SqlError> {
    objects_of(session, db, "view")
}

/// The names of an attached database's SQLite objects of `kind` (`table`, `view`).
fn objects_of(session: &EngineSession, db: &str, kind: &str) -> Result<Vec<String>, SqlError> {
    let mut stmt = session
        .conn
        .prepare(&format!(
            "SELECT name FROM {}.sqlite_master WHERE type = '{kind}' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
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
