//! The in-process dedup store: the most recent marks, each kept until its time to
//! live passes or `max_keys` newer marks push it out, whichever comes first.
//!
//! Keys are kept as 128-bit fingerprints (one SipHash-1-3-128 pass with a key drawn
//! per store), so a mark costs about 70 bytes whatever the key's length; a false
//! "seen" would need a 128-bit collision. The map indexes the fingerprints by their
//! own bits: they are already keyed hashes, so hashing them again (as a default
//! `HashMap` would) adds a SipHash pass per lookup for nothing. The bound matters: at 25 000 ticks/s a one-hour TTL alone
//! would keep 90 million keys (the soak run grew by 260 MiB per million ticks
//! before it). This store only ever answers for the process that marked the keys
//! (it is the embedded profile's store and Redis's fallback), and a process
//! re-reads at most its uncommitted batches, far fewer than the bound.

use std::collections::hash_map::Entry;
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::time::Duration;

use siphasher::sip128::{Hasher128, SipHasher13};

use crate::clock::{self, Instant};

/// Marks kept by default (about 35 MiB).
pub use crate::config::defaults::MEMORY_MAX_KEYS as DEFAULT_MAX_KEYS;

/// Keys with a time to live, at most `max_keys` of them.
pub struct MemoryStore {
    ttl: Duration,
    max_keys: usize,
    /// The SipHash key of this store's fingerprints.
    keys: (u64, u64),
    entries: HashMap<u128, Instant, BuildHasherDefault<Fingerprint>>,
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
            keys: (random_u64(), random_u64()),
            entries: HashMap::default(),
            order: VecDeque::new(),
        }
    }

    fn hash(&self, key: &str) -> u128 {
        let mut h = SipHasher13::new_with_keys(self.keys.0, self.keys.1);
        h.write(key.as_bytes());
        h.finish128().as_u128()
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
            match self.entries.entry(h) {
                Entry::Vacant(v) => {
                    v.insert(expiry);
                }
                // Expired but not pushed out yet: marked anew, for a whole TTL.
                // Its old place in the queue no longer removes it (the expiries
                // differ).
                Entry::Occupied(mut o) if *o.get() <= now => {
                    o.insert(expiry);
                }
                Entry::Occupied(_) => continue,
            }
            self.order.push_back((h, expiry));
        }
        // Oldest first: the expired, then whatever exceeds the bound.
        while let Some(&(h, exp)) = self.order.front() {
            if exp > now && self.entries.len() <= self.max_keys {
                break;
            }
            self.order.pop_front();
            // One lookup: at the bound every new mark evicts one, and each
            // probe of a map this size is a cache miss.
            if let Entry::Occupied(o) = self.entries.entry(h) {
                if *o.get() == exp {
                    o.remove();
                }
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

/// 64 random bits: std's per-process random hash keys, drawn from the OS.
fn random_u64() -> u64 {
    RandomState::new().hash_one(0u8)
}

/// The map's hasher for fingerprints, which are keyed hashes already: their low
/// 64 bits are the hash.
#[derive(Default)]
struct Fingerprint(u64);

impl Hasher for Fingerprint {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write_u128(&mut self, i: u128) {
        self.0 = i as u64;
    }
    /// Not reached for `u128` keys; folds bytes in should a key type call it.
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
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

    #[test]
    fn each_store_fingerprints_with_its_own_key() {
        let (a, b) = (
            MemoryStore::new(Duration::from_secs(1)),
            MemoryStore::new(Duration::from_secs(1)),
        );
        assert_ne!(a.keys, b.keys, "each store draws its own SipHash key");
        assert_ne!(a.hash("k"), b.hash("k"));
        assert_eq!(a.hash("k"), a.hash("k"));
        assert_ne!(a.hash("k"), a.hash("k2"));
    }

    #[test]
    fn the_map_hashes_a_fingerprint_to_its_low_bits() {
        let h = BuildHasherDefault::<Fingerprint>::default();
        assert_eq!(
            h.hash_one(0xdead_beef_0000_0000_0000_0000_1234_5678u128),
            0x1234_5678
        );
        let mut bytes = Fingerprint::default();
        bytes.write(&[1, 2]);
        assert_eq!(bytes.finish(), 0x0102);
    }

    #[tokio::test(start_paused = true)]
    async fn a_key_marked_again_after_it_expired_lives_a_whole_ttl_more() {
        let mut m = MemoryStore::bounded(Duration::from_millis(20), 1_000);
        m.mark(&keys(0..1));
        tokio::time::advance(Duration::from_millis(25)).await;
        assert!(!m.contains("alpha-panda:dedup:s:paper:0"), "expired");
        // Marked again before anything pushed the expired mark out.
        m.mark(&keys(0..1));
        assert!(m.contains("alpha-panda:dedup:s:paper:0"), "marked anew");
        tokio::time::advance(Duration::from_millis(10)).await;
        m.mark(&keys(1..2));
        assert!(
            m.contains("alpha-panda:dedup:s:paper:0"),
            "its old place in the queue did not take the new mark with it"
        );
        assert_eq!((m.len(), m.order.len()), (2, 2));
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
