//! `alpha-panda feed paper` and `alpha-panda dlq replay` against a real broker.

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use alpha_panda::config::Config;
use alpha_panda::contract::{EventType, Timestamp};
use alpha_panda::dlq::{dlq_envelope, FailedMessage, Failure};
use alpha_panda::errors::ErrorType;
use alpha_panda::kafka::admin::Admin;
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
    let mut partition_of: HashMap<String, i32> = HashMap::new();
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
        let headers = m.headers().unwrap();
        assert!(headers.iter().any(|h| h.key == "correlation_id"));
        seen += 1;
    }
    assert_eq!(partition_of.len(), 6, "six instruments: {partition_of:?}");
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
    assert!(text.contains("replayed 1 record"), "{text}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            Instant::now() < deadline,
            "the replayed message never arrived"
        );
        let Ok(Ok(m)) = tokio::time::timeout(Duration::from_secs(5), reader.recv()).await else {
            continue;
        };
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
