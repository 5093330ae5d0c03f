//! A table's MySQL definition as MySQL itself describes it: columns with their types in
//! MySQL 8's canonical spelling (`int`, `varchar(20)`, `decimal(10,2)`, `tinyint(1)`), every
//! key named as MySQL names it (`PRIMARY`, an unnamed key after its first column, an unnamed
//! foreign key `<table>_ibfk_<n>`), in MySQL's order. `SHOW CREATE TABLE`, `SHOW COLUMNS`,
//! `SHOW INDEX` and `information_schema` all read it, and the catalog keeps its rendering, so
//! a definition read back is the definition shown.

use sqlparser::ast::{
    ColumnDef, ColumnOption, CreateTable, CreateTableOptions, DataType, EnumMember, Expr,
    IndexColumn, ReferentialAction, SqlOption, TableConstraint, Value as SqlValue,
};

use super::table_sql::is_auto_increment;
use super::translate::name_parts;
use crate::error::{ErrorKind, SqlError};

/// A table's definition.
#[derive(Clone, Debug)]
pub(crate) struct TableDef {
    pub(crate) name: String,
    pub(crate) columns: Vec<ColumnInfo>,
    /// Primary key first, then unique keys, then the other indexes, each group in the order
    /// they were declared (MySQL's order).
    pub(crate) keys: Vec<Key>,
    pub(crate) foreign_keys: Vec<ForeignKey>,
    pub(crate) checks: Vec<(String, String)>,
    pub(crate) comment: Option<String>,
    /// `AUTO_INCREMENT=n` as declared.
    pub(crate) auto_increment: Option<u64>,
}

/// A column.
#[derive(Clone, Debug)]
pub(crate) struct ColumnInfo {
    pub(crate) name: String,
    /// The type as MySQL 8 prints it (`int unsigned`, `varchar(20)`).
    pub(crate) column_type: String,
    /// The type's name alone (`int`, `varchar`), as `information_schema.COLUMNS.DATA_TYPE`.
    pub(crate) data_type: String,
    pub(crate) nullable: bool,
    /// The default as MySQL prints it in `SHOW CREATE TABLE` (`'0'`, `CURRENT_TIMESTAMP`).
    pub(crate) default: Option<String>,
    pub(crate) auto_increment: bool,
    pub(crate) on_update: Option<String>,
    pub(crate) comment: Option<String>,
    pub(crate) collation: Option<String>,
    /// The declaration it came from (what SQLite's column is made from).
    pub(crate) def: ColumnDef,
}

/// What kind of index a key is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Primary,
    Unique,
    Index,
}

/// A key (index).
#[derive(Clone, Debug)]
pub(crate) struct Key {
    pub(crate) kind: KeyKind,
    pub(crate) name: String,
    pub(crate) columns: Vec<String>,
}

/// A foreign key.
#[derive(Clone, Debug)]
pub(crate) struct ForeignKey {
    pub(crate) name: String,
    pub(crate) columns: Vec<String>,
    /// The referenced database when the definition names one.
    pub(crate) ref_db: Option<String>,
    pub(crate) ref_table: String,
    pub(crate) ref_columns: Vec<String>,
    pub(crate) on_delete: Option<String>,
    pub(crate) on_update: Option<String>,
}

impl ForeignKey {
    /// `CONSTRAINT … FOREIGN KEY (…) REFERENCES [db.]table (…) [ON DELETE …] [ON UPDATE …]`
    /// with names quoted by `quote`: MySQL's backquotes for `SHOW CREATE TABLE`, SQLite's
    /// quotes for the table SQLite keeps (which names no other database).
    pub(crate) fn clause(&self, quote: impl Fn(&str) -> String, with_db: bool) -> String {
        let list = |cols: &[String]| cols.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ");
        let db = match &self.ref_db {
            Some(db) if with_db => format!("{}.", quote(db)),
            _ => String::new(),
        };
        let mut clause = format!(
            "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {db}{} ({})",
            quote(&self.name),
            list(&self.columns),
            quote(&self.ref_table),
            list(&self.ref_columns)
        );
        if let Some(a) = &self.on_delete {
            clause.push_str(&format!(" ON DELETE {a}"));
        }
        if let Some(a) = &self.on_update {
            clause.push_str(&format!(" ON UPDATE {a}"));
        }
        clause
    }
}

/// MySQL's default collation, as tables are created with it.
pub(crate) const TABLE_COLLATION: &str = "utf8mb4_0900_ai_ci";

/// Backquotes a MySQL name.
pub(crate) fn backquote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn quote_text(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

fn index_column_names(columns: &[IndexColumn]) -> Result<Vec<String>, SqlError> {
    columns
        .iter()
        .map(|c| match &c.column.expr {
            Expr::Identifier(i) => Ok(i.value.clone()),
            other => Err(SqlError::not_supported(format!(
                "an index on the expression {other}"
            ))),
        })
        .collect()
}

fn referential_action(a: &ReferentialAction) -> String {
    a.to_string().to_ascii_uppercase()
}

impl TableDef {
    /// The definition `CREATE TABLE` declares for the table `name`.
    pub(crate) fn from_create(ct: &CreateTable, name: &str) -> Result<TableDef, SqlError> {
        let mut def = TableDef {
            name: name.to_string(),
            columns: Vec::new(),
            keys: Vec::new(),
            foreign_keys: Vec::new(),
            checks: Vec::new(),
            comment: ct.comment.as_ref().map(|c| comment_text(&c.to_string())),
            auto_increment: None,
        };
        if let CreateTableOptions::Plain(options) | CreateTableOptions::With(options) =
            &ct.table_options
        {
            for option in options {
                match option {
                    SqlOption::KeyValue { key, value }
                        if key.to_string().eq_ignore_ascii_case("AUTO_INCREMENT") =>
                    {
                        def.auto_increment = value.to_string().parse().ok();
                    }
                    SqlOption::Comment(c) => def.comment = Some(comment_text(&c.to_string())),
                    _ => {}
                }
            }
        }
        let mut pending = Vec::new();
        for col in &ct.columns {
            let (column_type, data_type) = canonical_type(&col.data_type);
            let mut info = ColumnInfo {
                name: col.name.value.clone(),
                column_type,
                data_type,
                nullable: true,
                default: None,
                auto_increment: is_auto_increment(&col.options),
                on_update: None,
                comment: None,
                collation: None,
                def: col.clone(),
            };
            if col.data_type.to_string().eq_ignore_ascii_case("SERIAL") {
                info.nullable = false;
                info.auto_increment = true;
                pending.push((KeyKind::Unique, None, vec![info.name.clone()]));
            }
            for option in &col.options {
                match &option.option {
                    ColumnOption::NotNull => info.nullable = false,
                    ColumnOption::Null => info.nullable = true,
                    ColumnOption::Default(e) => info.default = Some(default_text(e)),
                    ColumnOption::OnUpdate(e) => info.on_update = Some(default_text(e)),
                    ColumnOption::Comment(c) => info.comment = Some(c.clone()),
                    ColumnOption::Collation(c) => {
                        info.collation = Some(c.to_string().trim_matches('`').to_string())
                    }
                    ColumnOption::PrimaryKey(_) => {
                        pending.push((KeyKind::Primary, None, vec![info.name.clone()]))
                    }
                    ColumnOption::Unique(_) => {
                        pending.push((KeyKind::Unique, None, vec![info.name.clone()]))
                    }
                    ColumnOption::Check(c) => def.checks.push((String::new(), c.expr.to_string())),
                    ColumnOption::ForeignKey(fk) => def.add_foreign_key(
                        fk.name.as_ref().map(|n| n.value.clone()),
                        vec![info.name.clone()],
                        &fk.foreign_table,
                        fk.referred_columns
                            .iter()
                            .map(|c| c.value.clone())
                            .collect(),
                        fk.on_delete.as_ref(),
                        fk.on_update.as_ref(),
                    )?,
                    _ => {}
                }
            }
            def.columns.push(info);
        }
        for constraint in &ct.constraints {
            match constraint {
                TableConstraint::PrimaryKey(pk) => {
                    pending.push((KeyKind::Primary, None, index_column_names(&pk.columns)?))
                }
                TableConstraint::Unique(u) => pending.push((
                    KeyKind::Unique,
                    u.index_name
                        .as_ref()
                        .or(u.name.as_ref())
                        .map(|n| n.value.clone()),
                    index_column_names(&u.columns)?,
                )),
                TableConstraint::Index(ix) => pending.push((
                    KeyKind::Index,
                    ix.name.as_ref().map(|n| n.value.clone()),
                    index_column_names(&ix.columns)?,
                )),
                TableConstraint::Check(c) => def.checks.push((
                    c.name
                        .as_ref()
                        .map_or_else(String::new, |n| n.value.clone()),
                    c.expr.to_string(),
                )),
                TableConstraint::ForeignKey(fk) => def.add_foreign_key(
                    fk.name.as_ref().map(|n| n.value.clone()),
                    fk.columns.iter().map(|c| c.value.clone()).collect(),
                    &fk.foreign_table,
                    fk.referred_columns
                        .iter()
                        .map(|c| c.value.clone())
                        .collect(),
                    fk.on_delete.as_ref(),
                    fk.on_update.as_ref(),
                )?,
                other => {
                    return Err(SqlError::not_supported(format!(
                        "the table constraint {other}"
                    )));
                }
            }
        }
        for (kind, name, columns) in pending {
            def.add_key(kind, name, columns)?;
        }
        def.index_foreign_keys();
        for i in 0..def.checks.len() {
            if def.checks[i].0.is_empty() {
                def.checks[i].0 = format!("{}_chk_{}", def.name, i + 1);
            }
        }
        Ok(def)
    }

    /// Adds a key, named as MySQL names it; the columns must exist.
    pub(crate) fn add_key(
        &mut self,
        kind: KeyKind,
        name: Option<String>,
        columns: Vec<String>,
    ) -> Result<(), SqlError> {
        let mut columns_found = Vec::new();
        for c in &columns {
            let Some(col) = self.column_mut(c) else {
                return Err(SqlError::new(
                    ErrorKind::KeyColumnDoesNotExist,
                    format!("Key column '{c}' doesn't exist in table"),
                ));
            };
            if kind == KeyKind::Primary {
                col.nullable = false;
            }
            columns_found.push(col.name.clone());
        }
        let name = match kind {
            KeyKind::Primary => {
                if self.keys.iter().any(|k| k.kind == KeyKind::Primary) {
                    return Err(SqlError::new(
                        ErrorKind::MultiplePrimaryKey,
                        "Multiple primary key defined",
                    ));
                }
                "PRIMARY".to_string()
            }
            _ => match name {
                Some(n) => {
                    if self.key(&n).is_some() {
                        return Err(SqlError::new(
                            ErrorKind::DuplicateKeyName,
                            format!("Duplicate key name '{n}'"),
                        ));
                    }
                    n
                }
                None => self.free_key_name(&columns_found[0]),
            },
        };
        let key = Key {
            kind,
            name,
            columns: columns_found,
        };
        // Primary first, then unique keys, then the others, as MySQL lists them.
        let rank = |k: KeyKind| match k {
            KeyKind::Primary => 0,
            KeyKind::Unique => 1,
            KeyKind::Index => 2,
        };
        let at = self
            .keys
            .iter()
            .position(|k| rank(k.kind) > rank(kind))
            .unwrap_or(self.keys.len());
        self.keys.insert(at, key);
        Ok(())
    }

    /// `base`, or `base_2`, `base_3`… : the first name no key has.
    fn free_key_name(&self, base: &str) -> String {
        if self.key(base).is_none() && !base.eq_ignore_ascii_case("PRIMARY") {
            return base.to_string();
        }
        (2..)
            .map(|n| format!("{base}_{n}"))
            .find(|n| self.key(n).is_none())
            .unwrap_or_default()
    }

    pub(crate) fn key(&self, name: &str) -> Option<&Key> {
        self.keys.iter().find(|k| k.name.eq_ignore_ascii_case(name))
    }

    pub(crate) fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    fn column_mut(&mut self, name: &str) -> Option<&mut ColumnInfo> {
        self.columns
            .iter_mut()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Adds a foreign key, named `<table>_ibfk_<n>` when the statement gives no name.
    pub(crate) fn add_foreign_key(
        &mut self,
        name: Option<String>,
        columns: Vec<String>,
        table: &sqlparser::ast::ObjectName,
        ref_columns: Vec<String>,
        on_delete: Option<&ReferentialAction>,
        on_update: Option<&ReferentialAction>,
    ) -> Result<(), SqlError> {
        let mut parts = name_parts(table)?;
        let ref_table = parts.pop().unwrap_or_default();
        let ref_db = parts.pop();
        let name = name.unwrap_or_else(|| {
            (1..)
                .map(|n| format!("{}_ibfk_{n}", self.name))
                .find(|n| !self.foreign_keys.iter().any(|f| &f.name == n))
                .unwrap_or_default()
        });
        if self
            .foreign_keys
            .iter()
            .any(|f| f.name.eq_ignore_ascii_case(&name))
        {
            return Err(SqlError::new(
                ErrorKind::DuplicateKeyName,
                format!("Duplicate foreign key constraint name '{name}'"),
            ));
        }
        self.foreign_keys.push(ForeignKey {
            name,
            columns,
            ref_db,
            ref_table,
            ref_columns,
            on_delete: on_delete.map(referential_action),
            on_update: on_update.map(referential_action),
        });
        Ok(())
    }

    /// InnoDB gives each foreign key an index on its columns unless one already starts with
    /// them, named after the constraint.
    pub(crate) fn index_foreign_keys(&mut self) {
        for i in 0..self.foreign_keys.len() {
            let fk = &self.foreign_keys[i];
            let covered = self.keys.iter().any(|k| {
                k.columns.len() >= fk.columns.len()
                    && k.columns
                        .iter()
                        .zip(&fk.columns)
                        .all(|(a, b)| a.eq_ignore_ascii_case(b))
            });
            if !covered && fk.columns.iter().all(|c| self.column(c).is_some()) {
                let name = if self.key(&fk.name).is_none() {
                    fk.name.clone()
                } else {
                    self.free_key_name(&fk.columns[0])
                };
                let columns = fk.columns.clone();
                let _ = self.add_key(KeyKind::Index, Some(name), columns);
            }
        }
    }

    /// `CREATE TABLE` as MySQL 8 prints it in `SHOW CREATE TABLE`, with the table's next
    /// AUTO_INCREMENT value when it is past 1.
    pub(crate) fn show_create(&self, temporary: bool, auto_increment: Option<u64>) -> String {
        let mut lines: Vec<String> = self.columns.iter().map(column_line).collect();
        for key in &self.keys {
            let columns = key
                .columns
                .iter()
                .map(|c| backquote(c))
                .collect::<Vec<_>>()
                .join(",");
            lines.push(match key.kind {
                KeyKind::Primary => format!("  PRIMARY KEY ({columns})"),
                KeyKind::Unique => format!("  UNIQUE KEY {} ({columns})", backquote(&key.name)),
                KeyKind::Index => format!("  KEY {} ({columns})", backquote(&key.name)),
            });
        }
        let mut foreign_keys: Vec<&ForeignKey> = self.foreign_keys.iter().collect();
        foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
        for fk in foreign_keys {
            lines.push(format!("  {}", fk.clause(backquote, true)));
        }
        for (name, expr) in &self.checks {
            lines.push(format!("  CONSTRAINT {} CHECK (({expr}))", backquote(name)));
        }
        let mut options = String::from("ENGINE=InnoDB");
        if let Some(next) = auto_increment.filter(|n| *n > 1) {
            options.push_str(&format!(" AUTO_INCREMENT={next}"));
        }
        options.push_str(&format!(
            " DEFAULT CHARSET=utf8mb4 COLLATE={TABLE_COLLATION}"
        ));
        if let Some(c) = &self.comment {
            options.push_str(&format!(" COMMENT={}", quote_text(c)));
        }
        format!(
            "CREATE {}TABLE {} (\n{}\n) {options}",
            if temporary { "TEMPORARY " } else { "" },
            backquote(&self.name),
            lines.join(",\n")
        )
    }
}

/// A column's line in `SHOW CREATE TABLE`.
fn column_line(c: &ColumnInfo) -> String {
    let mut line = format!("  {} {}", backquote(&c.name), c.column_type);
    if let Some(collation) = &c.collation {
        line.push_str(&format!(" COLLATE {collation}"));
    }
    if !c.nullable {
        line.push_str(" NOT NULL");
    }
    match &c.default {
        Some(d) => line.push_str(&format!(" DEFAULT {d}")),
        // MySQL prints DEFAULT NULL for nullable columns, except those that cannot have a
        // literal default (BLOB, TEXT, JSON, geometry).
        None if c.nullable && !c.auto_increment && !without_default(&c.data_type) => {
            line.push_str(" DEFAULT NULL")
        }
        None => {}
    }
    if let Some(u) = &c.on_update {
        line.push_str(&format!(" ON UPDATE {u}"));
    }
    if c.auto_increment {
        line.push_str(" AUTO_INCREMENT");
    }
    if let Some(comment) = &c.comment {
        line.push_str(&format!(" COMMENT {}", quote_text(comment)));
    }
    line
}

fn without_default(data_type: &str) -> bool {
    data_type.ends_with("blob") || data_type.ends_with("text") || data_type == "json"
}

fn comment_text(rendered: &str) -> String {
    let t = rendered
        .trim()
        .trim_start_matches("COMMENT")
        .trim()
        .trim_start_matches('=')
        .trim();
    t.strip_prefix('\'')
        .and_then(|x| x.strip_suffix('\''))
        .unwrap_or(t)
        .replace("''", "'")
}

/// A default as `SHOW CREATE TABLE` prints it: literals quoted (numbers too), `NULL`,
/// `CURRENT_TIMESTAMP[(n)]`, other expressions in parentheses.
fn default_text(e: &Expr) -> String {
    match e {
        Expr::Value(v) => match &v.value {
            SqlValue::Null => "NULL".to_string(),
            SqlValue::Number(n, _) => quote_text(n),
            SqlValue::SingleQuotedString(s) | SqlValue::DoubleQuotedString(s) => quote_text(s),
            SqlValue::Boolean(b) => quote_text(if *b { "1" } else { "0" }),
            other => other.to_string(),
        },
        Expr::UnaryOp { op, expr } => match expr.as_ref() {
            Expr::Value(v) if matches!(v.value, SqlValue::Number(..)) => {
                quote_text(&format!("{op}{}", v.value))
            }
            _ => format!("({e})"),
        },
        Expr::Function(f) => {
            let name = f.name.to_string().to_ascii_uppercase();
            if matches!(
                name.as_str(),
                "CURRENT_TIMESTAMP" | "NOW" | "LOCALTIME" | "LOCALTIMESTAMP"
            ) {
                let args = f.args.to_string();
                if args.is_empty() || args == "()" {
                    "CURRENT_TIMESTAMP".to_string()
                } else {
                    format!("CURRENT_TIMESTAMP{args}")
                }
            } else {
                format!("({e})")
            }
        }
        Expr::Identifier(i) if i.quote_style.is_none() => {
            let upper = i.value.to_ascii_uppercase();
            if upper == "CURRENT_TIMESTAMP" || upper == "LOCALTIMESTAMP" {
                "CURRENT_TIMESTAMP".to_string()
            } else {
                i.value.clone()
            }
        }
        Expr::Nested(inner) => format!("({inner})"),
        other => format!("({other})"),
    }
}

/// A MySQL type in MySQL 8's canonical spelling, and its name alone.
pub(crate) fn canonical_type(data_type: &DataType) -> (String, String) {
    let values = match data_type {
        DataType::Enum(members, _) => Some((
            "enum",
            members
                .iter()
                .map(|m| match m {
                    EnumMember::Name(n) | EnumMember::NamedValue(n, _) => quote_text(n),
                })
                .collect::<Vec<_>>(),
        )),
        DataType::Set(members) => Some(("set", members.iter().map(|m| quote_text(m)).collect())),
        _ => None,
    };
    if let Some((name, values)) = values {
        return (format!("{name}({})", values.join(",")), name.to_string());
    }
    let text = data_type.to_string().to_ascii_lowercase();
    let (head, args, tail) = match text.split_once('(') {
        Some((head, rest)) => match rest.split_once(')') {
            Some((args, tail)) => (head.trim().to_string(), Some(args.replace(' ', "")), tail),
            None => (text.clone(), None, ""),
        },
        None => {
            let mut words = text.split_whitespace().collect::<Vec<_>>();
            let mut tail = Vec::new();
            while words
                .last()
                .is_some_and(|w| matches!(*w, "unsigned" | "signed" | "zerofill"))
            {
                tail.insert(0, words.pop().unwrap_or_default());
            }
            (words.join(" "), None, "")
        }
    };
    let tail_words: Vec<&str> = tail.split_whitespace().collect();
    let unsigned = tail_words.contains(&"unsigned") || text.ends_with(" unsigned");
    let zerofill = tail_words.contains(&"zerofill") || text.contains(" zerofill");
    let base = match head.as_str() {
        "integer" | "int" | "int4" => "int",
        "middleint" => "mediumint",
        "int8" => "bigint",
        "int1" => "tinyint",
        "int2" => "smallint",
        "int3" => "mediumint",
        "bool" | "boolean" => return ("tinyint(1)".into(), "tinyint".into()),
        "numeric" | "dec" | "fixed" => "decimal",
        "real" | "double precision" | "float8" => "double",
        "float4" => "float",
        "character varying" | "nvarchar" | "national varchar" | "nchar varchar" => "varchar",
        "character" | "nchar" | "national char" => "char",
        "long varchar" | "long" => "mediumtext",
        "long varbinary" => "mediumblob",
        "serial" => return ("bigint unsigned".into(), "bigint".into()),
        other => other,
    }
    .to_string();
    let integer = matches!(
        base.as_str(),
        "tinyint" | "smallint" | "mediumint" | "int" | "bigint"
    );
    let shown_args = match base.as_str() {
        // MySQL 8 drops integer display widths, except tinyint(1) and with ZEROFILL.
        _ if integer => args.filter(|a| zerofill || (base == "tinyint" && a == "1")),
        "decimal" => Some(match args.as_deref() {
            None => "10,0".to_string(),
            Some(a) if !a.contains(',') => format!("{a},0"),
            Some(a) => a.to_string(),
        }),
        "char" | "binary" => Some(args.unwrap_or_else(|| "1".to_string())),
        "bit" => Some(args.unwrap_or_else(|| "1".to_string())),
        "datetime" | "timestamp" | "time" => args.filter(|a| a != "0"),
        "year" => None,
        "float" => match args.as_deref().map(|a| a.parse::<u32>()) {
            Some(Ok(p)) if p > 24 => {
                return (
                    format!("double{}", if unsigned { " unsigned" } else { "" }),
                    "double".into(),
                );
            }
            Some(Ok(_)) => None,
            _ => args,
        },
        _ => args,
    };
    let mut canonical = base.clone();
    if let Some(a) = shown_args {
        canonical.push_str(&format!("({a})"));
    }
    if unsigned || zerofill {
        canonical.push_str(" unsigned");
    }
    if zerofill {
        canonical.push_str(" zerofill");
    }
    (canonical, base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::translate::parse_one;
    use sqlparser::ast::Statement;

    fn def(sql: &str) -> TableDef {
        let Statement::CreateTable(ct) = parse_one(sql).unwrap() else {
            panic!("not CREATE TABLE")
        };
        let name = name_parts(&ct.name).unwrap().pop().unwrap();
        TableDef::from_create(&ct, &name).unwrap()
    }

    #[test]
    fn types_are_spelled_as_mysql_8_spells_them() {
        for (declared, canonical) in [
            ("INTEGER", "int"),
            ("INT(11)", "int"),
            ("INT(10) UNSIGNED", "int unsigned"),
            ("BIGINT(20)", "bigint"),
            ("TINYINT(1)", "tinyint(1)"),
            ("BOOL", "tinyint(1)"),
            ("NUMERIC(10, 2)", "decimal(10,2)"),
            ("DECIMAL", "decimal(10,0)"),
            ("VARCHAR(200)", "varchar(200)"),
            ("CHAR", "char(1)"),
            ("DATETIME(6)", "datetime(6)"),
            ("DOUBLE PRECISION", "double"),
            ("REAL", "double"),
            ("smallint UNSIGNED", "smallint unsigned"),
            ("LONGTEXT", "longtext"),
            ("ENUM('a', 'b')", "enum('a','b')"),
            ("YEAR(4)", "year"),
        ] {
            let d = def(&format!("CREATE TABLE t (c {declared})"));
            assert_eq!(d.columns[0].column_type, canonical, "{declared}");
        }
    }

    #[test]
    fn show_create_table_has_mysqls_form() {
        let d = def(
            "CREATE TABLE child (id INTEGER NOT NULL AUTO_INCREMENT, parent_id INTEGER NOT NULL, \
             code VARCHAR(20) NOT NULL, price NUMERIC(10, 2), n INT DEFAULT 0, data BLOB, \
             PRIMARY KEY (id), CONSTRAINT uq_child UNIQUE (parent_id, code), INDEX (code), \
             FOREIGN KEY(parent_id) REFERENCES parent (id) ON DELETE CASCADE)",
        );
        assert_eq!(
            d.show_create(false, Some(5)),
            "CREATE TABLE `child` (\n  `id` int NOT NULL AUTO_INCREMENT,\n  `parent_id` int NOT NULL,\n  \
             `code` varchar(20) NOT NULL,\n  `price` decimal(10,2) DEFAULT NULL,\n  `n` int DEFAULT '0',\n  \
             `data` blob,\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `uq_child` (`parent_id`,`code`),\n  \
             KEY `code` (`code`),\n  CONSTRAINT `child_ibfk_1` FOREIGN KEY (`parent_id`) REFERENCES `parent` (`id`) \
             ON DELETE CASCADE\n) ENGINE=InnoDB AUTO_INCREMENT=5 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci"
        );
        let again = def(&d.show_create(false, None));
        assert_eq!(again.show_create(false, None), d.show_create(false, None));
    }

    #[test]
    fn unnamed_keys_take_their_first_columns_name() {
        let d = def(
            "CREATE TABLE t (a INT PRIMARY KEY, b INT UNIQUE, c INT, UNIQUE (b, c), KEY (c), \
             FOREIGN KEY (c) REFERENCES u (x))",
        );
        let names: Vec<&str> = d.keys.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["PRIMARY", "b", "b_2", "c"]);
    }
}
