//! Values and column descriptions as the MySQL wire protocol carries them.
//!
//! Storage produces [`Value`]s and [`Column`]s; the result-set writers encode them in the text
//! protocol (COM_QUERY) or the binary protocol (COM_STMT_EXECUTE).
//!
//! <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_query_response_text_resultset_column_definition.html>

use std::borrow::Cow;

/// One cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A signed integer.
    Int(i64),
    /// An unsigned integer (BIGINT UNSIGNED above `i64::MAX`).
    UInt(u64),
    /// A floating-point number.
    Double(f64),
    /// Text (also dates, times and decimals, which travel as text in the text protocol).
    Text(String),
    /// Binary data.
    Bytes(Vec<u8>),
}

impl Value {
    /// The text-protocol form of the value (`None` for NULL).
    pub fn to_text(&self) -> Option<Cow<'_, [u8]>> {
        self.cell().to_text()
    }

    /// Whether the value is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// A row of values as the row writers take it.
    pub fn cells(row: &[Value]) -> Vec<Cell<'_>> {
        row.iter().map(Value::cell).collect()
    }

    /// The value as the row writers take it.
    pub fn cell(&self) -> Cell<'_> {
        match self {
            Value::Null => Cell::Null,
            Value::Int(v) => Cell::Int(*v),
            Value::UInt(v) => Cell::UInt(*v),
            Value::Double(v) => Cell::Double(*v),
            Value::Text(s) => Cell::Text(s.as_bytes()),
            Value::Bytes(b) => Cell::Bytes(b),
        }
    }
}

/// One value of a result row as the row writers take it: borrowed from where it lies (SQLite's
/// row, a [`Value`]), so a large value is not copied into an owned one on its way out.
///
/// Text is not checked for UTF-8 here. Text and binary data travel alike, as length-prefixed
/// bytes, and only [`Cell::to_value`] (a row the server keeps) needs to tell them apart.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'a> {
    /// SQL NULL.
    Null,
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A floating-point number.
    Double(f64),
    /// Text as storage holds it: UTF-8, unless a literal of other bytes put it there.
    Text(&'a [u8]),
    /// Binary data.
    Bytes(&'a [u8]),
}

impl<'a> Cell<'a> {
    /// The text-protocol form of the value (`None` for NULL).
    pub fn to_text(self) -> Option<Cow<'a, [u8]>> {
        match self {
            Cell::Null => None,
            Cell::Int(v) => Some(Cow::Owned(v.to_string().into_bytes())),
            Cell::UInt(v) => Some(Cow::Owned(v.to_string().into_bytes())),
            Cell::Double(v) => Some(Cow::Owned(format_double(v).into_bytes())),
            Cell::Text(b) | Cell::Bytes(b) => Some(Cow::Borrowed(b)),
        }
    }

    /// Whether the value is NULL.
    pub fn is_null(self) -> bool {
        matches!(self, Cell::Null)
    }

    /// An owned copy. Text that is not UTF-8 came from a literal of other bytes and is kept as
    /// those bytes.
    pub fn to_value(self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Int(v) => Value::Int(v),
            Cell::UInt(v) => Value::UInt(v),
            Cell::Double(v) => Value::Double(v),
            // `from_utf8`'s ASCII path is the fast one for the valid text of a large result.
            Cell::Text(t) => match std::str::from_utf8(t) {
                Ok(text) => Value::Text(text.to_owned()),
                Err(_) => Value::Bytes(t.to_vec()),
            },
            Cell::Bytes(b) => Value::Bytes(b.to_vec()),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::UInt(v)
    }
}

/// MySQL prints doubles in the shortest form that round-trips, without a trailing `.0`.
fn format_double(v: f64) -> String {
    if v.is_finite() && v == v.trunc() && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// Column types (`enum_field_types` in MySQL's `field_types.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum ColumnType {
    Decimal = 0x00,
    Tiny = 0x01,
    Short = 0x02,
    Long = 0x03,
    Float = 0x04,
    Double = 0x05,
    Null = 0x06,
    Timestamp = 0x07,
    LongLong = 0x08,
    Int24 = 0x09,
    Date = 0x0a,
    Time = 0x0b,
    DateTime = 0x0c,
    Year = 0x0d,
    VarChar = 0x0f,
    Bit = 0x10,
    Json = 0xf5,
    NewDecimal = 0xf6,
    Enum = 0xf7,
    Set = 0xf8,
    TinyBlob = 0xf9,
    MediumBlob = 0xfa,
    LongBlob = 0xfb,
    Blob = 0xfc,
    VarString = 0xfd,
    String = 0xfe,
    Geometry = 0xff,
}

/// Column definition flags (`*_FLAG` in MySQL's `mysql_com.h`).
pub mod flags {
    #![allow(missing_docs)]
    pub const NOT_NULL: u16 = 1;
    pub const PRI_KEY: u16 = 2;
    pub const UNIQUE_KEY: u16 = 4;
    pub const MULTIPLE_KEY: u16 = 8;
    pub const BLOB: u16 = 16;
    pub const UNSIGNED: u16 = 32;
    pub const ZEROFILL: u16 = 64;
    pub const BINARY: u16 = 128;
    pub const ENUM: u16 = 256;
    pub const AUTO_INCREMENT: u16 = 512;
    pub const TIMESTAMP: u16 = 1024;
    pub const SET: u16 = 2048;
    pub const NUM: u16 = 32768;
}

/// Character set numbers used in column definitions.
pub mod charset {
    /// `utf8mb4_general_ci`: known to every client tlsql is tested with (MariaDB Connector/C
    /// 3.3 and older drivers do not all know MySQL 8's 255).
    pub const UTF8MB4_GENERAL_CI: u16 = 45;
    /// `binary`: numbers and blobs.
    pub const BINARY: u16 = 63;
}

/// One column of a result set.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// Database (`schema`), empty for expressions.
    pub schema: String,
    /// Table alias, empty for expressions.
    pub table: String,
    /// Table name, empty for expressions.
    pub org_table: String,
    /// Column label as the client sees it (alias or expression text).
    pub name: String,
    /// Underlying column name, empty for expressions.
    pub org_name: String,
    /// Wire type.
    pub column_type: ColumnType,
    /// `flags::*` bits.
    pub flags: u16,
    /// Character set number (`charset::*`).
    pub charset: u16,
    /// Maximum display length.
    pub length: u32,
    /// Digits after the decimal point (0x1f for "not fixed").
    pub decimals: u8,
}

impl Column {
    /// A text column computed by the server (no table), e.g. `Variable_name`.
    pub fn text(name: &str) -> Self {
        Self {
            schema: String::new(),
            table: String::new(),
            org_table: String::new(),
            name: name.to_string(),
            org_name: String::new(),
            column_type: ColumnType::VarString,
            flags: 0,
            charset: charset::UTF8MB4_GENERAL_CI,
            length: 1024,
            decimals: 0,
        }
    }

    /// A signed 64-bit integer column computed by the server.
    pub fn int(name: &str) -> Self {
        Self {
            column_type: ColumnType::LongLong,
            flags: flags::NUM | flags::BINARY,
            charset: charset::BINARY,
            length: 21,
            ..Self::text(name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_like_mysql() {
        assert_eq!(Value::Double(3.0).to_text().unwrap().as_ref(), b"3");
        assert_eq!(Value::Double(0.5).to_text().unwrap().as_ref(), b"0.5");
        assert_eq!(Value::Null.to_text(), None);
    }
}
