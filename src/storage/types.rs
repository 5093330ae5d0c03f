//! Conversions between SQLite and MySQL: declared column types to MySQL column definitions,
//! SQLite values to protocol values and back, SQLite errors to MySQL errors.

use rusqlite::types::{ToSqlOutput, ValueRef};

use crate::error::{ErrorKind, SqlError};
use crate::protocol::value::{Cell, Column, ColumnType, Value, charset, flags};

/// The MySQL column definition for a column SQLite declared as `decl` (the MySQL type the
/// table was created with), or, for an expression, for the kind of its first value.
pub(crate) fn column_for(name: &str, decl: Option<&str>, first: Option<&Value>) -> Column {
    let mut column = Column::text(name);
    let (column_type, length, binary) = match decl.map(str::to_ascii_uppercase) {
        Some(d) => declared(&d),
        None => match first {
            Some(Value::Int(_) | Value::UInt(_)) => (ColumnType::LongLong, 21, true),
            Some(Value::Double(_)) => (ColumnType::Double, 22, true),
            Some(Value::Bytes(_)) => (ColumnType::Blob, 65_535, true),
            Some(Value::Null) => (ColumnType::Null, 0, true),
            Some(Value::Text(_)) | None => (ColumnType::VarString, 1024, false),
        },
    };
    column.column_type = column_type;
    column.length = length;
    if binary {
        column.charset = charset::BINARY;
        column.flags |= flags::BINARY;
    }
    if is_numeric(column_type) {
        column.flags |= flags::NUM;
    }
    if matches!(column_type, ColumnType::Blob) {
        column.flags |= flags::BLOB;
    }
    if matches!(column_type, ColumnType::Double | ColumnType::Float) {
        column.decimals = 31;
    }
    if let Some(scale) = decl.and_then(decimal_scale) {
        column.decimals = u8::try_from(scale).unwrap_or(30);
    }
    column
}

fn is_numeric(t: ColumnType) -> bool {
    matches!(
        t,
        ColumnType::Tiny
            | ColumnType::Short
            | ColumnType::Int24
            | ColumnType::Long
            | ColumnType::LongLong
            | ColumnType::Float
            | ColumnType::Double
            | ColumnType::NewDecimal
            | ColumnType::Decimal
            | ColumnType::Year
    )
}

/// Type, display length and whether the column is binary, from the declared type.
fn declared(d: &str) -> (ColumnType, u32, bool) {
    let base = d.split(['(', ' ']).next().unwrap_or("");
    match base {
        "TINYINT" | "BOOL" | "BOOLEAN" => (ColumnType::Tiny, 4, true),
        "SMALLINT" => (ColumnType::Short, 6, true),
        "MEDIUMINT" => (ColumnType::Int24, 9, true),
        "INT" => (ColumnType::Long, 11, true),
        // Auto-increment keys are declared INTEGER (SQLite's rowid alias): 64-bit.
        "INTEGER" | "BIGINT" => (ColumnType::LongLong, 20, true),
        "DECIMAL" | "NUMERIC" | "DEC" | "FIXED" => (ColumnType::NewDecimal, 66, true),
        "FLOAT" => (ColumnType::Float, 12, true),
        "DOUBLE" | "REAL" => (ColumnType::Double, 22, true),
        "DATE" => (ColumnType::Date, 10, true),
        "DATETIME" => (ColumnType::DateTime, 19, true),
        "TIMESTAMP" => (ColumnType::Timestamp, 19, true),
        "TIME" => (ColumnType::Time, 10, true),
        "YEAR" => (ColumnType::Year, 4, true),
        "CHAR" | "ENUM" | "SET" => (ColumnType::String, declared_length(d), false),
        "BINARY" => (ColumnType::String, declared_length(d), true),
        "VARBINARY" => (ColumnType::VarString, declared_length(d), true),
        "TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT" => (ColumnType::Blob, 65_535 * 4, false),
        "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" => (ColumnType::Blob, 65_535, true),
        "JSON" => (ColumnType::Json, u32::MAX, false),
        _ => (ColumnType::VarString, declared_length(d), false),
    }
}

/// `VARCHAR(40)` → 40 characters × 4 bytes (utf8mb4), as MySQL reports the length.
fn declared_length(d: &str) -> u32 {
    d.split_once('(')
        .and_then(|(_, rest)| rest.split([')', ',']).next())
        .and_then(|n| n.trim().parse::<u32>().ok())
        .map_or(1024, |n| n.saturating_mul(4))
}

/// The scale `s` of a declared `DECIMAL(p,s)` / `NUMERIC(p,s)` (0 for `DECIMAL(p)`).
pub(crate) fn decimal_scale(decl: &str) -> Option<usize> {
    let upper = decl.to_ascii_uppercase();
    let base = upper.split(['(', ' ']).next().unwrap_or("");
    if !matches!(base, "DECIMAL" | "NUMERIC" | "DEC" | "FIXED") {
        return None;
    }
    let args = upper
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(a, _)| a.to_string());
    match args {
        Some(args) => args
            .split(',')
            .nth(1)
            .map_or(Some(0), |s| s.trim().parse().ok()),
        None => Some(0),
    }
}

/// A number in a `DECIMAL` column as MySQL prints it: fixed-point text with the column's scale.
/// `None` for what is not a number, which is shown as it is.
pub(crate) fn scaled_text(v: ValueRef<'_>, scale: usize) -> Option<String> {
    match v {
        ValueRef::Integer(i) if scale == 0 => Some(i.to_string()),
        ValueRef::Integer(i) => Some(format!("{i}.{}", "0".repeat(scale))),
        ValueRef::Real(d) => Some(format!("{d:.scale$}")),
        _ => None,
    }
}

/// A SQLite value as the row writers take it, borrowed from SQLite's row.
pub(crate) fn cell(v: ValueRef<'_>) -> Cell<'_> {
    match v {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Real(f) => Cell::Double(f),
        ValueRef::Text(t) => Cell::Text(t),
        ValueRef::Blob(b) => Cell::Bytes(b),
    }
}

/// A SQLite value as the protocol carries it.
pub(crate) fn from_sqlite(v: ValueRef<'_>) -> Value {
    cell(v).to_value()
}

/// A protocol value bound as a SQLite parameter.
pub(crate) fn to_sqlite(v: &Value) -> ToSqlOutput<'_> {
    match v {
        Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
        Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
        Value::UInt(u) => match i64::try_from(*u) {
            Ok(i) => ToSqlOutput::Borrowed(ValueRef::Integer(i)),
            Err(_) => ToSqlOutput::Owned(rusqlite::types::Value::Text(u.to_string())),
        },
        Value::Double(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
        Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Value::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
    }
}

/// How the tables of SQLite's `temp` schema that hold a session's temporary tables begin,
/// before `<db>.<table>`.
pub(crate) const TEMPORARY_PREFIX: &str = "_tlsql_temporary.";

/// The MySQL error for a SQLite failure, worded as MySQL words the same condition.
pub(crate) fn sql_error(e: &rusqlite::Error, db: Option<&str>) -> SqlError {
    // The message alone: SQLite's statement is tlsql's rewrite, not what the client sent.
    let message = match e {
        rusqlite::Error::SqliteFailure(_, Some(m)) => m.clone(),
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        other => other.to_string(),
    };
    let code = e.sqlite_error_code();
    if matches!(
        code,
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    ) {
        return SqlError::new(
            ErrorKind::LockWaitTimeout,
            "Lock wait timeout exceeded; try restarting transaction",
        );
    }
    if let Some(table) = message.strip_prefix("no such table: ") {
        // A temporary table dropped since a statement naming it was prepared: its MySQL name.
        let table = table
            .strip_prefix("temp.")
            .and_then(|t| t.strip_prefix(TEMPORARY_PREFIX))
            .unwrap_or(table);
        let qualified = if table.contains('.') {
            table.to_string()
        } else {
            format!("{}.{table}", db.unwrap_or(""))
        };
        return SqlError::new(
            ErrorKind::NoSuchTable,
            format!("Table '{qualified}' doesn't exist"),
        );
    }
    if let Some(column) = message.strip_prefix("no such column: ") {
        return SqlError::new(
            ErrorKind::UnknownColumn,
            format!("Unknown column '{column}' in 'field list'"),
        );
    }
    if let Some(rest) = message.strip_prefix("table ")
        && let Some(table) = rest.strip_suffix(" already exists")
    {
        let table = table.trim_matches(['`', '"']);
        return SqlError::new(
            ErrorKind::TableExists,
            format!("Table '{table}' already exists"),
        );
    }
    if let Some(key) = message.strip_prefix("UNIQUE constraint failed: ") {
        return SqlError::new(
            ErrorKind::DuplicateEntry,
            format!("Duplicate entry for key '{key}'"),
        );
    }
    if let Some(column) = message.strip_prefix("NOT NULL constraint failed: ") {
        let column = column.rsplit('.').next().unwrap_or(column);
        return SqlError::new(
            ErrorKind::BadNull,
            format!("Column '{column}' cannot be null"),
        );
    }
    if let Some(function) = message.strip_prefix("no such function: ") {
        return SqlError::new(
            ErrorKind::NoSuchFunction,
            format!("FUNCTION {}.{function} does not exist", db.unwrap_or("")),
        );
    }
    if message == "FOREIGN KEY constraint failed" {
        return SqlError::new(
            ErrorKind::NoReferencedRow,
            "Cannot add or update a child row: a foreign key constraint fails",
        );
    }
    if let Some(rest) = message.strip_prefix("foreign key mismatch - ") {
        let parent = rest
            .rsplit(" referencing ")
            .next()
            .unwrap_or(rest)
            .trim_matches('"');
        return SqlError::new(
            ErrorKind::ForeignKeyNoIndex,
            format!(
                "Failed to add the foreign key constraint. Missing index for constraint in the referenced table '{parent}'"
            ),
        );
    }
    if message.contains("syntax error") {
        return SqlError::syntax(message);
    }
    SqlError::unknown(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_map_to_mysql_types() {
        assert_eq!(
            column_for("a", Some("int unsigned"), None).column_type,
            ColumnType::Long
        );
        assert_eq!(
            column_for("a", Some("INTEGER"), None).column_type,
            ColumnType::LongLong
        );
        let c = column_for("a", Some("VARCHAR(40)"), None);
        assert_eq!(
            (c.column_type, c.length, c.charset),
            (ColumnType::VarString, 160, charset::UTF8MB4_GENERAL_CI)
        );
        assert_eq!(
            column_for("a", Some("DECIMAL(10,2)"), None).column_type,
            ColumnType::NewDecimal
        );
        assert_eq!(
            column_for("a", Some("datetime"), None).column_type,
            ColumnType::DateTime
        );
        assert_eq!(
            column_for("a", Some("TEXT"), None).flags & flags::BLOB,
            flags::BLOB
        );
    }

    #[test]
    fn decimals_keep_their_scale() {
        assert_eq!(decimal_scale("DECIMAL(10,2)"), Some(2));
        assert_eq!(decimal_scale("decimal(5)"), Some(0));
        assert_eq!(decimal_scale("NUMERIC"), Some(0));
        assert_eq!(decimal_scale("DOUBLE"), None);
        assert_eq!(
            scaled_text(ValueRef::Real(10.5), 2).as_deref(),
            Some("10.50")
        );
        assert_eq!(
            scaled_text(ValueRef::Integer(3), 2).as_deref(),
            Some("3.00")
        );
        assert_eq!(scaled_text(ValueRef::Integer(3), 0).as_deref(), Some("3"));
        assert_eq!(scaled_text(ValueRef::Null, 2), None);
        assert_eq!(column_for("p", Some("DECIMAL(8,3)"), None).decimals, 3);
    }

    #[test]
    fn expressions_take_the_type_of_their_first_value() {
        assert_eq!(
            column_for("1", None, Some(&Value::Int(1))).column_type,
            ColumnType::LongLong
        );
        assert_eq!(
            column_for("x", None, Some(&Value::Text("x".into()))).column_type,
            ColumnType::VarString
        );
        assert_eq!(
            column_for("x", None, None).column_type,
            ColumnType::VarString
        );
    }

    #[test]
    fn sqlite_errors_read_like_mysql_errors() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let e = conn.execute("SELECT * FROM nope", []).unwrap_err();
        let mapped = sql_error(&e, Some("shop"));
        assert_eq!(
            (mapped.code(), mapped.message.as_str()),
            (1146, "Table 'shop.nope' doesn't exist")
        );
        conn.execute_batch("CREATE TABLE t (a INT PRIMARY KEY, b INT NOT NULL)")
            .unwrap();
        conn.execute("INSERT INTO t VALUES (1, 1)", []).unwrap();
        let dup = sql_error(
            &conn.execute("INSERT INTO t VALUES (1, 2)", []).unwrap_err(),
            None,
        );
        assert_eq!(dup.code(), 1062);
        let null = sql_error(
            &conn
                .execute("INSERT INTO t VALUES (2, NULL)", [])
                .unwrap_err(),
            None,
        );
        assert_eq!(
            (null.code(), null.message.as_str()),
            (1048, "Column 'b' cannot be null")
        );
    }
}
