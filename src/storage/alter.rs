//! `ALTER TABLE`. What SQLite performs in place is done in place:
//!
//! | MySQL | SQLite |
//! |---|---|
//! | `ADD [COLUMN] [IF NOT EXISTS] c type …` (last, no key) | `ALTER TABLE … ADD COLUMN` |
//! | `DROP [COLUMN] [IF EXISTS] c` | `ALTER TABLE … DROP COLUMN` (not a key column) |
//! | `RENAME COLUMN a TO b` | `ALTER TABLE … RENAME COLUMN` |
//! | `RENAME [TO\|AS] t2` (same database, no secondary indexes) | `ALTER TABLE … RENAME TO` |
//! | `ADD INDEX\|KEY\|UNIQUE [name] (cols)` | `CREATE [UNIQUE] INDEX` |
//! | `DROP INDEX\|KEY name` | `DROP INDEX` |
//! | `AUTO_INCREMENT = n`, `ENGINE = InnoDB` | the sequence SQLite keeps; nothing |
//!
//! Everything else that changes the table's shape — `MODIFY`, `CHANGE`, `ALTER COLUMN …
//! DEFAULT / NOT NULL`, `FIRST`/`AFTER`, `ADD`/`DROP PRIMARY KEY`, `ADD`/`DROP FOREIGN KEY`,
//! `ADD CHECK`, a new key or AUTO_INCREMENT column — rebuilds the table as SQLite documents
//! it (a new table made from the new definition, the rows copied, the old table dropped, the
//! new one renamed, its indexes made), in one transaction with SQLite's foreign key checks
//! off; the foreign keys of the rebuilt table are then checked, and rows they reject fail the
//! statement as MySQL does (1452). The MySQL definition in the catalog is edited through the
//! same AST and written in the same transaction, so `SHOW CREATE TABLE` and `SHOW COLUMNS`
//! follow.
//!
//! tlsql has no separate `ALTER` privilege: altering a table needs `CREATE` and `DROP` on it.

use std::ops::ControlFlow;

use sqlparser::ast::{
    AlterColumnOperation, AlterTable, AlterTableOperation, ColumnDef, ColumnOption,
    ColumnOptionDef, CreateTable, Expr, Ident, IndexColumn, MySQLColumnPosition,
    RenameTableNameKind, Statement, TableConstraint, UniqueConstraint, Value as SqlValue,
    visit_expressions_mut,
};

use super::conn::{CATALOG, EngineSession, no_such_table};
use super::ddl;
use super::definition::TableDef;
use super::table_sql;
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
    s.refuse_temporary(&target, "ALTER TABLE")?;
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
    let origins = table
        .columns
        .iter()
        .map(|c| Some(c.name.value.clone()))
        .collect();
    let mut plan = Plan {
        target: target.clone(),
        table,
        sqlite: Vec::new(),
        rebuild: false,
        origins,
        auto_increment: None,
    };
    for operation in &alter.operations {
        plan_operation(s, &mut plan, operation)?;
    }
    let new = table_sql::create_table(&plan.table, &plan.target, &plan.target)?;
    let schema = quote(&target.db);
    let next = s.next_auto_increment(&target)?;
    let mut statements = if plan.rebuild {
        rebuild(&target, &plan, &new.sqlite, &new.def)?
    } else {
        std::mem::take(&mut plan.sqlite)
    };
    statements.push(format!(
        "DELETE FROM {schema}.{CATALOG} WHERE name = '{}'",
        target.table.replace('\'', "''")
    ));
    statements.push(EngineSession::catalog_statement(&plan.target, &new.def));
    let has_auto = new.def.columns.iter().any(|c| c.auto_increment);
    // A rebuilt table keeps its next AUTO_INCREMENT value; `AUTO_INCREMENT = n` sets it.
    if let (Some(n), true) = (
        plan.auto_increment.or(next.filter(|_| plan.rebuild)),
        has_auto,
    ) {
        statements.extend(ddl::set_auto_increment(&plan.target, n.max(1)));
    }
    if plan.rebuild {
        s.rebuild_ddl(&target.db, &plan.target.table, &statements)
    } else {
        s.ddl(&[target.db.as_str()], &statements)
    }
}

/// The statements that rebuild `target` as `sqlite` (the new definition's table and indexes)
/// with the rows of the old table, columns copied from where `plan.origins` says.
fn rebuild(
    target: &TableRef,
    plan: &Plan,
    sqlite: &[String],
    def: &TableDef,
) -> Result<Vec<String>, SqlError> {
    let temporary = TableRef {
        db: target.db.clone(),
        table: REBUILD_TABLE.to_string(),
    };
    let mut made = table_sql::table_sql(def, &temporary)?;
    made.truncate(1);
    let (into, from): (Vec<String>, Vec<String>) = plan
        .table
        .columns
        .iter()
        .zip(&plan.origins)
        .filter_map(|(c, origin)| origin.as_ref().map(|o| (quote(&c.name.value), quote(o))))
        .unzip();
    let schema = quote(&target.db);
    made.push(format!(
        "INSERT INTO {schema}.{} ({}) SELECT {} FROM {schema}.{}",
        quote(REBUILD_TABLE),
        into.join(", "),
        from.join(", "),
        quote(&target.table)
    ));
    made.push(format!("DROP TABLE {schema}.{}", quote(&target.table)));
    made.push(format!(
        "ALTER TABLE {schema}.{} RENAME TO {}",
        quote(REBUILD_TABLE),
        quote(&plan.target.table)
    ));
    made.extend(sqlite.iter().skip(1).cloned());
    Ok(made)
}

/// The name a table is built under while `ALTER TABLE` rebuilds it.
const REBUILD_TABLE: &str = "_tlsql_rebuild";

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
            let keyed = table_sql::is_auto_increment(&column_def.options)
                || column_def.options.iter().any(|o| {
                    matches!(
                        o.option,
                        ColumnOption::PrimaryKey(_) | ColumnOption::Unique(_)
                    )
                });
            let has = |wanted: fn(&ColumnOption) -> bool| {
                column_def.options.iter().any(|o| wanted(&o.option))
            };
            let not_null_without_default = has(|o| matches!(o, ColumnOption::NotNull))
                && !has(|o| matches!(o, ColumnOption::Default(_)));
            if column_position.is_some() || keyed || not_null_without_default {
                // MySQL gives existing rows the type's implicit default: the rebuild copies
                // them, and a NOT NULL column without one gets it from its type.
                let mut column = column_def.clone();
                if not_null_without_default && !keyed {
                    column.options.push(ColumnOptionDef {
                        name: None,
                        option: ColumnOption::Default(implicit_default(&column.data_type)),
                    });
                }
                plan.place(column, None, column_position.as_ref())?;
                plan.rebuild = true;
                return Ok(());
            }
            plan.sqlite.push(format!(
                "ALTER TABLE {table_sql} ADD COLUMN {}",
                table_sql::column_sql(column_def, has(|o| matches!(o, ColumnOption::NotNull)))
            ));
            plan.table.columns.push(column_def.clone());
            plan.origins.push(None);
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
                plan.origins.remove(position);
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
            if s.table_exists(&new)? || s.view_exists(&new)? {
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
                TableConstraint::ForeignKey(_)
                | TableConstraint::PrimaryKey(_)
                | TableConstraint::Check(_) => {
                    plan.table.constraints.push(constraint.clone());
                    plan.rebuild = true;
                    return Ok(());
                }
                other => {
                    return Err(SqlError::not_supported(format!(
                        "ALTER TABLE … ADD {other}"
                    )));
                }
            };
            let name = name.map_or_else(|| first_column_name(columns), |n| n.value.clone());
            let index = table_sql::index_name(&plan.target.table, &name);
            if indexes_of(s, &plan.target)?.contains(&index) || plan.declares_index(&name) {
                return Err(SqlError::new(
                    ErrorKind::DuplicateKeyName,
                    format!("Duplicate key name '{name}'"),
                ));
            }
            plan.sqlite.push(table_sql::create_index_sql(
                &plan.target,
                &name,
                unique,
                &table_sql::index_columns(columns),
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
            let index = table_sql::index_name(&plan.target.table, &name.value);
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
        AlterTableOperation::ModifyColumn {
            col_name,
            data_type,
            options,
            column_position,
        } => {
            let Some(position) = plan.column(&col_name.value) else {
                return Err(unknown_column(&col_name.value, &plan.target.table));
            };
            let column = ColumnDef {
                name: plan.table.columns[position].name.clone(),
                data_type: data_type.clone(),
                options: column_options(options),
            };
            plan.replace(position, column, column_position.as_ref())?;
        }
        AlterTableOperation::ChangeColumn {
            old_name,
            new_name,
            data_type,
            options,
            column_position,
        } => {
            let Some(position) = plan.column(&old_name.value) else {
                return Err(unknown_column(&old_name.value, &plan.target.table));
            };
            if !old_name.value.eq_ignore_ascii_case(&new_name.value)
                && plan.column(&new_name.value).is_some()
            {
                return Err(SqlError::new(
                    ErrorKind::DuplicateColumn,
                    format!("Duplicate column name '{}'", new_name.value),
                ));
            }
            let old = plan.table.columns[position].name.value.clone();
            plan.rename_column(&old, new_name);
            let column = ColumnDef {
                name: new_name.clone(),
                data_type: data_type.clone(),
                options: column_options(options),
            };
            plan.replace(position, column, column_position.as_ref())?;
        }
        AlterTableOperation::AlterColumn { column_name, op } => {
            let Some(position) = plan.column(&column_name.value) else {
                return Err(unknown_column(&column_name.value, &plan.target.table));
            };
            let options = &mut plan.table.columns[position].options;
            match op {
                AlterColumnOperation::SetDefault { value } => {
                    options.retain(|o| !matches!(o.option, ColumnOption::Default(_)));
                    options.push(ColumnOptionDef {
                        name: None,
                        option: ColumnOption::Default(value.clone()),
                    });
                }
                AlterColumnOperation::DropDefault => {
                    options.retain(|o| !matches!(o.option, ColumnOption::Default(_)))
                }
                AlterColumnOperation::SetNotNull => {
                    options.retain(|o| !matches!(o.option, ColumnOption::Null));
                    options.push(ColumnOptionDef {
                        name: None,
                        option: ColumnOption::NotNull,
                    });
                }
                AlterColumnOperation::DropNotNull => {
                    options.retain(|o| !matches!(o.option, ColumnOption::NotNull))
                }
                other => {
                    return Err(SqlError::not_supported(format!(
                        "ALTER TABLE … ALTER COLUMN … {other}"
                    )));
                }
            }
            plan.rebuild = true;
        }
        AlterTableOperation::DropPrimaryKey { .. } => {
            let before = plan.table.constraints.len();
            plan.table
                .constraints
                .retain(|c| !matches!(c, TableConstraint::PrimaryKey(_)));
            let mut dropped = before != plan.table.constraints.len();
            for column in &mut plan.table.columns {
                let before = column.options.len();
                column
                    .options
                    .retain(|o| !matches!(o.option, ColumnOption::PrimaryKey(_)));
                dropped |= before != column.options.len();
            }
            if !dropped {
                return Err(cannot_drop("PRIMARY"));
            }
            plan.rebuild = true;
        }
        AlterTableOperation::DropForeignKey { name, .. } => {
            let before = plan.table.constraints.len();
            plan.table.constraints.retain(|c| {
                !matches!(c, TableConstraint::ForeignKey(fk)
                    if fk.name.as_ref().is_some_and(|n| n.value.eq_ignore_ascii_case(&name.value)))
            });
            if before == plan.table.constraints.len() {
                return Err(cannot_drop(&name.value));
            }
            plan.rebuild = true;
        }
        AlterTableOperation::AutoIncrement { value, .. } => {
            plan.auto_increment = value.value.to_string().parse().ok();
        }
        // Table options that describe InnoDB: there is one engine, and the rest are hints.
        AlterTableOperation::Algorithm { .. } | AlterTableOperation::Lock { .. } => {}
        other => {
            return Err(SqlError::not_supported(format!("ALTER TABLE … {other}")));
        }
    }
    Ok(())
}

/// The value MySQL gives existing rows for a new NOT NULL column without a default: zero,
/// the empty string, or the zero date.
fn implicit_default(data_type: &sqlparser::ast::DataType) -> Expr {
    let (_, name) = super::definition::canonical_type(data_type);
    let value = match name.as_str() {
        "date" => SqlValue::SingleQuotedString("0000-00-00".into()),
        "datetime" | "timestamp" => SqlValue::SingleQuotedString("0000-00-00 00:00:00".into()),
        "time" => SqlValue::SingleQuotedString("00:00:00".into()),
        "tinyint" | "smallint" | "mediumint" | "int" | "bigint" | "decimal" | "float"
        | "double" | "bit" | "year" => SqlValue::Number("0".into(), false),
        _ => SqlValue::SingleQuotedString(String::new()),
    };
    Expr::value(value)
}

fn column_options(options: &[ColumnOption]) -> Vec<ColumnOptionDef> {
    options
        .iter()
        .map(|o| ColumnOptionDef {
            name: None,
            option: o.clone(),
        })
        .collect()
}

/// 1054 `Unknown column 'c' in 't'`.
fn unknown_column(column: &str, table: &str) -> SqlError {
    SqlError::new(
        ErrorKind::UnknownColumn,
        format!("Unknown column '{column}' in '{table}'"),
    )
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
/// the operations so far left it, and the SQLite statements that do the same in place — or,
/// once an operation needs it, that the table is rebuilt, and where each column's values come
/// from.
struct Plan {
    target: TableRef,
    table: CreateTable,
    sqlite: Vec<String>,
    rebuild: bool,
    /// For each column of `table`, the column of the table as it is now that its values come
    /// from (`None`: a new column, which takes its default).
    origins: Vec<Option<String>>,
    /// `AUTO_INCREMENT = n`.
    auto_increment: Option<u64>,
}

impl Plan {
    /// Puts a new column where `position` says (last without one).
    fn place(
        &mut self,
        column: ColumnDef,
        origin: Option<String>,
        position: Option<&MySQLColumnPosition>,
    ) -> Result<(), SqlError> {
        let at = match position {
            None => self.table.columns.len(),
            Some(MySQLColumnPosition::First) => 0,
            Some(MySQLColumnPosition::After(name)) => {
                self.column(&name.value)
                    .ok_or_else(|| unknown_column(&name.value, &self.target.table))?
                    + 1
            }
        };
        self.table.columns.insert(at, column);
        self.origins.insert(at, origin);
        Ok(())
    }

    /// Replaces the column at `position` (moving it when asked); the table is rebuilt.
    fn replace(
        &mut self,
        position: usize,
        column: ColumnDef,
        moved: Option<&MySQLColumnPosition>,
    ) -> Result<(), SqlError> {
        self.rebuild = true;
        if moved.is_none() {
            self.table.columns[position] = column;
            return Ok(());
        }
        self.table.columns.remove(position);
        let origin = self.origins.remove(position);
        self.place(column, origin, moved)
    }

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
