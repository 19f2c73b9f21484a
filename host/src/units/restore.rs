//! What a host reads when it gains a strategy-scoped unit, off the tick path
//! (blocking: run it on `spawn_blocking`): the unit's committed offsets (group
//! `{group}.unit-{k}`), the newest state record of each of its strategies, and
//! the ticks from each record's positions up to the committed ones, in merge
//! order, to replay with outputs suppressed. Exactly-once it also readies the
//! unit's transactional producer, which fences the unit's previous owner.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::clock;
use crate::contract::{decode_tick, EventEnvelope, MarketTick};
use crate::merge::{LaneId, TimeMerge};
use crate::state::store::{PartitionReader, StoreError};
use crate::state::unit::{Position, UnitRecord};
use crate::topics::MARKET_TICKS;

type Tick = EventEnvelope<MarketTick>;

/// Why a unit could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What to read for unit `unit`.
pub struct RestoreRequest {
    pub unit: i32,
    /// Consumer settings of the unit's group (`{group}.unit-{k}`).
    pub settings: ClientConfig,
    /// The namespace's group, whose records the state topic holds.
    pub group: String,
    pub state_topic: String,
    /// Read state records (false: `state.every_ms = 0`).
    pub with_state: bool,
    /// The partitions of `market.ticks` the unit's strategies read.
    pub partitions: Vec<i32>,
    pub timeout: Duration,
    /// Exactly-once: the unit's transactional producer's settings.
    pub producer: Option<ClientConfig>,
}

/// What was read.
pub struct Restored {
    pub unit: i32,
    /// The unit's committed position per partition (absent: none committed).
    pub committed: BTreeMap<i32, Position>,
    /// The newest record per strategy.
    pub records: Vec<UnitRecord>,
    /// Ticks from the lowest record position to the committed one per
    /// partition, in merge order: `(partition, offset, tick)`.
    pub ticks: Vec<(i32, i64, Tick)>,
    /// Exactly-once: the unit's producer, transactions initialised.
    pub producer: Option<FutureProducer>,
}

/// Reads everything a gained unit needs (blocking).
pub fn read(req: RestoreRequest) -> Result<Restored, RestoreError> {
    let producer = match &req.producer {
        Some(settings) => {
            let p: FutureProducer = settings.create()?;
            p.init_transactions(req.timeout)?;
            Some(p)
        }
        None => None,
    };
    let committed = committed_offsets(&req)?;
    let reader = PartitionReader::new(req.settings.clone(), req.timeout)?;
    let records = if req.with_state {
        reader.unit_states(&req.state_topic, req.unit, &req.group)?
    } else {
        Vec::new()
    };
    let mut ticks = Vec::new();
    for &p in &req.partitions {
        let Some(to) = committed.get(&p).map(Position::end) else {
            continue;
        };
        let from = records
            .iter()
            .filter_map(|r| r.positions.get(&p))
            .map(|pos| pos.offset)
            .min();
        let Some(from) = from.filter(|f| *f < to) else {
            continue;
        };
        let range = reader.range(MARKET_TICKS, p, from, to)?;
        if range.first > from {
            tracing::warn!(
                unit = req.unit,
                partition = p,
                from,
                first = range.first,
                "ticks to replay were removed by retention; the state restored misses them"
            );
        }
        for (offset, bytes) in range.messages {
            // Poison was answered by the partition pipeline's DLQ; nothing to replay.
            if let Ok(env) = decode_tick(&bytes) {
                ticks.push((p, offset, env));
            }
        }
    }
    let ticks = merge_order(ticks);
    Ok(Restored {
        unit: req.unit,
        committed,
        records,
        ticks,
        producer,
    })
}

/// Ticks read partition by partition, in the order a unit's merge releases them
/// when nothing is missing: per instrument in offset order, across instruments
/// by `(timestamp, partition, offset)`.
fn merge_order(ticks: Vec<(i32, i64, Tick)>) -> Vec<(i32, i64, Tick)> {
    let lane = |p: i32, env: &Tick| (p, env.data.instrument_token);
    let lanes: BTreeSet<LaneId> = ticks.iter().map(|(p, _, env)| lane(*p, env)).collect();
    let mut merge = TimeMerge::new(lanes, Duration::ZERO);
    let partitions: BTreeSet<i32> = merge.partitions().collect();
    for p in partitions {
        merge.caught_up(p);
    }
    let now = clock::now();
    for (p, offset, env) in ticks {
        let ts = env.data.timestamp.to_unix_micros();
        merge.push(lane(p, &env), offset, ts, env, now);
    }
    std::iter::from_fn(|| merge.pop(now))
        .map(|r| (r.partition, r.offset, r.item))
        .collect()
}

fn committed_offsets(req: &RestoreRequest) -> Result<BTreeMap<i32, Position>, RestoreError> {
    let mut out = BTreeMap::new();
    if req.partitions.is_empty() {
        return Ok(out);
    }
    let consumer: BaseConsumer = req.settings.create()?;
    let mut tpl = TopicPartitionList::new();
    for &p in &req.partitions {
        tpl.add_partition(MARKET_TICKS, p);
    }
    let committed = consumer.committed_offsets(tpl, req.timeout)?;
    for e in committed.elements() {
        if let Offset::Offset(o) = e.offset() {
            out.insert(e.partition(), Position::from_commit(o, e.metadata()));
        }
    }
    Ok(out)
}
