//! Helpers shared by the integration tests: engines, plugins in temp folders, ticks.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use alpha_panda::contract::{BrokerNamespace, EventEnvelope, MarketTick, Timestamp};
use alpha_panda::feed::{tick_envelope, PaperFeed};
use alpha_panda::manifest::Manifest;
use alpha_panda::observe::Metrics;
use alpha_panda::strategy::PluginUpdate;
use alpha_panda::strategy::{Lifecycle, LiveStrategies, SlotConfig, StrategySet, StrategySlot};
use alpha_panda::wasm::{EngineLimits, PluginComponent, StrategyEngine};
use alpha_panda_tests::paths;

pub fn engine() -> StrategyEngine {
    StrategyEngine::new(
        EngineLimits {
            call_timeout: Duration::from_millis(10),
            memory_limit_bytes: 64 << 20,
            ..EngineLimits::default()
        },
        None,
    )
    .expect("engine")
}

/// An engine with a compiled cache in `dir`.
pub fn engine_cached(dir: &Path) -> StrategyEngine {
    StrategyEngine::new(EngineLimits::default(), Some(dir.to_path_buf())).expect("engine")
}

/// The hostile test plugin with the given mode and extra params.
pub fn hostile_manifest(
    id: &str,
    mode: &str,
    at_us: i64,
    instruments: &[u32],
    extra: &str,
) -> String {
    format!(
        "strategy_id = \"{id}\"\nbrokers = [\"paper\", \"zerodha\"]\ninstruments = {instruments:?}\nscope = \"instrument\"\n[params]\nmode = \"{mode}\"\nat_us = {at_us}\n{extra}"
    )
}

pub fn load(engine: &StrategyEngine, wasm: &Path, manifest: &str) -> (PluginComponent, Manifest) {
    let component = engine.load_file(wasm).expect("component loads");
    let manifest = Manifest::parse(manifest).expect("manifest parses");
    (component, manifest)
}

/// A load of the hostile plugin with `manifest`, as the watcher hands it over for
/// plugin file `name`.
pub fn load_update(engine: &StrategyEngine, name: &str, manifest: &str) -> PluginUpdate {
    let (component, manifest) = load(engine, &paths::test_wasm("hostile"), manifest);
    let prepared = StrategySlot::prepare(engine, &component, &manifest).expect("prepares");
    PluginUpdate::Load {
        name: name.to_owned(),
        sha256: component.sha256().to_owned(),
        prepared: Box::new(prepared),
    }
}

pub fn sample(name: &str) -> (PathBuf, String) {
    let wasm = paths::sample_wasm(name);
    let manifest = std::fs::read_to_string(paths::sample_plugins().join(format!("{name}.toml")))
        .expect("manifest");
    (wasm, manifest)
}

pub fn set_with(
    engine: &StrategyEngine,
    config: SlotConfig,
    plugins: &[(PathBuf, String)],
) -> StrategySet {
    let mut set = StrategySet::new(engine.clone(), config);
    for (wasm, manifest) in plugins {
        let (c, m) = load(engine, wasm, manifest);
        set.insert(c, m).expect("strategy starts");
    }
    set
}

/// `n` paper ticks (six instruments in turn), deterministic for a seed.
pub fn paper_ticks(seed: u64, n: usize) -> Vec<EventEnvelope<MarketTick>> {
    let mut feed = PaperFeed::new(seed, 1_756_442_704_000_000);
    (0..n).map(|_| tick_envelope(feed.next_tick())).collect()
}

/// A simple tick of one instrument at second `i`.
pub fn tick(token: u32, price: &str, i: i64) -> MarketTick {
    MarketTick::new(
        token,
        price.parse().expect("price"),
        Timestamp::from_unix_micros(1_756_442_704_000_000 + i * 1_000_000).expect("time"),
    )
}

/// A metadata value of a signal (empty when absent).
pub fn meta_of(s: &alpha_panda::strategy::SetOutput, key: &str) -> String {
    s.signal
        .metadata
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// The `count` metadata of a signal of the hostile plugin (empty when absent).
pub fn count_of(s: &alpha_panda::strategy::SetOutput) -> String {
    meta_of(s, "count")
}

/// Live strategies on instrument `token` that count their events in `metrics`:
/// `bad_1` (plugin `bad`) panics on every tick, `good_1` (plugin `good`) counts;
/// three faults quarantine.
pub fn bad_and_good(engine: &StrategyEngine, metrics: &Metrics, token: u32) -> LiveStrategies {
    let config = SlotConfig {
        fault_limit: 3,
        snapshot_every_ticks: 1000,
        snapshot_every: Duration::from_secs(3600),
        ..SlotConfig::default()
    }
    .with_events(metrics.plugin_events.clone());
    let mut live = LiveStrategies::new(
        StrategySet::new(engine.clone(), config),
        BrokerNamespace::Paper,
    );
    for (name, id, mode) in [("bad", "bad_1", "panic"), ("good", "good_1", "counter")] {
        let update = load_update(engine, name, &hostile_manifest(id, mode, -1, &[token], ""));
        assert!(matches!(live.apply(update), Some(Lifecycle::Loaded { .. })));
    }
    live
}

/// `n` ticks of `token` at price 10, one a second.
pub fn ticks_of(token: u32, n: usize) -> Vec<MarketTick> {
    (0..n).map(|i| tick(token, "10", i as i64)).collect()
}

/// Writes `path` as an editor or `cp` to a temp name + rename would: the watcher
/// never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).expect("write the temp file");
    std::fs::rename(&tmp, path).expect("rename over the file");
}
