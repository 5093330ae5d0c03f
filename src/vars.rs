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
    /// Free text.
    Text,
    /// One of a fixed set of words (case-insensitive input, stored upper-case).
    Enum(&'static [&'static str]),
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

use Kind::{Bool, Enum, Int, Text};
use Scope::{Both, Global};

const ISOLATION: &[&str] = &[
    "READ-UNCOMMITTED",
    "READ-COMMITTED",
    "REPEATABLE-READ",
    "SERIALIZABLE",
];
const SECONDS: Kind = Int(1, 31_536_000);

/// Every variable tlsql knows, sorted by name.
pub static VARIABLES: &[VarDef] = &[
    var("auto_increment_increment", Both, Int(1, 1), false),
    var("auto_increment_offset", Both, Int(1, 1), false),
    var("autocommit", Both, Bool, true),
    var("character_set_client", Both, Text, true),
    var("character_set_connection", Both, Text, true),
    var("character_set_database", Both, Text, true),
    var("character_set_results", Both, Text, true),
    var("character_set_server", Both, Text, true),
    var("character_set_system", Global, Text, false),
    var("collation_connection", Both, Text, true),
    var("collation_database", Both, Text, true),
    var("collation_server", Both, Text, true),
    var("datadir", Global, Text, false),
    var("default_authentication_plugin", Global, Text, false),
    var("foreign_key_checks", Both, Bool, true),
    var("have_openssl", Global, Text, false),
    var("have_ssl", Global, Text, false),
    var("hostname", Global, Text, false),
    var("init_connect", Global, Text, false),
    var("interactive_timeout", Both, SECONDS, true),
    var("license", Global, Text, false),
    var("lower_case_table_names", Global, Int(0, 2), false),
    var("max_allowed_packet", Both, Int(1024, 1 << 30), false),
    var("max_connections", Global, Int(1, 100_000), false),
    var("max_execution_time", Both, Int(0, i64::MAX), true),
    var("max_prepared_stmt_count", Global, Int(0, 4_194_304), false),
    var("net_read_timeout", Both, SECONDS, true),
    var("net_write_timeout", Both, SECONDS, true),
    var("performance_schema", Global, Bool, false),
    var("port", Global, Int(0, 65535), false),
    var("protocol_version", Global, Int(10, 10), false),
    var("query_cache_size", Global, Int(0, 0), false),
    var("query_cache_type", Both, Enum(&["OFF"]), false),
    var("require_secure_transport", Global, Bool, true),
    var("socket", Global, Text, false),
    var("sql_auto_is_null", Both, Bool, true),
    var("sql_mode", Both, Text, true),
    var("sql_notes", Both, Bool, true),
    var("sql_safe_updates", Both, Bool, true),
    var("sql_select_limit", Both, Int(0, i64::MAX), true),
    var("ssl_ca", Global, Text, false),
    var("ssl_cert", Global, Text, false),
    var("ssl_cipher", Global, Text, false),
    var("ssl_key", Global, Text, false),
    var("ssl_session_cache_mode", Global, Bool, false),
    var("ssl_session_cache_timeout", Global, Int(0, 86_400), false),
    var("system_time_zone", Global, Text, false),
    var("time_zone", Both, Text, true),
    var("tls_ciphersuites", Global, Text, false),
    var("tls_groups", Global, Text, false),
    var("tls_version", Global, Text, false),
    var("transaction_isolation", Both, Enum(ISOLATION), true),
    var("transaction_read_only", Both, Bool, true),
    var("tx_isolation", Both, Enum(ISOLATION), true),
    var("unique_checks", Both, Bool, true),
    var("version", Global, Text, false),
    var("version_comment", Global, Text, false),
    var("version_compile_machine", Global, Text, false),
    var("version_compile_os", Global, Text, false),
    var("wait_timeout", Both, SECONDS, true),
];

/// Finds a variable by name (case-insensitive).
pub fn lookup(name: &str) -> Option<&'static VarDef> {
    let name = name.to_ascii_lowercase();
    VARIABLES
        .binary_search_by(|v| v.name.cmp(name.as_str()))
        .ok()
        .map(|i| &VARIABLES[i])
}

/// A stored variable value.
#[derive(Clone, Debug, PartialEq)]
pub enum VarValue {
    /// ON/OFF.
    Bool(bool),
    /// A number.
    Int(i64),
    /// Text.
    Text(String),
}

impl VarValue {
    /// As `SELECT @@x` returns it.
    pub fn to_select(&self) -> Value {
        match self {
            VarValue::Bool(b) => Value::Int(i64::from(*b)),
            VarValue::Int(i) => Value::Int(*i),
            VarValue::Text(s) => Value::Text(s.clone()),
        }
    }

    /// As `SHOW VARIABLES` prints it.
    pub fn to_show(&self) -> String {
        match self {
            VarValue::Bool(b) => if *b { "ON" } else { "OFF" }.to_string(),
            VarValue::Int(i) => i.to_string(),
            VarValue::Text(s) => s.clone(),
        }
    }
}

fn wrong_value(name: &str, shown: &str) -> SqlError {
    SqlError::new(
        ErrorKind::WrongValueForVariable,
        format!("Variable '{name}' can't be set to the value of '{shown}'"),
    )
}

/// Checks and converts a value for `def` (`SET x = value`).
pub fn convert(def: &VarDef, value: &Value) -> Result<VarValue, SqlError> {
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
            _ => Err(SqlError::new(
                ErrorKind::WrongTypeForVariable,
                format!("Incorrect argument type to variable '{}'", def.name),
            )),
        },
        Int(min, max) => {
            let n = match value {
                Value::Int(i) => *i,
                Value::UInt(u) => i64::try_from(*u).unwrap_or(i64::MAX),
                Value::Double(d) if d.fract() == 0.0 => *d as i64,
                _ => {
                    return Err(SqlError::new(
                        ErrorKind::WrongTypeForVariable,
                        format!("Incorrect argument type to variable '{}'", def.name),
                    ));
                }
            };
            if n < min || n > max {
                return Err(wrong_value(def.name, &shown));
            }
            Ok(VarValue::Int(n))
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
    }
}

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
        values.insert("foreign_key_checks", VarValue::Bool(true));
        values.insert("interactive_timeout", VarValue::Int(28_800));
        values.insert("max_execution_time", VarValue::Int(0));
        values.insert("net_read_timeout", VarValue::Int(30));
        values.insert("net_write_timeout", VarValue::Int(60));
        values.insert(
            "require_secure_transport",
            VarValue::Bool(persisted_rst.unwrap_or(config.security.require_secure_transport)),
        );
        values.insert("sql_auto_is_null", VarValue::Bool(false));
        values.insert("sql_mode", text("ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"));
        values.insert("sql_notes", VarValue::Bool(true));
        values.insert("sql_safe_updates", VarValue::Bool(false));
        values.insert("sql_select_limit", VarValue::Int(i64::MAX));
        values.insert("time_zone", text("SYSTEM"));
        // SQLite transactions are serializable; say so rather than MySQL's default.
        values.insert("transaction_isolation", text("SERIALIZABLE"));
        values.insert("tx_isolation", text("SERIALIZABLE"));
        values.insert("transaction_read_only", VarValue::Bool(false));
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
            convert(autocommit, &Value::Text("OFF".into())).unwrap(),
            VarValue::Bool(false)
        );
        assert_eq!(
            convert(autocommit, &Value::Int(1)).unwrap(),
            VarValue::Bool(true)
        );
        assert_eq!(
            convert(autocommit, &Value::Int(2)).unwrap_err().kind,
            ErrorKind::WrongValueForVariable
        );
        assert_eq!(
            convert(autocommit, &Value::Double(0.5)).unwrap_err().kind,
            ErrorKind::WrongTypeForVariable
        );
        let wait = lookup("wait_timeout").unwrap();
        assert_eq!(
            convert(wait, &Value::Int(0)).unwrap_err().kind,
            ErrorKind::WrongValueForVariable
        );
        assert_eq!(convert(wait, &Value::Int(60)).unwrap(), VarValue::Int(60));
        let iso = lookup("transaction_isolation").unwrap();
        assert_eq!(
            convert(iso, &Value::Text("read-committed".into())).unwrap(),
            VarValue::Text("READ-COMMITTED".into())
        );
        assert!(convert(iso, &Value::Text("chaos".into())).is_err());
    }

    #[test]
    fn bools_show_on_off_and_select_as_numbers() {
        assert_eq!(VarValue::Bool(true).to_show(), "ON");
        assert_eq!(VarValue::Bool(false).to_select(), Value::Int(0));
    }
}
