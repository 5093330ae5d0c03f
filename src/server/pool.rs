//! Worker threads: a worker runs a connection's login and then its commands for as long as the
//! client keeps sending them. When the client goes quiet the worker lets go of the session
//! (see [`crate::session::IdleSession`]), hands it to the idle poller ([`super::idle`]) and
//! takes other work; the poller hands it back to a worker when the client sends its next
//! command. So threads follow the connections that are doing something, not every open one.
//!
//! ```text
//! acceptor ──Work::Connect──▶ worker: login, commands ──(quiet client)──▶ idle poller
//!                               ▲                                            │
//!                               └──── Work::Resume (the client sent) ────────┘
//! ```
//!
//! Idle workers wait in one of two places. Up to [`LISTENERS`] wait in `accept` on the TCP
//! listener: the kernel wakes one of them for a new connection, and that thread serves it, so
//! a TCP connection costs no hand-off between threads (one wake-up and two system calls fewer
//! than an acceptor thread passing it on; see BENCHMARKS.md). The others wait for a job: an
//! idle session to resume, or a connection on the unix socket, which the acceptor thread
//! ([`super::acceptor`]) accepts. A listener that takes a connection while no other listens
//! makes another one listen, so a connection never waits for a thread to finish its session.
//!
//! Workers are created on demand and kept when idle, at most [`LISTENERS`] + [`IDLE_CACHE`] of
//! them, so a steady connection rate does not pay for thread creation. A job goes straight to
//! the idle worker that waited last (its stack and caches are the warmest): each worker waits
//! on its own condition variable, so a hand-off wakes exactly one thread and nothing spins or
//! yields while waiting. A panic in a session is caught here: that connection is closed and
//! the worker lives on.

use std::io;
use std::net::TcpListener;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use super::idle::{Parked, Parking};
use crate::instance::Instance;
use crate::instance::admission::Ticket;
use crate::net::Socket;
use crate::session::{self, IdleSession, Service};
use crate::shutdown::SessionGuard;
use crate::status::{Counters, GaugeGuard, SharedGauge};

/// Idle workers kept beyond this number exit. MariaDB keeps 256 (`thread_cache_size`); with
/// idle sessions holding no thread, workers are needed only for the connections doing
/// something at once, and each cached one keeps the stack it touched (64 KiB after a query).
const IDLE_CACHE: usize = 64;

/// An idle worker that waits this long without work exits.
const IDLE_LIFETIME: Duration = Duration::from_secs(60);

/// Idle workers kept waiting in `accept` on the TCP listener: as many connections as can
/// arrive at once without a thread being woken or created for them. More arriving together
/// wait in the listen backlog for the moment it takes to wake or create one.
const LISTENERS: usize = 4;

/// After an `accept` error that is not the client's (too many open files), listeners wait this
/// long before accepting again, rather than spin on the same error.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// Threads can be smaller than the platform default (8 MiB): a session's deepest stack is a
/// statement at the parser's nesting limit, measured with a margin in BENCHMARKS.md and
/// checked by the `deep_nesting_fits_the_worker_stack` integration test.
pub(crate) const WORKER_STACK_BYTES: usize = 1024 * 1024;

/// What a connection holds from admission until its session ends, wherever it is. Dropped in
/// this order: the slot, the gauge, and last what a shutdown waits for.
pub(crate) struct Held {
    /// The connection's slot, given back when the session ends.
    pub(crate) ticket: Ticket,
    /// Holds `Threads_connected` up.
    pub(crate) _connected: SharedGauge<Instance>,
    /// Keeps a shutdown waiting for this connection until the session ends.
    pub(crate) _open: SessionGuard,
}

/// Work for a worker thread.
pub(crate) enum Work {
    /// A new connection: greeting, login, then commands.
    Connect(Socket),
    /// An idle session whose client sent something (or closed).
    Resume(IdleSession),
}

/// A connection and what it holds.
pub(crate) struct Job {
    pub(crate) work: Work,
    pub(crate) held: Held,
}

/// A handle on the workers (the acceptor's and the idle poller's). Idle workers exit once
/// every handle is gone.
#[derive(Clone)]
pub(crate) struct Pool {
    workers: Arc<Workers>,
    _closer: Arc<Closer>,
}

struct Workers {
    instance: Arc<Instance>,
    service: Arc<dyn Service>,
    idle: Mutex<Idle>,
    /// Where quiet sessions wait for their next command.
    parking: Arc<Parking>,
    /// The TCP listener (blocking), which listening workers wait on.
    listener: Option<Arc<TcpListener>>,
    /// Workers waiting in `accept`, or on their way there.
    listening: AtomicUsize,
}

#[derive(Default)]
struct Idle {
    /// Waiting workers, the one that waited last at the end.
    waiting: Vec<Arc<Slot>>,
    /// No handle is left: workers exit instead of waiting.
    closed: bool,
}

/// Where one idle worker waits for its next job.
#[derive(Default)]
struct Slot {
    hand: Mutex<Hand>,
    ready: Condvar,
}

#[derive(Default)]
enum Hand {
    #[default]
    Empty,
    Job(Job),
    /// Wait in `accept` on the TCP listener.
    Listen,
    Close,
}

/// What a worker does next.
enum Task {
    Run(Job),
    /// Wait in `accept` on the TCP listener, then serve what it accepts. The worker is already
    /// counted in [`Workers::listening`].
    Listen,
}

/// Closes the idle workers when the last [`Pool`] handle drops.
struct Closer(Arc<Workers>);

impl Drop for Closer {
    fn drop(&mut self) {
        let waiting = {
            let mut idle = lock(&self.0.idle);
            idle.closed = true;
            std::mem::take(&mut idle.waiting)
        };
        for slot in waiting {
            *lock(&slot.hand) = Hand::Close;
            slot.ready.notify_one();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Pool {
    /// The workers, the idle poller (started now), and with a TCP `listener` (in blocking
    /// mode) its first listening worker. Listeners stop once the listener is shut down for
    /// reading (see [`super::acceptor`]).
    pub(crate) fn new(
        instance: Arc<Instance>,
        service: Arc<dyn Service>,
        listener: Option<Arc<TcpListener>>,
    ) -> io::Result<Self> {
        let (poll, parking) = super::idle::parking()?;
        let workers = Arc::new(Workers {
            instance: Arc::clone(&instance),
            service,
            idle: Mutex::default(),
            parking: Arc::clone(&parking),
            listening: AtomicUsize::new(0),
            listener,
        });
        if workers.listener.is_some() {
            workers.add_listener();
        }
        let pool = Self {
            _closer: Arc::new(Closer(Arc::clone(&workers))),
            workers,
        };
        super::idle::start(poll, parking, instance, pool.clone())?;
        Ok(pool)
    }

    /// Hands a job to the idle worker that waited last, or to a new one when none waits.
    pub(crate) fn dispatch(&self, job: Job) {
        self.workers.hand(Task::Run(job));
    }
}

fn worker(workers: &Arc<Workers>, mut task: Task) {
    let slot = Arc::new(Slot::default());
    loop {
        let job = match task {
            Task::Run(job) => job,
            Task::Listen => match workers.accept() {
                Some(job) => job,
                None => return,
            },
        };
        workers.run(job);
        match workers.next_task(&slot) {
            Some(next) => task = next,
            None => return,
        }
    }
}

impl Workers {
    /// Gives `task` to the idle worker that waited last, or to a new one when none waits.
    fn hand(self: &Arc<Self>, task: Task) {
        let slot = lock(&self.idle).waiting.pop();
        match slot {
            Some(slot) => {
                *lock(&slot.hand) = match task {
                    Task::Run(job) => Hand::Job(job),
                    Task::Listen => Hand::Listen,
                };
                slot.ready.notify_one();
            }
            None => self.spawn(task),
        }
    }

    fn spawn(self: &Arc<Self>, task: Task) {
        let workers = Arc::clone(self);
        let listens = matches!(task, Task::Listen);
        let spawned = thread::Builder::new()
            .name("tlsql-worker".into())
            .stack_size(WORKER_STACK_BYTES)
            .spawn(move || worker(&workers, task));
        match spawned {
            Ok(_) => Counters::bump(&self.instance.counters.threads_created),
            Err(e) if listens => {
                self.listening.fetch_sub(1, Ordering::AcqRel);
                log::error!("cannot start a worker thread to accept connections: {e}");
            }
            // The job went down with the closure: its connection is closed.
            Err(e) => log::error!("cannot start a worker thread, closing a connection: {e}"),
        }
    }

    /// Makes one more worker wait in `accept`: the idle worker that waited last, or a new one.
    fn add_listener(self: &Arc<Self>) {
        self.listening.fetch_add(1, Ordering::AcqRel);
        self.hand(Task::Listen);
    }

    /// Waits in `accept` (this worker is counted in `listening`) until a connection is
    /// admitted, and returns it as a job; `None` once the server shuts down, or when this
    /// worker should exit. A connection that admission refuses got its ERR 1040 here, and the
    /// wait goes on unless [`LISTENERS`] others listen already.
    fn accept(self: &Arc<Self>) -> Option<Job> {
        let listener = self.listener.as_ref()?;
        loop {
            let accepted = {
                let _cached = GaugeGuard::raise(&self.instance.counters.threads_cached);
                listener.accept()
            };
            let others = self.listening.fetch_sub(1, Ordering::AcqRel) - 1;
            // A connection accepted with the shutdown is closed without a greeting, as the
            // listener's backlog is.
            if self.instance.shutdown.started() {
                return None;
            }
            match accepted {
                Ok((stream, peer)) => {
                    if others == 0 {
                        self.add_listener();
                    }
                    match Socket::tcp(stream, peer) {
                        Ok(socket) => {
                            if let Some(job) = super::acceptor::admit(&self.instance, socket) {
                                return Some(job);
                            }
                        }
                        Err(e) => log::debug!("dropping a TCP connection that failed setup: {e}"),
                    }
                }
                // The client gave up before it was accepted.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    thread::sleep(ACCEPT_RETRY);
                }
            }
            if !self.join_listeners() {
                return None;
            }
        }
    }

    /// Counts this worker in `listening` unless [`LISTENERS`] are counted already.
    fn join_listeners(&self) -> bool {
        self.listening
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < LISTENERS).then_some(n + 1)
            })
            .is_ok()
    }

    fn run(&self, job: Job) {
        let Job { work, mut held } = job;
        let label = match &work {
            Work::Connect(socket) => socket.peer_label(),
            Work::Resume(idle) => idle.label().to_string(),
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| match work {
            Work::Connect(socket) => {
                session::run(&self.instance, socket, &mut held.ticket, &*self.service)
            }
            Work::Resume(idle) => idle.resume(),
        }));
        match outcome {
            Ok(Some(idle)) => self.park(idle, held),
            Ok(None) => {}
            Err(_) => log::error!(
                "session with {label} panicked; its connection was closed, the server continues"
            ),
        }
    }

    /// Hands a quiet session to the idle poller. Once the poller has stopped (shutdown) the
    /// session is served here to its end instead.
    fn park(&self, idle: IdleSession, held: Held) {
        let mut parked = Parked {
            session: idle,
            held,
        };
        loop {
            match self.parking.park(parked) {
                Ok(()) => return,
                Err(back) => parked = back,
            }
            let Parked { session, held } = parked;
            match catch_unwind(AssertUnwindSafe(|| session.resume())) {
                Ok(Some(session)) => parked = Parked { session, held },
                Ok(None) | Err(_) => return,
            }
        }
    }

    /// What this worker does next: listen, while fewer than [`LISTENERS`] do; else wait, as
    /// the most recent idle worker, for a job. `None` when this worker should exit (the cache
    /// is full, the pool closed, or nothing came in [`IDLE_LIFETIME`]).
    fn next_task(&self, slot: &Arc<Slot>) -> Option<Task> {
        if self.listener.is_some() && !self.instance.shutdown.started() && self.join_listeners() {
            return Some(Task::Listen);
        }
        {
            let mut idle = lock(&self.idle);
            if idle.closed || idle.waiting.len() >= IDLE_CACHE {
                return None;
            }
            idle.waiting.push(Arc::clone(slot));
        }
        let _cached = GaugeGuard::raise(&self.instance.counters.threads_cached);
        let mut hand = lock(&slot.hand);
        let mut until = Some(Instant::now() + IDLE_LIFETIME);
        loop {
            match std::mem::take(&mut *hand) {
                Hand::Job(job) => return Some(Task::Run(job)),
                Hand::Listen => return Some(Task::Listen),
                Hand::Close => return None,
                Hand::Empty => {}
            }
            hand = match until {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        // Leave only while still listed; a slot already taken off the list
                        // has a job on its way.
                        let mut idle = lock(&self.idle);
                        if let Some(i) = idle.waiting.iter().position(|s| Arc::ptr_eq(s, slot)) {
                            idle.waiting.remove(i);
                            return None;
                        }
                        until = None;
                        continue;
                    }
                    slot.ready
                        .wait_timeout(hand, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
                None => slot.ready.wait(hand).unwrap_or_else(|p| p.into_inner()),
            };
        }
    }
}
