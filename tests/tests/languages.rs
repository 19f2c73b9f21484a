//! Strategies in Python and JavaScript, run by the host as it runs Rust ones:
//! each component reports its language; the Python and JavaScript samples replay
//! exactly as the Rust samples do; and reloads with state, fault recovery and
//! quarantine work for every language (the `hostile_py` and `hostile_js` test
//! plugins count ticks, raise or throw, or loop on a tick).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use alpha_panda::contract::{MarketTick, Timestamp};
use alpha_panda::strategy::{
    Lifecycle, LiveStrategies, PluginUpdate, SlotConfig, StrategySet, StrategySlot,
};
use alpha_panda::wasm::{Fault, Language, StrategyEngine};
use alpha_panda_tests::paths;
use common::*;
use serde_json::Value;

#[test]
fn each_component_reports_its_language() {
    for (wasm, language) in [
        (paths::sample_wasm("momentum"), Language::Rust),
        (paths::sample_wasm("momentum_py"), Language::Python),
        (paths::sample_wasm("momentum_js"), Language::JavaScript),
        (paths::test_wasm("hostile_py"), Language::Python),
        (paths::test_wasm("hostile_js"), Language::JavaScript),
    ] {
        let bytes = std::fs::read(&wasm).expect("read the component");
        assert_eq!(Language::detect(&bytes), language, "{}", wasm.display());
    }
}

/// The engine of these tests, its compiled code cached beside the build (a
/// Python or JavaScript component takes seconds to compile).
fn cached_engine() -> StrategyEngine {
    engine_cached(&paths::root().join("target/test-compiled"))
}

/// The replay fixture (`vectors/replay/series.csv`) as the host's replay CSV.
fn series_csv(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(paths::root().join("vectors/replay/series.csv"))
        .expect("the series");
    let mut csv = String::from("instrument_token,timestamp,last_price\n");
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let us: i64 = f[2].parse().expect("micros");
        let ts = Timestamp::from_unix_micros(us).expect("time");
        csv.push_str(&format!("{},{ts},{}\n", f[0], f[1]));
    }
    let path = dir.join("series.csv");
    std::fs::write(&path, csv).expect("write the series");
    path
}

/// What a signal says, whatever strategy wrote it: the tick it answers, side,
/// quantity, price, confidence and the strategy's own metadata (the host's
/// `plugin_sha256` names the component, which differs by language).
fn answer(v: &Value) -> String {
    let d = &v["data"];
    let mut metadata = d["metadata"].clone();
    if let Some(m) = metadata.as_object_mut() {
        m.remove("plugin_sha256");
    }
    format!(
        "{} {} {} {} {} {}",
        v["causation_id"], d["signal_type"], d["quantity"], d["price"], d["confidence"], metadata
    )
}

#[test]
fn the_python_and_javascript_samples_replay_exactly_as_the_rust_ones() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let samples = ["momentum", "mean_reversion"];
    let names: Vec<String> = samples
        .iter()
        .flat_map(|b| [b.to_string(), format!("{b}_py"), format!("{b}_js")])
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let plugins = paths::copy_samples(&names, tmp.path());
    let mut config = alpha_panda::config::Config::load(None).expect("config");
    config.plugins.dir = plugins;
    config.plugins.cache_dir = Some(paths::root().join("target/test-compiled"));
    let mut set = alpha_panda::replay::load_strategies(&config).expect("strategies load");
    let mut out = Vec::new();
    let summary = alpha_panda::replay::replay(
        &config,
        &mut set,
        &series_csv(tmp.path()),
        &mut out,
        &mut |_| {},
    )
    .expect("replay");
    assert_eq!(summary.faults, 0);
    let lines: Vec<Value> = String::from_utf8(out)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let of = |id: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|v| v["data"]["strategy_id"] == id)
            .map(answer)
            .collect()
    };
    for base in samples {
        let rust = of(&format!("{base}_1"));
        assert!(
            rust.len() > 20,
            "{base} signals over the series: {}",
            rust.len()
        );
        assert_eq!(of(&format!("{base}_py_1")), rust, "{base} in Python");
        assert_eq!(of(&format!("{base}_js_1")), rust, "{base} in JavaScript");
    }
}

/// Live strategies of `wasm` (a hostile test plugin) on instrument 7.
fn live_with(
    engine: &StrategyEngine,
    wasm: &str,
    mode: &str,
    at_us: i64,
    version: i64,
) -> LiveStrategies {
    let config = SlotConfig {
        fault_limit: 3,
        ..SlotConfig::default()
    };
    let mut live = LiveStrategies::new(
        StrategySet::new(engine.clone(), config),
        alpha_panda::contract::BrokerNamespace::Paper,
    );
    let update = update_of(engine, wasm, mode, at_us, version);
    assert!(matches!(live.apply(update), Some(Lifecycle::Loaded { .. })));
    live
}

fn update_of(
    engine: &StrategyEngine,
    wasm: &str,
    mode: &str,
    at_us: i64,
    version: i64,
) -> PluginUpdate {
    let manifest = hostile_manifest(wasm, mode, at_us, &[7], &format!("version = {version}\n"));
    let (component, manifest) = load(engine, &paths::test_wasm(wasm), &manifest);
    let prepared = StrategySlot::prepare(engine, &component, &manifest).expect("prepares");
    PluginUpdate::Load {
        name: wasm.to_owned(),
        sha256: component.sha256().to_owned(),
        prepared: Box::new(prepared),
    }
}

/// Ticks of instrument 7 at seconds `from..to`.
fn ticks(from: i64, to: i64) -> Vec<MarketTick> {
    (from..to).map(|i| tick(7, "10.5", i)).collect()
}

fn counts(live: &mut LiveStrategies, ticks: &[MarketTick]) -> Vec<String> {
    let refs: Vec<&MarketTick> = ticks.iter().collect();
    live.process(&refs).signals.iter().map(count_of).collect()
}

/// The time of tick `i` of [`ticks`], as the plugins' `at_us` names it.
fn at(i: i64) -> i64 {
    tick(7, "1", i).timestamp.to_unix_micros()
}

#[test]
fn python_and_javascript_strategies_reload_with_their_state() {
    let engine = cached_engine();
    for wasm in ["hostile_py", "hostile_js"] {
        let mut live = live_with(&engine, wasm, "counter", -1, 1);
        assert_eq!(counts(&mut live, &ticks(0, 3)), ["1", "2", "3"], "{wasm}");
        let reloaded = live.apply(update_of(&engine, wasm, "counter", -1, 2));
        assert!(
            matches!(reloaded, Some(Lifecycle::Reloaded { .. })),
            "{wasm}: {reloaded:?}"
        );
        let refs: Vec<MarketTick> = ticks(3, 5);
        let out = live.process(&refs.iter().collect::<Vec<_>>());
        let got: Vec<(String, String)> = out
            .signals
            .iter()
            .map(|s| (count_of(s), meta_of(s, "version")))
            .collect();
        assert_eq!(
            got,
            [("4".into(), "2".into()), ("5".into(), "2".into())],
            "{wasm}: the new version goes on counting"
        );
    }
}

#[test]
fn an_exception_is_a_tick_error_with_its_message_and_repeated_ones_quarantine() {
    let engine = cached_engine();
    for (wasm, mode, message) in [
        (
            "hostile_py",
            "raise",
            "ValueError: hostile_py refuses the tick at",
        ),
        ("hostile_js", "throw", "hostile_js refuses the tick at"),
    ] {
        let mut live = live_with(&engine, wasm, mode, at(1), 1);
        let refs: Vec<MarketTick> = ticks(0, 3);
        let out = live.process(&refs.iter().collect::<Vec<_>>());
        assert_eq!(out.faults.len(), 1, "{wasm}: {:?}", out.faults);
        assert_eq!(out.faults[0].tick_pos, 1);
        match &out.faults[0].fault {
            Fault::Strategy(m) => assert!(m.contains(message), "{wasm}: {m}"),
            other => panic!("{wasm}: a tick error, not {other:?}"),
        }
        let got: Vec<String> = out.signals.iter().map(count_of).collect();
        assert_eq!(got, ["1", "3"], "{wasm}: the instance kept running");

        let mut every = live_with(&engine, wasm, mode, -1, 1);
        let refs: Vec<MarketTick> = ticks(0, 5);
        let out = every.process(&refs.iter().collect::<Vec<_>>());
        let at: Vec<usize> = out.faults.iter().map(|f| f.tick_pos).collect();
        assert_eq!(at, [0, 1, 2], "{wasm}: quarantined at the third fault");
        assert!(every.is_quarantined(wasm), "{wasm}");
        let later: Vec<MarketTick> = ticks(5, 8);
        let out = every.process(&later.iter().collect::<Vec<_>>());
        assert!(
            out.faults.is_empty() && out.signals.is_empty(),
            "{wasm}: a quarantined strategy is not run"
        );
    }
}

#[test]
fn a_strategy_that_loops_is_stopped_and_rebuilt_with_its_state() {
    let engine = cached_engine();
    for wasm in ["hostile_py", "hostile_js"] {
        let mut live = live_with(&engine, wasm, "loop", at(3), 1);
        assert_eq!(counts(&mut live, &ticks(0, 2)), ["1", "2"], "{wasm}");
        let started = std::time::Instant::now();
        let refs: Vec<MarketTick> = ticks(2, 6);
        let out = live.process(&refs.iter().collect::<Vec<_>>());
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{wasm}: the loop was stopped"
        );
        assert_eq!(out.faults.len(), 1, "{wasm}: {:?}", out.faults);
        assert!(
            matches!(out.faults[0].fault, Fault::Timeout(_)),
            "{wasm}: {:?}",
            out.faults[0].fault
        );
        let got: Vec<String> = out.signals.iter().map(count_of).collect();
        assert_eq!(
            got,
            ["3", "4", "5"],
            "{wasm}: rebuilt from its snapshot and journal, the looping tick skipped"
        );
    }
}

/// Each signal of a set fed one tick per call: the tick's number and what it said.
fn one_by_one(set: &mut StrategySet, ticks: &[MarketTick]) -> Vec<String> {
    let mut out = Vec::new();
    for (n, t) in ticks.iter().enumerate() {
        for s in set.process(&[t]).signals {
            let g = &s.signal;
            out.push(format!("{n} {:?} {} {:?}", g.side, g.quantity, g.price));
        }
    }
    out
}

#[test]
fn a_javascript_instance_that_keeps_growing_is_recycled_with_its_state() {
    // A JavaScript guest's memory grows with every call and is never handed back
    // (about 1.3 KiB a call here): at one tick a call it would reach the 64 MiB
    // cap and fault. Past `recycle_at_bytes` it is rebuilt from a fresh snapshot.
    let engine = cached_engine();
    let ticks: Vec<MarketTick> = paper_ticks(9, 20_000).into_iter().map(|e| e.data).collect();
    let recycling = SlotConfig {
        recycle_at_bytes: 16 << 20,
        ..SlotConfig::default()
    };
    let mut js = set_with(&engine, recycling, &[sample("momentum_js")]);
    let mut rust = set_with(&engine, SlotConfig::default(), &[sample("momentum")]);
    let from_js = one_by_one(&mut js, &ticks);
    let from_rust = one_by_one(&mut rust, &ticks);
    let stats = js
        .slots()
        .next()
        .expect("the JavaScript strategy")
        .stats()
        .clone();
    assert!(stats.recycles >= 2, "recycled as it grew: {stats:?}");
    assert_eq!(stats.faults, 0, "never at the cap: {stats:?}");
    assert!(
        from_rust.len() > 100,
        "momentum signals: {}",
        from_rust.len()
    );
    assert_eq!(
        from_js, from_rust,
        "the same signals as the Rust sample, tick for tick: no state lost in a recycle"
    );
}
