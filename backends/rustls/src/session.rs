//! Resumption state owned by one context.
//!
//! Resumption is stateful only: TLS 1.2 session ids and TLS 1.3 tickets are both keys into
//! [`SessionStore`], and no ticket key ever exists. That keeps the one place where a session
//! can come back to life under our control, so `session_timeout` is enforced there and a new
//! context (new store) cannot resume anything an old one issued.
//!
//! Misses are counted where rustls looks a session up: a lookup that finds nothing, or
//! finds an expired session, is a client offering something we cannot resume. A session
//! that is found but that rustls then declines (the client now offers a different suite or
//! server name) is counted neither as a hit nor as a miss.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::server::{ServerSessionMemoryCache, StoresServerSessions};
use tlsql_tls_api::resumption::Counters;

/// How many sessions a context remembers. Each TLS 1.3 connection stores one entry per ticket
/// it was sent (two), so this covers a couple of thousand recent connections; the oldest
/// entries are dropped first.
const CACHE_ENTRIES: usize = 4096;

/// Session storage that forgets sessions older than the timeout.
///
/// rustls' memory cache is bounded by count but not by age, so every stored value is
/// prefixed with its creation time (milliseconds since the store was made, big-endian u64)
/// and refused on lookup once it is older than `timeout`.
#[derive(Debug)]
pub(crate) struct SessionStore {
    /// `None` when resumption is off: nothing is stored, every offer is a miss.
    cache: Option<Arc<ServerSessionMemoryCache>>,
    timeout: Duration,
    epoch: Instant,
    counters: Arc<Counters>,
}

impl SessionStore {
    /// A store that keeps sessions for `timeout`.
    pub(crate) fn new(timeout: Duration, counters: Arc<Counters>) -> Self {
        Self {
            cache: Some(ServerSessionMemoryCache::new(CACHE_ENTRIES)),
            timeout,
            epoch: Instant::now(),
            counters,
        }
    }

    /// A store that keeps nothing but still counts what clients offer.
    pub(crate) fn disabled(counters: Arc<Counters>) -> Self {
        Self {
            cache: None,
            timeout: Duration::ZERO,
            epoch: Instant::now(),
            counters,
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn lookup(&self, key: &[u8], remove: bool) -> Option<Vec<u8>> {
        let fresh = self.cache.as_ref().and_then(|cache| {
            let stamped = if remove {
                cache.take(key)
            } else {
                cache.get(key)
            }?;
            let fresh = self.unstamp(&stamped);
            if fresh.is_none() && !remove {
                // An expired entry would only be refused again: free its slot.
                cache.take(key);
            }
            fresh
        });
        if fresh.is_none() {
            self.counters.miss();
        }
        fresh
    }

    fn unstamp(&self, stamped: &[u8]) -> Option<Vec<u8>> {
        let (stamp, value) = stamped.split_first_chunk::<8>()?;
        let age = self.now_ms().saturating_sub(u64::from_be_bytes(*stamp));
        (Duration::from_millis(age) <= self.timeout).then(|| value.to_vec())
    }
}

impl StoresServerSessions for SessionStore {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        let Some(cache) = &self.cache else {
            return false;
        };
        let mut stamped = Vec::with_capacity(8 + value.len());
        stamped.extend_from_slice(&self.now_ms().to_be_bytes());
        stamped.extend_from_slice(&value);
        cache.put(key, stamped)
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.lookup(key, false)
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.lookup(key, true)
    }

    fn can_cache(&self) -> bool {
        self.cache.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tlsql_tls_api::SessionStats;

    #[test]
    fn stored_sessions_come_back_once_per_take_and_count_misses() {
        let counters = Arc::new(Counters::default());
        let store = SessionStore::new(Duration::from_secs(300), counters.clone());
        assert!(store.put(b"id".to_vec(), b"secret".to_vec()));
        assert_eq!(store.get(b"id").as_deref(), Some(&b"secret"[..]));
        assert_eq!(store.take(b"id").as_deref(), Some(&b"secret"[..]));
        assert_eq!(store.take(b"id"), None);
        assert_eq!(store.get(b"other"), None);
        assert_eq!(counters.snapshot(), SessionStats { hits: 0, misses: 2 });
    }

    #[test]
    fn zero_timeout_refuses_once_a_millisecond_has_passed() {
        let counters = Arc::new(Counters::default());
        let store = SessionStore::new(Duration::ZERO, counters.clone());
        assert!(store.put(b"id".to_vec(), b"secret".to_vec()));
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(store.get(b"id"), None);
        assert_eq!(counters.snapshot().misses, 1);
    }

    #[test]
    fn disabled_store_keeps_nothing() {
        let counters = Arc::new(Counters::default());
        let store = SessionStore::disabled(counters.clone());
        assert!(!store.can_cache());
        assert!(!store.put(b"id".to_vec(), b"secret".to_vec()));
        assert_eq!(store.take(b"id"), None);
        assert_eq!(counters.snapshot().misses, 1);
    }
}
