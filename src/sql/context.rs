//! What a session's statements read about it: [`SessionState`] (who, over what, its variables
//! and warnings), and [`Context`], the view of it that storage gets while a statement runs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::{status_vars, variables};
use crate::auth::Nonce;
use crate::auth::account::{Account, AccountKey, ResourceLimits};
use crate::auth::privileges::{Grants, Privilege, db_access_denied, table_access_denied};
use crate::auth::require::TlsRequirement;
use crate::charset;
use crate::error::{ErrorKind, SqlError};
use crate::instance::sessions::Registration;
use crate::instance::{Instance, SERVER_VERSION};
use crate::net::Peer;
use crate::protocol::handshake::caps;
use crate::protocol::value::Value;
use crate::session::{Identity, SessionTls};
use crate::storage::{EngineSession, SessionContext, VarScope, VirtualTable};
use crate::vars::{self, Scope, VarDef, VarValue};

/// Everything about the session that statements read, apart from storage and the stream.
pub(crate) struct SessionState {
    pub(crate) shared: Arc<Instance>,
    pub(crate) id: u32,
    pub(crate) client_caps: u32,
    pub(crate) tls: Option<SessionTls>,
    /// Where the client is.
    pub(crate) peer: Peer,
    /// The greeting's nonce, which a COM_CHANGE_USER's first answer is computed with.
    pub(crate) scramble: Nonce,
    pub(crate) identity: Identity,
    /// The logged-in account's resource limits, as they were at login.
    pub(crate) limits: ResourceLimits,
    /// The session's place in the server's registry (`SHOW PROCESSLIST`, `KILL`, limits).
    pub(crate) registration: Registration,
    /// Session overrides of system variables.
    pub(crate) vars: HashMap<&'static str, VarValue>,
    pub(crate) user_vars: HashMap<String, Value>,
    /// The previous statement's warnings and notes (`SHOW WARNINGS`).
    pub(crate) warnings: Vec<SqlError>,
    /// `FOUND_ROWS()`: the rows of the last result set storage sent, or for a query with
    /// `SQL_CALC_FOUND_ROWS` those it would have sent without its `LIMIT`.
    pub(crate) found_rows: u64,
}

impl SessionState {
    /// The account the session logged in as.
    pub(crate) fn account_key(&self) -> AccountKey {
        AccountKey::new(
            self.identity.account_user.clone(),
            self.identity.account_host.clone(),
        )
    }

    /// The logged-in account, as stored now (grants change while sessions run).
    pub(crate) fn account(&self) -> Option<Account> {
        self.shared.accounts.get(&self.account_key())
    }

    /// Fails with 1227 unless the logged-in account holds one of `privileges` globally.
    pub(crate) fn require_any_privilege(&self, privileges: &[Privilege]) -> Result<(), SqlError> {
        match self.account() {
            Some(a) if privileges.iter().any(|p| a.grants.has_global(*p)) => Ok(()),
            _ => Err(crate::auth::privileges::specific_access_denied(privileges)),
        }
    }

    /// Whether result sets end with OK (0xFE) instead of EOF.
    pub(crate) fn deprecate_eof(&self) -> bool {
        self.client_caps & caps::DEPRECATE_EOF != 0
    }

    /// The number of warnings, as OK and EOF packets carry it.
    pub(crate) fn warning_count(&self) -> u16 {
        u16::try_from(self.warnings.len()).unwrap_or(u16::MAX)
    }

    /// The value the session sees for `def`: its own, else the global one.
    pub(crate) fn session_value(&self, def: &VarDef) -> VarValue {
        self.vars
            .get(def.name)
            .cloned()
            .unwrap_or_else(|| variables::global_value(&self.shared, def))
    }

    /// The session's `wait_timeout` (or `interactive_timeout` for interactive clients).
    pub(crate) fn wait_timeout(&self) -> Duration {
        let name = if self.client_caps & caps::INTERACTIVE != 0 {
            "interactive_timeout"
        } else {
            "wait_timeout"
        };
        self.seconds_variable(name)
    }

    /// The session's `net_write_timeout`.
    pub(crate) fn net_write_timeout(&self) -> Duration {
        self.seconds_variable("net_write_timeout")
    }

    /// The session's `lock_wait_timeout`: how long a statement waits for table locks.
    pub(crate) fn lock_wait_timeout(&self) -> Duration {
        self.seconds_variable("lock_wait_timeout")
    }

    fn seconds_variable(&self, name: &str) -> Duration {
        match vars::lookup(name).map(|d| self.session_value(d)) {
            Some(VarValue::Int(s)) => Duration::from_secs(u64::try_from(s).unwrap_or(1)),
            _ => Duration::from_secs(28_800),
        }
    }

    /// `SHOW [GLOBAL] STATUS` rows (name, value), `SHOW` values as text.
    pub(crate) fn status_rows(&self, global: bool) -> Vec<(String, Value)> {
        status_vars::rows(&self.shared, self.tls.as_ref(), global)
            .into_iter()
            .map(|(n, v)| {
                let shown = v
                    .to_text()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                (n.to_string(), Value::Text(shown))
            })
            .collect()
    }

    /// `SHOW [FULL] PROCESSLIST` rows (`Id`, `User`, `Host`, `db`, `Command`, `Time`,
    /// `State`, `Info`): every session with `PROCESS`, else those of the session's own user
    /// name, as in MySQL; `Info` cut to 100 characters unless `full`.
    pub(crate) fn process_rows(&self, full: bool) -> Vec<Vec<Value>> {
        let all = self
            .account()
            .is_some_and(|a| a.grants.has_global(Privilege::Process));
        let me = &self.identity.account_user;
        let text_or_null = |t: Option<String>| t.map_or(Value::Null, Value::Text);
        self.shared
            .sessions
            .list()
            .into_iter()
            .filter_map(|entry| {
                let a = entry.activity();
                if !all && a.account.user != *me {
                    return None;
                }
                let info = a.info.map(|text| {
                    if full {
                        text
                    } else {
                        text.chars().take(100).collect()
                    }
                });
                Some(vec![
                    Value::Int(i64::from(entry.id)),
                    Value::Text(a.user),
                    Value::Text(entry.host.clone()),
                    text_or_null(a.db),
                    Value::from(a.command),
                    Value::Int(i64::try_from(a.since.elapsed().as_secs()).unwrap_or(i64::MAX)),
                    Value::from(a.state),
                    text_or_null(info),
                ])
            })
            .collect()
    }

    /// `SHOW [GLOBAL] VARIABLES` rows (name, value).
    pub(crate) fn variable_rows(&self, global: bool) -> Vec<(String, Value)> {
        vars::VARIABLES
            .iter()
            .filter(|d| !global || d.scope != Scope::Session)
            .map(|d| {
                let v = if global || d.scope == Scope::Global {
                    variables::global_value(&self.shared, d)
                } else {
                    self.session_value(d)
                };
                (d.name.to_string(), Value::Text(v.to_show()))
            })
            .collect()
    }
}

/// Changes the default database (COM_INIT_DB, `USE`, the login database).
pub(crate) fn use_database(
    engine: &mut EngineSession,
    state: &SessionState,
    db: &str,
) -> Result<(), SqlError> {
    Context::new(state).authorize_database(db)?;
    engine.use_database(db)?;
    state
        .registration
        .entry()
        .update(|a| a.db = Some(db.to_string()));
    Ok(())
}

/// The value a session sees for the variable `name` at `scope`, with MySQL's scope errors.
pub(crate) fn read_variable(
    state: &SessionState,
    scope: VarScope,
    name: &str,
) -> Result<Value, SqlError> {
    let def = vars::lookup(name).ok_or_else(|| unknown_variable(name))?;
    match (scope, def.scope) {
        (VarScope::Global, Scope::Session) => Err(SqlError::new(
            ErrorKind::IncorrectGlobalLocalVariable,
            format!("Variable '{}' is a SESSION variable", def.name),
        )),
        (VarScope::Session, Scope::Global) => Err(SqlError::new(
            ErrorKind::IncorrectGlobalLocalVariable,
            format!("Variable '{}' is a GLOBAL variable", def.name),
        )),
        (VarScope::Global, _) | (_, Scope::Global) => {
            Ok(variables::global_value(&state.shared, def).to_select())
        }
        _ => Ok(state.session_value(def).to_select()),
    }
}

/// 1193 `Unknown system variable 'x'`.
pub(crate) fn unknown_variable(name: &str) -> SqlError {
    SqlError::new(
        ErrorKind::UnknownSystemVariable,
        format!("Unknown system variable '{name}'"),
    )
}

/// What storage sees of the session while it runs a statement.
pub(crate) struct Context<'a> {
    state: &'a SessionState,
}

impl<'a> Context<'a> {
    /// A context over `state`.
    pub(crate) fn new(state: &'a SessionState) -> Self {
        Self { state }
    }

    /// The logged-in account's privileges as stored now (grants change while sessions run).
    fn grants(&self) -> Option<Grants> {
        self.state.account().map(|a| a.grants)
    }
}

impl SessionContext for Context<'_> {
    fn found_rows(&self) -> bool {
        self.state.client_caps & caps::FOUND_ROWS != 0
    }

    fn system_variable(&self, scope: VarScope, name: &str) -> Result<Value, SqlError> {
        read_variable(self.state, scope, name)
    }

    fn user_variable(&self, name: &str) -> Value {
        self.state
            .user_vars
            .get(&name.to_ascii_lowercase())
            .cloned()
            .unwrap_or(Value::Null)
    }

    fn function(&self, name: &str) -> Option<Value> {
        let id = &self.state.identity;
        match name {
            "USER" | "SESSION_USER" | "SYSTEM_USER" => {
                Some(Value::Text(format!("{}@{}", id.user, id.client_host)))
            }
            "CURRENT_USER" => Some(Value::Text(format!(
                "{}@{}",
                id.account_user, id.account_host
            ))),
            "VERSION" => Some(Value::Text(SERVER_VERSION.to_string())),
            "CONNECTION_ID" => Some(Value::Int(i64::from(self.state.id))),
            "FOUND_ROWS" => Some(Value::Int(
                i64::try_from(self.state.found_rows).unwrap_or(i64::MAX),
            )),
            _ => None,
        }
    }

    fn authorize(
        &self,
        privilege: Privilege,
        db: &str,
        table: Option<&str>,
    ) -> Result<(), SqlError> {
        if self.grants().is_some_and(|g| g.has_db(db, privilege)) {
            return Ok(());
        }
        let id = &self.state.identity;
        Err(match table {
            Some(table) => table_access_denied(privilege.name(), &id.user, &id.client_host, table),
            None => db_access_denied(&id.user, &id.client_host, db),
        })
    }

    fn authorize_database(&self, db: &str) -> Result<(), SqlError> {
        if self.grants().is_some_and(|g| g.has_any_on_db(db)) {
            return Ok(());
        }
        let id = &self.state.identity;
        Err(db_access_denied(&id.user, &id.client_host, db))
    }

    fn virtual_table(&self, schema: &str, table: &str) -> Option<VirtualTable> {
        if schema.eq_ignore_ascii_case("mysql") {
            return table
                .eq_ignore_ascii_case("user")
                .then(|| mysql_user(&self.state.shared.accounts.accounts()));
        }
        if !schema.eq_ignore_ascii_case("performance_schema")
            && !schema.eq_ignore_ascii_case("information_schema")
        {
            return None;
        }
        let table = table.to_ascii_lowercase();
        if schema.eq_ignore_ascii_case("information_schema")
            && let Some(vt) = server_table(self.state, &table)
        {
            return Some(vt);
        }
        let rows: Vec<(String, Value)> = match table.as_str() {
            "session_status" => self.state.status_rows(false),
            "global_status" => self.state.status_rows(true),
            "session_variables" => self.state.variable_rows(false),
            "global_variables" => self.state.variable_rows(true),
            _ => return None,
        };
        Some(VirtualTable {
            columns: vec!["VARIABLE_NAME".into(), "VARIABLE_VALUE".into()],
            rows: rows
                .into_iter()
                .map(|(name, value)| vec![Value::Text(name), value])
                .collect(),
        })
    }
}

/// The `information_schema` tables the server computes from its own state: `PROCESSLIST`,
/// `CHARACTER_SETS`, `COLLATIONS` (storage computes those about tables).
fn server_table(state: &SessionState, table: &str) -> Option<VirtualTable> {
    let (columns, rows): (&[&str], Vec<Vec<Value>>) = match table {
        "processlist" => (
            &[
                "ID", "USER", "HOST", "DB", "COMMAND", "TIME", "STATE", "INFO",
            ],
            state.process_rows(true),
        ),
        "character_sets" => (
            &[
                "CHARACTER_SET_NAME",
                "DEFAULT_COLLATE_NAME",
                "DESCRIPTION",
                "MAXLEN",
            ],
            charset::CHARSETS
                .iter()
                .map(|c| {
                    vec![
                        Value::from(c.name),
                        Value::from(c.default_collation),
                        Value::from(c.description),
                        Value::Int(i64::from(c.max_len)),
                    ]
                })
                .collect(),
        ),
        "collations" => (
            &[
                "COLLATION_NAME",
                "CHARACTER_SET_NAME",
                "ID",
                "IS_DEFAULT",
                "IS_COMPILED",
                "SORTLEN",
                "PAD_ATTRIBUTE",
            ],
            charset::COLLATIONS
                .iter()
                .map(|c| {
                    let default = charset::charset(c.charset)
                        .is_some_and(|cs| cs.default_collation == c.name);
                    vec![
                        Value::from(c.name),
                        Value::from(c.charset),
                        Value::Int(i64::from(c.id)),
                        Value::from(if default { "Yes" } else { "" }),
                        Value::from("Yes"),
                        Value::Int(if c.pad_space { 1 } else { 0 }),
                        Value::from(if c.pad_space { "PAD SPACE" } else { "NO PAD" }),
                    ]
                })
                .collect(),
        ),
        _ => return None,
    };
    Some(VirtualTable {
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows,
    })
}

/// `mysql.user` as MySQL shows the columns that describe transport policy (the password
/// hashes are not exposed).
fn mysql_user(accounts: &[Account]) -> VirtualTable {
    let columns = [
        "Host",
        "User",
        "plugin",
        "ssl_type",
        "ssl_cipher",
        "x509_issuer",
        "x509_subject",
        "account_locked",
    ];
    let rows = accounts
        .iter()
        .map(|a| {
            let (ssl_type, cipher, issuer, subject) = match &a.require {
                TlsRequirement::None => ("", None, None, None),
                TlsRequirement::Ssl => ("ANY", None, None, None),
                TlsRequirement::X509 => ("X509", None, None, None),
                TlsRequirement::Specified(r) => (
                    "SPECIFIED",
                    r.cipher.clone(),
                    r.issuer.clone(),
                    r.subject.clone(),
                ),
            };
            vec![
                Value::Text(a.host.clone()),
                Value::Text(a.user.clone()),
                Value::from(a.plugin.name()),
                Value::from(ssl_type),
                Value::Text(cipher.unwrap_or_default()),
                Value::Text(issuer.unwrap_or_default()),
                Value::Text(subject.unwrap_or_default()),
                Value::from(if a.locked { "Y" } else { "N" }),
            ]
        })
        .collect();
    VirtualTable {
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows,
    }
}
