//! `SET`: system and user variables, `NAMES`, `CHARACTER SET`, `TRANSACTION`.
//!
//! ```text
//! SET item [, item]…
//!   item: [GLOBAL|SESSION|LOCAL] name {=|:=} value
//!       | @@[global.|session.|local.]name {=|:=} value
//!       | @user_var {=|:=} value
//!       | NAMES {charset [COLLATE collation] | DEFAULT}
//!       | {CHARACTER SET | CHARSET} {charset | DEFAULT}
//! SET [GLOBAL|SESSION|LOCAL] TRANSACTION characteristic [, characteristic]…
//!   characteristic: ISOLATION LEVEL {READ UNCOMMITTED | READ COMMITTED | REPEATABLE READ
//!                                     | SERIALIZABLE}
//!                 | READ {ONLY | WRITE}
//! ```
//!
//! sqlparser's MySQL dialect rejects `:=` and `CHARACTER SET` here, so the grammar is tlsql's;
//! a value of more than one token is an expression (a subquery too) parsed by sqlparser from the
//! same tokens and evaluated by storage. MySQL takes a bare word (`ON`, `OFF`, `utf8mb4`) as a
//! string. As in MySQL, every item is checked and its value evaluated before any is applied:
//! `SET @old = @@unique_checks, unique_checks = 0` saves the old value, and an item that fails
//! leaves every variable as it was.
//!
//! `SET TRANSACTION` with `SESSION` or `GLOBAL` sets `transaction_isolation` and
//! `transaction_read_only` at that scope; without either it is accepted and changes nothing:
//! SQLite transactions are serializable whatever level is named, which no MySQL isolation
//! level is weaker than.

use sqlparser::ast::Expr;
use sqlparser::tokenizer::Token;

use super::parser::Parser;
use super::query;
use crate::auth::privileges::Privilege;
use crate::charset;
use crate::error::{ErrorKind, SqlError};
use crate::protocol::value::{Cell, Column, Value};
use crate::sql::context::{Context, unknown_variable};
use crate::sql::exchange::{Exchange, Reply};
use crate::storage::{ExecError, RowSink, VarScope};
use crate::vars::{self, Scope, VarDef, VarValue};

/// A parsed `SET`.
#[derive(Clone, Debug)]
pub enum Set {
    /// Comma-separated items, applied in order.
    Items(Vec<Item>),
    /// `SET [scope] TRANSACTION …`.
    Transaction {
        /// `GLOBAL`, `SESSION`/`LOCAL`, or neither (the next transaction only).
        scope: VarScope,
        /// `ISOLATION LEVEL …` as `transaction_isolation` writes it (`READ-COMMITTED`).
        isolation: Option<&'static str>,
        /// `READ ONLY` (true) or `READ WRITE` (false).
        read_only: Option<bool>,
    },
}

/// One item of a `SET` list.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `target = value`.
    Assign(Assignment),
    /// `NAMES charset [COLLATE collation]`; `None`: `NAMES DEFAULT`.
    Names {
        /// The character set, lower-cased; `None` for `DEFAULT`.
        charset: Option<String>,
        /// `COLLATE …`, if given.
        collation: Option<String>,
    },
    /// `CHARACTER SET charset` / `CHARSET charset`; `None` for `DEFAULT`.
    CharacterSet(Option<String>),
}

/// One `target = value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    /// What is set.
    pub target: Target,
    /// To what.
    pub value: SetValue,
}

/// One `SET` target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A system variable at a scope (`Default` when none was named).
    System {
        /// `GLOBAL`, `SESSION`/`LOCAL`, or neither.
        scope: VarScope,
        /// The name as written.
        name: String,
    },
    /// `@name`.
    User(String),
}

/// The right side of an assignment.
#[derive(Clone, Debug, PartialEq)]
pub enum SetValue {
    /// The unquoted word `DEFAULT`.
    Default,
    /// A one-token value: a number, a string, a bare word, `NULL`, `TRUE`, `FALSE`.
    Literal(Value),
    /// Anything longer, for storage to evaluate.
    Expr(Box<Expr>),
}

impl Set {
    /// Parses `SET …` (the parser is at `SET`).
    pub(crate) fn parse(p: &mut Parser<'_>) -> Result<Set, SqlError> {
        p.expect_keyword("SET")?;
        let start = p.pos;
        let scope = if p.keyword("GLOBAL") {
            VarScope::Global
        } else if p.keyword("SESSION") || p.keyword("LOCAL") {
            VarScope::Session
        } else {
            VarScope::Default
        };
        if p.keyword("TRANSACTION") {
            return transaction(p, scope);
        }
        p.pos = start;
        let mut items = Vec::new();
        loop {
            items.push(item(p)?);
            if !p.token(&Token::Comma) {
                break;
            }
        }
        p.end()?;
        Ok(Set::Items(items))
    }

    /// Applies the `SET`: every item is checked (its value evaluated) before any is applied,
    /// so that a failing item changes nothing and every value is read as it was before the
    /// statement (`SET @old = @@x, x = 0` saves the old value), as in MySQL.
    pub(crate) fn execute(self, ex: &mut Exchange<'_>) -> Result<Reply, SqlError> {
        let mut changes = Vec::new();
        match self {
            Set::Items(items) => {
                for item in items {
                    changes.push(match item {
                        Item::Assign(Assignment { target, value }) => check(ex, target, value)?,
                        Item::Names { charset, collation } => names_change(charset, collation)?,
                        Item::CharacterSet(charset) => {
                            Change::CharacterSet(charset_named(charset.as_deref())?)
                        }
                    });
                }
            }
            Set::Transaction {
                scope,
                isolation,
                read_only,
            } => {
                if scope == VarScope::Default {
                    return Ok(Reply::Ok);
                }
                if let Some(level) = isolation {
                    let value = Value::Text(level.to_string());
                    changes.push(check_system(
                        ex,
                        scope,
                        "transaction_isolation",
                        &value,
                        false,
                    )?);
                }
                if let Some(read_only) = read_only {
                    let value = Value::Int(i64::from(read_only));
                    changes.push(check_system(
                        ex,
                        scope,
                        "transaction_read_only",
                        &value,
                        false,
                    )?);
                }
            }
        }
        for change in changes {
            apply(ex, change)?;
        }
        Ok(Reply::Ok)
    }
}

/// `TRANSACTION` characteristics, after the keyword.
fn transaction(p: &mut Parser<'_>, scope: VarScope) -> Result<Set, SqlError> {
    let mut isolation = None;
    let mut read_only = None;
    loop {
        if p.keywords(&["ISOLATION", "LEVEL"]) {
            let level = if p.keywords(&["READ", "UNCOMMITTED"]) {
                "READ-UNCOMMITTED"
            } else if p.keywords(&["READ", "COMMITTED"]) {
                "READ-COMMITTED"
            } else if p.keywords(&["REPEATABLE", "READ"]) {
                "REPEATABLE-READ"
            } else if p.keyword("SERIALIZABLE") {
                "SERIALIZABLE"
            } else {
                return Err(p.error("expected an isolation level"));
            };
            isolation = Some(level);
        } else if p.keywords(&["READ", "ONLY"]) {
            read_only = Some(true);
        } else if p.keywords(&["READ", "WRITE"]) {
            read_only = Some(false);
        } else {
            return Err(p.error("expected ISOLATION LEVEL, READ ONLY or READ WRITE"));
        }
        if !p.token(&Token::Comma) {
            break;
        }
    }
    p.end()?;
    Ok(Set::Transaction {
        scope,
        isolation,
        read_only,
    })
}

/// One item of the list.
fn item(p: &mut Parser<'_>) -> Result<Item, SqlError> {
    if p.keyword("NAMES") {
        if p.keyword("DEFAULT") {
            return Ok(Item::Names {
                charset: None,
                collation: None,
            });
        }
        let charset = word(p, "SET NAMES needs a character set name")?.to_ascii_lowercase();
        let collation = if p.keyword("COLLATE") {
            Some(word(p, "COLLATE needs a collation name")?)
        } else {
            None
        };
        return Ok(Item::Names {
            charset: Some(charset),
            collation,
        });
    }
    if p.keywords(&["CHARACTER", "SET"]) || p.keyword("CHARSET") {
        if p.keyword("DEFAULT") {
            return Ok(Item::CharacterSet(None));
        }
        let charset = word(p, "SET CHARACTER SET needs a character set name")?;
        return Ok(Item::CharacterSet(Some(charset.to_ascii_lowercase())));
    }
    let target = target(p)?;
    let value = value(p)?;
    Ok(Item::Assign(Assignment { target, value }))
}

/// A name written as a word or a string (`utf8mb4`, `'utf8mb4'`, `` `utf8mb4` ``).
fn word(p: &mut Parser<'_>, what: &str) -> Result<String, SqlError> {
    match p.peek().and_then(literal) {
        Some(Value::Text(s)) => {
            p.advance();
            Ok(s)
        }
        _ => Err(p.error(what)),
    }
}
/// The left side of one assignment, through its `=` or `:=`.
fn target(p: &mut Parser<'_>) -> Result<Target, SqlError> {
    let assign = |p: &mut Parser<'_>| p.token(&Token::Eq) || p.token(&Token::Assignment);
    let Some(Token::Word(first)) = p.advance() else {
        return Err(SqlError::syntax("SET needs a variable name"));
    };
    if let Some(name) = first.value.strip_prefix("@@") {
        // @@name, @@global.name, @@session.name, @@local.name
        let scope = match name.to_ascii_uppercase().as_str() {
            "GLOBAL" => Some(VarScope::Global),
            "SESSION" | "LOCAL" => Some(VarScope::Session),
            _ => None,
        };
        let start = p.pos;
        let qualified = match scope {
            Some(scope) if p.token(&Token::Period) => match p.advance() {
                Some(Token::Word(w)) => Some((scope, w.value.clone())),
                _ => None,
            },
            _ => None,
        };
        let (scope, name) = qualified.unwrap_or_else(|| {
            p.pos = start;
            (VarScope::Session, name.to_string())
        });
        if !assign(p) {
            return Err(SqlError::syntax(format!("expected '=' after @@{name}")));
        }
        return Ok(Target::System { scope, name });
    }
    if let Some(name) = first.value.strip_prefix('@') {
        if name.is_empty() || !assign(p) {
            return Err(SqlError::syntax("expected '=' after the user variable"));
        }
        return Ok(Target::User(name.to_string()));
    }
    let scope = match first.value.to_ascii_uppercase().as_str() {
        _ if first.quote_style.is_some() => None,
        "GLOBAL" => Some(VarScope::Global),
        "SESSION" | "LOCAL" => Some(VarScope::Session),
        "PERSIST" | "PERSIST_ONLY" => return Err(SqlError::not_supported("SET PERSIST")),
        _ => None,
    };
    let name = match scope {
        Some(_) => match p.advance() {
            Some(Token::Word(w)) => w.value.clone(),
            _ => return Err(SqlError::syntax("SET needs a variable name")),
        },
        None => first.value.clone(),
    };
    if !assign(p) {
        return Err(SqlError::syntax(format!("expected '=' after {name}")));
    }
    Ok(Target::System {
        scope: scope.unwrap_or(VarScope::Default),
        name,
    })
}

/// The right side of one assignment: up to the next comma or the end.
fn value(p: &mut Parser<'_>) -> Result<SetValue, SqlError> {
    let start = p.mark();
    let Some(first) = p.advance() else {
        return Err(SqlError::syntax("SET needs a value"));
    };
    if p.at_end() || p.peek() == Some(&Token::Comma) {
        if matches!(first, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("DEFAULT"))
        {
            return Ok(SetValue::Default);
        }
        if let Some(v) = literal(first) {
            return Ok(SetValue::Literal(v));
        }
    }
    p.pos = start;
    p.expr().map(|e| SetValue::Expr(Box::new(e)))
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

/// One checked item of a `SET`, applied once every item was checked.
enum Change {
    /// `@name = value`.
    User(String, Value),
    /// A session value (and the variables that change with it).
    Session(&'static VarDef, VarValue),
    /// `SET x = DEFAULT`: the session value goes back to the global one.
    SessionDefault(&'static VarDef),
    /// A global value.
    Global(&'static VarDef, VarValue),
    /// `NAMES`: the client's, connection's and results' character set, and the collation.
    Names(&'static charset::Charset, &'static str),
    /// `CHARACTER SET`.
    CharacterSet(&'static charset::Charset),
}

/// The character set `name` names (`None`: `DEFAULT`, the server's).
fn charset_named(name: Option<&str>) -> Result<&'static charset::Charset, SqlError> {
    match name {
        Some(name) => charset::charset(name).ok_or_else(|| vars::unknown_charset(name)),
        None => Ok(charset::charset("utf8mb4").unwrap_or(&charset::CHARSETS[0])),
    }
}

fn names_change(charset: Option<String>, collation: Option<String>) -> Result<Change, SqlError> {
    let charset = charset_named(charset.as_deref())?;
    let collation = match collation {
        Some(name) => {
            let c =
                charset::collation_named(&name).ok_or_else(|| vars::unknown_collation(&name))?;
            if c.charset != charset.name {
                return Err(SqlError::new(
                    ErrorKind::CollationCharsetMismatch,
                    format!(
                        "COLLATION '{}' is not valid for CHARACTER SET '{}'",
                        c.name, charset.name
                    ),
                ));
            }
            c.name
        }
        None => charset.default_collation,
    };
    Ok(Change::Names(charset, collation))
}

fn store_session(ex: &mut Exchange<'_>, name: &str, value: VarValue) -> Result<(), SqlError> {
    let def = vars::lookup(name).ok_or_else(|| unknown_variable(name))?;
    ex.state.vars.insert(def.name, value);
    Ok(())
}

/// Checks one assignment, its value evaluated now.
fn check(ex: &mut Exchange<'_>, target: Target, value: SetValue) -> Result<Change, SqlError> {
    let is_default = value == SetValue::Default;
    let value = match value {
        // `DEFAULT` resets a session value; elsewhere it is the word.
        SetValue::Default => Value::Text("DEFAULT".into()),
        SetValue::Literal(v) => v,
        SetValue::Expr(expr) => evaluate(ex, *expr)?,
    };
    match target {
        Target::User(name) => Ok(Change::User(name.to_ascii_lowercase(), value)),
        Target::System { scope, name } => check_system(ex, scope, &name, &value, is_default),
    }
}

/// Evaluates an expression with storage's evaluator (`SELECT <expr>`).
pub(super) fn evaluate(ex: &mut Exchange<'_>, expr: Expr) -> Result<Value, SqlError> {
    Ok(evaluate_query(ex, query::select_value(expr))?
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next())
        .unwrap_or(Value::Null))
}

/// Runs a statement the server built in storage, for the server itself: its rows, if any.
pub(super) fn evaluate_query(
    ex: &mut Exchange<'_>,
    statement: sqlparser::ast::Statement,
) -> Result<Vec<Vec<Value>>, SqlError> {
    let mut capture = Capture { rows: Vec::new() };
    let ctx = Context::new(ex.state);
    match ex.engine.execute(statement, &ctx, &mut capture) {
        Ok(_) => Ok(capture.rows),
        Err(ExecError::Sql(e)) => Err(e),
        Err(ExecError::Io(e)) => Err(SqlError::unknown(e.to_string())),
    }
}

/// Collects the rows of a `SELECT` the server runs for itself.
struct Capture {
    rows: Vec<Vec<Value>>,
}

impl RowSink for Capture {
    fn columns(&mut self, _: &[Column]) -> std::io::Result<()> {
        Ok(())
    }

    fn row(&mut self, row: &[Cell<'_>]) -> std::io::Result<()> {
        self.rows.push(row.iter().map(|c| c.to_value()).collect());
        Ok(())
    }
}

/// Checks a system variable assignment: the name, the scope, the privilege for `GLOBAL`, the
/// value.
fn check_system(
    ex: &mut Exchange<'_>,
    scope: VarScope,
    name: &str,
    value: &Value,
    is_default: bool,
) -> Result<Change, SqlError> {
    let def = vars::lookup(name).ok_or_else(|| unknown_variable(name))?;
    if !def.settable {
        return Err(SqlError::new(
            ErrorKind::IncorrectGlobalLocalVariable,
            format!("Variable '{}' is a read only variable", def.name),
        ));
    }
    let global_only = || {
        SqlError::new(
            ErrorKind::GlobalOnlyVariable,
            format!(
                "Variable '{}' is a GLOBAL variable and should be set with SET GLOBAL",
                def.name
            ),
        )
    };
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
                return Err(global_only());
            }
            ex.state
                .require_any_privilege(&[Privilege::Super, Privilege::SystemVariablesAdmin])?;
            let current = crate::sql::variables::global_value(&ex.state.shared, def);
            let v = vars::convert(def, value, &current)?;
            if def.name == "require_secure_transport"
                && matches!(v, VarValue::Bool(true))
                && ex.state.tls.is_none()
            {
                return Err(SqlError::new(
                    ErrorKind::NoSecureTransport,
                    "require_secure_transport can only be set to ON if the connection issuing the change is secure",
                ));
            }
            Ok(Change::Global(def, v))
        }
        (VarScope::Session, Scope::Global) => Err(global_only()),
        _ if is_default => Ok(Change::SessionDefault(def)),
        _ => Ok(Change::Session(
            def,
            vars::convert(def, value, &ex.state.session_value(def))?,
        )),
    }
}

/// Applies one checked change.
fn apply(ex: &mut Exchange<'_>, change: Change) -> Result<(), SqlError> {
    match change {
        Change::User(name, value) => {
            ex.state.user_vars.insert(name, value);
        }
        Change::Names(charset, collation) => {
            let name = VarValue::Text(charset.name.to_string());
            for var in [
                "character_set_client",
                "character_set_connection",
                "character_set_results",
            ] {
                store_session(ex, var, name.clone())?;
            }
            store_session(
                ex,
                "collation_connection",
                VarValue::Text(collation.to_string()),
            )?;
        }
        Change::CharacterSet(charset) => {
            // The client's and the results' character set; the connection's is the database's
            // again, as in MySQL.
            let name = VarValue::Text(charset.name.to_string());
            store_session(ex, "character_set_client", name.clone())?;
            store_session(ex, "character_set_results", name)?;
            for (to, from) in [
                ("character_set_connection", "character_set_database"),
                ("collation_connection", "collation_database"),
            ] {
                let def = vars::lookup(from).ok_or_else(|| unknown_variable(from))?;
                let value = ex.state.session_value(def);
                store_session(ex, to, value)?;
            }
        }
        Change::SessionDefault(def) => {
            for name in linked(def.name) {
                ex.state.vars.remove(name);
            }
            match def.name {
                "autocommit" => ex.engine.set_autocommit(true)?,
                "foreign_key_checks" => ex.engine.set_foreign_key_checks(true)?,
                _ => {}
            }
            timeouts_changed(ex, def)?;
        }
        Change::Session(def, value) => {
            match (def.name, &value) {
                ("autocommit", VarValue::Bool(on)) => ex.engine.set_autocommit(*on)?,
                // Storage enforces foreign keys (restores turn the checks off while they load).
                ("foreign_key_checks", VarValue::Bool(on)) => {
                    ex.engine.set_foreign_key_checks(*on)?
                }
                _ => {}
            }
            for (name, value) in with_linked(def.name, value) {
                ex.state.vars.insert(name, value);
            }
            timeouts_changed(ex, def)?;
        }
        Change::Global(def, value) => set_global(ex, def, value)?,
    }
    Ok(())
}

/// Gives the socket the session's timeouts again after `def` changed, if it is one of them.
fn timeouts_changed(ex: &mut Exchange<'_>, def: &VarDef) -> Result<(), SqlError> {
    if matches!(
        def.name,
        "wait_timeout" | "interactive_timeout" | "net_write_timeout"
    ) {
        let (wait, write) = (ex.state.wait_timeout(), ex.state.net_write_timeout());
        ex.control
            .set_idle_timeouts(wait, write)
            .map_err(|e| SqlError::unknown(e.to_string()))?;
    }
    Ok(())
}

/// `name` and the variables that change with it (its alias; the character set of a collation
/// variable and the other way round), as `(name, value)` pairs for `value` of `name`.
fn with_linked(name: &'static str, value: VarValue) -> Vec<(&'static str, VarValue)> {
    let mut set = vec![(name, value.clone())];
    if let Some(alias) = vars::alias_of(name).and_then(vars::lookup) {
        set.push((alias.name, value.clone()));
    }
    let VarValue::Text(text) = &value else {
        return set;
    };
    for (charset_var, collation_var) in CHARSET_PAIRS {
        if name == *collation_var
            && let Some(c) = charset::collation_named(text)
        {
            set.push((charset_var, VarValue::Text(c.charset.to_string())));
        }
        if name == *charset_var
            && let Some(cs) = charset::charset(text)
        {
            set.push((
                collation_var,
                VarValue::Text(cs.default_collation.to_string()),
            ));
        }
    }
    set
}

/// `name` and the variables [`with_linked`] sets with it (what `SET x = DEFAULT` resets).
fn linked(name: &'static str) -> Vec<&'static str> {
    with_linked(name, VarValue::Text(String::new()))
        .into_iter()
        .map(|(n, _)| n)
        .chain(
            CHARSET_PAIRS
                .iter()
                .filter(|(cs, coll)| *cs == name || *coll == name)
                .flat_map(|(cs, coll)| [*cs, *coll]),
        )
        .collect()
}

/// The character set variables and the collation variables that go with them.
const CHARSET_PAIRS: &[(&str, &str)] = &[
    ("character_set_connection", "collation_connection"),
    ("character_set_database", "collation_database"),
    ("character_set_server", "collation_server"),
];

/// A checked global value: stored (and persisted for `require_secure_transport`).
fn set_global(
    ex: &mut Exchange<'_>,
    def: &'static VarDef,
    value: VarValue,
) -> Result<(), SqlError> {
    if def.name == "require_secure_transport" {
        let on = matches!(value, VarValue::Bool(true));
        ex.state.shared.accounts.set_persisted(
            vars::PERSISTED_REQUIRE_SECURE_TRANSPORT,
            if on { "ON" } else { "OFF" },
        )?;
        log::info!(
            "require_secure_transport set to {} by '{}'@'{}'",
            if on { "ON" } else { "OFF" },
            crate::logging::field(&ex.state.identity.user),
            ex.state.identity.client_host
        );
    }
    for (name, value) in with_linked(def.name, value) {
        ex.state.shared.globals.set(name, value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::tokenize;

    fn parsed(sql: &str) -> Result<Set, SqlError> {
        let source = tokenize(sql).unwrap();
        Set::parse(&mut Parser::new(&source))
    }

    fn items(sql: &str) -> Vec<Item> {
        match parsed(sql) {
            Ok(Set::Items(items)) => items,
            other => panic!("{sql}: {other:?}"),
        }
    }

    fn assignments(sql: &str) -> Vec<Assignment> {
        items(sql)
            .into_iter()
            .map(|item| match item {
                Item::Assign(a) => a,
                other => panic!("{sql}: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn set_targets() {
        let a = assignments("SET @@session.autocommit = OFF");
        assert_eq!(
            a[0].target,
            Target::System {
                scope: VarScope::Session,
                name: "autocommit".into()
            }
        );
        assert_eq!(a[0].value, SetValue::Literal(Value::Text("OFF".into())));
        let a = assignments("SET GLOBAL require_secure_transport := ON");
        assert!(matches!(
            a[0].target,
            Target::System {
                scope: VarScope::Global,
                ..
            }
        ));
        let a = assignments("SET @x = 1 + 2");
        assert_eq!(a[0].target, Target::User("x".into()));
        assert!(matches!(&a[0].value, SetValue::Expr(e) if e.to_string() == "1 + 2"));
        let a = assignments("SET @@wait_timeout = DEFAULT, LOCAL sql_mode = ''");
        assert_eq!(
            a[0].target,
            Target::System {
                scope: VarScope::Session,
                name: "wait_timeout".into()
            }
        );
        assert_eq!(a[0].value, SetValue::Default);
        assert_eq!(a[1].value, SetValue::Literal(Value::Text(String::new())));
        assert!(parsed("SET autocommit 1").is_err());
        assert_eq!(
            parsed("SET PERSIST x = 1").unwrap_err().kind,
            ErrorKind::NotSupported
        );
    }

    #[test]
    fn assignments_split_outside_parentheses() {
        let a = assignments("SET a = 1, b = f(2, 3), c = 'x,y'");
        assert_eq!(a.len(), 3);
        assert!(matches!(&a[1].value, SetValue::Expr(e) if e.to_string() == "f(2, 3)"));
        assert_eq!(a[2].value, SetValue::Literal(Value::Text("x,y".into())));
    }

    #[test]
    fn names_and_transactions() {
        assert_eq!(
            items("SET NAMES 'utf8mb4' COLLATE 'utf8mb4_0900_ai_ci'"),
            [Item::Names {
                charset: Some("utf8mb4".into()),
                collation: Some("utf8mb4_0900_ai_ci".into())
            }]
        );
        assert_eq!(
            items("set character set UTF8"),
            [Item::CharacterSet(Some("utf8".into()))]
        );
        assert_eq!(
            items("SET charset DEFAULT, NAMES DEFAULT"),
            [
                Item::CharacterSet(None),
                Item::Names {
                    charset: None,
                    collation: None
                }
            ]
        );
        assert!(matches!(
            parsed("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"),
            Ok(Set::Transaction {
                scope: VarScope::Session,
                isolation: Some("READ-COMMITTED"),
                read_only: None
            })
        ));
        assert!(matches!(
            parsed("SET TRANSACTION READ ONLY, ISOLATION LEVEL REPEATABLE READ"),
            Ok(Set::Transaction {
                scope: VarScope::Default,
                isolation: Some("REPEATABLE-READ"),
                read_only: Some(true)
            })
        ));
        assert_eq!(
            parsed("SET GLOBAL TRANSACTION ISOLATION LEVEL SOMETIMES")
                .unwrap_err()
                .code(),
            1064
        );
    }

    #[test]
    fn lists_mix_names_assignments_and_subqueries() {
        let items = items(
            "SET sql_mode=(SELECT CONCAT(@@sql_mode, ',PIPES_AS_CONCAT')),time_zone='+00:00',NAMES utf8mb4 COLLATE utf8mb4_unicode_ci",
        );
        assert_eq!(items.len(), 3);
        assert!(
            matches!(&items[0], Item::Assign(Assignment { value: SetValue::Expr(e), .. }) if matches!(**e, Expr::Subquery(_)))
        );
        assert_eq!(
            items[2],
            Item::Names {
                charset: Some("utf8mb4".into()),
                collation: Some("utf8mb4_unicode_ci".into())
            }
        );
        let a = assignments("SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0");
        assert_eq!(a[0].target, Target::User("OLD_UNIQUE_CHECKS".into()));
        assert!(matches!(&a[0].value, SetValue::Expr(e) if e.to_string() == "@@UNIQUE_CHECKS"));
        assert_eq!(a[1].value, SetValue::Literal(Value::Int(0)));
    }
}
