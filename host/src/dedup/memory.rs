//! The in-process dedup store: the most recent marks, each kept until its time to
//! live passes or `max_keys` newer marks push it out, whichever comes first.
//!
//! Keys are kept as 128-bit hashes (two independently seeded SipHash-1-3), so a
//! mark costs about 70 bytes whatever the key's length; a false "seen" would need
//! a 128-bit collision. The bound matters: at 25 000 ticks/s a one-hour TTL alone
//! would keep 90 million keys (the soak run grew by 260 MiB per million ticks
//! before it). This store only ever answers for the process that marked the keys
//! (it is the embedded profile's store and Redis's fallback), and a process
//! re-reads at most its uncommitted batches, far fewer than the bound.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::time::Duration;

use crate::clock::{self, Instant};

/// Marks kept by default (about 35 MiB).
pub use crate::config::defaults::MEMORY_MAX_KEYS as DEFAULT_MAX_KEYS;

/// Keys with a time to live, at most `max_keys` of them.
pub struct MemoryStore {
    ttl: Duration,
    max_keys: usize,
    hashers: (RandomState, RandomState),
    entries: HashMap<u128, Instant>,
    /// Marks in the order they were made (their expiries are in order too).
    order: VecDeque<(u128, Instant)>,
}

impl MemoryStore {
    pub fn new(ttl: Duration) -> Self {
        Self::bounded(ttl, DEFAULT_MAX_KEYS)
    }

    /// A store that keeps at most `max_keys` marks (at least one).
    pub fn bounded(ttl: Duration, max_keys: usize) -> Self {
        Self {
            ttl,
            max_keys: max_keys.max(1),
            hashers: (RandomState::new(), RandomState::new()),
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    fn hash(&self, key: &str) -> u128 {
        let a = self.hashers.0.hash_one(key) as u128;
        let b = self.hashers.1.hash_one(key) as u128;
        (a << 64) | b
    }

    pub fn seen<K: AsRef<str>>(&mut self, keys: &[K]) -> Vec<bool> {
        let now = clock::now();
        keys.iter().map(|k| self.live_at(k.as_ref(), now)).collect()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.live_at(key, clock::now())
    }

    fn live_at(&self, key: &str, now: Instant) -> bool {
        self.entries
            .get(&self.hash(key))
            .is_some_and(|exp| *exp > now)
    }

    pub fn mark<K: AsRef<str>>(&mut self, keys: &[K]) {
        let now = clock::now();
        let expiry = now + self.ttl;
        for k in keys {
            let h = self.hash(k.as_ref());
            if let std::collections::hash_map::Entry::Vacant(v) = self.entries.entry(h) {
                v.insert(expiry);
                self.order.push_back((h, expiry));
            }
        }
        // Oldest first: the expired, then whatever exceeds the bound.
        while let Some(&(h, exp)) = self.order.front() {
            if exp > now && self.entries.len() <= self.max_keys {
                break;
            }
            self.order.pop_front();
            if self.entries.get(&h) == Some(&exp) {
                self.entries.remove(&h);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(range: std::ops::Range<usize>) -> Vec<String> {
        range
            .map(|i| format!("alpha-panda:dedup:s:paper:{i}"))
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn entries_expire() {
        let mut m = MemoryStore::new(Duration::from_millis(30));
        m.mark(&["k".to_owned()]);
        assert!(m.contains("k"));
        tokio::time::advance(Duration::from_millis(29)).await;
        assert!(m.contains("k"), "alive until its time to live has passed");
        tokio::time::advance(Duration::from_millis(2)).await;
        assert!(!m.contains("k"));
        assert_eq!(m.seen(&["k".to_owned()]), vec![false]);
    }

    #[test]
    fn the_oldest_marks_make_room_for_new_ones() {
        let mut m = MemoryStore::bounded(Duration::from_secs(3600), 1_000);
        m.mark(&keys(0..600));
        m.mark(&keys(600..1_500));
        assert_eq!(m.len(), 1_000);
        assert!(
            !m.contains("alpha-panda:dedup:s:paper:0"),
            "the oldest went"
        );
        assert!(!m.contains("alpha-panda:dedup:s:paper:499"));
        assert!(
            m.contains("alpha-panda:dedup:s:paper:500"),
            "the newest 1000 stay"
        );
        assert!(m.contains("alpha-panda:dedup:s:paper:1499"));
    }

    #[test]
    fn a_mark_made_twice_is_kept_once() {
        let mut m = MemoryStore::bounded(Duration::from_secs(3600), 10);
        for _ in 0..5 {
            m.mark(&keys(0..3));
        }
        assert_eq!(m.len(), 3);
        assert_eq!(m.order.len(), 3);
        assert_eq!(
            m.seen(&keys(0..4)),
            vec![true, true, true, false],
            "marked keys are seen, others not"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn expired_marks_leave_the_queue_too() {
        let mut m = MemoryStore::bounded(Duration::from_millis(20), 1_000);
        m.mark(&keys(0..100));
        tokio::time::advance(Duration::from_millis(30)).await;
        m.mark(&keys(100..101));
        assert_eq!(m.len(), 1);
        assert_eq!(m.order.len(), 1);
    }
}
