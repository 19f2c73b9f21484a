//! Strategy-scoped strategies on a real broker: one instance sees all of its
//! instruments, whatever partitions they are on, in time order, on one host of
//! the namespace at a time.
//!
//! - The `pair` test plugin (on each tick of `lead`, BUY at `follow`'s last
//!   price) over two instruments on different partitions: live signals equal
//!   `replay`'s, for ticks written before and during the run, while a second
//!   host joins mid-stream and the first one leaves.
//! - Over two instruments on one partition, strategy scope and instrument scope
//!   answer alike.
//!
//! SIGKILL of the owning host, in both delivery modes, is in `scoped_kill.rs`.

mod pipeline_support;

use std::collections::BTreeMap;
use std::time::Duration;

use alpha_panda::contract::{EventEnvelope, MarketTick};
use alpha_panda_tests::broker::shared_bootstrap;
use pipeline_support::pairs::*;
use pipeline_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_equals_replay_across_partitions_while_hosts_join_and_leave() {
    let bootstrap = shared_bootstrap();
    let service = name("scoped");
    let dir = temp();
    let plugins = dir.path().join("plugins");
    let (lead, follow) = two_tokens(false);
    // Several strategies, so that units are spread over both hosts and move.
    let ids: Vec<String> = (0..4).map(|i| format!("{}_{i}", name("pair"))).collect();
    for id in &ids {
        pair_plugin(&plugins, id, lead, follow, None);
    }
    let cfg = config(
        &bootstrap,
        "paper",
        &service,
        &plugins,
        &dir.path().join("cache"),
    );
    ensure_topics(&bootstrap, &cfg).await;
    let producer = producer(&bootstrap);
    let mut ticks = Ticks::new(17);
    let mut sent: Vec<EventEnvelope<MarketTick>> = Vec::new();
    let send_all = |batch: Vec<EventEnvelope<MarketTick>>| {
        let p = producer.clone();
        async move {
            for t in &batch {
                send_checked(&p, t).await;
            }
            batch
        }
    };
    // Written before any host runs.
    sent.extend(send_all(stream(&mut ticks, lead, follow, 150, 0)).await);
    let a = RunningHost::start(cfg.clone());
    sent.extend(send_all(stream(&mut ticks, lead, follow, 150, 150)).await);
    let mut reader = Reader::new(&bootstrap, &["paper.signals.raw"], false);
    let first_done = |recs: &[Rec]| {
        recs.iter()
            .filter(|r| {
                ids.iter()
                    .any(|i| r.json()["data"]["strategy_id"] == i.as_str())
            })
            .count()
            >= 4
    };
    assert!(
        reader.until(WAIT, first_done).await,
        "host A answers before B joins"
    );
    let b = RunningHost::start(cfg.clone());
    sent.extend(send_all(stream(&mut ticks, lead, follow, 150, 300)).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let summary_a = a.stop();
    sent.extend(send_all(stream(&mut ticks, lead, follow, 150, 450)).await);

    let want = replayed(&plugins, &sent);
    let expected: usize = want.values().map(Vec::len).sum();
    assert!(
        expected > 4 * 300,
        "replay answers most lead ticks: {expected}"
    );
    let order: BTreeMap<String, usize> = sent
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.clone(), i))
        .collect();
    let done = |recs: &[Rec]| {
        live_answers(recs, &ids, &order)
            .map(|got| got.values().map(Vec::len).sum::<usize>() >= expected)
            .unwrap_or(true)
    };
    reader.until(WAIT, done).await;
    let summary_b = b.stop();
    let got = live_answers(&reader.records, &ids, &order).expect("consistent answers");
    for id in &ids {
        assert_eq!(
            got.get(id).map(Vec::len),
            want.get(id).map(Vec::len),
            "{id}: as many answers live as in replay"
        );
        if let Some(d) = first_difference(id, &got, &want, &sent) {
            panic!("live differs from replay: {d}");
        }
    }
    let repeats = reader
        .records
        .iter()
        .filter(|r| {
            ids.iter()
                .any(|i| r.json()["data"]["strategy_id"] == i.as_str())
        })
        .count()
        - expected;
    assert_eq!(repeats, 0, "clean hand-overs repeat nothing");
    assert!(
        summary_a.ticks > 0 && summary_b.ticks > 0,
        "both hosts ran ticks: {summary_a:?} {summary_b:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_one_partition_strategy_scope_answers_as_instrument_scope_does() {
    let BothScopes {
        bootstrap,
        dir: _dir,
        plugins,
        lead,
        follow,
        scoped,
        per_partition,
        cfg,
    } = BothScopes::new("scoped_same").await;
    let producer = producer(&bootstrap);
    let mut ticks = Ticks::new(5);
    let host = RunningHost::start(cfg);
    let sent = stream(&mut ticks, lead, follow, 300, 0);
    for t in &sent {
        send_checked(&producer, t).await;
    }
    let ids = vec![scoped.clone(), per_partition.clone()];
    let order: BTreeMap<String, usize> = sent
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.clone(), i))
        .collect();
    let want = replayed(&plugins, &sent);
    let expected: usize = want.values().map(Vec::len).sum();
    let mut reader = Reader::new(&bootstrap, &["paper.signals.raw"], false);
    let done = |recs: &[Rec]| {
        live_answers(recs, &ids, &order)
            .map(|got| got.values().map(Vec::len).sum::<usize>() >= expected)
            .unwrap_or(true)
    };
    assert!(
        reader.until(WAIT, done).await,
        "both answer every lead tick"
    );
    let answers = reader.records.clone();
    // The last tick of a quiet stream is not held for the stall bound (10 s):
    // the end of its partition's log says nothing earlier is on its way.
    let last = ticks.next(lead);
    send_checked(&producer, &last).await;
    let answered_last = |recs: &[Rec]| {
        signals_of(recs, &scoped)
            .iter()
            .any(|(_, v)| v["causation_id"] == last.id.as_str())
    };
    assert!(
        reader
            .until(alpha_panda::merge::STALL / 2, answered_last)
            .await,
        "a lone last tick is answered well within the stall bound"
    );
    host.stop();
    let got = live_answers(&answers, &ids, &order).expect("consistent answers");
    assert!(got[&scoped].len() > 150);
    assert_eq!(
        got[&scoped], got[&per_partition],
        "the same answers, tick for tick"
    );
    assert_eq!(got[&scoped], want[&scoped], "and replay's");
}
