//! Strategy-scoped strategies survive the SIGKILL of the host that runs them:
//! two host processes share a namespace, the `pair` strategies run on one of
//! them, that one is killed mid-stream, and the other takes its units over (after
//! the owners group notices, one session timeout). State is exact (each answer's
//! `n` and the follow price it used are replay's); nothing is lost; exactly-once,
//! nothing is answered twice (read_committed); at-least-once a tick answered again
//! is answered with the same content.

mod pipeline_support;

use std::collections::BTreeMap;
use std::process::Child;
use std::time::{Duration, Instant};

use alpha_panda::contract::{EventEnvelope, MarketTick};
use alpha_panda_tests::broker::shared_bootstrap;
use pipeline_support::child::{config_toml, log_tails, metric, spawn_host, ChildConfig};
use pipeline_support::pairs::*;
use pipeline_support::*;

/// A host process in `dir` (its plugins in `dir/plugins`), metrics on `port`.
struct Proc {
    dir: tempfile::TempDir,
    port: u16,
    child: Child,
}

fn spawn(
    bootstrap: &str,
    service: &str,
    mode: &str,
    who: &str,
    ids: &[String],
    tokens: (u32, u32),
) -> Proc {
    let dir = temp();
    for id in ids {
        pair_plugin(&dir.path().join("plugins"), id, tokens.0, tokens.1, None);
    }
    let port = alpha_panda_tests::free_port();
    let listen = format!("127.0.0.1:{port}");
    let toml = config_toml(
        &ChildConfig {
            bootstrap,
            service,
            mode,
            redis_url: "",
            redis_prefix: "",
            metrics_listen: &listen,
        },
        dir.path(),
    )
    // Two hosts at once: each its own transactional id for its partitions.
    .replace(
        &format!("instance_id = \"{service}\""),
        &format!("instance_id = \"{service}-{who}\""),
    );
    let config = dir.path().join("host.toml");
    std::fs::write(&config, toml).expect("config");
    let child = spawn_host(&config, dir.path(), 0);
    Proc { dir, port, child }
}

/// Strategy-scoped strategies running on the host at `port` (None: no answer).
fn running(port: u16) -> Option<f64> {
    metric(port, "alpha_panda_scoped_strategy_running")
}

async fn wait_for(what: &str, procs: &[&Proc], mut done: impl FnMut() -> bool) {
    let until = Instant::now() + WAIT;
    while !done() {
        if Instant::now() >= until {
            let logs: Vec<String> = procs.iter().map(|p| logs(p)).collect();
            panic!("timed out waiting until {what}\n{}", logs.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn logs(p: &Proc) -> String {
    log_tails(p.dir.path(), 0..=0)
}

async fn kill_the_owner(mode: &str) {
    let bootstrap = shared_bootstrap();
    let service = name(&format!("scoped_kill_{mode}"));
    let tokens = two_tokens(false);
    let ids: Vec<String> = (0..2).map(|i| format!("{}_{i}", name("pair"))).collect();
    let topics = temp();
    let cfg = config(&bootstrap, "paper", &service, topics.path(), topics.path());
    ensure_topics(&bootstrap, &cfg).await;
    let mut a = spawn(&bootstrap, &service, mode, "a", &ids, tokens);
    let producer = producer(&bootstrap);
    let mut ticks = Ticks::new(23);
    let mut sent: Vec<EventEnvelope<MarketTick>> = Vec::new();
    let mut phase = 0;
    let mut write = |n: usize, sent: &mut Vec<EventEnvelope<MarketTick>>| {
        let batch = stream(&mut ticks, tokens.0, tokens.1, n, phase);
        phase += n;
        sent.extend(batch.iter().cloned());
        batch
    };
    // Whole rounds of six ticks (one timestamp each): the pauses below would hold a
    // round's later ticks back past the merge's wait, and live could not equal replay.
    for t in write(204, &mut sent) {
        send_checked(&producer, &t).await;
    }
    wait_for("host A runs both strategies", &[&a], || {
        running(a.port).is_some_and(|n| n >= 2.0)
    })
    .await;
    let mut b = spawn(&bootstrap, &service, mode, "b", &ids, tokens);
    wait_for("host B is up", &[&b], || running(b.port).is_some()).await;
    // Ticks flow while the owner dies.
    for round in 0..10 {
        for t in write(60, &mut sent) {
            send_checked(&producer, &t).await;
        }
        if round == 4 {
            let owner = if running(a.port).unwrap_or(0.0) > 0.0 {
                &mut a
            } else {
                &mut b
            };
            owner.child.kill().expect("SIGKILL the owner");
            let _ = owner.child.wait();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (dead, alive) = if a.child.try_wait().ok().flatten().is_some() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    wait_for("the survivor runs both strategies", &[alive, dead], || {
        running(alive.port).is_some_and(|n| n >= 2.0)
    })
    .await;

    let plugins = alive.dir.path().join("plugins");
    let want = replayed(&plugins, &sent);
    let expected: usize = want.values().map(Vec::len).sum();
    let order: BTreeMap<String, usize> = sent
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.clone(), i))
        .collect();
    let mut reader = Reader::new(&bootstrap, &["paper.signals.raw"], mode == "exactly_once");
    let done = |recs: &[Rec]| {
        live_answers(recs, &ids, &order)
            .map(|got| got.values().map(Vec::len).sum::<usize>() >= expected)
            .unwrap_or(true)
    };
    let complete = reader.until(WAIT, done).await;
    let diag = format!("{}\n{}", logs(dead), logs(alive));
    let got = match live_answers(&reader.records, &ids, &order) {
        Ok(g) => g,
        Err(e) => panic!("{e}\n{diag}"),
    };
    assert!(complete, "every lead tick answered\n{diag}");
    for id in &ids {
        if let Some(d) = first_difference(id, &got, &want, &sent) {
            panic!("state exact, nothing lost: {d}\n{diag}");
        }
    }
    let answers = reader
        .records
        .iter()
        .filter(|r| {
            ids.iter()
                .any(|i| r.json()["data"]["strategy_id"] == i.as_str())
        })
        .count();
    if mode == "exactly_once" {
        assert_eq!(
            answers, expected,
            "exactly-once: nothing answered twice\n{diag}"
        );
    }
    eprintln!("{mode}: {expected} answers, {} repeats", answers - expected);
    for p in [&mut a, &mut b] {
        let _ = p.child.kill();
        let _ = p.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_least_once_the_survivor_takes_over_with_exact_state() {
    kill_the_owner("at_least_once").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_the_survivor_takes_over_answering_each_tick_once() {
    kill_the_owner("exactly_once").await;
}
