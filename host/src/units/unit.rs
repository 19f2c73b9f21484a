//! One strategy-scoped unit running on this host: its consumer over the
//! partitions of `market.ticks` its strategies read (group `{group}.unit-{k}`,
//! assigned, never subscribed), the task that forwards what it fetches to the
//! host's loop, the merge of its instruments by event time, and what is done
//! per partition.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::consumer::{Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::FutureProducer;
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};
use tokio::sync::mpsc::Sender;

use crate::clock::Instant;
use crate::contract::{decode_tick, EventEnvelope, MarketTick};
use crate::merge::{LaneId, Released, TimeMerge};
use crate::state::unit::Position;
use crate::topics::MARKET_TICKS;

/// What a unit's consumer fetched.
pub enum Fetch {
    Message(OwnedMessage),
    /// The consumer reached the end of this partition's log.
    End(i32),
}

/// A fetch of a unit's consumer: its unit, the unit's generation (a unit
/// restarted discards what its earlier run fetched) and what came.
pub type Fetched = (i32, u64, Fetch);

/// Consumer lag per partition, from librdkafka's statistics.
pub type Lags = Arc<Mutex<BTreeMap<i32, i64>>>;

/// The unit consumer's context: its lag per partition.
pub struct UnitContext {
    lags: Lags,
}

impl ClientContext for UnitContext {
    fn error(&self, error: KafkaError, reason: &str) {
        crate::kafka::reader::log_global_error(&error, reason);
    }

    fn stats(&self, statistics: rdkafka::Statistics) {
        let Ok(mut lags) = self.lags.lock() else {
            return;
        };
        for t in statistics.topics.values() {
            for (p, s) in &t.partitions {
                if *p >= 0 && s.consumer_lag >= 0 {
                    lags.insert(*p, s.consumer_lag);
                }
            }
        }
    }
}

impl ConsumerContext for UnitContext {}

/// A tick buffered in the merge: the message (kept for the DLQ) and its tick.
pub struct Buffered {
    pub msg: OwnedMessage,
    pub env: EventEnvelope<MarketTick>,
}

/// Where a partition starts when the unit has no committed offset for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fresh {
    /// A unit that never committed reads its partitions from the start.
    Beginning,
    /// A partition added to a running unit starts at the log's end.
    End,
}

/// A unit running on this host.
pub struct Unit {
    pub k: i32,
    pub generation: u64,
    consumer: Arc<StreamConsumer<UnitContext>>,
    forward: tokio::task::JoinHandle<()>,
    merge: TimeMerge<Buffered>,
    /// Per partition, what is done: from the commit it started at, moved by
    /// every tick released.
    done: BTreeMap<i32, Position>,
    /// Per partition, the offset after the last message fetched.
    fetched: BTreeMap<i32, i64>,
    /// Exactly-once: the unit's transactional producer.
    pub producer: Option<FutureProducer>,
    pub lags: Lags,
    /// When its strategies' state was last written.
    pub last_state: Instant,
    /// Ticks released but not yet committed are in flight: nothing more is
    /// released until they are.
    pub busy: bool,
    /// `merge.expired_waits` already counted in the metrics.
    pub waits_counted: u64,
}

/// Where unit `k` starts: the lanes it merges, the positions committed (a
/// partition without one starts as `fresh` says), the merge's wait.
pub struct Start {
    pub lanes: BTreeSet<LaneId>,
    pub committed: BTreeMap<i32, Position>,
    pub fresh: Fresh,
    pub align_wait: Duration,
}

impl Unit {
    /// Starts unit `k` as `start` says, its fetches forwarded to `tx`.
    pub fn start(
        (k, generation): (i32, u64),
        settings: &ClientConfig,
        start: Start,
        producer: Option<FutureProducer>,
        tx: Sender<Fetched>,
        now: Instant,
    ) -> Result<Self, rdkafka::error::KafkaError> {
        let lags = Lags::default();
        // The end of a partition's log tells the merge that nothing is on its way.
        let consumer: StreamConsumer<UnitContext> = settings
            .clone()
            .set("enable.partition.eof", "true")
            .create_with_context(UnitContext { lags: lags.clone() })?;
        let merge = TimeMerge::new(start.lanes, start.align_wait);
        let mut done = start.committed;
        done.retain(|p, _| merge.partitions().any(|q| q == *p));
        let mut tpl = TopicPartitionList::new();
        for p in merge.partitions() {
            let at = done.get(&p).map(|c| c.offset);
            tpl.add_partition_offset(MARKET_TICKS, p, start_offset(at, start.fresh))?;
        }
        consumer.assign(&tpl)?;
        let consumer = Arc::new(consumer);
        let forward = tokio::spawn(forward(k, generation, consumer.clone(), tx));
        Ok(Self {
            k,
            generation,
            consumer,
            forward,
            merge,
            done,
            fetched: BTreeMap::new(),
            producer,
            lags,
            last_state: now,
            busy: false,
            waits_counted: 0,
        })
    }

    pub fn consumer(&self) -> &StreamConsumer<UnitContext> {
        &self.consumer
    }

    /// The unit's consumer, shared (for a commit off the pipeline).
    pub fn shared_consumer(&self) -> Arc<StreamConsumer<UnitContext>> {
        Arc::clone(&self.consumer)
    }

    /// The partitions the unit reads.
    pub fn partitions(&self) -> BTreeSet<i32> {
        self.merge.partitions().collect()
    }

    /// Merges exactly `lanes` from now on: a partition new to the unit is read
    /// from the log's end (its instruments' ticks from now on), one no lane
    /// needs any more is no longer read.
    pub fn set_lanes(&mut self, lanes: &BTreeSet<LaneId>) -> Result<(), KafkaError> {
        let before = self.partitions();
        let have: BTreeSet<LaneId> = self.merge.lanes().collect();
        for lane in have.difference(lanes) {
            self.merge.remove(*lane);
        }
        for lane in lanes.difference(&have) {
            self.merge.add(*lane);
        }
        let after = self.partitions();
        let mut added = TopicPartitionList::new();
        for p in after.difference(&before) {
            added.add_partition_offset(MARKET_TICKS, *p, Offset::End)?;
        }
        let mut removed = TopicPartitionList::new();
        for p in before.difference(&after) {
            removed.add_partition(MARKET_TICKS, *p);
            self.done.remove(p);
            self.fetched.remove(p);
        }
        if added.count() > 0 {
            self.consumer.incremental_assign(&added)?;
        }
        if removed.count() > 0 {
            self.consumer.incremental_unassign(&removed)?;
        }
        Ok(())
    }

    /// Buffers a fetched message. One that is not a tick is skipped (the
    /// partition pipeline sends it to the DLQ), and so is a tick done before the
    /// unit started here or of an instrument no lane merges.
    pub fn push(&mut self, fetch: Fetch, now: Instant) {
        let msg = match fetch {
            Fetch::Message(m) => m,
            Fetch::End(p) => {
                tracing::trace!(unit = self.k, partition = p, "end of partition");
                return self.merge.caught_up(p);
            }
        };
        let (p, offset) = (msg.partition(), msg.offset());
        tracing::trace!(unit = self.k, partition = p, offset, "fetched");
        self.merge.saw(p);
        self.fetched.insert(p, offset + 1);
        let Some(Ok(env)) = msg.payload().map(decode_tick) else {
            return;
        };
        let token = env.data.instrument_token;
        if self.done.get(&p).is_some_and(|d| d.covers(offset, token)) {
            return;
        }
        let ts = env.data.timestamp.to_unix_micros();
        self.merge
            .push((p, token), offset, ts, Buffered { msg, env }, now);
    }

    /// Up to `max` ticks in merge order that may go at `now`; they count as
    /// done.
    pub fn release(&mut self, max: usize, now: Instant) -> Vec<Released<Buffered>> {
        let mut out = Vec::new();
        while out.len() < max {
            let Some(r) = self.merge.pop(now) else { break };
            tracing::trace!(
                unit = self.k,
                partition = r.partition,
                offset = r.offset,
                ts = r.timestamp_us,
                "released"
            );
            self.done
                .entry(r.partition)
                .or_default()
                .done
                .insert(r.instrument, r.offset);
            out.push(r);
        }
        out
    }

    /// When a held tick may go (for the loop's timer).
    pub fn deadline(&self) -> Option<Instant> {
        self.merge.deadline()
    }

    pub fn expired_waits(&self) -> u64 {
        self.merge.expired_waits
    }

    /// Per partition, what is done: below the lowest offset fetched but not
    /// released, everything; above it, per instrument, up to its last release.
    /// A partition nothing was fetched of keeps the position it started at (none
    /// when it started fresh).
    pub fn positions(&mut self) -> BTreeMap<i32, Position> {
        for (&p, &next) in &self.fetched {
            let offset = self.merge.lowest_buffered(p).unwrap_or(next).min(next);
            let d = self.done.entry(p).or_default();
            d.offset = d.offset.max(offset);
            let below = d.offset;
            d.done.retain(|_, o| *o >= below);
        }
        self.done.clone()
    }

    /// The unit's positions as a list for a commit: offsets, with what is done
    /// above them in the metadata.
    pub fn offsets(&mut self) -> Result<TopicPartitionList, KafkaError> {
        let mut tpl = TopicPartitionList::new();
        for (p, pos) in self.positions() {
            let mut e = tpl.add_partition(MARKET_TICKS, p);
            e.set_offset(Offset::Offset(pos.offset))?;
            e.set_metadata(pos.metadata());
        }
        Ok(tpl)
    }
}

impl Drop for Unit {
    fn drop(&mut self) {
        self.forward.abort();
    }
}

fn start_offset(start: Option<i64>, fresh: Fresh) -> Offset {
    match (start, fresh) {
        (Some(o), _) => Offset::Offset(o),
        (None, Fresh::Beginning) => Offset::Beginning,
        (None, Fresh::End) => Offset::End,
    }
}

/// Forwards what the consumer fetches; waits when the loop is behind.
async fn forward(
    k: i32,
    generation: u64,
    consumer: Arc<StreamConsumer<UnitContext>>,
    tx: Sender<Fetched>,
) {
    loop {
        let fetch = match consumer.recv().await {
            Ok(m) => Fetch::Message(m.detach()),
            Err(KafkaError::PartitionEOF(p)) => Fetch::End(p),
            Err(e) => {
                tracing::warn!(unit = k, error = %e, "unit consume error");
                continue;
            }
        };
        if tx.send((k, generation, fetch)).await.is_err() {
            return;
        }
    }
}
