//! Running a statement: queries and DML rewritten for SQLite (see [`super::translate`]),
//! transactions, and the dispatch of the rest to [`super::ddl`] and [`super::alter`]; prepared
//! queries and DML with their parameters.

use std::sync::Arc;

use rusqlite::params_from_iter;
use sqlparser::ast::{
    OnInsert, SchemaName, SetExpr, Statement, TableObject, TransactionAccessMode, TransactionMode,
    TransactionModifier,
};

use super::conn::{EngineSession, no_such_table};
use super::shared::{SharedQuery, Translation, Watched};
use super::translate::{self, Rewritten, quote};
use super::types::{
    cell, column_for, decimal_scale, from_sqlite, scaled_text, sql_error, to_sqlite,
};
use super::{
    ExecError, Outcome, RowSink, SessionContext, alter, ddl, duplicate, information_schema, view,
};
use crate::auth::privileges::Privilege;
use crate::error::{ErrorKind, SqlError};
use crate::protocol::value::{Cell, Column, Value};

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
    /// The statement it was rendered from (to explain a duplicate key).
    statement: Statement,
    /// Whether it produces a result set (a query) rather than a change count.
    rows: bool,
    /// The SQLite schema and table an INSERT writes: the insert id it reports is one of that
    /// table's AUTO_INCREMENT values, if it has that column.
    inserts_into: Option<(String, String)>,
    /// How its change count becomes MySQL's affected rows.
    counting: Counting,
    /// The databases it names, attached before each run.
    dbs: Vec<String>,
}

/// How a change statement's count becomes MySQL's affected rows.
enum Counting {
    /// SQLite's change count is MySQL's.
    Changes,
    /// `INSERT … ON DUPLICATE KEY UPDATE`: each inserted row counts 1, each updated row 2, and a
    /// row its assignments leave as it was 0, or 1 with the client's CLIENT_FOUND_ROWS.
    Upsert {
        found_rows: bool,
        /// The rows come from a VALUES list: then a statement that only updated reports the
        /// AUTO_INCREMENT value of the last row that met a key as its insert id, as MySQL does.
        values: bool,
    },
}

impl EngineSession {
    /// Runs one statement (parsed by the SQL layer), writing any result set to `sink`.
    pub fn execute(
        &mut self,
        statement: Statement,
        ctx: &dyn SessionContext,
        sink: &mut dyn RowSink,
    ) -> Result<Outcome, ExecError> {
        self.notice_dropped_databases()?;
        let outcome = match statement {
            Statement::Query(_)
            | Statement::Insert(_)
            | Statement::Update(_)
            | Statement::Delete(_) => {
                let data = self.data_statement(statement, ctx)?;
                return self.run_data(&data, &[], sink);
            }
            Statement::CreateTable(ct) => ddl::create_table(self, &ct, ctx),
            Statement::CreateIndex(ci) => ddl::create_index(self, &ci, ctx),
            Statement::CreateView(cv) => view::create(self, &cv, ctx),
            Statement::Drop {
                object_type,
                if_exists,
                names,
                table,
                temporary,
                ..
            } => ddl::drop(
                self,
                object_type,
                temporary,
                if_exists,
                &names,
                table.as_ref(),
                ctx,
            ),
            Statement::CreateDatabase {
                db_name,
                if_not_exists,
                ..
            }
            | Statement::CreateSchema {
                schema_name: SchemaName::Simple(db_name),
                if_not_exists,
                ..
            } => ddl::create_database(self, &db_name, if_not_exists, ctx),
            Statement::Truncate(t) => ddl::truncate(self, &t.table_names, ctx),
            Statement::AlterTable(a) => alter::alter_table(self, &a, ctx),
            Statement::StartTransaction {
                modes, modifier, ..
            } => self.start_transaction(&modes, modifier),
            Statement::Commit { .. } => self.end_transaction("COMMIT"),
            Statement::Rollback {
                savepoint: None, ..
            } => self.end_transaction("ROLLBACK"),
            Statement::Savepoint { name } => self.savepoint("SAVEPOINT", &name.value),
            Statement::Rollback {
                savepoint: Some(name),
                ..
            } => self.savepoint("ROLLBACK TO", &name.value),
            Statement::ReleaseSavepoint { name } => self.savepoint("RELEASE", &name.value),
            other => Err(SqlError::not_supported(first_words(&other.to_string()))),
        };
        outcome.map_err(ExecError::from)
    }

    /// `ALTER TABLE t {DISABLE|ENABLE} KEYS`: nothing to do once the table is found (SQLite
    /// keeps every index up to date as rows change); a temporary table needs no privilege.
    pub fn keys(
        &mut self,
        table: crate::storage::TableName,
        ctx: &dyn SessionContext,
    ) -> Result<Outcome, ExecError> {
        let db = match table.db {
            Some(db) => db,
            None => self.current.clone().ok_or_else(translate::no_database)?,
        };
        let target = translate::TableRef {
            db,
            table: table.table,
        };
        if self.temporary(&target).is_some() {
            return Ok(Outcome::done(0, 0));
        }
        ctx.authorize(Privilege::Create, &target.db, Some(&target.table))?;
        if !self.with_attached(&target)? {
            return Err(no_such_table(&target).into());
        }
        Ok(Outcome::done(0, 0))
    }

    /// `START TRANSACTION` / `BEGIN`: commits an open transaction first, as MySQL does.
    fn start_transaction(
        &mut self,
        modes: &[TransactionMode],
        modifier: Option<TransactionModifier>,
    ) -> Result<Outcome, SqlError> {
        if self.in_transaction() {
            self.batch("COMMIT")?;
        }
        // A transaction that may write takes SQLite's write lock up front, waiting for it like
        // a MySQL row lock; a deferred one that reads first could only fail (SQLITE_BUSY) when
        // it later tries to write while another writes. `WITH CONSISTENT SNAPSHOT` (deferred)
        // reads from snapshots without holding writers up.
        let read_only = modifier == Some(TransactionModifier::Deferred)
            || modes.iter().any(|m| {
                matches!(
                    m,
                    TransactionMode::AccessMode(TransactionAccessMode::ReadOnly)
                )
            });
        self.batch(if read_only {
            "BEGIN DEFERRED"
        } else {
            "BEGIN IMMEDIATE"
        })?;
        Ok(Outcome::done(0, 0))
    }

    /// `SAVEPOINT`, `ROLLBACK TO` and `RELEASE` (`how`) of savepoint `name`, as MySQL: outside
    /// a transaction `SAVEPOINT` sets nothing (with autocommit off it starts the transaction
    /// first) and the others find no savepoint (1305).
    fn savepoint(&mut self, how: &str, name: &str) -> Result<Outcome, SqlError> {
        if how == "SAVEPOINT" {
            self.begin_implicitly()?;
        }
        // MySQL's ER_SP_DOES_NOT_EXIST, the same number for savepoints as for functions.
        let missing = || {
            SqlError::new(
                ErrorKind::NoSuchFunction,
                format!("SAVEPOINT {name} does not exist"),
            )
        };
        if !self.in_transaction() {
            return if how == "SAVEPOINT" {
                Ok(Outcome::done(0, 0))
            } else {
                Err(missing())
            };
        }
        match self.conn.execute_batch(&format!("{how} {}", quote(name))) {
            Ok(()) => Ok(Outcome::done(0, 0)),
            Err(rusqlite::Error::SqliteFailure(_, Some(message)))
                if message.starts_with("no such savepoint") =>
            {
                Err(missing())
            }
            Err(e) => Err(sql_error(&e, self.current.as_deref())),
        }
    }

    /// `COMMIT` / `ROLLBACK` of the open transaction, if there is one.
    fn end_transaction(&mut self, how: &str) -> Result<Outcome, SqlError> {
        if self.in_transaction() {
            self.batch(how)?;
        }
        Ok(Outcome::done(0, 0))
    }

    /// Parses, authorizes and rewrites a query or DML statement; returns the SQLite text,
    /// whether it produces rows, whether it inserts, and the database of its first table.
    fn data_statement(
        &mut self,
        mut statement: Statement,
        ctx: &dyn SessionContext,
    ) -> Result<DataStatement, SqlError> {
        let (privilege, rows) = match &statement {
            Statement::Query(_) => (Privilege::Select, true),
            Statement::Insert(_) => (Privilege::Insert, false),
            Statement::Update(_) => (Privilege::Update, false),
            _ => (Privilege::Delete, false),
        };
        let counting = match &statement {
            Statement::Insert(insert)
                if matches!(insert.on, Some(OnInsert::DuplicateKeyUpdate(_))) =>
            {
                Counting::Upsert {
                    found_rows: ctx.found_rows(),
                    values: insert
                        .source
                        .as_ref()
                        .is_some_and(|q| matches!(q.body.as_ref(), SetExpr::Values(_))),
                }
            }
            _ => Counting::Changes,
        };
        let temporary = self.temporary_names();
        let found = translate::rewrite(&mut statement, self.current.as_deref(), &temporary, ctx)?;
        let dbs = self.admit(&found, privilege, rows, ctx)?;
        // The rewrite named the table as SQLite knows it: `"db"."t"`, or `temp` and a temporary
        // table's own name.
        let inserts_into = match &statement {
            Statement::Insert(insert) => match &insert.table {
                TableObject::TableName(name) => match translate::name_parts(name)?.as_slice() {
                    [schema, table] => Some((schema.clone(), table.clone())),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        };
        Ok(DataStatement {
            sql: statement.to_string(),
            statement,
            rows,
            inserts_into,
            counting,
            dbs,
        })
    }

    /// Checks what a rewrite found before it runs: the session's privileges on its tables,
    /// the server-computed tables it reads (filled now), its databases (which must exist), and
    /// for a change, that its target is no view. Returns the databases to attach.
    fn admit(
        &mut self,
        found: &Rewritten,
        privilege: Privilege,
        rows: bool,
        ctx: &dyn SessionContext,
    ) -> Result<Vec<String>, SqlError> {
        for (i, t) in found.tables.iter().enumerate() {
            ctx.authorize(
                if i == 0 && !found.first_temporary {
                    privilege
                } else {
                    Privilege::Select
                },
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
        // A view is not updatable here: MySQL's error, before SQLite's own would reach the
        // client.
        if let Some(first) = found.tables.first()
            && !rows
            && !found.first_temporary
            && self.view_exists(first)?
        {
            let verb = match privilege {
                Privilege::Insert => "INSERT",
                Privilege::Update => "UPDATE",
                _ => "DELETE",
            };
            return Err(SqlError::new(
                ErrorKind::NonUpdatableTable,
                format!(
                    "The target table {} of the {verb} is not updatable",
                    first.table
                ),
            ));
        }
        let mut dbs: Vec<String> = found.tables.iter().map(|t| t.db.clone()).collect();
        dbs.sort();
        dbs.dedup();
        Ok(dbs)
    }

    /// Runs a SELECT that sessions share (see [`SharedQuery`]). Its SQLite form is reused when
    /// an earlier run in the same current database found that it depends on nothing else;
    /// privileges, databases and the run itself are the session's own each time.
    pub fn execute_shared(
        &mut self,
        query: &SharedQuery,
        ctx: &dyn SessionContext,
        sink: &mut dyn RowSink,
    ) -> Result<Outcome, ExecError> {
        self.notice_dropped_databases()?;
        // A temporary table may hide a base table of the same name, in this session only.
        let temporary = self.temporary_names();
        let reusable = temporary.is_empty();
        if reusable && let Some(kept) = query.translation(self.current.as_deref()) {
            let dbs = self.admit(&kept.found, Privilege::Select, true, ctx)?;
            self.enter(&dbs)?;
            return self.run_rows(&kept.sql, &[], sink);
        }
        let mut statement = query.statement().clone();
        let watched = Watched::new(ctx);
        let found = translate::rewrite(
            &mut statement,
            self.current.as_deref(),
            &temporary,
            &watched,
        )?;
        let translation = Arc::new(Translation {
            sql: statement.to_string(),
            found,
        });
        if reusable && !watched.consulted() && translation.found.virtual_tables.is_empty() {
            query.keep(self.current.as_deref(), Arc::clone(&translation));
        }
        let dbs = self.admit(&translation.found, Privilege::Select, true, ctx)?;
        self.enter(&dbs)?;
        self.run_rows(&translation.sql, &[], sink)
    }

    /// Runs a data statement: its databases attached, inside the implicit transaction when
    /// autocommit is off.
    fn run_data(
        &mut self,
        data: &DataStatement,
        params: &[Value],
        sink: &mut dyn RowSink,
    ) -> Result<Outcome, ExecError> {
        self.enter(&data.dbs)?;
        if data.rows {
            self.run_rows(&data.sql, params, sink)
        } else {
            self.run_change(data, params).map_err(ExecError::from)
        }
    }

    /// Attaches a statement's databases and opens the implicit transaction when autocommit is
    /// off.
    fn enter(&mut self, dbs: &[String]) -> Result<(), SqlError> {
        let dbs: Vec<&str> = dbs.iter().map(String::as_str).collect();
        for db in &dbs {
            self.attach(db, &dbs)?;
        }
        self.begin_implicitly()
    }

    /// Copies a server-computed table into the temporary table that stands in for it.
    fn fill_virtual_table(
        &mut self,
        schema: &str,
        table: &str,
        ctx: &dyn SessionContext,
    ) -> Result<(), SqlError> {
        let computed = if schema.eq_ignore_ascii_case("information_schema") {
            information_schema::table(self, table, ctx)?
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
        // information_schema compares names without case (its utf8mb3_tolower_ci / _general_ci
        // collations): clients write `IS_NULLABLE = 'yes'`.
        let columns: Vec<String> = vt
            .columns
            .iter()
            .map(|c| format!("{} COLLATE NOCASE", quote(c)))
            .collect();
        self.temp_used = true;
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
        // The first row decides the types of expression columns, so it is read as values;
        // the rest go out borrowed from SQLite's row.
        let first = match rows.next().map_err(|e| sql_error(&e, db))? {
            Some(row) => Some(
                (0..width)
                    .map(|i| {
                        let v = row.get_ref(i).map_err(|e| sql_error(&e, db))?;
                        Ok(scales[i]
                            .and_then(|scale| scaled_text(v, scale))
                            .map_or_else(|| from_sqlite(v), Value::Text))
                    })
                    .collect::<Result<Vec<Value>, SqlError>>()?,
            ),
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
        sink.row(&Value::cells(&first))?;
        // A DECIMAL column's numbers are printed with its scale, into text the row borrows.
        let mut scaled: Vec<Option<String>> = vec![None; width];
        while let Some(row) = rows.next().map_err(|e| sql_error(&e, db))? {
            for (i, scale) in scales.iter().enumerate() {
                if let Some(scale) = scale {
                    let v = row.get_ref(i).map_err(|e| sql_error(&e, db))?;
                    scaled[i] = scaled_text(v, *scale);
                }
            }
            let cells = (0..width)
                .map(|i| match &scaled[i] {
                    Some(text) => Ok(Cell::Text(text.as_bytes())),
                    None => row.get_ref(i).map(cell),
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| sql_error(&e, db))?;
            sink.row(&cells)?;
        }
        Ok(Outcome::Rows)
    }

    fn run_change(&self, data: &DataStatement, params: &[Value]) -> Result<Outcome, SqlError> {
        let db = self.current.as_deref();
        let mut stmt = self
            .conn
            .prepare_cached(&data.sql)
            .map_err(|e| sql_error(&e, db))?;
        if let Counting::Upsert { .. } = data.counting {
            self.upserts.reset();
        }
        let changes = stmt
            .execute(params_from_iter(params.iter().map(to_sqlite)))
            .map_err(|e| match &e {
                rusqlite::Error::SqliteFailure(_, Some(m))
                    if m.starts_with("UNIQUE constraint failed: ") =>
                {
                    let failed = &m["UNIQUE constraint failed: ".len()..];
                    duplicate::entry_error(self, &data.statement, params, failed)
                }
                rusqlite::Error::SqliteFailure(_, Some(m))
                    if m == "FOREIGN KEY constraint failed"
                        && matches!(data.statement, Statement::Delete(_)) =>
                {
                    SqlError::new(
                        ErrorKind::RowIsReferenced,
                        "Cannot delete or update a parent row: a foreign key constraint fails",
                    )
                }
                _ => sql_error(&e, db),
            })?;
        let changes = changes as u64;
        // MySQL reports the first id of a multi-row insert; generated ids are consecutive.
        let first_inserted = |inserted: u64| {
            if inserted > 0 && self.generates_ids(data) {
                u64::try_from(self.conn.last_insert_rowid())
                    .map_or(0, |last| last.saturating_sub(inserted - 1))
            } else {
                0
            }
        };
        match &data.counting {
            Counting::Changes => Ok(Outcome::done(changes, first_inserted(changes))),
            Counting::Upsert { found_rows, values } => {
                let counts = self.upserts.counts();
                // SQLite counts the rows it inserted and those it updated.
                let inserted = changes.saturating_sub(counts.changed);
                let unchanged = counts.met.saturating_sub(counts.changed);
                let affected =
                    inserted + 2 * counts.changed + if *found_rows { unchanged } else { 0 };
                let last_insert_id = if inserted > 0 {
                    first_inserted(inserted)
                } else if counts.changed > 0 && *values && self.generates_ids(data) {
                    u64::try_from(counts.last_met_rowid).unwrap_or(0)
                } else {
                    0
                };
                Ok(Outcome::done(affected, last_insert_id))
            }
        }
    }

    /// Whether the table `data` inserts into has an AUTO_INCREMENT column. That column is the
    /// table's `INTEGER PRIMARY KEY AUTOINCREMENT` (`table_sql`), which SQLite's schema answers
    /// for under the name `rowid`. Another table's rowid is SQLite's own, never an insert id.
    fn generates_ids(&self, data: &DataStatement) -> bool {
        data.inserts_into.as_ref().is_some_and(|(schema, table)| {
            self.conn
                .column_metadata(Some(schema.as_str()), table.as_str(), "rowid")
                .is_ok_and(|(_, _, _, _, auto_increment)| auto_increment)
        })
    }

    /// COM_STMT_PREPARE of a statement that [takes parameters](takes_parameters).
    pub fn prepare(
        &mut self,
        statement: Statement,
        ctx: &dyn SessionContext,
    ) -> Result<Prepared, SqlError> {
        self.notice_dropped_databases()?;
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
        self.notice_dropped_databases()?;
        self.run_data(&prepared.data, params, sink)
    }
}

fn first_words(sql: &str) -> String {
    sql.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}
