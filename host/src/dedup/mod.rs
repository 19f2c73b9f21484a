//! Deduplication of input events by id, behind one type with two stores: Redis
//! (`SET NX` with a TTL, pipelined per batch) and an in-process TTL map for the
//! embedded profile. If Redis is unreachable the in-process store takes over (logged,
//! counted) and Redis is tried again every second: consuming never stops.
//!
//! Keys: `{prefix}:{service}:{broker}:{event id}` with the instance's namespace.
pub mod memory;
pub mod redis_store;

use std::time::Duration;

use crate::contract::BrokerNamespace;
pub use memory::MemoryStore;
pub use redis_store::RedisStore;

/// Counters of a dedup store.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DedupStats {
    pub hits: u64,
    pub marks: u64,
    /// Times Redis failed and the in-process store answered instead.
    pub fallbacks: u64,
}

enum Backend {
    Memory(MemoryStore),
    Redis(Box<RedisStore>),
}

/// The dedup store of one host instance.
pub struct Dedup {
    prefix: String,
    backend: Backend,
    stats: DedupStats,
}

impl Dedup {
    /// The in-process store.
    pub fn in_memory(
        key_prefix: &str,
        service: &str,
        broker: BrokerNamespace,
        ttl: Duration,
    ) -> Self {
        Self {
            prefix: key_base(key_prefix, service, broker),
            backend: Backend::Memory(MemoryStore::new(ttl)),
            stats: DedupStats::default(),
        }
    }

    /// Redis at `url`, with the in-process store as fallback.
    pub fn redis(
        url: &str,
        key_prefix: &str,
        service: &str,
        broker: BrokerNamespace,
        ttl: Duration,
        memory_max_keys: usize,
    ) -> Result<Self, redis::RedisError> {
        Ok(Self {
            prefix: key_base(key_prefix, service, broker),
            backend: Backend::Redis(Box::new(RedisStore::new(url, ttl, memory_max_keys)?)),
            stats: DedupStats::default(),
        })
    }

    /// From the `[redis]` configuration.
    pub fn from_config(c: &crate::config::Config) -> Result<Self, redis::RedisError> {
        let ttl = Duration::from_secs(c.redis.dedup_ttl_secs.max(1));
        let max_keys = c.redis.memory_max_keys;
        if c.redis.url.is_empty() {
            Ok(Self {
                prefix: key_base(&c.redis.key_prefix, &c.service, c.broker),
                backend: Backend::Memory(MemoryStore::bounded(ttl, max_keys)),
                stats: DedupStats::default(),
            })
        } else {
            Self::redis(
                &c.redis.url,
                &c.redis.key_prefix,
                &c.service,
                c.broker,
                ttl,
                max_keys,
            )
        }
    }

    /// The key of an event id.
    pub fn key(&self, event_id: &str) -> String {
        key_of(&self.prefix, event_id)
    }

    pub fn stats(&self) -> DedupStats {
        let mut s = self.stats;
        if let Backend::Redis(r) = &self.backend {
            s.fallbacks = r.fallbacks();
        }
        s
    }

    /// For each id: was it already processed?
    pub async fn seen(&mut self, ids: &[&str]) -> Vec<bool> {
        // Nothing to ask (a batch of held or poison messages): no empty request.
        if ids.is_empty() {
            return Vec::new();
        }
        // The in-process store belongs to this instance alone: the id is its key.
        let seen = match &mut self.backend {
            Backend::Memory(m) => m.seen(ids),
            Backend::Redis(r) => {
                let keys: Vec<String> = ids.iter().map(|id| key_of(&self.prefix, id)).collect();
                r.seen(&keys).await
            }
        };
        self.stats.hits += seen.iter().filter(|s| **s).count() as u64;
        seen
    }

    /// Marks ids processed (call only once their outputs are acknowledged).
    pub async fn mark(&mut self, ids: &[&str]) {
        if ids.is_empty() {
            return;
        }
        self.stats.marks += ids.len() as u64;
        match &mut self.backend {
            Backend::Memory(m) => m.mark(ids),
            Backend::Redis(r) => {
                let keys: Vec<String> = ids.iter().map(|id| key_of(&self.prefix, id)).collect();
                r.mark(&keys).await
            }
        }
    }
}

fn key_of(base: &str, event_id: &str) -> String {
    format!("{base}:{event_id}")
}

fn key_base(prefix: &str, service: &str, broker: BrokerNamespace) -> String {
    format!("{prefix}:{service}:{}", broker.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn key_format_uses_the_namespace() {
        let d = Dedup::in_memory(
            "alpha-panda:dedup",
            "strategy_runner",
            BrokerNamespace::Zerodha,
            Duration::from_secs(60),
        );
        assert_eq!(
            d.key("abc"),
            "alpha-panda:dedup:strategy_runner:zerodha:abc"
        );
    }

    #[tokio::test]
    async fn memory_store_marks_and_sees() {
        let mut d = Dedup::in_memory("p", "s", BrokerNamespace::Paper, Duration::from_secs(60));
        assert_eq!(d.seen(&["a", "b"]).await, vec![false, false]);
        d.mark(&["a"]).await;
        assert_eq!(d.seen(&["a", "b"]).await, vec![true, false]);
        assert_eq!(d.stats().hits, 1);
    }

    /// A batch with nothing to look up (all held or poison) asks Redis nothing:
    /// an empty pipeline is refused by Redis and would count as an outage,
    /// sending dedup to the in-process store, which forgets what Redis knew.
    #[tokio::test]
    async fn an_empty_batch_asks_redis_nothing() {
        let url = std::env::var("ALPHA_PANDA_TEST_REDIS")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into());
        let mut d = Dedup::redis(
            &url,
            "alpha-panda:dedup-unit",
            "s",
            BrokerNamespace::Paper,
            Duration::from_secs(60),
            100,
        )
        .expect("a Redis client");
        assert!(d.seen(&[]).await.is_empty());
        d.mark(&[]).await;
        let id = format!("unit-{}", std::process::id());
        assert_eq!(d.seen(&[&id]).await, vec![false]);
        assert_eq!(
            d.stats().fallbacks,
            0,
            "Redis answered (the test command starts it on 127.0.0.1:6379)"
        );
    }
}
