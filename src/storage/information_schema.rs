//! `information_schema` tables, computed from the database files and the catalog's table
//! definitions when a statement names them, so GUI clients, drivers and ORMs introspect as
//! they do on MySQL. Each lists only what the session may see: databases on which it holds
//! any privilege, tables and columns it may select from. The columns are MySQL 8's, in its
//! order; what tlsql has no counterpart of is MySQL's value for it (`NULL`, `''`, `def`).
//! Tables tlsql has nothing to put in (`ROUTINES`, `TRIGGERS`, `FILES`, …) are there, empty.
//! Views are in `TABLES` (`TABLE_TYPE` `VIEW`) and `VIEWS`; their columns are not in `COLUMNS`.

use super::conn::{EngineSession, tables_of, views_of};
use super::definition::{ColumnInfo, KeyKind, TABLE_COLLATION, TableDef};
use super::show::{self, PRIVILEGES, is_character};
use super::translate::TableRef;
use super::view::view_def;
use super::{SessionContext, VirtualTable};
use crate::auth::privileges::Privilege;
use crate::error::SqlError;
use crate::protocol::value::Value;

const CATALOG: &str = "def";
const CHARSET: &str = "utf8mb4";

/// The columns of the tables that are always empty here, by table name.
const EMPTY: &[(&str, &[&str])] = &[
    (
        "routines",
        &[
            "SPECIFIC_NAME",
            "ROUTINE_CATALOG",
            "ROUTINE_SCHEMA",
            "ROUTINE_NAME",
            "ROUTINE_TYPE",
            "DATA_TYPE",
            "ROUTINE_BODY",
            "ROUTINE_DEFINITION",
            "EXTERNAL_NAME",
            "IS_DETERMINISTIC",
            "SQL_DATA_ACCESS",
            "SECURITY_TYPE",
            "CREATED",
            "LAST_ALTERED",
            "SQL_MODE",
            "ROUTINE_COMMENT",
            "DEFINER",
        ],
    ),
    (
        "triggers",
        &[
            "TRIGGER_CATALOG",
            "TRIGGER_SCHEMA",
            "TRIGGER_NAME",
            "EVENT_MANIPULATION",
            "EVENT_OBJECT_CATALOG",
            "EVENT_OBJECT_SCHEMA",
            "EVENT_OBJECT_TABLE",
            "ACTION_ORDER",
            "ACTION_CONDITION",
            "ACTION_STATEMENT",
            "ACTION_ORIENTATION",
            "ACTION_TIMING",
            "CREATED",
            "SQL_MODE",
            "DEFINER",
            "CHARACTER_SET_CLIENT",
            "COLLATION_CONNECTION",
            "DATABASE_COLLATION",
        ],
    ),
    (
        "files",
        &[
            "FILE_ID",
            "FILE_NAME",
            "FILE_TYPE",
            "TABLESPACE_NAME",
            "TABLE_CATALOG",
            "TABLE_SCHEMA",
            "TABLE_NAME",
            "LOGFILE_GROUP_NAME",
            "LOGFILE_GROUP_NUMBER",
            "ENGINE",
            "FULLTEXT_KEYS",
            "DELETED_ROWS",
            "UPDATE_COUNT",
            "FREE_EXTENTS",
            "TOTAL_EXTENTS",
            "EXTENT_SIZE",
            "INITIAL_SIZE",
            "MAXIMUM_SIZE",
            "AUTOEXTEND_SIZE",
            "CREATION_TIME",
            "LAST_UPDATE_TIME",
            "LAST_ACCESS_TIME",
            "RECOVER_TIME",
            "TRANSACTION_COUNTER",
            "VERSION",
            "ROW_FORMAT",
            "STATUS",
            "EXTRA",
        ],
    ),
    (
        "events",
        &[
            "EVENT_CATALOG",
            "EVENT_SCHEMA",
            "EVENT_NAME",
            "DEFINER",
            "EVENT_TYPE",
            "STATUS",
        ],
    ),
    (
        "partitions",
        &[
            "TABLE_CATALOG",
            "TABLE_SCHEMA",
            "TABLE_NAME",
            "PARTITION_NAME",
            "SUBPARTITION_NAME",
            "PARTITION_METHOD",
            "TABLE_ROWS",
        ],
    ),
    (
        "innodb_cmp",
        &[
            "page_size",
            "compress_ops",
            "compress_ops_ok",
            "compress_time",
            "uncompress_ops",
            "uncompress_time",
        ],
    ),
    (
        "innodb_cmpmem",
        &[
            "page_size",
            "buffer_pool_instance",
            "pages_used",
            "pages_free",
            "relocation_ops",
            "relocation_time",
        ],
    ),
];

/// The table `information_schema.<table>` if storage computes it.
pub(super) fn table(
    s: &mut EngineSession,
    table: &str,
    ctx: &dyn SessionContext,
) -> Result<Option<VirtualTable>, SqlError> {
    let lower = table.to_ascii_lowercase();
    if let Some((_, columns)) = EMPTY.iter().find(|(name, _)| *name == lower) {
        return Ok(Some(VirtualTable {
            columns: names(columns),
            rows: Vec::new(),
        }));
    }
    let table = match lower.as_str() {
        "schemata" => schemata(s, ctx)?,
        "tables" => tables_table(s, ctx)?,
        "columns" => per_table(s, ctx, &COLUMNS, column_rows)?,
        "statistics" => per_table(s, ctx, &STATISTICS, statistics_rows)?,
        "key_column_usage" => per_table(s, ctx, &KEY_COLUMN_USAGE, key_column_usage_rows)?,
        "table_constraints" => per_table(s, ctx, &TABLE_CONSTRAINTS, table_constraint_rows)?,
        "referential_constraints" => per_table(s, ctx, &REFERENTIAL_CONSTRAINTS, referential_rows)?,
        "check_constraints" => per_table(s, ctx, &CHECK_CONSTRAINTS, check_rows)?,
        "views" => views(s, ctx)?,
        "engines" => engines(),
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
    visible(s, ctx, tables_of)
}

/// The tables or views (`list`) of every visible database that the session may select from.
fn visible(
    s: &mut EngineSession,
    ctx: &dyn SessionContext,
    list: fn(&EngineSession, &str) -> Result<Vec<String>, SqlError>,
) -> Result<Vec<TableRef>, SqlError> {
    let mut visible = Vec::new();
    for db in visible_databases(s, ctx)? {
        s.attach(&db, &[])?;
        for table in list(s, &db)? {
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

/// A table made of rows per visible table with a definition.
fn per_table(
    s: &mut EngineSession,
    ctx: &dyn SessionContext,
    columns: &[&str],
    rows: fn(&TableRef, &TableDef) -> Vec<Vec<Value>>,
) -> Result<VirtualTable, SqlError> {
    let mut all = Vec::new();
    for t in visible_tables(s, ctx)? {
        s.attach(&t.db, &[])?;
        if let Some(def) = s.catalog_def(&t)? {
            all.extend(rows(&t, &def));
        }
    }
    Ok(VirtualTable {
        columns: names(columns),
        rows: all,
    })
}

fn schemata(s: &EngineSession, ctx: &dyn SessionContext) -> Result<VirtualTable, SqlError> {
    Ok(VirtualTable {
        columns: names(&[
            "CATALOG_NAME",
            "SCHEMA_NAME",
            "DEFAULT_CHARACTER_SET_NAME",
            "DEFAULT_COLLATION_NAME",
            "SQL_PATH",
            "DEFAULT_ENCRYPTION",
        ]),
        rows: visible_databases(s, ctx)?
            .into_iter()
            .map(|db| {
                vec![
                    Value::from(CATALOG),
                    Value::Text(db),
                    Value::from(CHARSET),
                    Value::from(TABLE_COLLATION),
                    Value::Null,
                    Value::from("NO"),
                ]
            })
            .collect(),
    })
}

fn tables_table(s: &mut EngineSession, ctx: &dyn SessionContext) -> Result<VirtualTable, SqlError> {
    let mut rows = Vec::new();
    for t in visible_tables(s, ctx)? {
        s.attach(&t.db, &[])?;
        let next = s.next_auto_increment(&t)?;
        let comment = s
            .catalog_def(&t)?
            .and_then(|d| d.comment)
            .unwrap_or_default();
        let mut row = vec![
            Value::from(CATALOG),
            Value::Text(t.db),
            Value::Text(t.table),
            Value::from("BASE TABLE"),
        ];
        // MySQL's row count is an estimate too; counting would read every table.
        row.extend(show::base_table_status(Value::Null, next, comment));
        rows.push(row);
    }
    // MySQL's row for a view: no engine or sizes, `VIEW` as the comment.
    for t in visible(s, ctx, views_of)? {
        let mut row = vec![
            Value::from(CATALOG),
            Value::Text(t.db),
            Value::Text(t.table),
            Value::from("VIEW"),
        ];
        row.extend(std::iter::repeat_n(Value::Null, 16));
        row.push(Value::from("VIEW"));
        rows.push(row);
    }
    Ok(VirtualTable {
        columns: names(&[
            "TABLE_CATALOG",
            "TABLE_SCHEMA",
            "TABLE_NAME",
            "TABLE_TYPE",
            "ENGINE",
            "VERSION",
            "ROW_FORMAT",
            "TABLE_ROWS",
            "AVG_ROW_LENGTH",
            "DATA_LENGTH",
            "MAX_DATA_LENGTH",
            "INDEX_LENGTH",
            "DATA_FREE",
            "AUTO_INCREMENT",
            "CREATE_TIME",
            "UPDATE_TIME",
            "CHECK_TIME",
            "TABLE_COLLATION",
            "CHECKSUM",
            "CREATE_OPTIONS",
            "TABLE_COMMENT",
        ]),
        rows,
    })
}

const COLUMNS: [&str; 22] = [
    "TABLE_CATALOG",
    "TABLE_SCHEMA",
    "TABLE_NAME",
    "COLUMN_NAME",
    "ORDINAL_POSITION",
    "COLUMN_DEFAULT",
    "IS_NULLABLE",
    "DATA_TYPE",
    "CHARACTER_MAXIMUM_LENGTH",
    "CHARACTER_OCTET_LENGTH",
    "NUMERIC_PRECISION",
    "NUMERIC_SCALE",
    "DATETIME_PRECISION",
    "CHARACTER_SET_NAME",
    "COLLATION_NAME",
    "COLUMN_TYPE",
    "COLUMN_KEY",
    "EXTRA",
    "PRIVILEGES",
    "COLUMN_COMMENT",
    "GENERATION_EXPRESSION",
    "SRS_ID",
];

fn column_rows(t: &TableRef, def: &TableDef) -> Vec<Vec<Value>> {
    // `describe` gives what SHOW COLUMNS shows (key, default, extra); the sizes come from
    // the type.
    let described = show::describe_def(def);
    described
        .into_iter()
        .enumerate()
        .map(|(i, column)| {
            let info = &def.columns[i];
            let sizes = sizes(info);
            let character = is_character(&info.data_type);
            vec![
                Value::from(CATALOG),
                Value::Text(t.db.clone()),
                Value::Text(t.table.clone()),
                Value::Text(column.name),
                int(i + 1),
                column.default,
                Value::from(if column.nullable { "YES" } else { "NO" }),
                Value::Text(info.data_type.clone()),
                sizes.char_length.map_or(Value::Null, Value::Int),
                sizes.octet_length.map_or(Value::Null, Value::Int),
                sizes.precision.map_or(Value::Null, Value::Int),
                sizes.scale.map_or(Value::Null, Value::Int),
                sizes.datetime_precision.map_or(Value::Null, Value::Int),
                if character {
                    Value::from(CHARSET)
                } else {
                    Value::Null
                },
                column.collation.map_or(Value::Null, Value::Text),
                Value::Text(column.column_type),
                Value::from(column.key),
                Value::Text(column.extra),
                Value::from(PRIVILEGES),
                Value::Text(column.comment),
                Value::from(""),
                Value::Null,
            ]
        })
        .collect()
}

/// The sizes `information_schema.COLUMNS` gives a type.
#[derive(Default)]
struct Sizes {
    char_length: Option<i64>,
    octet_length: Option<i64>,
    precision: Option<i64>,
    scale: Option<i64>,
    datetime_precision: Option<i64>,
}

fn sizes(c: &ColumnInfo) -> Sizes {
    let args: Vec<i64> = c
        .column_type
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(a, _)| a.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_default();
    let unsigned = c.column_type.contains("unsigned");
    let first = args.first().copied();
    let chars = |n: i64| Sizes {
        char_length: Some(n),
        octet_length: Some(n * 4),
        ..Sizes::default()
    };
    let bytes = |n: i64| Sizes {
        char_length: Some(n),
        octet_length: Some(n),
        ..Sizes::default()
    };
    let number = |precision: i64, scale: Option<i64>| Sizes {
        precision: Some(precision),
        scale,
        ..Sizes::default()
    };
    match c.data_type.as_str() {
        "varchar" | "char" => chars(first.unwrap_or(1)),
        "tinytext" => bytes(255),
        "text" => bytes(65_535),
        "mediumtext" => bytes(16_777_215),
        "longtext" => bytes(4_294_967_295),
        "varbinary" | "binary" => bytes(first.unwrap_or(1)),
        "tinyblob" => bytes(255),
        "blob" => bytes(65_535),
        "mediumblob" => bytes(16_777_215),
        "longblob" => bytes(4_294_967_295),
        "enum" | "set" => {
            let longest = c
                .column_type
                .split('\'')
                .skip(1)
                .step_by(2)
                .map(|v| v.chars().count() as i64)
                .max()
                .unwrap_or(0);
            chars(longest)
        }
        "tinyint" => number(3, Some(0)),
        "smallint" => number(5, Some(0)),
        "mediumint" => number(7, Some(0)),
        "int" => number(10, Some(0)),
        "bigint" => number(if unsigned { 20 } else { 19 }, Some(0)),
        "decimal" => number(first.unwrap_or(10), Some(args.get(1).copied().unwrap_or(0))),
        "float" => number(12, None),
        "double" => number(22, None),
        "bit" => number(first.unwrap_or(1), None),
        "datetime" | "timestamp" | "time" => Sizes {
            datetime_precision: Some(first.unwrap_or(0)),
            ..Sizes::default()
        },
        _ => Sizes::default(),
    }
}

const STATISTICS: [&str; 16] = [
    "TABLE_CATALOG",
    "TABLE_SCHEMA",
    "TABLE_NAME",
    "NON_UNIQUE",
    "INDEX_SCHEMA",
    "INDEX_NAME",
    "SEQ_IN_INDEX",
    "COLUMN_NAME",
    "COLLATION",
    "CARDINALITY",
    "SUB_PART",
    "PACKED",
    "NULLABLE",
    "INDEX_TYPE",
    "COMMENT",
    "INDEX_COMMENT",
];

fn statistics_rows(t: &TableRef, def: &TableDef) -> Vec<Vec<Value>> {
    show::index_rows_def(def)
        .into_iter()
        .map(|row| {
            vec![
                Value::from(CATALOG),
                Value::Text(t.db.clone()),
                Value::Text(t.table.clone()),
                Value::Int(i64::from(row.non_unique)),
                Value::Text(t.db.clone()),
                Value::Text(row.key),
                Value::Int(row.seq),
                Value::Text(row.column),
                Value::from("A"),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::from(if row.nullable { "YES" } else { "" }),
                Value::from("BTREE"),
                Value::from(""),
                Value::from(""),
            ]
        })
        .collect()
}

const KEY_COLUMN_USAGE: [&str; 12] = [
    "CONSTRAINT_CATALOG",
    "CONSTRAINT_SCHEMA",
    "CONSTRAINT_NAME",
    "TABLE_CATALOG",
    "TABLE_SCHEMA",
    "TABLE_NAME",
    "COLUMN_NAME",
    "ORDINAL_POSITION",
    "POSITION_IN_UNIQUE_CONSTRAINT",
    "REFERENCED_TABLE_SCHEMA",
    "REFERENCED_TABLE_NAME",
    "REFERENCED_COLUMN_NAME",
];

fn key_column_usage_rows(t: &TableRef, def: &TableDef) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    let mut row = |name: &str, column: &str, i: usize, reference: Option<(&str, &str, &str)>| {
        rows.push(vec![
            Value::from(CATALOG),
            Value::Text(t.db.clone()),
            Value::from(name),
            Value::from(CATALOG),
            Value::Text(t.db.clone()),
            Value::Text(t.table.clone()),
            Value::from(column),
            int(i + 1),
            reference.map_or(Value::Null, |_| int(i + 1)),
            reference.map_or(Value::Null, |(db, _, _)| Value::from(db)),
            reference.map_or(Value::Null, |(_, table, _)| Value::from(table)),
            reference.map_or(Value::Null, |(_, _, column)| Value::from(column)),
        ]);
    };
    for key in def.keys.iter().filter(|k| k.kind != KeyKind::Index) {
        for (i, c) in key.columns.iter().enumerate() {
            row(&key.name, c, i, None);
        }
    }
    for fk in &def.foreign_keys {
        let db = fk.ref_db.as_deref().unwrap_or(&t.db);
        for (i, (c, r)) in fk.columns.iter().zip(&fk.ref_columns).enumerate() {
            row(&fk.name, c, i, Some((db, &fk.ref_table, r)));
        }
    }
    rows
}

const TABLE_CONSTRAINTS: [&str; 7] = [
    "CONSTRAINT_CATALOG",
    "CONSTRAINT_SCHEMA",
    "CONSTRAINT_NAME",
    "TABLE_SCHEMA",
    "TABLE_NAME",
    "CONSTRAINT_TYPE",
    "ENFORCED",
];

fn table_constraint_rows(t: &TableRef, def: &TableDef) -> Vec<Vec<Value>> {
    let keys = def
        .keys
        .iter()
        .filter_map(|k| match k.kind {
            KeyKind::Primary => Some((k.name.as_str(), "PRIMARY KEY")),
            KeyKind::Unique => Some((k.name.as_str(), "UNIQUE")),
            KeyKind::Index => None,
        })
        .chain(
            def.foreign_keys
                .iter()
                .map(|f| (f.name.as_str(), "FOREIGN KEY")),
        )
        .chain(def.checks.iter().map(|(name, _)| (name.as_str(), "CHECK")));
    keys.map(|(name, kind)| {
        vec![
            Value::from(CATALOG),
            Value::Text(t.db.clone()),
            Value::from(name),
            Value::Text(t.db.clone()),
            Value::Text(t.table.clone()),
            Value::from(kind),
            Value::from("YES"),
        ]
    })
    .collect()
}

const REFERENTIAL_CONSTRAINTS: [&str; 11] = [
    "CONSTRAINT_CATALOG",
    "CONSTRAINT_SCHEMA",
    "CONSTRAINT_NAME",
    "UNIQUE_CONSTRAINT_CATALOG",
    "UNIQUE_CONSTRAINT_SCHEMA",
    "UNIQUE_CONSTRAINT_NAME",
    "MATCH_OPTION",
    "UPDATE_RULE",
    "DELETE_RULE",
    "TABLE_NAME",
    "REFERENCED_TABLE_NAME",
];

fn referential_rows(t: &TableRef, def: &TableDef) -> Vec<Vec<Value>> {
    def.foreign_keys
        .iter()
        .map(|fk| {
            vec![
                Value::from(CATALOG),
                Value::Text(t.db.clone()),
                Value::Text(fk.name.clone()),
                Value::from(CATALOG),
                Value::Text(fk.ref_db.clone().unwrap_or_else(|| t.db.clone())),
                Value::from("PRIMARY"),
                Value::from("NONE"),
                Value::Text(fk.on_update.clone().unwrap_or_else(|| "NO ACTION".into())),
                Value::Text(fk.on_delete.clone().unwrap_or_else(|| "NO ACTION".into())),
                Value::Text(t.table.clone()),
                Value::Text(fk.ref_table.clone()),
            ]
        })
        .collect()
}

const CHECK_CONSTRAINTS: [&str; 4] = [
    "CONSTRAINT_CATALOG",
    "CONSTRAINT_SCHEMA",
    "CONSTRAINT_NAME",
    "CHECK_CLAUSE",
];

fn check_rows(t: &TableRef, def: &TableDef) -> Vec<Vec<Value>> {
    def.checks
        .iter()
        .map(|(name, expr)| {
            vec![
                Value::from(CATALOG),
                Value::Text(t.db.clone()),
                Value::Text(name.clone()),
                Value::Text(format!("({expr})")),
            ]
        })
        .collect()
}

const VIEWS: [&str; 10] = [
    "TABLE_CATALOG",
    "TABLE_SCHEMA",
    "TABLE_NAME",
    "VIEW_DEFINITION",
    "CHECK_OPTION",
    "IS_UPDATABLE",
    "DEFINER",
    "SECURITY_TYPE",
    "CHARACTER_SET_CLIENT",
    "COLLATION_CONNECTION",
];

/// `VIEWS`: one row per visible view. None is updatable here.
fn views(s: &mut EngineSession, ctx: &dyn SessionContext) -> Result<VirtualTable, SqlError> {
    let mut rows = Vec::new();
    for t in visible(s, ctx, views_of)? {
        s.attach(&t.db, &[])?;
        let Some(def) = view_def(s, &t)? else {
            continue;
        };
        rows.push(vec![
            Value::from(CATALOG),
            Value::Text(t.db),
            Value::Text(t.table),
            Value::Text(def.query),
            Value::from("NONE"),
            Value::from("NO"),
            Value::Text(def.definer),
            Value::Text(def.security),
            Value::from(show::VIEW_CHARSET),
            Value::from(show::VIEW_COLLATION),
        ]);
    }
    Ok(VirtualTable {
        columns: names(&VIEWS),
        rows,
    })
}

/// The engines `SHOW ENGINES` lists too ([`crate::vars::ENGINES`]).
fn engines() -> VirtualTable {
    let yes_no = |b: bool| Value::from(if b { "YES" } else { "NO" });
    VirtualTable {
        columns: names(&[
            "ENGINE",
            "SUPPORT",
            "COMMENT",
            "TRANSACTIONS",
            "XA",
            "SAVEPOINTS",
        ]),
        rows: crate::vars::ENGINES
            .iter()
            .map(|e| {
                vec![
                    Value::from(e.name),
                    Value::from(e.support),
                    Value::from(e.comment),
                    yes_no(e.transactions),
                    yes_no(e.xa),
                    yes_no(e.savepoints),
                ]
            })
            .collect(),
    }
}

fn int(n: usize) -> Value {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn names(columns: &[&str]) -> Vec<String> {
    columns.iter().map(|c| c.to_string()).collect()
}
