//! The baseline of the end-to-end benchmark (`cargo xtask e2e`): a plain rdkafka
//! consume → produce → commit loop that does no work. It reads `market.ticks` with
//! the host's own client settings (from the same TOML) and batching, writes every
//! value unchanged to `bench.passthrough`, and commits each batch once its records
//! are acknowledged, with one batch in flight, as the host does (the next batch is
//! read while the acks of the one before are awaited).
//!
//! `cargo run --release -p alpha-panda --example passthrough -- CONFIG GROUP COUNT`
//! prints one line: `ticks=N secs=S cpu_secs=C`, timed from the first message to
//! the acknowledgement of the COUNT-th, CPU time of the whole process.

use std::time::{Duration, Instant};

use alpha_panda::config::Config;
use alpha_panda::kafka::settings;
use anyhow::{bail, Context, Result};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

/// User + system CPU seconds of this process (from /proc/self/stat).
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [config, group, count] = args.as_slice() else {
        bail!("usage: passthrough CONFIG GROUP COUNT");
    };
    let config = Config::load(Some(std::path::Path::new(config))).context("config")?;
    let count: u64 = count.parse().context("COUNT")?;
    let bootstrap = config.kafka.bootstrap_servers.clone();
    let consumer: StreamConsumer = settings::consumer(&config, &bootstrap, group).create()?;
    consumer.subscribe(&["market.ticks"])?;
    let producer: FutureProducer = settings::producer(&config, &bootstrap).create()?;
    // Its output topic, as many partitions as the signal topics (exists: fine).
    let admin: AdminClient<DefaultClientContext> = settings::admin(&bootstrap).create()?;
    admin
        .create_topics(
            &[NewTopic::new(
                "bench.passthrough",
                config.topics.signals.partitions,
                TopicReplication::Fixed(1),
            )],
            &AdminOptions::new(),
        )
        .await?;
    let max = config.plugins.max_batch;

    let mut seen = 0u64;
    let mut in_flight = None;
    let mut started: Option<(Instant, f64)> = None;
    while seen < count {
        let first = consumer.recv().await?.detach();
        started.get_or_insert_with(|| (Instant::now(), cpu_secs()));
        let mut batch = vec![first];
        while batch.len() < max {
            match tokio::time::timeout(Duration::from_millis(1), consumer.recv()).await {
                Ok(Ok(m)) => batch.push(m.detach()),
                _ => break,
            }
        }
        let mut next: std::collections::BTreeMap<i32, i64> = Default::default();
        for m in &batch {
            let e = next.entry(m.partition()).or_insert(0);
            *e = (*e).max(m.offset() + 1);
        }
        let mut tpl = TopicPartitionList::new();
        for (p, o) in next {
            tpl.add_partition_offset("market.ticks", p, Offset::Offset(o))?;
        }
        // As the host does: the batch before is acknowledged and committed before
        // this one is sent, and its acks were awaited while this one was read.
        if let Some((acks, tpl)) = in_flight.take() {
            acks.await??;
            consumer.commit(&tpl, CommitMode::Async)?;
        }
        let mut acks = Vec::with_capacity(batch.len());
        for m in &batch {
            let mut r: FutureRecord<'_, [u8], [u8]> = FutureRecord::to("bench.passthrough");
            if let Some(k) = m.key() {
                r = r.key(k);
            }
            if let Some(v) = m.payload() {
                r = r.payload(v);
            }
            acks.push(producer.send_result(r).map_err(|(e, _)| e)?);
        }
        let acked = tokio::spawn(async move {
            for a in acks {
                a.await?.map_err(|(e, _)| e)?;
            }
            Ok::<(), anyhow::Error>(())
        });
        in_flight = Some((acked, tpl));
        seen += batch.len() as u64;
    }
    if let Some((acks, tpl)) = in_flight.take() {
        acks.await??;
        consumer.commit(&tpl, CommitMode::Async)?;
    }
    let (t0, c0) = started.unwrap_or((Instant::now(), cpu_secs()));
    println!(
        "ticks={seen} secs={:.3} cpu_secs={:.2}",
        t0.elapsed().as_secs_f64(),
        cpu_secs() - c0
    );
    Ok(())
}
