//! `alpha-panda feed paper` and `alpha-panda dlq replay` against a real broker.

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use alpha_panda::config::Config;
use alpha_panda::contract::{decode_tick, EventType, Timestamp};
use alpha_panda::dlq::{dlq_envelope, FailedMessage, Failure};
use alpha_panda::errors::ErrorType;
use alpha_panda::kafka::admin::Admin;
use alpha_panda::topics::partition_of as java_partition;
use alpha_panda::topics::TopicRegistry;
use alpha_panda_tests::broker::{shared_bootstrap, FAST_GROUP_SETTINGS};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;

const BIN: &str = env!("CARGO_BIN_EXE_alpha-panda");

async fn setup() -> (String, tempfile::TempDir, std::path::PathBuf) {
    let bootstrap = shared_bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    let mut text = format!(
        "broker = \"paper\"\n[kafka]\nbootstrap_servers = \"{bootstrap}\"\n[kafka.consumer]\n"
    );
    for (k, v) in FAST_GROUP_SETTINGS {
        text.push_str(&format!("\"{k}\" = \"{v}\"\n"));
    }
    std::fs::write(&path, &text).unwrap();
    let config = Config::from_toml_with_env(&text, "t", Vec::new()).unwrap();
    let registry = TopicRegistry::new(&config.topics);
    Admin::connect(&bootstrap)
        .unwrap()
        .create(&registry.all_topics(), 1)
        .await
        .unwrap();
    (bootstrap, dir, path)
}

/// A record read back: partition, key, value.
type Received = (i32, Option<Vec<u8>>, Vec<u8>);

/// Partitions of `topic` as the broker reports them.
fn partitions_of(c: &StreamConsumer, topic: &str) -> i32 {
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    md.topics()[0].partitions().len() as i32
}

/// A UUIDv7 in its canonical text.
fn assert_uuid_v7(v: &serde_json::Value, field: &str) {
    let text = v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} missing: {v}"));
    let id = uuid::Uuid::parse_str(text).unwrap_or_else(|e| panic!("{field} {text}: {e}"));
    assert_eq!(id.to_string(), text, "{field} is canonical lower-case text");
    assert_eq!(
        id.get_version(),
        Some(uuid::Version::SortRand),
        "{field} {text}"
    );
}

/// The header `name` of `m` as text.
fn header<'a>(m: &'a impl Message, name: &str) -> Option<&'a [u8]> {
    m.headers()?
        .iter()
        .find(|h| h.key == name)
        .and_then(|h| h.value)
}

fn consumer(bootstrap: &str, topic: &str) -> StreamConsumer {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("group.id", alpha_panda_tests::unique("reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false");
    for (k, v) in FAST_GROUP_SETTINGS {
        c.set(*k, *v);
    }
    let c: StreamConsumer = c.create().unwrap();
    c.subscribe(&[topic]).unwrap();
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn feed_paper_writes_keyed_shared_tick_envelopes() {
    let (bootstrap, _dir, config) = setup().await;
    let reader = consumer(&bootstrap, "market.ticks");
    let out = Command::new(BIN)
        .args(["feed", "paper", "--count", "120", "--rate", "0", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("wrote 120 ticks"));
    let partitions = partitions_of(&reader, "market.ticks");
    let written = Timestamp::now().to_unix_micros();
    let mut partition_of: HashMap<String, i32> = HashMap::new();
    let mut ids = std::collections::HashSet::new();
    let mut seen = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen < 120 {
        assert!(
            Instant::now() < deadline,
            "only {seen} of 120 ticks arrived"
        );
        let Ok(Ok(m)) = tokio::time::timeout(Duration::from_secs(5), reader.recv()).await else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
        // Another test of this binary may have written ticks too: count only the feed's.
        if v["source"] != "market_feed" {
            continue;
        }
        let key = String::from_utf8(m.key().unwrap().to_vec()).unwrap();
        assert_eq!(v["key"], key.as_str());
        assert_eq!(v["data"]["instrument_token"].to_string(), key);
        assert_eq!(v["broker"], "shared");
        assert_eq!(v["type"], "market_tick");
        assert_eq!(v["version"], 1);
        assert!(v["causation_id"].is_null());
        assert!(
            v["data"]["last_price"].is_string(),
            "decimals are strings: {v}"
        );
        let p = *partition_of.entry(key.clone()).or_insert(m.partition());
        assert_eq!(p, m.partition(), "one key, one partition");
        assert_eq!(
            m.partition(),
            java_partition(key.as_bytes(), partitions),
            "key {key} where the Java client (murmur2) puts it"
        );
        // Fresh root ids: UUIDv7 text, one per tick.
        for field in ["id", "correlation_id", "trace_id"] {
            assert_uuid_v7(&v, field);
        }
        assert!(ids.insert(v["id"].as_str().unwrap().to_owned()), "{v}");
        assert!(v["parent_trace_id"].is_null());
        // `ts`: RFC 3339 UTC with microseconds, made by this run.
        let ts = v["ts"].as_str().unwrap();
        let b = ts.as_bytes();
        assert!(
            ts.len() == 27 && b[19] == b'.' && b[26] == b'Z',
            "ts {ts} has microseconds and Z"
        );
        let micros = Timestamp::parse(ts).unwrap().to_unix_micros();
        assert!(
            (micros - written).abs() < 600_000_000,
            "ts {ts} is of this run"
        );
        assert_eq!(
            header(&m, "correlation_id"),
            v["correlation_id"].as_str().map(str::as_bytes)
        );
        assert_eq!(
            header(&m, "trace_id"),
            v["trace_id"].as_str().map(str::as_bytes)
        );
        seen += 1;
    }
    assert_eq!(partition_of.len(), 6, "six instruments: {partition_of:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn feed_from_a_file_replays_recorded_envelopes() {
    let (bootstrap, dir, config) = setup().await;
    // Recorded ticks: the fixtures, with ids and a source of this run only (the
    // text is otherwise untouched, so its layout is the recording's).
    let source = alpha_panda_tests::unique("recorded");
    let lines: Vec<String> = [
        "market_tick_full",
        "market_tick_index_ltp",
        "market_tick_numeric_price",
    ]
    .iter()
    .enumerate()
    .map(|(i, name)| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures")
            .join(format!("{name}.json"));
        let text = std::fs::read_to_string(path).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let id = v["id"].as_str().unwrap();
        let line = text
            .trim()
            .replacen(id, &format!("{source}-{i}"), 1)
            .replacen(
                "\"source\":\"market_feed\"",
                &format!("\"source\":\"{source}\""),
                1,
            );
        assert!(line.contains(&source) && !line.contains(id), "{line}");
        line
    })
    .collect();
    let file = dir.path().join("recorded.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();

    let reader = consumer(&bootstrap, "market.ticks");
    let partitions = partitions_of(&reader, "market.ticks");
    let out = Command::new(BIN)
        .args(["feed", "paper", "--from"])
        .arg(&file)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("wrote 3 ticks"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // By event id: (partition, key, value) as read back.
    let mut got: HashMap<String, Received> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.len() < lines.len() {
        assert!(
            Instant::now() < deadline,
            "only {} of {} replayed ticks arrived",
            got.len(),
            lines.len()
        );
        let Ok(Ok(m)) = tokio::time::timeout(Duration::from_secs(5), reader.recv()).await else {
            continue;
        };
        let Some(payload) = m.payload() else { continue };
        let v: serde_json::Value = serde_json::from_slice(payload).unwrap();
        if v["source"] != source.as_str() {
            continue;
        }
        for name in ["correlation_id", "trace_id"] {
            assert_eq!(header(&m, name), v[name].as_str().map(str::as_bytes), "{v}");
        }
        got.insert(
            v["id"].as_str().unwrap().to_owned(),
            (m.partition(), m.key().map(<[u8]>::to_vec), payload.to_vec()),
        );
    }
    for (i, line) in lines.iter().enumerate() {
        let recorded: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = recorded["id"].as_str().unwrap();
        let (partition, key, payload) = &got[id];
        let key_text = recorded["key"].as_str().unwrap();
        assert_eq!(
            key.as_deref(),
            Some(key_text.as_bytes()),
            "the recorded key"
        );
        assert_eq!(*partition, java_partition(key_text.as_bytes(), partitions));
        // The envelope as the host encodes it: the recording's own bytes when they
        // are canonical (the first two), else the same event in canonical form.
        let canonical = decode_tick(line.as_bytes()).unwrap().to_vec().unwrap();
        assert_eq!(payload, &canonical, "{line}");
        if i < 2 {
            assert_eq!(
                String::from_utf8_lossy(payload),
                line.as_str(),
                "byte for byte"
            );
        }
        let replayed: serde_json::Value = serde_json::from_slice(payload).unwrap();
        for field in [
            "id",
            "correlation_id",
            "trace_id",
            "ts",
            "key",
            "source",
            "broker",
        ] {
            assert_eq!(replayed[field], recorded[field], "{field} kept");
        }
        assert_eq!(
            replayed["data"]["instrument_token"],
            recorded["data"]["instrument_token"]
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dlq_replay_republishes_the_original_bytes() {
    let (bootstrap, _dir, config) = setup().await;
    let marker = alpha_panda_tests::unique("replayed");
    let value = format!("{{\"not\":\"yet a tick\",\"marker\":\"{marker}\"}}").into_bytes();
    let key = b"738561".to_vec();
    let headers = vec![
        ("correlation_id".to_owned(), Some(b"c-1".to_vec())),
        ("bin".to_owned(), Some(vec![0u8, 255, 7])),
    ];
    let failed = FailedMessage {
        topic: "market.ticks",
        partition: 0,
        offset: 7,
        timestamp_ms: None,
        key: Some(&key),
        value: Some(&value),
        headers: &headers,
    };
    let failure = Failure {
        error_type: ErrorType::Transient,
        error_class: "produce_failed".into(),
        message: "broker down".into(),
        retries: 5,
        exhausted: true,
    };
    let env = dlq_envelope(
        &failed,
        &failure,
        "strategy_runner",
        "alpha-panda.strategy_runner.paper",
        Timestamp::now(),
    );
    assert_eq!(env.event_type, EventType::SystemError);
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    // Poison before it, same key (so same partitions): never re-published.
    let poison_value = format!("not json {marker}").into_bytes();
    let poison = dlq_envelope(
        &FailedMessage {
            value: Some(&poison_value),
            ..failed
        },
        &Failure {
            error_type: ErrorType::Poison,
            error_class: "decode_error".into(),
            message: "expected value at line 1".into(),
            retries: 0,
            exhausted: false,
        },
        "strategy_runner",
        "alpha-panda.strategy_runner.paper",
        Timestamp::now(),
    );
    producer
        .send(
            FutureRecord::to("market.ticks.dlq")
                .key(&key)
                .payload(&poison.to_vec().unwrap()),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    let payload = env.to_vec().unwrap();
    let mut h = OwnedHeaders::new();
    for (k, v) in &headers {
        h = h.insert(Header {
            key: k,
            value: v.as_deref(),
        });
    }
    producer
        .send(
            FutureRecord::to("market.ticks.dlq")
                .key(&key)
                .payload(&payload)
                .headers(h),
            Duration::from_secs(10),
        )
        .await
        .unwrap();

    let reader = consumer(&bootstrap, "market.ticks");
    let out = Command::new(BIN)
        .args(["dlq", "replay", "--topic", "market.ticks.dlq", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("replayed 1 record(s), skipped 1"), "{text}");
    assert!(
        text.contains("not replayable (poison: decode_error: expected value at line 1)"),
        "each record left behind is reported with why: {text}"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            Instant::now() < deadline,
            "the replayed message never arrived"
        );
        let Ok(Ok(m)) = tokio::time::timeout(Duration::from_secs(5), reader.recv()).await else {
            continue;
        };
        assert_ne!(
            m.payload(),
            Some(poison_value.as_slice()),
            "poison is not re-published"
        );
        if m.payload() != Some(value.as_slice()) {
            continue;
        }
        assert_eq!(m.key(), Some(key.as_slice()));
        let got: Vec<(String, Option<Vec<u8>>)> = m
            .headers()
            .map(|hs| {
                hs.iter()
                    .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(got, headers, "headers byte for byte");
        break;
    }
    // The DLQ offset was committed: a second replay has nothing to do.
    let again = Command::new(BIN)
        .args(["dlq", "replay", "--topic", "market.ticks.dlq", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("replayed 0 record"));
    let bad = Command::new(BIN)
        .args(["dlq", "replay", "--topic", "market.ticks", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a DLQ topic"));
}
