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

#[path = "common/contender.rs"]
mod contender;

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [config, group, count] = args.as_slice() else {
        bail!("usage: passthrough CONFIG GROUP COUNT");
    };
    let count: u64 = count.parse().context("COUNT")?;
    let contender::Clients {
        config,
        consumer,
        producer,
    } = contender::Clients::new(config, group, "bench.passthrough").await?;
    let max = config.plugins.max_batch;

    let mut seen = 0u64;
    let mut in_flight: Option<contender::Flight> = None;
    let mut started: Option<(Instant, f64)> = None;
    while seen < count {
        let first = consumer.recv().await?.detach();
        started.get_or_insert_with(|| (Instant::now(), contender::cpu_secs()));
        let mut batch = vec![first];
        while batch.len() < max {
            match tokio::time::timeout(Duration::from_millis(1), consumer.recv()).await {
                Ok(Ok(m)) => batch.push(m.detach()),
                _ => break,
            }
        }
        let offsets = contender::next_offsets(&batch)?;
        // As the host does: the batch before is acknowledged and committed before
        // this one is sent, and its acks were awaited while this one was read.
        if let Some(flight) = in_flight.take() {
            flight.land(&consumer).await?;
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
        let acked = async move {
            for a in acks {
                a.await?.map_err(|(e, _)| e)?;
            }
            Ok(())
        };
        in_flight = Some(contender::Flight::new(acked, offsets));
        seen += batch.len() as u64;
    }
    if let Some(flight) = in_flight.take() {
        flight.land(&consumer).await?;
    }
    contender::report(seen, started, "");
    Ok(())
}
