//! Helpers shared by the integration tests: engines, plugins in temp folders, ticks.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use alpha_panda::contract::{EventEnvelope, MarketTick, Timestamp};
use alpha_panda::feed::{tick_envelope, PaperFeed};
use alpha_panda::manifest::Manifest;
use alpha_panda::strategy::{SlotConfig, StrategySet};
use alpha_panda::wasm::{EngineLimits, PluginComponent, StrategyEngine};
use alpha_panda_tests::paths;

pub fn engine() -> StrategyEngine {
    StrategyEngine::new(
        EngineLimits {
            call_timeout: Duration::from_millis(10),
            memory_limit_bytes: 64 << 20,
            max_wasm_bytes: 16 << 20,
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
        "strategy_id = \"{id}\"\nbrokers = [\"paper\", \"zerodha\"]\ninstruments = {instruments:?}\n[params]\nmode = \"{mode}\"\nat_us = {at_us}\n{extra}"
    )
}

pub fn load(engine: &StrategyEngine, wasm: &Path, manifest: &str) -> (PluginComponent, Manifest) {
    let component = engine.load_file(wasm).expect("component loads");
    let manifest = Manifest::parse(manifest).expect("manifest parses");
    (component, manifest)
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

/// The `count` metadata of a signal of the hostile plugin (empty when absent).
pub fn count_of(s: &alpha_panda::strategy::SetOutput) -> String {
    s.signal
        .metadata
        .iter()
        .find(|(k, _)| k == "count")
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}
