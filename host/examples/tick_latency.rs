//! The load and the stopwatch of the scope benchmark (`cargo xtask scope`): writes
//! TICKS ticks of the given instruments (a random walk each, in turn, timestamped
//! as they are written) to `market.ticks` at RATE ticks per second, and reads the
//! signals STRATEGY_ID answers on `paper.signals.raw` as a downstream service
//! would. Tick-to-signal latency is the time from a tick's write to its signal's
//! arrival, on this process's clock.
//!
//! `cargo run --release -p alpha-panda --example tick_latency -- BOOTSTRAP STRATEGY_ID TICKS RATE TOKEN,TOKEN,…`
//! prints one line, once no signal came for 3 s after the last tick:
//! `ticks=N signals=S p50_ms=… p99_ms=… max_ms=…`. With `TICK_LATENCY_DUMP=FILE`
//! it also appends each signal (tick id, instrument, side, price) to FILE, to
//! compare two variants' answers (`SCOPE_DUMP=DIR cargo xtask scope` writes one
//! per variant).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alpha_panda::contract::{EventEnvelope, MarketTick, Timestamp, TradingSignal};
use alpha_panda::feed::tick_envelope;
use anyhow::{bail, Context, Result};
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use rust_decimal::Decimal;

const SIGNALS: &str = "paper.signals.raw";

/// When each tick was written, by envelope id.
type Sent = Arc<Mutex<HashMap<String, Instant>>>;

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// A consumer of every partition of the signals topic from its current end.
fn signal_reader(bootstrap: &str) -> Result<StreamConsumer> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "tick-latency")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "5")
        .create()?;
    let probe: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let meta = probe.fetch_metadata(Some(SIGNALS), Duration::from_secs(10))?;
    let topic = meta
        .topics()
        .first()
        .filter(|t| !t.partitions().is_empty())
        .context("paper.signals.raw does not exist (run `alpha-panda topics create`)")?;
    let mut tpl = TopicPartitionList::new();
    for p in topic.partitions() {
        let (_, high) = probe.fetch_watermarks(SIGNALS, p.id(), Duration::from_secs(10))?;
        tpl.add_partition_offset(SIGNALS, p.id(), Offset::Offset(high))?;
    }
    consumer.assign(&tpl)?;
    Ok(consumer)
}

/// Reads signals of `strategy_id` until `stop`; each one's latency in ms.
async fn read_signals(
    consumer: StreamConsumer,
    strategy_id: String,
    sent: Sent,
    (seen, stop): (Arc<AtomicUsize>, tokio::sync::watch::Receiver<bool>),
) -> Vec<f64> {
    let mut latencies = Vec::new();
    loop {
        let msg = match tokio::time::timeout(Duration::from_millis(200), consumer.recv()).await {
            Ok(Ok(m)) => m,
            Ok(Err(e)) => {
                eprintln!("tick_latency: consume error: {e}");
                continue;
            }
            Err(_) if *stop.borrow() => return latencies,
            Err(_) => continue,
        };
        let arrived = Instant::now();
        let Some(Ok(env)) = msg
            .payload()
            .map(serde_json::from_slice::<EventEnvelope<TradingSignal>>)
        else {
            continue;
        };
        if env.data.strategy_id != strategy_id {
            continue;
        }
        seen.fetch_add(1, Ordering::Relaxed);
        let at = env
            .causation_id
            .as_ref()
            .and_then(|c| sent.lock().ok().and_then(|s| s.get(c).copied()));
        if let Some(at) = at {
            latencies.push(arrived.duration_since(at).as_secs_f64() * 1e3);
        }
        if let Ok(path) = std::env::var("TICK_LATENCY_DUMP") {
            use std::io::Write;
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                let _ = writeln!(
                    f,
                    "{} {} {:?} {}",
                    env.causation_id.as_deref().unwrap_or_default(),
                    env.data.instrument_token,
                    env.data.signal_type,
                    env.data.price.map(|p| p.to_string()).unwrap_or_default()
                );
            }
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bootstrap, strategy_id, ticks, rate, tokens] = args.as_slice() else {
        bail!("usage: tick_latency BOOTSTRAP STRATEGY_ID TICKS RATE TOKEN,TOKEN,…");
    };
    let ticks: u64 = ticks.parse().context("TICKS")?;
    let rate: u64 = rate.parse().context("RATE")?;
    let tokens: Vec<u32> = tokens
        .split(',')
        .map(|t| t.parse().with_context(|| format!("token {t:?}")))
        .collect::<Result<_>>()?;
    if tokens.is_empty() || rate == 0 {
        bail!("at least one token and a rate above 0");
    }
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "1")
        .set("partitioner", "murmur2_random")
        .create()?;
    let sent: Sent = Arc::default();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let seen = Arc::new(AtomicUsize::new(0));
    let reader = tokio::spawn(read_signals(
        signal_reader(bootstrap)?,
        strategy_id.clone(),
        sent.clone(),
        (seen.clone(), stop_rx),
    ));

    // Bursts every 10 ms keep the rate without a timer per tick.
    let per_burst = (rate / 100).max(1);
    let mut prices: Vec<f64> = tokens.iter().map(|_| 1000.0).collect();
    let mut seed = 42u64;
    let started = Instant::now();
    let mut n = 0u64;
    while n < ticks {
        let due = started + Duration::from_secs_f64(n as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let mut acks = Vec::new();
        for _ in 0..per_burst.min(ticks - n) {
            let i = (n % tokens.len() as u64) as usize;
            // xorshift: a step of up to ±0.4 %, the paper feed's volatility.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let u = (seed % 2001) as f64 / 1000.0 - 1.0;
            prices[i] *= 1.0 + 0.004 * u;
            let price = Decimal::from_f64_retain((prices[i] * 20.0).round() / 20.0)
                .unwrap_or(Decimal::ONE_HUNDRED)
                .round_dp(2);
            let env: EventEnvelope<MarketTick> =
                tick_envelope(MarketTick::new(tokens[i], price, Timestamp::now()));
            let payload = env.to_vec().context("tick envelope")?;
            let key = env.key.clone();
            if let Ok(mut s) = sent.lock() {
                s.insert(env.id.clone(), Instant::now());
            }
            let record = FutureRecord::to("market.ticks").key(&key).payload(&payload);
            acks.push(producer.send_result(record).map_err(|(e, _)| e)?);
            n += 1;
        }
        for ack in acks {
            ack.await
                .context("delivery future dropped")?
                .map_err(|(e, _)| e)?;
        }
    }
    // Signals still coming: wait until 3 s pass without one.
    let mut last = 0usize;
    let mut quiet = Instant::now();
    while quiet.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let seen = seen.load(Ordering::Relaxed);
        if seen != last {
            last = seen;
            quiet = Instant::now();
        }
    }
    stop_tx.send(true).ok();
    let mut latencies = reader.await.context("signal reader")?;
    latencies.sort_by(f64::total_cmp);
    println!(
        "ticks={ticks} signals={} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        latencies.len(),
        quantile(&latencies, 0.5),
        quantile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    Ok(())
}
