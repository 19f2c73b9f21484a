//! `alpha-panda replay`: the same plugin files over recorded ticks, deterministic,
//! JSON lines and CSV giving the same decisions, and the Wasm components deciding
//! exactly as the same strategies compiled natively.

mod common;

use std::io::Write;
use std::path::Path;

use alpha_panda::config::Config;
use alpha_panda::contract::{EventEnvelope, TradingSignal};
use alpha_panda::replay::{load_strategies, replay};
use alpha_panda_tests::paths;

/// The Rust samples only: the other languages' replay equality is `languages.rs`'s.
fn rust_samples(dir: &Path) -> std::path::PathBuf {
    paths::copy_samples(&["momentum", "mean_reversion"], dir)
}

fn config(plugins: &Path) -> Config {
    Config::from_toml_with_env(
        &format!(
            "broker = \"paper\"\n[plugins]\ndir = \"{}\"\nmax_batch = 37\n",
            plugins.display()
        ),
        "test",
        Vec::new(),
    )
    .unwrap()
}

fn run(config: &Config, ticks: &Path) -> Vec<u8> {
    let mut set = load_strategies(config).unwrap();
    let mut out = Vec::new();
    let summary = replay(config, &mut set, ticks, &mut out, &mut |_| {}).unwrap();
    assert_eq!(
        summary.strategies,
        vec!["mean_reversion_1".to_owned(), "momentum_1".to_owned()]
    );
    out
}

/// Decisions of a signal: everything but ids and lineage.
type Decision = (
    String,
    u32,
    String,
    u64,
    Option<String>,
    String,
    Option<f64>,
);

fn decisions(out: &[u8]) -> Vec<Decision> {
    out.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let env: EventEnvelope<TradingSignal> = serde_json::from_slice(l).unwrap();
            let d = env.data;
            assert_eq!(env.key, format!("{}:{}", d.strategy_id, d.instrument_token));
            (
                d.strategy_id,
                d.instrument_token,
                format!("{:?}", d.signal_type).to_uppercase(),
                d.quantity,
                d.price.map(|p| p.to_string()),
                d.timestamp.to_string(),
                d.confidence,
            )
        })
        .collect()
}

/// Compares without printing thousands of lines on failure.
fn assert_same(a: &[Decision], b: &[Decision], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: counts differ");
    if let Some(i) = (0..a.len()).find(|&i| a[i] != b[i]) {
        panic!("{what}: first difference at {i}: {:?} vs {:?}", a[i], b[i]);
    }
}

fn write_inputs(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let ticks = common::paper_ticks(5, 3000);
    let jsonl = dir.join("ticks.jsonl");
    let csv = dir.join("ticks.csv");
    let mut j = std::fs::File::create(&jsonl).unwrap();
    let mut c = std::fs::File::create(&csv).unwrap();
    writeln!(c, "instrument_token,timestamp,last_price,volume_traded").unwrap();
    for t in &ticks {
        j.write_all(&t.to_vec().unwrap()).unwrap();
        j.write_all(b"\n").unwrap();
        let d = &t.data;
        let volume = d.volume_traded.map(|v| v.to_string()).unwrap_or_default();
        writeln!(
            c,
            "{},{},{},{}",
            d.instrument_token, d.timestamp, d.last_price, volume
        )
        .unwrap();
    }
    (jsonl, csv)
}

#[test]
fn replay_is_deterministic_and_formats_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let (jsonl, csv) = write_inputs(tmp.path());
    let config = config(&rust_samples(tmp.path()));
    let first = run(&config, &jsonl);
    let second = run(&config, &jsonl);
    assert!(!first.is_empty());
    assert_eq!(first, second, "byte-identical output for the same input");
    let from_csv = run(&config, &csv);
    let a = decisions(&first);
    assert!(
        a.iter().any(|d| d.0 == "momentum_1"),
        "momentum decided something"
    );
    assert!(
        a.iter().any(|d| d.0 == "mean_reversion_1"),
        "mean reversion decided something"
    );
    assert_same(&a, &decisions(&from_csv), "JSON lines vs CSV");
    // Every signal is a child of its tick envelope.
    let ticks: std::collections::HashMap<String, String> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["id"].as_str().unwrap().to_owned(),
                v["correlation_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for line in first.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let env: EventEnvelope<TradingSignal> = serde_json::from_slice(line).unwrap();
        let parent = env.causation_id.as_deref().unwrap();
        assert_eq!(ticks.get(parent), Some(&env.correlation_id));
        assert_eq!(env.broker, "paper");
    }
}

#[test]
fn wasm_components_decide_like_native_code() {
    use alpha_panda_sdk::{InitContext, Params, Runner, TickData};
    let tmp = tempfile::tempdir().unwrap();
    let (jsonl, _) = write_inputs(tmp.path());
    let out = run(&config(&rust_samples(tmp.path())), &jsonl);
    let wasm_momentum: Vec<Decision> = decisions(&out)
        .into_iter()
        .filter(|d| d.0 == "momentum_1")
        .collect();

    let params = Params::new()
        .with("lookback", 20)
        .with("threshold", 0.01)
        .with("position_size", 100);
    let mut native = Runner::<momentum::Momentum>::init(&params, &InitContext::default()).unwrap();
    let mut native_decisions = Vec::new();
    for t in common::paper_ticks(5, 3000) {
        let d = &t.data;
        let td = TickData::new(
            d.instrument_token,
            &d.last_price.to_string(),
            d.timestamp.to_unix_micros(),
        );
        for s in native.feed(&td).unwrap() {
            let price = match s.price {
                Some(alpha_panda_sdk::Price::Exact(p)) => Some(p.to_string()),
                other => panic!("momentum signals carry the exact tick price, got {other:?}"),
            };
            let side = if s.side == alpha_panda_sdk::Side::Buy {
                "BUY"
            } else {
                "SELL"
            };
            native_decisions.push((
                "momentum_1".to_owned(),
                d.instrument_token,
                side.to_owned(),
                s.quantity,
                price,
                d.timestamp.to_string(),
                s.confidence,
            ));
        }
    }
    assert!(!native_decisions.is_empty());
    // `replay` runs ticks of one time in partition order, the native loop in file
    // order: per instrument, in time, they decide the same.
    let by_instrument = |mut d: Vec<Decision>| {
        d.sort_by_key(|x| x.1);
        d
    };
    assert_same(
        &by_instrument(wasm_momentum),
        &by_instrument(native_decisions),
        "wasm vs native",
    );
}

#[test]
fn bad_input_names_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.csv");
    std::fs::write(
        &bad,
        "738561,2025-08-29T04:45:04Z,2501.55\n738561,2025-08-29T04:45:05,2501.60\n",
    )
    .unwrap();
    let config = config(&rust_samples(tmp.path()));
    let mut set = load_strategies(&config).unwrap();
    let err = replay(&config, &mut set, &bad, &mut Vec::new(), &mut |_| {}).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("bad.csv:2:") && msg.contains("offset"),
        "{msg}"
    );
}
