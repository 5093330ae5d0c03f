//! MySQL statements rewritten for SQLite.
//!
//! Queries and DML are rewritten in place on sqlparser's AST and rendered back: every table
//! reference is qualified with its database (the schema it is attached under), server-computed
//! tables become temporary tables, session values (`@@x`, `@x`, `DATABASE()`, `USER()`…)
//! become literals, MySQL functions become their SQLite equivalents, `INSERT IGNORE` and
//! `REPLACE` become `INSERT OR IGNORE` / `INSERT OR REPLACE`. `CREATE TABLE` is rendered from
//! scratch instead (`table_sql`).

use std::collections::HashSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    Assignment, AssignmentTarget, BinaryOperator, DoUpdate, FunctionArg, FunctionArgExpr,
    FunctionArguments, OnConflict, OnConflictAction, OnInsert, visit_expressions,
    visit_expressions_mut,
};
use sqlparser::ast::{
    DataType, Expr, Ident, ObjectName, ObjectNamePart, Query, SelectItem, SetExpr,
    SqliteOnConflict, Statement, TableAlias, TableFactor, UnaryOperator, Update, Value as SqlValue,
    Visit, VisitMut, Visitor, VisitorMut, visit_relations_mut,
};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use super::types::TEMPORARY_PREFIX;
use super::{SessionContext, VarScope, functions};
use crate::error::{ErrorKind, SqlError};
use crate::protocol::value::Value;

/// Schemas whose tables the server computes instead of storing.
pub(crate) const VIRTUAL_SCHEMAS: [&str; 3] = ["performance_schema", "information_schema", "mysql"];

/// Parses exactly one statement.
pub(crate) fn parse_one(sql: &str) -> Result<Statement, SqlError> {
    let mut statements =
        Parser::parse_sql(&MySqlDialect {}, sql).map_err(|e| SqlError::syntax(e.to_string()))?;
    match statements.len() {
        1 => Ok(statements.remove(0)),
        0 => Err(SqlError::new(ErrorKind::EmptyQuery, "Query was empty")),
        _ => Err(SqlError::syntax(
            "multi-statements are not supported; send one statement per query",
        )),
    }
}

/// A table a statement names, after resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TableRef {
    pub(crate) db: String,
    pub(crate) table: String,
}

/// What a rewrite found: base tables (in order of appearance) and server-computed ones.
#[derive(Default)]
pub(crate) struct Rewritten {
    pub(crate) tables: Vec<TableRef>,
    pub(crate) virtual_tables: Vec<(String, String)>,
    /// Whether the statement's first table (the one an INSERT, UPDATE or DELETE writes) is one
    /// of the session's temporary tables, which need no privilege once made.
    pub(crate) first_temporary: bool,
}

/// The temporary table that stands in for `schema.table` while a statement runs.
pub(crate) fn virtual_table_name(schema: &str, table: &str) -> String {
    format!(
        "_tlsql_{}_{}",
        schema.to_ascii_lowercase(),
        table.to_ascii_lowercase()
    )
}

/// The table of SQLite's `temp` schema that holds the session's temporary table `t`: the
/// prefix keeps it apart from the server-computed tables (`_tlsql_<schema>_…`), and a database
/// name has no `.`, so no two temporary tables share one.
pub(crate) fn temporary_name(t: &TableRef) -> String {
    format!("{TEMPORARY_PREFIX}{}.{}", t.db, t.table)
}

/// Where the session's temporary table `t` is: `temp`.[`temporary_name`].
pub(crate) fn temporary_table(t: &TableRef) -> TableRef {
    TableRef {
        db: "temp".to_string(),
        table: temporary_name(t),
    }
}

/// Whether a reference to `t` names the temporary table `tmp` (table names compare as SQLite
/// compares them, without case, as base tables do here).
pub(crate) fn names_temporary(tmp: &TableRef, t: &TableRef) -> bool {
    tmp.db == t.db && tmp.table.eq_ignore_ascii_case(&t.table)
}

/// The temporary table among `temporary` that a reference to `t` names, if there is one.
pub(crate) fn find_temporary<'a>(temporary: &'a [TableRef], t: &TableRef) -> Option<&'a TableRef> {
    temporary.iter().find(|tmp| names_temporary(tmp, t))
}

/// The identifiers of an object name (`db.t` → `["db", "t"]`).
pub(crate) fn name_parts(name: &ObjectName) -> Result<Vec<String>, SqlError> {
    name.0
        .iter()
        .map(|part| match part {
            ObjectNamePart::Identifier(ident) => Ok(ident.value.clone()),
            other => Err(SqlError::syntax(format!("unsupported name '{other}'"))),
        })
        .collect()
}

/// Resolves a table name against the current database.
pub(crate) fn resolve(name: &ObjectName, current: Option<&str>) -> Result<TableRef, SqlError> {
    let parts = name_parts(name)?;
    match parts.as_slice() {
        [table] => match current {
            Some(db) => Ok(TableRef {
                db: db.to_string(),
                table: table.clone(),
            }),
            None => Err(no_database()),
        },
        [db, table] => Ok(TableRef {
            db: db.clone(),
            table: table.clone(),
        }),
        _ => Err(SqlError::syntax(format!("bad table name '{name}'"))),
    }
}

/// 1046 `No database selected`.
pub(crate) fn no_database() -> SqlError {
    SqlError::new(ErrorKind::NoDatabaseSelected, "No database selected")
}

/// A quoted SQLite identifier.
pub(crate) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn qualified(db: &str, table: &str) -> ObjectName {
    ObjectName::from(vec![
        Ident::with_quote('"', db),
        Ident::with_quote('"', table),
    ])
}

/// Names of common table expressions, which look like table references but are not.
struct CteNames(HashSet<String>);

impl Visitor for CteNames {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            self.0.extend(
                with.cte_tables
                    .iter()
                    .map(|cte| cte.alias.name.value.to_ascii_lowercase()),
            );
        }
        ControlFlow::Continue(())
    }
}

/// Gives each reference to a temporary table without an alias its own name as alias, so that
/// columns qualified with the table's name (`t.a`) still find it once it is renamed to its
/// table in `temp`.
struct TemporaryAliases<'a> {
    current: Option<&'a str>,
    temporary: &'a [TableRef],
    ctes: &'a HashSet<String>,
}

impl VisitorMut for TemporaryAliases<'_> {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table {
            name,
            alias: alias @ None,
            ..
        } = factor
            && let Ok(parts) = name_parts(name)
            && !(parts.len() == 1 && self.ctes.contains(&parts[0].to_ascii_lowercase()))
            && let Ok(table) = resolve(name, self.current)
            && find_temporary(self.temporary, &table).is_some()
        {
            *alias = Some(TableAlias {
                explicit: true,
                name: Ident::with_quote('"', table.table),
                columns: Vec::new(),
                at: None,
            });
        }
        ControlFlow::Continue(())
    }
}

/// Numbers the `?` placeholders `?1`, `?2`, … in the order they stand in the text, the order
/// the client binds its parameters in. Rewrites may then copy an expression (`RIGHT(?, n)` uses
/// its text twice, an `UPDATE` compares each assigned value with the column): every copy takes
/// the same parameter, and SQLite counts as many parameters as the client sends.
fn number_placeholders(statement: &mut Statement) {
    let is_anonymous = |e: &Expr| matches!(e, Expr::Value(v) if matches!(&v.value, SqlValue::Placeholder(p) if p == "?"));
    let mut found = Vec::new();
    let _ = visit_expressions(statement, |e| {
        if let Expr::Value(v) = e
            && is_anonymous(e)
        {
            found.push(v.span.start);
        }
        ControlFlow::<()>::Continue(())
    });
    if found.is_empty() {
        return;
    }
    // Visiting order follows the tree, which can differ from the text's (a stable sort keeps
    // the tree's order where the parser recorded no position).
    let mut by_position: Vec<usize> = (0..found.len()).collect();
    by_position.sort_by_key(|&i| found[i]);
    let mut number = vec![0; found.len()];
    for (rank, &i) in by_position.iter().enumerate() {
        number[i] = rank + 1;
    }
    let mut next = number.into_iter();
    let _ = visit_expressions_mut(statement, |e| {
        if is_anonymous(e)
            && let Expr::Value(v) = e
            && let Some(n) = next.next()
        {
            v.value = SqlValue::Placeholder(format!("?{n}"));
        }
        ControlFlow::<()>::Continue(())
    });
}

/// Rewrites a query or DML statement for SQLite (see the module documentation). A reference to
/// one of the session's `temporary` tables names its table in `temp` (see [`temporary_name`]),
/// which shadows a base table of the same name.
pub(crate) fn rewrite(
    statement: &mut Statement,
    current: Option<&str>,
    temporary: &[TableRef],
    ctx: &dyn SessionContext,
) -> Result<Rewritten, SqlError> {
    number_placeholders(statement);
    let mut ctes = CteNames(HashSet::new());
    let _ = Visit::visit(statement, &mut ctes);
    let mut found = Rewritten::default();
    if !temporary.is_empty() {
        let _ = VisitMut::visit(
            statement,
            &mut TemporaryAliases {
                current,
                temporary,
                ctes: &ctes.0,
            },
        );
    }

    if let Statement::Query(query) = statement {
        name_projected_expressions(query);
    }
    // Row locks (`FOR UPDATE`, `LOCK IN SHARE MODE`): a transaction that writes holds SQLite's
    // database lock from its start, which is at least as strong. Select modifiers
    // (`SQL_NO_CACHE`, `HIGH_PRIORITY`…) are hints SQLite has no use for.
    if let ControlFlow::Break(e) = VisitMut::visit(statement, &mut QueryHints) {
        return Err(e);
    }
    if let Statement::Insert(insert) = statement {
        if insert.ignore {
            insert.ignore = false;
            insert.or = Some(SqliteOnConflict::Ignore);
        }
        if insert.replace_into {
            insert.replace_into = false;
            insert.or = Some(SqliteOnConflict::Replace);
        }
        upsert(insert);
    }

    // Tables named so far (CTEs aside).
    let mut seen = 0;
    let relations = visit_relations_mut(statement, |name| {
        let parts = match name_parts(name) {
            Ok(p) => p,
            Err(e) => return ControlFlow::Break(e),
        };
        if let [single] = parts.as_slice()
            && ctes.0.contains(&single.to_ascii_lowercase())
        {
            return ControlFlow::Continue(());
        }
        let table = match resolve(name, current) {
            Ok(t) => t,
            Err(e) => return ControlFlow::Break(e),
        };
        seen += 1;
        if let Some(schema) = VIRTUAL_SCHEMAS
            .iter()
            .find(|s| s.eq_ignore_ascii_case(&table.db))
        {
            *name = qualified("temp", &virtual_table_name(schema, &table.table));
            found.virtual_tables.push((schema.to_string(), table.table));
        } else if let Some(tmp) = find_temporary(temporary, &table) {
            *name = qualified("temp", &temporary_name(tmp));
            found.first_temporary |= seen == 1;
        } else {
            *name = qualified(&table.db, &table.table);
            found.tables.push(table);
        }
        ControlFlow::Continue(())
    });
    if let ControlFlow::Break(e) = relations {
        return Err(e);
    }

    if let ControlFlow::Break(e) = VisitMut::visit(statement, &mut Substitutions { current, ctx }) {
        return Err(e);
    }
    if let Statement::Update(update) = statement
        && !ctx.found_rows()
    {
        only_changed_rows(update);
    }
    Ok(found)
}

/// Without the client's CLIENT_FOUND_ROWS, MySQL counts the rows an UPDATE changed, not those
/// it matched: a row whose every assigned value is already there is left out of the WHERE, so
/// SQLite neither writes nor counts it. Values are compared byte for byte (`COLLATE BINARY`),
/// as MySQL compares a row before and after. With ORDER BY … LIMIT the rows left out would
/// change which rows the limit picks, and a multi-table UPDATE assigns across tables: both
/// keep the matched count.
fn only_changed_rows(update: &mut Update) {
    if update.from.is_some()
        || !update.table.joins.is_empty()
        || update.limit.is_some()
        || !update.order_by.is_empty()
    {
        return;
    }
    let mut columns = Vec::new();
    for assignment in &update.assignments {
        let AssignmentTarget::ColumnName(column) = &assignment.target else {
            return;
        };
        let Some(parts) = column
            .0
            .iter()
            .map(|p| p.as_ident().cloned())
            .collect::<Option<Vec<Ident>>>()
        else {
            return;
        };
        columns.push(Expr::CompoundIdentifier(parts));
    }
    let Some(changed) = changes_row(columns, &update.assignments) else {
        return;
    };
    update.selection = Some(match update.selection.take() {
        None => changed,
        Some(filter) => Expr::BinaryOp {
            left: Box::new(Expr::Nested(Box::new(filter))),
            op: BinaryOperator::And,
            right: Box::new(changed),
        },
    });
}

/// Whether `assignments` (to `columns`) change the row they are applied to: some value differs
/// from the column's, compared byte for byte (`COLLATE BINARY`), as MySQL compares a row before
/// and after. `None` without assignments.
fn changes_row(columns: Vec<Expr>, assignments: &[Assignment]) -> Option<Expr> {
    // The values are about to appear twice; their `?` placeholders were numbered first
    // (`number_placeholders`), so both copies take the same parameter.
    let unchanged = columns
        .into_iter()
        .zip(assignments)
        .map(|(column, assignment)| {
            Expr::Nested(Box::new(Expr::IsNotDistinctFrom(
                Box::new(column),
                Box::new(Expr::Collate {
                    expr: Box::new(Expr::Nested(Box::new(assignment.value.clone()))),
                    collation: ObjectName::from(vec![Ident::new("BINARY")]),
                }),
            )))
        })
        .reduce(|all, one| Expr::BinaryOp {
            left: Box::new(all),
            op: BinaryOperator::And,
            right: Box::new(one),
        })?;
    Some(Expr::UnaryOp {
        op: UnaryOperator::Not,
        expr: Box::new(Expr::Nested(Box::new(unchanged))),
    })
}

/// `INSERT … ON DUPLICATE KEY UPDATE c = VALUES(c) | alias.c | expr` → SQLite's
/// `INSERT … ON CONFLICT DO UPDATE SET c = excluded.c …`: the row that would have been inserted
/// is `excluded` there, as `VALUES()` or the row alias is in MySQL.
fn upsert(insert: &mut sqlparser::ast::Insert) {
    let Some(OnInsert::DuplicateKeyUpdate(mut assignments)) = insert.on.take() else {
        return;
    };
    let alias = insert.insert_alias.take().map(|a| {
        a.row_alias
            .to_string()
            .trim_matches('`')
            .to_ascii_lowercase()
    });
    let excluded = |column: Ident| {
        Expr::CompoundIdentifier(vec![Ident::new("excluded"), Ident::new(column.value)])
    };
    for assignment in &mut assignments {
        if let AssignmentTarget::ColumnName(name) = &mut assignment.target
            && let Some(last) = name.0.pop()
        {
            name.0 = vec![last];
        }
        let _ = visit_expressions_mut(&mut assignment.value, |e| {
            let replacement = match e {
                Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("VALUES") => {
                    match &f.args {
                        FunctionArguments::List(list) => match list.args.as_slice() {
                            [FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Identifier(c)))] => {
                                Some(excluded(c.clone()))
                            }
                            _ => None,
                        },
                        _ => None,
                    }
                }
                Expr::CompoundIdentifier(parts)
                    if parts.len() == 2
                        && alias
                            .as_deref()
                            .is_some_and(|a| parts[0].value.eq_ignore_ascii_case(a)) =>
                {
                    Some(excluded(parts[1].clone()))
                }
                _ => None,
            };
            if let Some(r) = replacement {
                *e = r;
            }
            ControlFlow::<()>::Continue(())
        });
    }
    // A row the assignments would leave as it is is not written, as in MySQL; every row that
    // met a key is counted (see `functions::UpsertTally`).
    let columns = assignments
        .iter()
        .map(|a| match &a.target {
            AssignmentTarget::ColumnName(name) => Some(Expr::CompoundIdentifier(
                name.0
                    .iter()
                    .map(|p| p.as_ident().cloned())
                    .collect::<Option<_>>()?,
            )),
            AssignmentTarget::Tuple(_) => None,
        })
        .collect::<Option<Vec<Expr>>>();
    let changes = columns
        .and_then(|columns| changes_row(columns, &assignments))
        .unwrap_or(Expr::value(SqlValue::Boolean(true)));
    let tally = functions::call(
        functions::UPSERT_ROW,
        vec![changes, Expr::Identifier(Ident::new("_rowid_"))],
    );
    insert.on = Some(OnInsert::OnConflict(OnConflict {
        conflict_target: None,
        action: OnConflictAction::DoUpdate(DoUpdate {
            assignments,
            selection: Some(tally),
        }),
    }));
    // SQLite would read `ON CONFLICT` after `INSERT … SELECT … FROM t` as the join's `ON`
    // unless the SELECT has a WHERE.
    if let Some(source) = &mut insert.source
        && let SetExpr::Select(select) = source.body.as_mut()
        && select.selection.is_none()
        && !select.from.is_empty()
    {
        select.selection = Some(Expr::value(SqlValue::Boolean(true)));
    }
}

/// Drops what SQLite does not read from every query of a statement: row locks and select
/// modifiers.
struct QueryHints;

impl VisitorMut for QueryHints {
    type Break = SqlError;

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<SqlError> {
        query.locks.clear();
        if let SetExpr::Select(select) = query.body.as_mut() {
            select.select_modifiers = None;
        }
        ControlFlow::Continue(())
    }
}

/// Rewrites the expressions of a statement for SQLite (see [`substitute`]).
pub(crate) struct Substitutions<'a> {
    pub(crate) current: Option<&'a str>,
    pub(crate) ctx: &'a dyn SessionContext,
}

impl VisitorMut for Substitutions<'_> {
    type Break = SqlError;

    /// An introducer applies to its literal as the client wrote it, before the literal itself
    /// is rewritten.
    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<SqlError> {
        if let Expr::Prefixed { prefix, value } = expr
            && prefix.value.starts_with('_')
        {
            *expr = introduced(prefix, value);
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<SqlError> {
        match substitute(expr, self.current, self.ctx) {
            Ok(Some(replacement)) => *expr = replacement,
            Ok(None) => {}
            Err(e) => return ControlFlow::Break(e),
        }
        ControlFlow::Continue(())
    }
}

/// MySQL names an unaliased expression column by its text (`@@version_comment`); the
/// substitutions below would otherwise change the name SQLite reports.
fn name_projected_expressions(query: &mut Query) {
    let SetExpr::Select(select) = query.body.as_mut() else {
        return;
    };
    for item in &mut select.projection {
        if let SelectItem::UnnamedExpr(expr) = item
            && !is_column_reference(expr)
        {
            // The name is text: bytes of the query that are not UTF-8 show as U+FFFD, and a
            // NUL byte, which SQLite's tokenizer would stop at, is left out.
            let text = expr.to_string();
            let name =
                String::from_utf8_lossy(&crate::lex::original_bytes(&text)).replace('\0', "");
            let alias = Ident::with_quote('`', name);
            *item = SelectItem::ExprWithAlias {
                expr: expr.clone(),
                alias,
            };
        }
    }
}

fn is_column_reference(expr: &Expr) -> bool {
    match expr {
        Expr::Identifier(i) => !i.value.starts_with('@'),
        Expr::CompoundIdentifier(parts) => parts.first().is_some_and(|p| !p.value.starts_with('@')),
        _ => false,
    }
}

/// The replacement for one expression, if it needs one.
fn substitute(
    expr: &Expr,
    current: Option<&str>,
    ctx: &dyn SessionContext,
) -> Result<Option<Expr>, SqlError> {
    match expr {
        Expr::Identifier(ident) if ident.quote_style.is_none() => {
            if let Some(name) = ident.value.strip_prefix("@@") {
                return ctx
                    .system_variable(VarScope::Default, name)
                    .map(|v| Some(literal(&v)));
            }
            if let Some(name) = ident.value.strip_prefix('@') {
                return Ok(Some(literal(&ctx.user_variable(name))));
            }
            Ok(None)
        }
        Expr::CompoundIdentifier(parts) if parts.len() == 2 && parts[0].value.starts_with("@@") => {
            let scope = match parts[0].value.to_ascii_lowercase().as_str() {
                "@@global" => VarScope::Global,
                "@@session" | "@@local" => VarScope::Session,
                other => {
                    return Err(SqlError::syntax(format!(
                        "near '{other}.{}'",
                        parts[1].value
                    )));
                }
            };
            ctx.system_variable(scope, &parts[1].value)
                .map(|v| Some(literal(&v)))
        }
        Expr::Value(v) => Ok(match &v.value {
            SqlValue::SingleQuotedString(s) => {
                string_literal(s, false).filter(|e| {
                    !matches!(e, Expr::Value(v) if v.value == SqlValue::SingleQuotedString(s.clone()))
                })
            }
            SqlValue::DoubleQuotedString(s) | SqlValue::NationalStringLiteral(s) => {
                string_literal(s, false)
            }
            _ => None,
        }),
        Expr::Function(f) => functions::function(f, current, ctx),
        Expr::Convert {
            expr,
            data_type: Some(data_type),
            charset: None,
            ..
        }
        | Expr::Cast {
            expr, data_type, ..
        } => Ok(Some(functions::cast(expr, data_type))),
        Expr::Convert {
            expr,
            data_type: None,
            charset: Some(charset),
            ..
        } => Ok(Some(if charset.to_string().eq_ignore_ascii_case("binary") {
            functions::cast(expr, &DataType::Blob(None))
        } else {
            // Text is kept as UTF-8 whatever the character set named.
            functions::cast(expr, &DataType::Text)
        })),
        _ => Ok(None),
    }
}

/// A string literal as SQLite must be given it: its value is what the client sent (the
/// tokenizer has read MySQL's backslash escapes), and SQLite's own tokenizer would stop at a
/// NUL byte, so a value holding one, or bytes that are not UTF-8, is given as hex: a BLOB for
/// bytes (`binary`, or not UTF-8), else the text cast from it. `None`: the literal is fine
/// as it is.
fn string_literal(s: &str, binary: bool) -> Option<Expr> {
    let bytes = crate::lex::original_bytes(s);
    let text = std::str::from_utf8(&bytes).ok().filter(|_| !binary);
    let hex = || Expr::value(SqlValue::HexStringLiteral(hex_digits(&bytes)));
    match text {
        Some(t) if !t.contains('\0') => {
            Some(Expr::value(SqlValue::SingleQuotedString(t.to_string())))
        }
        Some(_) => Some(Expr::Cast {
            kind: sqlparser::ast::CastKind::Cast,
            expr: Box::new(hex()),
            data_type: DataType::Custom(ObjectName::from(vec![Ident::new("TEXT")]), vec![]),
            format: None,
        }),
        None => Some(hex()),
    }
}

fn hex_digits(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A literal with a character set introducer (`_binary 'x'`, `_utf8mb4 'x'`): bytes for
/// `_binary`, text for the others (text is UTF-8 here whatever the set named).
fn introduced(prefix: &Ident, value: &Expr) -> Expr {
    let binary = prefix.value.eq_ignore_ascii_case("_binary");
    match value {
        Expr::Value(v) => match &v.value {
            SqlValue::SingleQuotedString(s) | SqlValue::DoubleQuotedString(s) => {
                string_literal(s, binary).unwrap_or_else(|| value.clone())
            }
            _ => value.clone(),
        },
        other => other.clone(),
    }
}

/// A value as an SQL literal.
pub(crate) fn literal(v: &Value) -> Expr {
    match v {
        Value::Null => Expr::value(SqlValue::Null),
        Value::Int(i) => Expr::value(SqlValue::Number(i.to_string(), false)),
        Value::UInt(u) => Expr::value(SqlValue::Number(u.to_string(), false)),
        Value::Double(d) if d.is_finite() => Expr::value(SqlValue::Number(format!("{d:?}"), false)),
        Value::Double(_) => Expr::value(SqlValue::Null),
        Value::Text(s) => Expr::value(SqlValue::SingleQuotedString(s.clone())),
        Value::Bytes(b) => Expr::value(SqlValue::HexStringLiteral(
            b.iter().map(|x| format!("{x:02X}")).collect(),
        )),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::auth::privileges::Privilege;
    use crate::storage::VirtualTable;

    /// A session whose every variable and function has a fixed value, allowed everything.
    pub(crate) struct Fixed;

    impl SessionContext for Fixed {
        fn system_variable(&self, scope: VarScope, name: &str) -> Result<Value, SqlError> {
            Ok(Value::Text(format!("{scope:?}:{name}")))
        }
        fn user_variable(&self, name: &str) -> Value {
            Value::Text(format!("user:{name}"))
        }
        fn function(&self, name: &str) -> Option<Value> {
            (name == "USER").then(|| Value::from("u@localhost"))
        }
        fn virtual_table(&self, _: &str, _: &str) -> Option<VirtualTable> {
            None
        }
        fn authorize(&self, _: Privilege, _: &str, _: Option<&str>) -> Result<(), SqlError> {
            Ok(())
        }
        fn authorize_database(&self, _: &str) -> Result<(), SqlError> {
            Ok(())
        }
        fn found_rows(&self) -> bool {
            true
        }
    }

    fn rewritten(sql: &str, current: Option<&str>) -> (String, Rewritten) {
        let mut s = parse_one(sql).unwrap();
        let found = rewrite(&mut s, current, &[], &Fixed).unwrap();
        (s.to_string(), found)
    }

    #[test]
    fn table_references_are_qualified_with_their_database() {
        let (sql, found) = rewritten(
            "SELECT a FROM t JOIN other.u ON t.id = u.id LIMIT 1, 2",
            Some("shop"),
        );
        assert_eq!(
            sql,
            "SELECT a FROM \"shop\".\"t\" JOIN \"other\".\"u\" ON t.id = u.id LIMIT 1, 2"
        );
        assert_eq!(found.tables.len(), 2);
        assert_eq!(
            found.tables[1],
            TableRef {
                db: "other".into(),
                table: "u".into()
            }
        );
    }

    #[test]
    fn temporary_tables_are_their_tables_in_temp_under_their_own_name() {
        let temporary = [TableRef {
            db: "d".into(),
            table: "t".into(),
        }];
        let mut s = parse_one("SELECT t.a FROM t JOIN u ON t.id = u.id").unwrap();
        let found = rewrite(&mut s, Some("d"), &temporary, &Fixed).unwrap();
        assert_eq!(
            s.to_string(),
            "SELECT t.a FROM \"temp\".\"_tlsql_temporary.d.t\" AS \"t\" JOIN \"d\".\"u\" ON t.id = u.id"
        );
        assert_eq!(
            found.tables,
            vec![TableRef {
                db: "d".into(),
                table: "u".into()
            }]
        );
        assert!(found.first_temporary);
    }

    #[test]
    fn unqualified_tables_need_a_database() {
        let mut s = parse_one("SELECT * FROM t").unwrap();
        assert_eq!(
            rewrite(&mut s, None, &[], &Fixed).err().map(|e| e.code()),
            Some(1046)
        );
    }

    #[test]
    fn session_values_become_literals_and_keep_their_column_names() {
        let (sql, _) = rewritten(
            "SELECT @@version_comment, @@global.max_connections, @x, USER(), DATABASE() LIMIT 1",
            None,
        );
        assert_eq!(
            sql,
            "SELECT 'Default:version_comment' AS `@@version_comment`, 'Global:max_connections' AS `@@global.max_connections`, \
             'user:x' AS `@x`, 'u@localhost' AS `USER()`, NULL AS `DATABASE()` LIMIT 1"
        );
    }

    #[test]
    fn repeat_becomes_a_sqlite_expression() {
        let (sql, _) = rewritten("SELECT REPEAT(REPEAT('x', 2), 3) AS r", None);
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let r: String = conn.query_row(&sql, [], |row| row.get(0)).unwrap();
        assert_eq!(r, "xxxxxx");
        let (sql, _) = rewritten("SELECT REPEAT('ab', -1) AS r", None);
        let r: String = conn.query_row(&sql, [], |row| row.get(0)).unwrap();
        assert_eq!(r, "");
    }

    #[test]
    fn ctes_are_not_tables() {
        let (sql, found) = rewritten("WITH c AS (SELECT 1 AS x) SELECT x FROM c", Some("d"));
        assert!(sql.ends_with("FROM c"), "{sql}");
        assert!(found.tables.is_empty());
    }

    #[test]
    fn insert_ignore_and_replace_use_sqlite_conflict_clauses() {
        let (sql, _) = rewritten("INSERT IGNORE INTO t VALUES (1)", Some("d"));
        assert!(
            sql.starts_with("INSERT OR IGNORE INTO \"d\".\"t\""),
            "{sql}"
        );
        let (sql, _) = rewritten("REPLACE INTO t VALUES (1)", Some("d"));
        assert!(
            sql.starts_with("INSERT OR REPLACE INTO \"d\".\"t\""),
            "{sql}"
        );
    }
}
