//! The client side: a [`TlsConnector`] made from [`ConnectorSettings`] connects to a TLS server
//! (the gateway's backends) with the same library that serves the clients.
//!
//! Each backend crate exports
//!
//! ```text
//! pub fn build_connector(settings: &ConnectorSettings) -> Result<Arc<dyn TlsConnector>, TlsError>;
//! ```
//!
//! # Behaviour every backend must share
//!
//! * [`ServerVerify::Identity`]: the chain must lead to one of [`ConnectorSettings::roots`] and
//!   the certificate must be for the server name (a DNS name, or an IP address checked against
//!   the IP SANs). SNI is sent for DNS names only. [`ServerVerify::Ca`]: the chain is verified,
//!   the name is not. [`ServerVerify::None`]: encryption without authentication (MySQL's
//!   `--ssl-mode=REQUIRED`).
//! * The client certificate is chosen per connection. What a backend builds for one identity
//!   (a library context holding the certificate and key) is kept in an [`IdentityCache`], so
//!   presenting the same identity again costs a lookup.
//! * With [`ConnectorSettings::session_cache`] a later connection to the same server name with
//!   the same client identity offers the earlier session. Sessions are kept per identity, so a
//!   session made with one certificate (or none) is never offered with another.
//! * A failed handshake is a [`TlsError::Handshake`] whose reason tells an unknown CA, a name
//!   mismatch and an expired certificate apart, and whose message names the issuer, the names
//!   in the certificate, or the date ([`failure::certificate_refused`]).
//!
//! [`failure::certificate_refused`]: crate::failure::certificate_refused

use std::fmt;
use std::hash::Hash;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;
use rustls_pki_types::CertificateDer;

use crate::group::KxGroup;
use crate::{Identity, SessionStats, TlsError, TlsStream, TlsVersion, Transport};

/// How a connector checks the server's certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerVerify {
    /// Chain to a root and the server name (MySQL's `VERIFY_IDENTITY`).
    Identity,
    /// Chain to a root, any name (`VERIFY_CA`).
    Ca,
    /// Nothing: encrypted, not authenticated (`REQUIRED`).
    None,
}

/// Everything a backend needs to build a connector.
#[derive(Clone, Debug)]
pub struct ConnectorSettings {
    /// Trust anchors for the servers' certificates; required unless `verify` is
    /// [`ServerVerify::None`].
    pub roots: Vec<CertificateDer<'static>>,
    /// How the server's certificate is checked.
    pub verify: ServerVerify,
    /// Oldest protocol version offered.
    pub min_version: TlsVersion,
    /// Newest protocol version offered.
    pub max_version: TlsVersion,
    /// TLS ≤ 1.2 suites offered, OpenSSL names, in preference order.
    pub cipher_list: Vec<String>,
    /// TLS 1.3 suites offered, in preference order (empty: TLS 1.3 is not offered).
    pub ciphersuites: Vec<String>,
    /// Key exchange groups offered, in preference order; those the backend lacks are left
    /// out (at least one must remain).
    pub groups: Vec<&'static KxGroup>,
    /// Whether sessions are kept and offered again.
    pub session_cache: bool,
}

impl ConnectorSettings {
    /// The suites a connector offers, TLS 1.3 first, each known to [`crate::cipher`] and usable
    /// with some version in `min_version..=max_version`; and those versions (the ones a
    /// suite is left for). A settings error when nothing is left, or when `verify` needs roots
    /// and there are none.
    pub fn effective(
        &self,
        backend: &'static str,
    ) -> Result<(Vec<&'static crate::cipher::CipherSuite>, Vec<TlsVersion>), TlsError> {
        if self.verify != ServerVerify::None && self.roots.is_empty() {
            return Err(TlsError::ClientSettings(format!(
                "verifying the server ({:?}) needs at least one CA certificate in the roots",
                self.verify
            )));
        }
        let mut suites = Vec::new();
        for name in self.ciphersuites.iter().chain(&self.cipher_list) {
            let suite =
                crate::cipher::lookup(name).ok_or_else(|| TlsError::UnknownCipher(name.clone()))?;
            if !suites.contains(&suite) {
                suites.push(suite);
            }
        }
        let versions: Vec<TlsVersion> = self
            .min_version
            .and_newer()
            .filter(|v| *v <= self.max_version)
            .filter(|v| suites.iter().any(|s| s.usable_with(*v)))
            .collect();
        if versions.is_empty() {
            return Err(TlsError::ClientSettings(format!(
                "the {backend} connector has no cipher suite left to offer for {} to {}",
                self.min_version, self.max_version
            )));
        }
        suites.retain(|s| versions.iter().any(|v| s.usable_with(*v)));
        Ok((suites, versions))
    }
}

/// A client TLS context: built once from [`ConnectorSettings`], shared by every connection it
/// makes.
pub trait TlsConnector: Send + Sync + fmt::Debug {
    /// The backend's name.
    fn backend(&self) -> &'static str;

    /// Runs the client side of the handshake on `io` (blocking; the caller sets socket
    /// timeouts) toward `server_name` (a DNS name or an IP address), presenting `client` if
    /// given, and returns the established stream. Its [`TlsStream::info`] reports the
    /// server's leaf certificate as `peer_certificate`.
    fn connect(
        &self,
        io: Box<dyn Transport>,
        server_name: &str,
        client: Option<&Arc<Identity>>,
    ) -> Result<Box<dyn TlsStream>, TlsError>;

    /// Resumption counters since this connector was built: hits are resumed handshakes, misses
    /// handshakes that offered a session the server did not resume.
    fn session_stats(&self) -> SessionStats;
}

/// Builds connectors for one backend.
pub type ConnectorFn = fn(&ConnectorSettings) -> Result<Arc<dyn TlsConnector>, TlsError>;

/// How many client identities a connector keeps a built configuration for. A gateway presents
/// one short-lived certificate per client identity; the least recently used are dropped.
pub const IDENTITIES: NonZeroUsize = NonZeroUsize::new(1024).unwrap();

/// How many server names a connector keeps sessions for, per identity.
pub const SERVER_NAMES: NonZeroUsize = NonZeroUsize::new(64).unwrap();

/// A bounded map from client identity (none, or the leaf certificate's DER) to what a backend
/// built for it, least recently used dropped first.
pub struct IdentityCache<T> {
    anonymous: Arc<T>,
    by_leaf: Mutex<LruCache<Vec<u8>, Arc<T>>>,
}

impl<T> IdentityCache<T> {
    /// A cache whose entry for "no client certificate" is `anonymous`.
    pub fn new(anonymous: T) -> Self {
        Self {
            anonymous: Arc::new(anonymous),
            by_leaf: Mutex::new(LruCache::new(IDENTITIES)),
        }
    }

    /// The entry for `identity`, made by `make` the first time. `make` runs outside the lock;
    /// if two threads make the same entry at once, the first one stored is kept (and with it
    /// its sessions).
    pub fn get(
        &self,
        identity: Option<&Arc<Identity>>,
        make: impl FnOnce(&Identity) -> Result<T, TlsError>,
    ) -> Result<Arc<T>, TlsError> {
        let Some(identity) = identity else {
            return Ok(self.anonymous.clone());
        };
        let leaf = identity.chain.first().ok_or_else(|| TlsError::BadFile {
            path: identity.cert_path.clone(),
            reason: "no certificate".to_string(),
        })?;
        if let Some(found) = self.lock().get(leaf.as_ref()) {
            return Ok(found.clone());
        }
        let made = Arc::new(make(identity)?);
        let mut cache = self.lock();
        if let Some(found) = cache.get(leaf.as_ref()) {
            return Ok(found.clone());
        }
        cache.put(leaf.to_vec(), made.clone());
        Ok(made)
    }

    /// How many identities have an entry (not counting the anonymous one).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no identity has an entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<Vec<u8>, Arc<T>>> {
        // A panic elsewhere while holding the lock leaves a consistent map.
        self.by_leaf.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<T> fmt::Debug for IdentityCache<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityCache")
            .field("identities", &self.len())
            .finish()
    }
}

/// Sessions of one client identity by server name, bounded, least recently used dropped
/// first. A backend keeps one per [`IdentityCache`] entry, so sessions never cross identities.
pub struct SessionCache<K, S> {
    sessions: Mutex<LruCache<K, S>>,
}

impl<K: Hash + Eq, S: Clone> SessionCache<K, S> {
    /// An empty cache of [`SERVER_NAMES`] entries.
    pub fn new() -> Self {
        Self {
            sessions: Mutex::new(LruCache::new(SERVER_NAMES)),
        }
    }

    /// The session to offer to `name`, if one is kept.
    pub fn get(&self, name: &K) -> Option<S> {
        self.lock().get(name).cloned()
    }

    /// Keeps `session` for `name` (replacing an older one).
    pub fn put(&self, name: K, session: S) {
        self.lock().put(name, session);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<K, S>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<K: Hash + Eq, S: Clone> Default for SessionCache<K, S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, S> fmt::Debug for SessionCache<K, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCache").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use rustls_pki_types::PrivateKeyDer;
    use time::OffsetDateTime;

    use super::*;
    use crate::CertSummary;

    /// An identity whose leaf is `n`'s bytes (the cache reads nothing else).
    fn identity(n: usize) -> Arc<Identity> {
        Arc::new(Identity {
            chain: vec![CertificateDer::from(n.to_be_bytes().to_vec())],
            key: PrivateKeyDer::Pkcs8(Vec::new().into()),
            cert_path: PathBuf::new(),
            key_path: PathBuf::new(),
            leaf: CertSummary {
                subject: String::new(),
                issuer: String::new(),
                subject_alt_names: Vec::new(),
                not_before: OffsetDateTime::UNIX_EPOCH,
                not_after: OffsetDateTime::UNIX_EPOCH,
                key_type: String::new(),
            },
        })
    }

    #[test]
    fn identities_are_built_once_and_the_least_recently_used_dropped() {
        let built = AtomicUsize::new(0);
        let cache = IdentityCache::new(usize::MAX);
        let get = |n: usize| {
            *cache
                .get(Some(&identity(n)), |_| {
                    built.fetch_add(1, Ordering::Relaxed);
                    Ok(n)
                })
                .unwrap()
        };
        // Distinct Arcs with the same leaf share one entry.
        assert_eq!((get(1), get(1)), (1, 1));
        assert_eq!(built.load(Ordering::Relaxed), 1);
        assert_eq!(*cache.get(None, |_| unreachable!()).unwrap(), usize::MAX);
        for n in 2..=IDENTITIES.get() + 1 {
            get(n);
        }
        assert_eq!(cache.len(), IDENTITIES.get());
        // Identity 1 was the least recently used: it is built again.
        let before = built.load(Ordering::Relaxed);
        get(1);
        assert_eq!(built.load(Ordering::Relaxed), before + 1);
        // The most recent ones are still there.
        get(IDENTITIES.get() + 1);
        assert_eq!(built.load(Ordering::Relaxed), before + 1);
    }

    #[test]
    fn sessions_are_bounded_per_identity() {
        let sessions = SessionCache::new();
        for n in 0..SERVER_NAMES.get() + 1 {
            sessions.put(n.to_string(), n);
        }
        assert_eq!(sessions.get(&"0".to_string()), None);
        assert_eq!(sessions.get(&"1".to_string()), Some(1));
    }
}
