//! MySQL functions and casts in SQLite: the calls SQLite names differently or lacks, rewritten
//! on the AST into SQLite's own (`IF` → `iif`, `CONVERT(x, UNSIGNED)` → `CAST(x AS INTEGER)`,
//! `GROUP_CONCAT(… SEPARATOR s)` → `group_concat(…, s)`), and the ones SQLite cannot express,
//! registered on each session's connection as functions of their own (`SLEEP`, `UUID`,
//! `CONVERT_TZ`, `NOW(fsp)`).
//!
//! Replacements are built as AST nodes around the already-rewritten arguments, never as text
//! parsed again: an argument's literal keeps exactly the value the client sent.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use rusqlite::Connection;
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::ValueRef;
use sqlparser::ast::{
    BinaryOperator, CastKind, DataType, Expr, Function, FunctionArg, FunctionArgExpr,
    FunctionArgumentClause, FunctionArgumentList, FunctionArguments, Ident, ObjectName,
    Value as SqlValue,
};

use super::SessionContext;
use super::translate::literal;
use crate::error::SqlError;
use crate::protocol::value::Value;

/// How often a `SLEEP` looks whether its statement was killed.
const SLEEP_SLICE: Duration = Duration::from_millis(20);

/// The name of the function an `INSERT … ON DUPLICATE KEY UPDATE`'s rewrite calls for each row
/// that met an existing key (see [`UpsertTally`]).
pub(super) const UPSERT_ROW: &str = "tlsql_upsert_row";

/// What the rows of one `INSERT … ON DUPLICATE KEY UPDATE` did that SQLite's change count does
/// not tell: SQLite counts an inserted and an updated row alike, and MySQL counts them 1 and 2.
/// The statement's rewrite filters its `DO UPDATE` through [`UPSERT_ROW`], which SQLite calls
/// once for each row that met an existing key, with whether its assignments change that row and
/// the row's rowid. SQLite calls it on the thread that runs the statement, which then reads
/// the counts; they are atomics only because a registered function must be `Send`.
#[derive(Debug, Default)]
pub(super) struct UpsertTally {
    met: AtomicU64,
    changed: AtomicU64,
    last_met_rowid: AtomicI64,
}

/// One statement's [`UpsertTally`], read after it ran.
#[derive(Debug, Clone, Copy)]
pub(super) struct UpsertCounts {
    /// Rows that met an existing key.
    pub(super) met: u64,
    /// Those of them that the assignments changed (and SQLite wrote).
    pub(super) changed: u64,
    /// The rowid of the last row that met an existing key.
    pub(super) last_met_rowid: i64,
}

impl UpsertTally {
    /// Starts counting a statement.
    pub(super) fn reset(&self) {
        self.met.store(0, Ordering::Relaxed);
        self.changed.store(0, Ordering::Relaxed);
        self.last_met_rowid.store(0, Ordering::Relaxed);
    }

    /// What the statement since [`UpsertTally::reset`] counted.
    pub(super) fn counts(&self) -> UpsertCounts {
        UpsertCounts {
            met: self.met.load(Ordering::Relaxed),
            changed: self.changed.load(Ordering::Relaxed),
            last_met_rowid: self.last_met_rowid.load(Ordering::Relaxed),
        }
    }
}

/// Registers the functions SQLite lacks on a session's connection; `SLEEP` ends early, returning
/// 1 as MySQL's does, once `interrupted` is set (`KILL`). [`UPSERT_ROW`] counts into `upserts`.
pub(super) fn register(
    conn: &Connection,
    interrupted: Arc<AtomicBool>,
    upserts: Arc<UpsertTally>,
) -> rusqlite::Result<()> {
    let volatile = FunctionFlags::SQLITE_UTF8;
    let pure = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    // Volatile, so that SQLite calls it for every row rather than once.
    conn.create_scalar_function(UPSERT_ROW, 2, volatile, move |ctx| {
        let changes = ctx.get::<bool>(0)?;
        upserts.met.fetch_add(1, Ordering::Relaxed);
        if changes {
            upserts.changed.fetch_add(1, Ordering::Relaxed);
        }
        upserts
            .last_met_rowid
            .store(ctx.get::<i64>(1)?, Ordering::Relaxed);
        Ok(changes)
    })?;
    conn.create_scalar_function("sleep", 1, volatile, move |ctx| {
        if let Some(wait) = number(ctx, 0).and_then(|s| Duration::try_from_secs_f64(s).ok()) {
            let until = Instant::now() + wait;
            loop {
                if interrupted.load(Ordering::Acquire) {
                    return Ok(1i64);
                }
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                std::thread::sleep(left.min(SLEEP_SLICE));
            }
        }
        Ok(0i64)
    })?;
    conn.create_scalar_function("uuid", 0, volatile, |_| Ok(uuid()))?;
    // The current time in the session's `time_zone` (the second argument), with `fsp` digits.
    conn.create_scalar_function("tlsql_now", 2, volatile, |ctx| {
        let fsp = number(ctx, 0).unwrap_or(0.0).clamp(0.0, 6.0) as usize;
        let zone = match ctx.get_raw(1) {
            ValueRef::Text(t) => std::str::from_utf8(t).ok().and_then(time_zone),
            _ => None,
        };
        let now = jiff::Timestamp::now().to_zoned_datetime(zone.unwrap_or_else(TimeZone::system));
        Ok(format_datetime(&now.datetime(), fsp))
    })?;
    conn.create_scalar_function("convert_tz", 3, pure, |ctx| {
        let text = |i: usize| match ctx.get_raw(i) {
            ValueRef::Text(t) => std::str::from_utf8(t).ok().map(str::to_string),
            _ => None,
        };
        Ok(match (text(0), text(1), text(2)) {
            (Some(at), Some(from), Some(to)) => convert_tz(&at, &from, &to),
            _ => None,
        })
    })?;
    Ok(())
}

/// A numeric argument as MySQL reads one: a number, or a string that starts with one.
fn number(ctx: &Context<'_>, i: usize) -> Option<f64> {
    match ctx.get_raw(i) {
        ValueRef::Integer(n) => Some(n as f64),
        ValueRef::Real(r) => Some(r),
        ValueRef::Text(t) => {
            let t = std::str::from_utf8(t).ok()?.trim();
            let end = t
                .char_indices()
                .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (i == 0 && c == '-')))
                .map_or(t.len(), |(i, _)| i);
            t[..end].parse().ok()
        }
        _ => None,
    }
}

/// A random (version 4) UUID in MySQL's text form.
fn uuid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// `YYYY-MM-DD hh:mm:ss` with `fsp` digits of fraction.
fn format_datetime(dt: &DateTime, fsp: usize) -> String {
    let base = dt.strftime("%Y-%m-%d %H:%M:%S").to_string();
    if fsp == 0 {
        return base;
    }
    let micros = format!("{:09}", dt.subsec_nanosecond());
    format!("{base}.{}", &micros[..fsp])
}

/// A time zone as MySQL names one: `SYSTEM`, an offset `+hh:mm`, or a zone of the system's
/// time zone database.
fn time_zone(name: &str) -> Option<TimeZone> {
    if name.eq_ignore_ascii_case("SYSTEM") {
        return Some(TimeZone::system());
    }
    if let Some(sign) = name.chars().next().filter(|c| *c == '+' || *c == '-') {
        let (h, m) = name[1..].split_once(':')?;
        let seconds = h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60;
        let seconds = if sign == '-' { -seconds } else { seconds };
        return Offset::from_seconds(seconds).ok().map(TimeZone::fixed);
    }
    TimeZone::get(name).ok()
}

/// `CONVERT_TZ(dt, from, to)`; NULL (None) for a value or zone MySQL would not read.
fn convert_tz(at: &str, from: &str, to: &str) -> Option<String> {
    let fsp = at.split_once('.').map_or(0, |(_, frac)| frac.len().min(6));
    let civil: DateTime = at.trim().parse().ok()?;
    let zoned = civil.to_zoned_datetime(time_zone(from)?).ok()?;
    Some(format_datetime(
        &zoned.with_time_zone(time_zone(to)?).datetime(),
        fsp,
    ))
}

/// A call of the SQLite function `name`.
pub(super) fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e)))
                .collect(),
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    })
}

fn number_literal(n: i64) -> Expr {
    Expr::value(SqlValue::Number(n.to_string(), false))
}

fn text_literal(s: &str) -> Expr {
    Expr::value(SqlValue::SingleQuotedString(s.to_string()))
}

/// `(left) op (right)`: the AST prints without parentheses, so an operand that is itself an
/// operation (`CONCAT('a', 40 + 2)`) would otherwise regroup under SQLite's precedence.
fn binary(left: Expr, op: BinaryOperator, right: Expr) -> Expr {
    Expr::BinaryOp {
        left: Box::new(parenthesized(left)),
        op,
        right: Box::new(parenthesized(right)),
    }
}

fn parenthesized(e: Expr) -> Expr {
    match e {
        Expr::Value(_) | Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::Nested(_) => e,
        Expr::Function(_) => e,
        other => Expr::Nested(Box::new(other)),
    }
}

/// The plain expression arguments of a call (`None` if any is a wildcard or named).
fn plain_args(f: &Function) -> Option<Vec<Expr>> {
    match &f.args {
        FunctionArguments::None => Some(Vec::new()),
        FunctionArguments::List(list) => list
            .args
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
                _ => None,
            })
            .collect(),
        FunctionArguments::Subquery(_) => None,
    }
}

/// `NOW(fsp)` in the session's `time_zone`, as MySQL gives it.
fn now(fsp: Expr, ctx: &dyn SessionContext) -> Result<Expr, SqlError> {
    let zone = ctx.system_variable(super::VarScope::Default, "time_zone")?;
    Ok(call("tlsql_now", vec![fsp, literal(&zone)]))
}

/// The replacement for a call of a MySQL function SQLite lacks or names differently.
pub(super) fn function(
    f: &Function,
    current: Option<&str>,
    ctx: &dyn SessionContext,
) -> Result<Option<Expr>, SqlError> {
    let name = f.name.to_string().to_ascii_uppercase();
    if name == "GROUP_CONCAT" {
        return Ok(group_concat(f));
    }
    let Some(args) = plain_args(f) else {
        return Ok(None);
    };
    let nested = |e: Expr| Ok(Some(Expr::Nested(Box::new(e))));
    let replacement = match (name.as_str(), args.as_slice()) {
        ("DATABASE" | "SCHEMA", []) => {
            return Ok(Some(literal(&current.map_or(Value::Null, Value::from))));
        }
        (
            "CURRENT_USER" | "USER" | "SESSION_USER" | "SYSTEM_USER" | "VERSION" | "CONNECTION_ID"
            | "FOUND_ROWS",
            [],
        ) => return Ok(ctx.function(&name).map(|v| literal(&v))),
        ("NOW" | "LOCALTIME" | "LOCALTIMESTAMP" | "SYSDATE" | "CURRENT_TIMESTAMP", []) => {
            now(number_literal(0), ctx)?
        }
        ("NOW" | "LOCALTIME" | "LOCALTIMESTAMP" | "SYSDATE" | "CURRENT_TIMESTAMP", [fsp]) => {
            now(fsp.clone(), ctx)?
        }
        ("CURDATE" | "CURRENT_DATE", []) => call("date", vec![now(number_literal(0), ctx)?]),
        ("CURTIME" | "CURRENT_TIME", []) => call("time", vec![now(number_literal(0), ctx)?]),
        ("UTC_TIMESTAMP", []) => call("datetime", vec![text_literal("now")]),
        ("UTC_DATE", []) => call("date", vec![text_literal("now")]),
        ("UNIX_TIMESTAMP", []) => call("unixepoch", vec![]),
        ("LAST_INSERT_ID", []) => call("last_insert_rowid", vec![]),
        ("ROW_COUNT", []) => call("changes", vec![]),
        ("RAND", []) => {
            // A uniform double in [0, 1) from SQLite's 64-bit random integers.
            let bits = binary(
                call("random", vec![]),
                BinaryOperator::BitwiseAnd,
                number_literal(9_007_199_254_740_991),
            );
            binary(
                bits,
                BinaryOperator::Divide,
                Expr::value(SqlValue::Number("9007199254740992.0".into(), false)),
            )
        }
        ("REPEAT", [text, count]) => {
            // SQLite has no REPEAT: n zero bytes in hex are n copies of "00", each replaced
            // by the text.
            let zeros = call(
                "zeroblob",
                vec![call("max", vec![count.clone(), number_literal(0)])],
            );
            call(
                "replace",
                vec![call("hex", vec![zeros]), text_literal("00"), text.clone()],
            )
        }
        ("CONCAT", [_, ..]) => {
            // MySQL's CONCAT is NULL when an argument is; SQLite's concat() skips NULLs, `||`
            // does not.
            let mut parts = args.iter().cloned();
            let first = parts.next().unwrap_or_else(|| text_literal(""));
            parts.fold(first, |acc, e| binary(acc, BinaryOperator::StringConcat, e))
        }
        ("LOCATE", [needle, haystack]) | ("POSITION", [needle, haystack]) => {
            call("instr", vec![haystack.clone(), needle.clone()])
        }
        ("INSTR", [haystack, needle]) => call("instr", vec![haystack.clone(), needle.clone()]),
        ("LEFT", [text, n]) => call(
            "substr",
            vec![
                text.clone(),
                number_literal(1),
                call("max", vec![n.clone(), number_literal(0)]),
            ],
        ),
        ("RIGHT", [text, n]) => {
            // The last n characters: from max(length - n + 1, 1), or nothing for n <= 0.
            let start = binary(
                binary(
                    call("length", vec![text.clone()]),
                    BinaryOperator::Minus,
                    n.clone(),
                ),
                BinaryOperator::Plus,
                number_literal(1),
            );
            Expr::Case {
                case_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
                end_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
                operand: None,
                conditions: vec![sqlparser::ast::CaseWhen {
                    condition: binary(n.clone(), BinaryOperator::LtEq, number_literal(0)),
                    result: text_literal(""),
                }],
                else_result: Some(Box::new(call(
                    "substr",
                    vec![text.clone(), call("max", vec![start, number_literal(1)])],
                ))),
            }
        }
        ("LENGTH" | "OCTET_LENGTH", [text]) => call("octet_length", vec![text.clone()]),
        ("LEAST", [_, _, ..]) => call("min", args.clone()),
        ("GREATEST", [_, _, ..]) => call("max", args.clone()),
        ("UCASE", [text]) => call("upper", vec![text.clone()]),
        ("LCASE", [text]) => call("lower", vec![text.clone()]),
        ("IF", [_, _, _]) => call("iif", args.clone()),
        ("CHAR_LENGTH" | "CHARACTER_LENGTH", [text]) => call("length", vec![text.clone()]),
        ("SUBSTRING" | "MID", [_, _, ..]) => call("substr", args.clone()),
        _ => return Ok(None),
    };
    nested(replacement)
}

/// `GROUP_CONCAT([DISTINCT] a [, b…] [ORDER BY …] [SEPARATOR s])` → SQLite's
/// `group_concat(a || b…, s [ORDER BY …])`; MySQL's default separator is `,`.
fn group_concat(f: &Function) -> Option<Expr> {
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    let mut parts = Vec::new();
    for arg in &list.args {
        match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => parts.push(e.clone()),
            _ => return None,
        }
    }
    let mut parts = parts.into_iter();
    let first = parts.next()?;
    let value = parts.fold(first, |acc, e| binary(acc, BinaryOperator::StringConcat, e));
    let mut separator = text_literal(",");
    let mut clauses = Vec::new();
    for clause in &list.clauses {
        match clause {
            FunctionArgumentClause::Separator(s) => separator = Expr::Value(s.clone()),
            FunctionArgumentClause::OrderBy(_) => clauses.push(clause.clone()),
            _ => return None,
        }
    }
    let mut replacement = f.clone();
    replacement.name = ObjectName::from(vec![Ident::new("group_concat")]);
    replacement.args = FunctionArguments::List(FunctionArgumentList {
        duplicate_treatment: list.duplicate_treatment,
        args: vec![
            FunctionArg::Unnamed(FunctionArgExpr::Expr(value)),
            FunctionArg::Unnamed(FunctionArgExpr::Expr(separator)),
        ],
        clauses,
    });
    Some(Expr::Function(replacement))
}

/// What SQLite does for `CAST(x AS type)` / `CONVERT(x, type)` with a MySQL type: the
/// storage class SQLite casts to, or a date function for temporal types.
pub(super) fn cast(expr: &Expr, data_type: &DataType) -> Expr {
    let text = data_type.to_string().to_ascii_uppercase();
    let base = text
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .next()
        .unwrap_or_default();
    let sqlite_type = match base {
        "SIGNED" | "UNSIGNED" | "INT" | "INTEGER" | "BIGINT" | "TINYINT" | "SMALLINT"
        | "MEDIUMINT" | "YEAR" => "INTEGER",
        "DECIMAL" | "DEC" | "NUMERIC" | "FIXED" => "NUMERIC",
        "DOUBLE" | "FLOAT" | "REAL" => "REAL",
        "BINARY" | "VARBINARY" | "BLOB" => "BLOB",
        "DATE" => return call("date", vec![expr.clone()]),
        "DATETIME" | "TIMESTAMP" => return call("datetime", vec![expr.clone()]),
        "TIME" => return call("time", vec![expr.clone()]),
        "JSON" => return expr.clone(),
        _ => "TEXT",
    };
    Expr::Cast {
        kind: CastKind::Cast,
        expr: Box::new(expr.clone()),
        data_type: DataType::Custom(ObjectName::from(vec![Ident::new(sqlite_type)]), vec![]),
        format: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zones_convert_by_name_and_offset() {
        assert_eq!(
            convert_tz("2001-01-01 01:00:00", "UTC", "UTC").as_deref(),
            Some("2001-01-01 01:00:00")
        );
        assert_eq!(
            convert_tz("2021-07-01 12:00:00.25", "+00:00", "Europe/Paris").as_deref(),
            Some("2021-07-01 14:00:00.25")
        );
        assert_eq!(
            convert_tz("2021-01-01 12:00:00", "Europe/Paris", "-05:30").as_deref(),
            Some("2021-01-01 05:30:00")
        );
        assert_eq!(
            convert_tz("2021-01-01 12:00:00", "Nowhere/City", "UTC"),
            None
        );
        assert_eq!(convert_tz("not a date", "UTC", "UTC"), None);
    }

    #[test]
    fn uuids_have_mysqls_form() {
        let u = uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(u.matches('-').count(), 4);
        assert_ne!(u, uuid());
    }
}
