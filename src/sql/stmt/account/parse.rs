//! The account statements' grammar (see the family's documentation for why it is tlsql's).

use sqlparser::tokenizer::Token;

use super::ast::{
    AccountOptions, AccountStatement, AuthOption, Credential, PrivilegeList, UserRef, UserSpec,
};
use crate::auth::account::AccountKey;
use crate::auth::privileges::{Privilege, PrivilegeLevel, PrivilegeSet};
use crate::auth::require::{RequireClause, TlsRequirement};
use crate::auth::{Password, Plugin};
use crate::error::{ErrorKind, SqlError};
use crate::sql::stmt::parser::Parser;

/// Longest user name MySQL accepts (`USERNAME_CHAR_LENGTH`).
const MAX_USER_LEN: usize = 32;
/// Longest host name MySQL accepts (`HOSTNAME_LENGTH`).
const MAX_HOST_LEN: usize = 255;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::stmt::account::testing::{key, parse};

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
}
