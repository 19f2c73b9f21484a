//! Offsets, the consumer group and strategy state on a real broker: a host stopped
//! cleanly resumes at its committed offset with its strategies' state, and two
//! hosts of one namespace split the partitions and take over from each other
//! without losing a tick, the strategy state following each partition. Offsets
//! held for `delivery.commit_interval_ms` are committed when due, with no tick
//! behind them, and at a revocation.

mod pipeline_support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::time::Duration;

use alpha_panda::config::Config;
use alpha_panda::topics::partition_of as java_partition;
use alpha_panda_tests::broker::shared_bootstrap;
use pipeline_support::*;
use serde_json::Value;

fn count_meta(v: &Value) -> u64 {
    v["data"]["metadata"]["count"]
        .as_str()
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no count in {v}"))
}

/// One counter strategy on one instrument, in a service of its own, its
/// topics created.
struct OneInstrument {
    dir: tempfile::TempDir,
    sid: String,
    tok: u32,
    config: Config,
}

impl OneInstrument {
    /// `tag` names the strategy and the service.
    async fn new(bootstrap: &str, tag: &str) -> OneInstrument {
        let dir = temp();
        let sid = name(tag);
        let tok = token();
        let plugins = dir.path().join("plugins");
        counter_plugin(&plugins, "counter", &sid, &["paper"], &[tok], 1);
        let service = name(&format!("svc_{tag}"));
        let cache = dir.path().join("cache");
        let config = config(bootstrap, "paper", &service, &plugins, &cache);
        ensure_topics(bootstrap, &config).await;
        OneInstrument {
            dir,
            sid,
            tok,
            config,
        }
    }

    /// Starts a host on this configuration (as the test changed it), sends `n`
    /// ticks of the instrument from a feed seeded `seed`, and waits until each
    /// has its signal.
    async fn start_answered(&self, bootstrap: &str, seed: u64, n: usize) -> Started {
        let p = producer(bootstrap);
        let mut reader = Reader::new(bootstrap, &["paper.signals.raw"], false);
        let mut ticks = Ticks::new(seed);
        let host = RunningHost::start(self.config.clone());
        let mut sent = Vec::new();
        for _ in 0..n {
            let t = ticks.next(self.tok);
            send_tick(&p, &t).await;
            sent.push(t.id);
        }
        assert!(
            reader
                .until(WAIT, |r| signals_of(r, &self.sid).len() >= n)
                .await,
            "{} of the first {n} ticks answered",
            signals_of(&reader.records, &self.sid).len()
        );
        Started {
            host,
            p,
            reader,
            ticks,
            sent,
        }
    }
}

/// A host of [`OneInstrument::start_answered`], with what sends it ticks and
/// reads its signals.
struct Started {
    host: RunningHost,
    p: rdkafka::producer::FutureProducer,
    reader: Reader,
    ticks: Ticks,
    /// The ids of the ticks sent so far.
    sent: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_restart_resumes_at_the_committed_offset() {
    let bootstrap = shared_bootstrap();
    let mut one = OneInstrument::new(&bootstrap, "resume").await;
    // No Redis: a restart that re-read committed ticks would re-emit their signals.
    one.config.redis.url = String::new();
    // Nothing is due for its commit before the stop: the stop commits it.
    one.config.delivery.commit_interval_ms = 3_600_000;
    let (n, m) = (25usize, 17usize);
    let Started {
        host,
        p,
        mut reader,
        mut ticks,
        mut sent,
    } = one.start_answered(&bootstrap, 10, n).await;
    let OneInstrument {
        dir: _dir,
        sid,
        tok,
        config,
    } = one;
    let first = host.stop();
    assert!(first.signals >= n as u64, "{first:?}");

    // Produced while no host runs.
    for _ in 0..m {
        let t = ticks.next(tok);
        send_tick(&p, &t).await;
        sent.push(t.id);
    }
    let host = RunningHost::start(config);
    assert!(
        reader
            .until(WAIT, |r| signals_of(r, &sid).len() >= n + m)
            .await,
        "second run: {} of {} signals",
        signals_of(&reader.records, &sid).len(),
        n + m
    );
    // Anything re-read would come right behind the new ticks: give it time.
    reader.pump(Duration::from_secs(1)).await;
    let second = host.stop();

    let signals = signals_of(&reader.records, &sid);
    let ids: BTreeSet<&str> = signals
        .iter()
        .map(|(_, v)| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(signals.len(), n + m, "no duplicates: {second:?}");
    assert_eq!(ids.len(), n + m, "no duplicate ids");
    let causes = causations(&signals);
    let want: BTreeSet<&String> = sent.iter().collect();
    assert_eq!(
        causes.keys().collect::<BTreeSet<_>>(),
        want,
        "every tick once, no gaps"
    );
    // One partition, in order: the first run counted 1..=n; the second restored
    // the strategy's state from the state topic and counted on, n+1..=n+m (a
    // re-read tick or a state started from init would show here).
    let order: Vec<u64> = sent
        .iter()
        .map(|id| {
            let (_, v) = signals
                .iter()
                .find(|(_, v)| v["causation_id"] == id.as_str())
                .unwrap();
            count_meta(v)
        })
        .collect();
    assert_eq!(
        order[..n],
        (1..=n as u64).collect::<Vec<_>>(),
        "first run counts"
    );
    assert_eq!(
        order[n..],
        (n as u64 + 1..=(n + m) as u64).collect::<Vec<_>>(),
        "second run counts on from the first run's state"
    );
}

/// A clean stop in the middle of a stream finishes the batch in hand and commits
/// it: the next run re-emits nothing (no Redis, so a re-read would show).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_mid_stream_commits_what_it_emitted() {
    let bootstrap = shared_bootstrap();
    let dir = temp();
    let sid = name("midstop");
    let tokens = [token(), token(), token(), token()];
    let plugins = dir.path().join("plugins");
    counter_plugin(&plugins, "counter", &sid, &["paper"], &tokens, 1);
    let mut config = config(
        &bootstrap,
        "paper",
        &name("svc_midstop"),
        &plugins,
        &dir.path().join("cache"),
    );
    config.redis.url = String::new();
    config.plugins.max_batch = 16;
    ensure_topics(&bootstrap, &config).await;
    let mut reader = Reader::new(&bootstrap, &["paper.signals.raw"], false);
    let host = RunningHost::start(config.clone());

    // Once the host is consuming, a steady stream; stop it part-way through.
    let p = producer(&bootstrap);
    let mut ticks = Ticks::new(12);
    let warm = ticks.next(tokens[0]);
    send_tick(&p, &warm).await;
    assert!(
        reader
            .until(WAIT, |r| !signals_of(r, &sid).is_empty())
            .await,
        "no signal from the first host"
    );
    let total = 400usize;
    let feed = tokio::spawn(async move {
        let mut sent = vec![warm.id];
        for i in 1..total {
            let env = ticks.next(tokens[i % tokens.len()]);
            send_tick(&p, &env).await;
            sent.push(env.id);
            if i % 4 == 3 {
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
        }
        sent
    });
    assert!(
        reader
            .until(WAIT, |r| signals_of(r, &sid).len() >= 100)
            .await,
        "no signals before the stop"
    );
    let first = host.stop();
    let sent = feed.await.expect("feed");
    let before = signals_of(&reader.records, &sid).len();
    assert!(
        before < total,
        "the stop came after the whole stream ({before}): nothing tested"
    );

    let host = RunningHost::start(config);
    let ok = reader.until_answered(WAIT, &sid, &sent).await;
    assert!(ok, "ticks lost across the stop");
    reader.pump(Duration::from_secs(1)).await;
    host.stop();
    let signals = signals_of(&reader.records, &sid);
    let repeated: Vec<_> = causations(&signals)
        .into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .collect();
    assert!(
        repeated.is_empty(),
        "{} ticks re-emitted after a clean stop (first run: {first:?}, {before} signals before the stop)",
        repeated.len()
    );
    assert_eq!(signals.len(), total);
}

/// The value of `alpha_panda_assigned_partitions` from a host's `/metrics`.
fn assigned(port: u16) -> Option<u64> {
    gauge(port, "alpha_panda_assigned_partitions")
}

/// The value of an unlabelled metric `name` from a host's `/metrics`.
fn gauge(port: u16, name: &str) -> Option<u64> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    body.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map(|v| v as u64)
}

/// Two hosts of one service, each with the counter strategy on instruments
/// that cover every partition (the `version` parameter, 1 or 2, tells them
/// apart), each with a `/metrics` port; `b` is `a`'s config but for those.
struct TwoHosts {
    /// Removed with the test's end.
    _dir: tempfile::TempDir,
    sid: String,
    tokens: Vec<u32>,
    a: Config,
    b: Config,
    ports: (u16, u16),
}

impl TwoHosts {
    /// At least `min_tokens` instruments; `edit` changes both configs.
    async fn new(bootstrap: &str, tag: &str, min_tokens: usize, edit: fn(&mut Config)) -> Self {
        let dir = temp();
        let sid = name(tag);
        let service = name(&format!("svc_{tag}"));
        let mut tokens: Vec<u32> = Vec::new();
        let mut covered = BTreeSet::new();
        while covered.len() < TICK_PARTITIONS as usize || tokens.len() < min_tokens {
            let t = token();
            covered.insert(java_partition(t.to_string().as_bytes(), TICK_PARTITIONS));
            tokens.push(t);
        }
        let (pa, pb) = (dir.path().join("plugins-a"), dir.path().join("plugins-b"));
        counter_plugin(&pa, "counter", &sid, &["paper"], &tokens, 1);
        counter_plugin(&pb, "counter", &sid, &["paper"], &tokens, 2);
        let ports = (
            alpha_panda_tests::free_port(),
            alpha_panda_tests::free_port(),
        );
        let mut a = config(bootstrap, "paper", &service, &pa, &dir.path().join("ca"));
        edit(&mut a);
        a.metrics.listen = format!("127.0.0.1:{}", ports.0);
        let mut b = a.clone();
        b.plugins.dir = pb;
        b.plugins.cache_dir = Some(dir.path().join("cb"));
        b.metrics.listen = format!("127.0.0.1:{}", ports.1);
        ensure_topics(bootstrap, &a).await;
        TwoHosts {
            _dir: dir,
            sid,
            tokens,
            a,
            b,
            ports,
        }
    }

    /// Waits until both hold partitions, and together all of them.
    async fn until_split(&self) {
        eventually(|| {
            let (x, y) = (assigned(self.ports.0), assigned(self.ports.1));
            match (x, y) {
                (Some(x), Some(y)) if x > 0 && y > 0 && x + y == TICK_PARTITIONS as u64 => Ok(()),
                _ => Err(format!("assignments did not settle: a {x:?}, b {y:?}")),
            }
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_split_the_partitions_and_take_over() {
    let bootstrap = shared_bootstrap();
    let two = TwoHosts::new(&bootstrap, "split", 8, |_| {}).await;
    let (sid, tokens, port_b) = (two.sid.clone(), two.tokens.clone(), two.ports.1);
    let a = RunningHost::start(two.a.clone());
    let b = RunningHost::start(two.b.clone());
    two.until_split().await;

    let p = producer(&bootstrap);
    let mut reader = Reader::new(&bootstrap, &["paper.signals.raw"], false);
    let mut ticks = Ticks::new(11);
    let mut sent: Vec<String> = Vec::new();
    let mut sent_tokens: Vec<(String, u32)> = Vec::new();
    let all_out = |sent: &[String], r: &[Rec]| {
        let have: BTreeSet<String> = signals_of(r, &sid)
            .iter()
            .map(|(_, v)| v["causation_id"].as_str().unwrap_or_default().to_owned())
            .collect();
        sent.iter().all(|t| have.contains(t))
    };
    for _ in 0..4 {
        for &t in &tokens {
            let env = ticks.next(t);
            send_tick(&p, &env).await;
            sent_tokens.push((env.id.clone(), t));
            sent.push(env.id);
        }
    }
    assert!(
        reader.until(WAIT, |r| all_out(&sent, r)).await,
        "ticks lost while both hosts run"
    );
    let versions: BTreeSet<String> = signals_of(&reader.records, &sid)
        .iter()
        .map(|(_, v)| {
            v["data"]["metadata"]["version"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        versions,
        ["1", "2"].into_iter().map(String::from).collect(),
        "both hosts processed ticks"
    );

    // Stop A while ticks keep coming; B takes over all partitions.
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        a.stop()
    });
    for _ in 0..10 {
        for &t in &tokens {
            let env = ticks.next(t);
            send_tick(&p, &env).await;
            sent_tokens.push((env.id.clone(), t));
            sent.push(env.id);
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    stopper.join().expect("stopping host a");
    eventually(|| match assigned(port_b) {
        Some(n) if n == TICK_PARTITIONS as u64 => Ok(()),
        seen => Err(format!("b did not take over: {seen:?}")),
    })
    .await;
    let mut after = Vec::new();
    for &t in &tokens {
        let env = ticks.next(t);
        send_tick(&p, &env).await;
        sent_tokens.push((env.id.clone(), t));
        sent.push(env.id.clone());
        after.push(env.id);
    }
    let ok = reader.until(WAIT, |r| all_out(&sent, r)).await;
    let signals = signals_of(&reader.records, &sid);
    let causes = causations(&signals);
    let missing: Vec<&String> = sent.iter().filter(|t| !causes.contains_key(*t)).collect();
    assert!(ok, "{} ticks lost in the take-over", missing.len());
    reader.pump(Duration::from_millis(500)).await;
    let signals = signals_of(&reader.records, &sid);
    let causes = causations(&signals);
    let mut repeats = 0;
    for (cause, ids) in &causes {
        let distinct: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(
            distinct.len(),
            1,
            "tick {cause}: signals differ in id: {ids:?}"
        );
        repeats += ids.len() - 1;
    }
    eprintln!(
        "{} ticks, {} signals, {repeats} re-emitted with identical ids",
        sent.len(),
        signals.len()
    );
    let by_id: BTreeMap<&str, &Value> = signals
        .iter()
        .map(|(_, v)| (v["causation_id"].as_str().unwrap(), v))
        .collect();
    // State followed the partitions: the k-th tick of a partition was answered
    // with count k, whichever host answered it (and every repeat with the same).
    let mut position: BTreeMap<i32, u64> = BTreeMap::new();
    for (id, token) in &sent_tokens {
        let p = java_partition(token.to_string().as_bytes(), TICK_PARTITIONS);
        let k = position.entry(p).or_insert(0);
        *k += 1;
        for (_, v) in signals
            .iter()
            .filter(|(_, v)| v["causation_id"] == id.as_str())
        {
            assert_eq!(
                count_meta(v),
                *k,
                "tick {k} of partition {p} (version {})",
                v["data"]["metadata"]["version"]
            );
        }
    }
    for id in &after {
        assert_eq!(
            by_id[id.as_str()]["data"]["metadata"]["version"],
            "2",
            "after the take-over b answers every tick"
        );
    }
    b.stop();
}

/// The group's committed offset of `market.ticks` partition `p` (-1: none) and
/// the partition's log end.
fn committed_and_end(bootstrap: &str, config: &Config, p: i32) -> (i64, i64) {
    let (committed, end) = group_offsets(bootstrap, config)[p as usize];
    (committed.unwrap_or(-1), end)
}

/// A finished batch's offsets wait for the interval, then go to the broker
/// without a later batch to carry them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_held_are_committed_when_due_with_no_tick_behind_them() {
    let bootstrap = shared_bootstrap();
    let mut one = OneInstrument::new(&bootstrap, "held").await;
    one.config.delivery.commit_interval_ms = 5_000;
    let part = java_partition(one.tok.to_string().as_bytes(), TICK_PARTITIONS);
    let Started { host, .. } = one.start_answered(&bootstrap, 12, 10).await;
    let config = &one.config;
    // Acked a moment ago, so held, not committed: a commit per batch would
    // have moved the group to the log end by now.
    let (committed, end) = committed_and_end(&bootstrap, config, part);
    assert!(
        committed < end,
        "committed {committed} of {end} within the interval"
    );
    // No tick comes after them; the host commits them once they are due.
    eventually(|| match committed_and_end(&bootstrap, config, part) {
        (committed, end) if committed == end => Ok(()),
        (committed, end) => Err(format!(
            "held offsets never committed: {committed} of {end}"
        )),
    })
    .await;
    host.stop();
}

/// A host that loses partitions commits what it held for them first: the new
/// owner starts after the ticks answered (no Redis, so a re-read would show).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_commits_the_offsets_held_for_the_partitions_that_go() {
    let bootstrap = shared_bootstrap();
    let two = TwoHosts::new(&bootstrap, "revoke", 0, |c| {
        c.redis.url = String::new();
        // Nothing would be committed in this test but by the revocation.
        c.delivery.commit_interval_ms = 3_600_000;
    })
    .await;
    let (sid, tokens) = (two.sid.clone(), two.tokens.clone());
    let p = producer(&bootstrap);
    let mut reader = Reader::new(&bootstrap, &["paper.signals.raw"], false);
    let mut ticks = Ticks::new(13);
    let a = RunningHost::start(two.a.clone());
    let mut before = Vec::new();
    for _ in 0..3 {
        for &t in &tokens {
            let env = ticks.next(t);
            send_tick(&p, &env).await;
            before.push(env.id);
        }
    }
    let answered = |sent: &[String], r: &[Rec]| {
        let causes = causations(&signals_of(r, &sid));
        sent.iter().all(|t| causes.contains_key(t))
    };
    assert!(
        reader.until(WAIT, |r| answered(&before, r)).await,
        "a answered the first ticks"
    );
    let b = RunningHost::start(two.b.clone());
    two.until_split().await;
    // A tick behind the first on every partition: once each is answered, a
    // host that re-read its partition from the start has answered the first
    // ticks again before it.
    let mut after = Vec::new();
    for &t in &tokens {
        let env = ticks.next(t);
        send_tick(&p, &env).await;
        after.push(env.id);
    }
    assert!(
        reader.until(WAIT, |r| answered(&after, r)).await,
        "the ticks after the rebalance were answered"
    );
    let causes = causations(&signals_of(&reader.records, &sid));
    let repeated: Vec<&String> = before.iter().filter(|t| causes[*t].len() > 1).collect();
    assert!(
        repeated.is_empty(),
        "{} of {} ticks answered again after the rebalance",
        repeated.len(),
        before.len()
    );
    a.stop();
    b.stop();
}

/// Offsets held for a long interval do not put an idle host to sleep until
/// they are due: what waits for a batch boundary (here a plugin dropped in)
/// is still applied with no tick coming.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_host_with_offsets_held_still_applies_a_new_plugin() {
    let bootstrap = shared_bootstrap();
    let mut one = OneInstrument::new(&bootstrap, "idle_held").await;
    let plugins = one.config.plugins.dir.clone();
    let port = alpha_panda_tests::free_port();
    one.config.delivery.commit_interval_ms = 3_600_000;
    one.config.metrics.listen = format!("127.0.0.1:{port}");
    // The first ticks answered: their offsets are now held for an hour.
    let Started { host, .. } = one.start_answered(&bootstrap, 14, 3).await;
    let tok = one.tok;
    counter_plugin(
        &plugins,
        "second",
        &name("idle_second"),
        &["paper"],
        &[tok],
        1,
    );
    eventually(|| match gauge(port, "alpha_panda_plugins_loaded") {
        Some(2) => Ok(()),
        seen => Err(format!(
            "the second plugin was not applied while idle: {seen:?} loaded"
        )),
    })
    .await;
    host.stop();
}
