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

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustls::server::StoresServerSessions;
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
    cache: Option<Mutex<Sessions>>,
    timeout: Duration,
    epoch: Instant,
    counters: Arc<Counters>,
}

impl SessionStore {
    /// A store that keeps sessions for `timeout`.
    pub(crate) fn new(timeout: Duration, counters: Arc<Counters>) -> Self {
        Self {
            cache: Some(Mutex::new(Sessions::default())),
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
            let mut sessions = cache.lock().unwrap_or_else(PoisonError::into_inner);
            let stamped = if remove {
                sessions.map.remove(key)
            } else {
                sessions.map.get(key).cloned()
            }?;
            let fresh = self.unstamp(&stamped);
            if fresh.is_none() && !remove {
                // An expired entry would only be refused again: free its slot.
                sessions.map.remove(key);
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

/// Sessions by key, and the order they were stored in, for dropping the oldest.
///
/// Taking a session removes it from the map only: its key stays in `order` until dropping
/// reaches it or the queue is compacted, so neither storing nor taking searches the queue.
/// (rustls' own memory cache finds a taken key's place in its queue by a linear search: once
/// full, about 4,000 key comparisons under its lock for every resumed connection.)
#[derive(Debug, Default)]
struct Sessions {
    map: HashMap<Vec<u8>, Vec<u8>>,
    order: VecDeque<Vec<u8>>,
}

impl Sessions {
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        if self.map.insert(key.clone(), value).is_none() {
            self.order.push_back(key);
        }
        while self.map.len() > CACHE_ENTRIES {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.map.remove(&oldest);
        }
        // Keys of taken sessions pile up in the queue; once they are half of it, one pass
        // drops them all (amortised over the thousands of stores that added them).
        if self.order.len() > 2 * CACHE_ENTRIES {
            let map = &self.map;
            self.order.retain(|key| map.contains_key(key));
        }
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
        cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .put(key, stamped);
        true
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
    fn the_oldest_sessions_go_first_and_taken_ones_leave_no_trace() {
        let store = SessionStore::new(Duration::from_secs(300), Arc::new(Counters::default()));
        let key = |i: usize| i.to_be_bytes().to_vec();
        for i in 0..CACHE_ENTRIES {
            assert!(store.put(key(i), b"v".to_vec()));
        }
        // Taking half and storing as many again drops nothing still stored...
        for i in (0..CACHE_ENTRIES).step_by(2) {
            assert!(store.take(&key(i)).is_some());
        }
        for i in CACHE_ENTRIES..CACHE_ENTRIES + CACHE_ENTRIES / 2 {
            assert!(store.put(key(i), b"v".to_vec()));
        }
        assert!(store.get(&key(1)).is_some());
        // ...and past the bound the oldest go, in the order they were stored.
        for i in CACHE_ENTRIES + CACHE_ENTRIES / 2..3 * CACHE_ENTRIES {
            assert!(store.put(key(i), b"v".to_vec()));
        }
        let sessions = store.cache.as_ref().unwrap().lock().unwrap();
        assert_eq!(sessions.map.len(), CACHE_ENTRIES);
        assert!(sessions.order.len() <= 2 * CACHE_ENTRIES);
        assert!(!sessions.map.contains_key(&key(2 * CACHE_ENTRIES - 1)));
        assert!(sessions.map.contains_key(&key(2 * CACHE_ENTRIES)));
        assert!(sessions.map.contains_key(&key(3 * CACHE_ENTRIES - 1)));
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
