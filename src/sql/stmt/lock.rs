//! `LOCK TABLES` and `UNLOCK TABLES`, and the tables each statement uses, which the locks are
//! checked against (see [`crate::instance::locks`] for what the locks guarantee).
//!
//! ```text
//! LOCK {TABLE | TABLES} table [[AS] alias] lock_type [, table [[AS] alias] lock_type]…
//!   lock_type: READ [LOCAL] | [LOW_PRIORITY] WRITE
//! UNLOCK {TABLE | TABLES}
//! ```
//!
//! As in MySQL, `LOCK TABLES` needs the `LOCK TABLES` privilege on each table's database and
//! `SELECT` on the table, commits an open transaction, and releases the locks the session held
//! before taking the new ones; `UNLOCK TABLES` commits an open transaction if it released locks.

use std::ops::ControlFlow;
use std::sync::Arc;

use sqlparser::ast::{self, ObjectName, ObjectType, Visit, Visitor};

use super::parser::Parser;
use super::query;
use crate::auth::privileges::Privilege;
use crate::error::{ErrorKind, SqlError};
use crate::instance::locks::{Mode, StatementUse, TableKey};
use crate::sql::context::Context;
use crate::sql::exchange::{Exchange, Reply};
use crate::storage::{SessionContext, TableName};

/// A parsed `LOCK TABLES` or `UNLOCK TABLES`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockStatement {
    /// `LOCK TABLES`.
    Lock(Vec<LockItem>),
    /// `UNLOCK TABLES`.
    Unlock,
}

/// One table of `LOCK TABLES`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockItem {
    /// The table.
    pub table: TableName,
    /// `WRITE` rather than `READ`.
    pub write: bool,
}

/// Whether the statement is `LOCK TABLES` or `UNLOCK TABLES` (nothing consumed).
pub(super) fn starts(p: &mut Parser<'_>) -> bool {
    ["LOCK", "UNLOCK"]
        .iter()
        .any(|kw| p.at_keywords(&[kw, "TABLES"]) || p.at_keywords(&[kw, "TABLE"]))
}

impl LockStatement {
    /// Parses `LOCK TABLES …` or `UNLOCK TABLES` (the parser is at its first word).
    pub(crate) fn parse(p: &mut Parser<'_>) -> Result<LockStatement, SqlError> {
        if p.keyword("UNLOCK") {
            if !(p.keyword("TABLES") || p.keyword("TABLE")) {
                return Err(p.error("expected TABLES"));
            }
            p.end()?;
            return Ok(LockStatement::Unlock);
        }
        p.expect_keyword("LOCK")?;
        if !(p.keyword("TABLES") || p.keyword("TABLE")) {
            return Err(p.error("expected TABLES"));
        }
        let mut items = Vec::new();
        loop {
            let first = p.name("a table name")?;
            let table = if p.token(&sqlparser::tokenizer::Token::Period) {
                TableName {
                    db: Some(first),
                    table: p.name("a table name")?,
                }
            } else {
                TableName {
                    db: None,
                    table: first,
                }
            };
            // The alias is read and not kept: the lock is the table's.
            if p.keyword("AS") {
                p.name("an alias")?;
            } else if !(p.at_keyword("READ")
                || p.at_keyword("WRITE")
                || p.at_keyword("LOW_PRIORITY"))
            {
                p.name("READ, WRITE or an alias")?;
            }
            let write = if p.keyword("READ") {
                p.keyword("LOCAL");
                false
            } else {
                p.keyword("LOW_PRIORITY");
                p.expect_keyword("WRITE")?;
                true
            };
            items.push(LockItem { table, write });
            if !p.token(&sqlparser::tokenizer::Token::Comma) {
                break;
            }
        }
        p.end()?;
        Ok(LockStatement::Lock(items))
    }

    /// Takes or releases the session's table locks.
    pub(crate) fn execute(self, ex: &mut Exchange<'_>) -> Result<Reply, SqlError> {
        let shared = Arc::clone(&ex.state.shared);
        let id = ex.state.id;
        match self {
            LockStatement::Unlock => {
                if shared.table_locks.unlock_tables(id) {
                    commit(ex)?;
                }
            }
            LockStatement::Lock(items) => {
                let mut tables = Vec::with_capacity(items.len());
                for item in &items {
                    let db = match (&item.table.db, ex.engine.database()) {
                        (Some(db), _) => db.clone(),
                        (None, Some(db)) => db.to_string(),
                        (None, None) => {
                            return Err(SqlError::new(
                                ErrorKind::NoDatabaseSelected,
                                "No database selected",
                            ));
                        }
                    };
                    let ctx = Context::new(ex.state);
                    ctx.authorize(Privilege::LockTables, &db, None)?;
                    ctx.authorize(Privilege::Select, &db, Some(&item.table.table))?;
                    // A table that does not exist is 1146 from storage, as for any statement.
                    super::set::evaluate_query(
                        ex,
                        query::select_nothing_from(&db, &item.table.table),
                    )?;
                    let mode = if item.write { Mode::Write } else { Mode::Read };
                    tables.push((key(&db, &item.table.table), mode));
                }
                commit(ex)?;
                let timeout = ex.state.lock_wait_timeout();
                shared
                    .table_locks
                    .lock_tables(ex.state.registration.entry(), &tables, timeout)?;
            }
        }
        Ok(Reply::Ok)
    }
}

/// Commits the open transaction, if there is one (what `LOCK`/`UNLOCK TABLES` and
/// `START TRANSACTION` do first).
pub(super) fn commit(ex: &mut Exchange<'_>) -> Result<(), SqlError> {
    if !ex.engine.in_transaction() {
        return Ok(());
    }
    let statement = ast::Statement::Commit {
        chain: false,
        end: false,
        modifier: None,
    };
    super::set::evaluate_query(ex, statement).map(drop)
}

/// How locks name a table (SQLite, which stores it, does not tell case apart).
fn key(db: &str, table: &str) -> TableKey {
    (db.to_lowercase(), table.to_lowercase())
}

/// Announces a statement storage runs to the table locks (see
/// [`crate::instance::locks::TableLocks::begin_statement`]): while it is held the statement
/// may run.
pub(crate) fn begin_statement<'a>(
    ex: &Exchange<'_>,
    locks: &'a crate::instance::locks::TableLocks,
    statement: &ast::Statement,
) -> Result<StatementUse<'a>, SqlError> {
    let current = ex.engine.database().map(str::to_string);
    let timeout = ex.state.lock_wait_timeout();
    locks.begin_statement(
        ex.state.registration.entry(),
        || tables_used(statement, current.as_deref()),
        timeout,
    )
}

/// The tables a statement reads and writes, by database (the current one for unqualified
/// names): every relation it names, and as written the target of `INSERT`, `UPDATE`,
/// `DELETE` and DDL. `information_schema` and `performance_schema` are left out (the server
/// computes them), and so are the names of common table expressions.
pub(crate) fn tables_used(
    statement: &ast::Statement,
    current: Option<&str>,
) -> Vec<(TableKey, Mode)> {
    struct Relations {
        ctes: Vec<String>,
        names: Vec<ObjectName>,
    }
    impl Visitor for Relations {
        type Break = ();
        fn pre_visit_query(&mut self, query: &ast::Query) -> ControlFlow<()> {
            if let Some(with) = &query.with {
                self.ctes.extend(
                    with.cte_tables
                        .iter()
                        .map(|c| c.alias.name.value.to_lowercase()),
                );
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
            self.names.push(relation.clone());
            ControlFlow::Continue(())
        }
    }
    let mut relations = Relations {
        ctes: Vec::new(),
        names: Vec::new(),
    };
    let _ = statement.visit(&mut relations);
    let mut written: Vec<&ObjectName> = Vec::new();
    fn target(t: &ast::TableWithJoins) -> Option<&ObjectName> {
        match &t.relation {
            ast::TableFactor::Table { name, .. } => Some(name),
            _ => None,
        }
    }
    match statement {
        ast::Statement::Insert(insert) => {
            if let ast::TableObject::TableName(name) = &insert.table {
                written.push(name);
            }
        }
        ast::Statement::Update(update) => written.extend(target(&update.table)),
        ast::Statement::Delete(delete) => {
            written.extend(delete.tables.iter());
            if delete.tables.is_empty() {
                let (ast::FromTable::WithFromKeyword(from) | ast::FromTable::WithoutKeyword(from)) =
                    &delete.from;
                written.extend(from.iter().filter_map(target));
            }
        }
        ast::Statement::CreateTable(create) => written.push(&create.name),
        ast::Statement::AlterTable(alter) => written.push(&alter.name),
        ast::Statement::CreateIndex(index) => written.push(&index.table_name),
        ast::Statement::Truncate(truncate) => {
            written.extend(truncate.table_names.iter().map(|t| &t.name));
        }
        ast::Statement::Drop {
            object_type: ObjectType::Table,
            names,
            ..
        } => written.extend(names.iter()),
        _ => {}
    }
    let resolve = |name: &ObjectName| -> Option<TableKey> {
        let parts: Vec<&str> = name
            .0
            .iter()
            .map(|p| p.as_ident().map(|i| i.value.as_str()))
            .collect::<Option<_>>()?;
        let (db, table) = match parts.as_slice() {
            [table] if !relations.ctes.contains(&table.to_lowercase()) => (current?, *table),
            [db, table] => (*db, *table),
            _ => return None,
        };
        let internal = ["information_schema", "performance_schema"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(db));
        (!internal).then(|| key(db, table))
    };
    let mut uses: Vec<(TableKey, Mode)> = Vec::new();
    for (name, mode) in written
        .into_iter()
        .map(|n| (n, Mode::Write))
        .chain(relations.names.iter().map(|n| (n, Mode::Read)))
    {
        let Some(table) = resolve(name) else {
            continue;
        };
        if !uses.iter().any(|(t, _)| *t == table) {
            uses.push((table, mode));
        }
    }
    uses
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::tokenize;

    fn parsed(sql: &str) -> Result<LockStatement, SqlError> {
        let source = tokenize(sql).unwrap();
        LockStatement::parse(&mut Parser::new(&source))
    }

    fn item(db: Option<&str>, table: &str, write: bool) -> LockItem {
        LockItem {
            table: TableName {
                db: db.map(str::to_string),
                table: table.into(),
            },
            write,
        }
    }

    #[test]
    fn lock_forms() {
        assert_eq!(
            parsed("LOCK TABLES `item` READ /*!32311 LOCAL */").unwrap(),
            LockStatement::Lock(vec![item(None, "item", false)])
        );
        assert_eq!(
            parsed("lock table a.t1 AS x WRITE, t2 y READ, t3 LOW_PRIORITY WRITE").unwrap(),
            LockStatement::Lock(vec![
                item(Some("a"), "t1", true),
                item(None, "t2", false),
                item(None, "t3", true)
            ])
        );
        assert_eq!(parsed("UNLOCK TABLES;").unwrap(), LockStatement::Unlock);
        for bad in ["LOCK TABLES t", "LOCK TABLES t READ,", "UNLOCK TABLES t"] {
            assert_eq!(parsed(bad).unwrap_err().code(), 1064, "{bad}");
        }
    }

    fn uses(sql: &str) -> Vec<(String, Mode)> {
        let source = tokenize(sql).unwrap();
        let statement = super::super::parser::sqlparser_statement(&source).unwrap();
        tables_used(&statement, Some("app"))
            .into_iter()
            .map(|((db, table), mode)| (format!("{db}.{table}"), mode))
            .collect()
    }

    #[test]
    fn statements_read_and_write_their_tables() {
        use Mode::{Read, Write};
        assert_eq!(
            uses("SELECT * FROM t JOIN other.U ON 1 WHERE x IN (SELECT y FROM v)"),
            [
                ("app.t".into(), Read),
                ("other.u".into(), Read),
                ("app.v".into(), Read)
            ]
        );
        assert_eq!(
            uses("INSERT INTO t (a) SELECT b FROM s"),
            [("app.t".into(), Write), ("app.s".into(), Read)]
        );
        assert_eq!(
            uses("UPDATE t SET a = (SELECT MAX(b) FROM s)"),
            [("app.t".into(), Write), ("app.s".into(), Read)]
        );
        assert_eq!(uses("DELETE FROM t WHERE a = 1"), [("app.t".into(), Write)]);
        assert_eq!(
            uses("DROP TABLE t, x.y"),
            [("app.t".into(), Write), ("x.y".into(), Write)]
        );
        assert_eq!(
            uses("WITH c AS (SELECT 1) SELECT * FROM c, information_schema.TABLES"),
            []
        );
        assert_eq!(
            uses("ALTER TABLE t ADD COLUMN c INT"),
            [("app.t".into(), Write)]
        );
    }
}
