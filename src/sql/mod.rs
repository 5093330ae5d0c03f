//! Statements the server owns — SET, SHOW VARIABLES/STATUS/WARNINGS, account management,
//! ALTER INSTANCE, FLUSH — and the routing of everything else to storage.
//!
//! Routing looks only at the leading keywords (tokenized with sqlparser's MySQL dialect, so
//! comments and quoting are handled); everything that is not recognised here is storage's.

pub mod account_stmt;
pub mod local;
pub(crate) mod results;
pub mod status_vars;
pub mod variables;

use std::io;

use sqlparser::tokenizer::Token;

use crate::auth::accounts::Account;
use crate::auth::privileges::{
    Privilege, db_access_denied, specific_access_denied, table_access_denied,
};
use crate::error::{ErrorKind, SqlError};
use crate::instance::SERVER_VERSION;
use crate::lex::{like, split_statements, tokenize};
use crate::protocol::value::{Column, Value};
use crate::storage::{RowSink, SessionContext, VarScope, VirtualTable};
use crate::tls::ReloadOutcome;
use crate::vars::{self, Scope, VarDef, VarValue};
use local::{Exchange, SessionState};

/// What storage sees of the session while it runs a statement.
pub struct Context<'a> {
    state: &'a SessionState,
}

impl<'a> Context<'a> {
    /// A context over `state`.
    pub fn new(state: &'a SessionState) -> Self {
        Self { state }
    }
}

/// The value a session sees for `def` at `scope`, with MySQL's scope errors.
pub fn read_variable(state: &SessionState, scope: VarScope, name: &str) -> Result<Value, SqlError> {
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
        _ => Ok(session_value(state, def).to_select()),
    }
}

pub(crate) fn session_value(state: &SessionState, def: &VarDef) -> VarValue {
    state
        .vars
        .get(def.name)
        .cloned()
        .unwrap_or_else(|| variables::global_value(&state.shared, def))
}

fn unknown_variable(name: &str) -> SqlError {
    SqlError::new(
        ErrorKind::UnknownSystemVariable,
        format!("Unknown system variable '{name}'"),
    )
}

impl Context<'_> {
    /// The logged-in account's privileges as stored now (grants change while sessions run).
    fn grants(&self) -> Option<crate::auth::privileges::Grants> {
        self.state
            .shared
            .accounts
            .get(&self.state.account_key())
            .map(|a| a.grants)
    }
}

impl SessionContext for Context<'_> {
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
        let rows: Vec<(String, Value)> = match table.to_ascii_lowercase().as_str() {
            "session_status" => status_rows(self.state, false),
            "global_status" => status_rows(self.state, true),
            "session_variables" => variable_rows(self.state, false),
            "global_variables" => variable_rows(self.state, true),
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

/// `mysql.user` as MySQL shows the columns that describe transport policy (the password
/// hashes are not exposed).
fn mysql_user(accounts: &[Account]) -> VirtualTable {
    use crate::auth::require::TlsRequirement;
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

fn status_rows(state: &SessionState, global: bool) -> Vec<(String, Value)> {
    status_vars::rows(&state.shared, state.tls.as_ref(), global)
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

fn variable_rows(state: &SessionState, global: bool) -> Vec<(String, Value)> {
    vars::VARIABLES
        .iter()
        .filter(|d| !global || d.scope != Scope::Session)
        .map(|d| {
            let v = if global || d.scope == Scope::Global {
                variables::global_value(&state.shared, d)
            } else {
                session_value(state, d)
            };
            (d.name.to_string(), Value::Text(v.to_show()))
        })
        .collect()
}

/// The upper-cased unquoted word at `i`, if it is one.
fn word(tokens: &[Token], i: usize) -> Option<String> {
    match tokens.get(i) {
        Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

fn words(tokens: &[Token], n: usize) -> Vec<String> {
    (0..n).map_while(|i| word(tokens, i)).collect()
}

/// The value of a one-token expression, if it is that simple.
fn literal(token: &Token) -> Option<Value> {
    match token {
        Token::Number(n, _) => n
            .parse::<i64>()
            .map(Value::Int)
            .ok()
            .or_else(|| n.parse::<f64>().ok().map(Value::Double)),
        Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => Some(Value::Text(s.clone())),
        Token::Word(w) if w.quote_style.is_none() && !w.value.starts_with('@') => {
            match w.value.to_ascii_uppercase().as_str() {
                "NULL" => Some(Value::Null),
                "TRUE" => Some(Value::Int(1)),
                "FALSE" => Some(Value::Int(0)),
                // MySQL takes bare words (ON, OFF, utf8mb4, SYSTEM) as strings in SET.
                _ => Some(Value::Text(w.value.clone())),
            }
        }
        Token::Word(w) if w.quote_style == Some('`') => Some(Value::Text(w.value.clone())),
        _ => None,
    }
}

/// A result set the server computed itself: columns and rows.
type ServerRows = (Vec<Column>, Vec<Vec<Value>>);

/// One `SET` target.
enum Target {
    System { scope: VarScope, name: String },
    User(String),
}

/// Collects the rows of a `SELECT` the server runs for itself.
struct Capture {
    rows: Vec<Vec<Value>>,
}

impl RowSink for Capture {
    fn columns(&mut self, _: &[Column]) -> io::Result<()> {
        Ok(())
    }

    fn row(&mut self, row: &[Value]) -> io::Result<()> {
        self.rows.push(row.to_vec());
        Ok(())
    }
}

/// Who runs a statement, decided from its leading unquoted words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `SET …` other than `SET PASSWORD`: variables, `NAMES`, `CHARACTER SET`.
    Set,
    /// `SHOW [GLOBAL|SESSION|LOCAL] VARIABLES|STATUS …`.
    ShowVariables {
        /// `GLOBAL` was given.
        global: bool,
        /// `STATUS` rather than `VARIABLES`.
        status: bool,
    },
    /// `SHOW WARNINGS` / `SHOW ERRORS`.
    ShowWarnings,
    /// `SHOW COUNT(*) WARNINGS|ERRORS`: storage answers it, but like `SHOW WARNINGS` it keeps
    /// the previous statement's warnings.
    ShowCountWarnings,
    /// Account management: `CREATE|ALTER|DROP|RENAME USER`, `GRANT`, `REVOKE`,
    /// `SET PASSWORD`, `SHOW GRANTS`, `SHOW CREATE USER`, `FLUSH PRIVILEGES`
    /// ([`account_stmt`]).
    Account,
    /// Every other `FLUSH`: accepted, nothing to do.
    FlushIgnored,
    /// `ALTER INSTANCE …` (`RELOAD TLS`).
    AlterInstance,
    /// `USE db`.
    Use,
    /// Everything else: the storage engine's.
    Storage,
}

/// Routes a statement by its significant tokens ([`tokenize`]).
pub fn route(tokens: &[Token]) -> Route {
    let head = words(tokens, 3);
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    match head.as_slice() {
        ["SET", "PASSWORD", ..] => Route::Account,
        ["SET", ..] => Route::Set,
        [
            "SHOW",
            scope @ ("GLOBAL" | "SESSION" | "LOCAL"),
            kind @ ("VARIABLES" | "STATUS"),
            ..,
        ] => Route::ShowVariables {
            global: *scope == "GLOBAL",
            status: *kind == "STATUS",
        },
        ["SHOW", kind @ ("VARIABLES" | "STATUS"), ..] => Route::ShowVariables {
            global: false,
            status: *kind == "STATUS",
        },
        ["SHOW", "WARNINGS" | "ERRORS", ..] => Route::ShowWarnings,
        ["SHOW", "COUNT", ..] => Route::ShowCountWarnings,
        ["SHOW", "GRANTS", ..] | ["SHOW", "CREATE", "USER"] => Route::Account,
        ["CREATE" | "ALTER" | "DROP" | "RENAME", "USER", ..] | ["GRANT", ..] | ["REVOKE", ..] => {
            Route::Account
        }
        ["FLUSH", "PRIVILEGES", ..] => Route::Account,
        ["FLUSH", ..] => Route::FlushIgnored,
        ["ALTER", "INSTANCE", ..] => Route::AlterInstance,
        ["USE", ..] => Route::Use,
        _ => Route::Storage,
    }
}

impl Exchange<'_> {
    /// Runs a COM_QUERY that may hold several statements (CLIENT_MULTI_STATEMENTS): each
    /// response but the last carries SERVER_MORE_RESULTS_EXISTS, and the first error ends the
    /// query, as in MySQL.
    pub(crate) fn query_statements(&mut self, sql: &str) -> io::Result<()> {
        if !sql.contains(';') {
            // The usual case: one statement, tokenized once.
            return self.query(sql);
        }
        let statements = match split_statements(sql) {
            Ok(s) => s,
            Err(e) => return self.send_error(&e),
        };
        let last = statements.len() - 1;
        for (i, statement) in statements.into_iter().enumerate() {
            self.local.more_results = i < last;
            self.local.failed = false;
            let sent = self.query(statement);
            self.local.more_results = false;
            sent?;
            if self.local.failed {
                break;
            }
        }
        Ok(())
    }

    /// Runs one COM_QUERY statement and queues its response.
    pub(crate) fn query(&mut self, sql: &str) -> io::Result<()> {
        let tokens = match tokenize(sql) {
            Ok(t) => t,
            Err(e) => return self.send_error(&e),
        };
        if tokens.is_empty() {
            return self.send_error(&SqlError::new(ErrorKind::EmptyQuery, "Query was empty"));
        }
        let route = route(&tokens);
        if !matches!(route, Route::ShowWarnings | Route::ShowCountWarnings) {
            self.local.state.warnings.clear();
        }
        let result = match route {
            Route::Set => self.set(&tokens[1..]),
            Route::ShowVariables { global, status } => {
                return self.show_variables(&tokens, global, status);
            }
            Route::ShowWarnings => return self.show_warnings(),
            Route::Account => self.account_statement(sql),
            Route::FlushIgnored => Ok(None),
            Route::AlterInstance => self.alter_instance(&tokens),
            Route::Use => match tokens.get(1) {
                Some(Token::Word(w)) => self.local.use_database(&w.value).map(|()| None),
                _ => Err(SqlError::syntax("USE needs a database name")),
            },
            Route::ShowCountWarnings | Route::Storage => {
                return self.storage_query(sql, Some(&tokens));
            }
        };
        match result {
            Ok(None) => self.send_ok(0, 0),
            Ok(Some((columns, rows))) => self.send_rows(&columns, &rows),
            Err(e) => self.send_error(&e),
        }
    }

    /// Runs a statement in storage; `show_tokens` are its tokens when it may be one of
    /// storage's SHOW forms (recognised from them, so they are not made twice).
    fn storage_query(&mut self, sql: &str, show_tokens: Option<&[Token]>) -> io::Result<()> {
        let ctx = Context::new(&self.local.state);
        let mut writer = results::ResultWriter::text(self.stream, self.local.state.deprecate_eof());
        let shown = match show_tokens {
            Some(tokens) => self.local.engine.show(tokens, &ctx, &mut writer),
            None => Ok(None),
        };
        let outcome = match shown {
            Ok(Some(outcome)) => Ok(outcome),
            Ok(None) => self.local.engine.execute(sql, &ctx, &mut writer),
            Err(e) => Err(e),
        };
        let started = writer.started();
        drop(writer);
        self.finish_statement(outcome, started)
    }

    /// Evaluates an expression with storage's evaluator (`SELECT <expr>`).
    fn evaluate(&mut self, expr: &str) -> Result<Value, SqlError> {
        let ctx = Context::new(&self.local.state);
        let mut capture = Capture { rows: Vec::new() };
        match self
            .local
            .engine
            .execute(&format!("SELECT {expr}"), &ctx, &mut capture)
        {
            Ok(_) => Ok(capture
                .rows
                .into_iter()
                .next()
                .and_then(|r| r.into_iter().next())
                .unwrap_or(Value::Null)),
            Err(crate::storage::ExecError::Sql(e)) => Err(e),
            Err(crate::storage::ExecError::Io(e)) => Err(SqlError::unknown(e.to_string())),
        }
    }

    /// `SET` with any number of comma-separated assignments.
    fn set(&mut self, tokens: &[Token]) -> Result<Option<ServerRows>, SqlError> {
        let lead = words(tokens, 2);
        match lead
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["NAMES", ..] => return self.set_names(&tokens[1..]).map(|()| None),
            ["CHARACTER", "SET"] | ["CHARSET", ..] => {
                let skip = if lead[0] == "CHARSET" { 1 } else { 2 };
                return self.set_names(&tokens[skip..]).map(|()| None);
            }
            ["TRANSACTION", ..] | ["SESSION" | "GLOBAL" | "LOCAL", "TRANSACTION"] => {
                return Ok(None);
            }
            _ => {}
        }
        for assignment in split_top_level(tokens) {
            self.assign(assignment)?;
        }
        Ok(None)
    }

    fn set_names(&mut self, tokens: &[Token]) -> Result<(), SqlError> {
        let charset = match tokens.first().and_then(literal) {
            Some(Value::Text(s)) => s.to_ascii_lowercase(),
            _ => return Err(SqlError::syntax("SET NAMES needs a character set name")),
        };
        if !["utf8mb4", "utf8mb3", "utf8", "latin1", "ascii", "binary"].contains(&charset.as_str())
        {
            return Err(SqlError::new(
                ErrorKind::UnknownCharacterSet,
                format!("Unknown character set: '{charset}'"),
            ));
        }
        let collation = match (word(tokens, 1).as_deref(), tokens.get(2).and_then(literal)) {
            (Some("COLLATE"), Some(Value::Text(c))) => c,
            _ if charset == "utf8mb4" => "utf8mb4_general_ci".into(),
            _ => format!("{charset}_general_ci"),
        };
        for name in [
            "character_set_client",
            "character_set_connection",
            "character_set_results",
        ] {
            self.store_session(name, VarValue::Text(charset.clone()))?;
        }
        self.store_session("collation_connection", VarValue::Text(collation))
    }

    fn store_session(&mut self, name: &str, value: VarValue) -> Result<(), SqlError> {
        let def = vars::lookup(name).ok_or_else(|| unknown_variable(name))?;
        self.local.state.vars.insert(def.name, value);
        Ok(())
    }

    fn assign(&mut self, tokens: &[Token]) -> Result<(), SqlError> {
        let (target, rest) = parse_target(tokens)?;
        let value = match rest {
            [token] => match literal(token) {
                Some(v) => v,
                None => self.evaluate(&render(rest))?,
            },
            [] => return Err(SqlError::syntax("SET needs a value")),
            _ => self.evaluate(&render(rest))?,
        };
        match target {
            Target::User(name) => {
                self.local
                    .state
                    .user_vars
                    .insert(name.to_ascii_lowercase(), value);
                Ok(())
            }
            Target::System { scope, name } => self.set_system(scope, &name, &value, rest),
        }
    }

    fn set_system(
        &mut self,
        scope: VarScope,
        name: &str,
        value: &Value,
        expr: &[Token],
    ) -> Result<(), SqlError> {
        let def = vars::lookup(name).ok_or_else(|| unknown_variable(name))?;
        if !def.settable {
            return Err(SqlError::new(
                ErrorKind::IncorrectGlobalLocalVariable,
                format!("Variable '{}' is a read only variable", def.name),
            ));
        }
        let is_default = matches!(expr, [Token::Word(w)] if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("DEFAULT"));
        match (scope, def.scope) {
            (VarScope::Global, Scope::Session) => Err(SqlError::new(
                ErrorKind::SessionOnlyVariable,
                format!(
                    "Variable '{}' is a SESSION variable and can't be used with SET GLOBAL",
                    def.name
                ),
            )),
            (VarScope::Global, _) | (VarScope::Default, Scope::Global) => {
                if def.scope == Scope::Global && scope != VarScope::Global {
                    return Err(SqlError::new(
                        ErrorKind::GlobalOnlyVariable,
                        format!(
                            "Variable '{}' is a GLOBAL variable and should be set with SET GLOBAL",
                            def.name
                        ),
                    ));
                }
                let v = vars::convert(def, value)?;
                self.set_global(def, v)
            }
            (VarScope::Session, Scope::Global) => Err(SqlError::new(
                ErrorKind::GlobalOnlyVariable,
                format!(
                    "Variable '{}' is a GLOBAL variable and should be set with SET GLOBAL",
                    def.name
                ),
            )),
            _ => {
                if is_default {
                    self.local.state.vars.remove(def.name);
                    if def.name == "autocommit" {
                        self.local.engine.set_autocommit(true)?;
                    }
                    return Ok(());
                }
                let v = vars::convert(def, value)?;
                match (def.name, &v) {
                    ("autocommit", VarValue::Bool(on)) => self.local.engine.set_autocommit(*on)?,
                    ("wait_timeout" | "interactive_timeout" | "net_write_timeout", _) => {}
                    _ => {}
                }
                self.local.state.vars.insert(def.name, v);
                if matches!(
                    def.name,
                    "wait_timeout" | "interactive_timeout" | "net_write_timeout"
                ) {
                    let (wait, write) = (self.local.wait_timeout(), self.local.net_write_timeout());
                    self.control
                        .set_idle_timeouts(wait, write)
                        .map_err(|e| SqlError::unknown(e.to_string()))?;
                }
                Ok(())
            }
        }
    }

    fn set_global(&mut self, def: &'static VarDef, value: VarValue) -> Result<(), SqlError> {
        self.require_any_privilege(&[Privilege::Super, Privilege::SystemVariablesAdmin])?;
        if def.name == "require_secure_transport" {
            let on = matches!(value, VarValue::Bool(true));
            if on && self.local.state.tls.is_none() {
                return Err(SqlError::new(
                    ErrorKind::NoSecureTransport,
                    "require_secure_transport can only be set to ON if the connection issuing the change is secure",
                ));
            }
            self.local.state.shared.accounts.set_persisted(
                vars::PERSISTED_REQUIRE_SECURE_TRANSPORT,
                if on { "ON" } else { "OFF" },
            )?;
            log::info!(
                "require_secure_transport set to {} by '{}'@'{}'",
                if on { "ON" } else { "OFF" },
                crate::logging::field(&self.local.state.identity.user),
                self.local.state.identity.client_host
            );
        }
        self.local.state.shared.globals.set(def.name, value);
        Ok(())
    }

    /// The logged-in account, as stored now (grants change while sessions run).
    pub(crate) fn account(&self) -> Option<Account> {
        self.local
            .state
            .shared
            .accounts
            .get(&self.local.state.account_key())
    }

    /// Fails with 1227 unless the logged-in account holds one of `privileges` globally.
    pub(crate) fn require_any_privilege(&self, privileges: &[Privilege]) -> Result<(), SqlError> {
        match self.account() {
            Some(a) if privileges.iter().any(|p| a.grants.has_global(*p)) => Ok(()),
            _ => Err(specific_access_denied(privileges)),
        }
    }

    /// Account statements (CREATE/ALTER/DROP/RENAME USER, GRANT, REVOKE, SET PASSWORD,
    /// SHOW GRANTS, SHOW CREATE USER, FLUSH PRIVILEGES), run as the logged-in account.
    fn account_statement(&mut self, sql: &str) -> Result<Option<ServerRows>, SqlError> {
        let actor = self.local.state.account_key();
        match account_stmt::run(sql, &self.local.state.shared.accounts, &actor) {
            None => Err(SqlError::syntax(format!("near '{sql}'"))),
            Some(Err(e)) => Err(e),
            Some(Ok(account_stmt::Outcome::Ok { notes, .. })) => {
                self.local.state.warnings.extend(notes);
                Ok(None)
            }
            Some(Ok(account_stmt::Outcome::ResultSet { columns, rows })) => {
                Ok(Some((columns, rows)))
            }
        }
    }

    fn show_variables(&mut self, tokens: &[Token], global: bool, status: bool) -> io::Result<()> {
        let rows = if status {
            status_rows(&self.local.state, global)
        } else {
            variable_rows(&self.local.state, global)
        };
        let filter_at = tokens.iter().position(|t| matches!(t, Token::Word(w) if w.quote_style.is_none() && matches!(w.value.to_ascii_uppercase().as_str(), "LIKE" | "WHERE")));
        let columns = vec![Column::text("Variable_name"), Column::text("Value")];
        match filter_at {
            None => {
                let rows: Vec<Vec<Value>> = rows
                    .into_iter()
                    .map(|(n, v)| vec![Value::Text(n), v])
                    .collect();
                self.send_rows(&columns, &rows)
            }
            Some(i) if word(tokens, i).as_deref() == Some("LIKE") => {
                let Some(Token::SingleQuotedString(pattern) | Token::DoubleQuotedString(pattern)) =
                    tokens.get(i + 1)
                else {
                    return self.send_error(&SqlError::syntax("LIKE needs a quoted pattern"));
                };
                let rows: Vec<Vec<Value>> = rows
                    .into_iter()
                    .filter(|(n, _)| like(pattern, n))
                    .map(|(n, v)| vec![Value::Text(n), v])
                    .collect();
                self.send_rows(&columns, &rows)
            }
            Some(i) => {
                // WHERE can be any expression over the two columns: let storage evaluate it
                // over the same rows, served as a virtual table.
                let table = match (status, global) {
                    (true, true) => "global_status",
                    (true, false) => "session_status",
                    (false, true) => "global_variables",
                    (false, false) => "session_variables",
                };
                let sql = format!(
                    "SELECT * FROM (SELECT VARIABLE_NAME AS Variable_name, VARIABLE_VALUE AS Value FROM performance_schema.{table}) AS v WHERE {}",
                    render(&tokens[i + 1..])
                );
                self.storage_query(&sql, None)
            }
        }
    }

    fn show_warnings(&mut self) -> io::Result<()> {
        let columns = vec![
            Column::text("Level"),
            Column::int("Code"),
            Column::text("Message"),
        ];
        let rows: Vec<Vec<Value>> = self
            .local
            .state
            .warnings
            .iter()
            .map(|w| {
                vec![
                    Value::Text("Warning".into()),
                    Value::Int(i64::from(w.code())),
                    Value::Text(w.message.clone()),
                ]
            })
            .collect();
        self.send_rows(&columns, &rows)
    }

    /// `ALTER INSTANCE RELOAD TLS [FOR CHANNEL mysql_main] [NO ROLLBACK ON ERROR]`.
    fn alter_instance(&mut self, tokens: &[Token]) -> Result<Option<ServerRows>, SqlError> {
        let all: Vec<String> = (0..tokens.len()).map_while(|i| word(tokens, i)).collect();
        if all.len() != tokens.len()
            || all.get(2..4) != Some(&["RELOAD".to_string(), "TLS".to_string()][..])
        {
            return Err(SqlError::not_supported(render(tokens)));
        }
        let mut rest = &all[4..];
        if rest.len() >= 3 && rest[0] == "FOR" && rest[1] == "CHANNEL" {
            if !rest[2].eq_ignore_ascii_case("mysql_main") {
                return Err(SqlError::new(
                    ErrorKind::WrongArguments,
                    format!(
                        "Incorrect arguments to ALTER INSTANCE RELOAD TLS: unknown channel '{}'",
                        rest[2].to_ascii_lowercase()
                    ),
                ));
            }
            rest = &rest[3..];
        }
        let no_rollback = match rest {
            [] => false,
            [a, b, c, d] if [a, b, c, d] == ["NO", "ROLLBACK", "ON", "ERROR"] => true,
            _ => return Err(SqlError::syntax(format!("near '{}'", rest.join(" ")))),
        };
        self.require_any_privilege(&[Privilege::ConnectionAdmin, Privilege::Super])?;
        let who = format!(
            "'{}'@'{}'",
            crate::logging::field(&self.local.state.identity.user),
            self.local.state.identity.client_host
        );
        match self.local.state.shared.reload_tls(no_rollback) {
            Ok(ReloadOutcome::Reloaded) => {
                log::info!(
                    "ALTER INSTANCE RELOAD TLS by {who}: new connections use the reloaded context"
                );
                Ok(None)
            }
            Ok(ReloadOutcome::Disabled(reason)) => {
                self.local.state.warnings.push(SqlError::new(
                    ErrorKind::SslLibrary,
                    format!(
                        "Failed to set up SSL because of the following SSL library error: {reason}"
                    ),
                ));
                Ok(None)
            }
            Err(e) => Err(SqlError::new(
                ErrorKind::SslLibrary,
                format!("Failed to set up SSL because of the following SSL library error: {e}"),
            )),
        }
    }
}

/// Splits `a = 1, b = (2, 3)` at commas outside parentheses.
fn split_top_level(tokens: &[Token]) -> Vec<&[Token]> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, t) in tokens.iter().enumerate() {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::Comma if depth == 0 => {
                parts.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&tokens[start..]);
    parts
}

/// Parses the left side of one assignment; returns the target and the value's tokens.
fn parse_target(tokens: &[Token]) -> Result<(Target, &[Token]), SqlError> {
    let is_assign = |t: Option<&Token>| matches!(t, Some(Token::Eq | Token::Assignment));
    let Some(Token::Word(first)) = tokens.first() else {
        return Err(SqlError::syntax("SET needs a variable name"));
    };
    if let Some(name) = first.value.strip_prefix("@@") {
        // @@name, @@global.name, @@session.name, @@local.name
        let (scope, name, next) = match (
            name.to_ascii_uppercase().as_str(),
            tokens.get(1),
            tokens.get(2),
        ) {
            ("GLOBAL", Some(Token::Period), Some(Token::Word(w))) => {
                (VarScope::Global, w.value.clone(), 3)
            }
            ("SESSION" | "LOCAL", Some(Token::Period), Some(Token::Word(w))) => {
                (VarScope::Session, w.value.clone(), 3)
            }
            _ => (VarScope::Default, name.to_string(), 1),
        };
        if !is_assign(tokens.get(next)) {
            return Err(SqlError::syntax(format!("expected '=' after @@{name}")));
        }
        return Ok((
            Target::System {
                scope: if scope == VarScope::Default {
                    VarScope::Session
                } else {
                    scope
                },
                name,
            },
            &tokens[next + 1..],
        ));
    }
    if let Some(name) = first.value.strip_prefix('@') {
        if name.is_empty() || !is_assign(tokens.get(1)) {
            return Err(SqlError::syntax("expected '=' after the user variable"));
        }
        return Ok((Target::User(name.to_string()), &tokens[2..]));
    }
    let (scope, at) = match first.value.to_ascii_uppercase().as_str() {
        "GLOBAL" => (VarScope::Global, 1),
        "SESSION" | "LOCAL" => (VarScope::Session, 1),
        "PERSIST" | "PERSIST_ONLY" => return Err(SqlError::not_supported("SET PERSIST")),
        _ => (VarScope::Default, 0),
    };
    let Some(Token::Word(name)) = tokens.get(at) else {
        return Err(SqlError::syntax("SET needs a variable name"));
    };
    if !is_assign(tokens.get(at + 1)) {
        return Err(SqlError::syntax(format!(
            "expected '=' after {}",
            name.value
        )));
    }
    Ok((
        Target::System {
            scope,
            name: name.value.clone(),
        },
        &tokens[at + 2..],
    ))
}

/// Turns tokens back into SQL text.
pub(crate) fn render(tokens: &[Token]) -> String {
    tokens
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_routed_by_their_unquoted_leading_words() {
        let cases = [
            ("set password = 'x'", Route::Account),
            ("SET @@session.autocommit = 1", Route::Set),
            (
                "show global status like 'Ssl%'",
                Route::ShowVariables {
                    global: true,
                    status: true,
                },
            ),
            (
                "/* c */ SHOW VARIABLES",
                Route::ShowVariables {
                    global: false,
                    status: false,
                },
            ),
            ("SHOW ERRORS", Route::ShowWarnings),
            ("SHOW COUNT(*) WARNINGS", Route::ShowCountWarnings),
            ("SHOW CREATE USER root", Route::Account),
            ("SHOW CREATE TABLE t", Route::Storage),
            ("rename user a to b", Route::Account),
            ("FLUSH PRIVILEGES", Route::Account),
            ("FLUSH TABLES", Route::FlushIgnored),
            ("ALTER INSTANCE RELOAD TLS", Route::AlterInstance),
            ("USE db", Route::Use),
            ("`SET` x", Route::Storage),
            ("SELECT 'SET'", Route::Storage),
        ];
        for (sql, expected) in cases {
            assert_eq!(route(&tokenize(sql).unwrap()), expected, "{sql}");
        }
    }

    #[test]
    fn statements_split_at_semicolons_outside_quotes_and_comments() {
        let sql = "INSERT INTO t VALUES ('a;b', \"c;d\", `e;f`); -- x;y\nSELECT 'é;' /* ; */ ; SELECT 3;  -- end";
        assert_eq!(
            split_statements(sql).unwrap(),
            vec![
                "INSERT INTO t VALUES ('a;b', \"c;d\", `e;f`)",
                " -- x;y\nSELECT 'é;' /* ; */ ",
                " SELECT 3",
            ]
        );
        assert_eq!(split_statements("SELECT 1;").unwrap(), vec!["SELECT 1"]);
        assert_eq!(split_statements("SELECT 1").unwrap(), vec!["SELECT 1"]);
        assert_eq!(split_statements("").unwrap(), vec![""]);
        assert_eq!(
            split_statements("SELECT 1;;SELECT 2").unwrap(),
            vec!["SELECT 1", "", "SELECT 2"]
        );
        assert!(split_statements("SELECT 'open; SELECT 2").is_err());
    }

    #[test]
    fn semicolons_inside_executable_comments_do_not_split() {
        assert_eq!(
            split_statements("/*!40101 SET a=1; SET b=2 */; SELECT 'é'; SELECT 2").unwrap(),
            vec!["/*!40101 SET a=1; SET b=2 */", " SELECT 'é'", " SELECT 2"]
        );
        assert_eq!(
            split_statements("SELECT 1; /*!40101 SET @x=';' */; SELECT 3").unwrap(),
            vec!["SELECT 1", " /*!40101 SET @x=';' */", " SELECT 3"]
        );
        // Found by the `statement` fuzz target: the location sqlparser gave a semicolon in the
        // comment fell inside a two-byte character, and slicing there panicked.
        let found = "  ;;;;/*!4\u{181}\0\0*;; @;;;\0\0\u{6}\0@\0\u{181}\0\0*/@";
        let statements = split_statements(found).unwrap();
        assert_eq!(
            statements.concat().len() + statements.len() - 1,
            found.len()
        );
    }

    #[test]
    fn like_matches_mysql_style() {
        assert!(like("Ssl%", "Ssl_cipher"));
        assert!(like("ssl\\_cipher", "Ssl_cipher"));
        assert!(!like("ssl\\_cipher", "SslXcipher"));
        assert!(like("Ssl_server_not%", "Ssl_server_not_after"));
        assert!(!like("Ssl-cipher", "Ssl_cipher"));
        assert!(like("%", ""));
    }

    #[test]
    fn set_targets() {
        let t = tokenize("@@session.autocommit = OFF").unwrap();
        let (target, rest) = parse_target(&t).unwrap();
        assert!(
            matches!(target, Target::System { scope: VarScope::Session, ref name } if name == "autocommit")
        );
        assert_eq!(rest.len(), 1);
        let t = tokenize("GLOBAL require_secure_transport := ON").unwrap();
        let (target, _) = parse_target(&t).unwrap();
        assert!(matches!(
            target,
            Target::System {
                scope: VarScope::Global,
                ..
            }
        ));
        let t = tokenize("@x = 1 + 2").unwrap();
        let (target, rest) = parse_target(&t).unwrap();
        assert!(matches!(target, Target::User(ref n) if n == "x"));
        assert_eq!(render(rest), "1 + 2");
        assert!(parse_target(&tokenize("autocommit 1").unwrap()).is_err());
    }

    #[test]
    fn assignments_split_outside_parentheses() {
        let t = tokenize("a = 1, b = f(2, 3), c = 'x,y'").unwrap();
        assert_eq!(split_top_level(&t).len(), 3);
    }
}
