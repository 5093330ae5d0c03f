//! The fast path of `caching_sha2_password`: per account, the SHA256(SHA256(pw)) a successful
//! full authentication proved, against which later logins' scrambles are checked without the
//! cleartext password (see [`super::caching_sha2`]).

use std::collections::HashMap;
use std::sync::RwLock;

use super::account::{Account, AccountKey};
use super::caching_sha2::{DIGEST_LEN, fast_digest, verify_password, verify_scramble};
use super::scramble::Nonce;

/// Whether a first response means "no password": an empty packet or a single 0x00.
fn is_empty_response(response: &[u8]) -> bool {
    response.is_empty() || response == [0]
}

/// What to do after the client's first `caching_sha2_password` response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FastAuthOutcome {
    /// No password given and the account has none: send OK.
    EmptyPassword,
    /// The cache verified the response: send AuthMoreData `01 03`, then OK.
    CacheHit,
    /// Unknown to the cache (or not matching it): send `01 04` and do the full authentication.
    FullAuthRequired,
    /// The response cannot succeed (no password for an account that has one, a password for
    /// an account without one, or a malformed response): 1045.
    Denied,
}

/// One cache entry: the digest, and the stored form it was verified against (so an entry
/// filled by a login that raced a password change never validates the new password's
/// account state).
struct Entry {
    auth_string: String,
    digest: [u8; DIGEST_LEN],
}

/// Fast-authentication cache: account → SHA256(SHA256(pw)), filled by successful full
/// authentications. [`super::accounts::AccountStore`] owns one and invalidates an account's
/// entry when its password or plugin changes, when it is renamed or dropped, and clears it all
/// on `FLUSH PRIVILEGES`, as MySQL's `sha2_cache_cleaner` does.
#[derive(Default)]
pub struct FastAuthCache {
    entries: RwLock<HashMap<AccountKey, Entry>>,
}

impl FastAuthCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decides what to do with the client's first response for `account`.
    pub fn fast_auth(&self, account: &Account, nonce: &Nonce, response: &[u8]) -> FastAuthOutcome {
        if is_empty_response(response) {
            return if account.auth_string.is_empty() {
                FastAuthOutcome::EmptyPassword
            } else {
                FastAuthOutcome::Denied
            };
        }
        if account.auth_string.is_empty() || response.len() != DIGEST_LEN {
            return FastAuthOutcome::Denied;
        }
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        match entries.get(&account.key()) {
            Some(entry)
                if entry.auth_string == account.auth_string
                    && verify_scramble(&entry.digest, nonce, response) =>
            {
                FastAuthOutcome::CacheHit
            }
            _ => FastAuthOutcome::FullAuthRequired,
        }
    }

    /// The full authentication: checks the cleartext `password` against `account`'s stored form
    /// and, on success, caches its digest so later logins take the fast path.
    pub fn full_auth(&self, account: &Account, password: &[u8]) -> bool {
        if !verify_password(&account.auth_string, password) {
            return false;
        }
        if !password.is_empty() {
            let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
            entries.insert(
                account.key(),
                Entry {
                    auth_string: account.auth_string.clone(),
                    digest: fast_digest(password),
                },
            );
        }
        true
    }

    /// Forgets one account.
    pub fn invalidate(&self, key: &AccountKey) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.remove(key);
    }

    /// Forgets every account.
    pub fn clear(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.clear();
    }

    /// Whether an entry exists for `key`.
    pub fn contains(&self, key: &AccountKey) -> bool {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries.contains_key(key)
    }
}

impl std::fmt::Debug for FastAuthCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        f.debug_struct("FastAuthCache")
            .field("accounts", &entries.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::caching_sha2::{hash_password, scramble};
    use crate::auth::plugin::Plugin;

    const NONCE: Nonce = [
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
    ];

    fn account(password: &[u8]) -> Account {
        Account::new(
            AccountKey::new("u", "%"),
            Plugin::CachingSha2Password,
            hash_password(password),
        )
    }

    #[test]
    fn cache_is_filled_by_full_auth_only() {
        let cache = FastAuthCache::new();
        let acct = account(b"pw");
        let response = scramble(b"pw", &NONCE);
        assert_eq!(
            cache.fast_auth(&acct, &NONCE, &response),
            FastAuthOutcome::FullAuthRequired
        );
        assert!(!cache.full_auth(&acct, b"wrong"));
        assert!(!cache.contains(&acct.key()));
        assert_eq!(
            cache.fast_auth(&acct, &NONCE, &response),
            FastAuthOutcome::FullAuthRequired
        );
        assert!(cache.full_auth(&acct, b"pw"));
        assert_eq!(
            cache.fast_auth(&acct, &NONCE, &response),
            FastAuthOutcome::CacheHit
        );
        // A wrong scramble with a cached account falls back to full authentication, as MySQL.
        assert_eq!(
            cache.fast_auth(&acct, &NONCE, &scramble(b"other", &NONCE)),
            FastAuthOutcome::FullAuthRequired
        );
    }

    #[test]
    fn cache_entry_never_validates_a_changed_stored_form() {
        let cache = FastAuthCache::new();
        let old = account(b"old");
        assert!(cache.full_auth(&old, b"old"));
        // The password changed but nobody invalidated: the stale entry must not be trusted.
        let new = account(b"new");
        assert_eq!(
            cache.fast_auth(&new, &NONCE, &scramble(b"old", &NONCE)),
            FastAuthOutcome::FullAuthRequired
        );
        cache.invalidate(&old.key());
        assert!(!cache.contains(&old.key()));
        assert!(cache.full_auth(&new, b"new"));
        cache.clear();
        assert!(!cache.contains(&new.key()));
    }

    #[test]
    fn empty_passwords() {
        let cache = FastAuthCache::new();
        let none = account(b"");
        let some = account(b"pw");
        for empty in [&b""[..], &b"\0"[..]] {
            assert_eq!(
                cache.fast_auth(&none, &NONCE, empty),
                FastAuthOutcome::EmptyPassword
            );
            assert_eq!(
                cache.fast_auth(&some, &NONCE, empty),
                FastAuthOutcome::Denied
            );
        }
        assert_eq!(
            cache.fast_auth(&none, &NONCE, &scramble(b"pw", &NONCE)),
            FastAuthOutcome::Denied
        );
        assert_eq!(
            cache.fast_auth(&some, &NONCE, &[1u8; 20]),
            FastAuthOutcome::Denied
        );
        assert!(cache.full_auth(&none, b""));
        assert!(!cache.full_auth(&none, b"pw"));
        assert!(!cache.contains(&none.key()));
    }
}
