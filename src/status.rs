//! Server-wide counters behind `SHOW GLOBAL STATUS`. Session values (`Ssl_cipher`, …) come
//! from the session itself; the TLS context's values from [`crate::tls`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Monotonic counters and gauges, updated lock-free from every worker.
#[derive(Debug)]
pub struct Counters {
    started: Instant,
    /// Connection attempts (`Connections`), including refused ones.
    pub connections: AtomicU64,
    /// Attempts that failed before a session started (`Aborted_connects`): bad handshakes,
    /// failed TLS, refused logins, timeouts.
    pub aborted_connects: AtomicU64,
    /// Established sessions that ended without COM_QUIT (`Aborted_clients`).
    pub aborted_clients: AtomicU64,
    /// Open client connections (`Threads_connected`).
    pub threads_connected: AtomicU64,
    /// Sessions executing a command right now (`Threads_running`).
    pub threads_running: AtomicU64,
    /// Idle workers waiting for a connection (`Threads_cached`).
    pub threads_cached: AtomicU64,
    /// Worker threads ever started (`Threads_created`).
    pub threads_created: AtomicU64,
    /// Statements received (`Questions`).
    pub questions: AtomicU64,
    /// TLS handshakes started (`Ssl_accepts`).
    pub ssl_accepts: AtomicU64,
    /// TLS handshakes completed (`Ssl_finished_accepts`).
    pub ssl_finished_accepts: AtomicU64,
    /// TLS handshakes that failed (`Ssl_accept_failures`).
    pub ssl_accept_failures: AtomicU64,
    /// Connections refused because `max-connections` was reached
    /// (`Connection_errors_max_connections`).
    pub connection_errors_max_connections: AtomicU64,
    /// Prepared statements held by all sessions (`Prepared_stmt_count`), bounded by
    /// `max-prepared-stmt-count`.
    pub prepared_stmt_count: AtomicU64,
}

impl Default for Counters {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            connections: AtomicU64::new(0),
            aborted_connects: AtomicU64::new(0),
            aborted_clients: AtomicU64::new(0),
            threads_connected: AtomicU64::new(0),
            threads_running: AtomicU64::new(0),
            threads_cached: AtomicU64::new(0),
            threads_created: AtomicU64::new(0),
            questions: AtomicU64::new(0),
            ssl_accepts: AtomicU64::new(0),
            ssl_finished_accepts: AtomicU64::new(0),
            ssl_accept_failures: AtomicU64::new(0),
            connection_errors_max_connections: AtomicU64::new(0),
            prepared_stmt_count: AtomicU64::new(0),
        }
    }
}

impl Counters {
    /// Seconds since the server started (`Uptime`).
    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Keeps a gauge raised for as long as the guard lives (also when a session panics).
pub struct GaugeGuard<'a>(&'a AtomicU64);

impl<'a> GaugeGuard<'a> {
    /// Raises `gauge` by one until the guard is dropped.
    pub fn raise(gauge: &'a AtomicU64) -> Self {
        gauge.fetch_add(1, Ordering::Relaxed);
        Self(gauge)
    }
}

impl Drop for GaugeGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Like [`GaugeGuard`], for a gauge inside shared state the guard must keep alive (it travels
/// with a connection from thread to thread).
pub struct SharedGauge<T> {
    owner: Arc<T>,
    gauge: fn(&T) -> &AtomicU64,
}

impl<T> SharedGauge<T> {
    /// Raises the gauge `gauge(&owner)` by one until the guard is dropped.
    pub fn raise(owner: Arc<T>, gauge: fn(&T) -> &AtomicU64) -> Self {
        gauge(&owner).fetch_add(1, Ordering::Relaxed);
        Self { owner, gauge }
    }
}

impl<T> Drop for SharedGauge<T> {
    fn drop(&mut self) {
        (self.gauge)(&self.owner).fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauge_guard_lowers_on_drop_and_on_panic() {
        let c = Counters::default();
        {
            let _g = GaugeGuard::raise(&c.threads_connected);
            assert_eq!(Counters::get(&c.threads_connected), 1);
        }
        assert_eq!(Counters::get(&c.threads_connected), 0);
        let r = std::panic::catch_unwind(|| {
            let _g = GaugeGuard::raise(&c.threads_connected);
            panic!("session panicked");
        });
        assert!(r.is_err());
        assert_eq!(Counters::get(&c.threads_connected), 0);
    }
}
