//! Views: `CREATE [OR REPLACE] … VIEW`, `DROP VIEW`, and a view's definition as MySQL shows
//! it. A view is a SQLite view in its database's file, made from its query as translated for
//! SQLite, so queries read it as they read a table; the statement MySQL shows for it is kept
//! in the database's catalog beside the tables' definitions. SQLite lets a view in an attached
//! database name only objects of that same database, so a view over another database (or over
//! a server-computed table) is refused with 1235. Views are not updatable here (1288).

use std::ops::ControlFlow;

use sqlparser::ast::{
    CreateView, Expr, GranteeName, ObjectName, Query, Statement, visit_expressions,
    visit_relations_mut,
};

use super::conn::{CATALOG, EngineSession, no_such_table};
use super::translate::{self, TableRef, quote};
use super::types::sql_error;
use super::{Outcome, SessionContext};
use crate::auth::privileges::Privilege;
use crate::error::{ErrorKind, SqlError};
use crate::protocol::value::Value;

/// A view's definition as MySQL describes it, read back from the catalog.
pub(super) struct ViewDef {
    /// `SHOW CREATE VIEW`'s `Create View`.
    pub(super) create: String,
    /// `information_schema.VIEWS.VIEW_DEFINITION`: the query.
    pub(super) query: String,
    /// `user@host`, as `information_schema.VIEWS.DEFINER` shows it.
    pub(super) definer: String,
    /// `DEFINER` or `INVOKER`.
    pub(super) security: String,
}

/// MySQL's backquoted identifier.
fn backquote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `CREATE [OR REPLACE] [ALGORITHM=…] [DEFINER=…] [SQL SECURITY …] VIEW v [(cols)] AS SELECT …`.
/// Needs `CREATE` on the view (tlsql has no separate `CREATE VIEW` privilege) and `SELECT` on
/// every table it reads.
pub(super) fn create(
    s: &mut EngineSession,
    cv: &CreateView,
    ctx: &dyn SessionContext,
) -> Result<Outcome, SqlError> {
    if cv.materialized || cv.temporary || cv.secure || cv.or_alter || cv.if_not_exists {
        return Err(SqlError::not_supported(
            "CREATE VIEW with MATERIALIZED, TEMPORARY, SECURE, OR ALTER or IF NOT EXISTS",
        ));
    }
    let target = super::ddl::creatable(s, &cv.name, ctx)?;
    // A user variable would be read once, when the view is made: MySQL refuses it.
    let variable = visit_expressions(&cv.query, |e| match e {
        Expr::Identifier(i) if i.value.starts_with('@') && !i.value.starts_with("@@") => {
            ControlFlow::Break(())
        }
        _ => ControlFlow::Continue(()),
    });
    if variable.is_break() {
        return Err(SqlError::new(
            ErrorKind::ViewSelectVariable,
            "View's SELECT contains a variable or parameter",
        ));
    }
    // Unqualified tables in the query are those of the default database, as in MySQL; the
    // session's temporary tables are not looked up, so that they can be refused by name.
    let mut query = Statement::Query(cv.query.clone());
    let found = translate::rewrite(&mut query, s.current.as_deref(), &[], ctx)?;
    if let Some((schema, table)) = found.virtual_tables.first() {
        return Err(SqlError::not_supported(format!(
            "a view over {schema}.{table}"
        )));
    }
    let mut keep = vec![target.db.as_str()];
    keep.extend(found.tables.iter().map(|t| t.db.as_str()));
    for t in &found.tables {
        if s.temporary(t).is_some() {
            return Err(SqlError::new(
                ErrorKind::ViewSelectTemporary,
                format!("View's SELECT refers to a temporary table '{}'", t.table),
            ));
        }
        ctx.authorize(Privilege::Select, &t.db, Some(&t.table))?;
        if !s.attach_if_exists(&t.db, &keep)? || !(s.table_exists(t)? || s.view_exists(t)?) {
            return Err(no_such_table(t));
        }
        if t.db != target.db {
            return Err(SqlError::not_supported(format!(
                "a view over another database ('{}.{}' in view '{}.{}')",
                t.db, t.table, target.db, target.table
            )));
        }
    }
    s.attach(&target.db, &[target.db.as_str()])?;
    let exists = SqlError::new(
        ErrorKind::TableExists,
        format!("Table '{}' already exists", target.table),
    );
    if s.table_exists(&target)? {
        return Err(if cv.or_replace {
            not_view(&target)
        } else {
            exists
        });
    }
    let replaced = s.view_exists(&target)?;
    if replaced && !cv.or_replace {
        return Err(exists);
    }
    let sqlite_query = query.to_string();
    check_columns(s, cv, &sqlite_query, &target.db)?;

    let columns: Vec<&str> = cv.columns.iter().map(|c| c.name.value.as_str()).collect();
    let (user, host) = definer(cv, ctx);
    let algorithm = cv
        .params
        .as_ref()
        .and_then(|p| p.algorithm.as_ref())
        .map_or("UNDEFINED".to_string(), ToString::to_string);
    let security = cv
        .params
        .as_ref()
        .and_then(|p| p.security.as_ref())
        .map_or("DEFINER".to_string(), ToString::to_string);
    let listed = |quoted: fn(&str) -> String, separator: &str| {
        if columns.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = columns.iter().map(|c| quoted(c)).collect();
            format!(" ({})", names.join(separator))
        }
    };
    let mysql = format!(
        "CREATE ALGORITHM={algorithm} DEFINER={}@{} SQL SECURITY {security} VIEW {}{} AS {}",
        backquote(&user),
        backquote(&host),
        backquote(&target.table),
        listed(backquote, ","),
        shown_query(&cv.query, &target.db)
    );
    let schema = quote(&target.db);
    let mut statements = Vec::new();
    if replaced {
        statements.push(format!("DROP VIEW {schema}.{}", quote(&target.table)));
    }
    statements.push(format!(
        "CREATE VIEW {schema}.{}{} AS {sqlite_query}",
        quote(&target.table),
        listed(quote, ", ")
    ));
    statements.push(format!(
        "INSERT OR REPLACE INTO {schema}.{CATALOG} VALUES ('{}', '{}')",
        target.table.replace('\'', "''"),
        mysql.replace('\'', "''")
    ));
    s.ddl(&[target.db.as_str()], &statements)
}

/// The query as the view's definition shows it: its tables, all of the view's database, are
/// named without it, as MySQL shows them, so that a dump restores the view into any database.
fn shown_query(query: &Query, db: &str) -> String {
    let mut query = query.clone();
    let _ = visit_relations_mut(&mut query, |name| {
        if let Ok([schema, table]) = translate::name_parts(name).as_deref()
            && schema == db
        {
            *name = ObjectName::from(vec![sqlparser::ast::Ident::with_quote('`', table)]);
        }
        ControlFlow::<()>::Continue(())
    });
    query.to_string()
}

/// The view's column list, if given, must name as many columns as the query gives, and the
/// names (given or the query's) must differ, as MySQL requires (SQLite would rename a
/// duplicate). Preparing the query also reports an unknown column as MySQL's error.
fn check_columns(
    s: &EngineSession,
    cv: &CreateView,
    sqlite_query: &str,
    db: &str,
) -> Result<(), SqlError> {
    let stmt = s
        .conn
        .prepare(sqlite_query)
        .map_err(|e| sql_error(&e, Some(db)))?;
    let names: Vec<String> = if cv.columns.is_empty() {
        stmt.column_names().map(str::to_string).collect()
    } else {
        if cv.columns.len() != stmt.column_count() {
            return Err(SqlError::new(
                ErrorKind::ViewWrongList,
                "In definition of view, derived table or common table expression, SELECT list \
                 and column names list have different column counts",
            ));
        }
        cv.columns.iter().map(|c| c.name.value.clone()).collect()
    };
    for (i, name) in names.iter().enumerate() {
        if names[..i].iter().any(|n| n.eq_ignore_ascii_case(name)) {
            return Err(SqlError::new(
                ErrorKind::DuplicateColumn,
                format!("Duplicate column name '{name}'"),
            ));
        }
    }
    Ok(())
}

/// The view's definer: the one named, else the account creating it (`CURRENT_USER()`).
fn definer(cv: &CreateView, ctx: &dyn SessionContext) -> (String, String) {
    let current = || match ctx.function("CURRENT_USER") {
        Some(Value::Text(account)) => account
            .rsplit_once('@')
            .map(|(u, h)| (u.to_string(), h.to_string()))
            .unwrap_or((account, "%".to_string())),
        _ => (String::new(), "%".to_string()),
    };
    match cv.params.as_ref().and_then(|p| p.definer.as_ref()) {
        Some(GranteeName::UserHost { user, host }) => (user.value.clone(), host.value.clone()),
        Some(GranteeName::ObjectName(name)) if !is_current_user(name) => (
            name.to_string().trim_matches('`').to_string(),
            "%".to_string(),
        ),
        _ => current(),
    }
}

fn is_current_user(name: &ObjectName) -> bool {
    name.to_string().eq_ignore_ascii_case("CURRENT_USER")
}

/// `DROP VIEW [IF EXISTS] v [, v]…`: 1051 names the missing ones (a note each with
/// `IF EXISTS`), a table is 1347; needs `DROP` on each.
pub(super) fn drop(
    s: &mut EngineSession,
    if_exists: bool,
    names: &[ObjectName],
    ctx: &dyn SessionContext,
) -> Result<Outcome, SqlError> {
    let mut missing = Vec::new();
    let mut statements = Vec::new();
    let mut dbs = Vec::new();
    for name in names {
        let t = translate::resolve(name, s.current.as_deref())?;
        ctx.authorize(Privilege::Drop, &t.db, Some(&t.table))?;
        if !s.attach_if_exists(&t.db, &[])? || !s.view_exists(&t)? {
            if s.database_exists(&t.db) && s.table_exists(&t)? {
                return Err(not_view(&t));
            }
            missing.push(format!("{}.{}", t.db, t.table));
            continue;
        }
        statements.push(format!("DROP VIEW {}.{}", quote(&t.db), quote(&t.table)));
        statements.push(format!(
            "DELETE FROM {}.{CATALOG} WHERE name = '{}'",
            quote(&t.db),
            t.table.replace('\'', "''")
        ));
        dbs.push(t.db);
    }
    let unknown =
        |tables: &str| SqlError::new(ErrorKind::UnknownTable, format!("Unknown table '{tables}'"));
    if !missing.is_empty() && !if_exists {
        return Err(unknown(&missing.join(",")));
    }
    let dbs: Vec<&str> = dbs.iter().map(String::as_str).collect();
    s.ddl(&dbs, &statements)?;
    Ok(Outcome::noted(missing.iter().map(|m| unknown(m)).collect()))
}

/// 1347 `'db.t' is not VIEW`.
pub(super) fn not_view(t: &TableRef) -> SqlError {
    SqlError::new(
        ErrorKind::WrongObject,
        format!("'{}.{}' is not VIEW", t.db, t.table),
    )
}

/// The definition of view `t` (its database attached), if the catalog has one.
pub(super) fn view_def(s: &EngineSession, t: &TableRef) -> Result<Option<ViewDef>, SqlError> {
    let Some(create) = s.definition(t)? else {
        return Ok(None);
    };
    let Statement::CreateView(cv) = translate::parse_one(&create)? else {
        return Ok(None);
    };
    let (user, host) = match cv.params.as_ref().and_then(|p| p.definer.as_ref()) {
        Some(GranteeName::UserHost { user, host }) => (user.value.clone(), host.value.clone()),
        _ => (String::new(), String::new()),
    };
    Ok(Some(ViewDef {
        query: cv.query.to_string(),
        definer: format!("{user}@{host}"),
        security: cv
            .params
            .as_ref()
            .and_then(|p| p.security.as_ref())
            .map_or("DEFINER".to_string(), ToString::to_string),
        create,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_definition_mysql_shows_reads_back() {
        let text = "CREATE ALGORITHM=UNDEFINED DEFINER=`ro``ot`@`%` SQL SECURITY INVOKER \
                    VIEW `v` (`a`,`b`) AS SELECT x, y FROM t";
        let Statement::CreateView(cv) = translate::parse_one(text).unwrap() else {
            panic!("not a view");
        };
        let params = cv.params.unwrap();
        assert!(matches!(
            params.definer,
            Some(GranteeName::UserHost { ref user, ref host }) if user.value == "ro`ot" && host.value == "%"
        ));
        assert_eq!(params.security.unwrap().to_string(), "INVOKER");
        assert_eq!(cv.query.to_string(), "SELECT x, y FROM t");
        assert_eq!(cv.columns.len(), 2);
    }
}
