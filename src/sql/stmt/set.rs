//! `SET`: system and user variables, `NAMES`, `CHARACTER SET`, `TRANSACTION`.
//!
//! ```text
//! SET assignment [, assignment]…
//!   assignment: [GLOBAL|SESSION|LOCAL] name {=|:=} value
//!             | @@[global.|session.|local.]name {=|:=} value
//!             | @user_var {=|:=} value
//! SET NAMES charset [COLLATE collation]
//! SET {CHARACTER SET | CHARSET} charset
//! SET [GLOBAL|SESSION|LOCAL] TRANSACTION …   (accepted: tlsql has one isolation level)
//! ```
//!
//! sqlparser's MySQL dialect rejects `:=` and `CHARACTER SET` here, so the grammar is tlsql's;
//! a value of more than one token is an expression parsed by sqlparser from the same tokens and
//! evaluated by storage. MySQL takes a bare word (`ON`, `OFF`, `utf8mb4`) as a string.

use sqlparser::ast::Expr;
use sqlparser::tokenizer::Token;

use super::parser::Parser;
use super::query;
use crate::auth::privileges::Privilege;
use crate::error::{ErrorKind, SqlError};
use crate::protocol::value::{Column, Value};
use crate::sql::context::{Context, unknown_variable};
use crate::sql::exchange::{Exchange, Reply};
use crate::storage::{ExecError, RowSink, VarScope};
use crate::vars::{self, Scope, VarDef, VarValue};

/// A parsed `SET`.
#[derive(Clone, Debug)]
pub enum Set {
    /// Comma-separated assignments, applied in order.
    Assignments(Vec<Assignment>),
    /// `SET NAMES` / `SET CHARACTER SET` / `SET CHARSET`.
    Names {
        /// The character set, lower-cased.
        charset: String,
        /// `COLLATE …`, if given.
        collation: Option<String>,
    },
    /// `SET [scope] TRANSACTION …`: accepted, nothing to do.
    Transaction,
}

/// One `target = value`.
#[derive(Clone, Debug)]
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
        if p.keyword("NAMES") {
            return names(p);
        }
        if p.keywords(&["CHARACTER", "SET"]) || p.keyword("CHARSET") {
            return names(p);
        }
        let start = p.pos;
        for scope in ["SESSION", "GLOBAL", "LOCAL"] {
            if p.keywords(&[scope, "TRANSACTION"]) {
                p.skip_rest();
                return Ok(Set::Transaction);
            }
        }
        if p.keyword("TRANSACTION") {
            p.skip_rest();
            return Ok(Set::Transaction);
        }
        p.pos = start;
        let mut assignments = Vec::new();
        loop {
            let target = target(p)?;
            let value = value(p)?;
            assignments.push(Assignment { target, value });
            if !p.token(&Token::Comma) {
                break;
            }
        }
        p.end()?;
        Ok(Set::Assignments(assignments))
    }

    /// Applies the `SET`.
    pub(crate) fn execute(self, ex: &mut Exchange<'_>) -> Result<Reply, SqlError> {
        match self {
            Set::Assignments(assignments) => {
                for Assignment { target, value } in assignments {
                    assign(ex, target, value)?;
                }
            }
            Set::Names { charset, collation } => set_names(ex, charset, collation)?,
            Set::Transaction => {}
        }
        Ok(Reply::Ok)
    }
}

/// `NAMES`/`CHARACTER SET` after the keywords.
fn names(p: &mut Parser<'_>) -> Result<Set, SqlError> {
    let charset = match p.advance().and_then(literal) {
        Some(Value::Text(s)) => s.to_ascii_lowercase(),
        _ => return Err(SqlError::syntax("SET NAMES needs a character set name")),
    };
    let collation = if p.keyword("COLLATE") {
        match p.advance().and_then(literal) {
            Some(Value::Text(c)) => Some(c),
            _ => return Err(SqlError::syntax("COLLATE needs a collation name")),
        }
    } else {
        None
    };
    p.end()?;
    Ok(Set::Names { charset, collation })
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

fn set_names(
    ex: &mut Exchange<'_>,
    charset: String,
    collation: Option<String>,
) -> Result<(), SqlError> {
    if !["utf8mb4", "utf8mb3", "utf8", "latin1", "ascii", "binary"].contains(&charset.as_str()) {
        return Err(SqlError::new(
            ErrorKind::UnknownCharacterSet,
            format!("Unknown character set: '{charset}'"),
        ));
    }
    let collation = collation.unwrap_or_else(|| match charset.as_str() {
        "utf8mb4" => "utf8mb4_general_ci".into(),
        _ => format!("{charset}_general_ci"),
    });
    for name in [
        "character_set_client",
        "character_set_connection",
        "character_set_results",
    ] {
        store_session(ex, name, VarValue::Text(charset.clone()))?;
    }
    store_session(ex, "collation_connection", VarValue::Text(collation))
}

fn store_session(ex: &mut Exchange<'_>, name: &str, value: VarValue) -> Result<(), SqlError> {
    let def = vars::lookup(name).ok_or_else(|| unknown_variable(name))?;
    ex.state.vars.insert(def.name, value);
    Ok(())
}

fn assign(ex: &mut Exchange<'_>, target: Target, value: SetValue) -> Result<(), SqlError> {
    let is_default = value == SetValue::Default;
    let value = match value {
        // `DEFAULT` resets a session value; elsewhere it is the word.
        SetValue::Default => Value::Text("DEFAULT".into()),
        SetValue::Literal(v) => v,
        SetValue::Expr(expr) => evaluate(ex, *expr)?,
    };
    match target {
        Target::User(name) => {
            ex.state.user_vars.insert(name.to_ascii_lowercase(), value);
            Ok(())
        }
        Target::System { scope, name } => set_system(ex, scope, &name, &value, is_default),
    }
}

/// Evaluates an expression with storage's evaluator (`SELECT <expr>`).
fn evaluate(ex: &mut Exchange<'_>, expr: Expr) -> Result<Value, SqlError> {
    let mut capture = Capture { rows: Vec::new() };
    let ctx = Context::new(ex.state);
    match ex
        .engine
        .execute(query::select_value(expr), &ctx, &mut capture)
    {
        Ok(_) => Ok(capture
            .rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .unwrap_or(Value::Null)),
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

    fn row(&mut self, row: &[Value]) -> std::io::Result<()> {
        self.rows.push(row.to_vec());
        Ok(())
    }
}

fn set_system(
    ex: &mut Exchange<'_>,
    scope: VarScope,
    name: &str,
    value: &Value,
    is_default: bool,
) -> Result<(), SqlError> {
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
            let v = vars::convert(def, value)?;
            set_global(ex, def, v)
        }
        (VarScope::Session, Scope::Global) => Err(global_only()),
        _ => {
            if is_default {
                ex.state.vars.remove(def.name);
                if def.name == "autocommit" {
                    ex.engine.set_autocommit(true)?;
                }
                return Ok(());
            }
            let v = vars::convert(def, value)?;
            if let ("autocommit", VarValue::Bool(on)) = (def.name, &v) {
                ex.engine.set_autocommit(*on)?;
            }
            ex.state.vars.insert(def.name, v);
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
    }
}

fn set_global(
    ex: &mut Exchange<'_>,
    def: &'static VarDef,
    value: VarValue,
) -> Result<(), SqlError> {
    ex.state
        .require_any_privilege(&[Privilege::Super, Privilege::SystemVariablesAdmin])?;
    if def.name == "require_secure_transport" {
        let on = matches!(value, VarValue::Bool(true));
        if on && ex.state.tls.is_none() {
            return Err(SqlError::new(
                ErrorKind::NoSecureTransport,
                "require_secure_transport can only be set to ON if the connection issuing the change is secure",
            ));
        }
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
    ex.state.shared.globals.set(def.name, value);
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

    fn assignments(sql: &str) -> Vec<Assignment> {
        match parsed(sql) {
            Ok(Set::Assignments(a)) => a,
            other => panic!("{sql}: {other:?}"),
        }
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
        assert!(matches!(
            parsed("SET NAMES 'utf8mb4' COLLATE 'utf8mb4_0900_ai_ci'"),
            Ok(Set::Names { charset, collation: Some(c) }) if charset == "utf8mb4" && c == "utf8mb4_0900_ai_ci"
        ));
        assert!(matches!(
            parsed("set character set UTF8"),
            Ok(Set::Names { charset, collation: None }) if charset == "utf8"
        ));
        assert!(matches!(
            parsed("SET charset latin1"),
            Ok(Set::Names { .. })
        ));
        assert!(matches!(
            parsed("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"),
            Ok(Set::Transaction)
        ));
    }
}
