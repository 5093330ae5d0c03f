//! Test support: an in-process server on 127.0.0.1:0 with its own data directory, client
//! helpers, and certificates made with rcgen.

pub mod certs;
pub mod mariadb;
pub mod raw;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use tlsql::config::Config;
use tlsql::instance::Instance;
use tlsql::server::{Server, ShutdownHandle};

/// The resident memory of this process, in bytes.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

/// Held by tests that measure this process's memory and by tests that move a lot of data
/// through it: the servers run in the test process, so two such tests at once would see each
/// other's memory.
pub fn memory_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running server; stopped and its data directory removed on drop.
pub struct TestServer {
    pub addr: SocketAddr,
    /// Where `/metrics` is served, when `metrics_listen` was configured.
    pub metrics: Option<SocketAddr>,
    pub shared: Arc<Instance>,
    pub dir: tempfile::TempDir,
    pub config: Config,
    handle: ShutdownHandle,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// A configuration on port 0 with a fresh data directory in `dir`.
    pub fn config(dir: &Path) -> Config {
        let mut config = Config {
            port: 0,
            data_dir: dir.join("data"),
            ..Config::default()
        };
        config.connect_timeout = std::time::Duration::from_secs(5);
        config
    }

    /// Starts with the defaults (auto-tls on).
    pub fn start() -> Self {
        Self::start_with(|_, _| {})
    }

    /// Starts after `adjust` changed the configuration (it gets the temp dir for its files).
    pub fn start_with(adjust: impl FnOnce(&mut Config, &Path)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Self::config(dir.path());
        adjust(&mut config, dir.path());
        Self::start_in(dir, config)
    }

    /// Starts with `config` in `dir` (for restarts on the same data directory).
    pub fn start_in(dir: tempfile::TempDir, config: Config) -> Self {
        let server = Server::start(config.clone()).expect("server starts");
        let addr = server.local_addr();
        let metrics = server.metrics_addr();
        let shared = server.shared();
        let handle = server.shutdown_handle();
        let thread = std::thread::spawn(move || server.serve().expect("server runs"));
        Self {
            addr,
            metrics,
            shared,
            dir,
            config,
            handle,
            thread: Some(thread),
        }
    }

    /// Stops the server and returns its directory and configuration for a restart.
    pub fn stop(mut self) -> (tempfile::TempDir, Config) {
        self.shutdown();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        (dir, self.config.clone())
    }

    /// Starts the shutdown without waiting for it (`stop` waits).
    pub fn begin_shutdown(&self) {
        self.handle.shutdown();
    }

    fn shutdown(&mut self) {
        self.handle.shutdown();
        // A server thread that panicked fails the test that owns it, but never while that test
        // is already failing: a panic during unwinding would abort the whole test binary.
        if let Some(t) = self.thread.take()
            && let Err(panic) = t.join()
            && !std::thread::panicking()
        {
            std::panic::resume_unwind(panic);
        }
    }

    /// The auto-tls directory.
    pub fn tls_dir(&self) -> PathBuf {
        self.config.data_dir.join("tls")
    }

    /// `mysql` crate options for `user` on this server, without TLS.
    pub fn opts(&self, user: &str, password: &str) -> mysql::OptsBuilder {
        mysql::OptsBuilder::new()
            .ip_or_hostname(Some("127.0.0.1"))
            .tcp_port(self.addr.port())
            .user(Some(user))
            .pass(Some(password))
            .prefer_socket(false)
    }

    /// A root connection (no password, from 127.0.0.1).
    pub fn root(&self) -> mysql::Conn {
        mysql::Conn::new(self.opts("root", "")).expect("root connects")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
