//! A SELECT that sessions share, with its SQLite form kept for reuse.
//!
//! The SQL layer keeps the SELECTs whose texts repeat (a pool's `SELECT 1`, a driver's
//! session set-up) parsed once for all sessions. Rewriting one for SQLite (names resolved
//! against the current database, MySQL's functions and literals replaced) and rendering it
//! again as text cost as much as parsing did. The SQLite form is therefore kept too, for each
//! current database, but only when the rewrite consulted nothing of the session's own: no
//! variable, no session function (`USER()`, `NOW()` in its time zone), no server-computed
//! table. What a rewrite consults is seen through [`Watched`], so a function that starts
//! consulting the session cannot be kept by mistake.
//!
//! A session with temporary tables neither uses nor keeps a translation: a temporary table
//! hides a base table of the same name in that session only.

use std::cell::Cell;
use std::sync::{Arc, Mutex};

use sqlparser::ast::Statement;

use super::translate::Rewritten;
use super::{Privilege, SessionContext, SqlError, Value, VarScope, VirtualTable};

/// Current databases a shared query keeps a translation for; when full it starts again.
const MAX_TRANSLATIONS: usize = 8;

/// A parsed SELECT shared by the sessions that send its text.
pub struct SharedQuery {
    statement: Statement,
    translations: Mutex<Vec<Kept>>,
}

/// A translation and the current database it was made in (`None`: no database).
type Kept = (Option<Box<str>>, Arc<Translation>);

/// A statement's SQLite form and what its rewrite found (the tables the session must be
/// allowed to read).
pub(super) struct Translation {
    pub(super) sql: String,
    pub(super) found: Rewritten,
}

impl std::fmt::Debug for SharedQuery {
    /// The statement alone: the translations are storage's business.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SharedQuery").field(&self.statement).finish()
    }
}

impl SharedQuery {
    /// Shares `statement`, a query.
    pub fn new(statement: Statement) -> Self {
        Self {
            statement,
            translations: Mutex::default(),
        }
    }

    /// The parsed statement.
    pub fn statement(&self) -> &Statement {
        &self.statement
    }

    /// The translation kept for `current`, the session's current database.
    pub(super) fn translation(&self, current: Option<&str>) -> Option<Arc<Translation>> {
        self.lock()
            .iter()
            .find(|(db, _)| db.as_deref() == current)
            .map(|(_, t)| Arc::clone(t))
    }

    /// Keeps `translation`, made with `current` as the current database.
    pub(super) fn keep(&self, current: Option<&str>, translation: Arc<Translation>) {
        let mut kept = self.lock();
        if kept.iter().any(|(db, _)| db.as_deref() == current) {
            return;
        }
        if kept.len() >= MAX_TRANSLATIONS {
            kept.clear();
        }
        kept.push((current.map(Box::from), translation));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Kept>> {
        // Consistent after any panic: a push either happened or not.
        self.translations.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The session's context as a rewrite sees it, noting whether the rewrite consulted it.
pub(super) struct Watched<'a> {
    ctx: &'a dyn SessionContext,
    consulted: Cell<bool>,
}

impl<'a> Watched<'a> {
    pub(super) fn new(ctx: &'a dyn SessionContext) -> Self {
        Self {
            ctx,
            consulted: Cell::new(false),
        }
    }

    /// Whether anything was asked of the session.
    pub(super) fn consulted(&self) -> bool {
        self.consulted.get()
    }

    fn ask(&self) -> &dyn SessionContext {
        self.consulted.set(true);
        self.ctx
    }
}

impl SessionContext for Watched<'_> {
    fn system_variable(&self, scope: VarScope, name: &str) -> Result<Value, SqlError> {
        self.ask().system_variable(scope, name)
    }

    fn user_variable(&self, name: &str) -> Value {
        self.ask().user_variable(name)
    }

    fn function(&self, name: &str) -> Option<Value> {
        self.ask().function(name)
    }

    fn virtual_table(&self, schema: &str, table: &str) -> Option<VirtualTable> {
        self.ask().virtual_table(schema, table)
    }

    fn authorize(
        &self,
        privilege: Privilege,
        db: &str,
        table: Option<&str>,
    ) -> Result<(), SqlError> {
        self.ask().authorize(privilege, db, table)
    }

    fn authorize_database(&self, db: &str) -> Result<(), SqlError> {
        self.ask().authorize_database(db)
    }

    fn found_rows(&self) -> bool {
        self.ask().found_rows()
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::super::conn::{Engine, EngineSession};
    use super::super::translate::{parse_one, tests::Fixed};
    use super::super::{Column, Outcome, RowSink};
    use super::*;
    use crate::protocol::value::Cell as ValueCell;

    /// Each row's cells as text, joined by `|`.
    #[derive(Default)]
    struct Rows(Vec<String>);

    impl RowSink for Rows {
        fn columns(&mut self, _: &[Column]) -> std::io::Result<()> {
            Ok(())
        }
        fn row(&mut self, row: &[ValueCell<'_>]) -> std::io::Result<()> {
            let cells: Vec<String> = row
                .iter()
                .map(|c| match c {
                    ValueCell::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    other => format!("{other:?}"),
                })
                .collect();
            self.0.push(cells.join("|"));
            Ok(())
        }
    }

    fn engine_with(dbs: &[&str]) -> (tempfile::TempDir, Engine) {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path()).unwrap();
        for db in dbs {
            fs::File::create(dir.path().join(format!("db/{db}.sqlite"))).unwrap();
        }
        (dir, engine)
    }

    fn run_sql(session: &mut EngineSession, sql: &str) {
        session
            .execute(parse_one(sql).unwrap(), &Fixed, &mut Rows::default())
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }

    /// A session in `db`, whose table `t` holds the row `value` (made when `value` is given).
    fn session_in(engine: &Engine, db: &str, value: Option<&str>) -> EngineSession {
        let mut session = engine.connect().unwrap();
        session.use_database(db).unwrap();
        if let Some(value) = value {
            run_sql(&mut session, "CREATE TABLE t (v TEXT)");
            run_sql(&mut session, &format!("INSERT INTO t VALUES ('{value}')"));
        }
        session
    }

    fn run(session: &mut EngineSession, query: &SharedQuery) -> Vec<String> {
        let mut rows = Rows::default();
        let outcome = session.execute_shared(query, &Fixed, &mut rows);
        assert!(matches!(outcome, Ok(Outcome::Rows)), "{outcome:?}");
        rows.0
    }

    fn shared(sql: &str) -> SharedQuery {
        SharedQuery::new(parse_one(sql).unwrap())
    }

    #[test]
    fn a_select_that_consults_nothing_is_kept_for_each_current_database() {
        let (_dir, engine) = engine_with(&["a", "b"]);
        drop(session_in(&engine, "a", Some("in a")));
        let mut session = session_in(&engine, "b", Some("in b"));
        let query = shared("SELECT v, DATABASE() FROM t");
        for db in ["a", "b", "a"] {
            session.use_database(db).unwrap();
            let expected = [format!("in {db}|{db}")];
            assert_eq!(run(&mut session, &query), expected);
            let kept = query.translation(Some(db)).expect("kept");
            assert!(
                kept.sql.contains(&format!("\"{db}\".\"t\"")),
                "{}",
                kept.sql
            );
            assert_eq!(run(&mut session, &query), expected, "the kept form");
        }
        assert_eq!(query.lock().len(), 2, "one translation per database");
    }

    #[test]
    fn a_select_that_consults_the_session_is_never_kept() {
        let (_dir, engine) = engine_with(&[]);
        let mut session = engine.connect().unwrap();
        for sql in [
            "SELECT @x",
            "SELECT @@version",
            "SELECT @@session.sql_mode",
            "SELECT USER()",
            "SELECT NOW()",
        ] {
            let query = shared(sql);
            let first = run(&mut session, &query);
            assert_eq!(run(&mut session, &query).len(), first.len());
            assert!(query.translation(None).is_none(), "{sql} kept");
        }
        let query = shared("SELECT 1");
        assert_eq!(run(&mut session, &query), ["Int(1)"]);
        assert!(query.translation(None).is_some(), "SELECT 1 not kept");
    }

    #[test]
    fn a_session_with_temporary_tables_neither_uses_nor_keeps_translations() {
        let (_dir, engine) = engine_with(&["a"]);
        let mut base = session_in(&engine, "a", Some("base"));
        let mut shadowed = session_in(&engine, "a", None);
        run_sql(&mut shadowed, "CREATE TEMPORARY TABLE t (v TEXT)");
        run_sql(&mut shadowed, "INSERT INTO t VALUES ('temporary')");
        let query = shared("SELECT v FROM t");
        assert_eq!(run(&mut shadowed, &query), ["temporary"]);
        assert!(
            query.translation(Some("a")).is_none(),
            "kept with temporaries"
        );
        assert_eq!(run(&mut base, &query), ["base"]);
        assert!(query.translation(Some("a")).is_some());
        assert_eq!(
            run(&mut shadowed, &query),
            ["temporary"],
            "the kept form was used"
        );
    }
}
