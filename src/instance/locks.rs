//! Table locks: `LOCK TABLES … READ|WRITE` / `UNLOCK TABLES`, held by a session across
//! statements, over SQLite (which locks whole database files, and only for a transaction).
//!
//! What they guarantee, as in MySQL:
//!
//! * A table a session locked `WRITE` is neither read nor written by any other session until
//!   that session unlocks it (`UNLOCK TABLES`, another `LOCK TABLES`, `START TRANSACTION`, its
//!   end); a table locked `READ` (`READ LOCAL` is the same) is written by no session, the
//!   locking one included (1099), and read by all.
//! * While a session holds locks it can use only the tables it locked (1100), except those of
//!   `information_schema` and `performance_schema`.
//! * A statement of another session that would break a lock waits for it, up to its
//!   `lock_wait_timeout` (then 1205); `LOCK TABLES` itself waits for conflicting locks and for
//!   the statements of other sessions that use the tables and were running when it came. `KILL`
//!   ends a wait (1317).
//!
//! A statement takes part only while some session holds or waits for table locks: it announces
//! the tables it uses for as long as it runs. One that started before any `LOCK TABLES` was
//! asked for is only counted, and a `LOCK TABLES` waits for all of those to finish, whatever
//! their tables (they are bounded: later statements announce their tables).
//!
//! Tables are named by database and table as the statement resolves them; `LOCK TABLES t AS x`
//! locks `t` (the alias is accepted, the lock is the table's). `DROP DATABASE` of a database
//! whose tables are locked does not wait.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::sessions::{Kill, SessionEntry};
use crate::error::{ErrorKind, SqlError};

/// A table: database and name.
pub type TableKey = (String, String);

/// How a table is locked, or used by a statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Read.
    Read,
    /// Read and write.
    Write,
}

/// Who uses one table.
#[derive(Default)]
struct Holders {
    /// Sessions that locked it `READ`.
    read: Vec<u32>,
    /// The session that locked it `WRITE`.
    write: Option<u32>,
    /// Running statements, by session: how many read it and how many write it.
    running: HashMap<u32, (u32, u32)>,
}

impl Holders {
    fn is_empty(&self) -> bool {
        self.read.is_empty() && self.write.is_none() && self.running.is_empty()
    }

    /// Whether `session` may lock the table in `mode` now.
    fn can_lock(&self, session: u32, mode: Mode) -> bool {
        let other_write = self.write.is_some_and(|s| s != session);
        let other_read = self.read.iter().any(|s| *s != session);
        let other_running = |write_only: bool| {
            self.running.iter().any(|(s, (reads, writes))| {
                *s != session && (*writes > 0 || (!write_only && *reads > 0))
            })
        };
        match mode {
            Mode::Read => !other_write && !other_running(true),
            Mode::Write => !other_write && !other_read && !other_running(false),
        }
    }

    /// Whether a statement of `session` may use the table in `mode` now.
    fn can_use(&self, session: u32, mode: Mode) -> bool {
        let other_write = self.write.is_some_and(|s| s != session);
        let other_read = self.read.iter().any(|s| *s != session);
        !(other_write || (mode == Mode::Write && other_read))
    }
}

#[derive(Default)]
struct State {
    tables: HashMap<TableKey, Holders>,
    /// What each session holding locks locked.
    held: HashMap<u32, Vec<(TableKey, Mode)>>,
}

/// The server's table locks.
#[derive(Default)]
pub struct TableLocks {
    state: Mutex<State>,
    changed: Condvar,
    /// Sessions that hold table locks or wait for them: while none do, statements do not
    /// announce their tables.
    explicit: AtomicUsize,
    /// Statements running without having announced their tables.
    unannounced: AtomicUsize,
}

/// How long a wait sleeps before it looks at the session's `KILL` mark again.
const WAKE: Duration = Duration::from_millis(50);

/// A running statement's place in the locks; dropping it ends the statement's use.
#[must_use]
pub struct StatementUse<'a> {
    locks: &'a TableLocks,
    session: u32,
    /// The tables it announced; `None` if it only counted itself as unannounced.
    uses: Option<Vec<(TableKey, Mode)>>,
}

impl Drop for StatementUse<'_> {
    fn drop(&mut self) {
        match self.uses.take() {
            None => {
                self.locks.unannounced.fetch_sub(1, Ordering::SeqCst);
                if self.locks.explicit.load(Ordering::SeqCst) > 0 {
                    self.locks.changed.notify_all();
                }
            }
            Some(uses) => {
                let mut state = self.locks.lock();
                for (table, mode) in &uses {
                    if let Some(holders) = state.tables.get_mut(table) {
                        if let Some(counts) = holders.running.get_mut(&self.session) {
                            match mode {
                                Mode::Read => counts.0 -= 1,
                                Mode::Write => counts.1 -= 1,
                            }
                            if *counts == (0, 0) {
                                holders.running.remove(&self.session);
                            }
                        }
                        if holders.is_empty() {
                            state.tables.remove(table);
                        }
                    }
                }
                drop(state);
                self.locks.changed.notify_all();
            }
        }
    }
}

/// 1205, what a wait that lasted `lock_wait_timeout` gets.
fn lock_wait_timeout() -> SqlError {
    SqlError::new(
        ErrorKind::LockWaitTimeout,
        "Lock wait timeout exceeded; try restarting transaction",
    )
}

/// 1317, what a wait ended by `KILL` gets.
pub fn interrupted() -> SqlError {
    SqlError::new(
        ErrorKind::QueryInterrupted,
        "Query execution was interrupted",
    )
}

impl TableLocks {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits on the condition variable until `ready` holds, the session is killed or
    /// `timeout` passes; `ready` is checked under the lock first.
    fn wait_until<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        session: &SessionEntry,
        timeout: Duration,
        waiting_for: &'static str,
        mut ready: impl FnMut(&State) -> bool,
    ) -> Result<MutexGuard<'a, State>, SqlError> {
        let deadline = Instant::now().checked_add(timeout);
        let mut marked = false;
        let outcome = loop {
            if ready(&state) {
                break Ok(());
            }
            if session.killed() != Kill::None {
                break Err(interrupted());
            }
            let left = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => WAKE,
            };
            if left.is_zero() {
                break Err(lock_wait_timeout());
            }
            if !marked {
                session.update(|a| a.state = waiting_for);
                marked = true;
            }
            state = self
                .changed
                .wait_timeout(state, left.min(WAKE))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        };
        if marked {
            session.update(|a| a.state = "executing");
        }
        outcome.map(|()| state)
    }

    /// `LOCK TABLES`: releases what the session held, then takes `tables` all at once, waiting
    /// as the module documentation says. On failure the session holds nothing.
    pub fn lock_tables(
        &self,
        session: &SessionEntry,
        tables: &[(TableKey, Mode)],
        timeout: Duration,
    ) -> Result<(), SqlError> {
        let id = session.id;
        self.unlock_tables(id);
        self.explicit.fetch_add(1, Ordering::SeqCst);
        let state = self.lock();
        // Statements that began before this announcement did not say what they use.
        let taken = self
            .wait_until(
                state,
                session,
                timeout,
                "Waiting for table metadata lock",
                |_| self.unannounced.load(Ordering::SeqCst) == 0,
            )
            .and_then(|state| {
                self.wait_until(
                    state,
                    session,
                    timeout,
                    "Waiting for table level lock",
                    |state| {
                        tables.iter().all(|(table, mode)| {
                            state
                                .tables
                                .get(table)
                                .is_none_or(|h| h.can_lock(id, *mode))
                        })
                    },
                )
            });
        let mut state = match taken {
            Ok(state) => state,
            Err(e) => {
                self.explicit.fetch_sub(1, Ordering::SeqCst);
                return Err(e);
            }
        };
        let mut held: Vec<(TableKey, Mode)> = Vec::new();
        for (table, mode) in tables {
            // A table named twice is locked in the stronger mode.
            match held.iter_mut().find(|(t, _)| t == table) {
                Some((_, m)) if *mode == Mode::Write => *m = Mode::Write,
                Some(_) => {}
                None => held.push((table.clone(), *mode)),
            }
        }
        for (table, mode) in &held {
            let holders = state.tables.entry(table.clone()).or_default();
            match mode {
                Mode::Read => holders.read.push(id),
                Mode::Write => holders.write = Some(id),
            }
        }
        state.held.insert(id, held);
        Ok(())
    }

    /// `UNLOCK TABLES` (and the session's end): releases what the session holds; whether it
    /// held anything.
    pub fn unlock_tables(&self, session: u32) -> bool {
        let mut state = self.lock();
        let Some(held) = state.held.remove(&session) else {
            return false;
        };
        for (table, _) in &held {
            if let Some(holders) = state.tables.get_mut(table) {
                holders.read.retain(|s| *s != session);
                if holders.write == Some(session) {
                    holders.write = None;
                }
                if holders.is_empty() {
                    state.tables.remove(table);
                }
            }
        }
        drop(state);
        self.explicit.fetch_sub(1, Ordering::SeqCst);
        self.changed.notify_all();
        true
    }

    /// Whether the session holds table locks.
    pub fn holds(&self, session: u32) -> bool {
        self.explicit.load(Ordering::SeqCst) > 0 && self.lock().held.contains_key(&session)
    }

    /// A statement of `session` starts, using the tables `uses` gives (called only while table
    /// locks exist): it checks them against the session's own locks (1100, 1099), waits for
    /// other sessions' locks, and announces them until the returned use is dropped.
    pub fn begin_statement(
        &self,
        session: &SessionEntry,
        uses: impl FnOnce() -> Vec<(TableKey, Mode)>,
        timeout: Duration,
    ) -> Result<StatementUse<'_>, SqlError> {
        let id = session.id;
        self.unannounced.fetch_add(1, Ordering::SeqCst);
        if self.explicit.load(Ordering::SeqCst) == 0 {
            return Ok(StatementUse {
                locks: self,
                session: id,
                uses: None,
            });
        }
        self.unannounced.fetch_sub(1, Ordering::SeqCst);
        self.changed.notify_all();
        let uses = uses();
        let state = self.lock();
        if let Some(held) = state.held.get(&id) {
            for (table, mode) in &uses {
                match held.iter().find(|(t, _)| t == table) {
                    None => {
                        return Err(SqlError::new(
                            ErrorKind::TableNotLocked,
                            format!("Table '{}' was not locked with LOCK TABLES", table.1),
                        ));
                    }
                    Some((_, Mode::Read)) if *mode == Mode::Write => {
                        return Err(SqlError::new(
                            ErrorKind::TableNotLockedForWrite,
                            format!(
                                "Table '{}' was locked with a READ lock and can't be updated",
                                table.1
                            ),
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
        let mut state = self.wait_until(
            state,
            session,
            timeout,
            "Waiting for table level lock",
            |state| {
                uses.iter().all(|(table, mode)| {
                    state.tables.get(table).is_none_or(|h| h.can_use(id, *mode))
                })
            },
        )?;
        for (table, mode) in &uses {
            let counts = state
                .tables
                .entry(table.clone())
                .or_default()
                .running
                .entry(id)
                .or_default();
            match mode {
                Mode::Read => counts.0 += 1,
                Mode::Write => counts.1 += 1,
            }
        }
        Ok(StatementUse {
            locks: self,
            session: id,
            uses: Some(uses),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::thread;

    use super::*;
    use crate::auth::account::{AccountKey, ResourceLimits};
    use crate::instance::sessions::{NewSession, Registration, Sessions};

    fn t(name: &str) -> TableKey {
        ("db".into(), name.into())
    }

    struct Env {
        _dir: tempfile::TempDir,
        engine: crate::storage::Engine,
        sessions: Arc<Sessions>,
        locks: TableLocks,
    }

    impl Env {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let engine = crate::storage::Engine::open(dir.path()).unwrap();
            Env {
                _dir: dir,
                engine,
                sessions: Arc::new(Sessions::default()),
                locks: TableLocks::default(),
            }
        }

        fn session(&self, id: u32) -> Registration {
            self.sessions
                .register(
                    NewSession {
                        id,
                        host: "localhost".into(),
                        user: "u",
                        account: AccountKey::new("u", "%"),
                        limits: ResourceLimits::default(),
                        db: None,
                        interrupter: self.engine.connect().unwrap().interrupter(),
                    },
                    0,
                )
                .unwrap()
        }
    }

    const SHORT: Duration = Duration::from_millis(100);

    #[test]
    fn a_session_with_locks_uses_only_its_tables() {
        let env = Env::new();
        let a = env.session(1);
        let a = a.entry();
        env.locks
            .lock_tables(a, &[(t("r"), Mode::Read), (t("w"), Mode::Write)], SHORT)
            .unwrap();
        assert!(env.locks.holds(1));
        let ok = |uses: Vec<(TableKey, Mode)>| env.locks.begin_statement(a, || uses, SHORT);
        drop(ok(vec![(t("r"), Mode::Read), (t("w"), Mode::Write)]).unwrap());
        let e = ok(vec![(t("r"), Mode::Write)]).err().unwrap();
        assert_eq!(
            (e.code(), e.message.as_str()),
            (
                1099,
                "Table 'r' was locked with a READ lock and can't be updated"
            )
        );
        let e = ok(vec![(t("other"), Mode::Read)]).err().unwrap();
        assert_eq!(
            (e.code(), e.message.as_str()),
            (1100, "Table 'other' was not locked with LOCK TABLES")
        );
        assert!(env.locks.unlock_tables(1));
        assert!(!env.locks.unlock_tables(1));
        drop(ok(vec![(t("other"), Mode::Write)]).unwrap());
    }

    #[test]
    fn others_wait_for_conflicting_locks_until_their_timeout() {
        let env = Env::new();
        let (a, b) = (env.session(1), env.session(2));
        env.locks
            .lock_tables(
                a.entry(),
                &[(t("r"), Mode::Read), (t("w"), Mode::Write)],
                SHORT,
            )
            .unwrap();
        let use_b = |table: &str, mode| {
            env.locks
                .begin_statement(b.entry(), || vec![(t(table), mode)], SHORT)
        };
        drop(use_b("r", Mode::Read).unwrap());
        assert_eq!(use_b("r", Mode::Write).err().unwrap().code(), 1205);
        assert_eq!(use_b("w", Mode::Read).err().unwrap().code(), 1205);
        drop(use_b("free", Mode::Write).unwrap());
        // Another session may read-lock what is read-locked, not what is write-locked.
        env.locks
            .lock_tables(b.entry(), &[(t("r"), Mode::Read)], SHORT)
            .unwrap();
        let e = env
            .locks
            .lock_tables(b.entry(), &[(t("w"), Mode::Read)], SHORT)
            .unwrap_err();
        assert_eq!(e.code(), 1205);
        assert!(
            !env.locks.holds(2),
            "a failed LOCK TABLES leaves nothing held"
        );
    }

    #[test]
    fn a_waiting_statement_runs_once_the_lock_is_released() {
        let env = Env::new();
        let (a, b) = (env.session(1), env.session(2));
        env.locks
            .lock_tables(a.entry(), &[(t("w"), Mode::Write)], SHORT)
            .unwrap();
        thread::scope(|s| {
            let waiter = s.spawn(|| {
                env.locks
                    .begin_statement(
                        b.entry(),
                        || vec![(t("w"), Mode::Read)],
                        Duration::from_secs(10),
                    )
                    .map(drop)
            });
            while b.entry().activity().state != "Waiting for table level lock" {
                thread::sleep(Duration::from_millis(5));
            }
            env.locks.unlock_tables(1);
            waiter.join().unwrap().unwrap();
        });
    }

    #[test]
    fn lock_tables_waits_for_running_statements_and_kill_ends_a_wait() {
        let env = Env::new();
        let (a, b) = (env.session(1), env.session(2));
        // Began before any lock existed: counted, not announced.
        let running = env
            .locks
            .begin_statement(b.entry(), || vec![(t("w"), Mode::Read)], SHORT)
            .unwrap();
        assert_eq!(
            env.locks
                .lock_tables(a.entry(), &[(t("other"), Mode::Write)], SHORT)
                .unwrap_err()
                .code(),
            1205
        );
        drop(running);
        env.locks
            .lock_tables(a.entry(), &[(t("w"), Mode::Write)], SHORT)
            .unwrap();
        thread::scope(|s| {
            let waiter = s.spawn(|| {
                env.locks
                    .begin_statement(
                        b.entry(),
                        || vec![(t("w"), Mode::Read)],
                        Duration::from_secs(60),
                    )
                    .map(drop)
            });
            while b.entry().activity().state != "Waiting for table level lock" {
                thread::sleep(Duration::from_millis(5));
            }
            b.entry().kill(Kill::Query);
            assert_eq!(waiter.join().unwrap().unwrap_err().code(), 1317);
        });
        b.entry().clear_kill_query();
        // A statement announced while a lock exists makes a new LOCK TABLES wait for it.
        env.locks.unlock_tables(1);
        env.locks
            .lock_tables(b.entry(), &[(t("x"), Mode::Read)], SHORT)
            .unwrap();
        let announced = env
            .locks
            .begin_statement(a.entry(), || vec![(t("y"), Mode::Write)], SHORT)
            .unwrap();
        assert_eq!(
            env.locks
                .lock_tables(b.entry(), &[(t("y"), Mode::Read)], SHORT)
                .unwrap_err()
                .code(),
            1205
        );
        drop(announced);
        env.locks
            .lock_tables(b.entry(), &[(t("y"), Mode::Read)], SHORT)
            .unwrap();
    }
}
