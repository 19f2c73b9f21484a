//! The sections of the configuration, one struct each, every field documented;
//! their defaults come from [`super::defaults`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::defaults as d;
use crate::contract::BrokerNamespace;

/// A secret (a password): never printed, not even by `Debug`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself, for the one place that hands it to a client.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

/// How clients authenticate and encrypt. The password comes from the environment
/// (`ALPHA_PANDA__KAFKA__SECURITY__SASL_PASSWORD`), never from a committed file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSecurity {
    /// `plaintext`, `ssl`, `sasl_plaintext` or `sasl_ssl`.
    pub protocol: String,
    /// `SCRAM-SHA-256`, `SCRAM-SHA-512` or `PLAIN` (SASL protocols only).
    pub sasl_mechanism: String,
    pub sasl_username: String,
    pub sasl_password: Secret,
    /// CA certificate file for TLS (empty: the system's).
    pub ssl_ca_location: String,
}

impl Default for KafkaSecurity {
    fn default() -> Self {
        Self {
            protocol: d::SECURITY_PROTOCOL.to_owned(),
            sasl_mechanism: String::new(),
            sasl_username: String::new(),
            sasl_password: Secret::default(),
            ssl_ca_location: String::new(),
        }
    }
}

/// Kafka connection and librdkafka pass-through properties.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// `embedded` starts an in-process broker; otherwise a `host:port` list.
    pub bootstrap_servers: String,
    /// SASL (SCRAM) and TLS for every client.
    pub security: KafkaSecurity,
    /// librdkafka producer properties, applied over the host's defaults.
    pub producer: BTreeMap<String, String>,
    /// librdkafka consumer properties, applied over the host's defaults.
    pub consumer: BTreeMap<String, String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            bootstrap_servers: d::BOOTSTRAP_SERVERS.to_owned(),
            security: KafkaSecurity::default(),
            producer: BTreeMap::new(),
            consumer: BTreeMap::new(),
        }
    }
}

impl KafkaConfig {
    /// True when the in-process broker is asked for.
    pub fn is_embedded(&self) -> bool {
        self.bootstrap_servers.trim() == "embedded"
    }
}

/// The dedup store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// Empty: the in-process store. Else `redis://host:port/db`.
    pub url: String,
    pub dedup_ttl_secs: u64,
    /// Key prefix of dedup marks (tests isolate themselves with it).
    pub key_prefix: String,
    /// The in-process store (embedded profile, and Redis's fallback) keeps at most
    /// this many marks, the newest (about 70 bytes each).
    pub memory_max_keys: usize,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            dedup_ttl_secs: d::DEDUP_TTL_SECS,
            key_prefix: d::DEDUP_KEY_PREFIX.to_owned(),
            memory_max_keys: d::MEMORY_MAX_KEYS,
        }
    }
}

/// The plugin folder and the sandbox limits of every instance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginsConfig {
    /// Watched for `NAME.wasm` + `NAME.toml`.
    pub dir: PathBuf,
    /// CPU deadline of one tick inside a plugin.
    pub call_timeout_ms: u64,
    /// Linear memory cap of one instance.
    pub memory_limit_mib: u64,
    /// An instance holding more than this share of `memory_limit_mib` is rebuilt
    /// from a fresh snapshot between batches (0 = never): a guest whose runtime
    /// never gives memory back (a JavaScript one grows with every call) keeps
    /// running instead of faulting at the cap.
    pub recycle_memory_pct: u64,
    /// More signals than this for one tick is a plugin fault.
    pub max_signals_per_tick: u32,
    /// Metadata of one signal larger than this (keys + values, bytes) is a plugin fault.
    pub max_metadata_bytes: usize,
    /// Ticks handed to a plugin in one call at most.
    pub max_batch: usize,
    /// While the host keeps up with the stream, a batch takes at most this many
    /// ticks (a burst is answered in parts); after a run of full batches (a
    /// backlog) up to `max_batch`. 0: always up to `max_batch`.
    pub latency_batch: usize,
    /// Snapshot an instance after this many ticks ...
    pub snapshot_every_ticks: u64,
    /// ... or after this much time, whichever comes first.
    pub snapshot_every_ms: u64,
    /// This many faults within `fault_window_secs` quarantine a plugin.
    pub fault_limit: u32,
    pub fault_window_secs: u64,
    /// A `.wasm` larger than this is refused.
    pub max_wasm_bytes: u64,
    /// Core WebAssembly instances one component may create.
    pub max_instances: u32,
    /// A manifest's artifact (model, data file) larger than this is refused.
    pub max_artifact_bytes: u64,
    /// Threads strategy calls run on (0 = one per core).
    pub workers: usize,
    /// `SCHED_FIFO` priority (1 to 98) of the pipeline's thread and the strategy
    /// workers, the epoch ticker one above; 0 = the normal scheduler. Needs
    /// `CAP_SYS_NICE` or an `RLIMIT_RTPRIO` at least this high.
    pub realtime_priority: u8,
    /// At-least-once: ticks read whose strategy calls or acks may be pending at
    /// once. A slow strategy delays the others only once this many wait for it;
    /// each holds its message in memory until its batch is committed.
    pub max_pending_ticks: usize,
    /// If not empty, only components whose sha256 (hex) is listed are loaded.
    pub allowed_sha256: Vec<String>,
    /// Compiled components are cached here by content hash (default
    /// `.alpha-panda/cache`, outside the watched folder).
    pub cache_dir: Option<PathBuf>,
    /// Debounce of file-system events before a plugin file is (re)loaded.
    pub debounce_ms: u64,
    /// Name each plugin's compiled code in `/tmp/perf-PID.map`, so `perf` shows a
    /// strategy's own functions (a profiling aid; off in production).
    pub perf_map: bool,
    /// A strategy-scoped instance merges its partitions by event time: a tick
    /// waits at most this long for a partition with nothing buffered (which may
    /// still bring an earlier tick) before it goes. 0 = never wait.
    pub align_wait_ms: u64,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from(d::PLUGINS_DIR),
            call_timeout_ms: d::CALL_TIMEOUT_MS,
            memory_limit_mib: d::MEMORY_LIMIT_MIB,
            recycle_memory_pct: d::RECYCLE_MEMORY_PCT,
            max_signals_per_tick: d::MAX_SIGNALS_PER_TICK,
            max_metadata_bytes: d::MAX_METADATA_BYTES,
            max_batch: d::MAX_BATCH,
            latency_batch: 0,
            snapshot_every_ticks: d::SNAPSHOT_EVERY_TICKS,
            snapshot_every_ms: d::SNAPSHOT_EVERY_MS,
            fault_limit: d::FAULT_LIMIT,
            fault_window_secs: d::FAULT_WINDOW_SECS,
            max_wasm_bytes: d::MAX_WASM_BYTES,
            max_instances: d::MAX_INSTANCES,
            max_artifact_bytes: d::MAX_ARTIFACT_BYTES,
            workers: 0,
            realtime_priority: 0,
            max_pending_ticks: d::MAX_PENDING_TICKS,
            allowed_sha256: Vec::new(),
            cache_dir: None,
            debounce_ms: d::DEBOUNCE_MS,
            perf_map: false,
            align_wait_ms: d::ALIGN_WAIT_MS,
        }
    }
}

impl PluginsConfig {
    /// Where compiled artifacts are cached.
    pub fn cache_dir(&self) -> PathBuf {
        self.cache_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(d::PLUGINS_CACHE_DIR))
    }

    /// The same settings for a command that runs strategies apart from the live
    /// stream (`replay`, `plugin check`): no real-time threads, which only the
    /// live host's latency needs and which take a privilege.
    pub fn offline(&self) -> Self {
        Self {
            realtime_priority: 0,
            ..self.clone()
        }
    }
}

/// Delivery guarantees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMode {
    #[default]
    AtLeastOnce,
    ExactlyOnce,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    pub mode: DeliveryMode,
    /// Upper bound of a clean shutdown (drain, flush, commit, leave the group).
    pub shutdown_timeout_secs: u64,
    /// At-least-once: the offsets of the batches finished (outputs acked)
    /// within this many milliseconds go to the broker in one commit; 0 commits
    /// each batch. A revocation and a clean stop commit at once.
    pub commit_interval_ms: u64,
    /// An instance id, part of the transactional id in exactly-once mode.
    pub instance_id: String,
    /// Multiplies every retry delay of the contract's table (tests use small values).
    pub retry_scale: f64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            mode: DeliveryMode::AtLeastOnce,
            shutdown_timeout_secs: d::SHUTDOWN_TIMEOUT_SECS,
            commit_interval_ms: d::COMMIT_INTERVAL_MS,
            instance_id: d::INSTANCE_ID.to_owned(),
            retry_scale: d::RETRY_SCALE,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// `GET /metrics` and `GET /health`; empty disables the endpoint.
    pub listen: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            listen: d::METRICS_LISTEN.to_owned(),
        }
    }
}

/// Partitions and retention of one class of topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicClass {
    pub partitions: i32,
    pub retention_ms: i64,
}

/// Order and PnL topics: retention differs per broker namespace.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdersClass {
    pub partitions: i32,
    pub retention_ms_paper: i64,
    pub retention_ms_zerodha: i64,
}

/// The topic registry's numbers (names and rules live in the topic registry).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TopicsConfig {
    /// Namespaces that `topics create` / `topics check` cover.
    pub namespaces: Vec<BrokerNamespace>,
    pub replication_factor: i32,
    pub market_ticks: TopicClass,
    /// `{broker}.signals.raw` and `{broker}.signals.validated`.
    pub signals: TopicClass,
    /// `{broker}.signals.rejected`.
    pub signals_rejected: TopicClass,
    /// `{broker}.orders.*` and `{broker}.pnl.snapshots`.
    pub orders: OrdersClass,
    pub dlq_retention_ms: i64,
}

impl Default for TopicsConfig {
    fn default() -> Self {
        let class = |(partitions, retention_ms): (i32, i64)| TopicClass {
            partitions,
            retention_ms,
        };
        let (partitions, retention_ms_paper, retention_ms_zerodha) = d::ORDERS;
        Self {
            namespaces: vec![BrokerNamespace::Paper, BrokerNamespace::Zerodha],
            replication_factor: d::REPLICATION_FACTOR,
            market_ticks: class(d::MARKET_TICKS),
            signals: class(d::SIGNALS),
            signals_rejected: class(d::SIGNALS_REJECTED),
            orders: OrdersClass {
                partitions,
                retention_ms_paper,
                retention_ms_zerodha,
            },
            dlq_retention_ms: d::DLQ_RETENTION_MS,
        }
    }
}

/// Strategy state that follows a partition (`{broker}.strategy.state`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateConfig {
    /// Write each partition's strategy state this often (and at a clean stop);
    /// 0 = never write or read it (state then starts from `init` on every host).
    pub every_ms: u64,
    /// Longest wait for reading a gained partition's state and ticks.
    pub load_timeout_ms: u64,
}

impl Default for StateConfig {
    fn default() -> Self {
        Self {
            every_ms: d::STATE_EVERY_MS,
            load_timeout_ms: d::STATE_LOAD_TIMEOUT_MS,
        }
    }
}

impl StateConfig {
    pub fn enabled(&self) -> bool {
        self.every_ms > 0
    }
}

/// How log lines are written (to standard error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One readable line per event (colours on a terminal).
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `fields`.
    Json,
}

/// Logging.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
}

/// What the system this host replaces reads of its strategy runner.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompatConfig {
    /// Write the Redis keys the Python monitor reads (`pipeline:signals:{broker}:*`,
    /// `pipeline:strategies:{broker}:*`), a heartbeat every 15 s, and the
    /// `trading_*` metrics beside `alpha_panda_*`. Needs `redis.url`.
    pub python_monitoring: bool,
}

/// How the host treats what it finds when it starts consuming.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StartConfig {
    /// A live tick older than this by the wall clock when consumed is fed to its
    /// strategies with outputs suppressed, never signalled (0 = off). `replay`
    /// has no wall clock and ignores it.
    pub max_tick_age_ms: u64,
}

impl Default for StartConfig {
    fn default() -> Self {
        Self {
            max_tick_age_ms: d::MAX_TICK_AGE_MS,
        }
    }
}

/// The paper feed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeedConfig {
    /// Ticks per second (0 = as fast as the broker takes them).
    pub rate: u64,
    /// Ticks to write in all (0 = until stopped).
    pub count: u64,
    /// Seed of the random walks.
    pub seed: u64,
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self {
            rate: d::FEED_RATE,
            count: d::FEED_COUNT,
            seed: d::FEED_SEED,
        }
    }
}
