//! Definitions: `CREATE`/`DROP TABLE`, `CREATE`/`DROP INDEX`, `CREATE`/`DROP DATABASE`,
//! `TRUNCATE`. Each runs as MySQL runs DDL ([`EngineSession::ddl`]): it commits an open
//! transaction first and is atomic itself. A table's MySQL definition is kept in the database's
//! catalog, beside the SQLite table made from it; a temporary table's is kept by the session
//! ([`EngineSession::temporary`]), its SQLite table in `temp`. Creating or dropping a temporary
//! table commits an open transaction too (MySQL's does not): were it part of the transaction,
//! a rollback would undo the SQLite table and not the session's record of it.

use std::fs;
use std::path::PathBuf;

use rusqlite::OptionalExtension;
use sqlparser::ast::{CreateIndex, CreateTable, ObjectName, ObjectType, TruncateTableTarget};

use super::conn::{
    CATALOG, EngineSession, Temporary, check_database_name, no_such_table, unknown_database,
};
use super::definition::KeyKind;
use super::table_sql;
use super::translate::{self, TableRef, quote};
use super::types::sql_error;
use super::{Outcome, SessionContext};
use crate::auth::privileges::Privilege;
use crate::error::{ErrorKind, SqlError};

/// Where `CREATE TABLE` or `CREATE VIEW` of `name` puts the new object, once the session may
/// (`CREATE`), its database exists, and the name is not one storage keeps for itself.
pub(super) fn creatable(
    s: &EngineSession,
    name: &ObjectName,
    ctx: &dyn SessionContext,
) -> Result<TableRef, SqlError> {
    let target = translate::resolve(name, s.current.as_deref())?;
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
    Ok(target)
}

/// `CREATE TABLE`.
pub(super) fn create_table(
    s: &mut EngineSession,
    ct: &CreateTable,
    ctx: &dyn SessionContext,
) -> Result<Outcome, SqlError> {
    // tlsql has no separate CREATE TEMPORARY TABLES privilege.
    let target = creatable(s, &ct.name, ctx)?;
    let sqlite = if ct.temporary {
        translate::temporary_table(&target)
    } else {
        target.clone()
    };
    let definition = table_sql::create_table(ct, &target, &sqlite)?;
    // A temporary table may shadow a base table, not another temporary one.
    let exists = if ct.temporary {
        s.temporary(&target).is_some()
    } else {
        s.with_attached(&target)? || s.view_exists(&target)?
    };
    if exists {
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
    if !ct.temporary {
        statements.push(EngineSession::catalog_statement(&target, &definition.def));
    }
    if let Some(next) = definition.def.auto_increment.filter(|n| *n > 1) {
        statements.extend(set_auto_increment(&sqlite, next));
    }
    if !ct.temporary {
        return s.ddl(&[target.db.as_str()], &statements);
    }
    s.temp_used = true;
    let done = s.ddl(&[], &statements)?;
    s.temporary.push(Temporary {
        table: target,
        def: definition.def,
    });
    Ok(done)
}

/// SQLite's statements that make `next` the AUTO_INCREMENT value of the next row of `t` (the
/// sequence SQLite keeps for an AUTOINCREMENT key, which exists once such a table does).
pub(super) fn set_auto_increment(t: &TableRef, next: u64) -> Vec<String> {
    let schema = quote(&t.db);
    let name = t.table.replace('\'', "''");
    vec![
        format!("DELETE FROM {schema}.sqlite_sequence WHERE name = '{name}'"),
        format!(
            "INSERT INTO {schema}.sqlite_sequence (name, seq) VALUES ('{name}', {})",
            next.saturating_sub(1).min(i64::MAX as u64)
        ),
    ]
}

/// `CREATE [UNIQUE] INDEX name ON t (columns)`.
pub(super) fn create_index(
    s: &mut EngineSession,
    ci: &CreateIndex,
    ctx: &dyn SessionContext,
) -> Result<Outcome, SqlError> {
    let target = translate::resolve(&ci.table_name, s.current.as_deref())?;
    s.refuse_temporary(&target, "CREATE INDEX")?;
    ctx.authorize(Privilege::Create, &target.db, Some(&target.table))?;
    let Some(name) = &ci.name else {
        return Err(SqlError::syntax("CREATE INDEX needs a name"));
    };
    let index = translate::name_parts(name)?.pop().unwrap_or_default();
    if !s.with_attached(&target)? {
        return Err(no_such_table(&target));
    }
    let mut columns = Vec::new();
    for c in &ci.columns {
        match &c.column.expr {
            sqlparser::ast::Expr::Identifier(i) => columns.push(i.value.clone()),
            other => {
                return Err(SqlError::not_supported(format!(
                    "an index on the expression {other}"
                )));
            }
        }
    }
    let mut statements = Vec::new();
    let listed = columns
        .iter()
        .map(|c| quote(c))
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(mut def) = s.table_def(&target)? {
        let kind = if ci.unique {
            KeyKind::Unique
        } else {
            KeyKind::Index
        };
        def.add_key(kind, Some(index.clone()), columns)?;
        statements.push(EngineSession::catalog_statement(&target, &def));
    }
    statements.insert(
        0,
        table_sql::create_index_sql(&target, &index, ci.unique, &listed),
    );
    s.ddl(&[target.db.as_str()], &statements)
}

/// `DROP [TEMPORARY] TABLE`, `DROP VIEW` (see [`super::view`]), `DROP DATABASE|SCHEMA`,
/// `DROP INDEX … ON t`. A name drops the
/// session's temporary table of that name if there is one (as MySQL), else the base table
/// unless `temporary` is given.
pub(super) fn drop(
    s: &mut EngineSession,
    object_type: ObjectType,
    temporary: bool,
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
            let mut dropped = Vec::new();
            for t in &targets {
                if let Some(tmp) = s.temporary(t) {
                    // The session's own table: no privilege is checked, as in MySQL.
                    let sqlite = translate::temporary_table(&tmp.table);
                    statements.push(format!("DROP TABLE temp.{}", quote(&sqlite.table)));
                    dropped.push(tmp.table.clone());
                    continue;
                }
                if temporary {
                    missing.push(format!("{}.{}", t.db, t.table));
                    continue;
                }
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
            s.temporary.retain(|tmp| !dropped.contains(&tmp.table));
            Ok(Outcome::noted(missing.iter().map(|m| unknown(m)).collect()))
        }
        ObjectType::View => super::view::drop(s, if_exists, names, ctx),
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
            s.refuse_temporary(&target, "DROP INDEX")?;
            ctx.authorize(Privilege::Drop, &target.db, Some(&target.table))?;
            let index = translate::name_parts(name)?.pop().unwrap_or_default();
            if !s.with_attached(&target)? {
                return Err(no_such_table(&target));
            }
            let mut statements = vec![format!(
                "DROP INDEX {}.{}",
                quote(&target.db),
                quote(&table_sql::index_name(&target.table, &index))
            )];
            if let Some(mut def) = s.table_def(&target)? {
                if def.key(&index).is_none_or(|k| k.kind == KeyKind::Primary) {
                    return Err(SqlError::new(
                        ErrorKind::CantDropColumnOrKey,
                        format!("Can't DROP '{index}'; check that column/key exists"),
                    ));
                }
                def.keys.retain(|k| !k.name.eq_ignore_ascii_case(&index));
                statements.push(EngineSession::catalog_statement(&target, &def));
            }
            s.ddl(&[target.db.as_str()], &statements)
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
    s.databases_changed();
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
    s.databases_changed();
    Ok(Outcome::done(tables.len() as u64, 0))
}

/// `TRUNCATE [TABLE] t [, t]…`: the rows go, and the AUTO_INCREMENT counter restarts.
pub(super) fn truncate(
    s: &mut EngineSession,
    tables: &[TruncateTableTarget],
    ctx: &dyn SessionContext,
) -> Result<Outcome, SqlError> {
    for target in tables {
        let named = translate::resolve(&target.name, s.current.as_deref())?;
        let temporary = s.temporary(&named).is_some();
        // The session's temporary table needs no privilege and no database attached.
        if !temporary {
            ctx.authorize(Privilege::Drop, &named.db, Some(&named.table))?;
            if !s.with_attached(&named)? {
                return Err(no_such_table(&named));
            }
        }
        let target = s.sqlite_table(&named);
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
        let dbs = if temporary {
            Vec::new()
        } else {
            vec![named.db.as_str()]
        };
        s.ddl(&dbs, &statements)?;
    }
    Ok(Outcome::done(0, 0))
}
