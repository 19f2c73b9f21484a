//! Shared helpers of the `pipeline_*` test binaries (included with `mod`): a host
//! run in-process on its own runtime, configs, the counter plugin, a producer that
//! writes ticks the way the Python feed does, and a reader that collects a topic's
//! records from the beginning (no consumer group, so no join to wait for).
//!
//! Isolation: each test binary has its own broker, but tests of one binary share
//! it, and `market.ticks` is one topic. Every test therefore uses its own service
//! name (so its own consumer group and dedup keys), its own strategy id and its
//! own instrument tokens, and filters what it reads by strategy id or group.
#![allow(dead_code)]

pub mod answers;
pub mod child;
pub mod pairs;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use alpha_panda::config::Config;
use alpha_panda::contract::{EventEnvelope, MarketTick};
use alpha_panda::feed::{tick_envelope, PaperFeed};
use alpha_panda::kafka::admin::Admin;
use alpha_panda::pipeline::RunSummary;
use alpha_panda::topics::TopicRegistry;
use alpha_panda_tests::broker::FAST_GROUP_SETTINGS;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::Value;

/// Partitions of `market.ticks` in these tests (every test of a binary agrees).
pub const TICK_PARTITIONS: i32 = 4;
/// Partitions of `{broker}.signals.raw` in these tests.
pub const SIGNAL_PARTITIONS: i32 = 3;
/// The longest any wait of these tests lasts.
pub const WAIT: Duration = Duration::from_secs(60);

/// Checks `state` every 200 ms until it is `Ok`; fails with its last `Err` (what
/// was seen instead) once [`WAIT`] has passed.
pub async fn eventually(mut state: impl FnMut() -> Result<(), String>) {
    let started = Instant::now();
    loop {
        match state() {
            Ok(()) => return,
            Err(seen) => assert!(started.elapsed() < WAIT, "{seen}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A fresh instrument token, unique within the test binary (and far from real ones).
pub fn token() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    9_000_000 + (std::process::id() % 10_000) * 100 + NEXT.fetch_add(1, Ordering::Relaxed)
}

/// An identifier safe as a strategy id or service name.
pub fn name(prefix: &str) -> String {
    alpha_panda_tests::unique(prefix).replace('-', "_")
}

/// A temp dir for one test (removed on drop).
pub fn temp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("alpha-panda-pipeline")
        .tempdir()
        .expect("temp dir")
}

/// Copies `tests/plugins/hostile.wasm` into `dir` as `file.wasm` with a manifest
/// in counter mode: exactly one BUY of 1 at the tick's price per tick, with
/// metadata `count` (ticks seen) and `version`.
pub fn counter_plugin(
    dir: &Path,
    file: &str,
    strategy_id: &str,
    brokers: &[&str],
    instruments: &[u32],
    version: i64,
) {
    let brokers: Vec<String> = brokers.iter().map(|b| format!("\"{b}\"")).collect();
    let instruments: Vec<String> = instruments.iter().map(u32::to_string).collect();
    let manifest = format!(
        "strategy_id = \"{strategy_id}\"\nbrokers = [{}]\ninstruments = [{}]\nscope = \"instrument\"\n\n[params]\nmode = \"counter\"\nversion = {version}\n",
        brokers.join(", "),
        instruments.join(", ")
    );
    install_plugin(dir, file, "hostile", &manifest);
}

/// Writes `dir/{file}.toml` with `manifest`, then copies the test plugin
/// `wasm` (`tests/plugins/{wasm}.wasm`) to `dir/{file}.wasm`: manifest first,
/// as the watcher loads a plugin once both files are there.
pub fn install_plugin(dir: &Path, file: &str, wasm: &str, manifest: &str) {
    std::fs::create_dir_all(dir).expect("plugins dir");
    std::fs::write(dir.join(format!("{file}.toml")), manifest).expect("manifest");
    std::fs::copy(
        alpha_panda_tests::paths::test_wasm(wasm),
        dir.join(format!("{file}.wasm")),
    )
    .expect("copy the test plugin");
}

/// The sha256 (hex) of the counter plugin's component.
pub fn hostile_sha256() -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(alpha_panda_tests::paths::test_wasm("hostile"))
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A host config for the test broker: `broker` namespace, own `service` name,
/// the given plugins dir, shared Redis with a unique prefix (override `redis.url`
/// as needed), fast group settings, tiny retry delays, no metrics endpoint.
pub fn config(
    bootstrap: &str,
    broker: &str,
    service: &str,
    plugins: &Path,
    cache: &Path,
) -> Config {
    let mut c = Config::from_toml_with_env(
        &format!("broker = \"{broker}\"\nservice = \"{service}\"\n"),
        "test",
        Vec::new(),
    )
    .expect("config");
    c.kafka.bootstrap_servers = bootstrap.to_owned();
    for (k, v) in FAST_GROUP_SETTINGS {
        c.kafka.consumer.insert((*k).to_owned(), (*v).to_owned());
    }
    c.kafka.producer.insert("linger.ms".into(), "2".into());
    c.redis.url = alpha_panda_tests::redis_server::shared_url();
    c.redis.key_prefix = alpha_panda_tests::unique("ap-test-dedup");
    c.plugins.dir = plugins.to_owned();
    c.plugins.cache_dir = Some(cache.to_owned());
    c.plugins.debounce_ms = 50;
    // The tests write a tick at a time: on a loaded machine another partition's
    // tick of the same time can come well after the default 100 ms.
    c.plugins.align_wait_ms = 2000;
    c.metrics.listen = String::new();
    c.delivery.retry_scale = 0.01;
    c.delivery.shutdown_timeout_secs = 10;
    c.topics.market_ticks.partitions = TICK_PARTITIONS;
    c.topics.signals.partitions = SIGNAL_PARTITIONS;
    // The tests' ticks carry fixed historical timestamps: none is stale here.
    c.start.max_tick_age_ms = 0;
    c
}

/// Creates every registry topic (idempotent).
pub async fn ensure_topics(bootstrap: &str, config: &Config) {
    let admin = Admin::connect(bootstrap).expect("admin");
    admin
        .create(&TopicRegistry::new(&config.topics).all_topics(), 1)
        .await
        .expect("create topics");
}

/// Lets `market.ticks` take messages up to 2 MiB (Kafka's default is 1 MiB), so a
/// test can send the host a message over its own 1 MiB limit. The topic's
/// retention is set with it (AlterConfigs replaces a topic's whole config).
pub async fn allow_large_ticks(bootstrap: &str, config: &Config) {
    use rdkafka::admin::{AdminClient, AdminOptions, AlterConfig, ResourceSpecifier};
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("admin");
    let retention = config.topics.market_ticks.retention_ms.to_string();
    let alter = AlterConfig::new(ResourceSpecifier::Topic("market.ticks"))
        .set("max.message.bytes", "2097152")
        .set("retention.ms", &retention);
    let results = admin
        .alter_configs([&alter], &AdminOptions::new())
        .await
        .expect("alter_configs");
    for r in results {
        r.expect("market.ticks takes 2 MiB messages");
    }
}

/// A host running `alpha_panda::app::run` on its own thread and runtime.
pub struct RunningHost {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: std::sync::mpsc::Receiver<Result<RunSummary, String>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningHost {
    pub fn start(config: Config) -> RunningHost {
        // The host's log lines go with the test's output (shown when it fails).
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                std::env::var("ALPHA_PANDA_TEST_LOG")
                    .unwrap_or_else(|_| "alpha_panda=info,librdkafka=warn".to_owned()),
            )
            .with_test_writer()
            .try_init();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (tx, done) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("host".into())
            .spawn(move || {
                // As `alpha-panda run` runs it.
                let r = alpha_panda::app::run_blocking(config, async move {
                    let _ = stopped.await;
                });
                let _ = tx.send(r.map_err(|e| e.to_string()));
            })
            .expect("host thread");
        RunningHost {
            stop: Some(stop),
            done,
            thread: Some(thread),
        }
    }

    /// Resolves the shutdown future and waits (bounded) for a clean stop.
    pub fn stop(mut self) -> RunSummary {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> RunSummary {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let r = self
            .done
            .recv_timeout(Duration::from_secs(40))
            .expect("the host did not stop within 40 s of its shutdown signal");
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        r.expect("the host stopped with an error")
    }

    /// The host's result if it has already stopped by itself (an error).
    pub fn try_result(&self) -> Option<Result<RunSummary, String>> {
        self.done.try_recv().ok()
    }
}

impl Drop for RunningHost {
    fn drop(&mut self) {
        if self.stop.is_some() && !std::thread::panicking() {
            let _ = self.stop_inner();
        } else if let Some(s) = self.stop.take() {
            let _ = s.send(());
            let _ = self.done.recv_timeout(Duration::from_secs(20));
        }
    }
}

/// A producer configured like the Python feed's (aiokafka default partitioner =
/// murmur2 of the key).
pub fn producer(bootstrap: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "1")
        .set("acks", "all")
        .set("message.max.bytes", "4000000")
        .create()
        .expect("producer")
}

/// Writes one message and returns (partition, offset).
pub async fn send(
    p: &FutureProducer,
    topic: &str,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[(&str, Option<&[u8]>)],
) -> (i32, i64) {
    let mut h = OwnedHeaders::new();
    for (k, v) in headers {
        h = h.insert(Header { key: k, value: *v });
    }
    let mut r: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).headers(h);
    if let Some(k) = key {
        r = r.key(k);
    }
    if let Some(v) = value {
        r = r.payload(v);
    }
    p.send(r, Duration::from_secs(30))
        .await
        .map(|d| (d.partition, d.offset))
        .map_err(|(e, _)| e)
        .expect("produce")
}

/// A tick as the feed writes it: key = token, value = envelope, headers
/// correlation_id and trace_id.
pub async fn send_tick(p: &FutureProducer, env: &EventEnvelope<MarketTick>) -> (i32, i64) {
    let bytes = env.to_vec().expect("encode tick");
    send_raw_tick(p, &env.key, &bytes, &env.correlation_id, &env.trace_id).await
}

/// Like [`send_tick`] for already-encoded bytes.
pub async fn send_raw_tick(
    p: &FutureProducer,
    key: &str,
    bytes: &[u8],
    correlation_id: &str,
    trace_id: &str,
) -> (i32, i64) {
    send(
        p,
        "market.ticks",
        Some(key.as_bytes()),
        Some(bytes),
        &[
            ("correlation_id", Some(correlation_id.as_bytes())),
            ("trace_id", Some(trace_id.as_bytes())),
        ],
    )
    .await
}

/// Full paper-feed ticks for `token`: fresh root envelopes (UUIDv7 ids).
pub struct Ticks {
    feed: PaperFeed,
}

impl Ticks {
    pub fn new(seed: u64) -> Ticks {
        Ticks {
            feed: PaperFeed::new(seed, 1_756_442_704_000_000),
        }
    }

    /// Ticks timestamped from now on, as a live feed writes them.
    pub fn live(seed: u64) -> Ticks {
        Ticks {
            feed: PaperFeed::new(
                seed,
                alpha_panda::contract::Timestamp::now().to_unix_micros(),
            ),
        }
    }

    pub fn next(&mut self, token: u32) -> EventEnvelope<MarketTick> {
        let mut t = self.feed.next_tick();
        t.instrument_token = token;
        tick_envelope(t)
    }
}

/// One record read back.
#[derive(Debug, Clone)]
pub struct Rec {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// The record's timestamp (ms since the epoch), as its producer set it.
    pub timestamp_ms: Option<i64>,
}

impl Rec {
    /// The value as JSON (panics if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(self.value.as_deref().unwrap_or_default()).unwrap_or_else(|e| {
            panic!(
                "{}/{}@{} is not JSON: {e}: {:?}",
                self.topic,
                self.partition,
                self.offset,
                String::from_utf8_lossy(self.value.as_deref().unwrap_or_default())
            )
        })
    }

    pub fn header(&self, key: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// Reads topics from their beginning by direct assignment (no group, no join).
pub struct Reader {
    consumer: StreamConsumer,
    pub records: Vec<Rec>,
}

impl Reader {
    pub fn new(bootstrap: &str, topics: &[&str], read_committed: bool) -> Reader {
        let consumer: StreamConsumer = from_beginning(bootstrap, topics, read_committed);
        Reader {
            consumer,
            records: Vec::new(),
        }
    }

    /// Reads for about `d`.
    pub async fn pump(&mut self, d: Duration) {
        let until = Instant::now() + d;
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            match tokio::time::timeout(left.min(Duration::from_millis(100)), self.consumer.recv())
                .await
            {
                Ok(Ok(m)) => self.records.push(Rec {
                    topic: m.topic().to_owned(),
                    partition: m.partition(),
                    offset: m.offset(),
                    key: m.key().map(<[u8]>::to_vec),
                    value: m.payload().map(<[u8]>::to_vec),
                    headers: m
                        .headers()
                        .map(|h| {
                            h.iter()
                                .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                                .collect()
                        })
                        .unwrap_or_default(),
                    timestamp_ms: m.timestamp().to_millis(),
                }),
                // A broker going away (the fault tests take it down) is reported
                // and then recovered from by the client itself.
                Ok(Err(rdkafka::error::KafkaError::MessageConsumption(
                    rdkafka::types::RDKafkaErrorCode::BrokerTransportFailure
                    | rdkafka::types::RDKafkaErrorCode::AllBrokersDown
                    | rdkafka::types::RDKafkaErrorCode::LeaderNotAvailable
                    | rdkafka::types::RDKafkaErrorCode::NotLeaderForPartition,
                ))) => {}
                Ok(Err(e)) => panic!("reader: {e}"),
                Err(_) => {}
            }
        }
    }

    /// Reads until `done(records)` holds or `limit` passes; returns whether it held.
    /// Reads until every tick id of `ticks` has a signal of `strategy_id`
    /// caused by it, or `limit` passes; true when all arrived.
    pub async fn until_answered(
        &mut self,
        limit: Duration,
        strategy_id: &str,
        ticks: &[String],
    ) -> bool {
        let want: std::collections::BTreeSet<&str> = ticks.iter().map(String::as_str).collect();
        self.until(limit, |r| {
            let s = signals_of(r, strategy_id);
            let have: std::collections::BTreeSet<&str> = s
                .iter()
                .filter_map(|(_, v)| v["causation_id"].as_str())
                .collect();
            want.is_subset(&have)
        })
        .await
    }

    pub async fn until(&mut self, limit: Duration, done: impl Fn(&[Rec]) -> bool) -> bool {
        let until = Instant::now() + limit;
        loop {
            if done(&self.records) {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            self.pump(Duration::from_millis(200)).await;
        }
    }
}

/// A consumer (no group membership, no commits) assigned every partition of
/// `topics` from the beginning.
pub fn from_beginning<C>(bootstrap: &str, topics: &[&str], read_committed: bool) -> C
where
    C: rdkafka::config::FromClientConfig + Consumer,
{
    let consumer: C = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", alpha_panda_tests::unique("pipeline-reader"))
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "20")
        .set(
            "isolation.level",
            if read_committed {
                "read_committed"
            } else {
                "read_uncommitted"
            },
        )
        .create()
        .expect("reader");
    let mut tpl = TopicPartitionList::new();
    for t in topics {
        for p in 0..partitions(&consumer, t) {
            tpl.add_partition_offset(t, p, Offset::Beginning)
                .expect("tpl");
        }
    }
    consumer.assign(&tpl).expect("assign");
    consumer
}

/// The partition count of `topic` on the cluster.
pub fn partitions(consumer: &impl Consumer, topic: &str) -> i32 {
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let n = md
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map(|t| t.partitions().len() as i32)
        .unwrap_or(0);
    assert!(n > 0, "topic {topic} has no partitions");
    n
}

/// Signal envelopes (as JSON) of `strategy_id` among `records`.
pub fn signals_of<'a>(records: &'a [Rec], strategy_id: &str) -> Vec<(&'a Rec, Value)> {
    records
        .iter()
        .filter_map(|r| {
            let v: Value = serde_json::from_slice(r.value.as_deref()?).ok()?;
            (v["data"]["strategy_id"] == strategy_id).then_some((r, v))
        })
        .collect()
}

/// Number of distinct causation ids among the signals.
pub fn causations(signals: &[(&Rec, Value)]) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (_, v) in signals {
        m.entry(v["causation_id"].as_str().unwrap_or_default().to_owned())
            .or_default()
            .push(v["id"].as_str().unwrap_or_default().to_owned());
    }
    m
}

/// A workspace path.
pub fn root_path(rel: &str) -> PathBuf {
    alpha_panda_tests::paths::root().join(rel)
}

/// Per `market.ticks` partition, the committed offset of the group `config`
/// consumes in (`None`: nothing committed) and the log end (-1: unknown).
pub fn group_offsets(bootstrap: &str, config: &Config) -> Vec<(Option<i64>, i64)> {
    let group = TopicRegistry::new(&config.topics).group_id(&config.service, config.broker);
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", &group)
        .create()
        .expect("offsets consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..TICK_PARTITIONS {
        tpl.add_partition("market.ticks", p);
    }
    let committed = consumer
        .committed_offsets(tpl, Duration::from_secs(5))
        .expect("committed offsets");
    (0..TICK_PARTITIONS)
        .map(|p| {
            let c = committed
                .find_partition("market.ticks", p)
                .and_then(|e| match e.offset() {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                });
            let end = consumer
                .fetch_watermarks("market.ticks", p, Duration::from_secs(5))
                .map_or(-1, |w| w.1);
            (c, end)
        })
        .collect()
}
