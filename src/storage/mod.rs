//! Storage: the narrow interface the session needs, and the SQLite engine behind it.
//!
//! Every MySQL database is one SQLite file in `<data-dir>/db/`. A session owns one SQLite
//! connection whose `main` schema is in memory; the databases it uses are attached under their
//! own names, and every table reference is qualified with its database before the statement
//! reaches SQLite, so `USE` only changes which name unqualified references get. Statements come
//! parsed (sqlparser's AST, by the SQL layer), are checked against the session's privileges,
//! rewritten where SQLite differs (see [`translate`]) and rendered back to SQL for SQLite. The
//! `SHOW` statements storage answers itself come as a [`Show`].
//!
//! Durability: each database file is in WAL mode with `synchronous=FULL`, so a committed
//! transaction survives `kill -9` of the server.

//!
//! # Files
//!
//! Each uses only the interface here and those listed before it.
//!
//! * `types`: SQLite values and types to MySQL's and back, SQLite errors to MySQL errors.
//! * `functions`: MySQL functions and casts in SQLite, and the functions registered on each
//!   connection for what SQLite lacks.
//! * `definition`: a table's MySQL definition as MySQL describes it (canonical types, named
//!   keys), read by every `SHOW` and `information_schema` table.
//! * `translate`: MySQL statements rewritten for SQLite.
//! * `conn`: [`Engine`], and [`EngineSession`]: a session's connection, the database files
//!   attached to it, the catalog of MySQL definitions, the session's temporary tables, how DDL
//!   runs.
//! * `pool`: sessions' connections reused, made fresh when a session ends; the
//!   [`Interrupter`] that `KILL` reaches a session's running statement with.
//! * `view`: `CREATE`/`DROP VIEW`, a view's definition as MySQL shows it.
//! * `show`: the `SHOW`s storage answers ([`EngineSession::show`]), COM_FIELD_LIST.
//! * `information_schema`: `SCHEMATA`, `TABLES`, `COLUMNS`, `VIEWS`.
//! * `ddl`: `CREATE`/`DROP`, `TRUNCATE`.
//! * `alter`: `ALTER TABLE`.
//! * `duplicate`: the duplicate-key error with the key's name and value.
//! * `shared`: [`SharedQuery`], a SELECT that sessions share, with its SQLite form kept when
//!   it depends on nothing of a session's own.
//! * `exec`: [`EngineSession::execute`], prepared statements, shared queries.

mod alter;
mod conn;
mod ddl;
mod definition;
mod duplicate;
mod exec;
mod functions;
mod information_schema;
mod pool;
mod shared;
mod show;
mod table_sql;
mod translate;
mod types;
mod view;

use std::io;

use crate::auth::privileges::Privilege;
use crate::error::SqlError;
use crate::protocol::value::{Cell, Column, Value};

pub use conn::{Engine, EngineSession};
pub use exec::{Prepared, takes_parameters};
pub use pool::Interrupter;
pub use shared::SharedQuery;

/// A table named in a statement: `t` (in the default database) or `db.t`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableName {
    /// The database, when the statement names one.
    pub db: Option<String>,
    /// The table.
    pub table: String,
}

/// Which rows a `SHOW` keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    /// `LIKE 'pattern'` on the first column (the name).
    Like(String),
    /// `WHERE condition` over the columns, by the names the `SHOW` gives them.
    Where(Box<sqlparser::ast::Expr>),
}

impl Filter {
    /// The `LIKE` pattern, if that is the filter.
    pub fn pattern(&self) -> Option<&str> {
        match self {
            Filter::Like(pattern) => Some(pattern),
            Filter::Where(_) => None,
        }
    }
}

/// The `SHOW` statements storage answers from its files and its catalog of MySQL definitions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Show {
    /// `SHOW DATABASES|SCHEMAS [LIKE 'p' | WHERE condition]`.
    Databases {
        /// `LIKE` or `WHERE`.
        filter: Option<Filter>,
    },
    /// `SHOW [FULL] TABLES [FROM|IN db] [LIKE 'p' | WHERE condition]`.
    Tables {
        /// The database (the default database when not given).
        db: Option<String>,
        /// `FULL`: a `Table_type` column too.
        full: bool,
        /// `LIKE` or `WHERE`.
        filter: Option<Filter>,
    },
    /// `SHOW [FULL] COLUMNS|FIELDS FROM t [FROM db] [LIKE 'p' | WHERE condition]`,
    /// `DESCRIBE t [column]`, `EXPLAIN t`.
    Columns {
        /// The table.
        table: TableName,
        /// `FULL`: `Collation`, `Privileges` and `Comment` too.
        full: bool,
        /// `LIKE` or `WHERE` (`DESCRIBE`'s column name or pattern is a `LIKE`).
        filter: Option<Filter>,
    },
    /// `SHOW {INDEX|INDEXES|KEYS} {FROM|IN} t [{FROM|IN} db]`.
    Index(TableName),
    /// `SHOW TABLE STATUS [{FROM|IN} db] [LIKE 'p' | WHERE condition]`.
    TableStatus {
        /// The database (the default database when not given).
        db: Option<String>,
        /// `LIKE` or `WHERE`.
        filter: Option<Filter>,
    },
    /// `SHOW CREATE VIEW v`.
    CreateView(TableName),
    /// `SHOW CREATE TABLE t`.
    CreateTable(TableName),
    /// `SHOW CREATE DATABASE|SCHEMA db`.
    CreateDatabase(String),
}

/// Which value of a system variable an expression asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarScope {
    /// `@@global.x`
    Global,
    /// `@@session.x` / `@@local.x`
    Session,
    /// `@@x`: the session value where there is one, the global value otherwise.
    Default,
}

/// A table the server computes (`performance_schema.session_status` and friends).
pub struct VirtualTable {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, as many values as columns each.
    pub rows: Vec<Vec<Value>>,
}

/// What storage needs from the session while it runs a statement.
pub trait SessionContext {
    /// The value of a system variable (`@@x`).
    fn system_variable(&self, scope: VarScope, name: &str) -> Result<Value, SqlError>;
    /// The value of a user variable (`@x`), NULL when unset.
    fn user_variable(&self, name: &str) -> Value;
    /// Session functions (`USER()`, `CURRENT_USER()`, `VERSION()`, `CONNECTION_ID()`,
    /// `FOUND_ROWS()`), by
    /// upper-case name; `None` when the name is not one of them.
    fn function(&self, name: &str) -> Option<Value>;
    /// A server-computed table, if `schema.table` is one.
    fn virtual_table(&self, schema: &str, table: &str) -> Option<VirtualTable>;
    /// Whether the session may use `privilege` on `db` (and `table`, when the statement names
    /// one): `Ok` or the MySQL error (1142 for a table, 1044 for a database).
    fn authorize(
        &self,
        privilege: Privilege,
        db: &str,
        table: Option<&str>,
    ) -> Result<(), SqlError>;
    /// Whether the session holds any privilege on `db` (what `USE` and `SHOW TABLES` need):
    /// `Ok` or 1044.
    fn authorize_database(&self, db: &str) -> Result<(), SqlError>;
    /// Whether an UPDATE reports the rows it matched (the client asked for CLIENT_FOUND_ROWS)
    /// rather than those it changed.
    fn found_rows(&self) -> bool;
}

/// Where a result set goes: the client's result writer, or a capture.
pub trait RowSink {
    /// The column definitions; called once, before any row.
    fn columns(&mut self, columns: &[Column]) -> io::Result<()>;
    /// One row, borrowed from where it lies.
    fn row(&mut self, row: &[Cell<'_>]) -> io::Result<()>;
}

/// How a statement ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A result set was written to the sink; the caller writes its end.
    Rows,
    /// No result set: the caller sends OK.
    Done {
        /// Rows inserted, changed or deleted.
        affected_rows: u64,
        /// The AUTO_INCREMENT value of the last inserted row (0 when none).
        last_insert_id: u64,
        /// Notes for `SHOW WARNINGS`: what would have been an error without `IF [NOT] EXISTS`.
        notes: Vec<SqlError>,
    },
}

impl Outcome {
    /// OK with these counts and no notes.
    pub(crate) fn done(affected_rows: u64, last_insert_id: u64) -> Outcome {
        Outcome::Done {
            affected_rows,
            last_insert_id,
            notes: Vec::new(),
        }
    }

    /// Nothing changed; what would have been errors are notes (`IF [NOT] EXISTS`).
    pub(crate) fn noted(notes: Vec<SqlError>) -> Outcome {
        Outcome::Done {
            affected_rows: 0,
            last_insert_id: 0,
            notes,
        }
    }
}

/// Why a statement failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// The statement failed; the session is fine.
    #[error("{0}")]
    Sql(SqlError),
    /// Writing the result to the client failed; the session ends.
    #[error("writing the result: {0}")]
    Io(io::Error),
}

impl From<SqlError> for ExecError {
    fn from(e: SqlError) -> Self {
        ExecError::Sql(e)
    }
}

impl From<io::Error> for ExecError {
    fn from(e: io::Error) -> Self {
        ExecError::Io(e)
    }
}

/// The engine could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The data directory could not be created or read.
    #[error("data directory {path}: {source}")]
    Dir {
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A database file's write-ahead log could not be checkpointed.
    #[error("checkpoint of {path}: {source}")]
    Checkpoint {
        /// The database file.
        path: std::path::PathBuf,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
}
