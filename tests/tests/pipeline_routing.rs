//! Routing on a real broker: ticks written the way the Python feed writes them come
//! out as contract-shaped signals on `{broker}.signals.raw`, hosts of two
//! namespaces each see every tick in their own group and write only to their own
//! topic, and a backlog is taken in small batches first, then in large ones
//! (`plugins.latency_batch`).

mod pipeline_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use alpha_panda::contract::{child_id, BrokerNamespace, Lineage, Timestamp};
use alpha_panda::topics::partition_of as java_partition;
use alpha_panda_tests::broker::shared_bootstrap;
use pipeline_support::*;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::Value;

const ENVELOPE_FIELDS: [&str; 12] = [
    "id",
    "correlation_id",
    "causation_id",
    "trace_id",
    "parent_trace_id",
    "broker",
    "type",
    "ts",
    "key",
    "source",
    "version",
    "data",
];

fn is_micros_utc(ts: &str) -> bool {
    // 2025-08-29T04:45:04.838356Z
    let b = ts.as_bytes();
    b.len() == 27
        && b[4] == b'-'
        && b[10] == b'T'
        && b[19] == b'.'
        && b[26] == b'Z'
        && b[20..26].iter().all(u8::is_ascii_digit)
        && Timestamp::parse(ts).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_ticks_become_contract_signals() {
    let bootstrap = shared_bootstrap();
    let dir = temp();
    let sid = name("contract");
    let service = name("svc_contract");
    // The fixtures' instruments: a full equity tick, an index tick with nulls, and
    // a numeric price with an upper-case type and absent optionals.
    let fixtures: Vec<String> = [
        "market_tick_full.json",
        "market_tick_index_ltp.json",
        "market_tick_numeric_price.json",
    ]
    .iter()
    .map(|f| {
        std::fs::read_to_string(root_path("tests/fixtures").join(f))
            .expect("fixture")
            .trim()
            .to_owned()
    })
    .collect();
    let ticks: Vec<Value> = fixtures
        .iter()
        .map(|t| serde_json::from_str(t).unwrap())
        .collect();
    let tokens: Vec<u32> = ticks
        .iter()
        .map(|t| t["data"]["instrument_token"].as_u64().unwrap() as u32)
        .collect();
    counter_plugin(
        &dir.path().join("plugins"),
        "counter",
        &sid,
        &["paper"],
        &tokens,
        7,
    );
    let config = config(
        &bootstrap,
        "paper",
        &service,
        &dir.path().join("plugins"),
        &dir.path().join("cache"),
    );
    ensure_topics(&bootstrap, &config).await;
    let host = RunningHost::start(config);

    let p = producer(&bootstrap);
    let mut reader = Reader::new(&bootstrap, &["paper.signals.raw"], false);
    let tick_partitions = partitions_of(&bootstrap, "market.ticks");
    for (text, t) in fixtures.iter().zip(&ticks) {
        let key = t["key"].as_str().unwrap();
        let (partition, _) = send_raw_tick(
            &p,
            key,
            text.as_bytes(),
            t["correlation_id"].as_str().unwrap(),
            t["trace_id"].as_str().unwrap(),
        )
        .await;
        assert_eq!(
            partition,
            java_partition(key.as_bytes(), tick_partitions),
            "the tick went where aiokafka would put it"
        );
    }
    let ok = reader
        .until(WAIT, |r| signals_of(r, &sid).len() >= ticks.len())
        .await;
    let signals = signals_of(&reader.records, &sid);
    assert!(ok, "expected {} signals, got {:?}", ticks.len(), signals);
    reader.pump(Duration::from_millis(500)).await;
    let signals = signals_of(&reader.records, &sid);
    assert_eq!(signals.len(), ticks.len(), "one signal per tick, no more");

    let sha = hostile_sha256();
    let signal_partitions = partitions_of(&bootstrap, "paper.signals.raw");
    for t in &ticks {
        let tick_id = t["id"].as_str().unwrap();
        let token = t["data"]["instrument_token"].as_u64().unwrap();
        let (rec, s) = signals
            .iter()
            .find(|(_, s)| s["causation_id"] == tick_id)
            .unwrap_or_else(|| panic!("no signal caused by {tick_id}"));
        let fields: BTreeSet<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(fields, ENVELOPE_FIELDS.into_iter().collect(), "{s}");
        let key = format!("{sid}:{token}");
        assert_eq!(s["key"], key.as_str());
        assert_eq!(rec.key.as_deref(), Some(key.as_bytes()), "message key");
        assert_eq!(
            rec.partition,
            java_partition(key.as_bytes(), signal_partitions),
            "murmur2 partition of {key}"
        );
        assert_eq!(s["broker"], "paper");
        assert_eq!(s["type"], "trading_signal");
        assert_eq!(s["source"], service.as_str(), "source is the service");
        assert_eq!(s["version"], 1);
        assert!(is_micros_utc(s["ts"].as_str().unwrap()), "ts {}", s["ts"]);
        let tick_ms = Timestamp::parse(t["ts"].as_str().unwrap())
            .unwrap()
            .to_unix_millis();
        let expected_id = child_id(
            tick_id,
            tick_ms,
            &Lineage {
                namespace: BrokerNamespace::Paper,
                strategy_id: &sid,
                index: 0,
            },
        )
        .to_string();
        assert_eq!(s["id"], expected_id.as_str(), "deterministic child id");
        assert_eq!(s["causation_id"], tick_id);
        assert_eq!(s["correlation_id"], t["correlation_id"]);
        assert_eq!(s["trace_id"], t["trace_id"]);
        assert_eq!(s["parent_trace_id"], t["trace_id"]);
        assert_eq!(
            rec.header("correlation_id"),
            Some(t["correlation_id"].as_str().unwrap().as_bytes())
        );
        assert_eq!(
            rec.header("trace_id"),
            Some(t["trace_id"].as_str().unwrap().as_bytes())
        );

        let d = &s["data"];
        assert_eq!(d["strategy_id"], sid.as_str());
        assert_eq!(d["instrument_token"], token);
        assert_eq!(d["signal_type"], "BUY");
        assert_eq!(d["quantity"], 1);
        // The tick's price text, never re-rounded through a float.
        let price = match &t["data"]["last_price"] {
            Value::String(s) => s.clone(),
            n => n.to_string(),
        };
        assert_eq!(d["price"], price.as_str(), "price of {tick_id}");
        let tick_time = Timestamp::parse(t["data"]["timestamp"].as_str().unwrap()).unwrap();
        let signal_time = Timestamp::parse(d["timestamp"].as_str().unwrap()).unwrap();
        assert_eq!(signal_time, tick_time, "signal time is the tick's time");
        assert!(
            d["confidence"].is_null()
                || (0.0..=1.0).contains(&d["confidence"].as_f64().unwrap_or(-1.0)),
            "confidence {}",
            d["confidence"]
        );
        assert_eq!(d["metadata"]["plugin_sha256"], sha.as_str());
        assert_eq!(d["metadata"]["version"], "7");
    }
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_are_separate_groups_and_topics() {
    let bootstrap = shared_bootstrap();
    let dir = temp();
    let sid = name("both");
    let tokens = [token(), token(), token()];
    let plugins = dir.path().join("plugins");
    counter_plugin(&plugins, "counter", &sid, &["paper", "zerodha"], &tokens, 1);
    // The real service name: the groups must be exactly the contract's.
    let paper = config(
        &bootstrap,
        "paper",
        "strategy_runner",
        &plugins,
        &dir.path().join("cache-p"),
    );
    let zerodha = config(
        &bootstrap,
        "zerodha",
        "strategy_runner",
        &plugins,
        &dir.path().join("cache-z"),
    );
    ensure_topics(&bootstrap, &paper).await;
    let hp = RunningHost::start(paper);
    let hz = RunningHost::start(zerodha);

    let p = producer(&bootstrap);
    let mut feed = Ticks::new(2);
    let mut sent = Vec::new();
    let mut last_offset: BTreeMap<i32, i64> = BTreeMap::new();
    for i in 0..30 {
        let env = feed.next(tokens[i % tokens.len()]);
        let (partition, offset) = send_tick(&p, &env).await;
        last_offset.insert(partition, offset);
        sent.push((env.id, env.ts.to_unix_millis()));
    }
    let mut reader = Reader::new(
        &bootstrap,
        &["paper.signals.raw", "zerodha.signals.raw"],
        false,
    );
    let n = sent.len();
    let ok = reader
        .until(WAIT, |r| {
            let s = signals_of(r, &sid);
            s.iter()
                .filter(|(r, _)| r.topic == "paper.signals.raw")
                .count()
                >= n
                && s.iter()
                    .filter(|(r, _)| r.topic == "zerodha.signals.raw")
                    .count()
                    >= n
        })
        .await;
    assert!(ok, "both namespaces see every tick");
    reader.pump(Duration::from_millis(500)).await;
    let signals = signals_of(&reader.records, &sid);
    let want: BTreeSet<&str> = sent.iter().map(|(id, _)| id.as_str()).collect();
    let sent_ms: BTreeMap<&str, i64> = sent.iter().map(|(id, ms)| (id.as_str(), *ms)).collect();
    for (topic, ns) in [
        ("paper.signals.raw", BrokerNamespace::Paper),
        ("zerodha.signals.raw", BrokerNamespace::Zerodha),
    ] {
        let mine: Vec<&Value> = signals
            .iter()
            .filter(|(r, _)| r.topic == topic)
            .map(|(_, v)| v)
            .collect();
        assert_eq!(mine.len(), n, "{topic}: one signal per tick");
        let causes: BTreeSet<&str> = mine
            .iter()
            .map(|v| v["causation_id"].as_str().unwrap())
            .collect();
        assert_eq!(causes, want, "{topic}: every tick, once");
        for v in &mine {
            assert_eq!(
                v["broker"],
                ns.as_str(),
                "{topic} holds only {ns:?} signals"
            );
            let cause = v["causation_id"].as_str().unwrap();
            let id = child_id(
                cause,
                sent_ms[cause],
                &Lineage {
                    namespace: ns,
                    strategy_id: &sid,
                    index: 0,
                },
            )
            .to_string();
            assert_eq!(v["id"], id.as_str());
        }
        // Each host counts every tick of its namespace (not a share of them): the
        // strategy's instances, one per partition, counted all n between them.
        let mut max_per_partition: BTreeMap<i32, u64> = BTreeMap::new();
        for v in &mine {
            let token = v["data"]["instrument_token"].as_u64().unwrap();
            let p = java_partition(token.to_string().as_bytes(), TICK_PARTITIONS);
            let count = v["data"]["metadata"]["count"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap();
            let m = max_per_partition.entry(p).or_insert(0);
            *m = (*m).max(count);
        }
        assert_eq!(
            max_per_partition.values().sum::<u64>(),
            n as u64,
            "{topic}: the plugin saw all ticks"
        );
    }

    // The two groups are the contract's names and each committed past every tick.
    for group in [
        "alpha-panda.strategy_runner.paper",
        "alpha-panda.strategy_runner.zerodha",
    ] {
        eventually(|| {
            let committed = committed(&bootstrap, group, &last_offset);
            let behind: Vec<_> = last_offset
                .iter()
                .filter(|(p, o)| committed.get(p).copied().unwrap_or(-1) <= **o)
                .collect();
            if behind.is_empty() {
                return Ok(());
            }
            Err(format!(
                "group {group} did not commit past {behind:?}: {committed:?}"
            ))
        })
        .await;
    }
    hp.stop();
    hz.stop();
}

fn partitions_of(bootstrap: &str, topic: &str) -> i32 {
    let c: rdkafka::consumer::StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("metadata client");
    partitions(&c, topic)
}

/// The offsets `group` committed on `market.ticks` for the given partitions.
fn committed(bootstrap: &str, group: &str, parts: &BTreeMap<i32, i64>) -> BTreeMap<i32, i64> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("offset client");
    let mut tpl = TopicPartitionList::new();
    for p in parts.keys() {
        tpl.add_partition("market.ticks", *p);
    }
    let got = c
        .committed_offsets(tpl, Duration::from_secs(10))
        .expect("committed offsets");
    got.elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some((e.partition(), o)),
            _ => None,
        })
        .collect()
}

/// `plugins.latency_batch`: ticks already queued when a host starts are taken in
/// small batches first (a burst is answered in parts), and once small batches
/// keep coming full (a backlog) in large ones, up to `plugins.max_batch`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_is_taken_in_small_batches_first_then_in_large_ones() {
    const TICKS: usize = 600;
    let bootstrap = shared_bootstrap();
    let dir = temp();
    let sid = name("batches");
    let token = token();
    counter_plugin(
        &dir.path().join("plugins"),
        "counter",
        &sid,
        &["paper"],
        &[token],
        1,
    );
    let mut config = config(
        &bootstrap,
        "paper",
        &name("svc_batches"),
        &dir.path().join("plugins"),
        &dir.path().join("cache"),
    );
    config.plugins.latency_batch = 4;
    config.plugins.max_batch = 512;
    let port = alpha_panda_tests::free_port();
    config.metrics.listen = format!("127.0.0.1:{port}");
    ensure_topics(&bootstrap, &config).await;
    // The backlog: written and acknowledged before the host starts.
    let p = producer(&bootstrap);
    let mut ticks = Ticks::new(17);
    let mut sent = pipeline_support::answers::Sent::default();
    pipeline_support::answers::send_ticks(&p, &mut ticks, &[token], TICKS, &mut sent).await;
    let host = RunningHost::start(config);
    let metric = |name: &str| pipeline_support::child::metric(port, name).unwrap_or(0.0);
    let signals =
        format!("alpha_panda_strategy_signals_total{{side=\"BUY\",strategy_id=\"{sid}\"}}");
    eventually(|| match metric(&signals) {
        n if n >= TICKS as f64 => Ok(()),
        n => Err(format!("{n} of {TICKS} ticks answered")),
    })
    .await;
    // (The group reads `market.ticks` from its start: the other tests' ticks are
    // in its batches too.)
    let small = metric("alpha_panda_batch_ticks_bucket{le=\"4\"}");
    let all = metric("alpha_panda_batch_ticks_count");
    assert!(
        small >= 32.0,
        "{small} batches of at most 4 ticks of {all}: the first ones are small"
    );
    assert!(
        all - small >= 1.0,
        "{small} batches of at most 4 ticks of {all}: then larger ones"
    );
    host.stop();
}
