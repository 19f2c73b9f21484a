//! What the end-to-end benchmark's example contenders (`passthrough`,
//! `native_runner`) share: their clients, their CPU clock, a batch's offsets to commit, the one
//! batch in flight (acked, then committed, as the host does), and the line they
//! print for `cargo xtask e2e`.

use std::collections::BTreeMap;
use std::time::Instant;

use alpha_panda::config::Config;
use alpha_panda::kafka::settings;
use anyhow::{Context, Result};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::FutureProducer;
use rdkafka::{Offset, TopicPartitionList};
use tokio::task::JoinHandle;

/// A contender's clients, with the host's settings from its TOML.
pub struct Clients {
    pub config: Config,
    /// In group `group`, subscribed to `market.ticks`.
    pub consumer: StreamConsumer,
    pub producer: FutureProducer,
}

impl Clients {
    /// The clients of the host's config at `path`, and the contender's output
    /// topic `topic`, as many partitions as the signal topics (exists: fine).
    pub async fn new(path: &str, group: &str, topic: &str) -> Result<Self> {
        let config = Config::load(Some(std::path::Path::new(path))).context("config")?;
        let bootstrap = config.kafka.bootstrap_servers.clone();
        let consumer: StreamConsumer = settings::consumer(&config, &bootstrap, group).create()?;
        consumer.subscribe(&["market.ticks"])?;
        let producer: FutureProducer = settings::producer(&config, &bootstrap).create()?;
        let admin: AdminClient<DefaultClientContext> = settings::admin(&bootstrap).create()?;
        let partitions = config.topics.signals.partitions;
        let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
        admin.create_topics(&[new], &AdminOptions::new()).await?;
        Ok(Self {
            config,
            consumer,
            producer,
        })
    }
}

/// User + system CPU seconds of this process (from /proc/self/stat).
pub fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// The offsets to commit once `batch` (of `market.ticks`) is answered.
pub fn next_offsets(batch: &[OwnedMessage]) -> Result<TopicPartitionList> {
    let mut next: BTreeMap<i32, i64> = BTreeMap::new();
    for m in batch {
        let e = next.entry(m.partition()).or_insert(0);
        *e = (*e).max(m.offset() + 1);
    }
    let mut tpl = TopicPartitionList::new();
    for (p, o) in next {
        tpl.add_partition_offset("market.ticks", p, Offset::Offset(o))?;
    }
    Ok(tpl)
}

/// A batch's records on their way to the broker, and its offsets to commit.
pub struct Flight {
    acked: JoinHandle<Result<()>>,
    offsets: TopicPartitionList,
}

impl Flight {
    /// Awaits `acked` on a task of its own, so the next batch is read meanwhile.
    pub fn new(
        acked: impl std::future::Future<Output = Result<()>> + Send + 'static,
        offsets: TopicPartitionList,
    ) -> Self {
        Self {
            acked: tokio::spawn(acked),
            offsets,
        }
    }

    /// Waits for every ack, then commits the batch's offsets.
    pub async fn land(self, consumer: &StreamConsumer) -> Result<()> {
        self.acked.await??;
        consumer.commit(&self.offsets, CommitMode::Async)?;
        Ok(())
    }
}

/// The line `cargo xtask e2e` reads: ticks, seconds and CPU seconds since
/// `started` (the first message), and `extra` fields.
pub fn report(seen: u64, started: Option<(Instant, f64)>, extra: &str) {
    let (t0, c0) = started.unwrap_or((Instant::now(), cpu_secs()));
    println!(
        "ticks={seen} secs={:.3} cpu_secs={:.2}{extra}",
        t0.elapsed().as_secs_f64(),
        cpu_secs() - c0
    );
}
