//! The counter strategy's answers read live, for the tests that kill a host or the
//! broker: a reader thread that tallies the signals of one strategy per tick, the
//! feed's producer, sending rounds of ticks, and checking each signal's count
//! against its tick's place in its partition.

use std::collections::HashMap;
use std::path::Path;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alpha_panda::topics::partition_of as java_partition;
use rdkafka::consumer::BaseConsumer;
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;
use rdkafka::ClientConfig;

use super::child::{log_tails, metric};
use super::{from_beginning, Ticks, TICK_PARTITIONS};

/// Signal ids per answered tick id, as one reader saw them.
#[derive(Default)]
pub struct Tally {
    pub by_tick: HashMap<String, Vec<String>>,
    /// The counter strategy's `count` of each signal, per answered tick.
    pub counts: HashMap<String, Vec<u64>>,
    pub records: usize,
}

/// Reads `paper.signals.raw` from the beginning on its own thread, keeping the
/// signals of `strategy_id`.
pub struct SignalReader {
    pub tally: Arc<Mutex<Tally>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SignalReader {
    pub fn start(bootstrap: &str, strategy_id: &str, read_committed: bool) -> SignalReader {
        let consumer: BaseConsumer =
            from_beginning(bootstrap, &["paper.signals.raw"], read_committed);
        let tally = Arc::new(Mutex::new(Tally::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (t, s, sid) = (tally.clone(), stop.clone(), strategy_id.to_owned());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) else {
                    continue;
                };
                let Some(v) = m
                    .payload()
                    .and_then(|p| serde_json::from_slice::<serde_json::Value>(p).ok())
                else {
                    continue;
                };
                if v["data"]["strategy_id"] != sid.as_str() {
                    continue;
                }
                let (Some(cause), Some(id)) = (v["causation_id"].as_str(), v["id"].as_str()) else {
                    continue;
                };
                let count = v["data"]["metadata"]["count"]
                    .as_str()
                    .and_then(|c| c.parse::<u64>().ok())
                    .unwrap_or(0);
                let mut t = t.lock().expect("tally");
                t.records += 1;
                t.counts.entry(cause.to_owned()).or_default().push(count);
                t.by_tick
                    .entry(cause.to_owned())
                    .or_default()
                    .push(id.to_owned());
            }
        });
        SignalReader {
            tally,
            stop,
            thread: Some(thread),
        }
    }

    pub fn answered(&self) -> usize {
        self.tally.lock().expect("tally").by_tick.len()
    }
}

impl Drop for SignalReader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The feed's producer: batches of many records, as a market feed writes them;
/// idempotent, so a retried batch cannot land behind a later one.
pub fn tick_producer(bootstrap: &str) -> rdkafka::producer::FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "5")
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .create()
        .expect("tick producer")
}

/// The ticks a test sent: their ids in send order, and where each landed.
#[derive(Default)]
pub struct Sent {
    pub ids: Vec<String>,
    /// `(partition, offset)` of each tick, as its delivery report said.
    pub at: Vec<(i32, i64)>,
}

impl Sent {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Each tick's place (from 1) among the sent ticks of its partition, by offset.
    pub fn places(&self) -> Vec<u64> {
        let mut order: Vec<usize> = (0..self.at.len()).collect();
        order.sort_by_key(|&i| self.at[i]);
        let mut places = vec![0; self.at.len()];
        let mut position: HashMap<i32, u64> = HashMap::new();
        for i in order {
            let k = position.entry(self.at[i].0).or_insert(0);
            *k += 1;
            places[i] = *k;
        }
        places
    }
}

/// The signals whose count is not their tick's place among the sent ticks of its
/// partition: `(partition, place, count)`.
pub fn wrong_counts(sent: &Sent, tally: &Tally) -> Vec<(i32, u64, u64)> {
    let mut wrong = Vec::new();
    for ((id, (p, _)), place) in sent.ids.iter().zip(&sent.at).zip(sent.places()) {
        for &count in tally.counts.get(id).map(Vec::as_slice).unwrap_or_default() {
            if count != place {
                wrong.push((*p, place, count));
            }
        }
    }
    wrong
}

/// Sends `n` ticks over `tokens` (in turn) and waits for every ack; records each
/// tick's id and where it landed (the partition Kafka's partitioner gives its key).
pub async fn send_ticks(
    producer: &rdkafka::producer::FutureProducer,
    ticks: &mut Ticks,
    tokens: &[u32],
    n: usize,
    sent: &mut Sent,
) {
    let mut pending = Vec::with_capacity(n);
    for i in 0..n {
        // In turn over the whole stream, so every round spreads alike.
        let token = tokens[(sent.len() + i) % tokens.len()];
        let env = ticks.next(token);
        let bytes = env.to_vec().expect("encode tick");
        let record: FutureRecord<'_, str, [u8]> = FutureRecord::to("market.ticks")
            .key(env.key.as_str())
            .payload(&bytes);
        let delivery = producer
            .send_result(record)
            .map_err(|(e, _)| e)
            .expect("queue tick");
        pending.push((env.id, token, delivery));
    }
    for (id, token, d) in pending {
        let (partition, offset) = d
            .await
            .expect("delivery future")
            .map(|d| (d.partition, d.offset))
            .map_err(|(e, _)| e)
            .expect("tick written");
        assert_eq!(
            partition,
            java_partition(token.to_string().as_bytes(), TICK_PARTITIONS),
            "ticks land where Kafka's partitioner puts their key"
        );
        sent.ids.push(id);
        sent.at.push((partition, offset));
    }
}

/// Waits until every tick of `ids` has a signal of the reader's strategy.
pub async fn wait_answered(
    reader: &SignalReader,
    ids: &[String],
    what: &str,
    dir: &Path,
    run: u32,
) {
    let until = Instant::now() + Duration::from_secs(90);
    loop {
        let done = {
            let t = reader.tally.lock().expect("tally");
            ids.iter().filter(|id| t.by_tick.contains_key(*id)).count()
        };
        if done == ids.len() {
            return;
        }
        assert!(
            Instant::now() < until,
            "{what}: {done} of {} ticks answered in 90 s\n{}",
            ids.len(),
            log_tails(dir, run..=run)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until a child host has consumed at least `target` ticks; returns its count.
pub async fn wait_consumed(
    child: &mut Child,
    port: u16,
    dir: &Path,
    run: u32,
    target: usize,
) -> usize {
    let until = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            panic!(
                "host run {run} exited by itself ({s})\n{}",
                log_tails(dir, run..=run)
            );
        }
        let n = metric(port, "alpha_panda_ticks_consumed_total").unwrap_or(0.0) as usize;
        if n >= target {
            return n;
        }
        assert!(
            Instant::now() < until,
            "host run {run} consumed {n} of {target} ticks in 90 s\n{}",
            log_tails(dir, run..=run)
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
