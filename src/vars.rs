//! System variables: the table of names tlsql knows, their scope and type, and the global
//! values that can change at runtime. The values computed from live server state are
//! `sql::variables`'.
//!
//! MySQL's rules apply: a GLOBAL-only variable cannot be set with SET SESSION (1229), a
//! SESSION-only one cannot be set with SET GLOBAL (1228), read-only ones not at all (1238),
//! unknown names are 1193, bad values 1231/1232.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::auth::accounts::{AccountStore, AccountStoreError};
use crate::charset;
use crate::config::Config;
use crate::error::{ErrorKind, SqlError};
use crate::protocol::value::Value;

/// Where a variable exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// One server-wide value.
    Global,
    /// Per session only.
    Session,
    /// A global default that each session may override.
    Both,
}

/// How values are checked and shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// ON/OFF: `SELECT @@x` shows 1/0, `SHOW VARIABLES` shows ON/OFF.
    Bool,
    /// An integer within bounds.
    Int(i64, i64),
    /// Seconds with a fraction, at most the bound (MariaDB's `max_statement_time`).
    Seconds(u32),
    /// Free text.
    Text,
    /// One of a fixed set of words (case-insensitive input, stored upper-case).
    Enum(&'static [&'static str]),
    /// A character set name ([`crate::charset`]); `NULL` too when `nullable`
    /// (`character_set_results = NULL`: results are sent as stored).
    Charset {
        /// Whether NULL is a value.
        nullable: bool,
    },
    /// A collation name ([`crate::charset`]).
    Collation,
    /// `sql_mode`: a comma-separated list of MySQL 8's modes.
    SqlMode,
    /// `time_zone`: `SYSTEM`, an offset `[+-]HH:MM`, or a named zone.
    TimeZone,
    /// `optimizer_switch`: `flag=on|off|default` pairs merged into the current value.
    OptimizerSwitch,
    /// A storage engine of [`ENGINES`].
    Engine,
}

/// One known variable.
#[derive(Debug)]
pub struct VarDef {
    /// Lower-case name.
    pub name: &'static str,
    /// Scope.
    pub scope: Scope,
    /// Value type.
    pub kind: Kind,
    /// Settable with SET?
    pub settable: bool,
}

const fn var(name: &'static str, scope: Scope, kind: Kind, settable: bool) -> VarDef {
    VarDef {
        name,
        scope,
        kind,
        settable,
    }
}

use Kind::{Bool, Collation, Engine, Enum, Int, Seconds, SqlMode, Text, TimeZone};
use Scope::{Both, Global};

const ISOLATION: &[&str] = &[
    "READ-UNCOMMITTED",
    "READ-COMMITTED",
    "REPEATABLE-READ",
    "SERIALIZABLE",
];
const SECONDS: Kind = Int(1, 31_536_000);
const CHARSET: Kind = Kind::Charset { nullable: false };

/// Every variable tlsql knows, sorted by name.
///
/// Many exist so that the statements tools send at connect and in dump files
/// (`SET unique_checks = 0`, `SET sql_quote_show_create = 1`, `SET lock_wait_timeout = 2`, …)
/// are checked and read back as MySQL does; what each one changes in tlsql, if anything, the
/// README's "System variables" section says.
pub static VARIABLES: &[VarDef] = &[
    var("auto_increment_increment", Both, Int(1, 1), false),
    var("auto_increment_offset", Both, Int(1, 1), false),
    var("autocommit", Both, Bool, true),
    var("big_tables", Both, Bool, true),
    var("character_set_client", Both, CHARSET, true),
    var("character_set_connection", Both, CHARSET, true),
    var("character_set_database", Both, CHARSET, true),
    var("character_set_filesystem", Both, CHARSET, true),
    var(
        "character_set_results",
        Both,
        Kind::Charset { nullable: true },
        true,
    ),
    var("character_set_server", Both, CHARSET, true),
    var("character_set_system", Global, Text, false),
    var("collation_connection", Both, Collation, true),
    var("collation_database", Both, Collation, true),
    var("collation_server", Both, Collation, true),
    var("datadir", Global, Text, false),
    var("default_authentication_plugin", Global, Text, false),
    var("default_storage_engine", Both, Engine, true),
    var("default_tmp_storage_engine", Both, Engine, true),
    var("div_precision_increment", Both, Int(0, 30), true),
    var("explicit_defaults_for_timestamp", Both, Bool, true),
    var("foreign_key_checks", Both, Bool, true),
    var("group_concat_max_len", Both, Int(4, i64::MAX), true),
    var("gtid_mode", Global, Text, false),
    var("have_openssl", Global, Text, false),
    var("have_ssl", Global, Text, false),
    var("hostname", Global, Text, false),
    var(
        "information_schema_stats_expiry",
        Both,
        Int(0, 31_536_000),
        true,
    ),
    var("init_connect", Global, Text, false),
    var(
        "innodb_lock_wait_timeout",
        Both,
        Int(1, 1_073_741_824),
        true,
    ),
    var("innodb_strict_mode", Both, Bool, true),
    var("interactive_timeout", Both, SECONDS, true),
    var("license", Global, Text, false),
    var("lock_wait_timeout", Both, SECONDS, true),
    var("log_bin", Global, Bool, false),
    var("lower_case_table_names", Global, Int(0, 2), false),
    var("max_allowed_packet", Both, Int(1024, 1 << 30), false),
    var("max_connections", Global, Int(1, 100_000), false),
    var("max_execution_time", Both, Int(0, i64::MAX), true),
    var("max_prepared_stmt_count", Global, Int(0, 4_194_304), false),
    var("max_statement_time", Both, Seconds(31_536_000), true),
    var("max_user_connections", Global, Int(0, 4_294_967_295), true),
    var("net_read_timeout", Both, SECONDS, true),
    var("net_write_timeout", Both, SECONDS, true),
    var("optimizer_switch", Both, Kind::OptimizerSwitch, true),
    var("performance_schema", Global, Bool, false),
    var("port", Global, Int(0, 65535), false),
    var("protocol_version", Global, Int(10, 10), false),
    var("query_cache_size", Global, Int(0, 0), false),
    var("query_cache_type", Both, Enum(&["OFF"]), false),
    var("read_only", Global, Bool, false),
    var("require_secure_transport", Global, Bool, true),
    var("server_id", Global, Int(0, 4_294_967_295), false),
    var("socket", Global, Text, false),
    var("sql_auto_is_null", Both, Bool, true),
    var("sql_big_selects", Both, Bool, true),
    var("sql_log_bin", Both, Bool, true),
    var("sql_mode", Both, SqlMode, true),
    var("sql_notes", Both, Bool, true),
    var("sql_quote_show_create", Both, Bool, true),
    var("sql_safe_updates", Both, Bool, true),
    var("sql_select_limit", Both, Int(0, i64::MAX), true),
    var("sql_warnings", Both, Bool, true),
    var("ssl_ca", Global, Text, false),
    var("ssl_cert", Global, Text, false),
    var("ssl_cipher", Global, Text, false),
    var("ssl_key", Global, Text, false),
    var("ssl_session_cache_mode", Global, Bool, false),
    var("ssl_session_cache_timeout", Global, Int(0, 86_400), false),
    var("system_time_zone", Global, Text, false),
    var("time_zone", Both, TimeZone, true),
    var("tls_ciphersuites", Global, Text, false),
    var("tls_groups", Global, Text, false),
    var("tls_version", Global, Text, false),
    var("transaction_isolation", Both, Enum(ISOLATION), true),
    var("transaction_read_only", Both, Bool, true),
    var("tx_isolation", Both, Enum(ISOLATION), true),
    var("tx_read_only", Both, Bool, true),
    var("unique_checks", Both, Bool, true),
    var("version", Global, Text, false),
    var("version_comment", Global, Text, false),
    var("version_compile_machine", Global, Text, false),
    var("version_compile_os", Global, Text, false),
    var("wait_timeout", Both, SECONDS, true),
];

/// Finds a variable by name (case-insensitive).
pub fn lookup(name: &str) -> Option<&'static VarDef> {
    // Names mostly come lower-case already (every login looks up four); only others are copied.
    let lowered;
    let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
        lowered = name.to_ascii_lowercase();
        lowered.as_str()
    } else {
        name
    };
    VARIABLES
        .binary_search_by(|v| v.name.cmp(name))
        .ok()
        .map(|i| &VARIABLES[i])
}

/// The variables that are one value under two names (MySQL 5.7's and 8.0's): setting one sets
/// the other.
pub fn alias_of(name: &str) -> Option<&'static str> {
    match name {
        "transaction_isolation" => Some("tx_isolation"),
        "tx_isolation" => Some("transaction_isolation"),
        "transaction_read_only" => Some("tx_read_only"),
        "tx_read_only" => Some("transaction_read_only"),
        _ => None,
    }
}

/// A stored variable value.
#[derive(Clone, Debug, PartialEq)]
pub enum VarValue {
    /// ON/OFF.
    Bool(bool),
    /// A number.
    Int(i64),
    /// Seconds with a fraction.
    Seconds(f64),
    /// Text.
    Text(String),
    /// NULL (`character_set_results`).
    Null,
}

impl VarValue {
    /// As `SELECT @@x` returns it.
    pub fn to_select(&self) -> Value {
        match self {
            VarValue::Bool(b) => Value::Int(i64::from(*b)),
            VarValue::Int(i) => Value::Int(*i),
            VarValue::Seconds(s) => Value::Double(*s),
            VarValue::Text(s) => Value::Text(s.clone()),
            VarValue::Null => Value::Null,
        }
    }

    /// As `SHOW VARIABLES` prints it.
    pub fn to_show(&self) -> String {
        match self {
            VarValue::Bool(b) => if *b { "ON" } else { "OFF" }.to_string(),
            VarValue::Int(i) => i.to_string(),
            VarValue::Seconds(s) => format!("{s:.6}"),
            VarValue::Text(s) => s.clone(),
            VarValue::Null => String::new(),
        }
    }
}

fn wrong_value(name: &str, shown: &str) -> SqlError {
    SqlError::new(
        ErrorKind::WrongValueForVariable,
        format!("Variable '{name}' can't be set to the value of '{shown}'"),
    )
}

fn wrong_type(name: &str) -> SqlError {
    SqlError::new(
        ErrorKind::WrongTypeForVariable,
        format!("Incorrect argument type to variable '{name}'"),
    )
}

/// Checks and converts a value for `def` (`SET x = value`); `current` is the value it
/// replaces (`optimizer_switch` merges into it).
pub fn convert(def: &VarDef, value: &Value, current: &VarValue) -> Result<VarValue, SqlError> {
    let text = value
        .to_text()
        .map(|t| String::from_utf8_lossy(&t).into_owned());
    let shown = text.clone().unwrap_or_else(|| "NULL".into());
    match def.kind {
        Bool => match value {
            Value::Int(0) => Ok(VarValue::Bool(false)),
            Value::Int(1) => Ok(VarValue::Bool(true)),
            Value::Text(s) if s.eq_ignore_ascii_case("on") || s.eq_ignore_ascii_case("true") => {
                Ok(VarValue::Bool(true))
            }
            Value::Text(s) if s.eq_ignore_ascii_case("off") || s.eq_ignore_ascii_case("false") => {
                Ok(VarValue::Bool(false))
            }
            Value::Int(_) | Value::Text(_) => Err(wrong_value(def.name, &shown)),
            _ => Err(wrong_type(def.name)),
        },
        Int(min, max) => {
            let n = match value {
                Value::Int(i) => *i,
                Value::UInt(u) => i64::try_from(*u).unwrap_or(i64::MAX),
                Value::Double(d) if d.fract() == 0.0 => *d as i64,
                _ => return Err(wrong_type(def.name)),
            };
            if n < min || n > max {
                return Err(wrong_value(def.name, &shown));
            }
            Ok(VarValue::Int(n))
        }
        Seconds(max) => {
            let s = match value {
                Value::Int(i) => *i as f64,
                Value::UInt(u) => *u as f64,
                Value::Double(d) => *d,
                // Decimals travel as text.
                Value::Text(t) => t.trim().parse().map_err(|_| wrong_type(def.name))?,
                _ => return Err(wrong_type(def.name)),
            };
            if !(0.0..=f64::from(max)).contains(&s) {
                return Err(wrong_value(def.name, &shown));
            }
            Ok(VarValue::Seconds(s))
        }
        Text => match text {
            Some(t) => Ok(VarValue::Text(t)),
            None => Err(wrong_value(def.name, "NULL")),
        },
        Enum(words) => {
            let t = text.unwrap_or_default().to_ascii_uppercase();
            match words.iter().find(|w| w.eq_ignore_ascii_case(&t)) {
                Some(w) => Ok(VarValue::Text((*w).to_string())),
                None => Err(wrong_value(def.name, &shown)),
            }
        }
        Kind::Charset { nullable } => match text {
            None if nullable => Ok(VarValue::Null),
            None => Err(wrong_value(def.name, "NULL")),
            Some(name) => match charset::charset(&name) {
                Some(cs) => Ok(VarValue::Text(cs.name.to_string())),
                None => Err(unknown_charset(&name)),
            },
        },
        Collation => match text {
            None => Err(wrong_value(def.name, "NULL")),
            Some(name) => match charset::collation_named(&name) {
                Some(c) => Ok(VarValue::Text(c.name.to_string())),
                None => Err(unknown_collation(&name)),
            },
        },
        SqlMode => {
            let modes = match value {
                Value::Text(t) => t.clone(),
                Value::Null => return Err(wrong_value(def.name, "NULL")),
                _ => return Err(wrong_type(def.name)),
            };
            sql_mode(&modes)
                .map(VarValue::Text)
                .ok_or_else(|| wrong_value(def.name, &shown))
        }
        TimeZone => match text.as_deref().and_then(time_zone) {
            Some(zone) => Ok(VarValue::Text(zone)),
            None => Err(SqlError::new(
                ErrorKind::UnknownTimeZone,
                format!("Unknown or incorrect time zone: '{shown}'"),
            )),
        },
        Kind::OptimizerSwitch => {
            let current = match current {
                VarValue::Text(t) => t.as_str(),
                _ => OPTIMIZER_SWITCH_DEFAULT,
            };
            text.as_deref()
                .and_then(|t| optimizer_switch(current, t))
                .map(VarValue::Text)
                .ok_or_else(|| wrong_value(def.name, &shown))
        }
        Engine => {
            let name = text.unwrap_or_default();
            match ENGINES.iter().find(|e| e.name.eq_ignore_ascii_case(&name)) {
                Some(e) => Ok(VarValue::Text(e.name.to_string())),
                None => Err(SqlError::new(
                    ErrorKind::UnknownStorageEngine,
                    format!("Unknown storage engine '{name}'"),
                )),
            }
        }
    }
}

/// 1115 `Unknown character set: 'x'`.
pub fn unknown_charset(name: &str) -> SqlError {
    SqlError::new(
        ErrorKind::UnknownCharacterSet,
        format!("Unknown character set: '{name}'"),
    )
}

/// 1273 `Unknown collation: 'x'`.
pub fn unknown_collation(name: &str) -> SqlError {
    SqlError::new(
        ErrorKind::UnknownCollation,
        format!("Unknown collation: '{name}'"),
    )
}

/// MySQL 8's SQL modes, in the order `@@sql_mode` lists them (their bit order); `ANSI` and
/// `TRADITIONAL` stand for groups of others and are listed after them.
const SQL_MODES: &[&str] = &[
    "REAL_AS_FLOAT",
    "PIPES_AS_CONCAT",
    "ANSI_QUOTES",
    "IGNORE_SPACE",
    "ONLY_FULL_GROUP_BY",
    "NO_UNSIGNED_SUBTRACTION",
    "NO_DIR_IN_CREATE",
    "ANSI",
    "NO_AUTO_VALUE_ON_ZERO",
    "NO_BACKSLASH_ESCAPES",
    "STRICT_TRANS_TABLES",
    "STRICT_ALL_TABLES",
    "NO_ZERO_IN_DATE",
    "NO_ZERO_DATE",
    "ALLOW_INVALID_DATES",
    "ERROR_FOR_DIVISION_BY_ZERO",
    "TRADITIONAL",
    "HIGH_NOT_PRECEDENCE",
    "NO_ENGINE_SUBSTITUTION",
    "PAD_CHAR_TO_FULL_LENGTH",
    "TIME_TRUNCATE_FRACTIONAL",
];

/// The modes `ANSI` and `TRADITIONAL` turn on besides themselves.
fn sql_mode_group(mode: &str) -> &'static [&'static str] {
    match mode {
        "ANSI" => &[
            "REAL_AS_FLOAT",
            "PIPES_AS_CONCAT",
            "ANSI_QUOTES",
            "IGNORE_SPACE",
            "ONLY_FULL_GROUP_BY",
        ],
        "TRADITIONAL" => &[
            "STRICT_TRANS_TABLES",
            "STRICT_ALL_TABLES",
            "NO_ZERO_IN_DATE",
            "NO_ZERO_DATE",
            "ERROR_FOR_DIVISION_BY_ZERO",
        ],
        _ => &[],
    }
}

/// `sql_mode` as MySQL stores it: upper case, each mode once, groups expanded, in MySQL's
/// order; `None` if a mode is unknown.
fn sql_mode(modes: &str) -> Option<String> {
    let mut on = [false; SQL_MODES.len()];
    for word in modes.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let word = word.to_ascii_uppercase();
        let i = SQL_MODES.iter().position(|m| *m == word)?;
        on[i] = true;
        for member in sql_mode_group(&word) {
            if let Some(j) = SQL_MODES.iter().position(|m| m == member) {
                on[j] = true;
            }
        }
    }
    Some(
        SQL_MODES
            .iter()
            .zip(on)
            .filter(|(_, on)| *on)
            .map(|(m, _)| *m)
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// `time_zone` as stored: `SYSTEM`, an offset from UTC written `+HH:MM` within MySQL's range
/// (-13:59 to +14:00), or the name of a zone of the system's time zone database
/// (`Europe/Paris`, `UTC`), as written: the zones `CONVERT_TZ` knows.
fn time_zone(zone: &str) -> Option<String> {
    if zone.eq_ignore_ascii_case("SYSTEM") {
        return Some("SYSTEM".into());
    }
    if !zone.starts_with(['+', '-']) {
        return jiff::tz::TimeZone::get(zone).ok().map(|_| zone.to_string());
    }
    let minutes = time_zone_offset_minutes(zone)?;
    let sign = if minutes < 0 { '-' } else { '+' };
    Some(format!(
        "{sign}{:02}:{:02}",
        minutes.abs() / 60,
        minutes.abs() % 60
    ))
}

/// The offset from UTC, in minutes, of a `time_zone` value written `[+-]H[H]:MM`; `None` for
/// `SYSTEM` (the server's own zone) and anything else.
pub fn time_zone_offset_minutes(zone: &str) -> Option<i32> {
    let (sign, rest) = match zone.trim().as_bytes().first()? {
        b'+' => (1, &zone.trim()[1..]),
        b'-' => (-1, &zone.trim()[1..]),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':')?;
    if hours.is_empty() || hours.len() > 2 || minutes.len() != 2 {
        return None;
    }
    let hours: i32 = hours.parse().ok()?;
    let minutes: i32 = minutes.parse().ok()?;
    let total = sign * (hours * 60 + minutes);
    (minutes < 60 && (-(13 * 60 + 59)..=14 * 60).contains(&total)).then_some(total)
}

/// MySQL 8.0's `optimizer_switch` flags and their defaults (they change nothing in tlsql; they
/// are checked and kept so that tools can set and restore them).
pub const OPTIMIZER_SWITCH_DEFAULT: &str = "index_merge=on,index_merge_union=on,index_merge_sort_union=on,index_merge_intersection=on,engine_condition_pushdown=on,index_condition_pushdown=on,mrr=on,mrr_cost_based=on,block_nested_loop=on,batched_key_access=off,materialization=on,semijoin=on,loosescan=on,firstmatch=on,duplicateweedout=on,subquery_materialization_cost_based=on,use_index_extensions=on,condition_fanout_filter=on,derived_merge=on,use_invisible_indexes=off,skip_scan=on,hash_join=on,subquery_to_derived=off,prefer_ordering_index=on,hypergraph_optimizer=off,derived_condition_pushdown=on";

/// `optimizer_switch` after `SET optimizer_switch = 'flag=on,…'`: the named flags changed in
/// `current` (`default` alone restores every flag); `None` for an unknown flag or value.
fn optimizer_switch(current: &str, set: &str) -> Option<String> {
    if set.trim().eq_ignore_ascii_case("default") {
        return Some(OPTIMIZER_SWITCH_DEFAULT.to_string());
    }
    let defaults: Vec<(&str, &str)> = OPTIMIZER_SWITCH_DEFAULT
        .split(',')
        .filter_map(|p| p.split_once('='))
        .collect();
    let mut flags: Vec<(String, String)> = current
        .split(',')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for pair in set.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=')?;
        let name = name.trim().to_ascii_lowercase();
        let default = defaults.iter().find(|(k, _)| *k == name)?.1;
        let value = match value.trim().to_ascii_lowercase().as_str() {
            "on" => "on",
            "off" => "off",
            "default" => default,
            _ => return None,
        };
        if let Some(flag) = flags.iter_mut().find(|(k, _)| *k == name) {
            flag.1 = value.to_string();
        }
    }
    Some(
        flags
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// A storage engine as `SHOW ENGINES` lists it.
#[derive(Debug)]
pub struct StorageEngine {
    /// Its name.
    pub name: &'static str,
    /// `DEFAULT`, `YES` or `NO`.
    pub support: &'static str,
    /// What it is.
    pub comment: &'static str,
    /// Whether it has transactions, XA and savepoints.
    pub transactions: bool,
    /// XA transactions.
    pub xa: bool,
    /// Savepoints.
    pub savepoints: bool,
}

/// The engines tlsql has: one, SQLite, under the name tools expect of a transactional engine
/// (`ENGINE=InnoDB` in every dump and ORM migration).
pub static ENGINES: &[StorageEngine] = &[StorageEngine {
    name: "InnoDB",
    support: "DEFAULT",
    comment: "SQLite tables (WAL, synchronous=FULL): transactions, savepoints, unique and foreign keys",
    transactions: true,
    xa: false,
    savepoints: true,
}];

/// Global values that can change at runtime (and the defaults sessions start from).
pub struct GlobalVariables {
    values: RwLock<HashMap<&'static str, VarValue>>,
}

/// The persisted-variable key for `require_secure_transport`.
pub const PERSISTED_REQUIRE_SECURE_TRANSPORT: &str = "require_secure_transport";

impl GlobalVariables {
    /// Defaults from the configuration; `require_secure_transport` from the persisted value
    /// when one was ever set, else from `security.require-secure-transport`.
    pub fn new(config: &Config, accounts: &AccountStore) -> Result<Self, AccountStoreError> {
        let text = |s: &str| VarValue::Text(s.to_string());
        let secs =
            |d: std::time::Duration| VarValue::Int(i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let persisted_rst = accounts
            .get_persisted(PERSISTED_REQUIRE_SECURE_TRANSPORT)?
            .map(|v| v.eq_ignore_ascii_case("ON"));
        let mut values: HashMap<&'static str, VarValue> = HashMap::new();
        values.insert("autocommit", VarValue::Bool(true));
        for cs in [
            "character_set_client",
            "character_set_connection",
            "character_set_database",
            "character_set_results",
            "character_set_server",
        ] {
            values.insert(cs, text("utf8mb4"));
        }
        for coll in [
            "collation_connection",
            "collation_database",
            "collation_server",
        ] {
            values.insert(coll, text("utf8mb4_general_ci"));
        }
        values.insert("character_set_filesystem", text("binary"));
        values.insert("big_tables", VarValue::Bool(false));
        values.insert("default_storage_engine", text("InnoDB"));
        values.insert("default_tmp_storage_engine", text("InnoDB"));
        values.insert("div_precision_increment", VarValue::Int(4));
        values.insert("explicit_defaults_for_timestamp", VarValue::Bool(true));
        values.insert("foreign_key_checks", VarValue::Bool(true));
        values.insert("group_concat_max_len", VarValue::Int(1024));
        values.insert("information_schema_stats_expiry", VarValue::Int(86_400));
        values.insert("innodb_lock_wait_timeout", VarValue::Int(50));
        values.insert("innodb_strict_mode", VarValue::Bool(true));
        values.insert("interactive_timeout", VarValue::Int(28_800));
        values.insert("lock_wait_timeout", VarValue::Int(31_536_000));
        values.insert("max_execution_time", VarValue::Int(0));
        values.insert("max_statement_time", VarValue::Seconds(0.0));
        values.insert("max_user_connections", VarValue::Int(0));
        values.insert("net_read_timeout", VarValue::Int(30));
        values.insert("net_write_timeout", VarValue::Int(60));
        values.insert(
            "require_secure_transport",
            VarValue::Bool(persisted_rst.unwrap_or(config.security.require_secure_transport)),
        );
        values.insert("optimizer_switch", text(OPTIMIZER_SWITCH_DEFAULT));
        values.insert("sql_auto_is_null", VarValue::Bool(false));
        values.insert("sql_big_selects", VarValue::Bool(true));
        values.insert("sql_log_bin", VarValue::Bool(true));
        values.insert("sql_mode", text("ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"));
        values.insert("sql_notes", VarValue::Bool(true));
        values.insert("sql_quote_show_create", VarValue::Bool(true));
        values.insert("sql_safe_updates", VarValue::Bool(false));
        values.insert("sql_select_limit", VarValue::Int(i64::MAX));
        values.insert("sql_warnings", VarValue::Bool(false));
        values.insert("time_zone", text("SYSTEM"));
        // SQLite transactions are serializable; say so rather than MySQL's default.
        values.insert("transaction_isolation", text("SERIALIZABLE"));
        values.insert("tx_isolation", text("SERIALIZABLE"));
        values.insert("transaction_read_only", VarValue::Bool(false));
        values.insert("tx_read_only", VarValue::Bool(false));
        values.insert("unique_checks", VarValue::Bool(true));
        values.insert("wait_timeout", secs(config.wait_timeout));
        Ok(Self {
            values: RwLock::new(values),
        })
    }

    /// The stored global value of a settable variable.
    pub fn get(&self, name: &str) -> Option<VarValue> {
        self.values
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// Replaces a stored global value.
    pub fn set(&self, name: &'static str, value: VarValue) {
        self.values
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name, value);
    }

    /// The live value of `require_secure_transport`.
    pub fn require_secure_transport(&self) -> bool {
        matches!(
            self.get("require_secure_transport"),
            Some(VarValue::Bool(true))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_lookup_is_case_insensitive() {
        assert!(VARIABLES.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(lookup("AutoCommit").unwrap().name, "autocommit");
        assert!(lookup("no_such_variable").is_none());
    }

    #[test]
    fn conversions_follow_mysql() {
        let autocommit = lookup("autocommit").unwrap();
        assert_eq!(
            convert(autocommit, &Value::Text("OFF".into()), &VarValue::Null).unwrap(),
            VarValue::Bool(false)
        );
        assert_eq!(
            convert(autocommit, &Value::Int(1), &VarValue::Null).unwrap(),
            VarValue::Bool(true)
        );
        assert_eq!(
            convert(autocommit, &Value::Int(2), &VarValue::Null)
                .unwrap_err()
                .kind,
            ErrorKind::WrongValueForVariable
        );
        assert_eq!(
            convert(autocommit, &Value::Double(0.5), &VarValue::Null)
                .unwrap_err()
                .kind,
            ErrorKind::WrongTypeForVariable
        );
        let wait = lookup("wait_timeout").unwrap();
        assert_eq!(
            convert(wait, &Value::Int(0), &VarValue::Null)
                .unwrap_err()
                .kind,
            ErrorKind::WrongValueForVariable
        );
        assert_eq!(
            convert(wait, &Value::Int(60), &VarValue::Null).unwrap(),
            VarValue::Int(60)
        );
        let iso = lookup("transaction_isolation").unwrap();
        assert_eq!(
            convert(iso, &Value::Text("read-committed".into()), &VarValue::Null).unwrap(),
            VarValue::Text("READ-COMMITTED".into())
        );
        assert!(convert(iso, &Value::Text("chaos".into()), &VarValue::Null).is_err());
    }

    #[test]
    fn sql_modes_are_checked_and_stored_as_mysql_does() {
        assert_eq!(
            sql_mode("strict_trans_tables, PIPES_AS_CONCAT,NO_ENGINE_SUBSTITUTION,,no_engine_substitution").as_deref(),
            Some("PIPES_AS_CONCAT,STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION")
        );
        assert_eq!(
            sql_mode("ANSI").as_deref(),
            Some("REAL_AS_FLOAT,PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE,ONLY_FULL_GROUP_BY,ANSI")
        );
        assert_eq!(sql_mode("").as_deref(), Some(""));
        assert_eq!(sql_mode("NO_AUTO_CREATE_USER"), None);
        let def = lookup("sql_mode").unwrap();
        assert_eq!(
            convert(def, &Value::Text("nope".into()), &VarValue::Null)
                .unwrap_err()
                .message,
            "Variable 'sql_mode' can't be set to the value of 'nope'"
        );
    }

    #[test]
    fn time_zones_are_system_or_offsets() {
        assert_eq!(time_zone("system").as_deref(), Some("SYSTEM"));
        assert_eq!(time_zone("+0:00").as_deref(), Some("+00:00"));
        assert_eq!(time_zone("-05:30").as_deref(), Some("-05:30"));
        assert_eq!(time_zone("+14:00").as_deref(), Some("+14:00"));
        assert_eq!(time_zone("Europe/Paris").as_deref(), Some("Europe/Paris"));
        assert_eq!(time_zone("UTC").as_deref(), Some("UTC"));
        for bad in ["+14:01", "-14:00", "+1:60", "Mars/Base", "+01", "01:00", ""] {
            assert_eq!(time_zone(bad), None, "{bad}");
        }
        assert_eq!(time_zone_offset_minutes("-01:30"), Some(-90));
        let def = lookup("time_zone").unwrap();
        let e = convert(def, &Value::Text("Mars/Base".into()), &VarValue::Null).unwrap_err();
        assert_eq!(
            (e.code(), e.message.as_str()),
            (1298, "Unknown or incorrect time zone: 'Mars/Base'")
        );
    }

    #[test]
    fn optimizer_switch_merges_into_the_current_flags() {
        let off = optimizer_switch(OPTIMIZER_SWITCH_DEFAULT, "semijoin=off, MRR=off").unwrap();
        assert!(
            off.contains(",mrr=off,") && off.contains(",semijoin=off,"),
            "{off}"
        );
        let back = optimizer_switch(&off, "semijoin=default").unwrap();
        assert!(
            back.contains(",semijoin=on,") && back.contains(",mrr=off,"),
            "{back}"
        );
        assert_eq!(
            optimizer_switch(&off, "DEFAULT").as_deref(),
            Some(OPTIMIZER_SWITCH_DEFAULT)
        );
        assert_eq!(optimizer_switch(&off, "warp=on"), None);
        assert_eq!(optimizer_switch(&off, "mrr=maybe"), None);
    }

    #[test]
    fn charsets_collations_and_engines_are_checked() {
        let results = lookup("character_set_results").unwrap();
        assert_eq!(
            convert(results, &Value::Null, &VarValue::Null).unwrap(),
            VarValue::Null
        );
        assert_eq!(
            convert(results, &Value::Text("BINARY".into()), &VarValue::Null).unwrap(),
            VarValue::Text("binary".into())
        );
        let client = lookup("character_set_client").unwrap();
        assert!(convert(client, &Value::Null, &VarValue::Null).is_err());
        assert_eq!(
            convert(client, &Value::Text("ebcdic".into()), &VarValue::Null)
                .unwrap_err()
                .code(),
            1115
        );
        let collation = lookup("collation_connection").unwrap();
        assert_eq!(
            convert(
                collation,
                &Value::Text("utf8mb4_BIN".into()),
                &VarValue::Null
            )
            .unwrap(),
            VarValue::Text("utf8mb4_bin".into())
        );
        assert_eq!(
            convert(collation, &Value::Text("x_ci".into()), &VarValue::Null)
                .unwrap_err()
                .code(),
            1273
        );
        let engine = lookup("default_storage_engine").unwrap();
        assert_eq!(
            convert(engine, &Value::Text("innodb".into()), &VarValue::Null).unwrap(),
            VarValue::Text("InnoDB".into())
        );
        assert_eq!(
            convert(engine, &Value::Text("MyISAM".into()), &VarValue::Null)
                .unwrap_err()
                .code(),
            1286
        );
        let statement_time = lookup("max_statement_time").unwrap();
        assert_eq!(
            convert(
                statement_time,
                &Value::Text("0.000000".into()),
                &VarValue::Null
            )
            .unwrap(),
            VarValue::Seconds(0.0)
        );
        assert_eq!(VarValue::Seconds(1.5).to_show(), "1.500000");
    }

    #[test]
    fn bools_show_on_off_and_select_as_numbers() {
        assert_eq!(VarValue::Bool(true).to_show(), "ON");
        assert_eq!(VarValue::Bool(false).to_select(), Value::Int(0));
    }
}
