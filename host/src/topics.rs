//! The topic registry: the single source of every topic name, DLQ name, partition
//! count, retention, key rule and consumer group id. Bootstrap, checks and every
//! service read it; nothing else spells a topic name.

use crate::config::TopicsConfig;
use crate::contract::BrokerNamespace;

/// The shared tick topic, read by every broker namespace.
pub const MARKET_TICKS: &str = "market.ticks";
/// Suffix of every dead-letter topic: `<topic>.dlq`.
pub const DLQ_SUFFIX: &str = ".dlq";

/// The per-namespace topic kinds, in bootstrap order.
const BROKER_TOPICS: [&str; 8] = [
    "signals.raw",
    "signals.validated",
    "signals.rejected",
    "orders.submitted",
    "orders.ack",
    "orders.filled",
    "orders.failed",
    "pnl.snapshots",
];

/// The per-namespace state topic kind (no DLQ: nothing consumes it as a stream).
const STATE_KIND: &str = "strategy.state";

/// How a topic's messages are keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRule {
    /// `"{instrument_token}"`.
    InstrumentToken,
    /// `"{strategy_id}:{instrument_token}"`.
    StrategyInstrument,
    /// Whatever the producing service chose (orders, PnL).
    Producer,
    /// `"{group}:{strategy_id}:{partition}"`, written to the partition of that number.
    StrategyPartition,
    /// The original message's key bytes, unchanged.
    Original,
}

/// One topic as the registry wants it on the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub retention_ms: i64,
    pub key: KeyRule,
    /// Compacted (`cleanup.policy=compact`): the newest record per key is kept.
    pub compacted: bool,
}

/// The registry, built from the `[topics]` configuration.
#[derive(Debug, Clone)]
pub struct TopicRegistry {
    config: TopicsConfig,
}

impl TopicRegistry {
    pub fn new(config: &TopicsConfig) -> Self {
        Self {
            config: config.clone(),
        }
    }

    /// The replication factor new topics get.
    pub fn replication_factor(&self) -> i32 {
        self.config.replication_factor
    }

    /// `market.ticks`.
    pub fn market_ticks(&self) -> &'static str {
        MARKET_TICKS
    }

    /// `{broker}.signals.raw`: where the strategy host writes.
    pub fn signals_raw(&self, broker: BrokerNamespace) -> String {
        broker_topic(broker, "signals.raw")
    }

    /// `{broker}.strategy.state`: each partition's strategy state (compacted; as
    /// many partitions as `market.ticks`, partition for partition).
    pub fn strategy_state(&self, broker: BrokerNamespace) -> String {
        broker_topic(broker, STATE_KIND)
    }

    /// The one DLQ rule: `<topic>.dlq`.
    pub fn dlq_of(&self, topic: &str) -> String {
        format!("{topic}{DLQ_SUFFIX}")
    }

    /// The original topic of a DLQ topic, if `topic` is one.
    pub fn original_of_dlq<'a>(&self, topic: &'a str) -> Option<&'a str> {
        topic.strip_suffix(DLQ_SUFFIX).filter(|t| !t.is_empty())
    }

    /// `alpha-panda.{service}.{broker}`: never shared between namespaces.
    pub fn group_id(&self, service: &str, broker: BrokerNamespace) -> String {
        format!("alpha-panda.{service}.{}", broker.as_str())
    }

    /// The key of a tick on `market.ticks`.
    pub fn tick_key(instrument_token: u32) -> String {
        instrument_token.to_string()
    }

    /// The partition of `market.ticks` an instrument's ticks are on: the
    /// producers' partitioner (Kafka's default, and `murmur2_random` here) over the
    /// tick key.
    pub fn tick_partition(&self, instrument_token: u32) -> i32 {
        partition_of(
            Self::tick_key(instrument_token).as_bytes(),
            self.config.market_ticks.partitions,
        )
    }

    /// The ownership unit of a strategy-scoped strategy: a partition of the state
    /// topic (`state_partitions` of them), by its id. The host that owns that
    /// partition in the owners' group runs the strategy.
    pub fn unit_of(strategy_id: &str, state_partitions: i32) -> i32 {
        partition_of(strategy_id.as_bytes(), state_partitions)
    }

    /// The key of a signal on `{broker}.signals.*`.
    pub fn signal_key(strategy_id: &str, instrument_token: u32) -> String {
        format!("{strategy_id}:{instrument_token}")
    }

    /// Every topic of the namespaces, DLQs included, in bootstrap order.
    pub fn topics_for(&self, namespaces: &[BrokerNamespace]) -> Vec<TopicSpec> {
        let c = &self.config;
        let mut base = vec![TopicSpec {
            name: MARKET_TICKS.to_owned(),
            partitions: c.market_ticks.partitions,
            retention_ms: c.market_ticks.retention_ms,
            key: KeyRule::InstrumentToken,
            compacted: false,
        }];
        for &ns in namespaces {
            for kind in BROKER_TOPICS {
                let (partitions, retention_ms, key) = match kind {
                    "signals.raw" | "signals.validated" => (
                        c.signals.partitions,
                        c.signals.retention_ms,
                        KeyRule::StrategyInstrument,
                    ),
                    "signals.rejected" => (
                        c.signals_rejected.partitions,
                        c.signals_rejected.retention_ms,
                        KeyRule::StrategyInstrument,
                    ),
                    _ => (
                        c.orders.partitions,
                        match ns {
                            BrokerNamespace::Paper => c.orders.retention_ms_paper,
                            BrokerNamespace::Zerodha => c.orders.retention_ms_zerodha,
                        },
                        KeyRule::Producer,
                    ),
                };
                base.push(TopicSpec {
                    name: broker_topic(ns, kind),
                    partitions,
                    retention_ms,
                    key,
                    compacted: false,
                });
            }
        }
        let dlqs: Vec<TopicSpec> = base.iter().map(|t| self.dlq_spec(t)).collect();
        base.extend(dlqs);
        for &ns in namespaces {
            base.push(TopicSpec {
                name: broker_topic(ns, STATE_KIND),
                partitions: c.market_ticks.partitions,
                // Compaction, not time, bounds it.
                retention_ms: -1,
                key: KeyRule::StrategyPartition,
                compacted: true,
            });
        }
        base
    }

    /// Every topic of the configured namespaces.
    pub fn all_topics(&self) -> Vec<TopicSpec> {
        self.topics_for(&self.config.namespaces)
    }

    /// A DLQ has half the base's partitions (at least one) and its own retention.
    fn dlq_spec(&self, base: &TopicSpec) -> TopicSpec {
        TopicSpec {
            name: self.dlq_of(&base.name),
            partitions: (base.partitions / 2).max(1),
            retention_ms: self.config.dlq_retention_ms,
            key: KeyRule::Original,
            compacted: false,
        }
    }
}

fn broker_topic(broker: BrokerNamespace, kind: &str) -> String {
    format!("{}.{kind}", broker.as_str())
}

/// Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`), which its
/// default partitioner and librdkafka's `murmur2_random` apply to a key.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if let Some(&b) = rest.first() {
        h ^= u32::from(b);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition of `partitions` a key goes to (Kafka's `toPositive(murmur2) % n`).
pub fn partition_of(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> TopicRegistry {
        TopicRegistry::new(&TopicsConfig::default())
    }

    fn find<'a>(all: &'a [TopicSpec], name: &str) -> &'a TopicSpec {
        all.iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name} missing from the registry"))
    }

    #[test]
    fn every_topic_of_both_brokers_with_contract_numbers() {
        let all = registry().all_topics();
        // 1 shared + 8 per broker, each with its DLQ, and one state topic per broker.
        assert_eq!(all.len(), (1 + 8 * 2) * 2 + 2);
        let day = 86_400_000;
        let expect = [
            ("market.ticks", 12, 3_600_000),
            ("paper.signals.raw", 6, day),
            ("zerodha.signals.validated", 6, day),
            ("paper.signals.rejected", 3, day),
            ("paper.orders.submitted", 3, 7 * day),
            ("paper.orders.failed", 3, 7 * day),
            ("zerodha.orders.ack", 3, 30 * day),
            ("zerodha.orders.filled", 3, 30 * day),
            ("paper.pnl.snapshots", 3, 7 * day),
            ("zerodha.pnl.snapshots", 3, 30 * day),
            ("market.ticks.dlq", 6, 7 * day),
            ("paper.signals.raw.dlq", 3, 7 * day),
            ("paper.signals.rejected.dlq", 1, 7 * day),
            ("zerodha.orders.failed.dlq", 1, 7 * day),
            ("paper.strategy.state", 12, -1),
            ("zerodha.strategy.state", 12, -1),
        ];
        for (name, partitions, retention) in expect {
            let t = find(&all, name);
            assert_eq!(
                (t.partitions, t.retention_ms),
                (partitions, retention),
                "{name}"
            );
        }
        let mut names: Vec<&str> = all.iter().map(|t| t.name.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len(), "no topic twice");
    }

    #[test]
    fn one_dlq_rule() {
        let r = registry();
        assert_eq!(r.dlq_of("market.ticks"), "market.ticks.dlq");
        assert_eq!(
            r.original_of_dlq("paper.signals.raw.dlq"),
            Some("paper.signals.raw")
        );
        assert_eq!(r.original_of_dlq("market.ticks"), None);
        assert_eq!(r.original_of_dlq(".dlq"), None);
        for t in r.all_topics() {
            if t.key == KeyRule::Original {
                assert!(t.name.ends_with(".dlq"));
                assert!(!t.name.ends_with(".dlq.dlq"));
            }
        }
    }

    #[test]
    fn group_ids_contain_the_broker_and_differ() {
        let r = registry();
        let paper = r.group_id("strategy_runner", BrokerNamespace::Paper);
        let zerodha = r.group_id("strategy_runner", BrokerNamespace::Zerodha);
        assert_eq!(paper, "alpha-panda.strategy_runner.paper");
        assert_eq!(zerodha, "alpha-panda.strategy_runner.zerodha");
        assert_ne!(paper, zerodha);
    }

    #[test]
    fn keys_for_ticks_and_signals() {
        assert_eq!(TopicRegistry::tick_key(738561), "738561");
        assert_eq!(
            TopicRegistry::signal_key("momentum_1", 738561),
            "momentum_1:738561"
        );
        let r = registry();
        assert_eq!(
            r.signals_raw(BrokerNamespace::Zerodha),
            "zerodha.signals.raw"
        );
        let all = r.all_topics();
        assert_eq!(find(&all, "market.ticks").key, KeyRule::InstrumentToken);
        let state = find(&all, "paper.strategy.state");
        assert_eq!(state.key, KeyRule::StrategyPartition);
        assert!(state.compacted, "state keeps the newest record per key");
        assert_eq!(r.strategy_state(BrokerNamespace::Paper), state.name);
        assert_eq!(
            all.iter().filter(|t| t.compacted).count(),
            2,
            "only the state topics are compacted"
        );
        assert_eq!(
            find(&all, "paper.signals.raw").key,
            KeyRule::StrategyInstrument
        );
    }

    #[test]
    fn configured_numbers_are_used() {
        let mut c = TopicsConfig::default();
        c.market_ticks.partitions = 4;
        c.namespaces = vec![BrokerNamespace::Zerodha];
        let all = TopicRegistry::new(&c).all_topics();
        assert_eq!(find(&all, "market.ticks").partitions, 4);
        assert_eq!(find(&all, "market.ticks.dlq").partitions, 2);
        // Partition for partition with the ticks.
        assert_eq!(find(&all, "zerodha.strategy.state").partitions, 4);
        assert!(all.iter().all(|t| !t.name.starts_with("paper.")));
    }

    /// Values printed by Kafka 4.1.1's own `Utils.murmur2` and its default
    /// partitioner (kafka-clients, run once by hand).
    #[test]
    fn murmur2_is_kafkas() {
        assert_eq!(murmur2(b"21"), -973_932_308);
        assert_eq!(murmur2(b"foobar"), -790_332_482);
        assert_eq!(murmur2(b"abc"), 479_470_107);
        assert_eq!(murmur2(b"a-little-bit-long-string"), -985_981_536);
        let r = TopicRegistry::new(&crate::config::TopicsConfig::default());
        let partitions: Vec<i32> = [738561, 81153, 2714625, 408065, 341249, 256265]
            .iter()
            .map(|t| r.tick_partition(*t))
            .collect();
        assert_eq!(partitions, [2, 9, 8, 3, 7, 3], "of 12 partitions");
    }
}
