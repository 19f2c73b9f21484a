//! Every default of the configuration, in one place: the sections' `Default`
//! impls read them, and so do the engine, slot and output limits built without a
//! configuration (tests, replay). `config/default.toml` writes the same values
//! out (a test checks they agree).

/// Service name, part of the group id and the dedup keys.
pub const SERVICE: &str = "strategy_runner";
/// `embedded`: the in-process broker and paper feed.
pub const BOOTSTRAP_SERVERS: &str = "embedded";
pub const SECURITY_PROTOCOL: &str = "plaintext";

/// Lifetime of a dedup mark (seconds).
pub const DEDUP_TTL_SECS: u64 = 3600;
pub const DEDUP_KEY_PREFIX: &str = "alpha-panda:dedup";
/// Marks the in-process dedup store keeps (about 35 MiB).
pub const MEMORY_MAX_KEYS: usize = 500_000;

pub const PLUGINS_DIR: &str = "plugins";
/// Compiled components by content hash, outside the watched folder.
pub const PLUGINS_CACHE_DIR: &str = ".alpha-panda/cache";
/// CPU deadline of one tick inside a plugin.
pub const CALL_TIMEOUT_MS: u64 = 10;
/// Linear memory cap of one instance.
pub const MEMORY_LIMIT_MIB: u64 = 64;
pub const RECYCLE_MEMORY_PCT: u64 = 75;
pub const MAX_SIGNALS_PER_TICK: u32 = 16;
pub const MAX_METADATA_BYTES: usize = 4096;
/// Ticks handed to a plugin in one call at most.
pub const MAX_BATCH: usize = 512;
/// At 50 000 ticks/s, a third of a second of ticks; about 20-30 MiB of held
/// messages at most.
pub const MAX_PENDING_TICKS: usize = 16_384;
pub const SNAPSHOT_EVERY_TICKS: u64 = 10_000;
pub const SNAPSHOT_EVERY_MS: u64 = 5_000;
pub const FAULT_LIMIT: u32 = 5;
pub const FAULT_WINDOW_SECS: u64 = 60;
/// Larger components are refused. A Python strategy (componentize-py embeds
/// CPython and a pre-initialised heap) is 17-30 MiB; a JavaScript one about 12.
pub const MAX_WASM_BYTES: u64 = 48 * 1024 * 1024;
/// A model or data file a manifest names: 16 MiB (each instance gets a copy).
pub const MAX_ARTIFACT_BYTES: u64 = 16 * 1024 * 1024;
/// Core instances a component may create (a Python strategy needs 14).
pub const MAX_INSTANCES: u32 = 32;
pub const DEBOUNCE_MS: u64 = 200;
/// How long a strategy-scoped instance waits for a partition with no buffered
/// tick before going on without it (what a tick costs in latency then).
pub const ALIGN_WAIT_MS: u64 = 100;

pub const SHUTDOWN_TIMEOUT_SECS: u64 = 30;
/// At-least-once: one offset commit request for the batches finished in this
/// time (at 50 000 ticks/s, 10 requests a second instead of about 600; each
/// costs the broker and the host CPU on every batch).
pub const COMMIT_INTERVAL_MS: u64 = 100;
pub const INSTANCE_ID: &str = "0";
pub const RETRY_SCALE: f64 = 1.0;

pub const METRICS_LISTEN: &str = "127.0.0.1:9464";

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
pub const REPLICATION_FACTOR: i32 = 1;
/// `market.ticks`: partitions and retention.
pub const MARKET_TICKS: (i32, i64) = (12, HOUR_MS);
/// `{broker}.signals.raw` and `.validated`.
pub const SIGNALS: (i32, i64) = (6, DAY_MS);
/// `{broker}.signals.rejected`.
pub const SIGNALS_REJECTED: (i32, i64) = (3, DAY_MS);
/// `{broker}.orders.*` and `.pnl.snapshots`: partitions, paper and zerodha retention.
pub const ORDERS: (i32, i64, i64) = (3, 7 * DAY_MS, 30 * DAY_MS);
pub const DLQ_RETENTION_MS: i64 = 7 * DAY_MS;

pub const FEED_RATE: u64 = 200;
pub const FEED_COUNT: u64 = 0;
pub const FEED_SEED: u64 = 42;

/// How often each partition's strategy state is written (0: never).
pub const STATE_EVERY_MS: u64 = 5_000;
/// A tick older than a minute is history: fed to warm state, never signalled.
pub const MAX_TICK_AGE_MS: u64 = 60_000;
pub const STATE_LOAD_TIMEOUT_MS: u64 = 30_000;
