//! Strategies side by side (`plugins.workers`): the same stream through a set of
//! four strategies (momentum, mean reversion and logistic from `plugins/`, and
//! momentum again under another id), batches of 512 FULL ticks, once with one
//! worker (one strategy after another, as before issue 19) and once with two, runs
//! alternating, in one process. Prints the wall time per tick of each and the ratio,
//! and checks both gave the same signals. See BENCHMARKS.md.
//!
//! `cargo bench -p alpha-panda --bench workers` (or `cargo xtask bench workers`);
//! `WORKERS_BREAKDOWN=1` also prints each call's time per tick.

mod common;

use std::time::{Duration, Instant};

use alpha_panda::contract::MarketTick;
use alpha_panda::strategy::workers::Workers;
use alpha_panda::strategy::{SlotConfig, StrategySet};
use alpha_panda::wasm::StrategyEngine;

const INSTRUMENTS: [u32; 6] = [738561, 81153, 2714625, 408065, 341249, 256265];
const PER_INSTRUMENT: usize = 4096;
const BATCH: usize = 512;
const ROUNDS: usize = 7;

fn set(engine: &StrategyEngine, workers: usize) -> StrategySet {
    let config = SlotConfig {
        snapshot_every_ticks: 1_000_000,
        snapshot_every: Duration::from_secs(3600),
        workers: Workers::new(workers),
        ..SlotConfig::default()
    };
    let mut set = StrategySet::new(engine.clone(), config);
    for (name, id) in [
        ("momentum", "momentum_1"),
        ("mean_reversion", "mean_reversion_1"),
        ("logistic", "logistic_1"),
        ("momentum", "momentum_2"),
    ] {
        let mut manifest = common::plugin_manifest(name);
        manifest.strategy_id = id.to_owned();
        let path = common::root().join(format!("plugins/{name}.toml"));
        manifest
            .load_artifacts(&path, &engine.artifact_policy())
            .unwrap_or_else(|e| panic!("{e}"));
        let component = engine
            .load_bytes(&common::plugin_bytes(name))
            .unwrap_or_else(|e| panic!("{e}"));
        set.insert(component, manifest)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    set
}

/// Wall time of the whole stream, and the signals it gave.
fn run(set: &mut StrategySet, ticks: &[MarketTick]) -> (Duration, Vec<(usize, String, u32)>) {
    let mut signals = Vec::new();
    let started = Instant::now();
    for (b, chunk) in ticks.chunks(BATCH).enumerate() {
        let refs: Vec<&MarketTick> = chunk.iter().collect();
        let out = set.process(&refs);
        assert!(out.faults.is_empty(), "{:?}", out.faults);
        if std::env::var_os("WORKERS_BREAKDOWN").is_some() {
            for (id, d, n) in &out.calls {
                eprintln!(
                    "{} {id} {:.0} ns/tick",
                    set.slot_config().workers.threads(),
                    d.as_nanos() as f64 / *n as f64
                );
            }
        }
        signals.extend(
            out.signals
                .into_iter()
                .map(|s| (b * BATCH + s.tick_pos, s.strategy_id, s.index)),
        );
    }
    (started.elapsed(), signals)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let engine = StrategyEngine::new(Default::default(), None).expect("engine");
    let ticks = common::full_ticks(&INSTRUMENTS, PER_INSTRUMENT);
    let mut one = set(&engine, 1);
    let mut two = set(&engine, 2);
    let (mut t1, mut t2) = (Vec::new(), Vec::new());
    // Round 0 warms both (first calls fault pages in); both sets carry the same
    // state from round to round, so they give the same signals each round.
    for round in 0..=ROUNDS {
        let (d1, s1) = run(&mut one, &ticks);
        let (d2, s2) = run(&mut two, &ticks);
        assert_eq!(s1, s2, "round {round}: one worker and two agree");
        if round > 0 {
            t1.push(d1);
            t2.push(d2);
        }
    }
    // Fresh sets from the same start give the same signals in the same order.
    let (_, a) = run(&mut set(&engine, 1), &ticks);
    let (_, b) = run(&mut set(&engine, 2), &ticks);
    assert_eq!(
        a, b,
        "one worker and two give the same signals in the same order"
    );
    let n = ticks.len() as f64;
    let per_tick = |d: Duration| d.as_secs_f64() * 1e9 / n;
    let (m1, m2) = (median(t1), median(t2));
    println!(
        "workers bench: 4 strategies, {} ticks, batch {BATCH}, {ROUNDS} rounds, load {}",
        ticks.len(),
        common::load_average()
    );
    println!("| workers | wall per tick (median) | ticks/s |");
    println!("|---|---:|---:|");
    for (w, m) in [(1, m1), (2, m2)] {
        println!(
            "| {w} | {:.0} ns | {:.0} |",
            per_tick(m),
            n / m.as_secs_f64()
        );
    }
    println!(
        "two workers / one: {:.2}x the wall time ({} signals, identical)",
        m2.as_secs_f64() / m1.as_secs_f64(),
        a.len()
    );
}
