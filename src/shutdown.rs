//! Graceful shutdown: one signal that every session sees, and the count of sessions
//! still open so the server can wait for them.
//!
//! A session spends its idle time blocked in a socket read, and a read timeout set from another
//! thread does not reach a read already blocked. So every socket read waits in `poll(2)` on the
//! client's socket *and* [`Shutdown::wake_fd`], a pipe whose write end is closed when shutdown
//! starts: from then on the pipe reports hang-up to every poll at once, without a list of
//! sessions to visit. The read then fails like a read timeout (`WouldBlock`), which every TLS
//! library treats as retryable, so the session can still write ERR 1053 and close_notify through
//! its own TLS stream.

use std::io::{PipeReader, PipeWriter};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

/// The server-wide shutdown signal and the sessions it waits for.
#[derive(Debug)]
pub struct Shutdown {
    started: AtomicBool,
    wake: PipeReader,
    /// Dropped (closing the pipe) when shutdown starts.
    trigger: Mutex<Option<PipeWriter>>,
    live: Mutex<usize>,
    ended: Condvar,
}

impl Shutdown {
    pub(crate) fn new() -> std::io::Result<Self> {
        let (wake, trigger) = std::io::pipe()?;
        Ok(Self {
            started: AtomicBool::new(false),
            wake,
            trigger: Mutex::new(Some(trigger)),
            live: Mutex::new(0),
            ended: Condvar::new(),
        })
    }

    /// Starts the shutdown; later calls do nothing. The flag is set before the pipe closes,
    /// so a session woken by the pipe always finds it set.
    pub fn start(&self) {
        self.started.store(true, Ordering::SeqCst);
        drop(lock(&self.trigger).take());
    }

    /// Whether shutdown has started: sessions stop reading commands.
    pub fn started(&self) -> bool {
        self.started.load(Ordering::SeqCst)
    }

    /// Readable (hang-up) once shutdown has started.
    pub(crate) fn wake_fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }

    /// Counts a connection as open until the guard drops (admission to the session's end).
    pub(crate) fn open_session(self: &Arc<Self>) -> SessionGuard {
        *lock(&self.live) += 1;
        SessionGuard(Arc::clone(self))
    }

    /// Waits until every session has ended or `deadline` passed; returns how many are still
    /// open (cut when the process exits).
    pub(crate) fn wait_for_sessions(&self, deadline: Instant) -> usize {
        let mut live = lock(&self.live);
        while *live > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            live = self
                .ended
                .wait_timeout(live, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        *live
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One open connection, counted by [`Shutdown::wait_for_sessions`].
pub(crate) struct SessionGuard(Arc<Shutdown>);

impl Drop for SessionGuard {
    fn drop(&mut self) {
        let mut live = lock(&self.0.live);
        *live -= 1;
        if *live == 0 {
            self.0.ended.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn waits_for_sessions_until_they_end_or_the_deadline() {
        let shutdown = Arc::new(Shutdown::new().unwrap());
        let a = shutdown.open_session();
        let b = shutdown.open_session();
        drop(a);
        let start = Instant::now();
        assert_eq!(
            shutdown.wait_for_sessions(Instant::now() + Duration::from_millis(100)),
            1
        );
        assert!(start.elapsed() >= Duration::from_millis(100));
        let ender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            drop(b);
        });
        assert_eq!(
            shutdown.wait_for_sessions(Instant::now() + Duration::from_secs(10)),
            0
        );
        ender.join().unwrap();
    }

    #[test]
    fn the_wake_fd_turns_ready_at_start() {
        use rustix::event::{PollFd, PollFlags, poll};
        let shutdown = Shutdown::new().unwrap();
        let zero = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let mut fds = [PollFd::from_borrowed_fd(shutdown.wake_fd(), PollFlags::IN)];
        assert_eq!(poll(&mut fds, Some(&zero)).unwrap(), 0);
        assert!(!shutdown.started());
        shutdown.start();
        shutdown.start();
        assert!(shutdown.started());
        assert_eq!(poll(&mut fds, Some(&zero)).unwrap(), 1);
    }
}
