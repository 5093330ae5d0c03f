//! Account statements: parsing and execution.
//!
//! ```text
//! CREATE USER [IF NOT EXISTS] user [auth] [, user [auth]]… [REQUIRE …] [ACCOUNT LOCK|UNLOCK]
//! ALTER USER [IF EXISTS] user [auth] [, user [auth]]… [REQUIRE …] [ACCOUNT LOCK|UNLOCK]
//! ALTER USER USER() IDENTIFIED BY 'pw'
//! DROP USER [IF EXISTS] user [, user]…
//! RENAME USER user TO user [, user TO user]…
//! SET PASSWORD [FOR user] = 'pw'
//! GRANT privs ON *.*|db.* TO user [, user]… [REQUIRE …] [WITH GRANT OPTION]
//! REVOKE privs ON *.*|db.* FROM user [, user]…
//! REVOKE ALL [PRIVILEGES], GRANT OPTION FROM user [, user]…
//! SHOW GRANTS [FOR user]
//! SHOW CREATE USER user
//! FLUSH PRIVILEGES
//!
//! auth: IDENTIFIED BY 'pw' | IDENTIFIED WITH plugin [BY 'pw' | AS 'stored']
//! user: 'u'@'h' | u@h | `u`@`h` | "u"@"h" | 'u' (host '%') | CURRENT_USER[()]
//! ```
//!
//! `PASSWORD EXPIRE DEFAULT`, `PASSWORD HISTORY DEFAULT`, `PASSWORD REUSE INTERVAL DEFAULT` and
//! `PASSWORD REQUIRE CURRENT DEFAULT` are accepted and ignored so that `SHOW CREATE USER` output
//! can be replayed; other password-policy and resource-limit options are 1235.
//!
//! # Why a hand-written parser
//!
//! sqlparser 0.64 (MySQL dialect) rejects `CREATE USER 'u'@'h' …`, `ALTER USER 'u'@'h' …`,
//! `DROP USER 'u'@'h'`, `RENAME USER`, `SET PASSWORD FOR`, `SHOW CREATE USER` and
//! `GRANT … REQUIRE …`, and parses `SHOW GRANTS FOR 'u'@'h'` as `SHOW GRANTS FOR` — dropping
//! the account (checked with sqlparser's `Parser::parse_sql`). So these statements are parsed by
//! recursive descent over sqlparser's MySQL tokenizer, which handles quoting and escapes. Its
//! tokens split unquoted account names oddly (`root@127.0.0.1` becomes `root@127` `.` `0.0`
//! `.1`), so unquoted host names are rebuilt from adjacent tokens.
//!
//! # Semantics
//!
//! A clause that is not given leaves that property unchanged: `ALTER USER … ACCOUNT LOCK`
//! keeps the password and `REQUIRE` (TiDB #70269), `ALTER USER … REQUIRE SSL` keeps the
//! password (TiDB #25225), `GRANT` without `REQUIRE` keeps `REQUIRE`; `REQUIRE NONE` clears it.
//! `IDENTIFIED WITH plugin` without `BY`/`AS` switches the plugin and clears the password, as
//! MySQL does. Every statement is atomic: if one account fails, none changes.
//!
//! # Privileges checked
//!
//! The acting account's privileges are read from the store when the statement runs, so a
//! `REVOKE` takes effect on the next statement of every session.
//!
//! | statement | needs |
//! |---|---|
//! | `CREATE USER`, `DROP USER`, `RENAME USER`, `REVOKE ALL …, GRANT OPTION` | `CREATE USER` (else 1227) |
//! | `ALTER USER`, `SET PASSWORD` | `CREATE USER`, except for changing one's own password (`IDENTIFIED BY`) |
//! | `GRANT`/`REVOKE privs ON level` | `GRANT OPTION` and the privileges themselves at that level (global ones count for every database); else 1227 for `*.*`, 1044 for `db.*` |
//! | `GRANT … REQUIRE …` | additionally `CREATE USER` (it changes an account property) |
//! | `SHOW GRANTS FOR` / `SHOW CREATE USER` another account | global `SELECT` or `CREATE USER` (else 1044 on database `mysql`, as MySQL says) |
//! | `FLUSH PRIVILEGES` | `RELOAD` |

use std::fmt;

use sqlparser::tokenizer::Token;

use super::parser::Parser;
use crate::sql::exchange::{Exchange, Reply};

use crate::auth::account::{Account, AccountKey};
use crate::auth::accounts::AccountStore;
use crate::auth::privileges::{
    Grants, Privilege, PrivilegeLevel, PrivilegeSet, db_access_denied, specific_access_denied,
};
use crate::auth::require::{RequireClause, TlsRequirement, quote};
use crate::auth::{Password, Plugin};
use crate::error::{ErrorKind, SqlError};
use crate::protocol::value::{Column, Value};

/// Longest user name MySQL accepts (`USERNAME_CHAR_LENGTH`).
const MAX_USER_LEN: usize = 32;
/// Longest host name MySQL accepts (`HOSTNAME_LENGTH`).
const MAX_HOST_LEN: usize = 255;

/// An account named in a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserRef {
    /// `'u'@'h'` (host lower-cased, as MySQL stores it; `%` when omitted).
    Named(AccountKey),
    /// `CURRENT_USER`, `CURRENT_USER()`, `USER()`: the acting account.
    CurrentUser,
}

impl UserRef {
    fn resolve(&self, actor: &AccountKey) -> AccountKey {
        match self {
            UserRef::Named(key) => key.clone(),
            UserRef::CurrentUser => actor.clone(),
        }
    }
}

/// A stored credential given with `AS`. `Debug` is redacted like a password.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// `BY 'pw'`: hashed with the plugin when executed.
    Password(Password),
    /// `AS 'stored'`: the plugin's stored form, checked when executed (1827 if malformed).
    Stored(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Password(p) => write!(f, "Password({p:?})"),
            Credential::Stored(_) => f.write_str("Stored(<redacted>)"),
        }
    }
}

/// `IDENTIFIED …`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthOption {
    /// `IDENTIFIED BY 'pw'`: new password, plugin unchanged (the default plugin for a new
    /// account).
    Password(Password),
    /// `IDENTIFIED WITH plugin [BY 'pw' | AS 'stored']`; no credential means an empty password.
    Plugin {
        /// The plugin.
        plugin: Plugin,
        /// The credential, if any.
        credential: Option<Credential>,
    },
}

/// One account of a `CREATE USER` / `ALTER USER` list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSpec {
    /// The account.
    pub user: UserRef,
    /// Its `IDENTIFIED` clause, if given.
    pub auth: Option<AuthOption>,
}

/// Account properties set by `CREATE USER` / `ALTER USER`; `None` means "not given".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountOptions {
    /// `REQUIRE …`.
    pub require: Option<TlsRequirement>,
    /// `ACCOUNT LOCK` (true) / `ACCOUNT UNLOCK` (false).
    pub locked: Option<bool>,
}

/// The privileges of a `GRANT`/`REVOKE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrivilegeList {
    /// `ALL [PRIVILEGES]`: every privilege of the level, without `GRANT OPTION`.
    All,
    /// Named privileges (empty for `USAGE`).
    Set(PrivilegeSet),
}

impl PrivilegeList {
    fn resolve(self, level: &PrivilegeLevel) -> PrivilegeSet {
        match self {
            PrivilegeList::All => PrivilegeSet::all(level),
            PrivilegeList::Set(set) => set,
        }
    }
}

/// A parsed account statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountStatement {
    /// `CREATE USER`.
    CreateUser {
        /// `IF NOT EXISTS`.
        if_not_exists: bool,
        /// The accounts.
        users: Vec<UserSpec>,
        /// `REQUIRE`, `ACCOUNT`.
        options: AccountOptions,
    },
    /// `ALTER USER`.
    AlterUser {
        /// `IF EXISTS`.
        if_exists: bool,
        /// The accounts.
        users: Vec<UserSpec>,
        /// `REQUIRE`, `ACCOUNT`.
        options: AccountOptions,
    },
    /// `DROP USER`.
    DropUser {
        /// `IF EXISTS`.
        if_exists: bool,
        /// The accounts.
        users: Vec<UserRef>,
    },
    /// `RENAME USER from TO to, …`.
    RenameUser {
        /// The renames, applied in order.
        renames: Vec<(UserRef, UserRef)>,
    },
    /// `SET PASSWORD [FOR user] = 'pw'`.
    SetPassword {
        /// The account (`None`: the acting account).
        user: Option<UserRef>,
        /// The new password.
        password: Password,
    },
    /// `GRANT privs ON level TO users [REQUIRE …] [WITH GRANT OPTION]`.
    Grant {
        /// The privileges.
        privileges: PrivilegeList,
        /// `*.*` or `db.*`.
        level: PrivilegeLevel,
        /// The grantees (they must exist).
        users: Vec<UserRef>,
        /// `REQUIRE …`, if given.
        require: Option<TlsRequirement>,
        /// `WITH GRANT OPTION`.
        with_grant_option: bool,
    },
    /// `REVOKE privs ON level FROM users`.
    Revoke {
        /// The privileges.
        privileges: PrivilegeList,
        /// `*.*` or `db.*`.
        level: PrivilegeLevel,
        /// The accounts.
        users: Vec<UserRef>,
    },
    /// `REVOKE ALL [PRIVILEGES], GRANT OPTION FROM users`: every privilege at every level.
    RevokeAll {
        /// The accounts.
        users: Vec<UserRef>,
    },
    /// `SHOW GRANTS [FOR user]`.
    ShowGrants {
        /// The account (`None`: the acting account).
        user: Option<UserRef>,
    },
    /// `SHOW CREATE USER user`.
    ShowCreateUser {
        /// The account.
        user: UserRef,
    },
    /// `FLUSH PRIVILEGES`.
    FlushPrivileges,
}

/// What a statement returns to the client.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// An OK packet.
    Ok {
        /// Affected rows (0 for account statements, as MySQL).
        affected_rows: u64,
        /// Notes for the warning count and `SHOW WARNINGS`.
        notes: Vec<SqlError>,
    },
    /// A text result set (`SHOW GRANTS`, `SHOW CREATE USER`).
    ResultSet {
        /// Columns.
        columns: Vec<Column>,
        /// Rows.
        rows: Vec<Vec<Value>>,
    },
}

impl Outcome {
    fn ok(notes: Vec<SqlError>) -> Self {
        Outcome::Ok {
            affected_rows: 0,
            notes,
        }
    }
}

/// Runs an account statement as the session's account; its notes become the session's
/// warnings.
pub(crate) fn execute_for(
    stmt: &AccountStatement,
    ex: &mut Exchange<'_>,
) -> Result<Reply, SqlError> {
    let actor = ex.state.account_key();
    match execute(stmt, &ex.state.shared.accounts, &actor)? {
        Outcome::Ok { notes, .. } => {
            ex.state.warnings.extend(notes);
            Ok(Reply::Ok)
        }
        Outcome::ResultSet { columns, rows } => Ok(Reply::Rows { columns, rows }),
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// The statement kinds this module owns, by their leading keywords.
const LEADING: &[&[&str]] = &[
    &["CREATE", "USER"],
    &["ALTER", "USER"],
    &["DROP", "USER"],
    &["RENAME", "USER"],
    &["SET", "PASSWORD"],
    &["GRANT"],
    &["REVOKE"],
    &["SHOW", "GRANTS"],
    &["SHOW", "CREATE", "USER"],
    &["FLUSH", "PRIVILEGES"],
    &["FLUSH", "LOCAL", "PRIVILEGES"],
    &["FLUSH", "NO_WRITE_TO_BINLOG", "PRIVILEGES"],
];

/// Whether the statement at `p` is an account statement, by its leading keywords.
pub(crate) fn starts(p: &mut Parser<'_>) -> bool {
    LEADING.iter().any(|lead| p.at_keywords(lead))
}

/// Parses an account statement (one that [`starts`] claims): 1064, or a more specific error,
/// if it is malformed.
pub(crate) fn parse(p: &mut Parser<'_>) -> Result<AccountStatement, SqlError> {
    statement(p)
}

/// The text of a token that can be part of an unquoted host name.
fn host_piece(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.clone()),
        Token::Number(n, _) => Some(n.clone()),
        Token::Period => Some(".".into()),
        Token::Mod => Some("%".into()),
        Token::Minus => Some("-".into()),
        Token::Colon => Some(":".into()),
        Token::DoubleColon => Some("::".into()),
        _ => None,
    }
}

fn statement(p: &mut Parser<'_>) -> Result<AccountStatement, SqlError> {
    let stmt = if p.keywords(&["CREATE", "USER"]) {
        let if_not_exists = p.keywords(&["IF", "NOT", "EXISTS"]);
        let users = user_specs(p)?;
        let options = account_options(p)?;
        AccountStatement::CreateUser {
            if_not_exists,
            users,
            options,
        }
    } else if p.keywords(&["ALTER", "USER"]) {
        let if_exists = p.keywords(&["IF", "EXISTS"]);
        let users = user_specs(p)?;
        let options = account_options(p)?;
        AccountStatement::AlterUser {
            if_exists,
            users,
            options,
        }
    } else if p.keywords(&["DROP", "USER"]) {
        let if_exists = p.keywords(&["IF", "EXISTS"]);
        AccountStatement::DropUser {
            if_exists,
            users: user_list(p)?,
        }
    } else if p.keywords(&["RENAME", "USER"]) {
        let mut renames = Vec::new();
        loop {
            let from = user(p)?;
            p.expect_keyword("TO")?;
            renames.push((from, user(p)?));
            if !p.token(&Token::Comma) {
                break;
            }
        }
        AccountStatement::RenameUser { renames }
    } else if p.keywords(&["SET", "PASSWORD"]) {
        let user = if p.keyword("FOR") {
            Some(user(p)?)
        } else {
            None
        };
        p.expect_token(&Token::Eq, "=")?;
        let password = if p.keyword("PASSWORD") {
            // MySQL 5.7's `= PASSWORD('pw')`.
            p.expect_token(&Token::LParen, "(")?;
            let pw = p.string("the password")?;
            p.expect_token(&Token::RParen, ")")?;
            pw
        } else {
            p.string("the password")?
        };
        AccountStatement::SetPassword {
            user,
            password: Password::new(password),
        }
    } else if p.keyword("GRANT") {
        let privileges = privilege_list(p)?;
        p.expect_keyword("ON")?;
        let level = level(p)?;
        p.expect_keyword("TO")?;
        let users = user_list(p)?;
        let require = if p.keyword("REQUIRE") {
            Some(require(p)?)
        } else {
            None
        };
        let with_grant_option = p.keywords(&["WITH", "GRANT", "OPTION"]);
        if p.at_keyword("WITH") {
            return Err(SqlError::not_supported("GRANT … WITH resource limits"));
        }
        AccountStatement::Grant {
            privileges,
            level,
            users,
            require,
            with_grant_option,
        }
    } else if p.keyword("REVOKE") {
        let start = p.pos;
        if p.keyword("ALL") {
            p.keyword("PRIVILEGES");
            if p.token(&Token::Comma) {
                if !p.keywords(&["GRANT", "OPTION"]) {
                    return Err(p.error("expected GRANT OPTION"));
                }
                p.expect_keyword("FROM")?;
                let users = user_list(p)?;
                p.end()?;
                return Ok(AccountStatement::RevokeAll { users });
            }
        }
        p.pos = start;
        let privileges = privilege_list(p)?;
        p.expect_keyword("ON")?;
        let level = level(p)?;
        p.expect_keyword("FROM")?;
        AccountStatement::Revoke {
            privileges,
            level,
            users: user_list(p)?,
        }
    } else if p.keywords(&["SHOW", "GRANTS"]) {
        let user = if p.keyword("FOR") {
            Some(user(p)?)
        } else {
            None
        };
        if p.at_keyword("USING") {
            return Err(SqlError::not_supported("SHOW GRANTS … USING (roles)"));
        }
        AccountStatement::ShowGrants { user }
    } else if p.keywords(&["SHOW", "CREATE", "USER"]) {
        AccountStatement::ShowCreateUser { user: user(p)? }
    } else if p.keyword("FLUSH") {
        if !p.keyword("LOCAL") {
            p.keyword("NO_WRITE_TO_BINLOG");
        }
        p.expect_keyword("PRIVILEGES")?;
        AccountStatement::FlushPrivileges
    } else {
        return Err(p.error("expected an account statement"));
    };
    p.end()?;
    Ok(stmt)
}

fn user_list(p: &mut Parser<'_>) -> Result<Vec<UserRef>, SqlError> {
    let mut users = vec![user(p)?];
    while p.token(&Token::Comma) {
        users.push(user(p)?);
    }
    Ok(users)
}

fn user_specs(p: &mut Parser<'_>) -> Result<Vec<UserSpec>, SqlError> {
    let mut users = Vec::new();
    loop {
        let user = user(p)?;
        let auth = if p.keyword("IDENTIFIED") {
            Some(auth_option(p)?)
        } else {
            None
        };
        users.push(UserSpec { user, auth });
        if !p.token(&Token::Comma) {
            return Ok(users);
        }
    }
}

fn auth_option(p: &mut Parser<'_>) -> Result<AuthOption, SqlError> {
    if p.keyword("BY") {
        if p.at_keyword("RANDOM") {
            return Err(SqlError::not_supported("IDENTIFIED BY RANDOM PASSWORD"));
        }
        return Ok(AuthOption::Password(Password::new(
            p.string("the password")?,
        )));
    }
    if !p.keyword("WITH") {
        return Err(p.error("expected BY or WITH after IDENTIFIED"));
    }
    let at = p.mark();
    let name = match p.advance() {
        Some(Token::Word(w)) => w.value.clone(),
        Some(Token::SingleQuotedString(s) | Token::DoubleQuotedString(s)) => s.clone(),
        _ => {
            p.pos = at;
            return Err(p.error("expected a plugin name"));
        }
    };
    let plugin = Plugin::from_name(&name).ok_or_else(|| {
        SqlError::new(
            ErrorKind::PluginNotLoaded,
            format!("Plugin '{name}' is not loaded"),
        )
    })?;
    let credential = if p.keyword("BY") {
        if p.at_keyword("RANDOM") {
            return Err(SqlError::not_supported(
                "IDENTIFIED WITH … BY RANDOM PASSWORD",
            ));
        }
        Some(Credential::Password(Password::new(
            p.string("the password")?,
        )))
    } else if p.keyword("AS") {
        Some(Credential::Stored(p.string("the stored password hash")?))
    } else {
        None
    };
    Ok(AuthOption::Plugin { plugin, credential })
}

fn account_options(p: &mut Parser<'_>) -> Result<AccountOptions, SqlError> {
    let mut options = AccountOptions::default();
    loop {
        if p.keyword("REQUIRE") {
            if options.require.is_some() {
                p.pos -= 1;
                return Err(p.error("REQUIRE given twice"));
            }
            options.require = Some(require(p)?);
        } else if p.keyword("ACCOUNT") {
            if p.keyword("LOCK") {
                options.locked = Some(true);
            } else if p.keyword("UNLOCK") {
                options.locked = Some(false);
            } else {
                return Err(p.error("expected LOCK or UNLOCK after ACCOUNT"));
            }
        } else if p.at_keyword("PASSWORD") {
            // Only the defaults SHOW CREATE USER prints: tlsql has no password policies.
            let defaults: [&[&str]; 4] = [
                &["PASSWORD", "EXPIRE", "DEFAULT"],
                &["PASSWORD", "HISTORY", "DEFAULT"],
                &["PASSWORD", "REUSE", "INTERVAL", "DEFAULT"],
                &["PASSWORD", "REQUIRE", "CURRENT", "DEFAULT"],
            ];
            if !defaults.iter().any(|kws| p.keywords(kws)) {
                return Err(SqlError::not_supported("password policy options"));
            }
        } else if p.at_keyword("WITH") {
            return Err(SqlError::not_supported(
                "account resource limits (WITH MAX_…)",
            ));
        } else if p.at_keyword("COMMENT") || p.at_keyword("ATTRIBUTE") {
            return Err(SqlError::not_supported("account COMMENT/ATTRIBUTE"));
        } else if p.at_keyword("FAILED_LOGIN_ATTEMPTS") || p.at_keyword("PASSWORD_LOCK_TIME") {
            return Err(SqlError::not_supported("failed-login tracking"));
        } else {
            return Ok(options);
        }
    }
}

fn require(p: &mut Parser<'_>) -> Result<TlsRequirement, SqlError> {
    if p.keyword("NONE") {
        return Ok(TlsRequirement::None);
    }
    if p.keyword("SSL") {
        return Ok(TlsRequirement::Ssl);
    }
    if p.keyword("X509") {
        return Ok(TlsRequirement::X509);
    }
    let mut clauses = Vec::new();
    loop {
        let clause: fn(String) -> RequireClause = if p.keyword("CIPHER") {
            RequireClause::Cipher
        } else if p.keyword("ISSUER") {
            RequireClause::Issuer
        } else if p.keyword("SUBJECT") {
            RequireClause::Subject
        } else if p.keyword("SAN") {
            RequireClause::San
        } else {
            break;
        };
        clauses.push(clause(p.string("the REQUIRE value")?));
        let and_at = p.pos;
        if p.keyword("AND")
            && !["CIPHER", "ISSUER", "SUBJECT", "SAN"]
                .iter()
                .any(|kw| p.at_keyword(kw))
        {
            p.pos = and_at;
            return Err(p.error("expected CIPHER, ISSUER, SUBJECT or SAN after AND"));
        }
    }
    if clauses.is_empty() {
        return Err(p.error("expected NONE, SSL, X509, CIPHER, ISSUER, SUBJECT or SAN"));
    }
    TlsRequirement::from_clauses(clauses)
}

fn privilege_list(p: &mut Parser<'_>) -> Result<PrivilegeList, SqlError> {
    let mut set = PrivilegeSet::EMPTY;
    let mut all = false;
    let mut count = 0;
    loop {
        let start = p.pos;
        let mut words = Vec::new();
        while let Some(Token::Word(w)) = p.peek() {
            let stop = ["ON", "TO", "FROM"]
                .iter()
                .any(|kw| w.value.eq_ignore_ascii_case(kw));
            if w.quote_style.is_some() || stop {
                break;
            }
            words.push(w.value.to_ascii_uppercase());
            p.pos += 1;
        }
        if words.is_empty() {
            return Err(p.error("expected a privilege name"));
        }
        if p.peek() == Some(&Token::LParen) {
            return Err(SqlError::not_supported("column privileges"));
        }
        count += 1;
        let name = words.join(" ");
        match name.as_str() {
            "ALL" | "ALL PRIVILEGES" => all = true,
            "USAGE" => {}
            _ => match Privilege::from_name(&name) {
                Some(p) => set = set.with(p),
                None if MYSQL_ONLY_PRIVILEGES.contains(&name.as_str()) => {
                    return Err(SqlError::not_supported(format!("the {name} privilege")));
                }
                None => {
                    p.pos = start;
                    return Err(p.error(&format!("unknown privilege '{name}'")));
                }
            },
        }
        if !p.token(&Token::Comma) {
            break;
        }
    }
    if all {
        if count > 1 {
            return Err(p.error("ALL PRIVILEGES cannot be combined with other privileges"));
        }
        return Ok(PrivilegeList::All);
    }
    Ok(PrivilegeList::Set(set))
}

fn level(p: &mut Parser<'_>) -> Result<PrivilegeLevel, SqlError> {
    p.keyword("TABLE");
    let at = p.mark();
    let db = match p.advance() {
        Some(Token::Mul) => None,
        Some(Token::Word(w)) => Some(w.value.clone()),
        _ => {
            p.pos = at;
            return Err(p.error("expected *.* or db.*"));
        }
    };
    if !p.token(&Token::Period) {
        return Err(SqlError::not_supported(
            "privileges on the current database or on a table (use *.* or db.*)",
        ));
    }
    let star_at = p.mark();
    match (db, p.advance()) {
        (None, Some(Token::Mul)) => Ok(PrivilegeLevel::Global),
        (Some(db), Some(Token::Mul)) => Ok(PrivilegeLevel::Database(db)),
        (Some(_), Some(Token::Word(_))) => Err(SqlError::not_supported(
            "table privileges (use *.* or db.*)",
        )),
        _ => {
            p.pos = star_at;
            Err(p.error("expected *.* or db.*"))
        }
    }
}

/// `'u'@'h'`, `u@h`, `` `u`@`h` ``, `"u"@"h"`, `'u'` (host `%`), `CURRENT_USER[()]`,
/// `USER()`.
fn user(p: &mut Parser<'_>) -> Result<UserRef, SqlError> {
    let start = p.pos;
    let (user, host_start) = match p.advance() {
        Some(Token::Word(w)) if w.quote_style.is_none() => {
            let upper = w.value.to_ascii_uppercase();
            if upper == "CURRENT_USER" || upper == "USER" {
                let has_parens = p.peek() == Some(&Token::LParen);
                if has_parens {
                    p.pos += 1;
                    p.expect_token(&Token::RParen, ")")?;
                }
                if has_parens || upper == "CURRENT_USER" {
                    return Ok(UserRef::CurrentUser);
                }
            }
            match w.value.split_once('@') {
                Some((user, rest)) => (user.to_string(), Some(rest.to_string())),
                None => (w.value.clone(), None),
            }
        }
        Some(Token::Word(w)) => (w.value.clone(), None),
        Some(Token::SingleQuotedString(s) | Token::DoubleQuotedString(s)) => (s.clone(), None),
        _ => {
            p.pos = start;
            return Err(p.error("expected a user name"));
        }
    };
    let host = match host_start {
        // `u@h…` in one word: the host continues through adjacent tokens.
        Some(rest) if !rest.is_empty() => unquoted_host(p, rest),
        // `u@` then the host as the next token(s).
        Some(_) => host(p)?,
        None => match p.peek() {
            Some(Token::AtSign) => {
                p.pos += 1;
                host(p)?
            }
            Some(Token::Word(w)) if w.quote_style.is_none() && w.value.starts_with('@') => {
                let rest = w.value[1..].to_string();
                p.pos += 1;
                if rest.is_empty() {
                    host(p)?
                } else {
                    unquoted_host(p, rest)
                }
            }
            _ => "%".to_string(),
        },
    };
    if user.chars().count() > MAX_USER_LEN {
        return Err(too_long(&user, "user name", MAX_USER_LEN));
    }
    if host.chars().count() > MAX_HOST_LEN {
        return Err(too_long(&host, "host name", MAX_HOST_LEN));
    }
    // MySQL stores host names lower-case (`sql_yacc.yy`, user rule).
    Ok(UserRef::Named(AccountKey::new(
        user,
        host.to_ascii_lowercase(),
    )))
}

/// The host after `@`: a quoted string or identifier, or unquoted text.
fn host(p: &mut Parser<'_>) -> Result<String, SqlError> {
    match p.peek().cloned() {
        Some(Token::SingleQuotedString(s) | Token::DoubleQuotedString(s)) => {
            p.pos += 1;
            Ok(s)
        }
        Some(Token::Word(w)) if w.quote_style.is_some() => {
            p.pos += 1;
            Ok(w.value)
        }
        Some(t) => match host_piece(&t) {
            Some(first) => {
                p.pos += 1;
                Ok(unquoted_host(p, first))
            }
            None => Err(p.error("expected a host name after @")),
        },
        None => Err(p.error("expected a host name after @")),
    }
}

/// Appends the tokens directly adjacent to `first` that can be part of a host name.
fn unquoted_host(p: &mut Parser<'_>, mut host: String) -> String {
    while let Some(piece) = p.peek_raw().and_then(host_piece) {
        host.push_str(&piece);
        p.pos += 1;
    }
    host
}

/// MySQL privileges tlsql does not have (1235 rather than a syntax error).
const MYSQL_ONLY_PRIVILEGES: &[&str] = &[
    "ALTER",
    "ALTER ROUTINE",
    "CREATE ROLE",
    "CREATE ROUTINE",
    "CREATE TABLESPACE",
    "CREATE TEMPORARY TABLES",
    "CREATE VIEW",
    "DROP ROLE",
    "EVENT",
    "EXECUTE",
    "FILE",
    "INDEX",
    "LOCK TABLES",
    "PROXY",
    "REFERENCES",
    "REPLICATION CLIENT",
    "REPLICATION SLAVE",
    "SHOW DATABASES",
    "SHOW VIEW",
    "SHUTDOWN",
    "TRIGGER",
];

fn too_long(value: &str, what: &str, max: usize) -> SqlError {
    SqlError::new(
        ErrorKind::StringTooLong,
        format!("String '{value}' is too long for {what} (should be no longer than {max})"),
    )
}

// ---------------------------------------------------------------------------------------------
// Execution
// ---------------------------------------------------------------------------------------------

/// Executes `stmt` for the acting account `actor` (the account the session authenticated
/// as: `CURRENT_USER()`). The actor's privileges are read from `store` now.
pub fn execute(
    stmt: &AccountStatement,
    store: &AccountStore,
    actor: &AccountKey,
) -> Result<Outcome, SqlError> {
    let grants = store.get(actor).map(|a| a.grants).unwrap_or_default();
    let need_create_user = || {
        if grants.has_global(Privilege::CreateUser) {
            Ok(())
        } else {
            Err(specific_access_denied(&[Privilege::CreateUser]))
        }
    };
    match stmt {
        AccountStatement::CreateUser {
            if_not_exists,
            users,
            options,
        } => {
            need_create_user()?;
            let notes = store.update(|accounts| {
                let mut notes = Vec::new();
                let mut failed = Vec::new();
                for spec in users {
                    let key = spec.user.resolve(actor);
                    if accounts.contains_key(&key) {
                        if *if_not_exists {
                            notes.push(SqlError::new(
                                ErrorKind::UserAlreadyExists,
                                format!("Authorization ID {key} already exists."),
                            ));
                        } else {
                            failed.push(key);
                        }
                        continue;
                    }
                    let mut account = Account::new(key.clone(), Plugin::DEFAULT, String::new());
                    if let Some(auth) = &spec.auth {
                        apply_auth(&mut account, auth)?;
                    }
                    if let Some(require) = &options.require {
                        account.require = require.clone();
                    }
                    account.locked = options.locked.unwrap_or(false);
                    accounts.insert(key, account);
                }
                check_failures("CREATE USER", &failed)?;
                Ok(notes)
            })?;
            log::info!(
                "{actor} created {}",
                names(users.iter().map(|u| &u.user), actor)
            );
            Ok(Outcome::ok(notes))
        }

        AccountStatement::AlterUser {
            if_exists,
            users,
            options,
        } => {
            let own_password_only = options.require.is_none()
                && options.locked.is_none()
                && users.iter().all(|u| {
                    u.user.resolve(actor) == *actor
                        && matches!(u.auth, None | Some(AuthOption::Password(_)))
                });
            if own_password_only {
                refuse_anonymous(actor)?;
            } else {
                need_create_user()?;
            }
            let notes = store.update(|accounts| {
                let mut notes = Vec::new();
                let mut failed = Vec::new();
                for spec in users {
                    let key = spec.user.resolve(actor);
                    let Some(account) = accounts.get_mut(&key) else {
                        if *if_exists {
                            notes.push(not_exists_note(&key));
                        } else {
                            failed.push(key);
                        }
                        continue;
                    };
                    if let Some(auth) = &spec.auth {
                        apply_auth(account, auth)?;
                    }
                    if let Some(require) = &options.require {
                        account.require = require.clone();
                    }
                    if let Some(locked) = options.locked {
                        account.locked = locked;
                    }
                }
                check_failures("ALTER USER", &failed)?;
                Ok(notes)
            })?;
            log::info!(
                "{actor} altered {}",
                names(users.iter().map(|u| &u.user), actor)
            );
            Ok(Outcome::ok(notes))
        }

        AccountStatement::DropUser { if_exists, users } => {
            need_create_user()?;
            let notes = store.update(|accounts| {
                let mut notes = Vec::new();
                let mut failed = Vec::new();
                for user in users {
                    let key = user.resolve(actor);
                    if accounts.remove(&key).is_none() {
                        if *if_exists {
                            notes.push(not_exists_note(&key));
                        } else {
                            failed.push(key);
                        }
                    }
                }
                check_failures("DROP USER", &failed)?;
                Ok(notes)
            })?;
            log::info!("{actor} dropped {}", names(users.iter(), actor));
            Ok(Outcome::ok(notes))
        }

        AccountStatement::RenameUser { renames } => {
            need_create_user()?;
            store.update(|accounts| {
                let mut failed = Vec::new();
                for (from, to) in renames {
                    let (from, to) = (from.resolve(actor), to.resolve(actor));
                    if accounts.contains_key(&to) {
                        failed.push(from);
                        continue;
                    }
                    let Some(mut account) = accounts.remove(&from) else {
                        failed.push(from);
                        continue;
                    };
                    account.user = to.user.clone();
                    account.host = to.host.clone();
                    accounts.insert(to, account);
                }
                check_failures("RENAME USER", &failed)
            })?;
            log::info!(
                "{actor} renamed {}",
                renames
                    .iter()
                    .map(|(f, t)| format!("{} to {}", f.resolve(actor), t.resolve(actor)))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Ok(Outcome::ok(Vec::new()))
        }

        AccountStatement::SetPassword { user, password } => {
            let key = user
                .as_ref()
                .map_or_else(|| actor.clone(), |u| u.resolve(actor));
            if key == *actor {
                refuse_anonymous(actor)?;
            } else {
                need_create_user()?;
            }
            store.update(|accounts| {
                let account = accounts.get_mut(&key).ok_or_else(|| {
                    SqlError::new(
                        ErrorKind::PasswordNoMatch,
                        "Can't find any matching row in the user table",
                    )
                })?;
                account.auth_string = account.plugin.hash_password(password.as_bytes());
                Ok(())
            })?;
            log::info!("{actor} set the password of {key}");
            Ok(Outcome::ok(Vec::new()))
        }

        AccountStatement::Grant {
            privileges,
            level,
            users,
            require,
            with_grant_option,
        } => {
            let mut set = privileges.resolve(level);
            if *with_grant_option {
                set = set.with(Privilege::GrantOption);
            }
            check_grantable(&grants, actor, level, set)?;
            if require.is_some() {
                need_create_user()?;
            }
            store.update(|accounts| {
                for user in users {
                    let key = user.resolve(actor);
                    let account = accounts.get_mut(&key).ok_or_else(|| {
                        SqlError::new(
                            ErrorKind::CantCreateUserWithGrant,
                            "You are not allowed to create a user with GRANT",
                        )
                    })?;
                    account.grants.grant(level, set);
                    if let Some(require) = require {
                        account.require = require.clone();
                    }
                }
                Ok(())
            })?;
            log::info!(
                "{actor} granted {set:?} on {level} to {}",
                names(users.iter(), actor)
            );
            Ok(Outcome::ok(Vec::new()))
        }

        AccountStatement::Revoke {
            privileges,
            level,
            users,
        } => {
            let set = privileges.resolve(level);
            check_grantable(&grants, actor, level, set)?;
            store.update(|accounts| {
                for user in users {
                    let key = user.resolve(actor);
                    let revoked = accounts
                        .get_mut(&key)
                        .is_some_and(|a| a.grants.revoke(level, set));
                    if !revoked {
                        return Err(no_such_grant(&key));
                    }
                }
                Ok(())
            })?;
            log::info!(
                "{actor} revoked {set:?} on {level} from {}",
                names(users.iter(), actor)
            );
            Ok(Outcome::ok(Vec::new()))
        }

        AccountStatement::RevokeAll { users } => {
            need_create_user()?;
            store.update(|accounts| {
                for user in users {
                    let account = accounts.get_mut(&user.resolve(actor)).ok_or_else(|| {
                        SqlError::new(
                            ErrorKind::RevokeGrants,
                            "Can't revoke all privileges for one or more of the requested users",
                        )
                    })?;
                    account.grants = Grants::default();
                }
                Ok(())
            })?;
            log::info!(
                "{actor} revoked all privileges from {}",
                names(users.iter(), actor)
            );
            Ok(Outcome::ok(Vec::new()))
        }

        AccountStatement::ShowGrants { user } => {
            let key = user
                .as_ref()
                .map_or_else(|| actor.clone(), |u| u.resolve(actor));
            check_may_read_other(&grants, actor, &key)?;
            let account = store.get(&key).ok_or_else(|| no_such_grant(&key))?;
            let rows = account
                .grants
                .show_grants(&key.quoted())
                .into_iter()
                .map(|line| vec![Value::Text(line)])
                .collect();
            Ok(Outcome::ResultSet {
                columns: vec![Column::text(&format!(
                    "Grants for {}@{}",
                    key.user, key.host
                ))],
                rows,
            })
        }

        AccountStatement::ShowCreateUser { user } => {
            let key = user.resolve(actor);
            check_may_read_other(&grants, actor, &key)?;
            let account = store
                .get(&key)
                .ok_or_else(|| cannot_user("SHOW CREATE USER", std::slice::from_ref(&key)))?;
            Ok(Outcome::ResultSet {
                columns: vec![Column::text(&format!(
                    "CREATE USER for {}@{}",
                    key.user, key.host
                ))],
                rows: vec![vec![Value::Text(show_create_user(&account))]],
            })
        }

        AccountStatement::FlushPrivileges => {
            if !grants.has_global(Privilege::Reload) {
                return Err(specific_access_denied(&[Privilege::Reload]));
            }
            store.reload()?;
            Ok(Outcome::ok(Vec::new()))
        }
    }
}

/// `SHOW CREATE USER` text in MySQL 8's form.
pub fn show_create_user(account: &Account) -> String {
    let mut out = format!(
        "CREATE USER {} IDENTIFIED WITH {}",
        account.key().quoted(),
        quote(account.plugin.name())
    );
    if !account.auth_string.is_empty() {
        out.push_str(" AS ");
        out.push_str(&quote(&account.auth_string));
    }
    out.push_str(" REQUIRE ");
    out.push_str(&account.require.to_sql());
    out.push_str(" PASSWORD EXPIRE DEFAULT ACCOUNT ");
    out.push_str(if account.locked { "LOCK" } else { "UNLOCK" });
    out.push_str(
        " PASSWORD HISTORY DEFAULT PASSWORD REUSE INTERVAL DEFAULT PASSWORD REQUIRE CURRENT DEFAULT",
    );
    out
}

fn apply_auth(account: &mut Account, auth: &AuthOption) -> Result<(), SqlError> {
    match auth {
        AuthOption::Password(pw) => {
            account.auth_string = account.plugin.hash_password(pw.as_bytes());
        }
        AuthOption::Plugin { plugin, credential } => {
            account.auth_string = match credential {
                None => String::new(),
                Some(Credential::Password(pw)) => plugin.hash_password(pw.as_bytes()),
                Some(Credential::Stored(stored)) => {
                    if !plugin.is_valid_stored(stored) {
                        return Err(SqlError::new(
                            ErrorKind::PasswordFormat,
                            "The password hash doesn't have the expected format.",
                        ));
                    }
                    stored.clone()
                }
            };
            account.plugin = *plugin;
        }
    }
    Ok(())
}

fn check_failures(operation: &str, failed: &[AccountKey]) -> Result<(), SqlError> {
    if failed.is_empty() {
        Ok(())
    } else {
        Err(cannot_user(operation, failed))
    }
}

/// 1396 `Operation X failed for 'a'@'h','b'@'h'`.
fn cannot_user(operation: &str, failed: &[AccountKey]) -> SqlError {
    let list: Vec<String> = failed.iter().map(AccountKey::to_string).collect();
    SqlError::new(
        ErrorKind::CannotUser,
        format!("Operation {operation} failed for {}", list.join(",")),
    )
}

fn no_such_grant(key: &AccountKey) -> SqlError {
    SqlError::new(
        ErrorKind::NoSuchGrant,
        format!(
            "There is no such grant defined for user '{}' on host '{}'",
            key.user, key.host
        ),
    )
}

fn not_exists_note(key: &AccountKey) -> SqlError {
    SqlError::new(
        ErrorKind::UserDoesNotExist,
        format!("Authorization ID {key} does not exist."),
    )
}

fn refuse_anonymous(actor: &AccountKey) -> Result<(), SqlError> {
    if actor.user.is_empty() {
        return Err(SqlError::new(
            ErrorKind::PasswordAnonymousUser,
            "You are using MySQL as an anonymous user and anonymous users are not allowed to change passwords",
        ));
    }
    Ok(())
}

/// `GRANT`/`REVOKE` at `level` needs `GRANT OPTION` there and every privilege in `set`.
fn check_grantable(
    grants: &Grants,
    actor: &AccountKey,
    level: &PrivilegeLevel,
    set: PrivilegeSet,
) -> Result<(), SqlError> {
    if let PrivilegeLevel::Database(_) = level
        && !set.iter().all(Privilege::is_database_level)
    {
        return Err(SqlError::new(
            ErrorKind::WrongUsage,
            "Incorrect usage of DB GRANT and GLOBAL PRIVILEGES",
        ));
    }
    let held = grants.effective(level);
    let missing = set.with(Privilege::GrantOption).difference(held);
    if missing.is_empty() {
        return Ok(());
    }
    match level {
        PrivilegeLevel::Global => Err(specific_access_denied(&missing.iter().collect::<Vec<_>>())),
        PrivilegeLevel::Database(db) => Err(db_access_denied(&actor.user, &actor.host, db)),
    }
}

/// Reading another account's grants or definition needs global `SELECT` or `CREATE USER`;
/// MySQL's refusal names its `mysql` schema.
fn check_may_read_other(
    grants: &Grants,
    actor: &AccountKey,
    target: &AccountKey,
) -> Result<(), SqlError> {
    if target == actor
        || grants.has_global(Privilege::Select)
        || grants.has_global(Privilege::CreateUser)
    {
        Ok(())
    } else {
        Err(db_access_denied(&actor.user, &actor.host, "mysql"))
    }
}

fn names<'a>(users: impl Iterator<Item = &'a UserRef>, actor: &AccountKey) -> String {
    users
        .map(|u| crate::logging::field(&u.resolve(actor).to_string()).into_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Nonce, caching_sha2, native};

    fn key(user: &str, host: &str) -> AccountKey {
        AccountKey::new(user, host)
    }

    /// Parses `sql` if it is an account statement: `None` if it is not one. A statement the
    /// tokenizer refuses is an error, whoever it belongs to.
    fn parse(sql: &str) -> Option<Result<AccountStatement, SqlError>> {
        let source = match crate::lex::tokenize(sql) {
            Ok(source) => source,
            Err(e) => return Some(Err(e)),
        };
        let p = &mut Parser::new(&source);
        starts(p).then(|| super::parse(p))
    }

    /// Parses and executes `sql` if it is an account statement.
    fn run(
        sql: &str,
        store: &AccountStore,
        actor: &AccountKey,
    ) -> Option<Result<Outcome, SqlError>> {
        parse(sql).map(|stmt| stmt.and_then(|stmt| execute(&stmt, store, actor)))
    }

    fn parsed(sql: &str) -> AccountStatement {
        match parse(sql) {
            Some(Ok(stmt)) => stmt,
            other => panic!("{sql}: {other:?}"),
        }
    }

    fn parse_err(sql: &str) -> SqlError {
        match parse(sql) {
            Some(Err(e)) => e,
            other => panic!("{sql}: expected an error, got {other:?}"),
        }
    }

    fn named(sql_user: &str) -> AccountKey {
        match parsed(&format!("DROP USER {sql_user}")) {
            AccountStatement::DropUser { users, .. } => match &users[..] {
                [UserRef::Named(k)] => k.clone(),
                other => panic!("{sql_user}: {other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn user_name_quoting_variants() {
        for (text, user, host) in [
            ("'u'@'h'", "u", "h"),
            ("u@h", "u", "h"),
            ("`u`@`h`", "u", "h"),
            ("\"u\"@\"h\"", "u", "h"),
            ("'u'", "u", "%"),
            ("u", "u", "%"),
            ("`u`", "u", "%"),
            ("'u' @ 'h'", "u", "h"),
            ("u@'%'", "u", "%"),
            ("u@%", "u", "%"),
            ("'u'@localhost", "u", "localhost"),
            ("root@127.0.0.1", "root", "127.0.0.1"),
            ("app@10.0.%", "app", "10.0.%"),
            ("app@'10.0.0.%'", "app", "10.0.0.%"),
            ("u@db-1.example.com", "u", "db-1.example.com"),
            ("u@`::1`", "u", "::1"),
            ("'u'@'::1'", "u", "::1"),
            ("u@'LocalHost'", "u", "localhost"),
            (
                "'u3@example.com'@'localhost'",
                "u3@example.com",
                "localhost",
            ),
            ("'it''s'@'h'", "it's", "h"),
            ("'a\\'b'@'h'", "a'b", "h"),
            ("''@'localhost'", "", "localhost"),
            ("user", "user", "%"),
        ] {
            assert_eq!(named(text), key(user, host), "{text}");
        }
    }

    #[test]
    fn current_user_forms() {
        for text in [
            "CURRENT_USER",
            "CURRENT_USER()",
            "current_user ( )",
            "USER()",
        ] {
            match parsed(&format!("SHOW GRANTS FOR {text}")) {
                AccountStatement::ShowGrants {
                    user: Some(UserRef::CurrentUser),
                } => {}
                other => panic!("{text}: {other:?}"),
            }
        }
        assert_eq!(
            parsed("ALTER USER USER() IDENTIFIED BY 'new'"),
            AccountStatement::AlterUser {
                if_exists: false,
                users: vec![UserSpec {
                    user: UserRef::CurrentUser,
                    auth: Some(AuthOption::Password(Password::new("new"))),
                }],
                options: AccountOptions::default(),
            }
        );
    }

    #[test]
    fn create_user_full_form() {
        let stmt = parsed(
            "create user if not exists 'a'@'%' identified by 'pa', \
             b@localhost IDENTIFIED WITH mysql_native_password BY 'pb', \
             `c` identified with 'caching_sha2_password' as '', \
             d@h identified with caching_sha2_password \
             REQUIRE CIPHER 'TLS_AES_128_GCM_SHA256' AND SUBJECT '/CN=d' ISSUER '/CN=ca' and SAN 'DNS:d' \
             ACCOUNT LOCK;",
        );
        let AccountStatement::CreateUser {
            if_not_exists,
            users,
            options,
        } = stmt
        else {
            panic!("{stmt:?}")
        };
        assert!(if_not_exists);
        assert_eq!(users.len(), 4);
        assert_eq!(
            users[0].auth,
            Some(AuthOption::Password(Password::new("pa")))
        );
        assert_eq!(
            users[1].auth,
            Some(AuthOption::Plugin {
                plugin: Plugin::MysqlNativePassword,
                credential: Some(Credential::Password(Password::new("pb"))),
            })
        );
        assert_eq!(
            users[2].auth,
            Some(AuthOption::Plugin {
                plugin: Plugin::CachingSha2Password,
                credential: Some(Credential::Stored(String::new())),
            })
        );
        assert_eq!(
            users[3].auth,
            Some(AuthOption::Plugin {
                plugin: Plugin::CachingSha2Password,
                credential: None,
            })
        );
        assert_eq!(options.locked, Some(true));
        assert_eq!(
            options.require.unwrap().to_sql(),
            "SUBJECT '/CN=d' ISSUER '/CN=ca' CIPHER 'TLS_AES_128_GCM_SHA256' SAN 'DNS:d'"
        );
    }

    #[test]
    fn grant_and_revoke_forms() {
        assert_eq!(
            parsed("GRANT SELECT, insert ON `my db`.* TO 'u'@'%', v REQUIRE SSL WITH GRANT OPTION"),
            AccountStatement::Grant {
                privileges: PrivilegeList::Set(PrivilegeSet::of(&[
                    Privilege::Select,
                    Privilege::Insert
                ])),
                level: PrivilegeLevel::Database("my db".into()),
                users: vec![UserRef::Named(key("u", "%")), UserRef::Named(key("v", "%"))],
                require: Some(TlsRequirement::Ssl),
                with_grant_option: true,
            }
        );
        assert_eq!(
            parsed("GRANT ALL PRIVILEGES ON *.* TO root@localhost"),
            AccountStatement::Grant {
                privileges: PrivilegeList::All,
                level: PrivilegeLevel::Global,
                users: vec![UserRef::Named(key("root", "localhost"))],
                require: None,
                with_grant_option: false,
            }
        );
        assert_eq!(
            parsed("GRANT create user, GRANT OPTION, connection_admin ON *.* TO u"),
            AccountStatement::Grant {
                privileges: PrivilegeList::Set(PrivilegeSet::of(&[
                    Privilege::CreateUser,
                    Privilege::GrantOption,
                    Privilege::ConnectionAdmin
                ])),
                level: PrivilegeLevel::Global,
                users: vec![UserRef::Named(key("u", "%"))],
                require: None,
                with_grant_option: false,
            }
        );
        assert_eq!(
            parsed("REVOKE USAGE ON app.* FROM u"),
            AccountStatement::Revoke {
                privileges: PrivilegeList::Set(PrivilegeSet::EMPTY),
                level: PrivilegeLevel::Database("app".into()),
                users: vec![UserRef::Named(key("u", "%"))],
            }
        );
        assert_eq!(
            parsed("REVOKE ALL, GRANT OPTION FROM a, b@h"),
            AccountStatement::RevokeAll {
                users: vec![UserRef::Named(key("a", "%")), UserRef::Named(key("b", "h"))],
            }
        );
        assert_eq!(
            parsed("REVOKE ALL PRIVILEGES ON *.* FROM a"),
            AccountStatement::Revoke {
                privileges: PrivilegeList::All,
                level: PrivilegeLevel::Global,
                users: vec![UserRef::Named(key("a", "%"))],
            }
        );
    }

    #[test]
    fn other_statements_parse() {
        assert_eq!(
            parsed("RENAME USER a TO b, 'c'@'h' TO 'd'@'h'"),
            AccountStatement::RenameUser {
                renames: vec![
                    (UserRef::Named(key("a", "%")), UserRef::Named(key("b", "%"))),
                    (UserRef::Named(key("c", "h")), UserRef::Named(key("d", "h"))),
                ]
            }
        );
        assert_eq!(
            parsed("SET PASSWORD = 'x'"),
            AccountStatement::SetPassword {
                user: None,
                password: Password::new("x")
            }
        );
        assert_eq!(
            parsed("set password for u@h = password('x')"),
            AccountStatement::SetPassword {
                user: Some(UserRef::Named(key("u", "h"))),
                password: Password::new("x")
            }
        );
        assert_eq!(
            parsed("SHOW GRANTS"),
            AccountStatement::ShowGrants { user: None }
        );
        assert_eq!(
            parsed("show create user 'u'@'h'"),
            AccountStatement::ShowCreateUser {
                user: UserRef::Named(key("u", "h"))
            }
        );
        assert_eq!(
            parsed("FLUSH PRIVILEGES"),
            AccountStatement::FlushPrivileges
        );
        assert_eq!(
            parsed("flush local privileges ;"),
            AccountStatement::FlushPrivileges
        );
        assert_eq!(
            parsed("/* c */ DROP USER IF EXISTS a, b"),
            AccountStatement::DropUser {
                if_exists: true,
                users: vec![UserRef::Named(key("a", "%")), UserRef::Named(key("b", "%"))],
            }
        );
    }

    #[test]
    fn statements_of_others_are_not_ours() {
        for sql in [
            "SELECT 1",
            "CREATE TABLE user (id INT)",
            "SET GLOBAL require_secure_transport = ON",
            "SET autocommit = 1",
            "FLUSH TABLES",
            "SHOW DATABASES",
            "SHOW CREATE TABLE t",
            "DROP TABLE users",
            "ALTER TABLE t ADD c INT",
            "ALTER INSTANCE RELOAD TLS",
            "",
        ] {
            assert!(parse(sql).is_none(), "{sql}");
        }
    }

    #[test]
    fn syntax_errors_are_1064_and_point_at_the_problem() {
        for (sql, near) in [
            ("CREATE USER", "''"),
            ("CREATE USER u@", "''"),
            ("CREATE USER u IDENTIFIED 'x'", "'x''"),
            ("CREATE USER u REQUIRE SSL SSL", "'SSL' at line 1"),
            ("CREATE USER u REQUIRE X509 AND SSL", "'AND SSL'"),
            ("CREATE USER u REQUIRE", "''"),
            ("CREATE USER u REQUIRE SUBJECT '/CN=a' AND", "'AND'"),
            ("CREATE USER u REQUIRE SSL REQUIRE X509", "'REQUIRE X509'"),
            ("CREATE USER u ACCOUNT OPEN", "'OPEN'"),
            ("DROP USER u v", "'v'"),
            ("GRANT ON *.* TO u", "'ON *.* TO u'"),
            ("GRANT SELECT TO u", "'TO u'"),
            ("GRANT SELECT ON *.* u", "'u'"),
            ("GRANT SELECT ON *.x TO u", "'x TO u'"),
            ("GRANT SELECT ON 'x'.* TO u", "''x'.* TO u'"),
            ("CREATE USER u IDENTIFIED WITH 5", "'5'"),
            ("GRANT FLY ON *.* TO u", "'FLY ON *.* TO u'"),
            ("GRANT ALL, SELECT ON *.* TO u", "'ON *.* TO u'"),
            ("REVOKE SELECT ON *.* TO u", "'TO u'"),
            ("REVOKE ALL, SELECT FROM u", "'SELECT FROM u'"),
            ("SET PASSWORD 'x'", "''x''"),
            ("SHOW CREATE USER", "''"),
            ("FLUSH PRIVILEGES now", "'now'"),
            ("CREATE USER 'unterminated", "Unterminated"),
        ] {
            let e = parse_err(sql);
            assert_eq!(e.code(), 1064, "{sql}: {e}");
            assert!(e.message.contains(near), "{sql}: {}", e.message);
        }
        let e = parse_err("CREATE USER u REQUIRE SSL SSL");
        assert!(
            e.message.starts_with(
                "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near 'SSL' at line 1"
            ),
            "{}",
            e.message
        );
        let e = parse_err("CREATE USER u\nREQUIRE\nNOPE");
        assert!(e.message.contains("near 'NOPE' at line 3"), "{}", e.message);
    }

    #[test]
    fn semantic_parse_errors() {
        let e = parse_err("CREATE USER u IDENTIFIED WITH sha256_password BY 'x'");
        assert_eq!(
            (e.code(), e.message.as_str()),
            (1524, "Plugin 'sha256_password' is not loaded")
        );
        let e = parse_err("CREATE USER u REQUIRE SUBJECT '/CN=a' AND SUBJECT '/CN=b'");
        assert_eq!(
            (e.code(), e.message.as_str()),
            (1225, "Option 'SUBJECT' used twice in statement")
        );
        let e = parse_err("CREATE USER u REQUIRE CIPHER 'RC4-MD5'");
        assert_eq!(e.code(), 1525);
        let e = parse_err("ALTER USER u REQUIRE ISSUER 'CN=x'");
        assert_eq!(e.code(), 1525);
        let e = parse_err("GRANT SAN ON *.* TO u");
        assert_eq!(e.code(), 1064);
        for sql in [
            "GRANT ALTER ON *.* TO u",
            "GRANT SHOW DATABASES ON *.* TO u",
            "GRANT SELECT ON db.t TO u",
            "GRANT SELECT ON t TO u",
            "GRANT SELECT (c) ON db.* TO u",
            "CREATE USER u PASSWORD EXPIRE NEVER",
            "CREATE USER u WITH MAX_USER_CONNECTIONS 3",
            "CREATE USER u IDENTIFIED BY RANDOM PASSWORD",
            "GRANT SELECT ON *.* TO u WITH MAX_QUERIES_PER_HOUR 1",
        ] {
            assert_eq!(parse_err(sql).code(), 1235, "{sql}");
        }
        let long = "x".repeat(33);
        let e = parse_err(&format!("CREATE USER '{long}'"));
        assert_eq!(e.code(), 1470);
        assert!(
            e.message
                .ends_with("is too long for user name (should be no longer than 32)")
        );
        assert!(
            parse(&format!("CREATE USER '{}'", "x".repeat(32)))
                .unwrap()
                .is_ok()
        );
    }

    #[test]
    fn passwords_never_reach_debug_output() {
        for sql in [
            "CREATE USER u IDENTIFIED BY 'hunter2'",
            "ALTER USER u IDENTIFIED WITH mysql_native_password BY 'hunter2'",
            "SET PASSWORD FOR u = 'hunter2'",
            "CREATE USER u IDENTIFIED WITH mysql_native_password AS '*HUNTER2'",
        ] {
            let debug = format!("{:?}", parsed(sql));
            assert!(!debug.to_lowercase().contains("hunter2"), "{debug}");
        }
    }

    // --- execution ------------------------------------------------------------------------

    const NONCE: Nonce = [7; 20];

    struct Env {
        _dir: tempfile::TempDir,
        store: AccountStore,
        root: AccountKey,
    }

    impl Env {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let store = AccountStore::open(dir.path()).unwrap();
            Env {
                _dir: dir,
                store,
                root: key("root", "localhost"),
            }
        }

        fn run_as(&self, actor: &AccountKey, sql: &str) -> Result<Outcome, SqlError> {
            run(sql, &self.store, actor)
                .unwrap_or_else(|| panic!("not an account statement: {sql}"))
        }

        fn root(&self, sql: &str) -> Outcome {
            self.run_as(&self.root.clone(), sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        }

        fn root_err(&self, sql: &str) -> SqlError {
            self.run_as(&self.root.clone(), sql).unwrap_err()
        }

        fn account(&self, user: &str, host: &str) -> Account {
            self.store.get(&key(user, host)).unwrap()
        }

        fn show_create(&self, user: &str) -> String {
            match self.root(&format!("SHOW CREATE USER {user}")) {
                Outcome::ResultSet { rows, .. } => match &rows[0][0] {
                    Value::Text(s) => s.clone(),
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            }
        }

        fn grants(&self, actor: &AccountKey, sql: &str) -> Result<(String, Vec<String>), SqlError> {
            match self.run_as(actor, sql)? {
                Outcome::ResultSet { columns, rows } => Ok((
                    columns[0].name.clone(),
                    rows.into_iter()
                        .map(|r| match &r[0] {
                            Value::Text(s) => s.clone(),
                            other => panic!("{other:?}"),
                        })
                        .collect(),
                )),
                other => panic!("{other:?}"),
            }
        }
    }

    fn notes(outcome: Outcome) -> Vec<SqlError> {
        match outcome {
            Outcome::Ok {
                affected_rows,
                notes,
            } => {
                assert_eq!(affected_rows, 0);
                notes
            }
            other => panic!("{other:?}"),
        }
    }

    fn can_log_in_sha2(account: &Account, password: &[u8]) -> bool {
        caching_sha2::verify_password(&account.auth_string, password)
    }

    #[test]
    fn create_user_defaults_to_caching_sha2() {
        let env = Env::new();
        env.root("CREATE USER u IDENTIFIED BY 'pw'");
        let u = env.account("u", "%");
        assert_eq!(u.plugin, Plugin::CachingSha2Password);
        assert!(u.auth_string.starts_with("$5$rounds=5000$"));
        assert!(can_log_in_sha2(&u, b"pw"));
        assert_eq!(u.require, TlsRequirement::None);
        assert!(!u.locked);
        assert_eq!(u.grants, Grants::default());
        env.root("CREATE USER v");
        assert_eq!(env.account("v", "%").auth_string, "");
    }

    #[test]
    fn native_password_accounts_log_in_with_known_vectors() {
        let env = Env::new();
        env.root("CREATE USER n IDENTIFIED WITH mysql_native_password AS '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'");
        let n = env.account("n", "%");
        assert!(native::verify(
            &n.auth_string,
            &NONCE,
            &native::scramble(b"password", &NONCE)
        ));
        // TiDB's TestCheckAuthenticate vector: 'abc' answered to this salt.
        env.root("ALTER USER n IDENTIFIED BY 'abc'");
        let n = env.account("n", "%");
        assert_eq!(
            n.plugin,
            Plugin::MysqlNativePassword,
            "IDENTIFIED BY keeps the plugin"
        );
        let salt: Nonce = [
            85, 92, 45, 22, 58, 79, 107, 6, 122, 125, 58, 80, 12, 90, 103, 32, 90, 10, 74, 82,
        ];
        let response = [
            24, 180, 183, 225, 166, 6, 81, 102, 70, 248, 199, 143, 91, 204, 169, 9, 161, 171, 203,
            33,
        ];
        assert!(native::verify(&n.auth_string, &salt, &response));
    }

    #[test]
    fn identified_as_checks_the_format() {
        let env = Env::new();
        for sql in [
            "CREATE USER x IDENTIFIED WITH mysql_native_password AS 'nope'",
            "CREATE USER x IDENTIFIED WITH caching_sha2_password AS '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'",
            "CREATE USER x IDENTIFIED WITH caching_sha2_password AS '$A$005$abcdefghijklmnopqrstieyonWfl7MR75BuN79Fkt2PqhPI43TsNZYGUObDGVI/'",
        ] {
            let e = env.root_err(sql);
            assert_eq!(
                (e.code(), e.message.as_str()),
                (1827, "The password hash doesn't have the expected format."),
                "{sql}"
            );
        }
        assert!(env.store.get(&key("x", "%")).is_none());
        env.root("CREATE USER x IDENTIFIED WITH caching_sha2_password AS '$5$rounds=5000$abcdefghijklmnop$ieyonWfl7MR75BuN79Fkt2PqhPI43TsNZYGUObDGVI/'");
        assert!(can_log_in_sha2(&env.account("x", "%"), b"password"));
    }

    #[test]
    fn create_existing_user_fails_atomically() {
        let env = Env::new();
        env.root("CREATE USER a, b@h");
        let e = env.root_err("CREATE USER c, a, 'b'@'h'");
        assert_eq!(
            (e.code(), e.message.as_str()),
            (1396, "Operation CREATE USER failed for 'a'@'%','b'@'h'")
        );
        assert!(
            env.store.get(&key("c", "%")).is_none(),
            "nothing is created when one fails"
        );
        let notes = notes(env.root("CREATE USER IF NOT EXISTS c, a"));
        assert_eq!(
            notes
                .iter()
                .map(|n| (n.code(), n.message.as_str()))
                .collect::<Vec<_>>(),
            [(3163, "Authorization ID 'a'@'%' already exists.")]
        );
        assert!(env.store.get(&key("c", "%")).is_some());
    }

    #[test]
    fn alter_drop_rename_missing_users() {
        let env = Env::new();
        let e = env.root_err("ALTER USER ghost ACCOUNT LOCK");
        assert_eq!(
            (e.code(), e.message.as_str()),
            (1396, "Operation ALTER USER failed for 'ghost'@'%'")
        );
        let e = env.root_err("DROP USER ghost@h");
        assert_eq!(e.message, "Operation DROP USER failed for 'ghost'@'h'");
        let e = env.root_err("RENAME USER ghost TO spirit");
        assert_eq!(e.message, "Operation RENAME USER failed for 'ghost'@'%'");
        assert_eq!(
            notes(env.root("DROP USER IF EXISTS ghost"))
                .iter()
                .map(|n| (n.code(), n.message.as_str()))
                .collect::<Vec<_>>(),
            [(3162, "Authorization ID 'ghost'@'%' does not exist.")]
        );
        assert_eq!(
            notes(env.root("ALTER USER IF EXISTS ghost ACCOUNT LOCK")).len(),
            1
        );
    }

    #[test]
    fn tidb_25225_require_keeps_the_password() {
        let env = Env::new();
        env.root("CREATE USER u IDENTIFIED BY 'pw'");
        let before = env.account("u", "%").auth_string;
        env.root("ALTER USER u REQUIRE SSL");
        let after = env.account("u", "%");
        assert_eq!(after.auth_string, before);
        assert_eq!(after.require, TlsRequirement::Ssl);
        env.root("ALTER USER u REQUIRE X509");
        assert_eq!(env.account("u", "%").auth_string, before);
        env.root("GRANT SELECT ON *.* TO u REQUIRE SUBJECT '/CN=u'");
        assert_eq!(env.account("u", "%").auth_string, before);
    }

    #[test]
    fn tidb_70269_alter_without_require_keeps_require() {
        let env = Env::new();
        env.root(
            "CREATE USER u IDENTIFIED BY 'pw' REQUIRE SUBJECT '/CN=u' AND SAN 'URI:spiffe://x/u'",
        );
        let require = env.account("u", "%").require;
        for sql in [
            "ALTER USER u ACCOUNT LOCK",
            "ALTER USER u ACCOUNT UNLOCK",
            "ALTER USER u IDENTIFIED BY 'new'",
            "ALTER USER u PASSWORD EXPIRE DEFAULT",
            "ALTER USER u",
            "GRANT SELECT ON app.* TO u",
            "REVOKE SELECT ON app.* FROM u",
        ] {
            env.root(sql);
            assert_eq!(env.account("u", "%").require, require, "{sql}");
        }
        let u = env.account("u", "%");
        assert!(can_log_in_sha2(&u, b"new"));
        assert!(!u.locked);
        env.root("ALTER USER u ACCOUNT LOCK");
        assert!(env.account("u", "%").locked);
        env.root("ALTER USER u REQUIRE SSL");
        assert!(env.account("u", "%").locked, "REQUIRE keeps the lock");
    }

    #[test]
    fn grant_require_semantics() {
        let env = Env::new();
        env.root("CREATE USER u REQUIRE X509");
        env.root("GRANT SELECT ON *.* TO u");
        assert_eq!(
            env.account("u", "%").require,
            TlsRequirement::X509,
            "GRANT without REQUIRE keeps it"
        );
        env.root("GRANT INSERT ON *.* TO u REQUIRE CIPHER 'ECDHE-RSA-AES128-GCM-SHA256'");
        assert_eq!(
            env.account("u", "%").require.to_sql(),
            "CIPHER 'ECDHE-RSA-AES128-GCM-SHA256'",
            "GRANT REQUIRE overwrites"
        );
        env.root("GRANT SELECT ON *.* TO u REQUIRE NONE");
        assert_eq!(
            env.account("u", "%").require,
            TlsRequirement::None,
            "REQUIRE NONE clears"
        );
        env.root("ALTER USER u REQUIRE SSL");
        env.root("ALTER USER u REQUIRE NONE");
        assert_eq!(env.account("u", "%").require, TlsRequirement::None);
    }

    #[test]
    fn show_create_user_prints_every_require_form() {
        // TiDB's TestMaintainRequire forms, in MySQL 8's SHOW CREATE USER shape.
        let env = Env::new();
        let tail = " PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK PASSWORD HISTORY DEFAULT PASSWORD REUSE INTERVAL DEFAULT PASSWORD REQUIRE CURRENT DEFAULT";
        for (create, require) in [
            ("CREATE USER r1", "NONE"),
            ("CREATE USER r2 REQUIRE NONE", "NONE"),
            ("CREATE USER r3 REQUIRE SSL", "SSL"),
            ("CREATE USER r4 REQUIRE X509", "X509"),
            (
                "CREATE USER r5 REQUIRE CIPHER 'AES128-GCM-SHA256' AND ISSUER '/CN=TiDB admin/OU=TiDB' AND SUBJECT '/CN=tester1'",
                "SUBJECT '/CN=tester1' ISSUER '/CN=TiDB admin/OU=TiDB' CIPHER 'AES128-GCM-SHA256'",
            ),
            (
                "CREATE USER r6 REQUIRE SAN 'DNS:a, IP:10.0.0.1'",
                "SAN 'DNS:a,IP:10.0.0.1'",
            ),
        ] {
            env.root(create);
            let user = create.split_whitespace().nth(2).unwrap();
            assert_eq!(
                env.show_create(user),
                format!(
                    "CREATE USER `{user}`@`%` IDENTIFIED WITH 'caching_sha2_password' REQUIRE {require}{tail}"
                )
            );
        }
        env.root("CREATE USER n@localhost IDENTIFIED WITH mysql_native_password BY 'password' ACCOUNT LOCK");
        assert_eq!(
            env.show_create("n@localhost"),
            "CREATE USER `n`@`localhost` IDENTIFIED WITH 'mysql_native_password' AS '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19' REQUIRE NONE PASSWORD EXPIRE DEFAULT ACCOUNT LOCK PASSWORD HISTORY DEFAULT PASSWORD REUSE INTERVAL DEFAULT PASSWORD REQUIRE CURRENT DEFAULT"
        );
        match env.root("SHOW CREATE USER n@localhost") {
            Outcome::ResultSet { columns, .. } => {
                assert_eq!(columns[0].name, "CREATE USER for n@localhost")
            }
            other => panic!("{other:?}"),
        }
        let e = env.root_err("SHOW CREATE USER ghost");
        assert_eq!(
            (e.code(), e.message.as_str()),
            (1396, "Operation SHOW CREATE USER failed for 'ghost'@'%'")
        );
    }

    #[test]
    fn show_create_user_output_replays() {
        let env = Env::new();
        env.root(
            "CREATE USER 'we''ird'@'10.%' IDENTIFIED BY 'pw' REQUIRE SUBJECT '/O=it''s/CN=x' ISSUER '/CN=ca' SAN 'URI:spiffe://a/b' ACCOUNT LOCK",
        );
        let original = env.account("we'ird", "10.%");
        let text = env.show_create("'we''ird'@'10.%'");
        env.root("DROP USER 'we''ird'@'10.%'");
        env.root(&text);
        assert_eq!(env.account("we'ird", "10.%"), original, "{text}");
    }

    #[test]
    fn rename_moves_everything_and_refuses_to_overwrite() {
        let env = Env::new();
        env.root("CREATE USER a IDENTIFIED BY 'pw' REQUIRE SSL");
        env.root("GRANT SELECT ON app.* TO a");
        env.root("CREATE USER taken");
        let e = env.root_err("RENAME USER a TO taken");
        assert_eq!(e.message, "Operation RENAME USER failed for 'a'@'%'");
        env.root("RENAME USER a TO b@'%'");
        assert!(env.store.get(&key("a", "%")).is_none());
        let b = env.account("b", "%");
        assert_eq!((b.user.as_str(), b.host.as_str()), ("b", "%"));
        assert!(can_log_in_sha2(&b, b"pw"));
        assert_eq!(b.require, TlsRequirement::Ssl);
        assert!(b.grants.has_db("app", Privilege::Select));
    }

    #[test]
    fn identified_with_a_new_plugin_clears_the_password() {
        let env = Env::new();
        env.root("CREATE USER u IDENTIFIED BY 'pw'");
        env.root("ALTER USER u IDENTIFIED WITH mysql_native_password");
        let u = env.account("u", "%");
        assert_eq!(
            (u.plugin, u.auth_string.as_str()),
            (Plugin::MysqlNativePassword, "")
        );
        env.root("ALTER USER u IDENTIFIED WITH caching_sha2_password BY 'x'");
        assert!(can_log_in_sha2(&env.account("u", "%"), b"x"));
    }

    #[test]
    fn statements_keep_the_fast_auth_cache_honest() {
        let env = Env::new();
        let cache = env.store.sha2_cache();
        let fill = |user: &str| {
            let acct = env.account(user, "%");
            assert!(cache.full_auth(&acct, b"pw"));
            assert!(cache.contains(&acct.key()));
        };
        env.root("CREATE USER a IDENTIFIED BY 'pw', b IDENTIFIED BY 'pw', c IDENTIFIED BY 'pw', d IDENTIFIED BY 'pw'");
        for u in ["a", "b", "c", "d"] {
            fill(u);
        }
        env.root("SET PASSWORD FOR a = 'pw'");
        assert!(
            !cache.contains(&key("a", "%")),
            "a new hash, even of the same password"
        );
        env.root("ALTER USER b REQUIRE SSL ACCOUNT LOCK");
        assert!(cache.contains(&key("b", "%")), "no credential change");
        env.root("RENAME USER b TO b2");
        assert!(!cache.contains(&key("b", "%")));
        env.root("DROP USER c");
        assert!(!cache.contains(&key("c", "%")));
        assert!(cache.contains(&key("d", "%")));
        env.root("FLUSH PRIVILEGES");
        assert!(!cache.contains(&key("d", "%")));
    }

    #[test]
    fn unprivileged_users() {
        let env = Env::new();
        env.root("CREATE USER u IDENTIFIED BY 'old', v");
        let u = key("u", "%");
        let denied = "Access denied; you need (at least one of) the CREATE USER privilege(s) for this operation";
        for sql in [
            "CREATE USER w",
            "DROP USER v",
            "RENAME USER v TO w",
            "ALTER USER v IDENTIFIED BY 'x'",
            "ALTER USER u ACCOUNT UNLOCK",
            "ALTER USER u REQUIRE NONE",
            "ALTER USER u IDENTIFIED WITH mysql_native_password BY 'x'",
            "SET PASSWORD FOR v = 'x'",
            "REVOKE ALL, GRANT OPTION FROM v",
        ] {
            let e = env.run_as(&u, sql).unwrap_err();
            assert_eq!((e.code(), e.message.as_str()), (1227, denied), "{sql}");
        }
        // Their own password, though, they may change.
        env.run_as(&u, "SET PASSWORD = 'new1'").unwrap();
        assert!(can_log_in_sha2(&env.account("u", "%"), b"new1"));
        env.run_as(&u, "ALTER USER USER() IDENTIFIED BY 'new2'")
            .unwrap();
        assert!(can_log_in_sha2(&env.account("u", "%"), b"new2"));
        env.run_as(&u, "SET PASSWORD FOR 'u'@'%' = 'new3'").unwrap();
        assert!(can_log_in_sha2(&env.account("u", "%"), b"new3"));

        let e = env.run_as(&u, "GRANT SELECT ON *.* TO v").unwrap_err();
        assert_eq!(e.code(), 1227);
        assert!(
            e.message.contains("SELECT, GRANT OPTION privilege(s)"),
            "{}",
            e.message
        );
        let e = env.run_as(&u, "GRANT SELECT ON app.* TO v").unwrap_err();
        assert_eq!(
            (e.code(), e.message.as_str()),
            (1044, "Access denied for user 'u'@'%' to database 'app'")
        );
        let e = env.run_as(&u, "FLUSH PRIVILEGES").unwrap_err();
        assert!(
            e.message.contains("the RELOAD privilege(s)"),
            "{}",
            e.message
        );
        let e = env.run_as(&u, "SHOW GRANTS FOR v").unwrap_err();
        assert_eq!(
            (e.code(), e.message.as_str()),
            (1044, "Access denied for user 'u'@'%' to database 'mysql'")
        );
        assert!(env.run_as(&u, "SHOW CREATE USER v").is_err());
        assert!(env.grants(&u, "SHOW GRANTS").is_ok());
        assert!(env.grants(&u, "SHOW GRANTS FOR CURRENT_USER()").is_ok());
        assert!(env.run_as(&u, "SHOW CREATE USER CURRENT_USER").is_ok());

        env.root("GRANT SELECT ON *.* TO u");
        assert!(
            env.grants(&u, "SHOW GRANTS FOR v").is_ok(),
            "global SELECT reads other grants"
        );
    }

    #[test]
    fn anonymous_users_cannot_change_passwords() {
        let env = Env::new();
        env.root("CREATE USER ''@localhost");
        let e = env
            .run_as(&key("", "localhost"), "SET PASSWORD = 'x'")
            .unwrap_err();
        assert_eq!(e.code(), 1131);
    }

    #[test]
    fn grant_needs_grant_option_and_the_privileges() {
        let env = Env::new();
        env.root("CREATE USER admin, target");
        env.root("GRANT SELECT, INSERT ON app.* TO admin WITH GRANT OPTION");
        env.root("GRANT PROCESS ON *.* TO admin");
        let admin = key("admin", "%");
        env.run_as(&admin, "GRANT SELECT ON app.* TO target")
            .unwrap();
        env.run_as(
            &admin,
            "GRANT INSERT ON `app`.* TO target WITH GRANT OPTION",
        )
        .unwrap();
        let e = env
            .run_as(&admin, "GRANT DELETE ON app.* TO target")
            .unwrap_err();
        assert_eq!(e.code(), 1044);
        let e = env
            .run_as(&admin, "GRANT SELECT ON other.* TO target")
            .unwrap_err();
        assert_eq!(e.code(), 1044);
        let e = env
            .run_as(&admin, "GRANT PROCESS ON *.* TO target")
            .unwrap_err();
        assert_eq!(e.code(), 1227, "PROCESS without GRANT OPTION on *.*");
        let e = env
            .run_as(&admin, "GRANT SELECT ON app.* TO target REQUIRE SSL")
            .unwrap_err();
        assert!(e.message.contains("CREATE USER"), "{}", e.message);
        env.run_as(&admin, "REVOKE INSERT ON app.* FROM target")
            .unwrap();
        assert_eq!(
            env.account("target", "%").grants.databases["app"],
            PrivilegeSet::of(&[Privilege::Select, Privilege::GrantOption])
        );
        // A global grant covers every database.
        env.root("GRANT ALL ON *.* TO admin WITH GRANT OPTION");
        env.run_as(&admin, "GRANT ALL ON elsewhere.* TO target")
            .unwrap();
    }

    #[test]
    fn grant_errors() {
        let env = Env::new();
        env.root("CREATE USER u");
        let e = env.root_err("GRANT SUPER ON app.* TO u");
        assert_eq!(
            (e.code(), e.message.as_str()),
            (1221, "Incorrect usage of DB GRANT and GLOBAL PRIVILEGES")
        );
        let e = env.root_err("GRANT SELECT ON *.* TO u, ghost");
        assert_eq!(
            (e.code(), e.message.as_str()),
            (1410, "You are not allowed to create a user with GRANT")
        );
        assert!(
            !env.account("u", "%").grants.has_global(Privilege::Select),
            "atomic"
        );
        let e = env.root_err("REVOKE SELECT ON app.* FROM u");
        assert_eq!(
            (e.code(), e.message.as_str()),
            (
                1141,
                "There is no such grant defined for user 'u' on host '%'"
            )
        );
        let e = env.root_err("REVOKE SELECT ON *.* FROM ghost@h");
        assert_eq!(
            e.message,
            "There is no such grant defined for user 'ghost' on host 'h'"
        );
        let e = env.root_err("REVOKE ALL, GRANT OPTION FROM ghost");
        assert_eq!(e.code(), 1269);
        let e = env.root_err("SHOW GRANTS FOR ghost");
        assert_eq!(e.code(), 1141);
    }

    #[test]
    fn show_grants_output() {
        let env = Env::new();
        env.root("CREATE USER u@'10.%'");
        let u = key("u", "10.%");
        assert_eq!(
            env.grants(&u, "SHOW GRANTS").unwrap(),
            (
                "Grants for u@10.%".to_string(),
                vec!["GRANT USAGE ON *.* TO `u`@`10.%`".to_string()]
            )
        );
        env.root("GRANT RELOAD, SYSTEM_VARIABLES_ADMIN ON *.* TO u@'10.%'");
        env.root("GRANT ALL ON app.* TO u@'10.%' WITH GRANT OPTION");
        env.root("GRANT SELECT ON `b-db`.* TO u@'10.%'");
        assert_eq!(
            env.grants(&env.root.clone(), "SHOW GRANTS FOR u@'10.%'")
                .unwrap()
                .1,
            [
                "GRANT RELOAD ON *.* TO `u`@`10.%`",
                "GRANT SYSTEM_VARIABLES_ADMIN ON *.* TO `u`@`10.%`",
                "GRANT ALL PRIVILEGES ON `app`.* TO `u`@`10.%` WITH GRANT OPTION",
                "GRANT SELECT ON `b-db`.* TO `u`@`10.%`",
            ]
        );
        assert_eq!(
            env.grants(&env.root.clone(), "SHOW GRANTS").unwrap(),
            (
                "Grants for root@localhost".to_string(),
                vec![
                    "GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"
                        .to_string()
                ]
            )
        );
        env.root("REVOKE ALL PRIVILEGES, GRANT OPTION FROM u@'10.%'");
        assert_eq!(
            env.grants(&u, "SHOW GRANTS").unwrap().1,
            ["GRANT USAGE ON *.* TO `u`@`10.%`"]
        );
    }

    #[test]
    fn revoked_privileges_apply_to_the_next_statement() {
        let env = Env::new();
        env.root("CREATE USER admin");
        env.root("GRANT CREATE USER ON *.* TO admin");
        let admin = key("admin", "%");
        env.run_as(&admin, "CREATE USER x").unwrap();
        env.root("REVOKE CREATE USER ON *.* FROM admin");
        assert_eq!(
            env.run_as(&admin, "CREATE USER y").unwrap_err().code(),
            1227
        );
    }

    #[test]
    fn set_password_for_a_missing_account() {
        let env = Env::new();
        let e = env.root_err("SET PASSWORD FOR ghost = 'x'");
        assert_eq!(
            (e.code(), e.message.as_str()),
            (1133, "Can't find any matching row in the user table")
        );
    }

    #[test]
    fn accounts_survive_reopening_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let root = key("root", "localhost");
        {
            let store = AccountStore::open(dir.path()).unwrap();
            run(
                "CREATE USER u IDENTIFIED BY 'pw' REQUIRE X509",
                &store,
                &root,
            )
            .unwrap()
            .unwrap();
            run("GRANT SELECT ON app.* TO u", &store, &root)
                .unwrap()
                .unwrap();
            run("DROP USER root@'::1'", &store, &root).unwrap().unwrap();
        }
        let store = AccountStore::open(dir.path()).unwrap();
        let u = store.get(&key("u", "%")).unwrap();
        assert!(caching_sha2::verify_password(&u.auth_string, b"pw"));
        assert_eq!(u.require, TlsRequirement::X509);
        assert!(u.grants.has_db("app", Privilege::Select));
        assert!(store.get(&key("root", "::1")).is_none());
    }
}
