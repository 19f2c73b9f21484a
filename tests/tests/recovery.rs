//! Fault recovery: a plugin that traps on one tick is rebuilt from its snapshot and
//! journal, and continues exactly as if only that tick had been withheld; one that
//! keeps faulting is quarantined; operators can release it. Every fault, recovery,
//! quarantine and release is counted per strategy and logged as one line.

mod common;

use alpha_panda::contract::MarketTick;
use alpha_panda::observe::Metrics;
use alpha_panda::strategy::PluginUpdate;
use alpha_panda::strategy::{EventKind, Lifecycle, SetOutput, SlotConfig, StrategySet};
use alpha_panda_tests::paths;
use common::*;
use std::io::{Read, Write};
use std::sync::Arc;
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
    let stats = Metrics::new();
    let mut live = bad_and_good(&engine, &stats, TOKEN);
    let ticks = ticks_of(TOKEN, 10);
    let refs: Vec<&MarketTick> = ticks.iter().collect();
    let ev = &stats.plugin_events;

    let out = live.process(&refs[..5]);
    assert_eq!(out.faults.len(), 3, "{:?}", out.faults);
    let slot = live.local().unwrap().get("bad_1").unwrap();
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

    stats.set_plugins(&live);
    assert_eq!(ev.total(EventKind::Recovery), recoveries);
    let text = stats.render();
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
    stats.set_plugins(&live);
    assert_eq!(
        ev.total(EventKind::Recovery),
        recoveries,
        "an unload takes no recovery back"
    );
    assert_eq!(ev.get("bad_1", EventKind::Fault), 3);
    assert_eq!(ev.get("bad_1", EventKind::Quarantine), 1);
    assert_eq!(ev.get("bad_1", EventKind::Unload), 1);
    let text = stats.render();
    for line in [
        "alpha_panda_plugin_events_total{event=\"fault\",strategy_id=\"bad_1\"} 3".to_owned(),
        "alpha_panda_plugin_events_total{event=\"unload\",strategy_id=\"bad_1\"} 1".to_owned(),
        format!("alpha_panda_plugin_recoveries_total {recoveries}"),
        "alpha_panda_plugins_quarantined 0".to_owned(),
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
    }
}

/// `POST /plugins/ID/release` reaches the slot: the request is sent to the stream
/// loop as an operator command, taken at the next tick boundary and applied to the
/// slot (as the pipeline's `apply_commands` does), and the strategy gets ticks again.
#[test]
fn an_operator_release_over_http_re_enables_a_quarantined_strategy() {
    let engine = engine();
    let stats = Arc::new(Metrics::new());
    let mut live = bad_and_good(&engine, &stats, TOKEN);
    let ticks = ticks_of(TOKEN, 10);
    let refs: Vec<&MarketTick> = ticks.iter().collect();
    live.process(&refs[..5]);
    assert!(live.local().unwrap().get("bad_1").unwrap().is_quarantined());

    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let (commands, mut asked_rx) = tokio::sync::mpsc::unbounded_channel();
    let endpoint = alpha_panda::observe::Endpoint {
        metrics: stats.clone(),
        readiness: alpha_panda::registry::Readiness::default(),
        commands,
    };
    rt.spawn(alpha_panda::observe::http::serve(listener, endpoint));
    let mut sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        sock,
        "POST /plugins/bad_1/release HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    sock.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");

    // Nothing changes until the tick boundary takes the request.
    assert!(live.local().unwrap().get("bad_1").unwrap().is_quarantined());
    let asked = asked_rx.try_recv().expect("one command sent");
    let alpha_panda::observe::OperatorCommand::Release(id) = asked;
    assert_eq!(id, "bad_1");
    live.local_mut()
        .get_mut(&id)
        .expect("a loaded strategy")
        .release();
    assert!(asked_rx.try_recv().is_err(), "sent once");
    let slot = live.local().unwrap().get("bad_1").unwrap();
    assert!(!slot.is_quarantined());
    assert_eq!(stats.plugin_events.get("bad_1", EventKind::Release), 1);

    let out = live.process(&refs[5..6]);
    assert_eq!(out.faults.len(), 1, "released, it is given ticks again");
    assert_eq!(stats.plugin_events.get("bad_1", EventKind::Fault), 4);
}

#[test]
fn a_snapshot_is_taken_by_time_and_recovery_replays_only_the_ticks_since() {
    let engine = engine();
    let every = Duration::from_millis(200);
    let ticks: Vec<MarketTick> = (0..30)
        .map(|i| tick(TOKEN, &format!("{}.5", 100 + i), i))
        .collect();
    let bad = 25usize;
    let mut set = set_with(
        &engine,
        SlotConfig {
            snapshot_every_ticks: u64::MAX,
            snapshot_every: every,
            ..SlotConfig::default()
        },
        &[(
            paths::test_wasm("hostile"),
            hostile_manifest(
                "s",
                "panic",
                ticks[bad].timestamp.to_unix_micros(),
                &[TOKEN],
                "",
            ),
        )],
    );
    let refs: Vec<&MarketTick> = ticks.iter().collect();
    let mut signals = set.process(&refs[..10]).signals;
    // However slow the machine, no tick count can trigger one.
    let before = set.get("s").unwrap().stats().snapshots;
    std::thread::sleep(every + every / 2);
    signals.extend(set.process(&refs[10..20]).signals);
    let slot = set.get("s").unwrap();
    assert_eq!(
        slot.stats().snapshots,
        before + 1,
        "the interval passed: the batch ends with a snapshot"
    );
    assert_eq!(slot.stats().replayed, 0);

    let out = set.process(&refs[20..]);
    assert_eq!(out.faults.len(), 1);
    signals.extend(out.signals);
    let slot = set.get("s").unwrap();
    assert!(slot.stats().recoveries >= 1);
    assert_eq!(
        slot.stats().replayed,
        (bad - 20) as u64,
        "only the ticks since the timed snapshot are replayed, not the 20 before it"
    );
    // State was rebuilt, not reset: the count goes on, one tick withheld.
    assert_eq!(signals.len(), 29);
    assert_eq!(count_of(&signals[28]), "29");
}

#[test]
fn faults_spread_wider_than_the_window_do_not_quarantine() {
    let engine = engine();
    let window = Duration::from_millis(100);
    let mut set = set_with(
        &engine,
        SlotConfig {
            fault_limit: 3,
            fault_window: window,
            ..config(1000)
        },
        &[(
            paths::test_wasm("hostile"),
            hostile_manifest("s", "panic", -1, &[TOKEN], ""),
        )],
    );
    let ticks = ticks_of(TOKEN, 9);
    let refs: Vec<&MarketTick> = ticks.iter().collect();
    for i in 0..6 {
        assert_eq!(set.process(&refs[i..i + 1]).faults.len(), 1);
        assert!(
            !set.get("s").unwrap().is_quarantined(),
            "fault {} is alone in its window",
            i + 1
        );
        std::thread::sleep(window + window / 2);
    }
    assert_eq!(set.get("s").unwrap().stats().faults, 6);
    // The same three faults at once do quarantine.
    assert_eq!(set.process(&refs[6..9]).faults.len(), 3);
    assert!(set.get("s").unwrap().is_quarantined());
}
