//! Fault recovery: a plugin that traps on one tick is rebuilt from its snapshot and
//! journal, and continues exactly as if only that tick had been withheld; one that
//! keeps faulting is quarantined; operators can release it. Every fault, recovery,
//! quarantine and release is counted per strategy and logged as one line.

mod common;

use alpha_panda::contract::MarketTick;
use alpha_panda::pipeline::PipelineStats;
use alpha_panda::registry::watcher::PluginUpdate;
use alpha_panda::strategy::{EventKind, Lifecycle, SetOutput, SlotConfig, StrategySet};
use alpha_panda_tests::paths;
use common::*;
use std::time::Duration;

const TOKEN: u32 = 81153;

fn config(snapshot_every_ticks: u64) -> SlotConfig {
    SlotConfig {
        snapshot_every_ticks,
        snapshot_every: Duration::from_secs(3600),
        ..SlotConfig::default()
    }
}

fn run(set: &mut StrategySet, ticks: &[MarketTick], batch: usize) -> Vec<SetOutput> {
    let refs: Vec<&MarketTick> = ticks.iter().collect();
    let mut out = Vec::new();
    for chunk in refs.chunks(batch) {
        out.extend(set.process(chunk).signals);
    }
    out
}

/// (count, price) of every signal, in order.
fn trace(signals: &[SetOutput]) -> Vec<(String, String)> {
    signals
        .iter()
        .map(|s| {
            (
                count_of(s),
                s.signal.price.map(|p| p.to_string()).unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn state_is_rebuilt_not_reset_after_a_trap() {
    let ticks: Vec<MarketTick> = (0..100)
        .map(|i| tick(TOKEN, &format!("{}.5", 100 + i), i))
        .collect();
    let bad = 57usize;
    let at_us = ticks[bad].timestamp.to_unix_micros();
    for (batch, snapshot_every) in [(16usize, 7u64), (1, 10), (100, 1000)] {
        let engine = engine();
        let mut faulty = set_with(
            &engine,
            config(snapshot_every),
            &[(
                paths::test_wasm("hostile"),
                hostile_manifest("s", "panic", at_us, &[TOKEN], ""),
            )],
        );
        let got = run(&mut faulty, &ticks, batch);
        let slot = faulty.get("s").unwrap();
        assert_eq!(slot.stats().faults, 1, "batch {batch}");
        assert!(slot.stats().recoveries >= 1);
        assert!(!slot.is_quarantined());

        let withheld: Vec<MarketTick> = ticks
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != bad)
            .map(|(_, t)| t.clone())
            .collect();
        let mut clean = set_with(
            &engine,
            config(snapshot_every),
            &[(
                paths::test_wasm("hostile"),
                hostile_manifest("s", "counter", -1, &[TOKEN], ""),
            )],
        );
        let expected = run(&mut clean, &withheld, batch);
        assert_eq!(got.len(), 99);
        assert_eq!(
            trace(&got),
            trace(&expected),
            "batch {batch}, snapshot every {snapshot_every}"
        );
        // Signals of the ticks after the fault answer the right ticks.
        assert_eq!(got[bad].tick_pos, (bad + 1) % batch);
    }
}

#[test]
fn quarantine_after_repeated_faults_and_release() {
    let engine = engine();
    let mut set = set_with(
        &engine,
        SlotConfig {
            fault_limit: 3,
            ..config(1000)
        },
        &[(
            paths::test_wasm("hostile"),
            hostile_manifest("s", "panic", -1, &[TOKEN], ""),
        )],
    );
    let ticks: Vec<MarketTick> = (0..10).map(|i| tick(TOKEN, "10", i)).collect();
    let refs: Vec<&MarketTick> = ticks.iter().collect();
    let out = set.process(&refs[..5]);
    assert_eq!(out.faults.len(), 3, "stops at the limit: {:?}", out.faults);
    assert!(set.get("s").unwrap().is_quarantined());
    let out = set.process(&refs[5..]);
    assert!(
        out.faults.is_empty() && out.signals.is_empty(),
        "a quarantined plugin gets no ticks"
    );
    set.get_mut("s").unwrap().release();
    assert_eq!(
        set.process(&refs[5..6]).faults.len(),
        1,
        "released, it runs again"
    );
}

#[test]
fn events_are_counted_per_strategy_and_an_unload_takes_none_back() {
    let engine = engine();
    let stats = PipelineStats::default();
    let mut live = bad_and_good(&engine, &stats, TOKEN);
    let ticks = ticks_of(TOKEN, 10);
    let refs: Vec<&MarketTick> = ticks.iter().collect();
    let ev = &stats.plugin_events;

    let out = live.process(&refs[..5]);
    assert_eq!(out.faults.len(), 3, "{:?}", out.faults);
    let slot = live.set().get("bad_1").unwrap();
    assert!(slot.is_quarantined());
    let recoveries = slot.stats().recoveries;
    assert!(recoveries >= 3, "one rebuild per trap: {recoveries}");
    assert_eq!(ev.get("bad_1", EventKind::Fault), 3);
    assert_eq!(ev.get("bad_1", EventKind::Recovery), recoveries);
    assert_eq!(ev.get("bad_1", EventKind::Quarantine), 1);
    assert_eq!(ev.get("bad_1", EventKind::Load), 1);
    for kind in [EventKind::Fault, EventKind::Recovery, EventKind::Quarantine] {
        assert_eq!(ev.get("good_1", kind), 0, "{kind:?} of the good strategy");
    }
    assert_eq!(ev.get("good_1", EventKind::Load), 1);

    // Quarantined, it gets no ticks: nothing moves.
    live.process(&refs[5..]);
    assert_eq!(ev.get("bad_1", EventKind::Fault), 3);
    assert_eq!(ev.get("bad_1", EventKind::Quarantine), 1);

    stats.set_lifecycle(live.counts(), live.set());
    assert_eq!(PipelineStats::get(&stats.plugin_recoveries), recoveries);
    let text = alpha_panda::metrics::render(&stats);
    for line in [
        "alpha_panda_plugin_events_total{event=\"fault\",strategy_id=\"bad_1\"} 3".to_owned(),
        "alpha_panda_plugin_events_total{event=\"quarantine\",strategy_id=\"bad_1\"} 1".to_owned(),
        format!("alpha_panda_plugin_events_total{{event=\"recovery\",strategy_id=\"bad_1\"}} {recoveries}"),
        format!("alpha_panda_plugin_recoveries_total {recoveries}"),
        "alpha_panda_plugins_quarantined 1".to_owned(),
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
    }

    // Unloaded: the counters keep what happened, the gauge follows the slots.
    assert!(matches!(
        live.apply(PluginUpdate::Remove { name: "bad".into() }),
        Some(Lifecycle::Unloaded { .. })
    ));
    stats.set_lifecycle(live.counts(), live.set());
    assert_eq!(
        PipelineStats::get(&stats.plugin_recoveries),
        recoveries,
        "an unload takes no recovery back"
    );
    assert_eq!(ev.get("bad_1", EventKind::Fault), 3);
    assert_eq!(ev.get("bad_1", EventKind::Quarantine), 1);
    assert_eq!(ev.get("bad_1", EventKind::Unload), 1);
    let text = alpha_panda::metrics::render(&stats);
    for line in [
        "alpha_panda_plugin_events_total{event=\"fault\",strategy_id=\"bad_1\"} 3".to_owned(),
        "alpha_panda_plugin_events_total{event=\"unload\",strategy_id=\"bad_1\"} 1".to_owned(),
        format!("alpha_panda_plugin_recoveries_total {recoveries}"),
        "alpha_panda_plugins_quarantined 0".to_owned(),
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
    }
}
