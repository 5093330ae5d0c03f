//! The idle poller: one thread and one `epoll` set holding every logged-in session whose client
//! is quiet, so an idle connection costs its socket and session state but no thread.
//!
//! A worker parks a session ([`Parking::park`]) when its client has sent nothing for the
//! session's idle grace. The poller registers the socket and hands the session back to a worker
//! ([`Work::Resume`]) when the socket turns readable (a command, or the client closing). What
//! needs no worker it does itself: a session whose `wait_timeout` passes gets ERR 4031 and is
//! closed; when shutdown starts, every parked session gets ERR 1053 and is closed, as an idle
//! session waiting in a worker would be, and the poller stops. Thousands of sessions may end
//! at once that way (a burst of connections that all time out together, a shutdown), which as
//! worker jobs would start a thread each; their writes are tiny and all share one short
//! deadline ([`END_WRITE_TIME`]), so a client that does not read cannot hold the poller up.

use std::collections::BTreeSet;
use std::io;
use std::os::fd::AsRawFd;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};

use super::pool::{Held, Job, Pool, Work};
use crate::instance::Instance;
use crate::session::IdleSession;

const WAKE: Token = Token(0);
const SHUTDOWN: Token = Token(1);
/// Parked sessions use tokens from here on: `FIRST + index`.
const FIRST: usize = 2;

/// How long the sessions the poller ends at one time may take, together, to write their
/// last packet.
const END_WRITE_TIME: Duration = Duration::from_secs(1);

/// A parked session and what its connection holds.
pub(crate) struct Parked {
    pub(crate) session: IdleSession,
    pub(crate) held: Held,
}

/// The workers' side of the poller: where they leave quiet sessions.
pub(crate) struct Parking {
    inbox: Mutex<Inbox>,
    /// Wakes the poller for new arrivals.
    waker: Waker,
}

#[derive(Default)]
struct Inbox {
    arriving: Vec<Parked>,
    /// The poller has stopped (shutdown): nothing more is taken.
    closed: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The poller's `Poll` (for [`start`]) and the workers' side of it.
pub(crate) fn parking() -> io::Result<(Poll, Arc<Parking>)> {
    let poll = Poll::new()?;
    let waker = Waker::new(poll.registry(), WAKE)?;
    let parking = Arc::new(Parking {
        inbox: Mutex::default(),
        waker,
    });
    Ok((poll, parking))
}

impl Parking {
    /// Leaves a quiet session with the poller; gives it back once the poller has stopped.
    pub(crate) fn park(&self, parked: Parked) -> Result<(), Parked> {
        {
            let mut inbox = lock(&self.inbox);
            if inbox.closed {
                return Err(parked);
            }
            inbox.arriving.push(parked);
        }
        if let Err(e) = self.waker.wake() {
            log::error!("cannot wake the idle poller: {e}");
        }
        Ok(())
    }
}

/// Starts the poller thread.
pub(crate) fn start(
    poll: Poll,
    parking: Arc<Parking>,
    instance: Arc<Instance>,
    pool: Pool,
) -> io::Result<()> {
    let shutdown_fd = instance.shutdown.wake_fd().as_raw_fd();
    poll.registry()
        .register(&mut SourceFd(&shutdown_fd), SHUTDOWN, Interest::READABLE)?;
    let poller = Poller {
        poll,
        parking,
        instance,
        pool,
        sessions: Vec::new(),
        free: Vec::new(),
        deadlines: BTreeSet::new(),
    };
    std::thread::Builder::new()
        .name("tlsql-idle".into())
        .spawn(move || poller.run())?;
    Ok(())
}

struct Slot {
    parked: Parked,
    deadline: Option<Instant>,
}

struct Poller {
    poll: Poll,
    parking: Arc<Parking>,
    instance: Arc<Instance>,
    pool: Pool,
    /// Parked sessions by token (`FIRST + index`); `None` marks a free index.
    sessions: Vec<Option<Slot>>,
    free: Vec<usize>,
    /// `wait_timeout` deadlines, soonest first.
    deadlines: BTreeSet<(Instant, usize)>,
}

impl Poller {
    fn run(mut self) {
        let mut events = Events::with_capacity(256);
        loop {
            let timeout = self
                .deadlines
                .first()
                .map(|(at, _)| at.saturating_duration_since(Instant::now()));
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::error!("idle poller failed, sessions stay with their workers: {e}");
                    self.abandon();
                    return;
                }
            }
            for event in &events {
                match event.token() {
                    WAKE | SHUTDOWN => {}
                    Token(n) => {
                        if let Some(slot) = self.take(n - FIRST) {
                            self.hand(Work::Resume(slot.parked.session), slot.parked.held);
                        }
                    }
                }
            }
            if self.instance.shutdown.started() {
                self.stop();
                return;
            }
            let arriving = std::mem::take(&mut lock(&self.parking.inbox).arriving);
            for parked in arriving {
                self.add(parked);
            }
            let now = Instant::now();
            while let Some(&(at, index)) = self.deadlines.first() {
                if at > now {
                    break;
                }
                if let Some(slot) = self.take(index) {
                    let Parked { session, held } = slot.parked;
                    end(session, |s| s.expire(now + END_WRITE_TIME));
                    drop(held);
                }
            }
        }
    }

    fn hand(&self, work: Work, held: Held) {
        self.pool.dispatch(Job { work, held });
    }

    fn add(&mut self, parked: Parked) {
        let index = self.free.pop().unwrap_or_else(|| {
            self.sessions.push(None);
            self.sessions.len() - 1
        });
        let fd = parked.session.fd().as_raw_fd();
        // Edge-triggered, and registration reports data that is already there: a command
        // that arrived between the worker's last wait and now is not missed.
        if let Err(e) = self.poll.registry().register(
            &mut SourceFd(&fd),
            Token(FIRST + index),
            Interest::READABLE,
        ) {
            log::error!("cannot watch an idle session, a worker keeps it: {e}");
            self.free.push(index);
            self.hand(Work::Resume(parked.session), parked.held);
            return;
        }
        let deadline = parked.session.deadline();
        if let Some(at) = deadline {
            self.deadlines.insert((at, index));
        }
        self.sessions[index] = Some(Slot { parked, deadline });
    }

    /// Stops watching the session at `index` and returns it.
    fn take(&mut self, index: usize) -> Option<Slot> {
        let slot = self.sessions.get_mut(index)?.take()?;
        let fd = slot.parked.session.fd().as_raw_fd();
        if let Err(e) = self.poll.registry().deregister(&mut SourceFd(&fd)) {
            log::warn!("cannot stop watching an idle session: {e}");
        }
        if let Some(at) = slot.deadline {
            self.deadlines.remove(&(at, index));
        }
        self.free.push(index);
        Some(slot)
    }

    /// Without its poll the poller cannot watch anything: it refuses new sessions and hands
    /// every parked one back to a worker, which then serves it to its end.
    fn abandon(&mut self) {
        for parked in self.close() {
            self.hand(Work::Resume(parked.session), parked.held);
        }
    }

    /// Refuses new sessions; returns every parked one, unwatched.
    fn close(&mut self) -> Vec<Parked> {
        let arriving = {
            let mut inbox = lock(&self.parking.inbox);
            inbox.closed = true;
            std::mem::take(&mut inbox.arriving)
        };
        (0..self.sessions.len())
            .filter_map(|index| self.take(index))
            .map(|slot| slot.parked)
            .chain(arriving)
            .collect()
    }

    /// Refuses new sessions and ends every parked one with ERR 1053.
    fn stop(&mut self) {
        let until = Instant::now() + END_WRITE_TIME;
        for Parked { session, held } in self.close() {
            end(session, |s| s.end_for_shutdown(until));
            drop(held);
        }
    }
}

/// Ends a session here; a panic ends only that session, never the poller.
fn end(session: IdleSession, how: impl FnOnce(IdleSession)) {
    let label = session.label().to_string();
    if catch_unwind(AssertUnwindSafe(|| how(session))).is_err() {
        log::error!("session with {label} panicked while ending; its connection was closed");
    }
}
