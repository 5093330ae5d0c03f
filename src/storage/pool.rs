//! Sessions' SQLite connections reused: an ended session gives its connection back, made as
//! fresh as a new one, so the next session skips opening it, registering its functions and
//! loading its schema; and the [`Interrupter`] that lets `KILL` reach a session's connection
//! only while that session holds it.

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, InterruptHandle};

use super::conn::EngineSession;
use super::functions::UpsertTally;
use super::translate::quote;
use super::types::sql_error;
use crate::error::SqlError;

/// How long a statement waits for another session's write lock before failing with 1205.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// How many connections ended sessions leave ready for the next ones, as many as the idle
/// workers the server keeps (`server::pool`): opening a connection, registering its functions
/// and loading its schema is most of what a plain connection costs the server.
const POOLED: usize = 64;

/// A connection ready for a session: open, functions registered, schema loaded, nothing of an
/// earlier session left on it.
#[derive(Debug)]
pub(super) struct Ready {
    pub(super) conn: Connection,
    /// What the connection's `SLEEP` watches (registered with the connection, so it stays).
    pub(super) interrupted: Arc<AtomicBool>,
    /// What the connection's upsert counting function counts into (registered with it too).
    pub(super) upserts: Arc<UpsertTally>,
}

/// The interrupt handle of a connection while one session holds it: the session's
/// [`Interrupter`]s reach the connection through it, and the session empties it, under its
/// lock, before the connection goes back to the pool.
pub(super) type Slot = Arc<Mutex<Option<InterruptHandle>>>;

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Ready {
    /// A new connection: functions registered, statements cached.
    pub(super) fn open() -> rusqlite::Result<Ready> {
        let conn = Connection::open_in_memory()?;
        conn.busy_timeout(LOCK_WAIT)?;
        let interrupted = Arc::new(AtomicBool::new(false));
        let upserts = Arc::new(UpsertTally::default());
        super::functions::register(&conn, Arc::clone(&interrupted), Arc::clone(&upserts))?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Ready {
            conn,
            interrupted,
            upserts,
        })
    }
}

/// Stops the statement a session's connection runs, from another thread (`KILL`): it fails
/// with SQLite's interrupt, which the session reports as MySQL's 1317.
///
/// Once the session has ended it reaches nothing, although its connection lives on in the
/// pool for other sessions.
pub struct Interrupter {
    pub(super) slot: Slot,
    /// What `SLEEP` watches, which SQLite's interrupt does not reach while it waits.
    pub(super) interrupted: Arc<AtomicBool>,
}

impl Interrupter {
    /// Interrupts the running statement, if there is one (no effect on later ones, but for a
    /// `SLEEP` until [`EngineSession::clear_interrupt`]).
    pub fn interrupt(&self) {
        // Under the slot's lock, so that a session giving its connection back either waits
        // for this to finish (and then clears it) or has already emptied the slot.
        if let Some(handle) = &*lock(&self.slot) {
            self.interrupted.store(true, Ordering::Release);
            handle.interrupt();
        }
    }
}

/// A session's connection, taken out only when the session ends ([`EngineSession`]'s drop).
pub(super) struct Lease(pub(super) Option<Connection>);

impl Deref for Lease {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.0
            .as_ref()
            .expect("a session's connection is taken only when it ends")
    }
}

impl EngineSession {
    /// Puts the connection back to what a new connection is, before it goes to the pool: an
    /// error (or anything not verified) closes it instead.
    fn make_fresh(&mut self) -> Result<(), SqlError> {
        if self.in_transaction() {
            self.batch("ROLLBACK")?;
        }
        // Cached statements stay: the next session running the same text (a connection pool's
        // `SELECT 1`, an application's usual queries) skips preparing it. SQLite re-prepares a
        // statement whose schema changed before running it again, and the DETACH, DROP and
        // PRAGMA below all change it, so none can run against what this session left.
        self.files.clear();
        for db in std::mem::take(&mut self.attached) {
            self.batch(&format!("DETACH DATABASE {}", quote(&db)))?;
        }
        if self.pragmas_changed {
            self.batch("PRAGMA foreign_keys = ON; PRAGMA legacy_alter_table = OFF")?;
        }
        // `LAST_INSERT_ID()` and `ROW_COUNT()` read the connection's own counts, 0 on a new
        // one: an insert of rowid 0 sets the first, a delete of nothing the second.
        if self.conn.last_insert_rowid() != 0 || self.conn.changes() != 0 {
            self.temp_used = true;
            self.batch(
                "CREATE TEMP TABLE _tlsql_fresh (x); \
                 INSERT INTO temp._tlsql_fresh (rowid, x) VALUES (0, 0); \
                 DELETE FROM temp._tlsql_fresh WHERE x <> 0",
            )?;
        }
        self.temporary.clear();
        if self.temp_used {
            // SQLite's own `sqlite_sequence` (made by a temporary table with AUTO_INCREMENT)
            // cannot be dropped: the check below then closes the connection.
            let tables: Vec<String> = {
                let mut stmt = self
                    .conn
                    .prepare(
                        "SELECT name FROM temp.sqlite_master WHERE type = 'table' \
                         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
                    )
                    .map_err(|e| sql_error(&e, None))?;
                stmt.query_map([], |r| r.get(0))
                    .and_then(|names| names.collect())
                    .map_err(|e| sql_error(&e, None))?
            };
            for table in tables {
                self.batch(&format!("DROP TABLE temp.{}", quote(&table)))?;
            }
            let left: i64 = self
                .conn
                .query_row("SELECT COUNT(*) FROM temp.sqlite_master", [], |r| r.get(0))
                .map_err(|e| sql_error(&e, None))?;
            if left != 0 {
                return Err(SqlError::unknown("temporary objects left"));
            }
        }
        // Index 2 is the first attached database after `main` and `temp`.
        let fresh = !self.in_transaction()
            && self.conn.db_name(2).is_err()
            && self.conn.last_insert_rowid() == 0
            && self.conn.changes() == 0;
        if fresh {
            Ok(())
        } else {
            Err(SqlError::unknown("connection state left"))
        }
    }
}

impl Drop for EngineSession {
    /// Gives the connection to the pool, fresh, or closes it.
    fn drop(&mut self) {
        // First: from here on no KILL of this session reaches the connection.
        *lock(&self.slot) = None;
        let fresh = self.make_fresh();
        let Some(conn) = self.conn.0.take() else {
            return;
        };
        if let Err(e) = fresh {
            log::debug!(
                "a session's connection is closed, not pooled: {}",
                e.message
            );
            return;
        }
        // What a KILL that came before the slot was emptied set (SQLite's own interrupt flag
        // is cleared by the next statement, none running now).
        self.interrupted.store(false, Ordering::Release);
        let ready = Ready {
            conn,
            interrupted: Arc::clone(&self.interrupted),
            upserts: Arc::clone(&self.upserts),
        };
        let mut pool = lock(&self.pool);
        if pool.len() < POOLED {
            pool.push(ready);
        } else {
            // Closed outside the lock.
            drop(pool);
            drop(ready);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::super::conn::Engine;
    use super::*;

    fn int(s: &EngineSession, sql: &str) -> i64 {
        s.conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn a_connection_given_back_is_reused_as_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path()).unwrap();
        fs::File::create(dir.path().join("db/shop.sqlite")).unwrap();
        let mut a = engine.connect().unwrap();
        a.use_database("shop").unwrap();
        a.batch("CREATE TABLE shop.t (id INTEGER PRIMARY KEY)")
            .unwrap();
        a.set_foreign_key_checks(false).unwrap();
        // What an ALTER TABLE rebuild sets while it runs.
        a.batch("PRAGMA legacy_alter_table = ON").unwrap();
        a.temp_used = true;
        a.batch("CREATE TEMP TABLE _tlsql_information_schema_tables (a)")
            .unwrap();
        a.batch("INSERT INTO shop.t VALUES (7); BEGIN; INSERT INTO shop.t VALUES (8)")
            .unwrap();
        let connection = Arc::clone(&a.interrupted);
        let kill = a.interrupter();
        drop(a);
        let mut b = engine.connect().unwrap();
        assert!(
            Arc::ptr_eq(&connection, &b.interrupted),
            "the same connection"
        );
        // The ended session's KILL, late: it must not reach the next session.
        kill.interrupt();
        assert_eq!(int(&b, "SELECT sleep(0.2)"), 0, "not interrupted");
        assert_eq!(b.database(), None);
        assert!(!b.in_transaction());
        assert!(b.conn.db_name(2).is_err(), "nothing attached");
        assert_eq!(int(&b, "PRAGMA foreign_keys"), 1);
        assert_eq!(int(&b, "PRAGMA legacy_alter_table"), 0);
        assert_eq!(int(&b, "SELECT COUNT(*) FROM temp.sqlite_master"), 0);
        assert_eq!(int(&b, "SELECT last_insert_rowid()"), 0);
        assert_eq!(int(&b, "SELECT changes()"), 0);
        b.use_database("shop").unwrap();
        assert_eq!(
            int(&b, "SELECT COUNT(*) FROM shop.t"),
            1,
            "row 8 rolled back"
        );
        // This session's KILL still reaches it.
        b.interrupter().interrupt();
        assert_eq!(int(&b, "SELECT sleep(5)"), 1);
    }
}
