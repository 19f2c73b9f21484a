//! Lanes (issue 19): a set's ticks routed into calls and run on a lane per
//! strategy give what the joined run gives (the same signals at the same
//! positions, faults at their ticks); a busy lane holds up only itself; a slot
//! away on its lane still counts for routing and is put back, or dropped if its
//! strategy was unloaded meanwhile.

mod common;

use alpha_panda::contract::{BrokerNamespace, MarketTick};
use alpha_panda::strategy::lanes::{Call, Done, Lanes};
use alpha_panda::strategy::set::Processed;
use alpha_panda::strategy::workers::Workers;
use alpha_panda::strategy::{LiveStrategies, SlotConfig, LOCAL};
use alpha_panda_tests::paths;
use common::*;

const A: u32 = 738561;
const B: u32 = 81153;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Routes `ticks` in `live`'s local set and submits every call to `lanes`.
fn submit_all(live: &mut LiveStrategies, lanes: &mut Lanes, ticks: &[&MarketTick]) -> usize {
    let mut poison = Vec::new();
    let set = live.partition_mut(LOCAL).expect("local set");
    let calls = set.route(ticks, &mut poison);
    assert!(poison.is_empty());
    let n = calls.len();
    for c in calls {
        let call = Call {
            seq: 7,
            ticks: c.batch,
            positions: Some(c.positions),
        };
        lanes.submit(live, LOCAL, &c.strategy_id, call);
    }
    n
}

/// Every call back, in the order they came.
fn collect_all(live: &mut LiveStrategies, lanes: &mut Lanes) -> Vec<Done> {
    rt().block_on(async {
        let mut out = Vec::new();
        while let Some(r) = lanes.next_if_busy().await {
            out.push(lanes.finish(live, r));
        }
        out
    })
}

/// (tick position, strategy id, count) of each signal, by tick then strategy.
fn trace(p: &Processed) -> Vec<(usize, String, String)> {
    let mut t: Vec<_> = p
        .signals
        .iter()
        .map(|s| (s.tick_pos, s.strategy_id.clone(), count_of(s)))
        .collect();
    t.sort();
    t
}

fn live_with(workers: usize, plugins: &[(std::path::PathBuf, String)]) -> LiveStrategies {
    let config = SlotConfig {
        workers: Workers::new(workers),
        ..SlotConfig::default()
    };
    let set = set_with(&engine(), config, plugins);
    LiveStrategies::new(set, BrokerNamespace::Paper)
}

#[test]
fn lanes_give_what_the_joined_run_gives() {
    let plugins = vec![
        (
            paths::test_wasm("hostile"),
            hostile_manifest("a_all", "counter", -1, &[A, B], ""),
        ),
        (
            paths::test_wasm("hostile"),
            hostile_manifest("b_only_b", "counter", -1, &[B], ""),
        ),
        (
            paths::test_wasm("hostile"),
            hostile_manifest("c_panics", "panic", 1_756_442_904_000_000, &[A, B], ""),
        ),
    ];
    // 300 ticks: three calls a strategy (128 ticks at most each); c panics at 200.
    let ticks: Vec<MarketTick> = (0..300)
        .map(|i| tick(if i % 3 == 0 { B } else { A }, "100.5", i))
        .collect();
    let refs: Vec<&MarketTick> = ticks.iter().collect();

    let mut joined = live_with(2, &plugins);
    let expected = joined.partition_mut(LOCAL).expect("set").process(&refs);

    let mut live = live_with(2, &plugins);
    let mut lanes = Lanes::new(live.workers().detached());
    let calls = submit_all(&mut live, &mut lanes, &refs);
    assert_eq!(calls, 9, "three strategies, three calls each");
    let done = collect_all(&mut live, &mut lanes);
    assert_eq!(done.len(), calls);
    assert!(!lanes.busy());
    let mut got = Processed::default();
    for d in done {
        assert_eq!(d.seq, 7);
        got.extend_at(d.processed, |i| i);
    }
    assert_eq!(trace(&got), trace(&expected));
    assert_eq!(trace(&got).len(), 300 + 100 + 299);
    let faults = |p: &Processed| -> Vec<(usize, String)> {
        p.faults
            .iter()
            .map(|f| (f.tick_pos, f.strategy_id.clone()))
            .collect()
    };
    assert_eq!(faults(&got), vec![(200, "c_panics".to_owned())]);
    assert_eq!(faults(&got), faults(&expected));
    // Every slot is back in its set, with its state: the next tick counts on.
    let set = live.partition_mut(LOCAL).expect("set");
    assert_eq!(set.len(), 3);
    let next = tick(A, "100.5", 300);
    let after = set.process(&[&next]);
    let a = after.signals.iter().find(|s| s.strategy_id == "a_all");
    assert_eq!(a.map(count_of).as_deref(), Some("301"));
}

#[test]
fn a_busy_lane_holds_up_only_itself() {
    let plugins = vec![
        (
            paths::test_wasm("hostile"),
            hostile_manifest("fast", "counter", -1, &[A], ""),
        ),
        (
            paths::test_wasm("hostile"),
            hostile_manifest("looping", "loop", -1, &[A], ""),
        ),
    ];
    let mut live = live_with(2, &plugins);
    let mut lanes = Lanes::new(live.workers().detached());
    // The looping strategy's call takes its whole deadline (10 ms a tick, 20
    // ticks); the fast one's, microseconds.
    let ticks: Vec<MarketTick> = (0..20).map(|i| tick(A, "100.5", i)).collect();
    let refs: Vec<&MarketTick> = ticks.iter().collect();
    let mut poison = Vec::new();
    let calls = live
        .partition_mut(LOCAL)
        .expect("set")
        .route(&refs, &mut poison);
    // The looping one goes first.
    let mut calls: Vec<_> = calls.into_iter().rev().collect();
    assert_eq!(calls[0].strategy_id, "looping");
    for c in calls.drain(..) {
        let call = Call {
            seq: 1,
            ticks: c.batch,
            positions: Some(c.positions),
        };
        lanes.submit(&mut live, LOCAL, &c.strategy_id, call);
    }
    // While it is away, the looping slot still counts for routing.
    let set = live.partition_mut(LOCAL).expect("set");
    assert_eq!(set.len(), 2);
    let again = set.route(&refs[..1], &mut poison);
    assert!(again.iter().any(|c| c.strategy_id == "looping"));

    let done = collect_all(&mut live, &mut lanes);
    let order: Vec<&str> = done
        .iter()
        .filter_map(|d| d.processed.calls.first().map(|c| c.0.as_str()))
        .collect();
    assert_eq!(order, ["fast", "looping"], "the fast lane came back first");
    assert_eq!(done[0].processed.signals.len(), 20);
    assert!(
        !done[1].processed.faults.is_empty(),
        "the loop hit its deadline"
    );
}

#[test]
fn a_strategy_unloaded_while_its_call_runs_is_dropped_when_it_returns() {
    let plugins = vec![(
        paths::test_wasm("hostile"),
        hostile_manifest("gone", "counter", -1, &[A], ""),
    )];
    // No pool: calls run on the caller's thread as they are submitted.
    let mut live = live_with(1, &plugins);
    let mut lanes = Lanes::new(None);
    let ticks = [tick(A, "100.5", 0)];
    let refs: Vec<&MarketTick> = ticks.iter().collect();
    assert_eq!(submit_all(&mut live, &mut lanes, &refs), 1);
    let set = live.partition_mut(LOCAL).expect("set");
    assert!(set.get("gone").is_none(), "away on its lane");
    assert!(set.remove("gone"), "an away strategy can be removed");
    let done = collect_all(&mut live, &mut lanes);
    assert_eq!(done.len(), 1);
    assert_eq!(
        done[0].processed.signals.len(),
        1,
        "its call still answered"
    );
    let set = live.partition_mut(LOCAL).expect("set");
    assert!(set.is_empty(), "not put back: {}", set.len());
    // A call for a strategy that is not there returns at once, empty.
    let call = Call {
        seq: 2,
        ticks: done_batch(),
        positions: Some(vec![0]),
    };
    lanes.submit(&mut live, LOCAL, "gone", call);
    let done = collect_all(&mut live, &mut lanes);
    assert_eq!(done.len(), 1);
    assert!(done[0].processed.signals.is_empty());
    assert!(done[0].processed.calls.is_empty());
}

/// A one-tick batch as the ABI carries it.
fn done_batch() -> std::sync::Arc<alpha_panda::wasm::bindings::types::TickBatch> {
    let mut b = alpha_panda::wasm::convert::BatchBuilder::new();
    b.push(&tick(A, "100.5", 1)).expect("converts");
    std::sync::Arc::new(b.take())
}

/// One call of `ticks` for `strategy_id`'s lane in the local set.
fn submit_one(
    live: &mut LiveStrategies,
    lanes: &mut Lanes,
    strategy_id: &str,
    seq: u64,
    ticks: &[&MarketTick],
) {
    let mut poison = Vec::new();
    let set = live.partition_mut(LOCAL).expect("local set");
    let c = set
        .route(ticks, &mut poison)
        .into_iter()
        .find(|c| c.strategy_id == strategy_id)
        .expect("a call for the strategy");
    let call = Call {
        seq,
        ticks: c.batch,
        positions: Some(c.positions),
    };
    lanes.submit(live, LOCAL, strategy_id, call);
}

/// Each call's (seq, counts signalled), in the order given.
fn counts(done: &[Done]) -> Vec<(u64, Vec<String>)> {
    done.iter()
        .map(|d| (d.seq, d.processed.signals.iter().map(count_of).collect()))
        .collect()
}

#[test]
fn a_lanes_worker_runs_the_calls_queued_behind_it_without_the_pipeline() {
    let plugins = vec![
        (
            paths::test_wasm("hostile"),
            hostile_manifest("looping", "loop", -1, &[B], ""),
        ),
        (
            paths::test_wasm("hostile"),
            hostile_manifest("fast", "counter", -1, &[A], ""),
        ),
    ];
    // One worker, held by the looping strategy (10 ms a tick, 20 ticks), while
    // three calls of the fast one queue on its lane.
    let mut live = live_with(1, &plugins);
    let mut lanes = Lanes::new(live.workers().detached());
    let slow: Vec<MarketTick> = (0..20).map(|i| tick(B, "100.5", i)).collect();
    let slow: Vec<&MarketTick> = slow.iter().collect();
    submit_one(&mut live, &mut lanes, "looping", 1, &slow);
    let fast: Vec<MarketTick> = (0..3).map(|i| tick(A, "100.5", i)).collect();
    for (i, t) in fast.iter().enumerate() {
        submit_one(&mut live, &mut lanes, "fast", 2 + i as u64, &[t]);
    }
    // All four come back before the pipeline finishes any: the fast lane's
    // worker went from call to call by itself.
    let returned = rt().block_on(async {
        let mut out = Vec::new();
        while out.len() < 4 {
            let next = tokio::time::timeout(std::time::Duration::from_secs(60), lanes.next());
            match next.await {
                Ok(r) => out.push(r.expect("a call back")),
                Err(_) => panic!("{} calls back; the rest wait for the pipeline", out.len()),
            }
        }
        out
    });
    let done: Vec<Done> = returned
        .into_iter()
        .map(|r| lanes.finish(&mut live, r))
        .collect();
    assert!(!lanes.busy(), "every slot is back");
    let c = counts(&done);
    assert_eq!(c[0].0, 1, "the looping call first");
    assert_eq!(
        c[1..],
        [
            (2, vec!["1".to_owned()]),
            (3, vec!["2".to_owned()]),
            (4, vec!["3".to_owned()]),
        ],
        "the fast lane's calls in order, its count carried over"
    );
    assert_eq!(live.partition_mut(LOCAL).expect("set").len(), 2);
}

#[test]
fn a_call_for_a_lane_whose_worker_stopped_waits_for_the_slot() {
    let plugins = vec![(
        paths::test_wasm("hostile"),
        hostile_manifest("counter", "counter", -1, &[A], ""),
    )];
    // No pool: the first call runs as it is submitted and its worker stops, its
    // slot on the way back; the second waits until that slot is put back.
    let mut live = live_with(1, &plugins);
    let mut lanes = Lanes::new(None);
    let ticks: Vec<MarketTick> = (0..2).map(|i| tick(A, "100.5", i)).collect();
    submit_one(&mut live, &mut lanes, "counter", 1, &[&ticks[0]]);
    submit_one(&mut live, &mut lanes, "counter", 2, &[&ticks[1]]);
    assert!(lanes.busy());
    let done = collect_all(&mut live, &mut lanes);
    assert_eq!(
        counts(&done),
        [(1, vec!["1".to_owned()]), (2, vec!["2".to_owned()])]
    );
    assert_eq!(live.partition_mut(LOCAL).expect("set").len(), 1);
}
