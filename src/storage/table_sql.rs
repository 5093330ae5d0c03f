//! SQLite's `CREATE TABLE` and `CREATE INDEX` rendered from scratch for a MySQL table: SQLite's
//! grammar differs too much to rewrite MySQL's in place (AUTO_INCREMENT, inline KEY,
//! ENGINE=…, collations), and the MySQL definition the catalog keeps is made alongside.

use sqlparser::ast::{ColumnDef, ColumnOption, CreateTable, Expr};
use sqlparser::tokenizer::Token;

use super::definition::{KeyKind, TableDef};
use super::translate::{TableRef, quote};
use crate::error::{ErrorKind, SqlError};

/// `CREATE TABLE` split into what SQLite runs and the MySQL definition the catalog keeps.
pub(crate) struct TableDefinition {
    /// SQLite statements: the table, then its secondary indexes.
    pub(crate) sqlite: Vec<String>,
    /// The definition itself.
    pub(crate) def: TableDef,
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

/// Renders `CREATE TABLE` for SQLite (see the module documentation): the table with its
/// primary key, checks and foreign keys, then one index per other key, named after the MySQL
/// key. The SQLite table is made as `sqlite` (a temporary table's is not its MySQL name).
pub(crate) fn create_table(
    ct: &CreateTable,
    target: &TableRef,
    sqlite: &TableRef,
) -> Result<TableDefinition, SqlError> {
    if ct.query.is_some() || ct.like.is_some() || ct.clone.is_some() {
        return Err(SqlError::not_supported("CREATE TABLE … AS / LIKE"));
    }
    if ct.columns.is_empty() {
        return Err(SqlError::new(
            ErrorKind::TableMustHaveColumns,
            "A table must have at least 1 column",
        ));
    }
    let def = TableDef::from_create(ct, &target.table)?;
    // SQLite's foreign keys stay within one schema, and `temp` holds no base table.
    if ct.temporary && !def.foreign_keys.is_empty() {
        return Err(SqlError::not_supported(
            "a FOREIGN KEY on a TEMPORARY table",
        ));
    }
    let sqlite = table_sql(&def, sqlite)?;
    Ok(TableDefinition { sqlite, def })
}

/// SQLite's statements for a table definition: `CREATE TABLE`, then its indexes.
pub(crate) fn table_sql(def: &TableDef, target: &TableRef) -> Result<Vec<String>, SqlError> {
    let primary = def.keys.iter().find(|k| k.kind == KeyKind::Primary);
    let mut auto_columns = def.columns.iter().filter(|c| c.auto_increment);
    let auto = auto_columns.next();
    let rowid_key = match (auto, primary) {
        (Some(a), Some(pk)) if pk.columns.len() == 1 && pk.columns[0] == a.name => {
            Some(a.name.clone())
        }
        (None, _) => None,
        _ => {
            return Err(SqlError::new(
                ErrorKind::WrongAutoKey,
                "Incorrect table definition; there can be only one auto column and it must be defined as a key",
            ));
        }
    };
    if auto_columns.next().is_some() {
        return Err(SqlError::new(
            ErrorKind::WrongAutoKey,
            "Incorrect table definition; there can be only one auto column and it must be defined as a key",
        ));
    }
    let mut lines = Vec::new();
    for col in &def.columns {
        if rowid_key.as_deref() == Some(col.name.as_str()) {
            lines.push(format!(
                "{} INTEGER PRIMARY KEY AUTOINCREMENT",
                quote(&col.name)
            ));
        } else {
            lines.push(column_sql(&col.def, !col.nullable));
        }
    }
    let list = |cols: &[String]| cols.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ");
    if let Some(pk) = primary
        && rowid_key.is_none()
    {
        lines.push(format!("PRIMARY KEY ({})", list(&pk.columns)));
    }
    for (_, check) in &def.checks {
        lines.push(format!("CHECK ({check})"));
    }
    for fk in &def.foreign_keys {
        if fk.ref_db.as_ref().is_some_and(|db| db != &target.db) {
            return Err(SqlError::not_supported(
                "a FOREIGN KEY to a table of another database",
            ));
        }
        lines.push(fk.clause(quote, false));
    }
    let mut statements = vec![format!(
        "CREATE TABLE {}.{} (\n  {}\n)",
        quote(&target.db),
        quote(&target.table),
        lines.join(",\n  ")
    )];
    for key in def.keys.iter().filter(|k| k.kind != KeyKind::Primary) {
        statements.push(create_index_sql(
            target,
            &key.name,
            key.kind == KeyKind::Unique,
            &list(&key.columns),
        ));
    }
    Ok(statements)
}

/// The SQLite definition of a column that is not an AUTO_INCREMENT key; keys are the table's.
pub(crate) fn column_sql(col: &ColumnDef, not_null: bool) -> String {
    let mysql_type = col.data_type.to_string();
    let mut line = format!("{} {}", quote(&col.name.value), sqlite_type(&mysql_type));
    if compares_without_case(&mysql_type, &col.options) {
        line.push_str(" COLLATE NOCASE");
    }
    if not_null {
        line.push_str(" NOT NULL");
    }
    for option in &col.options {
        // Comments, character sets, collations and ON UPDATE have no SQLite counterpart and
        // do not change what is stored; keys and checks are the table's.
        if let ColumnOption::Default(expr) = &option.option {
            line.push_str(&format!(" DEFAULT {}", default_clause(expr)));
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
    use sqlparser::ast::Statement;

    use crate::storage::translate::parse_one;

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
        let items = TableRef {
            db: "shop".into(),
            table: "items".into(),
        };
        let def = create_table(&ct, &items, &items).unwrap();
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
        let mysql = def.def.show_create(false, None);
        assert!(
            mysql.contains("`id` int unsigned NOT NULL AUTO_INCREMENT"),
            "{mysql}"
        );
        assert_eq!(def.def.auto_increment, Some(5));
    }
}
