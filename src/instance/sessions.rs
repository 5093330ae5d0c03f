//! The sessions of the local engine, server-wide: what `SHOW PROCESSLIST` lists, what `KILL`
//! reaches, and the per-account counts that resource limits (`WITH MAX_…`) are checked against.
//!
//! A session registers when its login is accepted ([`Sessions::register`], which checks the
//! account's `MAX_USER_CONNECTIONS` and `MAX_CONNECTIONS_PER_HOUR` and the global
//! `max_user_connections` under the same lock, so two logins cannot both take the last place)
//! and leaves when its [`Registration`] is dropped, also when the session panics.
//!
//! `KILL` marks the session and stops what it is doing: the statement SQLite runs is
//! interrupted, a wait for a table lock wakes up, and for `KILL CONNECTION` the socket is shut
//! down, which ends a session waiting for its client's next command. The session itself reports
//! and clears the mark (see `sql::local`).
//!
//! Per-hour limits count per account, in windows of one hour from the first counted event, as
//! MySQL does; a window's counts start again when it ends.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::auth::account::{AccountKey, ResourceLimits};
use crate::error::{ErrorKind, SqlError};
use crate::net::SocketControl;
use crate::storage::Interrupter;

/// What a `KILL` asked of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kill {
    /// Nothing.
    None,
    /// `KILL QUERY`: stop the running statement; the session goes on.
    Query,
    /// `KILL [CONNECTION]`: stop the statement and end the session.
    Connection,
}

impl Kill {
    fn from_u8(v: u8) -> Kill {
        match v {
            1 => Kill::Query,
            2 => Kill::Connection,
            _ => Kill::None,
        }
    }
}

/// The longest statement text a session's entry keeps for `SHOW FULL PROCESSLIST`, in bytes:
/// a bulk `INSERT` of many megabytes is not copied whole for it.
pub const MAX_INFO_BYTES: usize = 65_536;

/// What a session is doing, as `SHOW PROCESSLIST` shows it.
#[derive(Clone, Debug)]
pub struct Activity {
    /// The user name the client logged in with.
    pub user: String,
    /// The account it logged in as.
    pub account: AccountKey,
    /// The default database.
    pub db: Option<String>,
    /// The command (`Sleep`, `Query`, `Execute`, `Prepare`, `Change user`, …).
    pub command: &'static str,
    /// When the command started (or, for `Sleep`, the last one ended).
    pub since: Instant,
    /// What the command waits for or does (`executing`, `Waiting for table level lock`), or
    /// empty.
    pub state: &'static str,
    /// The statement it runs, up to [`MAX_INFO_BYTES`].
    pub info: Option<String>,
}

/// One registered session.
pub struct SessionEntry {
    /// Its connection id.
    pub id: u32,
    /// Where the client is, as `SHOW PROCESSLIST`'s `Host` shows it (`127.0.0.1:53412`,
    /// `localhost`).
    pub host: String,
    activity: Mutex<Activity>,
    kill: AtomicU8,
    control: Mutex<Option<SocketControl>>,
    interrupter: Interrupter,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SessionEntry {
    /// A copy of what the session is doing.
    pub fn activity(&self) -> Activity {
        lock(&self.activity).clone()
    }

    /// Changes what the session is doing.
    pub fn update(&self, change: impl FnOnce(&mut Activity)) {
        change(&mut lock(&self.activity));
    }

    /// Starts a command: `command` from now on, running `info`.
    pub fn begin(&self, command: &'static str, info: Option<&str>) {
        let info = info.map(|text| {
            let mut end = text.len().min(MAX_INFO_BYTES);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text[..end].to_string()
        });
        self.update(|a| {
            a.command = command;
            a.since = Instant::now();
            a.state = "executing";
            a.info = info;
        });
    }

    /// Ends the command: the session sleeps until the next.
    pub fn end(&self) {
        self.update(|a| {
            a.command = "Sleep";
            a.since = Instant::now();
            a.state = "";
            a.info = None;
        });
    }

    /// The socket's controls, for `KILL CONNECTION` to shut it down (given once the session
    /// has its client).
    pub fn set_control(&self, control: SocketControl) {
        *lock(&self.control) = Some(control);
    }

    /// What a `KILL` asked, if anything.
    pub fn killed(&self) -> Kill {
        Kill::from_u8(self.kill.load(Ordering::Acquire))
    }

    /// Forgets a `KILL QUERY` once the session reported it (a `KILL CONNECTION` stays).
    pub fn clear_kill_query(&self) {
        let _ = self.kill.compare_exchange(
            Kill::Query as u8,
            Kill::None as u8,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    /// `KILL [QUERY]` from another session: marks the session, interrupts its statement and,
    /// for a connection, shuts its socket down. A wait for table locks notices the mark.
    pub fn kill(&self, kill: Kill) {
        self.mark(kill);
        self.interrupter.interrupt();
        if kill == Kill::Connection
            && let Some(control) = &*lock(&self.control)
        {
            control.shutdown();
        }
    }

    /// `KILL` of the session's own connection: only the mark (it answers the statement, then
    /// closes).
    pub fn mark(&self, kill: Kill) {
        self.kill.fetch_max(kill as u8, Ordering::AcqRel);
    }
}

/// A session's place in the registry; dropping it takes the session out.
pub struct Registration {
    sessions: Arc<Sessions>,
    entry: Arc<SessionEntry>,
    account: AccountKey,
}

impl Registration {
    /// The session's entry.
    pub fn entry(&self) -> &Arc<SessionEntry> {
        &self.entry
    }

    /// Moves the session to another account (COM_CHANGE_USER), checking the new account's
    /// connection limits as a login would (this session not counted for it).
    pub fn change_account(
        &mut self,
        user: &str,
        account: AccountKey,
        limits: ResourceLimits,
        global_max_user_connections: u32,
    ) -> Result<(), SqlError> {
        let mut inner = self.sessions.lock();
        let others = inner
            .sessions
            .values()
            .filter(|(_, a)| *a == account)
            .count()
            - usize::from(self.account == account);
        check_connection_limits(
            &mut inner,
            user,
            &account,
            others,
            limits,
            global_max_user_connections,
        )?;
        if let Some(slot) = inner.sessions.get_mut(&self.entry.id) {
            slot.1 = account.clone();
        }
        drop(inner);
        self.entry.update(|a| {
            a.user = user.to_string();
            a.account = account.clone();
        });
        self.account = account;
        Ok(())
    }

    /// Counts a statement against the account's hourly limits: `MAX_QUERIES_PER_HOUR` for
    /// every statement, `MAX_UPDATES_PER_HOUR` also for one that `changes` data or
    /// definitions. Fails with 1226 once a limit is reached, until the hour ends.
    pub fn count_statement(&self, limits: &ResourceLimits, changes: bool) -> Result<(), SqlError> {
        if limits.queries_per_hour == 0 && (limits.updates_per_hour == 0 || !changes) {
            return Ok(());
        }
        let mut inner = self.sessions.lock();
        let user = lock(&self.entry.activity).user.clone();
        let usage = inner.usage(&self.account);
        if limits.queries_per_hour > 0 {
            if usage.queries >= limits.queries_per_hour {
                return Err(limit_reached(
                    &user,
                    "max_questions",
                    limits.queries_per_hour,
                ));
            }
            usage.queries += 1;
        }
        if changes && limits.updates_per_hour > 0 {
            if usage.updates >= limits.updates_per_hour {
                return Err(limit_reached(&user, "max_updates", limits.updates_per_hour));
            }
            usage.updates += 1;
        }
        Ok(())
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.sessions.lock().sessions.remove(&self.entry.id);
    }
}

/// One account's counts in the current hour.
#[derive(Debug)]
struct Usage {
    since: Instant,
    connections: u32,
    queries: u32,
    updates: u32,
}

const HOUR: Duration = Duration::from_secs(3600);

#[derive(Default)]
struct Inner {
    /// By connection id: the entry and the account it is logged in as.
    sessions: BTreeMap<u32, (Arc<SessionEntry>, AccountKey)>,
    usage: HashMap<AccountKey, Usage>,
}

impl Inner {
    /// The account's counts for the current hour (a new window once the last one ended).
    fn usage(&mut self, account: &AccountKey) -> &mut Usage {
        let now = Instant::now();
        let usage = self.usage.entry(account.clone()).or_insert(Usage {
            since: now,
            connections: 0,
            queries: 0,
            updates: 0,
        });
        if now.duration_since(usage.since) >= HOUR {
            *usage = Usage {
                since: now,
                connections: 0,
                queries: 0,
                updates: 0,
            };
        }
        usage
    }
}

/// 1226 `User 'u' has exceeded the 'resource' resource (current value: n)`.
fn limit_reached(user: &str, resource: &str, limit: u32) -> SqlError {
    SqlError::new(
        ErrorKind::UserLimitReached,
        format!("User '{user}' has exceeded the '{resource}' resource (current value: {limit})"),
    )
}

/// The connection limits a login (or COM_CHANGE_USER) to `account` must pass, `others` being
/// the account's other sessions; counts the connection for the hour when it passes.
fn check_connection_limits(
    inner: &mut Inner,
    user: &str,
    account: &AccountKey,
    others: usize,
    limits: ResourceLimits,
    global_max_user_connections: u32,
) -> Result<(), SqlError> {
    let others = u32::try_from(others).unwrap_or(u32::MAX);
    if limits.user_connections > 0 {
        if others >= limits.user_connections {
            return Err(limit_reached(
                user,
                "max_user_connections",
                limits.user_connections,
            ));
        }
    } else if global_max_user_connections > 0 && others >= global_max_user_connections {
        return Err(SqlError::new(
            ErrorKind::TooManyUserConnections,
            format!("User {user} already has more than 'max_user_connections' active connections"),
        ));
    }
    if limits.connections_per_hour > 0 {
        let usage = inner.usage(account);
        if usage.connections >= limits.connections_per_hour {
            return Err(limit_reached(
                user,
                "max_connections_per_hour",
                limits.connections_per_hour,
            ));
        }
        usage.connections += 1;
    }
    Ok(())
}

/// Every registered session.
#[derive(Default)]
pub struct Sessions {
    inner: Mutex<Inner>,
}

/// Who a session is, as it registers.
pub struct NewSession<'a> {
    /// Its connection id.
    pub id: u32,
    /// `SHOW PROCESSLIST`'s `Host`.
    pub host: String,
    /// The user name the client gave.
    pub user: &'a str,
    /// The account it logged in as.
    pub account: AccountKey,
    /// The account's limits.
    pub limits: ResourceLimits,
    /// The database the login named.
    pub db: Option<String>,
    /// Stops the session's running statement.
    pub interrupter: Interrupter,
}

impl Sessions {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// Registers a session whose login was accepted, if the account's connection limits and
    /// the global `max_user_connections` (for accounts without a limit of their own) allow
    /// one more: else 1226 or 1203, as MySQL answers the login.
    pub fn register(
        self: &Arc<Self>,
        new: NewSession<'_>,
        global_max_user_connections: u32,
    ) -> Result<Registration, SqlError> {
        let mut inner = self.lock();
        let others = inner
            .sessions
            .values()
            .filter(|(_, a)| *a == new.account)
            .count();
        check_connection_limits(
            &mut inner,
            new.user,
            &new.account,
            others,
            new.limits,
            global_max_user_connections,
        )?;
        let entry = Arc::new(SessionEntry {
            id: new.id,
            host: new.host,
            activity: Mutex::new(Activity {
                user: new.user.to_string(),
                account: new.account.clone(),
                db: new.db,
                command: "Sleep",
                since: Instant::now(),
                state: "",
                info: None,
            }),
            kill: AtomicU8::new(Kill::None as u8),
            control: Mutex::new(None),
            interrupter: new.interrupter,
        });
        inner
            .sessions
            .insert(new.id, (Arc::clone(&entry), new.account.clone()));
        Ok(Registration {
            sessions: Arc::clone(self),
            entry,
            account: new.account,
        })
    }

    /// The session with connection id `id`.
    pub fn get(&self, id: u32) -> Option<Arc<SessionEntry>> {
        self.lock().sessions.get(&id).map(|(e, _)| Arc::clone(e))
    }

    /// Every session, by connection id.
    pub fn list(&self) -> Vec<Arc<SessionEntry>> {
        self.lock()
            .sessions
            .values()
            .map(|(e, _)| Arc::clone(e))
            .collect()
    }

    /// `FLUSH USER_RESOURCES`: every account's hourly counts start again.
    pub fn reset_usage(&self) {
        self.lock().usage.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(user_connections: u32, connections_per_hour: u32) -> ResourceLimits {
        ResourceLimits {
            user_connections,
            connections_per_hour,
            ..ResourceLimits::default()
        }
    }

    fn register(
        sessions: &Arc<Sessions>,
        id: u32,
        user: &str,
        limits: ResourceLimits,
        global: u32,
    ) -> Result<Registration, SqlError> {
        let engine_dir = tempfile::tempdir().unwrap();
        let engine = crate::storage::Engine::open(engine_dir.path()).unwrap();
        let session = engine.connect().unwrap();
        sessions.register(
            NewSession {
                id,
                host: "127.0.0.1:5".into(),
                user,
                account: AccountKey::new(user, "%"),
                limits,
                db: None,
                interrupter: session.interrupter(),
            },
            global,
        )
    }

    #[test]
    fn user_connections_are_limited_per_account_and_freed_on_drop() {
        let sessions = Arc::new(Sessions::default());
        let a1 = register(&sessions, 1, "a", limits(2, 0), 0).unwrap();
        let _a2 = register(&sessions, 2, "a", limits(2, 0), 0).unwrap();
        let _b = register(&sessions, 3, "b", limits(2, 0), 0).unwrap();
        let e = register(&sessions, 4, "a", limits(2, 0), 0).err().unwrap();
        assert_eq!(
            (e.code(), e.message.as_str()),
            (
                1226,
                "User 'a' has exceeded the 'max_user_connections' resource (current value: 2)"
            )
        );
        drop(a1);
        assert!(sessions.get(1).is_none());
        let _a4 = register(&sessions, 4, "a", limits(2, 0), 0).unwrap();
        assert_eq!(
            sessions.list().iter().map(|e| e.id).collect::<Vec<_>>(),
            [2, 3, 4]
        );
        // The global limit applies to accounts without their own.
        let _c = register(&sessions, 5, "c", limits(0, 0), 1).unwrap();
        let e = register(&sessions, 6, "c", limits(0, 0), 1).err().unwrap();
        assert_eq!(e.code(), 1203);
        assert!(register(&sessions, 7, "d", limits(5, 0), 1).is_ok());
    }

    #[test]
    fn hourly_limits_count_connections_and_statements() {
        let sessions = Arc::new(Sessions::default());
        let r = register(&sessions, 1, "a", limits(0, 2), 0).unwrap();
        drop(register(&sessions, 2, "a", limits(0, 2), 0).unwrap());
        let e = register(&sessions, 3, "a", limits(0, 2), 0).err().unwrap();
        assert!(e.message.contains("'max_connections_per_hour'"), "{e}");
        let statements = ResourceLimits {
            queries_per_hour: 3,
            updates_per_hour: 1,
            ..ResourceLimits::default()
        };
        r.count_statement(&statements, true).unwrap();
        let e = r.count_statement(&statements, true).unwrap_err();
        assert!(e.message.contains("'max_updates'"), "{e}");
        r.count_statement(&statements, false).unwrap();
        let e = r.count_statement(&statements, false).unwrap_err();
        assert_eq!(
            e.message,
            "User 'a' has exceeded the 'max_questions' resource (current value: 3)"
        );
        sessions.reset_usage();
        r.count_statement(&statements, true).unwrap();
    }

    #[test]
    fn kill_marks_and_query_marks_clear() {
        let sessions = Arc::new(Sessions::default());
        let r = register(&sessions, 1, "a", limits(0, 0), 0).unwrap();
        let entry = sessions.get(1).unwrap();
        entry.kill(Kill::Query);
        assert_eq!(r.entry().killed(), Kill::Query);
        entry.clear_kill_query();
        assert_eq!(entry.killed(), Kill::None);
        entry.kill(Kill::Connection);
        entry.kill(Kill::Query);
        entry.clear_kill_query();
        assert_eq!(entry.killed(), Kill::Connection, "a connection kill stays");
    }

    #[test]
    fn change_account_moves_the_session_between_limits() {
        let sessions = Arc::new(Sessions::default());
        let _b = register(&sessions, 1, "b", limits(1, 0), 0).unwrap();
        let mut a = register(&sessions, 2, "a", limits(0, 0), 0).unwrap();
        let e = a
            .change_account("b", AccountKey::new("b", "%"), limits(1, 0), 0)
            .unwrap_err();
        assert_eq!(e.code(), 1226);
        a.change_account("c", AccountKey::new("c", "%"), limits(1, 0), 0)
            .unwrap();
        assert_eq!(a.entry().activity().user, "c");
        // Changing to the account it already is does not count itself.
        a.change_account("c", AccountKey::new("c", "%"), limits(1, 0), 0)
            .unwrap();
    }

    #[test]
    fn info_is_cut_at_a_character_boundary() {
        let sessions = Arc::new(Sessions::default());
        let r = register(&sessions, 1, "a", limits(0, 0), 0).unwrap();
        let long = format!("SELECT '{}'", "é".repeat(MAX_INFO_BYTES));
        r.entry().begin("Query", Some(&long));
        let info = r.entry().activity().info.unwrap();
        assert!(info.len() <= MAX_INFO_BYTES && info.len() > MAX_INFO_BYTES - 2);
        r.entry().end();
        assert_eq!(r.entry().activity().command, "Sleep");
        assert!(r.entry().activity().info.is_none());
    }
}
