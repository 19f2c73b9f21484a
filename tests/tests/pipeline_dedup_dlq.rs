//! Delivery edge cases on a real broker: duplicate ticks are processed once (Redis
//! dedup, across a restart too), a Redis outage loses nothing (the in-process store
//! takes over), and poison messages land in `market.ticks.dlq` with every original
//! byte while the stream keeps flowing.

mod pipeline_support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use alpha_panda::contract::EventEnvelope;
use alpha_panda::dlq::DlqRecord;
use alpha_panda_tests::broker::shared_bootstrap;
use alpha_panda_tests::redis_server::RedisServer;
use pipeline_support::*;
use serde_json::Value;

fn dedup_key(config: &alpha_panda::config::Config, id: &str) -> String {
    format!(
        "{}:{}:{}:{id}",
        config.redis.key_prefix,
        config.service,
        config.broker.as_str()
    )
}

async fn redis_conn(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection")
}

async fn ttl(conn: &mut redis::aio::MultiplexedConnection, key: &str) -> i64 {
    redis::cmd("TTL")
        .arg(key)
        .query_async(conn)
        .await
        .expect("TTL")
}

/// The key's TTL once it exists (marks are written just after the commit, so a
/// signal can be visible a moment before its input's mark); -2 if it never does.
async fn ttl_eventually(conn: &mut redis::aio::MultiplexedConnection, key: &str) -> i64 {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let t = ttl(conn, key).await;
        if t != -2 || Instant::now() > until {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn count_for(records: &[Rec], sid: &str, tick_id: &str) -> usize {
    signals_of(records, sid)
        .iter()
        .filter(|(_, v)| v["causation_id"] == tick_id)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_tick_yields_its_signals_once() {
    let bootstrap = shared_bootstrap();
    let dir = temp();
    let sid = name("dedup");
    let tok = token();
    let plugins = dir.path().join("plugins");
    counter_plugin(&plugins, "counter", &sid, &["paper"], &[tok], 1);
    let config = config(
        &bootstrap,
        "paper",
        &name("svc_dedup"),
        &plugins,
        &dir.path().join("cache"),
    );
    ensure_topics(&bootstrap, &config).await;
    let host = RunningHost::start(config.clone());
    let p = producer(&bootstrap);
    let mut reader = Reader::new(&bootstrap, &["paper.signals.raw"], false);
    let mut ticks = Ticks::new(3);

    // Twice back to back (one batch, most likely), then once more later.
    let dup = ticks.next(tok);
    send_tick(&p, &dup).await;
    send_tick(&p, &dup).await;
    assert!(
        reader
            .until(WAIT, |r| count_for(r, &sid, &dup.id) >= 1)
            .await,
        "the tick produced no signal"
    );
    send_tick(&p, &dup).await;
    let after = ticks.next(tok);
    send_tick(&p, &after).await;
    assert!(
        reader
            .until(WAIT, |r| count_for(r, &sid, &after.id) >= 1)
            .await,
        "the tick after the duplicates produced no signal"
    );
    reader.pump(Duration::from_millis(300)).await;
    assert_eq!(count_for(&reader.records, &sid, &dup.id), 1, "dup signals");
    assert_eq!(count_for(&reader.records, &sid, &after.id), 1);

    // The mark is in Redis under the contract's key, with the TTL.
    let mut conn = redis_conn(&config.redis.url).await;
    let t = ttl_eventually(&mut conn, &dedup_key(&config, &dup.id)).await;
    assert!(
        (1..=3600).contains(&t),
        "dedup key TTL {t} (key {})",
        dedup_key(&config, &dup.id)
    );
    let summary = host.stop();
    assert!(summary.duplicates >= 2, "{summary:?}");

    // A new process remembers through Redis only.
    let host = RunningHost::start(config.clone());
    send_tick(&p, &dup).await;
    let last = ticks.next(tok);
    send_tick(&p, &last).await;
    assert!(
        reader
            .until(WAIT, |r| count_for(r, &sid, &last.id) >= 1)
            .await,
        "the restarted host produced no signal"
    );
    reader.pump(Duration::from_millis(300)).await;
    assert_eq!(
        count_for(&reader.records, &sid, &dup.id),
        1,
        "a restarted host re-emitted a processed tick"
    );
    // (Other tests' ticks share the topic, so the counts are lower bounds.)
    let summary = host.stop();
    assert!(summary.duplicates >= 1, "{summary:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_loses_nothing() {
    let bootstrap = shared_bootstrap();
    let dir = temp();
    let sid = name("outage");
    let tok = token();
    let plugins = dir.path().join("plugins");
    counter_plugin(&plugins, "counter", &sid, &["paper"], &[tok], 1);
    let mut server = RedisServer::start();
    let port = server.port();
    let mut config = config(
        &bootstrap,
        "paper",
        &name("svc_outage"),
        &plugins,
        &dir.path().join("cache"),
    );
    config.redis.url = server.url();
    ensure_topics(&bootstrap, &config).await;
    let host = RunningHost::start(config.clone());
    let p = producer(&bootstrap);
    let mut reader = Reader::new(&bootstrap, &["paper.signals.raw"], false);
    let mut ticks = Ticks::new(4);
    let mut sent = Vec::new();

    for _ in 0..10 {
        let t = ticks.next(tok);
        send_tick(&p, &t).await;
        sent.push(t);
    }
    let all_out =
        |sent: &[alpha_panda::contract::EventEnvelope<alpha_panda::contract::MarketTick>],
         r: &[Rec]| {
            let have: BTreeSet<String> = signals_of(r, &sid)
                .iter()
                .map(|(_, v)| v["causation_id"].as_str().unwrap_or_default().to_owned())
                .collect();
            sent.iter().all(|t| have.contains(&t.id))
        };
    assert!(reader.until(WAIT, |r| all_out(&sent, r)).await);
    let mut conn = redis_conn(&server.url()).await;
    assert!(
        ttl_eventually(&mut conn, &dedup_key(&config, &sent[9].id)).await > 0,
        "marks go to the private redis"
    );
    drop(conn);

    // Redis goes away: ticks keep flowing, each processed once.
    server.stop();
    for i in 0..20 {
        let t = ticks.next(tok);
        send_tick(&p, &t).await;
        sent.push(t);
        if i % 5 == 4 {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    let ok = reader.until(WAIT, |r| all_out(&sent, r)).await;
    assert!(
        ok,
        "ticks lost during the outage; the host: {:?}",
        host.try_result()
    );
    // A repeat during the outage is caught by the in-process store.
    let repeat = sent[15].clone();
    send_tick(&p, &repeat).await;
    let sentinel = ticks.next(tok);
    send_tick(&p, &sentinel).await;
    sent.push(sentinel);
    assert!(reader.until(WAIT, |r| all_out(&sent, r)).await);

    // Redis comes back: marks go there again.
    let server = RedisServer::start_on(port);
    let mut back = Vec::new();
    let started = Instant::now();
    let mut conn = redis_conn(&server.url()).await;
    loop {
        let t = ticks.next(tok);
        send_tick(&p, &t).await;
        sent.push(t.clone());
        back.push(t);
        assert!(reader.until(WAIT, |r| all_out(&sent, r)).await);
        if ttl(&mut conn, &dedup_key(&config, &back.last().unwrap().id)).await > 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the host did not go back to redis"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    reader.pump(Duration::from_millis(300)).await;
    let signals = signals_of(&reader.records, &sid);
    let by_cause = causations(&signals);
    for t in &sent {
        assert_eq!(
            by_cause.get(&t.id).map(Vec::len),
            Some(1),
            "tick {} must have exactly one signal",
            t.id
        );
    }
    assert_eq!(signals.len(), sent.len());
    let summary = host.stop();
    assert!(summary.duplicates >= 1, "{summary:?}");
}

/// One poison case: its name, key, value, headers, and the expected error class.
struct Poison {
    what: &'static str,
    key: Option<Vec<u8>>,
    value: Vec<u8>,
    headers: Vec<(String, Option<Vec<u8>>)>,
    class: &'static str,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_goes_to_the_dlq_whole_and_the_stream_flows() {
    let bootstrap = shared_bootstrap();
    let dir = temp();
    let sid = name("poison");
    let tok = token();
    let plugins = dir.path().join("plugins");
    counter_plugin(&plugins, "counter", &sid, &["paper"], &[tok], 1);
    let service = name("svc_poison");
    let config = config(
        &bootstrap,
        "paper",
        &service,
        &plugins,
        &dir.path().join("cache"),
    );
    let group = format!("alpha-panda.{service}.paper");
    ensure_topics(&bootstrap, &config).await;
    allow_large_ticks(&bootstrap, &config).await;
    let host = RunningHost::start(config);
    let p = producer(&bootstrap);
    let mut ticks = Ticks::new(5);
    let key = tok.to_string().into_bytes();
    let good = |f: &dyn Fn(&mut Value)| {
        let mut v: Value = serde_json::from_slice(&ticks_clone(tok).to_vec().unwrap()).unwrap();
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    };
    let mut big = good(&|_| {});
    let pad = vec![b' '; 1024 * 1024];
    big.splice(1..1, pad);
    let cases = vec![
        Poison {
            what: "not JSON",
            key: Some(key.clone()),
            value: b"this is {not json".to_vec(),
            headers: vec![],
            class: "not_json",
        },
        Poison {
            what: "invalid UTF-8",
            key: Some(key.clone()),
            value: b"{\"id\":\"\xff\xfe\x00\x80\"}".to_vec(),
            headers: vec![],
            class: "not_utf8",
        },
        Poison {
            what: "unknown type",
            key: Some(key.clone()),
            value: good(&|v| v["type"] = "market_tock".into()),
            headers: vec![],
            class: "unknown_event_type",
        },
        Poison {
            what: "missing field",
            key: Some(key.clone()),
            value: good(&|v| {
                v["data"].as_object_mut().unwrap().remove("last_price");
            }),
            headers: vec![],
            class: "missing_field",
        },
        Poison {
            what: "naive timestamp",
            key: Some(key.clone()),
            value: good(&|v| v["data"]["timestamp"] = "2025-08-29T04:45:04".into()),
            headers: vec![],
            class: "invalid_field",
        },
        Poison {
            what: "oversize",
            key: Some(key.clone()),
            value: big,
            headers: vec![],
            class: "oversize",
        },
        Poison {
            what: "binary headers",
            key: Some(key.clone()),
            value: b"\x00\x01binary\xc3\x28".to_vec(),
            headers: vec![
                ("bin".into(), Some(vec![0xff, 0x00, 0x9f, 0x92, 0x96])),
                ("none".into(), None),
                ("correlation_id".into(), Some(b"corr-1".to_vec())),
            ],
            class: "not_utf8",
        },
        Poison {
            what: "null key",
            key: None,
            value: b"[1,2,3]".to_vec(),
            headers: vec![],
            class: "not_object",
        },
    ];
    let mut at = Vec::new();
    for c in &cases {
        let headers: Vec<(&str, Option<&[u8]>)> = c
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref()))
            .collect();
        at.push(
            send(
                &p,
                "market.ticks",
                c.key.as_deref(),
                Some(&c.value),
                &headers,
            )
            .await,
        );
    }
    let valid = ticks.next(tok);
    let (vp, vo) = send_tick(&p, &valid).await;
    assert!(
        cases[..7]
            .iter()
            .zip(&at)
            .all(|(_, (part, o))| *part == vp && *o < vo),
        "poison and the valid tick share a partition, poison first"
    );

    let mut signals = Reader::new(&bootstrap, &["paper.signals.raw"], false);
    let ok = signals
        .until(WAIT, |r| count_for(r, &sid, &valid.id) == 1)
        .await;
    assert!(
        ok,
        "the valid tick after the poison produced no signal; host: {:?}",
        host.try_result()
    );

    let mut dlq = Reader::new(&bootstrap, &["market.ticks.dlq"], false);
    let mine = |r: &[Rec]| -> Vec<Rec> {
        r.iter()
            .filter(|r| {
                serde_json::from_slice::<Value>(r.value.as_deref().unwrap_or_default())
                    .map(|v| v["data"]["dlq_metadata"]["consumer_group"] == group.as_str())
                    .unwrap_or(false)
            })
            .cloned()
            .collect()
    };
    let ok = dlq.until(WAIT, |r| mine(r).len() >= cases.len()).await;
    let got = mine(&dlq.records);
    assert!(ok, "{} of {} DLQ records", got.len(), cases.len());
    dlq.pump(Duration::from_millis(300)).await;
    let got = mine(&dlq.records);
    assert_eq!(got.len(), cases.len(), "one DLQ record per poison message");

    for (c, (part, off)) in cases.iter().zip(&at) {
        let rec = got
            .iter()
            .find(|r| {
                let v = r.json();
                v["data"]["dlq_metadata"]["original_offset"] == *off
                    && v["data"]["dlq_metadata"]["original_partition"] == *part
            })
            .unwrap_or_else(|| panic!("{}: no DLQ record for {part}@{off}", c.what));
        let env: EventEnvelope<DlqRecord> =
            serde_json::from_slice(rec.value.as_deref().unwrap()).expect("DLQ envelope");
        let v = rec.json();
        assert_eq!(v["type"], "system_error", "{}", c.what);
        assert_eq!(v["broker"], "system", "{}", c.what);
        let d = &env.data;
        assert_eq!(d.dlq_metadata.original_topic, "market.ticks");
        assert_eq!(d.dlq_metadata.service, service);
        assert!(d.dlq_metadata.original_timestamp_ms.is_some());
        assert_eq!(d.failure_info.error_type, "poison", "{}", c.what);
        assert_eq!(d.failure_info.error_class, c.class, "{}", c.what);
        assert_eq!(d.failure_info.failure_reason, "processing_failed");
        assert!(d.replay_metadata.needs_manual_review);
        let o = &d.original_message;
        assert_eq!(o.key().unwrap(), c.key, "{}: key bytes", c.what);
        assert_eq!(
            o.value().unwrap().as_deref(),
            Some(c.value.as_slice()),
            "{}: value bytes",
            c.what
        );
        assert_eq!(o.headers().unwrap(), c.headers, "{}: headers", c.what);
        // The DLQ message itself: original key bytes and headers.
        assert_eq!(rec.key, c.key, "{}: DLQ message key", c.what);
        assert_eq!(rec.headers, c.headers, "{}: DLQ message headers", c.what);
    }
    host.stop();
}

/// A fresh valid tick for `token` (the poison cases are edits of one).
fn ticks_clone(token: u32) -> EventEnvelope<alpha_panda::contract::MarketTick> {
    Ticks::new(6).next(token)
}
