//! Broker faults the real test broker cannot script, injected with librdkafka's
//! mock cluster: the only broker down for 10 s mid-stream, signal partitions
//! 's leader down and produce requests refused past the delivery timeout, offset commits refused, and the group coordinator moving between
//! brokers. Each scenario streams ticks before, during and after the fault and
//! ends with every tick answered, duplicates only with identical ids, and the
//! group's committed offsets at the end of every partition (nothing skipped,
//! nothing left to re-read).
//!
//! Each test owns its cluster, so `market.ticks` holds only its own ticks.

mod pipeline_support;

use std::collections::BTreeMap;
use std::time::Duration;

use alpha_panda::config::Config;
use alpha_panda::state::StateRecord;
use alpha_panda::topics::TopicRegistry;
use pipeline_support::child::metric;
use pipeline_support::*;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::{MockCluster, MockCoordinator};
use rdkafka::producer::{DefaultProducerContext, DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// Ticks written before, during and after the fault.
const BEFORE: usize = 150;
const DURING: usize = 400;
const AFTER: usize = 150;
/// Instruments the ticks are spread over (so every tick partition is used).
const INSTRUMENTS: usize = 8;

/// One scenario's cluster, host and bookkeeping.
struct Scenario {
    cluster: MockCluster<'static, DefaultProducerContext>,
    bootstrap: String,
    config: Config,
    sid: String,
    tokens: Vec<u32>,
    ticks: Ticks,
    sent: Vec<String>,
    producer: FutureProducer,
    reader: Option<Reader>,
    metrics_port: u16,
    _dir: tempfile::TempDir,
}

impl Scenario {
    async fn new(label: &str, brokers: i32) -> Scenario {
        // The host's log lines go with the test's output (shown when it fails).
        let _ = tracing_subscriber::fmt()
            .with_env_filter("alpha_panda=info,librdkafka=warn")
            .with_test_writer()
            .try_init();
        let cluster = MockCluster::new(brokers).expect("mock cluster");
        let bootstrap = cluster.bootstrap_servers();
        let dir = temp();
        let sid = name(label);
        let tokens: Vec<u32> = (0..INSTRUMENTS).map(|_| token()).collect();
        let plugins = dir.path().join("plugins");
        counter_plugin(&plugins, "counter", &sid, &["paper"], &tokens, 1);
        let mut config = config(
            &bootstrap,
            "paper",
            &name(&format!("svc_{label}")),
            &plugins,
            &dir.path().join("cache"),
        );
        // The contract's retry delays, scaled down less than in the other tests:
        // a fault must outlast several in-place retries.
        config.delivery.retry_scale = 0.05;
        let metrics_port = alpha_panda_tests::free_port();
        config.metrics.listen = format!("127.0.0.1:{metrics_port}");
        // The mock cluster takes topics through its own API (its CreateTopics
        // handler does not answer librdkafka's admin client).
        for t in TopicRegistry::new(&config.topics).all_topics() {
            cluster
                .create_topic(&t.name, t.partitions, 1)
                .expect("create topic");
        }
        let producer = producer(&bootstrap);
        Scenario {
            cluster,
            bootstrap,
            config,
            sid,
            tokens,
            ticks: Ticks::new(7),
            sent: Vec::new(),
            producer,
            reader: None,
            metrics_port,
            _dir: dir,
        }
    }

    fn group(&self) -> String {
        TopicRegistry::new(&self.config.topics).group_id(&self.config.service, self.config.broker)
    }

    /// Queues `n` ticks round-robin over the instruments, `pace` apart, without
    /// waiting for any to be acknowledged (a feed keeps writing while a broker is
    /// away; its client buffers). Returns their deliveries.
    async fn queue(&mut self, n: usize, pace: Duration) -> Vec<DeliveryFuture> {
        let mut pending = Vec::with_capacity(n);
        for _ in 0..n {
            let tok = self.tokens[self.sent.len() % self.tokens.len()];
            let env = self.ticks.next(tok);
            let bytes = env.to_vec().expect("encode tick");
            let record: FutureRecord<'_, str, [u8]> = FutureRecord::to("market.ticks")
                .key(env.key.as_str())
                .payload(&bytes);
            let delivery = self
                .producer
                .send_result(record)
                .map_err(|(e, _)| e)
                .expect("queue tick");
            pending.push(delivery);
            self.sent.push(env.id.clone());
            if !pace.is_zero() {
                tokio::time::sleep(pace).await;
            }
        }
        pending
    }

    /// Like [`Scenario::queue`], then waits until every tick is acknowledged.
    async fn stream(&mut self, n: usize, pace: Duration) {
        acknowledged(self.queue(n, pace).await).await;
    }

    /// The sum of a metric's samples on the host's `/metrics`.
    fn metric(&self, name: &str) -> f64 {
        metric(self.metrics_port, name).unwrap_or(0.0)
    }

    /// Reads the signals topic until every tick sent so far is answered.
    async fn answered(&mut self, limit: Duration) -> bool {
        let sid = self.sid.clone();
        self.answered_by(&sid, limit).await
    }

    /// Reads the signals topic until `strategy_id` answered every tick sent so far.
    async fn answered_by(&mut self, strategy_id: &str, limit: Duration) -> bool {
        let reader = self
            .reader
            .get_or_insert_with(|| Reader::new(&self.bootstrap, &["paper.signals.raw"], false));
        reader.until_answered(limit, strategy_id, &self.sent).await
    }

    /// The checks every scenario ends with, after the host stopped.
    async fn verify(&mut self, host: RunningHost) {
        assert!(
            self.answered(Duration::from_secs(90)).await,
            "not every tick was answered: {} sent",
            self.sent.len()
        );
        let summary = host.stop();
        assert!(
            summary.ticks >= self.sent.len() as u64,
            "the host saw fewer ticks than were sent: {summary:?}"
        );
        let reader = self.reader.as_mut().expect("reader");
        reader.pump(Duration::from_millis(500)).await;
        let signals = signals_of(&reader.records, &self.sid);
        let by_tick = causations(&signals);
        assert_eq!(
            by_tick.len(),
            self.sent.len(),
            "one answered tick per tick sent"
        );
        for (tick, ids) in &by_tick {
            assert!(
                ids.iter().all(|id| id == &ids[0]),
                "a tick answered twice with different ids: {tick} -> {ids:?}"
            );
        }
        let (committed, ends) = committed_and_ends(&self.bootstrap, &self.group());
        assert_eq!(
            committed, ends,
            "the group's committed offsets are not at the end of market.ticks"
        );
    }
}

/// Waits until every delivery is acknowledged.
async fn acknowledged(pending: Vec<DeliveryFuture>) {
    for d in pending {
        d.await
            .expect("delivery future")
            .map_err(|(e, _)| e)
            .expect("tick written");
    }
}

/// The group's committed offset and the high watermark of every `market.ticks`
/// partition.
fn committed_and_ends(bootstrap: &str, group: &str) -> (BTreeMap<i32, i64>, BTreeMap<i32, i64>) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("offsets consumer");
    let md = consumer
        .fetch_metadata(Some("market.ticks"), Duration::from_secs(10))
        .expect("metadata");
    let n = md.topics()[0].partitions().len() as i32;
    let mut tpl = TopicPartitionList::new();
    let mut ends = BTreeMap::new();
    for p in 0..n {
        tpl.add_partition("market.ticks", p);
        let (_, high) = consumer
            .fetch_watermarks("market.ticks", p, Duration::from_secs(10))
            .expect("watermarks");
        ends.insert(p, high);
    }
    let committed = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .expect("committed offsets");
    let committed = committed
        .elements()
        .iter()
        .map(|e| {
            let o = match e.offset() {
                Offset::Offset(o) => o,
                _ => 0,
            };
            (e.partition(), o)
        })
        .collect();
    (committed, ends)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_only_broker_down_for_ten_seconds_mid_stream() {
    let mut s = Scenario::new("down", 1).await;
    let host = RunningHost::start(s.config.clone());
    s.stream(20, Duration::ZERO).await;
    assert!(s.answered(WAIT).await, "before the fault");
    // Down while the host is busy with these: consuming, producing, committing.
    s.stream(BEFORE, Duration::ZERO).await;
    s.cluster.broker_down(-1).expect("broker down");
    // The feed keeps writing into its client's buffer while the broker is away.
    let down = std::time::Instant::now();
    let queued = s.queue(DURING, Duration::from_millis(20)).await;
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(down.elapsed())).await;
    assert!(
        !s.answered(Duration::from_millis(10)).await,
        "ticks written while the broker was down cannot have been answered yet"
    );
    assert_running(&host);
    s.cluster.broker_up(-1).expect("broker up");
    acknowledged(queued).await;
    s.stream(AFTER, Duration::from_millis(2)).await;
    s.verify(host).await;
}

/// The host is still running (it did not give up while the broker was away).
fn assert_running(host: &RunningHost) {
    if let Some(r) = host.try_result() {
        panic!("the host stopped while the broker was down: {r:?}");
    }
}

/// The broker leading every signal partition in [`signals_led_apart`].
const SIGNALS_LEADER: i32 = 3;

/// On a three-broker cluster: ticks, the DLQ, the state and the group on
/// brokers 1 and 2; signals led by [`SIGNALS_LEADER`], so taking it down holds
/// the host's signals and nothing else.
fn signals_led_apart(s: &Scenario) {
    for t in TopicRegistry::new(&s.config.topics).all_topics() {
        for p in 0..t.partitions {
            let leader = if t.name == "paper.signals.raw" {
                SIGNALS_LEADER
            } else {
                1 + p % 2
            };
            s.cluster
                .partition_leader(&t.name, p, Some(leader))
                .expect("leader");
        }
    }
    s.cluster
        .coordinator(MockCoordinator::Group(s.group()), 1)
        .expect("coordinator");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signal_leader_down_and_produce_refused_past_the_delivery_timeout() {
    let mut s = Scenario::new("produce_err", 3).await;
    signals_led_apart(&s);
    // librdkafka gives a signal up after 1.5 s: the outage below outlasts that
    // several times, so the host's own retry path (not only librdkafka's) must
    // carry every signal through.
    s.config
        .kafka
        .producer
        .insert("delivery.timeout.ms".into(), "1500".into());
    let host = RunningHost::start(s.config.clone());
    s.stream(BEFORE, Duration::ZERO).await;
    assert!(s.answered(WAIT).await, "before the fault");

    // The broker leading every signal partition goes away (the mock cluster
    // crashes on a fetch from a leaderless partition, so the leader is taken
    // down rather than removed), and then the next produce requests fail with
    // retriable errors.
    use RDKafkaRespErr::*;
    let mut errors = Vec::new();
    for _ in 0..10 {
        errors.extend([
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
            RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
        ]);
    }
    s.cluster.broker_down(SIGNALS_LEADER).expect("broker down");
    let lost = std::time::Instant::now();
    s.stream(DURING, Duration::from_millis(2)).await;
    // Armed once the feed's ticks are in (the feed's producer would otherwise
    // take them): the host's produce requests meet them when the leader is back.
    s.cluster.request_errors(RDKafkaApiKey::Produce, &errors);
    tokio::time::sleep(Duration::from_secs(6).saturating_sub(lost.elapsed())).await;
    assert!(
        !s.answered(Duration::from_millis(10)).await,
        "signals cannot be written while their leader is down"
    );
    assert_running(&host);
    s.cluster.broker_up(SIGNALS_LEADER).expect("broker up");
    s.stream(AFTER, Duration::from_millis(2)).await;
    assert!(s.answered(WAIT).await, "after the fault");
    assert!(
        s.metric("alpha_panda_produce_retries_total") > 0.0,
        "the host's own produce retries were used"
    );
    s.cluster.clear_request_errors(RDKafkaApiKey::Produce);
    s.verify(host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_commits_refused_mid_stream() {
    let mut s = Scenario::new("commit_err", 1).await;
    let host = RunningHost::start(s.config.clone());
    s.stream(BEFORE, Duration::ZERO).await;
    assert!(s.answered(WAIT).await, "before the fault");

    use RDKafkaRespErr::*;
    let mut errors = Vec::new();
    for _ in 0..8 {
        errors.extend([
            RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
            RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
            // Not retried by librdkafka: these reach the host (librdkafka's
            // COMMITFAIL line), and the last one makes the member rejoin the group.
            RD_KAFKA_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE,
            RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
        ]);
    }
    s.cluster
        .request_errors(RDKafkaApiKey::OffsetCommit, &errors);
    s.stream(DURING, Duration::from_millis(3)).await;
    assert!(s.answered(WAIT).await, "during the fault");
    assert!(
        s.metric("alpha_panda_commit_failures_total") > 0.0,
        "the refused commits reached the host"
    );
    s.cluster.clear_request_errors(RDKafkaApiKey::OffsetCommit);
    s.stream(AFTER, Duration::from_millis(2)).await;
    s.verify(host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_group_coordinator_moves_twice_mid_stream() {
    let mut s = Scenario::new("coord_move", 3).await;
    let group = s.group();
    s.cluster
        .coordinator(MockCoordinator::Group(group.clone()), 1)
        .expect("coordinator 1");
    let host = RunningHost::start(s.config.clone());
    s.stream(BEFORE, Duration::ZERO).await;
    assert!(s.answered(WAIT).await, "before the fault");

    s.cluster
        .coordinator(MockCoordinator::Group(group.clone()), 2)
        .expect("coordinator 2");
    s.stream(DURING / 2, Duration::from_millis(3)).await;
    s.cluster
        .coordinator(MockCoordinator::Group(group), 3)
        .expect("coordinator 3");
    s.stream(DURING / 2, Duration::from_millis(3)).await;
    s.stream(AFTER, Duration::from_millis(2)).await;
    s.verify(host).await;
}

/// Exactly-once on the mock cluster, which has transactions (tansu 0.6.0 has no
/// EndTxn): signals and strategy state go in the host's transactions. Across a
/// clean restart a read_committed reader sees every tick answered once, and the
/// counting strategy continues exactly where it stopped on every partition (the
/// k-th tick of a partition carries count k). The mock cluster keeps no
/// transactional offsets (the group's offsets read back empty), so the restarted
/// host reads from the log start: the state records, committed in the same
/// transactions, say which ticks were answered, and those are not run again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_state_survives_a_restart() {
    let mut s = Scenario::new("eos_state", 1).await;
    s.config.delivery.mode = alpha_panda::config::DeliveryMode::ExactlyOnce;
    s.config.delivery.instance_id = name("eos");
    s.config.state.every_ms = 100;
    s.reader = Some(Reader::new(&s.bootstrap, &["paper.signals.raw"], true));
    let host = RunningHost::start(s.config.clone());
    s.stream(300, Duration::from_millis(2)).await;
    assert!(s.answered(Duration::from_secs(60)).await, "first run");
    let first = host.stop();
    // Written while no host runs.
    s.stream(200, Duration::ZERO).await;
    let host = RunningHost::start(s.config.clone());
    assert!(s.answered(Duration::from_secs(60)).await, "second run");
    let reader = s.reader.as_mut().expect("reader");
    reader.pump(Duration::from_millis(500)).await;
    host.stop();
    assert!(first.signals >= 300, "{first:?}");

    let signals = signals_of(&reader.records, &s.sid);
    assert_eq!(signals.len(), s.sent.len(), "each tick answered once");
    let counts = counts_by_tick(&s);
    for (id, (p, k)) in s.sent.iter().zip(places(&s)) {
        assert_eq!(
            counts.get(id),
            Some(&vec![k]),
            "tick {k} of partition {p}: one signal, counted in place"
        );
    }
}

/// The `market.ticks` partition and the place in it (from 1) of each tick sent.
fn places(s: &Scenario) -> Vec<(i32, u64)> {
    let mut place: BTreeMap<i32, u64> = BTreeMap::new();
    (0..s.sent.len())
        .map(|i| {
            let token = s.tokens[i % s.tokens.len()];
            let p =
                alpha_panda::topics::partition_of(token.to_string().as_bytes(), TICK_PARTITIONS);
            let k = place.entry(p).or_insert(0);
            *k += 1;
            (p, *k)
        })
        .collect()
}

/// The counter strategy's counts on each tick answered, by tick id.
fn counts_by_tick(s: &Scenario) -> BTreeMap<String, Vec<u64>> {
    let reader = s.reader.as_ref().expect("reader");
    let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (_, v) in signals_of(&reader.records, &s.sid) {
        let count = v["data"]["metadata"]["count"]
            .as_str()
            .and_then(|c| c.parse::<u64>().ok())
            .unwrap_or(0);
        out.entry(v["causation_id"].as_str().unwrap_or_default().to_owned())
            .or_default()
            .push(count);
    }
    out
}

/// The state topic cannot be read when a host gains its partitions (they have no
/// leader): the strategies run from `init`, and their records are neither lost
/// nor written over. Once the topic answers again the host reads the records,
/// replays the ticks it ran since, and the counts are exact again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_unreadable_at_a_gain_is_read_again_and_restored() {
    const STATE: &str = "paper.strategy.state";
    let mut s = Scenario::new("unread_state", 1).await;
    s.config.state.every_ms = 200;
    s.config.state.load_timeout_ms = 1000;
    let host = RunningHost::start(s.config.clone());
    s.stream(200, Duration::ZERO).await;
    assert!(s.answered(WAIT).await, "first run");
    host.stop();
    let first = s.sent.len();

    for p in 0..TICK_PARTITIONS {
        s.cluster
            .partition_leader(STATE, p, None)
            .expect("state partition without a leader");
    }
    let host = RunningHost::start(s.config.clone());
    s.stream(200, Duration::ZERO).await;
    assert!(s.answered(WAIT).await, "while the state cannot be read");
    assert!(
        s.metric("alpha_panda_state_failures_total") >= 1.0,
        "the failed read is counted"
    );
    assert_eq!(s.metric("alpha_panda_state_restores_total"), 0.0);
    let second = s.sent.len();

    for p in 0..TICK_PARTITIONS {
        s.cluster
            .partition_leader(STATE, p, Some(1))
            .expect("state partition leader back");
    }
    let until = std::time::Instant::now() + WAIT;
    while s.metric("alpha_panda_state_restores_total") < TICK_PARTITIONS as f64 {
        assert!(
            std::time::Instant::now() < until,
            "the state was not read again once the topic answered: {} restores",
            s.metric("alpha_panda_state_restores_total")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.stream(200, Duration::ZERO).await;
    assert!(s.answered(WAIT).await, "after the state was read");
    let reader = s.reader.as_mut().expect("reader");
    reader.pump(Duration::from_millis(500)).await;
    host.stop();

    let counts = counts_by_tick(&s);
    let mut first_run: BTreeMap<i32, u64> = BTreeMap::new();
    for (i, (id, (p, k))) in s.sent.iter().zip(places(&s)).enumerate() {
        if i < first {
            first_run.insert(p, k);
        }
        let expected = if (first..second).contains(&i) {
            // From `init` while the state could not be read.
            k - first_run.get(&p).copied().unwrap_or(0)
        } else {
            k
        };
        let got = counts.get(id).cloned().unwrap_or_default();
        assert!(
            !got.is_empty() && got.iter().all(|c| *c == expected),
            "tick {i} (place {k} of partition {p}): counts {got:?}, expected {expected}"
        );
    }
}

/// The group coordinator answers every request 5 s late (heartbeats still
/// inside the 6 s session), so each commit with strategy state takes 5 s. The
/// ticks do not wait for it: every tick written over 6 s is answered within 2 s
/// of the last one, and once the coordinator is quick again everything is
/// committed as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_group_coordinator_holds_up_no_tick() {
    const COORDINATOR: i32 = 1;
    let mut s = Scenario::new("slow_coord", 3).await;
    // Every topic on brokers 2 and 3; the group alone on broker 1.
    for t in TopicRegistry::new(&s.config.topics).all_topics() {
        for p in 0..t.partitions {
            s.cluster
                .partition_leader(&t.name, p, Some(2 + p % 2))
                .expect("leader");
        }
    }
    s.cluster
        .coordinator(MockCoordinator::Group(s.group()), COORDINATOR)
        .expect("coordinator");
    s.config.state.every_ms = 100;
    // The coordinator answers one request at a time: a heartbeat queued behind
    // 5 s commits would outlast the rig's 6 s session. This test is about the
    // ticks not waiting for commits, not about sessions.
    for (k, v) in [
        ("session.timeout.ms", "30000"),
        ("max.poll.interval.ms", "60000"),
    ] {
        s.config.kafka.consumer.insert(k.into(), v.into());
    }
    // A strategy-scoped counter beside the instrument-scoped one: its unit
    // commits with its state too.
    let scoped = name("slow_coord_scoped");
    let instruments: Vec<String> = s.tokens.iter().map(u32::to_string).collect();
    install_plugin(
        &s.config.plugins.dir,
        "scoped",
        "hostile",
        &format!(
            "strategy_id = \"{scoped}\"\nbrokers = [\"paper\"]\ninstruments = [{}]\nscope = \"strategy\"\n\n[params]\nmode = \"counter\"\nversion = 1\n",
            instruments.join(", ")
        ),
    );
    let host = RunningHost::start(s.config.clone());
    s.stream(BEFORE, Duration::ZERO).await;
    assert!(s.answered(WAIT).await, "before the fault");
    assert!(
        s.answered_by(&scoped, WAIT).await,
        "before the fault, scoped"
    );

    let written = s.metric("alpha_panda_state_writes_total");
    s.cluster
        .broker_round_trip_time(COORDINATOR, Duration::from_secs(5))
        .expect("slow coordinator");
    s.stream(300, Duration::from_millis(20)).await;
    assert!(
        s.answered(Duration::from_secs(2)).await,
        "ticks waited for the group coordinator"
    );
    assert!(
        s.answered_by(&scoped, Duration::from_secs(2)).await,
        "the strategy-scoped unit's ticks waited for the group coordinator"
    );
    until(&s, "state written while the coordinator is slow", |s| {
        s.metric("alpha_panda_state_writes_total") > written
    })
    .await;
    assert_running(&host);
    s.cluster
        .broker_round_trip_time(COORDINATOR, Duration::ZERO)
        .expect("quick coordinator");
    s.stream(AFTER, Duration::from_millis(2)).await;
    s.verify(host).await;
}

/// A partition lost and gained again while batches of its old ownership still
/// wait for their signals' acks (their leader is down): the host reads the
/// partition's state again and re-reads its ticks from the committed offset. The
/// re-read ticks of those batches are fed to the restored strategy (their
/// signals are already on their way), so every count stays exact: the k-th
/// tick of a partition is answered with k, before, during and after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_regained_while_its_old_batches_wait_for_acks() {
    let mut s = Scenario::new("regain_held", 3).await;
    signals_led_apart(&s);
    s.config.state.every_ms = 100;
    let host = RunningHost::start(s.config.clone());
    s.stream(BEFORE, Duration::ZERO).await;
    assert!(s.answered(WAIT).await, "before the fault");
    until(&s, "every partition's state written", |s| {
        s.metric("alpha_panda_state_writes_total") >= TICK_PARTITIONS as f64
    })
    .await;

    s.cluster.broker_down(SIGNALS_LEADER).expect("broker down");
    s.stream(DURING / 4, Duration::ZERO).await;
    let sent = s.sent.len() as f64;
    until(&s, "the held ticks consumed", |s| {
        s.metric("alpha_panda_ticks_consumed_total") >= sent
    })
    .await;
    // A second member joins and leaves: every partition is revoked twice and
    // gained again, some at once, the others when the member is gone.
    let restores = s.metric("alpha_panda_state_restores_total");
    let member = group_member(&s.bootstrap, &s.group());
    until(&s, "the host restored its share", |s| {
        s.metric("alpha_panda_state_restores_total") > restores
    })
    .await;
    let restores = s.metric("alpha_panda_state_restores_total");
    member.unsubscribe();
    drop(member);
    until(&s, "the host owns every partition again", |s| {
        s.metric("alpha_panda_assigned_partitions") == TICK_PARTITIONS as f64
            && s.metric("alpha_panda_state_restores_total") > restores
    })
    .await;
    assert!(
        !s.answered(Duration::from_millis(10)).await,
        "signals cannot be written while their leader is down"
    );
    s.cluster.broker_up(SIGNALS_LEADER).expect("broker up");
    s.stream(AFTER, Duration::from_millis(2)).await;
    s.verify(host).await;

    let counts = counts_by_tick(&s);
    for (i, (id, (p, k))) in s.sent.iter().zip(places(&s)).enumerate() {
        let got = counts.get(id).cloned().unwrap_or_default();
        assert!(
            !got.is_empty() && got.iter().all(|c| *c == k),
            "tick {i} (place {k} of partition {p}): counts {got:?}"
        );
    }
    // A batch of the old ownership took state before it ran: that record is
    // not written once it is acked (it is older than the restored state's).
    let mut state = Reader::new(&s.bootstrap, &["paper.strategy.state"], false);
    state.pump(Duration::from_secs(2)).await;
    let mut last: BTreeMap<String, i64> = BTreeMap::new();
    for r in &state.records {
        let Some(value) = r.value.as_deref() else {
            continue;
        };
        let record = StateRecord::from_json(r.key.as_deref(), value).expect("a state record");
        let before = last.insert(record.key(), record.next_offset);
        assert!(
            before.is_none_or(|b| b <= record.next_offset),
            "{} went back from {before:?} to {}",
            record.key(),
            record.next_offset
        );
    }
    assert!(!last.is_empty(), "no state record was written");
}

/// Polls until `done` holds, failing the test after [`WAIT`].
async fn until(s: &Scenario, what: &str, done: impl Fn(&Scenario) -> bool) {
    let limit = std::time::Instant::now() + WAIT;
    while !done(s) {
        assert!(
            std::time::Instant::now() < limit,
            "timed out: {what} (assigned {}, restores {}, rebalances {})",
            s.metric("alpha_panda_assigned_partitions"),
            s.metric("alpha_panda_state_restores_total"),
            s.metric("alpha_panda_rebalances_total")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Another member of the host's group, polled until it holds partitions.
fn group_member(bootstrap: &str, group: &str) -> BaseConsumer {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false");
    for (k, v) in alpha_panda_tests::broker::FAST_GROUP_SETTINGS {
        config.set(*k, *v);
    }
    let member: BaseConsumer = config.create().expect("member");
    member.subscribe(&["market.ticks"]).expect("subscribe");
    let limit = std::time::Instant::now() + WAIT;
    while member.assignment().map_or(0, |a| a.count()) == 0 {
        assert!(
            std::time::Instant::now() < limit,
            "the member got no partition"
        );
        let _ = member.poll(Duration::from_millis(100));
    }
    member
}
