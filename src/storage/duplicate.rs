//! `Duplicate entry 'v' for key 't.k'` (1062) as MySQL words it. SQLite names only the
//! columns of the unique index a statement violated; the key is found by those columns in the
//! table's definition, and the value by evaluating the statement's rows: the first row of an
//! `INSERT … VALUES` whose key is already in the table or in an earlier row of the statement,
//! or the constant an `UPDATE` sets the key to.

use rusqlite::params_from_iter;
use sqlparser::ast::{
    AssignmentTarget, Expr, Insert, SetExpr, Statement, TableObject, Update, Value as SqlValue,
    Visit, Visitor,
};
use std::ops::ControlFlow;

use super::conn::EngineSession;
use super::definition::{KeyKind, TableDef};
use super::translate::{TableRef, name_parts, quote};
use super::types::{from_sqlite, to_sqlite};
use crate::error::{ErrorKind, SqlError};
use crate::protocol::value::Value;

/// The 1062 error for a statement SQLite refused with `UNIQUE constraint failed: <columns>`
/// (`failed` is what follows the colon), run with `params`.
pub(super) fn entry_error(
    s: &EngineSession,
    statement: &Statement,
    params: &[Value],
    failed: &str,
) -> SqlError {
    let columns: Vec<String> = failed
        .split(',')
        .map(|c| c.trim().rsplit('.').next().unwrap_or("").to_string())
        .collect();
    let found = target(statement).and_then(|t| {
        let def = s.table_def(&t).ok().flatten()?;
        let key = def.keys.iter().find(|k| {
            k.kind != KeyKind::Index
                && k.columns.len() == columns.len()
                && k.columns
                    .iter()
                    .zip(&columns)
                    .all(|(a, b)| a.eq_ignore_ascii_case(b))
        })?;
        let value = match statement {
            Statement::Insert(insert) => inserted_value(s, &t, &def, insert, params, &key.columns),
            Statement::Update(update) => updated_value(s, update, &key.columns),
            _ => None,
        };
        Some((def.name.clone(), key.name.clone(), value))
    });
    let message = match found {
        Some((table, key, Some(value))) => {
            format!("Duplicate entry '{value}' for key '{table}.{key}'")
        }
        Some((table, key, None)) => format!("Duplicate entry for key '{table}.{key}'"),
        None => format!("Duplicate entry for key '{}'", columns.join(",")),
    };
    SqlError::new(ErrorKind::DuplicateEntry, message)
}

/// The table an `INSERT` or `UPDATE` writes, as the rewrite qualified it (`"db"."t"`).
fn target(statement: &Statement) -> Option<TableRef> {
    let name = match statement {
        Statement::Insert(Insert {
            table: TableObject::TableName(name),
            ..
        }) => name,
        Statement::Update(Update { table, .. }) => match &table.relation {
            sqlparser::ast::TableFactor::Table { name, .. } => name,
            _ => return None,
        },
        _ => return None,
    };
    let mut parts = name_parts(name).ok()?;
    let table = parts.pop()?;
    Some(TableRef {
        db: parts.pop()?,
        table,
    })
}

/// How many `?` placeholders an expression holds.
fn placeholders(expr: &Expr) -> usize {
    struct Count(usize);
    impl Visitor for Count {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            if let Expr::Value(v) = expr
                && matches!(v.value, SqlValue::Placeholder(_))
            {
                self.0 += 1;
            }
            ControlFlow::Continue(())
        }
    }
    let mut count = Count(0);
    let _ = expr.visit(&mut count);
    count.0
}

/// MySQL's text of a key value: the columns' values joined by `-`.
fn key_text(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| match v {
            Value::Null => "NULL".to_string(),
            Value::Int(i) => i.to_string(),
            Value::UInt(u) => u.to_string(),
            Value::Double(d) => d.to_string(),
            Value::Text(t) => t.clone(),
            Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Evaluates `exprs` with `params` (the placeholders they hold, in order).
fn evaluate(s: &EngineSession, exprs: &[&Expr], params: &[Value]) -> Option<Vec<Value>> {
    let list: Vec<String> = exprs.iter().map(|e| e.to_string()).collect();
    let mut stmt = s
        .conn
        .prepare(&format!("SELECT {}", list.join(", ")))
        .ok()?;
    stmt.query_row(params_from_iter(params.iter().map(to_sqlite)), |row| {
        (0..exprs.len())
            .map(|i| row.get_ref(i).map(from_sqlite))
            .collect::<Result<Vec<_>, _>>()
    })
    .ok()
}

fn inserted_value(
    s: &EngineSession,
    t: &TableRef,
    def: &TableDef,
    insert: &Insert,
    params: &[Value],
    key: &[String],
) -> Option<String> {
    let SetExpr::Values(values) = insert.source.as_ref()?.body.as_ref() else {
        return None;
    };
    let columns: Vec<String> = if insert.columns.is_empty() {
        def.columns.iter().map(|c| c.name.clone()).collect()
    } else {
        insert
            .columns
            .iter()
            .map(|c| {
                name_parts(c)
                    .ok()
                    .and_then(|mut p| p.pop())
                    .unwrap_or_default()
            })
            .collect()
    };
    let positions: Vec<usize> = key
        .iter()
        .map(|k| columns.iter().position(|c| c.eq_ignore_ascii_case(k)))
        .collect::<Option<_>>()?;
    let condition = key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{} = ?{}", quote(k), i + 1))
        .collect::<Vec<_>>()
        .join(" AND ");
    let exists = format!(
        "SELECT 1 FROM {}.{} WHERE {condition}",
        quote(&t.db),
        quote(&t.table)
    );
    let mut next_param = 0;
    let mut seen: Vec<Vec<Value>> = Vec::new();
    for row in &values.rows {
        let count: usize = row.iter().map(placeholders).sum();
        let row_params = params.get(next_param..next_param + count)?;
        next_param += count;
        let all = evaluate(s, &row.iter().collect::<Vec<_>>(), row_params)?;
        let tuple: Vec<Value> = positions.iter().map(|&p| all[p].clone()).collect();
        let in_table = s
            .conn
            .prepare(&exists)
            .and_then(|mut q| q.exists(params_from_iter(tuple.iter().map(to_sqlite))))
            .ok()?;
        if in_table || seen.contains(&tuple) {
            return Some(key_text(&tuple));
        }
        seen.push(tuple);
    }
    None
}

fn updated_value(s: &EngineSession, update: &Update, key: &[String]) -> Option<String> {
    let mut values = Vec::new();
    for k in key {
        let assigned = update.assignments.iter().find(|a| match &a.target {
            AssignmentTarget::ColumnName(name) => name.0.last().is_some_and(|p| {
                p.to_string()
                    .trim_matches(['`', '"'])
                    .eq_ignore_ascii_case(k)
            }),
            AssignmentTarget::Tuple(_) => false,
        })?;
        if placeholders(&assigned.value) > 0 {
            return None;
        }
        values.push(evaluate(s, &[&assigned.value], &[])?.pop()?);
    }
    Some(key_text(&values))
}
