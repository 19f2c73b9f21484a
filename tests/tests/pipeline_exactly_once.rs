//! Exactly-once mode on a real Kafka broker (transactions): every tick is answered
//! once for read_committed readers, across a clean stop and a restart of the host,
//! and the group's offsets move with the transactions (a restarted host starts
//! where the last committed transaction ended). The SIGKILL runs of both delivery
//! modes are in `crash_safety.rs`, the broker's own death in `broker_failure.rs`.

mod pipeline_support;

use std::time::Duration;

use alpha_panda_tests::broker::shared_bootstrap;
use pipeline_support::answers::{wrong_counts, Sent, Tally};
use pipeline_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tick_is_answered_once_for_read_committed_readers_across_a_restart() {
    let bootstrap = shared_bootstrap();
    let dir = temp();
    let plugins = dir.path().join("plugins");
    let sid = name("eos_restart");
    let tokens = [token(), token(), token()];
    counter_plugin(&plugins, "counter", &sid, &["paper"], &tokens, 1);
    let mut config = config(
        &bootstrap,
        "paper",
        &name("svc_eos_restart"),
        &plugins,
        &dir.path().join("cache"),
    );
    config.delivery.mode = alpha_panda::config::DeliveryMode::ExactlyOnce;
    config.redis.url = String::new();
    ensure_topics(&bootstrap, &config).await;
    let p = producer(&bootstrap);
    let mut ticks = Ticks::new(31);
    let mut sent = Sent::default();
    let mut committed = Reader::new(&bootstrap, &["paper.signals.raw"], true);

    for round in 0..2 {
        let host = RunningHost::start(config.clone());
        for i in 0..150 {
            let env = ticks.next(tokens[i % tokens.len()]);
            let at = send_tick(&p, &env).await;
            sent.ids.push(env.id.clone());
            sent.at.push(at);
        }
        assert!(
            committed.until_answered(WAIT, &sid, &sent.ids).await,
            "round {round}: every tick answered for a read_committed reader"
        );
        let summary = host.stop();
        eprintln!("round {round}: {summary:?}");
    }
    // Anything answered twice would come right behind.
    committed.pump(Duration::from_secs(2)).await;
    let signals = signals_of(&committed.records, &sid);
    let by_tick = causations(&signals);
    assert_eq!(by_tick.len(), sent.len(), "every tick answered");
    let doubled: Vec<_> = by_tick.iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(
        doubled.is_empty(),
        "ticks answered twice after the restart: {doubled:?}"
    );
    // The counter's counts run on across the restart (the k-th tick of a
    // partition answered with k): state and offsets moved with the transactions.
    let mut tally = Tally::default();
    for (_, v) in &signals {
        let count = v["data"]["metadata"]["count"]
            .as_str()
            .and_then(|c| c.parse::<u64>().ok())
            .unwrap_or(0);
        let cause = v["causation_id"].as_str().unwrap_or_default().to_owned();
        tally.counts.entry(cause).or_default().push(count);
    }
    let wrong = wrong_counts(&sent, &tally);
    assert!(
        wrong.is_empty(),
        "counts that are not their tick's place in its partition (first (partition, place, count)): {:?}",
        &wrong[..wrong.len().min(5)]
    );
}
