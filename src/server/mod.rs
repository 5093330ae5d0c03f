//! The server: shared state, listeners, the acceptor thread and the worker pool.
//!
//! ```text
//! TCP: idle worker in accept ─┐
//!   admission (1040)          ├─▶ worker thread ──▶ session::run ──(client quiet)──▶ idle poller
//! unix socket: mio acceptor ──┘     login, commands                   epoll, wait_timeout
//!   (hand-off)                           ▲                                 │
//!                                        └───── next command, shutdown ────┘
//! ```
//!
//! [`Server::start`] binds and loads everything that can fail (data directory, accounts, TLS),
//! so configuration and file errors surface before the first client; [`Server::serve`] then
//! accepts until [`ShutdownHandle::shutdown`], and returns once the sessions have ended (or
//! `shutdown-timeout` passed) and storage is checkpointed.

pub(crate) mod acceptor;
mod idle;
pub mod maintenance;
mod memory;
pub(crate) mod pool;

use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use mio::Waker;

use crate::auth::accounts::AccountStore;
use crate::auth::rsa_key::RsaKeyPair;
use crate::config::Config;
use crate::instance::{Instance, SERVER_VERSION};
use crate::metrics::http::MetricsServer;
use crate::metrics::{ReloadTrigger, Scrape};
use crate::session::{self, Service};
use crate::storage::Engine;
use crate::tls::{AutoTlsSpec, TlsManager, TlsSource};
use crate::vars::GlobalVariables;

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A file or socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The data directory's databases could not be opened.
    #[error("storage: {0}")]
    Storage(String),
    /// The account store could not be opened.
    #[error("accounts: {0}")]
    Accounts(String),
    /// TLS is required (`require_secure_transport`) but could not be enabled.
    #[error(
        "require_secure_transport is ON but TLS could not be enabled ({0}); refusing to start because no TCP client could log in"
    )]
    TlsRequired(String),
    /// Gateway mode could not be set up (identity CAs, TLS toward backends).
    #[error("gateway: {0}")]
    Upstream(String),
    /// A TLS setting the backend cannot apply: starting without TLS would serve less than
    /// the operator asked for.
    #[error("{0}; refusing to start rather than serve without the TLS configured")]
    TlsSetting(String),
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> ServerError {
    let what = what.into();
    move |source| ServerError::Io { what, source }
}

/// A started server, bound and ready to accept.
pub struct Server {
    shared: Arc<Instance>,
    /// What connections log in to: the local SQL engine, or the backends in gateway mode.
    service: Arc<dyn Service>,
    acceptor: acceptor::Acceptor,
    local_addr: SocketAddr,
    socket_path: Option<PathBuf>,
    /// Started before `start` returns, so files are watched from the moment it does.
    maintenance: maintenance::Maintenance,
    /// `/metrics`, when `metrics.listen` is set.
    metrics: Option<MetricsServer>,
}

/// Stops a running [`Server::serve`] from another thread.
#[derive(Clone)]
pub struct ShutdownHandle {
    waker: Arc<Waker>,
    shutdown: Arc<crate::shutdown::Shutdown>,
}

impl ShutdownHandle {
    /// Starts the shutdown and returns at once: the listeners close, idle sessions get
    /// ERR 1053, running statements finish; `serve` returns when that is done or
    /// `shutdown-timeout` passed.
    pub fn shutdown(&self) {
        self.shutdown.start();
        if let Err(e) = self.waker.wake() {
            log::error!("cannot wake the acceptor for shutdown: {e}");
        }
    }
}

impl Server {
    /// Opens the data directory, loads accounts and TLS, and binds the listeners.
    pub fn start(config: Config) -> Result<Server, ServerError> {
        crate::files::data_dir(&config.data_dir, AccountStore::FILE_NAME).map_err(io_err(
            format!("data directory {}", config.data_dir.display()),
        ))?;
        let engine =
            Engine::open(&config.data_dir).map_err(|e| ServerError::Storage(e.to_string()))?;
        let accounts = AccountStore::open(&config.data_dir)
            .map_err(|e| ServerError::Accounts(e.to_string()))?;
        if accounts.created_initial_accounts() {
            log::warn!(
                "new account store: 'root' has no password and may connect from localhost, 127.0.0.1 and ::1 only; set one with ALTER USER"
            );
        }
        let (rsa, generated) = RsaKeyPair::load_or_generate(&config.data_dir)
            .map_err(|e| ServerError::Accounts(e.to_string()))?;
        if generated {
            log::info!(
                "generated the RSA key pair for caching_sha2_password in {}",
                config.data_dir.display()
            );
        }
        let globals = GlobalVariables::new(&config, &accounts)
            .map_err(|e| ServerError::Accounts(e.to_string()))?;

        let backend = config.security.tls_backend;
        if !backend.is_compiled_in() {
            return Err(ServerError::TlsRequired(format!(
                "TLS backend {backend} is not available in this build"
            )));
        }
        let tls = TlsManager::new(backend, tls_source(&config));
        match tls.enable_at_startup() {
            Err(e) if e.is_unusable_setting() => {
                return Err(ServerError::TlsSetting(e.to_string()));
            }
            Err(e) if globals.require_secure_transport() => {
                return Err(ServerError::TlsRequired(e.to_string()));
            }
            _ => {}
        }

        let tcp = std::net::TcpListener::bind((config.host.as_str(), config.port)).map_err(
            io_err(format!("cannot listen on {}:{}", config.host, config.port)),
        )?;
        let local_addr = tcp
            .local_addr()
            .map_err(io_err("cannot read the listening address"))?;
        let unix = match &config.socket {
            Some(path) => Some(bind_unix(path)?),
            None => None,
        };
        let acceptor =
            acceptor::Acceptor::new(tcp, unix).map_err(io_err("cannot set up the acceptor"))?;
        let shutdown = crate::shutdown::Shutdown::new()
            .map_err(io_err("cannot create the shutdown signal"))?;
        let shared = Arc::new(Instance::new(
            config,
            tls,
            engine,
            accounts,
            rsa,
            globals,
            Arc::new(shutdown),
        ));
        let socket_path = shared.config.socket.clone();
        let maintenance = maintenance::start(&shared);
        let gateway = if shared.config.upstream.enabled() {
            Some(crate::upstream::Gateway::start(&shared).map_err(ServerError::Upstream)?)
        } else {
            None
        };
        let metrics = match shared.config.metrics_listen {
            Some(addr) => Some(start_metrics(addr, &shared, gateway.clone())?),
            None => None,
        };
        let service: Arc<dyn Service> = match gateway {
            Some(gateway) => gateway,
            None => Arc::new(session::Local {
                open: crate::sql::local::open,
            }),
        };
        // Last: scripts wait for this line, so everything above is in place when it appears.
        log::info!(
            "tlsql {} listening on {}{}, data in {}",
            SERVER_VERSION,
            local_addr,
            shared
                .config
                .socket
                .as_ref()
                .map(|p| format!(" and {}", p.display()))
                .unwrap_or_default(),
            shared.config.data_dir.display()
        );
        Ok(Server {
            shared,
            service,
            acceptor,
            local_addr,
            socket_path,
            maintenance,
            metrics,
        })
    }

    /// The TCP address actually bound (port 0 in the configuration picks a free port).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Where `/metrics` is served, when `metrics.listen` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(MetricsServer::local_addr)
    }

    /// The shared state (tests inspect counters and reload TLS through it).
    pub fn shared(&self) -> Arc<Instance> {
        Arc::clone(&self.shared)
    }

    /// A handle that stops [`Server::serve`].
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            waker: self.acceptor.waker(),
            shutdown: Arc::clone(&self.shared.shutdown),
        }
    }

    /// Accepts connections until shut down, then waits for the sessions (at most
    /// `shutdown-timeout`) and checkpoints storage.
    pub fn serve(self) -> Result<(), ServerError> {
        // The listeners close when `run` returns: new connections are refused from then on.
        let result = self
            .acceptor
            .run(&self.shared, Arc::clone(&self.service))
            .map_err(io_err("acceptor failed"));
        // Also when the acceptor failed: the sessions must not outlive `serve` unaware.
        self.shared.shutdown.start();
        drop(self.maintenance);
        drop(self.metrics);
        if let Some(path) = &self.socket_path {
            let _ = std::fs::remove_file(path);
        }
        let timeout = self.shared.config.shutdown_timeout;
        log::info!(
            "stopped accepting connections; waiting up to {timeout:?} for running statements"
        );
        let cut = self
            .shared
            .shutdown
            .wait_for_sessions(Instant::now() + timeout);
        if cut > 0 {
            log::warn!(
                "shutdown-timeout ({timeout:?}) expired: {cut} session(s) still running a statement are cut off"
            );
        }
        if let Err(e) = self.shared.engine.checkpoint() {
            log::error!("storage checkpoint at shutdown failed (the log stays valid): {e}");
        }
        if let Err(e) = self.shared.accounts.checkpoint() {
            log::error!("account store checkpoint at shutdown failed (the log stays valid): {e}");
        }
        log::info!("shutdown complete");
        result
    }
}

/// Serves `/metrics` from the live instance; a listener that cannot be bound stops the start,
/// like the MySQL port.
fn start_metrics(
    addr: SocketAddr,
    shared: &Arc<Instance>,
    gateway: Option<Arc<crate::upstream::Gateway>>,
) -> Result<MetricsServer, ServerError> {
    let instance = Arc::clone(shared);
    MetricsServer::start(addr, move |openmetrics| {
        let tls = instance.tls.current();
        let upstream = gateway
            .as_ref()
            .map(|g| g.upstream_states())
            .unwrap_or_default();
        let scrape = Scrape {
            upstream: &upstream,
            counters: &instance.counters,
            tls: tls.as_deref(),
            backend: instance.tls.backend().name(),
            version: SERVER_VERSION,
        };
        instance.metrics.render(&scrape, openmetrics)
    })
    .map_err(io_err(format!(
        "cannot serve metrics on {addr} (metrics.listen)"
    )))
}

fn tls_source(config: &Config) -> TlsSource {
    let s = &config.security;
    TlsSource {
        cert: s.ssl_cert.clone(),
        key: s.ssl_key.clone(),
        ca: s.ssl_ca.clone(),
        auto_tls: s.auto_tls.then(|| AutoTlsSpec {
            dir: config.data_dir.join("tls"),
            key: s.auto_tls_key,
            renew_within: s.expiry_warning,
        }),
        min_version: s.tls_version,
        cipher_list: s.ssl_cipher.clone(),
        ciphersuites: s.tls_ciphersuites.clone(),
        groups: s.tls_groups.clone(),
        groups_strict: s.tls_groups_strict(),
        session_cache: s.ssl_session_cache_mode,
        session_timeout: s.ssl_session_cache_timeout,
    }
}

/// Binds the unix socket, replacing a stale file but never another live server's socket.
fn bind_unix(path: &Path) -> Result<UnixListener, ServerError> {
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            return Err(ServerError::Io {
                what: format!("cannot listen on {}", path.display()),
                source: io::Error::new(
                    io::ErrorKind::AddrInUse,
                    "another server is accepting connections on it",
                ),
            });
        }
        std::fs::remove_file(path).map_err(io_err(format!(
            "cannot remove stale socket {}",
            path.display()
        )))?;
    }
    let listener =
        UnixListener::bind(path).map_err(io_err(format!("cannot listen on {}", path.display())))?;
    // Like MySQL's socket: anyone may connect; accounts decide who may log in.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777)).map_err(io_err(
        format!("cannot set permissions of {}", path.display()),
    ))?;
    Ok(listener)
}

/// Starts the server and serves until SIGTERM or SIGINT (a graceful shutdown; a second one
/// exits at once with 128 + the signal number, as if killed by it); SIGHUP reloads TLS.
pub fn run(config: Config) -> Result<(), ServerError> {
    let server = Server::start(config)?;
    let handle = server.shutdown_handle();
    let shared = server.shared();
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ])
    .map_err(io_err("cannot install signal handlers"))?;
    std::thread::Builder::new()
        .name("tlsql-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if signal == signal_hook::consts::SIGHUP {
                    match shared.reload_tls_for(ReloadTrigger::Sighup, false) {
                        Ok(_) => log::info!("SIGHUP: TLS reloaded"),
                        Err(e) => log::error!(
                            "SIGHUP: TLS reload failed, the previous context stays in use: {e}"
                        ),
                    }
                } else if shared.shutdown.started() {
                    log::warn!("signal {signal} received again: exiting without waiting");
                    std::process::exit(128 + signal);
                } else {
                    log::info!("signal {signal} received, shutting down");
                    handle.shutdown();
                }
            }
        })
        .map_err(io_err("cannot start the signal thread"))?;
    server.serve()
}
