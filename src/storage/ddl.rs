//! Definitions: `CREATE`/`DROP TABLE`, `CREATE`/`DROP INDEX`, `CREATE`/`DROP DATABASE`,
//! `TRUNCATE`. Each runs as MySQL runs DDL ([`EngineSession::ddl`]): it commits an open
//! transaction first and is atomic itself. A table's MySQL definition is kept in the database's
//! catalog, beside the SQLite table made from it.

use std::fs;
use std::path::PathBuf;

use rusqlite::OptionalExtension;
use sqlparser::ast::{CreateIndex, CreateTable, ObjectName, ObjectType, TruncateTableTarget};

use super::conn::{CATALOG, EngineSession, check_database_name, no_such_table, unknown_database};
use super::translate::{self, TableRef, quote};
use super::types::sql_error;
use super::{Outcome, SessionContext};
use crate::auth::privileges::Privilege;
use crate::error::{ErrorKind, SqlError};

/// `CREATE TABLE`.
pub(super) fn create_table(
    s: &mut EngineSession,
    ct: &CreateTable,
    ctx: &dyn SessionContext,
) -> Result<Outcome, SqlError> {
    let target = translate::resolve(&ct.name, s.current.as_deref())?;
    ctx.authorize(Privilege::Create, &target.db, Some(&target.table))?;
    if !s.database_exists(&target.db) {
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
    let definition = translate::create_table(ct, &target)?;
    if s.with_attached(&target)? {
        let exists = SqlError::new(
            ErrorKind::TableExists,
            format!("Table '{}' already exists", target.table),
        );
        return if ct.if_not_exists {
            Ok(Outcome::noted(vec![exists]))
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
    s.ddl(&[target.db.as_str()], &statements)
}

/// `CREATE [UNIQUE] INDEX name ON t (columns)`.
pub(super) fn create_index(
    s: &mut EngineSession,
    ci: &CreateIndex,
    ctx: &dyn SessionContext,
) -> Result<Outcome, SqlError> {
    let target = translate::resolve(&ci.table_name, s.current.as_deref())?;
    ctx.authorize(Privilege::Create, &target.db, Some(&target.table))?;
    let Some(name) = &ci.name else {
        return Err(SqlError::syntax("CREATE INDEX needs a name"));
    };
    let index = translate::name_parts(name)?.pop().unwrap_or_default();
    let columns: Vec<String> = ci
        .columns
        .iter()
        .map(|c| c.column.expr.to_string())
        .collect();
    let sql = translate::create_index_sql(&target, &index, ci.unique, &columns.join(", "));
    s.ddl(&[target.db.as_str()], &[sql])
}

/// `DROP TABLE`, `DROP DATABASE|SCHEMA`, `DROP INDEX … ON t`.
pub(super) fn drop(
    s: &mut EngineSession,
    object_type: ObjectType,
    if_exists: bool,
    names: &[ObjectName],
    index_table: Option<&ObjectName>,
    ctx: &dyn SessionContext,
) -> Result<Outcome, SqlError> {
    match object_type {
        ObjectType::Table => {
            let targets: Vec<TableRef> = names
                .iter()
                .map(|n| translate::resolve(n, s.current.as_deref()))
                .collect::<Result<_, _>>()?;
            let mut missing = Vec::new();
            let mut statements = Vec::new();
            let mut dbs = Vec::new();
            for t in &targets {
                ctx.authorize(Privilege::Drop, &t.db, Some(&t.table))?;
                if !s.with_attached(t)? {
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
            s.ddl(&dbs, &statements)?;
            Ok(Outcome::noted(missing.iter().map(|m| unknown(m)).collect()))
        }
        ObjectType::Database | ObjectType::Schema => {
            let Some(name) = names.first() else {
                return Err(SqlError::syntax("DROP DATABASE needs a name"));
            };
            let db = translate::name_parts(name)?.join(".");
            ctx.authorize(Privilege::Drop, &db, None)?;
            drop_database(s, &db, if_exists)
        }
        ObjectType::Index => {
            let (Some(name), Some(table)) = (names.first(), index_table) else {
                return Err(SqlError::syntax("DROP INDEX needs ON <table>"));
            };
            let target = translate::resolve(table, s.current.as_deref())?;
            ctx.authorize(Privilege::Drop, &target.db, Some(&target.table))?;
            let index = translate::name_parts(name)?.pop().unwrap_or_default();
            let sql = format!(
                "DROP INDEX {}.{}",
                quote(&target.db),
                quote(&translate::index_name(&target.table, &index))
            );
            s.ddl(&[target.db.as_str()], &[sql])
        }
        other => Err(SqlError::not_supported(format!("DROP {other}"))),
    }
}

/// `CREATE DATABASE [IF NOT EXISTS] db`.
pub(super) fn create_database(
    s: &mut EngineSession,
    name: &ObjectName,
    if_not_exists: bool,
    ctx: &dyn SessionContext,
) -> Result<Outcome, SqlError> {
    let db = translate::name_parts(name)?.join(".");
    ctx.authorize(Privilege::Create, &db, None)?;
    check_database_name(&db)?;
    if s.database_exists(&db) {
        let exists = SqlError::new(
            ErrorKind::DbCreateExists,
            format!("Can't create database '{db}'; database exists"),
        );
        return if if_not_exists {
            Ok(Outcome::noted(vec![exists]))
        } else {
            Err(exists)
        };
    }
    if s.in_transaction() {
        s.batch("COMMIT")?;
    }
    // ATTACH creates the file; the catalog table makes it a database.
    attach_new(s, &db)?;
    Ok(Outcome::done(1, 0))
}

fn attach_new(s: &mut EngineSession, db: &str) -> Result<(), SqlError> {
    let path = s.database_path(db);
    // Created 0600 before SQLite sees it: SQLite would make it 0644, and its -wal and -shm
    // files inherit the database file's mode.
    crate::files::create_new(&path, crate::files::PRIVATE_MODE)
        .map_err(|e| SqlError::unknown(format!("creating {}: {e}", path.display())))?;
    s.attach(db, &[])
}

fn drop_database(s: &mut EngineSession, db: &str, if_exists: bool) -> Result<Outcome, SqlError> {
    if !s.database_exists(db) {
        let missing = SqlError::new(
            ErrorKind::DbDropExists,
            format!("Can't drop database '{db}'; database doesn't exist"),
        );
        return if if_exists {
            Ok(Outcome::noted(vec![missing]))
        } else {
            Err(missing)
        };
    }
    if s.in_transaction() {
        s.batch("COMMIT")?;
    }
    s.attach(db, &[])?;
    let tables: Vec<String> = {
        let mut stmt = s
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
    s.detach(db)?;
    let path = s.database_path(db);
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
    if s.current.as_deref() == Some(db) {
        s.current = None;
    }
    Ok(Outcome::done(tables.len() as u64, 0))
}

/// `TRUNCATE [TABLE] t [, t]…`: the rows go, and the AUTO_INCREMENT counter restarts.
pub(super) fn truncate(
    s: &mut EngineSession,
    tables: &[TruncateTableTarget],
    ctx: &dyn SessionContext,
) -> Result<Outcome, SqlError> {
    for target in tables {
        let target = translate::resolve(&target.name, s.current.as_deref())?;
        ctx.authorize(Privilege::Drop, &target.db, Some(&target.table))?;
        if !s.with_attached(&target)? {
            return Err(no_such_table(&target));
        }
        let schema = quote(&target.db);
        let mut statements = vec![format!("DELETE FROM {schema}.{}", quote(&target.table))];
        let has_sequence = s.conn.query_row(
            &format!("SELECT 1 FROM {schema}.sqlite_master WHERE name = 'sqlite_sequence'"),
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
        s.ddl(&[target.db.as_str()], &statements)?;
    }
    Ok(Outcome::done(0, 0))
}
