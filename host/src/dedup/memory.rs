//! The in-process dedup store: a map of key → expiry, purged as it grows.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Keys with a time to live.
pub struct MemoryStore {
    ttl: Duration,
    entries: HashMap<String, Instant>,
    next_purge: usize,
}

impl MemoryStore {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: HashMap::new(),
            next_purge: 1024,
        }
    }

    pub fn seen(&mut self, keys: &[String]) -> Vec<bool> {
        let now = Instant::now();
        keys.iter()
            .map(|k| self.entries.get(k).is_some_and(|exp| *exp > now))
            .collect()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.entries
            .get(key)
            .is_some_and(|exp| *exp > Instant::now())
    }

    pub fn mark(&mut self, keys: &[String]) {
        let expiry = Instant::now() + self.ttl;
        for k in keys {
            self.entries.entry(k.clone()).or_insert(expiry);
        }
        if self.entries.len() >= self.next_purge {
            let now = Instant::now();
            self.entries.retain(|_, exp| *exp > now);
            self.next_purge = (self.entries.len() * 2).max(1024);
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

    #[test]
    fn entries_expire() {
        let mut m = MemoryStore::new(Duration::from_millis(30));
        m.mark(&["k".to_owned()]);
        assert!(m.contains("k"));
        std::thread::sleep(Duration::from_millis(40));
        assert!(!m.contains("k"));
        assert_eq!(m.seen(&["k".to_owned()]), vec![false]);
    }
}
