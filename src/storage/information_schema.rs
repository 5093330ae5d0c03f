//! `information_schema.SCHEMATA`, `TABLES` and `COLUMNS`, computed from the database files
//! and the catalog when a statement names them, so GUI clients and ORMs can introspect as
//! they do on MySQL. Each lists only what the session may see: databases on which it holds
//! any privilege, tables and columns it may select from. The columns are the commonly read
//! subset of MySQL's.

use super::conn::{EngineSession, tables_of};
use super::show;
use super::translate::TableRef;
use super::{SessionContext, VirtualTable};
use crate::auth::privileges::Privilege;
use crate::error::SqlError;
use crate::protocol::value::Value;

const CATALOG: &str = "def";
const CHARSET: &str = "utf8mb4";
const COLLATION: &str = "utf8mb4_0900_ai_ci";

/// The table `information_schema.<table>` if storage computes it.
pub(super) fn table(
    s: &mut EngineSession,
    table: &str,
    ctx: &dyn SessionContext,
) -> Result<Option<VirtualTable>, SqlError> {
    let table = match table.to_ascii_lowercase().as_str() {
        "schemata" => schemata(s, ctx)?,
        "tables" => tables_table(s, ctx)?,
        "columns" => columns_table(s, ctx)?,
        _ => return Ok(None),
    };
    Ok(Some(table))
}

fn visible_databases(s: &EngineSession, ctx: &dyn SessionContext) -> Result<Vec<String>, SqlError> {
    Ok(s.databases()?
        .into_iter()
        .filter(|db| ctx.authorize_database(db).is_ok())
        .collect())
}

/// The tables of every visible database that the session may select from.
fn visible_tables(
    s: &mut EngineSession,
    ctx: &dyn SessionContext,
) -> Result<Vec<TableRef>, SqlError> {
    let mut visible = Vec::new();
    for db in visible_databases(s, ctx)? {
        s.attach(&db, &[])?;
        for table in tables_of(s, &db)? {
            if ctx.authorize(Privilege::Select, &db, Some(&table)).is_ok() {
                visible.push(TableRef {
                    db: db.clone(),
                    table,
                });
            }
        }
    }
    Ok(visible)
}

fn schemata(s: &EngineSession, ctx: &dyn SessionContext) -> Result<VirtualTable, SqlError> {
    Ok(VirtualTable {
        columns: names(&[
            "CATALOG_NAME",
            "SCHEMA_NAME",
            "DEFAULT_CHARACTER_SET_NAME",
            "DEFAULT_COLLATION_NAME",
            "SQL_PATH",
        ]),
        rows: visible_databases(s, ctx)?
            .into_iter()
            .map(|db| {
                vec![
                    Value::from(CATALOG),
                    Value::Text(db),
                    Value::from(CHARSET),
                    Value::from(COLLATION),
                    Value::Null,
                ]
            })
            .collect(),
    })
}

fn tables_table(s: &mut EngineSession, ctx: &dyn SessionContext) -> Result<VirtualTable, SqlError> {
    Ok(VirtualTable {
        columns: names(&[
            "TABLE_CATALOG",
            "TABLE_SCHEMA",
            "TABLE_NAME",
            "TABLE_TYPE",
            "ENGINE",
            "TABLE_ROWS",
            "TABLE_COLLATION",
            "TABLE_COMMENT",
        ]),
        rows: visible_tables(s, ctx)?
            .into_iter()
            .map(|t| {
                vec![
                    Value::from(CATALOG),
                    Value::Text(t.db),
                    Value::Text(t.table),
                    Value::from("BASE TABLE"),
                    Value::from("InnoDB"),
                    // MySQL's figure is an estimate too; counting would read every table.
                    Value::Null,
                    Value::from(COLLATION),
                    Value::from(""),
                ]
            })
            .collect(),
    })
}

fn columns_table(
    s: &mut EngineSession,
    ctx: &dyn SessionContext,
) -> Result<VirtualTable, SqlError> {
    let mut rows = Vec::new();
    for t in visible_tables(s, ctx)? {
        s.attach(&t.db, &[])?;
        for (position, column) in show::describe(s, &t)?.into_iter().enumerate() {
            let data_type = column
                .column_type
                .split(['(', ' '])
                .next()
                .unwrap_or_default()
                .to_string();
            rows.push(vec![
                Value::from(CATALOG),
                Value::Text(t.db.clone()),
                Value::Text(t.table.clone()),
                Value::Text(column.name),
                Value::Int(i64::try_from(position + 1).unwrap_or(i64::MAX)),
                column.default,
                Value::from(if column.nullable { "YES" } else { "NO" }),
                Value::Text(data_type),
                Value::Text(column.column_type),
                Value::from(column.key),
                Value::from(column.extra),
            ]);
        }
    }
    Ok(VirtualTable {
        columns: names(&[
            "TABLE_CATALOG",
            "TABLE_SCHEMA",
            "TABLE_NAME",
            "COLUMN_NAME",
            "ORDINAL_POSITION",
            "COLUMN_DEFAULT",
            "IS_NULLABLE",
            "DATA_TYPE",
            "COLUMN_TYPE",
            "COLUMN_KEY",
            "EXTRA",
        ]),
        rows,
    })
}

fn names(columns: &[&str]) -> Vec<String> {
    columns.iter().map(|c| c.to_string()).collect()
}
