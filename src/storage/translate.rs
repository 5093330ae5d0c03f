//! MySQL statements rewritten for SQLite.
//!
//! Queries and DML are rewritten in place on sqlparser's AST and rendered back: every table
//! reference is qualified with its database (the schema it is attached under), server-computed
//! tables become temporary tables, session values (`@@x`, `@x`, `DATABASE()`, `USER()`…)
//! become literals, MySQL functions become their SQLite equivalents, `INSERT IGNORE` and
//! `REPLACE` become `INSERT OR IGNORE` / `INSERT OR REPLACE`. `CREATE TABLE` is rendered from
//! scratch: SQLite's grammar differs too much there (AUTO_INCREMENT, inline KEY, ENGINE=…).

use std::collections::HashSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    ColumnDef, ColumnOption, CreateTable, Expr, Function, FunctionArguments, Ident, ObjectName,
    ObjectNamePart, Query, SelectItem, SetExpr, SqliteOnConflict, Statement, TableConstraint,
    Value as SqlValue, Visit, Visitor, visit_expressions_mut, visit_relations_mut,
};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use super::{SessionContext, VarScope};
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

/// What a rewrite found: real tables (in order of appearance) and server-computed ones.
#[derive(Default)]
pub(crate) struct Rewritten {
    pub(crate) tables: Vec<TableRef>,
    pub(crate) virtual_tables: Vec<(String, String)>,
}

/// The temporary table that stands in for `schema.table` while a statement runs.
pub(crate) fn virtual_table_name(schema: &str, table: &str) -> String {
    format!(
        "_tlsql_{}_{}",
        schema.to_ascii_lowercase(),
        table.to_ascii_lowercase()
    )
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

/// Rewrites a query or DML statement for SQLite (see the module documentation).
pub(crate) fn rewrite(
    statement: &mut Statement,
    current: Option<&str>,
    ctx: &dyn SessionContext,
) -> Result<Rewritten, SqlError> {
    let mut ctes = CteNames(HashSet::new());
    let _ = statement.visit(&mut ctes);
    let mut found = Rewritten::default();

    if let Statement::Query(query) = statement {
        name_projected_expressions(query);
        query.locks.clear();
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
    }

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
        if let Some(schema) = VIRTUAL_SCHEMAS
            .iter()
            .find(|s| s.eq_ignore_ascii_case(&table.db))
        {
            *name = qualified("temp", &virtual_table_name(schema, &table.table));
            found.virtual_tables.push((schema.to_string(), table.table));
        } else {
            *name = qualified(&table.db, &table.table);
            found.tables.push(table);
        }
        ControlFlow::Continue(())
    });
    if let ControlFlow::Break(e) = relations {
        return Err(e);
    }

    let substitutions =
        visit_expressions_mut(statement, |expr| match substitute(expr, current, ctx) {
            Ok(Some(replacement)) => {
                *expr = replacement;
                ControlFlow::Continue(())
            }
            Ok(None) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        });
    if let ControlFlow::Break(e) = substitutions {
        return Err(e);
    }
    Ok(found)
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
            let alias = Ident::with_quote('`', expr.to_string());
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
        Expr::Value(v) => match &v.value {
            SqlValue::DoubleQuotedString(s) => {
                Ok(Some(Expr::value(SqlValue::SingleQuotedString(s.clone()))))
            }
            _ => Ok(None),
        },
        Expr::Function(f) => function(f, current, ctx),
        _ => Ok(None),
    }
}

/// MySQL functions SQLite lacks or names differently.
fn function(
    f: &Function,
    current: Option<&str>,
    ctx: &dyn SessionContext,
) -> Result<Option<Expr>, SqlError> {
    let name = f.name.to_string().to_ascii_uppercase();
    let no_args = match &f.args {
        FunctionArguments::None => true,
        FunctionArguments::List(list) => list.args.is_empty(),
        FunctionArguments::Subquery(_) => false,
    };
    if no_args {
        match name.as_str() {
            "DATABASE" | "SCHEMA" => {
                return Ok(Some(literal(&current.map_or(Value::Null, Value::from))));
            }
            "CURRENT_USER" | "USER" | "SESSION_USER" | "SYSTEM_USER" | "VERSION"
            | "CONNECTION_ID" => {
                return Ok(ctx.function(&name).map(|v| literal(&v)));
            }
            _ => {}
        }
        let equivalent = match name.as_str() {
            "NOW" | "LOCALTIME" | "LOCALTIMESTAMP" | "SYSDATE" | "CURRENT_TIMESTAMP" => {
                "datetime('now', 'localtime')"
            }
            "CURDATE" | "CURRENT_DATE" => "date('now', 'localtime')",
            "CURTIME" | "CURRENT_TIME" => "time('now', 'localtime')",
            "UTC_TIMESTAMP" => "datetime('now')",
            "UNIX_TIMESTAMP" => "unixepoch()",
            "LAST_INSERT_ID" => "last_insert_rowid()",
            "ROW_COUNT" => "changes()",
            "RAND" => "((random() & 9007199254740991) / 9007199254740992.0)",
            _ => return Ok(None),
        };
        return parse_expr(equivalent).map(|e| Some(Expr::Nested(Box::new(e))));
    }
    if name == "REPEAT"
        && let FunctionArguments::List(list) = &f.args
        && let [text, count] = list.args.as_slice()
    {
        // SQLite has no REPEAT: n zero bytes in hex are n copies of "00", each replaced by
        // the text.
        return parse_expr(&format!(
            "replace(hex(zeroblob(max({count}, 0))), '00', {text})"
        ))
        .map(|e| Some(Expr::Nested(Box::new(e))));
    }
    let renamed = match name.as_str() {
        "IF" => "iif",
        "CHAR_LENGTH" | "CHARACTER_LENGTH" => "length",
        "SUBSTRING" => "substr",
        _ => return Ok(None),
    };
    let mut f = f.clone();
    f.name = ObjectName::from(vec![Ident::new(renamed)]);
    Ok(Some(Expr::Function(f)))
}

fn parse_expr(sql: &str) -> Result<Expr, SqlError> {
    Parser::new(&MySqlDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| SqlError::unknown(format!("internal rewrite of '{sql}': {e}")))
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

/// `CREATE TABLE` split into what SQLite runs and what `SHOW CREATE TABLE` shows.
pub(crate) struct TableDefinition {
    /// SQLite statements: the table, then its secondary indexes.
    pub(crate) sqlite: Vec<String>,
    /// The MySQL form, for `SHOW CREATE TABLE` and `SHOW COLUMNS`.
    pub(crate) mysql: String,
}

/// Whether a column option list carries `AUTO_INCREMENT`.
pub(crate) fn is_auto_increment(options: &[sqlparser::ast::ColumnOptionDef]) -> bool {
    options.iter().any(|o| {
        matches!(&o.option, ColumnOption::DialectSpecific(tokens)
            if tokens.iter().any(|t| matches!(t, Token::Word(w) if w.value.eq_ignore_ascii_case("AUTO_INCREMENT"))))
    })
}

/// SQLite's `CREATE [UNIQUE] INDEX` for MySQL index `index` of `target` over the rendered
/// column list.
pub(crate) fn create_index_sql(
    target: &TableRef,
    index: &str,
    unique: bool,
    columns: &str,
) -> String {
    format!(
        "CREATE {}INDEX {}.{} ON {} ({columns})",
        if unique { "UNIQUE " } else { "" },
        quote(&target.db),
        quote(&index_name(&target.table, index)),
        quote(&target.table),
    )
}

/// The SQLite index name for MySQL index `index` of `table` (SQLite index names are per
/// database, MySQL's per table).
pub(crate) fn index_name(table: &str, index: &str) -> String {
    format!("{table}__{index}")
}

/// Renders `CREATE TABLE` for SQLite (see the module documentation).
pub(crate) fn create_table(
    ct: &CreateTable,
    target: &TableRef,
) -> Result<TableDefinition, SqlError> {
    if ct.query.is_some() || ct.like.is_some() || ct.clone.is_some() {
        return Err(SqlError::not_supported("CREATE TABLE … AS / LIKE"));
    }
    if ct.temporary {
        return Err(SqlError::not_supported("CREATE TEMPORARY TABLE"));
    }
    if ct.columns.is_empty() {
        return Err(SqlError::new(
            ErrorKind::TableMustHaveColumns,
            "A table must have at least 1 column",
        ));
    }
    let mut table_pk: Option<Vec<String>> = None;
    for constraint in &ct.constraints {
        if let TableConstraint::PrimaryKey(pk) = constraint {
            table_pk = Some(
                pk.columns
                    .iter()
                    .map(|c| c.column.expr.to_string().trim_matches('`').to_string())
                    .collect(),
            );
        }
    }
    let mut rowid_key = None;
    let mut lines = Vec::new();
    let mut mysql_lines = Vec::new();
    for col in &ct.columns {
        let name = col.name.value.clone();
        let auto = is_auto_increment(&col.options);
        let inline_pk = col
            .options
            .iter()
            .any(|o| matches!(o.option, ColumnOption::PrimaryKey(_)));
        let sole_table_pk = table_pk
            .as_ref()
            .is_some_and(|pk| pk.len() == 1 && pk[0].eq_ignore_ascii_case(&name));
        let mysql_type = col.data_type.to_string();
        let options: Vec<String> = col.options.iter().map(|o| o.to_string()).collect();
        mysql_lines.push(format!(
            "  `{}` {}{}{}",
            name,
            mysql_type,
            if options.is_empty() { "" } else { " " },
            options.join(" ")
        ));
        if auto && (inline_pk || sole_table_pk) {
            rowid_key = Some(name.clone());
            lines.push(format!(
                "{} INTEGER PRIMARY KEY AUTOINCREMENT",
                quote(&name)
            ));
            continue;
        }
        if auto {
            return Err(SqlError::new(
                ErrorKind::WrongAutoKey,
                "Incorrect table definition; there can be only one auto column and it must be defined as a key",
            ));
        }
        lines.push(column_sql(col));
    }
    let mut indexes = Vec::new();
    for constraint in &ct.constraints {
        mysql_lines.push(format!("  {constraint}"));
        match constraint {
            TableConstraint::PrimaryKey(pk) => {
                let single = pk.columns.len() == 1;
                if !(single && rowid_key.is_some()) {
                    lines.push(format!("PRIMARY KEY ({})", index_columns(&pk.columns)));
                }
            }
            TableConstraint::Unique(u) => {
                lines.push(format!("UNIQUE ({})", index_columns(&u.columns)))
            }
            TableConstraint::Check(c) => lines.push(format!("CHECK ({})", c.expr)),
            TableConstraint::ForeignKey(fk) => lines.push(fk.to_string()),
            TableConstraint::Index(ix) => {
                let index = ix
                    .name
                    .as_ref()
                    .map_or_else(|| format!("idx{}", indexes.len() + 1), |n| n.value.clone());
                indexes.push(create_index_sql(
                    target,
                    &index,
                    false,
                    &index_columns(&ix.columns),
                ));
            }
            other => return Err(SqlError::not_supported(other)),
        }
    }
    let create = format!(
        "CREATE TABLE {}.{} (\n  {}\n)",
        quote(&target.db),
        quote(&target.table),
        lines.join(",\n  ")
    );
    let mut sqlite = vec![create];
    sqlite.extend(indexes);
    let mysql = format!(
        "CREATE TABLE `{}` (\n{}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        target.table,
        mysql_lines.join(",\n")
    );
    Ok(TableDefinition { sqlite, mysql })
}

/// The SQLite definition of a column that is not an AUTO_INCREMENT key.
pub(crate) fn column_sql(col: &ColumnDef) -> String {
    let mysql_type = col.data_type.to_string();
    let mut line = format!("{} {}", quote(&col.name.value), sqlite_type(&mysql_type));
    if compares_without_case(&mysql_type, &col.options) {
        line.push_str(" COLLATE NOCASE");
    }
    for option in &col.options {
        match &option.option {
            ColumnOption::NotNull => line.push_str(" NOT NULL"),
            ColumnOption::Default(expr) => {
                line.push_str(&format!(" DEFAULT {}", default_clause(expr)))
            }
            ColumnOption::PrimaryKey(_) => line.push_str(" PRIMARY KEY"),
            ColumnOption::Unique(_) => line.push_str(" UNIQUE"),
            ColumnOption::Check(c) => line.push_str(&format!(" CHECK ({})", c.expr)),
            // NULL is the default; comments, character sets, collations and ON UPDATE
            // have no SQLite counterpart and do not change what is stored.
            _ => {}
        }
    }
    line
}

/// Whether a column compares like MySQL's default case-insensitive collations: character
/// types, unless a binary collation (`…_bin`, `binary`) or character set is named. SQLite's
/// NOCASE folds ASCII letters only, so `'é' = 'É'` stays false where MySQL says true.
fn compares_without_case(mysql_type: &str, options: &[sqlparser::ast::ColumnOptionDef]) -> bool {
    let upper = mysql_type.to_ascii_uppercase();
    let base = upper
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default();
    let character = matches!(
        base,
        "CHAR"
            | "CHARACTER"
            | "NCHAR"
            | "VARCHAR"
            | "NVARCHAR"
            | "TINYTEXT"
            | "TEXT"
            | "MEDIUMTEXT"
            | "LONGTEXT"
            | "ENUM"
            | "SET"
    );
    let binary_named = upper.contains("BINARY")
        || upper.contains("_BIN")
        || options.iter().any(|o| match &o.option {
            ColumnOption::Collation(name) => {
                let name = name.to_string().to_ascii_lowercase();
                name.ends_with("_bin") || name.trim_matches('`') == "binary"
            }
            ColumnOption::CharacterSet(name) => name.to_string().eq_ignore_ascii_case("binary"),
            _ => false,
        });
    character && !binary_named
}

/// The SQLite column list of an index.
pub(crate) fn index_columns(cols: &[sqlparser::ast::IndexColumn]) -> String {
    cols.iter()
        .map(|c| index_column(&c.column.expr))
        .collect::<Vec<_>>()
        .join(", ")
}

fn index_column(expr: &Expr) -> String {
    match expr {
        Expr::Identifier(i) => quote(&i.value),
        other => other.to_string(),
    }
}

/// The declared SQLite type: the MySQL type itself where SQLite's grammar takes it (so column
/// affinity follows SQLite's name rules and result types can be recovered), a text type for
/// ENUM and SET, whose value lists SQLite's type grammar rejects.
fn sqlite_type(mysql_type: &str) -> String {
    if mysql_type.contains(['\'', '"']) {
        "VARCHAR".to_string()
    } else {
        mysql_type.to_string()
    }
}

fn default_clause(expr: &Expr) -> String {
    let text = expr.to_string();
    let upper = text.to_ascii_uppercase();
    if upper.starts_with("CURRENT_TIMESTAMP")
        || upper.starts_with("NOW(")
        || upper == "LOCALTIMESTAMP"
    {
        "CURRENT_TIMESTAMP".to_string()
    } else {
        format!("({text})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::privileges::Privilege;
    use crate::storage::VirtualTable;

    struct Fixed;

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
    }

    fn rewritten(sql: &str, current: Option<&str>) -> (String, Rewritten) {
        let mut s = parse_one(sql).unwrap();
        let found = rewrite(&mut s, current, &Fixed).unwrap();
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
    fn unqualified_tables_need_a_database() {
        let mut s = parse_one("SELECT * FROM t").unwrap();
        assert_eq!(
            rewrite(&mut s, None, &Fixed).err().map(|e| e.code()),
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

    #[test]
    fn create_table_translates_mysql_syntax() {
        let Statement::CreateTable(ct) = parse_one(
            "CREATE TABLE `items` (`id` INT UNSIGNED NOT NULL AUTO_INCREMENT, `name` VARCHAR(40) CHARACTER SET utf8mb4 \
             NOT NULL DEFAULT '', kind ENUM('a','b'), `at` TIMESTAMP DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (`id`), \
             KEY `by_name` (`name`)) ENGINE=InnoDB AUTO_INCREMENT=5 DEFAULT CHARSET=utf8mb4",
        )
        .unwrap() else {
            panic!("not CREATE TABLE")
        };
        let def = create_table(
            &ct,
            &TableRef {
                db: "shop".into(),
                table: "items".into(),
            },
        )
        .unwrap();
        assert_eq!(
            def.sqlite[0],
            "CREATE TABLE \"shop\".\"items\" (\n  \"id\" INTEGER PRIMARY KEY AUTOINCREMENT,\n  \"name\" VARCHAR(40) COLLATE NOCASE NOT NULL DEFAULT (''),\n  \
             \"kind\" VARCHAR COLLATE NOCASE,\n  \"at\" TIMESTAMP DEFAULT CURRENT_TIMESTAMP\n)"
        );
        assert_eq!(
            def.sqlite[1],
            "CREATE INDEX \"shop\".\"items__by_name\" ON \"items\" (\"name\")"
        );
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("ATTACH ':memory:' AS shop").unwrap();
        for s in &def.sqlite {
            conn.execute_batch(s).unwrap();
        }
        assert!(
            def.mysql
                .contains("`id` INT UNSIGNED NOT NULL AUTO_INCREMENT"),
            "{}",
            def.mysql
        );
    }
}
