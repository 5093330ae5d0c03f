//! `ALTER TABLE` with the operations SQLite performs in place:
//!
//! | MySQL | SQLite |
//! |---|---|
//! | `ADD [COLUMN] [IF NOT EXISTS] c type …` | `ALTER TABLE … ADD COLUMN` (appended last) |
//! | `DROP [COLUMN] [IF EXISTS] c` | `ALTER TABLE … DROP COLUMN` (not a key column) |
//! | `RENAME COLUMN a TO b` | `ALTER TABLE … RENAME COLUMN` |
//! | `RENAME [TO\|AS] t2` (same database, no secondary indexes) | `ALTER TABLE … RENAME TO` |
//! | `ADD INDEX\|KEY\|UNIQUE [name] (cols)` | `CREATE [UNIQUE] INDEX` |
//! | `DROP INDEX\|KEY name` | `DROP INDEX` |
//!
//! Everything else (`MODIFY`, `CHANGE`, `ALTER COLUMN`, `FIRST`/`AFTER`, new keys or
//! AUTO_INCREMENT columns) would need the table rebuilt and is refused with
//! ER_NOT_SUPPORTED_YET naming the operation, before anything changes. The MySQL definition in
//! the catalog is edited through the same AST and written in the same transaction as the
//! SQLite statements, so `SHOW CREATE TABLE` and `SHOW COLUMNS` follow.
//!
//! tlsql has no separate `ALTER` privilege: altering a table needs `CREATE` and `DROP` on it.

use std::ops::ControlFlow;

use sqlparser::ast::{
    AlterTable, AlterTableOperation, ColumnOption, CreateTable, Expr, Ident, IndexColumn,
    RenameTableNameKind, Statement, TableConstraint, UniqueConstraint, visit_expressions_mut,
};

use super::conn::{CATALOG, EngineSession, no_such_table};
use super::translate::{self, TableRef, quote};
use super::{Outcome, SessionContext};
use crate::auth::privileges::Privilege;
use crate::error::{ErrorKind, SqlError};

/// Runs `ALTER TABLE` (see the module documentation).
pub(super) fn alter_table(
    s: &mut EngineSession,
    alter: &AlterTable,
    ctx: &dyn SessionContext,
) -> Result<Outcome, SqlError> {
    let target = translate::resolve(&alter.name, s.current.as_deref())?;
    ctx.authorize(Privilege::Create, &target.db, Some(&target.table))?;
    ctx.authorize(Privilege::Drop, &target.db, Some(&target.table))?;
    if !s.with_attached(&target)? {
        return Err(no_such_table(&target));
    }
    let definition = s.definition(&target)?.ok_or_else(|| {
        SqlError::not_supported(format!(
            "ALTER TABLE on `{}`, which has no stored MySQL definition",
            target.table
        ))
    })?;
    let Statement::CreateTable(table) = translate::parse_one(&definition)? else {
        return Err(SqlError::unknown(format!(
            "the stored definition of `{}` is not a CREATE TABLE",
            target.table
        )));
    };
    let mut plan = Plan {
        target: target.clone(),
        table,
        sqlite: Vec::new(),
    };
    for operation in &alter.operations {
        plan_operation(s, &mut plan, operation)?;
    }
    let mysql = translate::create_table(&plan.table, &plan.target)?.mysql;
    let schema = quote(&target.db);
    plan.sqlite.push(format!(
        "DELETE FROM {schema}.{CATALOG} WHERE name = '{}'",
        target.table.replace('\'', "''")
    ));
    plan.sqlite.push(format!(
        "INSERT INTO {schema}.{CATALOG} VALUES ('{}', '{}')",
        plan.target.table.replace('\'', "''"),
        mysql.replace('\'', "''")
    ));
    s.ddl(&[target.db.as_str()], &plan.sqlite)
}

/// Adds one operation's SQLite statements to the plan and applies it to the MySQL
/// definition.
fn plan_operation(
    s: &EngineSession,
    plan: &mut Plan,
    operation: &AlterTableOperation,
) -> Result<(), SqlError> {
    let table_sql = format!("{}.{}", quote(&plan.target.db), quote(&plan.target.table));
    match operation {
        AlterTableOperation::AddColumn {
            if_not_exists,
            column_def,
            column_position,
            ..
        } => {
            if plan.column(&column_def.name.value).is_some() {
                if *if_not_exists {
                    return Ok(());
                }
                return Err(SqlError::new(
                    ErrorKind::DuplicateColumn,
                    format!("Duplicate column name '{}'", column_def.name.value),
                ));
            }
            if column_position.is_some() {
                return Err(SqlError::not_supported(
                    "ALTER TABLE … ADD COLUMN … FIRST/AFTER (new columns go last)",
                ));
            }
            let keyed = translate::is_auto_increment(&column_def.options)
                || column_def.options.iter().any(|o| {
                    matches!(
                        o.option,
                        ColumnOption::PrimaryKey(_) | ColumnOption::Unique(_)
                    )
                });
            if keyed {
                return Err(SqlError::not_supported(
                    "ALTER TABLE … ADD COLUMN with PRIMARY KEY, UNIQUE or AUTO_INCREMENT",
                ));
            }
            let has = |wanted: fn(&ColumnOption) -> bool| {
                column_def.options.iter().any(|o| wanted(&o.option))
            };
            if has(|o| matches!(o, ColumnOption::NotNull))
                && !has(|o| matches!(o, ColumnOption::Default(_)))
            {
                return Err(SqlError::not_supported(
                    "ALTER TABLE … ADD COLUMN … NOT NULL without DEFAULT (existing rows need a value: give a DEFAULT)",
                ));
            }
            plan.sqlite.push(format!(
                "ALTER TABLE {table_sql} ADD COLUMN {}",
                translate::column_sql(column_def)
            ));
            plan.table.columns.push(column_def.clone());
        }
        AlterTableOperation::DropColumn {
            column_names,
            if_exists,
            ..
        } => {
            for name in column_names {
                let Some(position) = plan.column(&name.value) else {
                    if *if_exists {
                        continue;
                    }
                    return Err(cannot_drop(&name.value));
                };
                if plan.table.columns.len() == 1 {
                    return Err(SqlError::new(
                        ErrorKind::CantRemoveAllColumns,
                        "You can't delete all columns with ALTER TABLE; use DROP TABLE instead",
                    ));
                }
                if plan.is_key_column(&name.value) {
                    return Err(SqlError::not_supported(format!(
                        "ALTER TABLE … DROP COLUMN of `{}`, which a key or index uses (drop the index first)",
                        name.value
                    )));
                }
                plan.sqlite.push(format!(
                    "ALTER TABLE {table_sql} DROP COLUMN {}",
                    quote(&plan.table.columns[position].name.value)
                ));
                plan.table.columns.remove(position);
            }
        }
        AlterTableOperation::RenameColumn {
            old_column_name,
            new_column_name,
        } => {
            let Some(position) = plan.column(&old_column_name.value) else {
                return Err(SqlError::new(
                    ErrorKind::UnknownColumn,
                    format!(
                        "Unknown column '{}' in '{}'",
                        old_column_name.value, plan.target.table
                    ),
                ));
            };
            if plan.column(&new_column_name.value).is_some() {
                return Err(SqlError::new(
                    ErrorKind::DuplicateColumn,
                    format!("Duplicate column name '{}'", new_column_name.value),
                ));
            }
            let old = plan.table.columns[position].name.value.clone();
            plan.sqlite.push(format!(
                "ALTER TABLE {table_sql} RENAME COLUMN {} TO {}",
                quote(&old),
                quote(&new_column_name.value)
            ));
            plan.rename_column(&old, new_column_name);
        }
        AlterTableOperation::RenameTable { table_name } => {
            let (RenameTableNameKind::To(name) | RenameTableNameKind::As(name)) = table_name;
            let new = translate::resolve(name, Some(&plan.target.db))?;
            if new.db != plan.target.db {
                return Err(SqlError::not_supported(
                    "ALTER TABLE … RENAME to another database",
                ));
            }
            if s.table_exists(&new)? {
                return Err(SqlError::new(
                    ErrorKind::TableExists,
                    format!("Table '{}' already exists", new.table),
                ));
            }
            if !indexes_of(s, &plan.target)?.is_empty() {
                return Err(SqlError::not_supported(
                    "ALTER TABLE … RENAME of a table with secondary indexes",
                ));
            }
            plan.sqlite.push(format!(
                "ALTER TABLE {table_sql} RENAME TO {}",
                quote(&new.table)
            ));
            plan.target = new;
        }
        AlterTableOperation::AddConstraint { constraint, .. } => {
            let (unique, name, columns) = match constraint {
                TableConstraint::Index(ix) => (false, ix.name.as_ref(), &ix.columns),
                TableConstraint::Unique(u) => (true, unique_name(u), &u.columns),
                other => {
                    return Err(SqlError::not_supported(format!(
                        "ALTER TABLE … ADD {other}"
                    )));
                }
            };
            let name = name.map_or_else(|| first_column_name(columns), |n| n.value.clone());
            let index = translate::index_name(&plan.target.table, &name);
            if indexes_of(s, &plan.target)?.contains(&index) || plan.declares_index(&name) {
                return Err(SqlError::new(
                    ErrorKind::DuplicateKeyName,
                    format!("Duplicate key name '{name}'"),
                ));
            }
            plan.sqlite.push(translate::create_index_sql(
                &plan.target,
                &name,
                unique,
                &translate::index_columns(columns),
            ));
            let mut constraint = constraint.clone();
            match &mut constraint {
                TableConstraint::Index(ix) => ix.name = Some(Ident::new(&name)),
                TableConstraint::Unique(u) => u.index_name = Some(Ident::new(&name)),
                _ => {}
            }
            plan.table.constraints.push(constraint);
        }
        AlterTableOperation::DropIndex { name } => {
            let index = translate::index_name(&plan.target.table, &name.value);
            if !indexes_of(s, &plan.target)?.contains(&index) {
                return Err(cannot_drop(&name.value));
            }
            plan.sqlite.push(format!(
                "DROP INDEX {}.{}",
                quote(&plan.target.db),
                quote(&index)
            ));
            plan.table
                .constraints
                .retain(|c| !is_index_named(c, &name.value));
        }
        other => {
            return Err(SqlError::not_supported(format!("ALTER TABLE … {other}")));
        }
    }
    Ok(())
}

/// The SQLite names of the secondary indexes tlsql created on `t`.
fn indexes_of(s: &EngineSession, t: &TableRef) -> Result<Vec<String>, SqlError> {
    let mut statement = s
        .conn
        .prepare(&format!(
            "SELECT name FROM {}.sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL",
            quote(&t.db)
        ))
        .map_err(|e| super::types::sql_error(&e, Some(&t.db)))?;
    let names: Result<Vec<String>, _> = statement
        .query_map([&t.table], |r| r.get::<_, String>(0))
        .and_then(Iterator::collect);
    names.map_err(|e| super::types::sql_error(&e, Some(&t.db)))
}

/// An `ALTER TABLE` being prepared: the table's (possibly new) name, its MySQL definition as
/// the operations so far left it, and the SQLite statements that do the same.
struct Plan {
    target: TableRef,
    table: CreateTable,
    sqlite: Vec<String>,
}

impl Plan {
    fn column(&self, name: &str) -> Option<usize> {
        self.table
            .columns
            .iter()
            .position(|c| c.name.value.eq_ignore_ascii_case(name))
    }

    /// Whether a primary key, unique key or index of the definition uses the column.
    fn is_key_column(&self, name: &str) -> bool {
        let inline_key = self.table.columns.iter().any(|c| {
            c.name.value.eq_ignore_ascii_case(name)
                && c.options.iter().any(|o| {
                    matches!(
                        o.option,
                        ColumnOption::PrimaryKey(_) | ColumnOption::Unique(_)
                    )
                })
        });
        let names_column = |cols: &[IndexColumn]| {
            cols.iter().any(|c| {
                matches!(&c.column.expr, Expr::Identifier(i) if i.value.eq_ignore_ascii_case(name))
            })
        };
        inline_key
            || self.table.constraints.iter().any(|c| match c {
                TableConstraint::PrimaryKey(pk) => names_column(&pk.columns),
                TableConstraint::Unique(u) => names_column(&u.columns),
                TableConstraint::Index(ix) => names_column(&ix.columns),
                _ => false,
            })
    }

    fn declares_index(&self, name: &str) -> bool {
        self.table
            .constraints
            .iter()
            .any(|c| is_index_named(c, name))
    }

    /// Renames the column in its definition and wherever an expression of the table (key
    /// columns, CHECK, DEFAULT) names it, as SQLite does on its side.
    fn rename_column(&mut self, old: &str, new: &Ident) {
        for column in &mut self.table.columns {
            if column.name.value.eq_ignore_ascii_case(old) {
                column.name = new.clone();
            }
        }
        let _ = visit_expressions_mut(&mut self.table, |expr| {
            if let Expr::Identifier(ident) = expr
                && ident.value.eq_ignore_ascii_case(old)
            {
                *ident = new.clone();
            }
            ControlFlow::<()>::Continue(())
        });
    }
}

/// The index name of `UNIQUE [KEY|INDEX] [name] (…)`, else of `CONSTRAINT name UNIQUE (…)`.
fn unique_name(u: &UniqueConstraint) -> Option<&Ident> {
    u.index_name.as_ref().or(u.name.as_ref())
}

/// Whether the constraint is an index or unique key called `name`.
fn is_index_named(constraint: &TableConstraint, name: &str) -> bool {
    let declared = match constraint {
        TableConstraint::Index(ix) => ix.name.as_ref(),
        TableConstraint::Unique(u) => unique_name(u),
        _ => None,
    };
    declared.is_some_and(|n| n.value.eq_ignore_ascii_case(name))
}

/// MySQL names an unnamed index after its first column.
fn first_column_name(columns: &[IndexColumn]) -> String {
    match columns.first().map(|c| &c.column.expr) {
        Some(Expr::Identifier(i)) => i.value.clone(),
        Some(other) => other.to_string(),
        None => "idx".to_string(),
    }
}

/// 1091 `Can't DROP 'x'; check that column/key exists`.
fn cannot_drop(name: &str) -> SqlError {
    SqlError::new(
        ErrorKind::CantDropColumnOrKey,
        format!("Can't DROP '{name}'; check that column/key exists"),
    )
}
