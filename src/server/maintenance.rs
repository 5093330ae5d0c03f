//! Background upkeep of the TLS context while the server runs:
//!
//! * auto-reload (`security.auto-reload`): the directories of the configured certificate, key
//!   and CA are watched; a change to one of those files (written in place or renamed into
//!   place, as certificate managers do) reloads TLS once the files have been quiet for
//!   [`DEBOUNCE`], so a certificate and its key replaced one after the other load together;
//! * the certificate check, at startup and then daily: auto-tls reissues its server
//!   certificate before it comes within `expiry-warning` of its end and swaps it in live;
//!   a configured certificate that expires within `expiry-warning` is a warning in the log,
//!   an expired one an error;
//! * memory: once a burst of connections has closed, the allocator's free memory goes back to
//!   the system ([`super::memory`]).

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, select};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use time::OffsetDateTime;
use tlsql_tls_api::cert::format_time;

use crate::instance::Instance;
use crate::metrics::ReloadTrigger;
use crate::status::Counters;
use crate::tls::auto;

/// Quiet time after the last change to a watched file before reloading.
pub const DEBOUNCE: Duration = Duration::from_millis(500);

/// How often the certificate check runs after the one at startup.
const CHECK_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// The running upkeep threads; stopped and joined on drop.
pub(crate) struct Maintenance {
    stop: Option<Sender<()>>,
    threads: Vec<JoinHandle<()>>,
    _watcher: Option<RecommendedWatcher>,
}

impl Drop for Maintenance {
    fn drop(&mut self) {
        // Dropping the only sender wakes every thread's `recv` with an error: time to stop.
        self.stop.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Starts the certificate check and, when configured, the file watcher.
pub(crate) fn start(shared: &Arc<Instance>) -> Maintenance {
    // The startup check runs before the server accepts anyone, so its warnings come with the
    // startup messages and nothing it renews can race with what follows.
    log_certificate_check(shared);
    let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
    let mut threads = Vec::new();
    let checker = {
        let shared = Arc::clone(shared);
        let stopped = stopped.clone();
        std::thread::Builder::new()
            .name("tlsql-cert-check".into())
            .spawn(move || {
                // Only a timeout means "check again"; disconnection means the server stopped.
                while matches!(
                    stopped.recv_timeout(CHECK_INTERVAL),
                    Err(RecvTimeoutError::Timeout)
                ) {
                    log_certificate_check(&shared);
                }
            })
    };
    match checker {
        Ok(t) => threads.push(t),
        Err(e) => log::error!("cannot start the certificate check thread: {e}"),
    }
    let trimmer = {
        let shared = Arc::clone(shared);
        let stopped = stopped.clone();
        std::thread::Builder::new()
            .name("tlsql-memory".into())
            .spawn(move || {
                let mut trimmer = super::memory::Trimmer::default();
                while matches!(
                    stopped.recv_timeout(super::memory::CHECK_INTERVAL),
                    Err(RecvTimeoutError::Timeout)
                ) {
                    let open = Counters::get(&shared.counters.threads_connected);
                    if trimmer.observe(open) {
                        super::memory::trim();
                    }
                }
            })
    };
    match trimmer {
        Ok(t) => threads.push(t),
        Err(e) => log::error!("cannot start the memory trimming thread: {e}"),
    }
    let mut watcher = None;
    if shared.config.security.auto_reload {
        match watch(shared, stopped) {
            Ok((w, t)) => {
                watcher = Some(w);
                threads.push(t);
            }
            Err(e) => log::error!(
                "security.auto-reload is on but the certificate files cannot be watched: {e}"
            ),
        }
    }
    Maintenance {
        stop: Some(stop),
        threads,
        _watcher: watcher,
    }
}

/// The files auto-reload watches: the configured certificate, key and CA.
fn watched_files(shared: &Instance) -> Vec<PathBuf> {
    let s = &shared.config.security;
    [&s.ssl_cert, &s.ssl_key, &s.ssl_ca]
        .into_iter()
        .flatten()
        .map(|p| absolute(p))
        .collect()
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

fn watch(
    shared: &Arc<Instance>,
    stopped: Receiver<()>,
) -> Result<(RecommendedWatcher, JoinHandle<()>), String> {
    let files = watched_files(shared);
    if files.is_empty() {
        return Err("no certificate, key or CA file is configured (auto-tls files are renewed by the server itself)".into());
    }
    let names: HashSet<(PathBuf, OsString)> = files
        .iter()
        .filter_map(|f| Some((f.parent()?.to_path_buf(), f.file_name()?.to_os_string())))
        .collect();
    let dirs: HashSet<PathBuf> = names.iter().map(|(d, _)| d.clone()).collect();
    let (changed, changes) = crossbeam_channel::unbounded::<()>();
    let relevant = names.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        let touches = event
            .paths
            .iter()
            .any(|p| match (p.parent(), p.file_name()) {
                (Some(dir), Some(name)) => {
                    relevant.contains(&(dir.to_path_buf(), name.to_os_string()))
                }
                _ => false,
            });
        if touches {
            let _ = changed.send(());
        }
    })
    .map_err(|e| e.to_string())?;
    for dir in &dirs {
        watcher
            .watch(dir, RecursiveMode::NonRecursive)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    log::info!(
        "auto-reload: watching {}",
        files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let shared = Arc::clone(shared);
    let thread = std::thread::Builder::new()
        .name("tlsql-auto-reload".into())
        .spawn(move || reload_on_changes(&shared, &changes, &stopped))
        .map_err(|e| e.to_string())?;
    Ok((watcher, thread))
}

fn reload_on_changes(shared: &Instance, changes: &Receiver<()>, stopped: &Receiver<()>) {
    loop {
        select! {
            recv(stopped) -> _ => return,
            recv(changes) -> change => if change.is_err() { return },
        }
        // Wait until the files have been quiet for DEBOUNCE.
        loop {
            select! {
                recv(stopped) -> _ => return,
                recv(changes) -> change => if change.is_err() { return },
                default(DEBOUNCE) => break,
            }
        }
        match shared.reload_tls_for(ReloadTrigger::File, false) {
            Ok(_) => log::info!("auto-reload: certificate files changed, TLS reloaded"),
            Err(e) => log::error!(
                "auto-reload: certificate files changed but the reload failed, the previous context stays in use: {e}"
            ),
        }
    }
}

/// Something the certificate check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// How it is logged.
    pub level: log::Level,
    /// What it says.
    pub message: String,
}

fn log_certificate_check(shared: &Instance) {
    for notice in check_certificates(shared) {
        log::log!(notice.level, "{}", notice.message);
    }
}

/// The certificate check (run at startup and daily): renews the auto-tls server certificate
/// when due and reloads it; reports a served certificate that expires within
/// `expiry-warning` (warning) or has expired (error).
pub fn check_certificates(shared: &Instance) -> Vec<Notice> {
    let _only_check = shared
        .certificate_check
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let mut notices = Vec::new();
    let within = shared.config.security.expiry_warning;
    let auto_active = shared.tls.current().is_some_and(|a| a.auto_generated);
    if auto_active {
        let dir = shared.config.data_dir.join("tls");
        match auto::renew_if_due(&dir, within) {
            Ok(true) => notices.push(match shared.reload_tls_for(ReloadTrigger::Renewal, false) {
                Ok(_) => Notice {
                    level: log::Level::Info,
                    message: format!(
                        "auto-tls: reissued the server certificate in {} and reloaded TLS",
                        dir.display()
                    ),
                },
                Err(e) => Notice {
                    level: log::Level::Error,
                    message: format!(
                        "auto-tls: reissued the server certificate but the reload failed: {e}"
                    ),
                },
            }),
            Ok(false) => {}
            Err(e) => notices.push(Notice {
                level: log::Level::Error,
                message: format!("auto-tls: cannot renew the server certificate: {e}"),
            }),
        }
    }
    let Some(active) = shared.tls.current() else {
        return notices;
    };
    let now = OffsetDateTime::now_utc();
    let not_after = active.server_cert.not_after;
    let path = active.cert_path.display();
    if not_after <= now {
        notices.push(Notice {
            level: log::Level::Error,
            message: format!(
                "TLS certificate {path} expired on {}; clients that verify it cannot connect: replace it and run ALTER INSTANCE RELOAD TLS",
                format_time(not_after)
            ),
        });
    } else if not_after - now <= within {
        notices.push(Notice {
            level: log::Level::Warn,
            message: format!(
                "TLS certificate {path} expires on {} (within expiry-warning, {} days): replace it and run ALTER INSTANCE RELOAD TLS",
                format_time(not_after),
                within.as_secs() / 86_400
            ),
        });
    }
    notices
}
