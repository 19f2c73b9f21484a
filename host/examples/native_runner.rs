//! The native contender of the end-to-end benchmark (`cargo xtask e2e`): what a
//! hand-written Rust runner of the momentum strategy costs on the same broker. It
//! reads `market.ticks` with the host's client settings and batching (from the
//! same TOML), decodes every tick with the host's decoder, runs the momentum
//! strategy linked natively (the SDK's `Runner`, no Wasm) on the ticks of its
//! manifest's instruments, writes each signal as the host's signal envelope (same
//! records, written and retried by the host's outbox) to `bench.native`, and
//! commits each batch once its records are acknowledged, with one batch in
//! flight; a batch is what the consumer has queued, as the host takes it. No
//! dedup store, no state, no isolation: the floor the host is measured against.
//!
//! `cargo run --release -p alpha-panda --example native_runner -- CONFIG GROUP COUNT MANIFEST`
//! prints one line: `ticks=N secs=S cpu_secs=C signals=K`, timed from the first
//! message to the acknowledgement of the COUNT-th, CPU time of the whole process.

#[path = "common/contender.rs"]
mod contender;
#[path = "../benches/common/native.rs"]
#[allow(dead_code)]
mod native;

use std::collections::HashSet;
use std::time::Instant;

use alpha_panda::artifacts::Artifacts;
use alpha_panda::config::Config;
use alpha_panda::contract::{decode_tick, EventEnvelope, MarketTick, Timestamp};
use alpha_panda::emit::{signal_envelope, signal_record};
use alpha_panda::kafka::outbox::{self, OutRecord};
use alpha_panda::manifest::Manifest;
use alpha_panda::strategy::set::SetOutput;
use alpha_panda::wasm::output::{check_price, StrategySignal};
use alpha_panda_sdk::runner::{Emitted, Output};
use anyhow::{bail, Context, Result};
use futures::FutureExt;
use rdkafka::message::Message;

const TOPIC: &str = "bench.native";

/// The SDK's signal as the host's output of the strategy, for its envelope (its
/// price checked as the host checks a plugin's).
fn set_output(e: &Emitted, tick: &MarketTick, strategy_id: &str, sha256: &str) -> SetOutput {
    let s = &e.signal;
    SetOutput {
        tick_pos: 0,
        strategy_id: strategy_id.to_owned(),
        sha256: sha256.to_owned(),
        artifacts: Artifacts::default(),
        index: 0,
        signal: StrategySignal {
            tick_index: e.tick_index,
            instrument_token: s.instrument_token.unwrap_or(tick.instrument_token),
            side: s.side,
            quantity: s.quantity,
            price: s.price.and_then(|p| check_price(&p.into()).ok()),
            confidence: s.confidence,
            metadata: s.metadata.clone(),
        },
    }
}

/// The signal records of one decoded tick, as the host writes them.
fn signal_records(
    env: &EventEnvelope<MarketTick>,
    out: &Output,
    config: &Config,
    manifest: &Manifest,
) -> Result<Vec<OutRecord>> {
    let now = Timestamp::now();
    let mut records = Vec::with_capacity(out.signals.len());
    for e in &out.signals {
        let so = set_output(e, &env.data, &manifest.strategy_id, "native");
        let signal = signal_envelope(env, &so, config.broker, &config.service, now);
        records.push(signal_record(signal, TOPIC, 0)?);
    }
    Ok(records)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [config, group, count, manifest] = args.as_slice() else {
        bail!("usage: native_runner CONFIG GROUP COUNT MANIFEST");
    };
    let count: u64 = count.parse().context("COUNT")?;
    let manifest = Manifest::load(std::path::Path::new(manifest)).context("manifest")?;
    let instruments: HashSet<u32> = manifest.instruments.iter().copied().collect();
    let mut runner = native::native_runner(&manifest);
    let contender::Clients {
        config,
        consumer,
        producer,
    } = contender::Clients::new(config, group, TOPIC).await?;
    let max = config.plugins.max_batch;

    let (mut seen, mut signals) = (0u64, 0u64);
    let mut in_flight: Option<contender::Flight> = None;
    let mut started: Option<(Instant, f64)> = None;
    let mut out = Output::new();
    while seen < count {
        let first = consumer.recv().await?.detach();
        started.get_or_insert_with(|| (Instant::now(), contender::cpu_secs()));
        // What is queued already, as the host fetches (the passthrough waits up
        // to 1 ms for each next message instead).
        let mut batch = vec![first];
        while batch.len() < max {
            match consumer.recv().now_or_never() {
                Some(Ok(m)) => batch.push(m.detach()),
                _ => break,
            }
        }
        let offsets = contender::next_offsets(&batch)?;
        let mut records = Vec::new();
        for m in &batch {
            // A tick that does not decode is skipped (the host sends it to the DLQ).
            let Some(env) = m.payload().and_then(|v| decode_tick(v).ok()) else {
                continue;
            };
            if !instruments.contains(&env.data.instrument_token) {
                continue;
            }
            // A tick the plugin ABI cannot carry is skipped (the host DLQs it).
            let Ok(data) = native::tick_data(&env.data) else {
                continue;
            };
            out.signals.clear();
            out.errors.clear();
            runner.on_tick(0, &data.as_tick(), &mut out);
            records.extend(signal_records(&env, &out, &config, &manifest)?);
        }
        // As the host does: the batch before is acknowledged and committed before
        // this one is sent, and its acks were awaited while this one was read.
        if let Some(flight) = in_flight.take() {
            flight.land(&consumer).await?;
        }
        signals += records.len() as u64;
        // Written, acked and retried as the host writes its records.
        let enqueued = outbox::enqueue(&producer, records);
        let (p, scale) = (producer.clone(), config.delivery.retry_scale);
        let acked = async move {
            let (undelivered, _) = outbox::deliver_enqueued(&p, enqueued, scale).await;
            match undelivered.first() {
                None => Ok(()),
                Some(u) => bail!("{} signals not written: {}", undelivered.len(), u.error),
            }
        };
        in_flight = Some(contender::Flight::new(acked, offsets));
        seen += batch.len() as u64;
    }
    if let Some(flight) = in_flight.take() {
        flight.land(&consumer).await?;
    }
    contender::report(seen, started, &format!(" signals={signals}"));
    Ok(())
}
