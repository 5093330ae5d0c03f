//! `SHOW GRANTS` and `SHOW CREATE USER`: an account as MySQL 8 prints it, text that replays.

use super::ast::{Outcome, UserRef, cannot_user, no_such_grant};
use crate::auth::account::{Account, AccountKey};
use crate::auth::accounts::AccountStore;
use crate::auth::privileges::{Grants, Privilege, db_access_denied};
use crate::auth::require::quote;
use crate::error::SqlError;
use crate::protocol::value::{Column, Value};

/// `SHOW GRANTS [FOR user]`, for the acting account `actor` holding `grants`.
pub(super) fn show_grants(
    store: &AccountStore,
    grants: &Grants,
    actor: &AccountKey,
    user: Option<&UserRef>,
) -> Result<Outcome, SqlError> {
    let key = user.map_or_else(|| actor.clone(), |u| u.resolve(actor));
    check_may_read_other(grants, actor, &key)?;
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

/// `SHOW CREATE USER user`, for the acting account `actor` holding `grants`.
pub(super) fn show_create_user(
    store: &AccountStore,
    grants: &Grants,
    actor: &AccountKey,
    user: &UserRef,
) -> Result<Outcome, SqlError> {
    let key = user.resolve(actor);
    check_may_read_other(grants, actor, &key)?;
    let account = store
        .get(&key)
        .ok_or_else(|| cannot_user("SHOW CREATE USER", std::slice::from_ref(&key)))?;
    Ok(Outcome::ResultSet {
        columns: vec![Column::text(&format!(
            "CREATE USER for {}@{}",
            key.user, key.host
        ))],
        rows: vec![vec![Value::Text(create_user_text(&account))]],
    })
}

/// `SHOW CREATE USER` text in MySQL 8's form.
fn create_user_text(account: &Account) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::stmt::account::testing::{Env, key};

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
}
