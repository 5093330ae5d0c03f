//! Running an account statement against the account store, as the acting account.

use super::ast::{
    AccountStatement, AuthOption, Credential, Outcome, UserRef, cannot_user, no_such_grant,
};
use super::show;
use crate::auth::Plugin;
use crate::auth::account::{Account, AccountKey};
use crate::auth::accounts::AccountStore;
use crate::auth::privileges::{
    Grants, Privilege, PrivilegeLevel, PrivilegeSet, db_access_denied, specific_access_denied,
};
use crate::error::{ErrorKind, SqlError};

/// Executes `stmt` for the acting account `actor` (the account the session authenticated
/// as: `CURRENT_USER()`). The actor's privileges are read from `store` now.
pub(crate) fn execute(
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
            show::show_grants(store, &grants, actor, user.as_ref())
        }

        AccountStatement::ShowCreateUser { user } => {
            show::show_create_user(store, &grants, actor, user)
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

fn names<'a>(users: impl Iterator<Item = &'a UserRef>, actor: &AccountKey) -> String {
    users
        .map(|u| crate::logging::field(&u.resolve(actor).to_string()).into_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Nonce;
    use crate::auth::require::TlsRequirement;
    use crate::auth::{caching_sha2, native};
    use crate::sql::stmt::account::testing::{Env, NONCE, key, notes, run};

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
