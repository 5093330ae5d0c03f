//! SELECTs parsed from query texts that sessions send again and again: a pool's `SELECT 1`
//! check, a driver's session set-up (`SELECT @@version_comment LIMIT 1`,
//! `SELECT @@max_allowed_packet`). sqlparser takes about 20k instructions to parse
//! `SELECT 1`, a sixth of a whole plain connection with login. A kept SELECT is shared, not
//! copied: storage keeps its SQLite form beside it (see [`crate::storage::SharedQuery`]).
//!
//! Parsing depends on the text alone (no session state), so a text parses the same for every
//! session. Only SELECTs are kept: they are what repeats, and they hold no secrets, where an
//! account statement's password would otherwise stay in memory. A text is kept the second
//! time it is seen, so texts that never repeat (values written into the text) cost one hash
//! each and fill nothing.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};

use sqlparser::ast;

use super::Statement;
use crate::storage::SharedQuery;

/// Longer texts are not kept: they seldom repeat, and each entry holds its text.
const MAX_TEXT_BYTES: usize = 512;

/// Entries kept; when full, the cache starts again empty rather than tracking what is used.
const MAX_ENTRIES: usize = 1024;

/// Texts seen once that are remembered (as hashes) until they are seen again.
const MAX_SEEN: usize = 8 * MAX_ENTRIES;

/// Parsed SELECTs by their text, shared by the instance's sessions.
#[derive(Default)]
pub struct ParseCache {
    hasher: RandomState,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    parsed: HashMap<Box<str>, Statement>,
    seen_once: HashSet<u64>,
}

impl ParseCache {
    /// The statement `text` parsed to before, if it is kept.
    pub fn get(&self, text: &str) -> Option<Statement> {
        if text.len() > MAX_TEXT_BYTES {
            return None;
        }
        self.lock().parsed.get(text).cloned()
    }

    /// Offers what `text` parsed to: a SELECT is kept the second time its text is offered,
    /// as a [`Statement::Shared`].
    pub fn offer(&self, text: &str, statement: &Statement) {
        let Statement::Storage(select) = statement else {
            return;
        };
        if !matches!(**select, ast::Statement::Query(_)) || text.len() > MAX_TEXT_BYTES {
            return;
        }
        let hash = self.hasher.hash_one(text);
        let mut inner = self.lock();
        if inner.seen_once.insert(hash) {
            if inner.seen_once.len() > MAX_SEEN {
                inner.seen_once.clear();
            }
            return;
        }
        if inner.parsed.len() >= MAX_ENTRIES {
            inner.parsed.clear();
        }
        let shared = SharedQuery::new(ast::Statement::clone(select));
        inner
            .parsed
            .insert(text.into(), Statement::Shared(Arc::new(shared)));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The map is consistent after any panic (an insert either happened or not).
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::split_statements;

    fn parse(text: &str) -> Statement {
        Statement::parse(&split_statements(text).unwrap()[0]).unwrap()
    }

    #[test]
    fn a_select_is_kept_the_second_time_and_parses_the_same() {
        let cache = ParseCache::default();
        let text = "SELECT 1, @@version_comment";
        cache.offer(text, &parse(text));
        assert!(cache.get(text).is_none(), "kept after one sighting");
        cache.offer(text, &parse(text));
        let Some(Statement::Shared(kept)) = cache.get(text) else {
            panic!("not kept as shared after two sightings");
        };
        let Statement::Storage(fresh) = parse(text) else {
            panic!("{text} is not for storage");
        };
        assert_eq!(kept.statement(), &*fresh);
        assert!(cache.get("SELECT 2").is_none());
    }

    #[test]
    fn statements_other_than_select_and_long_texts_are_never_kept() {
        let cache = ParseCache::default();
        let long = format!("SELECT '{}'", "x".repeat(MAX_TEXT_BYTES));
        for text in [
            "CREATE USER 'u'@'%' IDENTIFIED BY 'secret'",
            "SET @a = 1",
            "INSERT INTO t VALUES (1)",
            long.as_str(),
        ] {
            let statement = parse(text);
            cache.offer(text, &statement);
            cache.offer(text, &statement);
            assert!(cache.get(text).is_none(), "{text}");
        }
    }

    #[test]
    fn a_full_cache_starts_again() {
        let cache = ParseCache::default();
        for i in 0..=MAX_ENTRIES {
            let text = format!("SELECT {i}");
            let statement = parse(&text);
            cache.offer(&text, &statement);
            cache.offer(&text, &statement);
        }
        assert!(cache.get("SELECT 0").is_none());
        assert!(cache.get(&format!("SELECT {MAX_ENTRIES}")).is_some());
        assert_eq!(cache.lock().parsed.len(), 1);
    }
}
