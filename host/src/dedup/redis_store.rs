//! The Redis dedup store: pipelined `EXISTS` and `SET key 1 NX EX ttl` per batch.
//! While Redis is unreachable an in-process store answers (and remembers what it
//! marked, so nothing marked during the outage is forgotten when Redis returns).

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::memory::MemoryStore;
use crate::clock::Instant;

const TIMEOUT: Duration = Duration::from_millis(500);
const RETRY_EVERY: Duration = Duration::from_secs(1);

pub struct RedisStore {
    client: redis::Client,
    conn: Option<ConnectionManager>,
    ttl: Duration,
    fallback: MemoryStore,
    down_until: Option<Instant>,
    fallbacks: u64,
}

impl RedisStore {
    pub fn new(
        url: &str,
        ttl: Duration,
        memory_max_keys: usize,
    ) -> Result<Self, redis::RedisError> {
        Ok(Self {
            client: redis::Client::open(url)?,
            conn: None,
            ttl,
            fallback: MemoryStore::bounded(ttl, memory_max_keys),
            down_until: None,
            fallbacks: 0,
        })
    }

    pub fn fallbacks(&self) -> u64 {
        self.fallbacks
    }

    /// A connection, unless Redis failed less than a second ago.
    async fn connection(&mut self) -> Option<ConnectionManager> {
        if self.down_until.is_some_and(|t| crate::clock::now() < t) {
            return None;
        }
        if let Some(c) = &self.conn {
            return Some(c.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1);
        match tokio::time::timeout(
            TIMEOUT * 2,
            self.client.get_connection_manager_with_config(config),
        )
        .await
        {
            Ok(Ok(c)) => {
                if self.down_until.take().is_some() {
                    tracing::info!("redis reachable again: dedup back on redis");
                }
                self.conn = Some(c.clone());
                Some(c)
            }
            Ok(Err(e)) => {
                self.went_down(&e.to_string());
                None
            }
            Err(_) => {
                self.went_down("connect timed out");
                None
            }
        }
    }

    fn went_down(&mut self, why: &str) {
        if self.down_until.is_none() {
            tracing::warn!(
                error = why,
                "redis unreachable: dedup falls back to the in-process store"
            );
        }
        self.fallbacks += 1;
        self.conn = None;
        self.down_until = Some(crate::clock::now() + RETRY_EVERY);
    }

    pub async fn seen(&mut self, keys: &[String]) -> Vec<bool> {
        let local = self.fallback.seen(keys);
        let Some(mut conn) = self.connection().await else {
            return local;
        };
        let mut pipe = redis::pipe();
        for k in keys {
            pipe.cmd("EXISTS").arg(k);
        }
        match tokio::time::timeout(TIMEOUT * 2, pipe.query_async::<Vec<bool>>(&mut conn)).await {
            Ok(Ok(remote)) => remote.iter().zip(local).map(|(r, l)| *r || l).collect(),
            Ok(Err(e)) => {
                self.went_down(&e.to_string());
                local
            }
            Err(_) => {
                self.went_down("EXISTS timed out");
                local
            }
        }
    }

    pub async fn mark(&mut self, keys: &[String]) {
        let Some(mut conn) = self.connection().await else {
            self.fallback.mark(keys);
            return;
        };
        let mut pipe = redis::pipe();
        let ttl = self.ttl.as_secs().max(1);
        for k in keys {
            pipe.cmd("SET")
                .arg(k)
                .arg(1)
                .arg("NX")
                .arg("EX")
                .arg(ttl)
                .ignore();
        }
        match tokio::time::timeout(TIMEOUT * 2, pipe.query_async::<()>(&mut conn)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                self.went_down(&e.to_string());
                self.fallback.mark(keys);
            }
            Err(_) => {
                self.went_down("SET timed out");
                self.fallback.mark(keys);
            }
        }
    }
}
