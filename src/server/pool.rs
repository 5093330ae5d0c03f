//! Worker threads: one per connection for the whole life of the connection, created on demand
//! and kept in a cache when idle so a steady connection rate does not pay for thread creation.
//!
//! The acceptor is the only producer. It spawns a worker when no idle one is waiting, so the
//! number of workers follows the number of open connections (bounded by admission, see
//! [`crate::instance::admission`]) plus at most [`IDLE_CACHE`] idle ones. A panic in a session is caught
//! here: that connection is closed and the worker lives on.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::instance::Instance;
use crate::instance::admission::Ticket;
use crate::net::Socket;
use crate::session::{self, Service};
use crate::shutdown::SessionGuard;
use crate::status::{GaugeGuard, SharedGauge};

/// Idle workers kept beyond this number exit.
const IDLE_CACHE: usize = 16;

/// An idle worker that waits this long without work exits.
const IDLE_LIFETIME: Duration = Duration::from_secs(60);

/// Threads can be smaller than the platform default: a session's deepest stack is SQL parsing.
const WORKER_STACK_BYTES: usize = 1024 * 1024;

/// A connection waiting for a worker.
pub(crate) struct Job {
    pub(crate) socket: Socket,
    /// Holds `Threads_connected` up from admission until the session ends.
    pub(crate) connected: SharedGauge<Instance>,
    /// The connection's slot, given back when the session ends.
    pub(crate) ticket: Ticket,
    /// Keeps a shutdown waiting for this connection until the session ends.
    pub(crate) open: SessionGuard,
}

pub(crate) struct Pool {
    shared: Arc<Instance>,
    service: Arc<dyn Service>,
    sender: Sender<Job>,
    receiver: Receiver<Job>,
    idle: Arc<AtomicUsize>,
}

impl Pool {
    pub(crate) fn new(shared: Arc<Instance>, service: Arc<dyn Service>) -> Self {
        let (sender, receiver) = crossbeam_channel::unbounded();
        Self {
            shared,
            service,
            sender,
            receiver,
            idle: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Hands a connection to an idle worker, or to a new one when none is free.
    ///
    /// `idle` counts waiting workers whose place has not been claimed yet. Dispatch claims one
    /// (or starts a worker already claimed for this job) before sending, and a worker leaves
    /// only if it can take its own place back unclaimed, so every queued job has a worker that
    /// will not leave without it. Counting instead the workers blocked in `recv` would race:
    /// a worker that has just received a job still counts as idle for a moment.
    pub(crate) fn dispatch(&self, job: Job) {
        if !claim(&self.idle) {
            self.spawn_worker();
        }
        if self.sender.send(job).is_err() {
            log::error!("worker pool is gone; dropping a connection");
        }
    }

    fn spawn_worker(&self) {
        let shared = Arc::clone(&self.shared);
        let service = Arc::clone(&self.service);
        let receiver = self.receiver.clone();
        let idle = Arc::clone(&self.idle);
        let spawned = thread::Builder::new()
            .name("tlsql-worker".into())
            .stack_size(WORKER_STACK_BYTES)
            .spawn(move || worker(shared, service, receiver, idle));
        match spawned {
            Ok(_) => crate::status::Counters::bump(&self.shared.counters.threads_created),
            Err(e) => log::error!("cannot start a worker thread: {e}"),
        }
    }
}

/// Takes one unclaimed idle place; false when there is none.
fn claim(idle: &AtomicUsize) -> bool {
    idle.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
        .is_ok()
}

fn worker(
    shared: Arc<Instance>,
    service: Arc<dyn Service>,
    receiver: Receiver<Job>,
    idle: Arc<AtomicUsize>,
) {
    // A new worker was started for a job that is already on its way.
    let mut claimed = true;
    loop {
        if !claimed {
            idle.fetch_add(1, Ordering::AcqRel);
        }
        let cached = GaugeGuard::raise(&shared.counters.threads_cached);
        let job = loop {
            match receiver.recv_timeout(IDLE_LIFETIME) {
                Ok(job) => break Some(job),
                Err(RecvTimeoutError::Disconnected) => break None,
                // Leave only with an unclaimed place; a claimed one means a job is coming.
                Err(RecvTimeoutError::Timeout) if !claimed && claim(&idle) => break None,
                Err(RecvTimeoutError::Timeout) => {}
            }
        };
        drop(cached);
        claimed = false;
        let Some(job) = job else { return };
        let Job {
            socket,
            connected,
            mut ticket,
            open,
        } = job;
        let peer = socket.peer_label();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            session::run(&shared, socket, &mut ticket, &*service)
        }));
        drop(ticket);
        drop(connected);
        drop(open);
        if outcome.is_err() {
            log::error!(
                "session with {peer} panicked; its connection was closed, the server continues"
            );
        }
        if idle.load(Ordering::Acquire) >= IDLE_CACHE {
            return;
        }
    }
}
