//! The running server instance: what every session shares (configuration, TLS, storage,
//! accounts, global variables, counters, connection slots, the registry of local sessions and
//! their table locks, the shutdown signal).

pub mod admission;
pub mod locks;
pub mod sessions;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use crate::auth::accounts::AccountStore;
use crate::auth::rsa_key::RsaKeyPair;
use crate::config::Config;
use crate::metrics::{Metrics, ReloadTrigger};
use crate::shutdown::Shutdown;
use crate::sql::stmt::cache::ParseCache;
use crate::status::Counters;
use crate::storage::Engine;
use crate::tls::{ReloadOutcome, TlsLoadError, TlsManager};
use crate::vars::GlobalVariables;

/// The version string in the greeting and `@@version`. Clients parse the leading
/// `major.minor.patch` to pick features, so it claims the MySQL 8.0 protocol it implements.
pub const SERVER_VERSION: &str = concat!("8.0.40-tlsql-", env!("CARGO_PKG_VERSION"));

/// State shared by every session.
pub struct Instance {
    /// The validated configuration.
    pub config: Config,
    /// TLS context holder.
    pub tls: TlsManager,
    /// Status counters.
    pub counters: Counters,
    /// Prometheus metrics (`metrics.listen`).
    pub metrics: Metrics,
    /// Storage engine.
    pub engine: Engine,
    /// Accounts, privileges and persisted variables.
    pub accounts: AccountStore,
    /// RSA key pair for caching_sha2_password over unencrypted TCP.
    pub rsa: RsaKeyPair,
    /// Global system variables that can change at runtime.
    pub globals: GlobalVariables,
    /// This machine's host name (`@@hostname`).
    pub hostname: String,
    /// Serialises certificate checks (the daily one on its own thread, others called
    /// directly): two overlapping auto-tls renewals would each write and load their own
    /// certificate, leaving on disk a different one from the one served.
    pub(crate) certificate_check: Mutex<()>,
    /// Who holds which connection slot (`max-connections`, the reserved slot, per host).
    pub(crate) admission: Arc<admission::Admission>,
    /// The local engine's sessions (`SHOW PROCESSLIST`, `KILL`, resource limits).
    pub sessions: Arc<sessions::Sessions>,
    /// `LOCK TABLES` locks.
    pub table_locks: locks::TableLocks,
    /// Graceful shutdown: the signal sessions watch and the count of open sessions.
    pub shutdown: Arc<Shutdown>,
    /// SELECTs parsed from texts that sessions send again and again.
    pub parsed: ParseCache,
    next_connection_id: AtomicU32,
}

impl Instance {
    /// Assembles the instance from what the server loaded at startup.
    pub(crate) fn new(
        config: Config,
        tls: TlsManager,
        engine: Engine,
        accounts: AccountStore,
        rsa: RsaKeyPair,
        globals: GlobalVariables,
        shutdown: Arc<Shutdown>,
    ) -> Self {
        let admission = Arc::new(admission::Admission::new(
            config.max_connections,
            config.max_connections_per_host,
        ));
        Self {
            hostname: gethostname::gethostname().to_string_lossy().into_owned(),
            config,
            tls,
            counters: Counters::default(),
            metrics: Metrics::default(),
            engine,
            accounts,
            rsa,
            globals,
            certificate_check: Mutex::new(()),
            admission,
            sessions: Arc::default(),
            table_locks: locks::TableLocks::default(),
            shutdown,
            parsed: ParseCache::default(),
            next_connection_id: AtomicU32::new(1),
        }
    }

    /// A fresh connection id (`CONNECTION_ID()`), never 0.
    pub fn next_connection_id(&self) -> u32 {
        loop {
            let id = self.next_connection_id.fetch_add(1, Ordering::Relaxed);
            if id != 0 {
                return id;
            }
        }
    }

    /// Reloads TLS from the configured files. While `require_secure_transport` is ON a failed
    /// reload never switches TLS off, whatever `no_rollback` says.
    /// This is `ALTER INSTANCE RELOAD TLS [NO ROLLBACK ON ERROR]`'s, counted as such in the
    /// metrics; [`Instance::reload_tls_for`] is for the other triggers.
    pub fn reload_tls(&self, no_rollback: bool) -> Result<ReloadOutcome, TlsLoadError> {
        self.reload_tls_for(ReloadTrigger::Statement, no_rollback)
    }

    /// A reload started by `trigger`, as [`Instance::reload_tls`] does it.
    pub fn reload_tls_for(
        &self,
        trigger: ReloadTrigger,
        no_rollback: bool,
    ) -> Result<ReloadOutcome, TlsLoadError> {
        let outcome = self
            .tls
            .reload(no_rollback, self.globals.require_secure_transport());
        self.metrics
            .reload(trigger, matches!(outcome, Ok(ReloadOutcome::Reloaded)));
        outcome
    }
}
