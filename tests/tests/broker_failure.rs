//! A broker that fails: the Kafka broker process is SIGKILLed in the middle of a
//! stream, stays down for 10 s and is started again on the same storage and
//! ports, while a host (a child process) works through a backlog.
//!
//! - Exactly-once: a read_committed reader sees every tick answered exactly once.
//! - At-least-once: every tick is answered; a repeat carries the same signal id.
//! - Both: the host rides the outage out (no exit, no restart), and the counting
//!   strategy's counts stay exact (the k-th tick of a partition answered with k).
//!
//! Each test starts a broker of its own (it kills it), whatever
//! `ALPHA_PANDA_TEST_BOOTSTRAP` says.

mod pipeline_support;

use std::time::{Duration, Instant};

use pipeline_support::answers::{
    send_ticks, tick_producer, wait_answered, wait_consumed, wrong_counts, Sent, SignalReader,
    Tally,
};
use pipeline_support::child::{config_toml, log_tails, metric, spawn_host, ChildConfig};
use pipeline_support::*;

/// How long the broker stays down.
const OUTAGE: Duration = Duration::from_secs(10);

struct Outcome {
    sent: Sent,
    tally: Tally,
}

async fn outage(mode: &str, read_committed: bool) -> Outcome {
    let mut broker = alpha_panda_tests::broker::start_private();
    let bootstrap = broker.bootstrap();
    let dir = temp();
    let sid = name(&format!("outage_{mode}"));
    let tokens: Vec<u32> = (0..8).map(|_| token()).collect();
    counter_plugin(
        &dir.path().join("plugins"),
        "counter",
        &sid,
        &["paper"],
        &tokens,
        1,
    );
    let port = alpha_panda_tests::free_port();
    let listen = format!("127.0.0.1:{port}");
    let redis = alpha_panda_tests::redis_server::shared_url();
    let prefix = alpha_panda_tests::unique("outage-dedup");
    let path = dir.path().join("host.toml");
    std::fs::write(
        &path,
        config_toml(
            &ChildConfig {
                bootstrap: &bootstrap,
                service: &name(&format!("svc_outage_{mode}")),
                mode,
                redis_url: &redis,
                redis_prefix: &prefix,
                metrics_listen: &listen,
            },
            dir.path(),
        ),
    )
    .expect("config");
    let config = alpha_panda::config::Config::load(Some(&path)).expect("config parses");
    ensure_topics(&bootstrap, &config).await;
    let reader = SignalReader::start(&bootstrap, &sid, read_committed);
    let producer = tick_producer(&bootstrap);
    let mut ticks = Ticks::new(11);
    let mut sent = Sent::default();
    send_ticks(&producer, &mut ticks, &tokens, 20_000, &mut sent).await;

    let mut child = spawn_host(&path, dir.path(), 0);
    let consumed = wait_consumed(&mut child, port, dir.path(), 0, 2_000).await;
    broker.kill();
    eprintln!(
        "{mode}: broker killed after the host consumed {consumed} of {} ticks",
        sent.len()
    );
    let down = Instant::now();
    tokio::time::sleep(OUTAGE).await;
    assert!(
        child.try_wait().expect("wait").is_none(),
        "{mode}: the host exited during the broker's outage\n{}",
        log_tails(dir.path(), 0..=0)
    );
    broker
        .restart()
        .unwrap_or_else(|e| panic!("the broker did not start again: {e}"));
    eprintln!(
        "{mode}: broker back after {:.1} s",
        down.elapsed().as_secs_f64()
    );
    send_ticks(&producer, &mut ticks, &tokens, 5_000, &mut sent).await;
    wait_answered(&reader, &sent.ids, "after the outage", dir.path(), 0).await;
    // Anything written twice would come right behind: give it time to arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let consumed = metric(port, "alpha_panda_ticks_consumed_total").unwrap_or(0.0);
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let until = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if Instant::now() > until {
            let _ = child.kill();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "{mode}: SIGTERM after the outage: exit 0 within 30 s\n{}",
        log_tails(dir.path(), 0..=0)
    );
    eprintln!("{mode}: {} ticks, host consumed {consumed}", sent.len());
    let tally = std::mem::take(&mut *reader.tally.lock().expect("tally"));
    Outcome { sent, tally }
}

fn check_exact_counts(mode: &str, o: &Outcome) {
    let wrong = wrong_counts(&o.sent, &o.tally);
    assert!(
        wrong.is_empty(),
        "{mode}: {} signals carry a count that is not their tick's place in its partition \
         (state lost or a tick applied twice across the outage); first (partition, place, count): {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_loses_nothing_and_doubles_nothing_when_the_broker_dies_for_ten_seconds() {
    let o = outage("exactly_once", true).await;
    check_exact_counts("exactly_once", &o);
    let doubled: Vec<(&String, &Vec<String>)> = o
        .tally
        .by_tick
        .iter()
        .filter(|(_, ids)| ids.len() > 1)
        .collect();
    assert!(
        doubled.is_empty(),
        "exactly_once: {} ticks answered more than once for read_committed readers (first: {:?})",
        doubled.len(),
        doubled.first()
    );
    assert_eq!(o.tally.records, o.sent.len(), "one signal per tick");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_least_once_loses_nothing_when_the_broker_dies_for_ten_seconds() {
    let o = outage("at_least_once", false).await;
    check_exact_counts("at_least_once", &o);
    for (tick, ids) in &o.tally.by_tick {
        assert!(
            ids.iter().all(|id| id == &ids[0]),
            "tick {tick} answered with different ids: {ids:?}"
        );
    }
}
