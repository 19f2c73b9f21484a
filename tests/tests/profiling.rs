//! `plugins.perf_map`: with it the engine names each plugin's compiled code in
//! `/tmp/perf-PID.map`, so `perf record` / `perf report` show a strategy's own
//! functions instead of bare addresses; without it, the engine writes nothing there.

use std::path::PathBuf;

use alpha_panda::wasm::{EngineLimits, StrategyEngine};
use alpha_panda_tests::paths;

fn perf_map() -> PathBuf {
    PathBuf::from(format!("/tmp/perf-{}.map", std::process::id()))
}

/// Lines of this process's perf map (none if it does not exist).
fn lines() -> Vec<String> {
    std::fs::read_to_string(perf_map())
        .map(|t| t.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn load(perf_map: bool) {
    let engine = StrategyEngine::new(
        EngineLimits {
            perf_map,
            ..EngineLimits::default()
        },
        None,
    )
    .expect("engine");
    engine
        .load_file(&paths::sample_wasm("momentum"))
        .expect("momentum loads");
}

// One test, in this order: the map is per process, and tests of one binary share it.
#[test]
fn compiled_code_is_named_in_the_perf_map_only_when_asked_for() {
    let _ = std::fs::remove_file(perf_map());
    load(false);
    assert!(lines().is_empty(), "no perf map without plugins.perf_map");

    load(true);
    let named = lines();
    // perf's map format: START SIZE NAME, in hex (START may carry `0x`).
    let wasm: Vec<&String> = named.iter().filter(|l| l.contains("wasm")).collect();
    assert!(
        wasm.len() > 10,
        "the plugin's functions are named: {named:?}"
    );
    for l in &wasm {
        let mut f = l.splitn(3, ' ');
        let hex = |s: Option<&str>| s.map(|s| s.trim_start_matches("0x").to_owned());
        let (start, size) = (
            hex(f.next()).unwrap_or_default(),
            hex(f.next()).unwrap_or_default(),
        );
        assert!(
            u64::from_str_radix(&start, 16).is_ok() && u64::from_str_radix(&size, 16).is_ok(),
            "not `START SIZE NAME`: {l}"
        );
    }
    let _ = std::fs::remove_file(perf_map());
}
