//! Shared by the Rust samples' `tests/replay.rs` (included with `#[path]`): reads the
//! tick series `vectors/replay/series.csv`, writes a run's signals as JSON lines, and
//! checks them against the committed `vectors/replay/NAME.jsonl` (or, with
//! `ALPHA_PANDA_BLESS=1`, writes it). The Python samples must give exactly these lines
//! (`sdk-python/tests/test_replay.py`).

use std::fmt::Write as _;
use std::path::PathBuf;

use alpha_panda_sdk::runner::Output;
use alpha_panda_sdk::{Price, TickData};

pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../vectors/replay")
}

/// The series, in order.
pub fn series() -> Vec<TickData> {
    let text = std::fs::read_to_string(dir().join("series.csv")).expect("series.csv");
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            TickData::new(f[0].parse().unwrap(), f[1], f[2].parse().unwrap())
        })
        .collect()
}

/// The instruments and `[params]` lines of a Rust sample's manifest must be these.
pub fn check_manifest(name: &str, lines: &[&str]) {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../{name}.toml")),
    )
    .expect("manifest");
    for line in lines {
        assert!(
            text.lines().any(|l| l.trim() == *line),
            "{name}.toml lacks `{line}`"
        );
    }
}

fn json_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// One JSON object per signal, in the golden vectors' spelling.
pub fn jsonl(out: &Output) -> String {
    let mut text = String::new();
    for e in &out.signals {
        let s = &e.signal;
        let price = match s.price {
            None => "null".to_owned(),
            Some(Price::Exact(d)) => format!("{{\"exact\":\"{d}\"}}"),
            Some(Price::Approx(f)) => format!("{{\"approx\":{f:?}}}"),
        };
        let confidence = s.confidence.map_or("null".to_owned(), |c| format!("{c:?}"));
        let meta: Vec<String> = s
            .metadata
            .iter()
            .map(|(k, v)| format!("[{},{}]", json_str(k), json_str(v)))
            .collect();
        writeln!(
            text,
            "{{\"tick_index\":{},\"instrument_token\":{},\"side\":\"{}\",\"quantity\":{},\"price\":{price},\"confidence\":{confidence},\"metadata\":[{}]}}",
            e.tick_index,
            s.instrument_token.unwrap_or(0),
            s.side,
            s.quantity,
            meta.join(",")
        )
        .unwrap();
    }
    text
}

/// Compares `text` with the committed `NAME.jsonl`, or writes it when blessing.
pub fn check_or_bless(name: &str, text: &str) {
    let path = dir().join(format!("{name}.jsonl"));
    if std::env::var_os("ALPHA_PANDA_BLESS").is_some() {
        std::fs::write(&path, text).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "{} differs from what the Rust sample produces; rerun with ALPHA_PANDA_BLESS=1 if the change is deliberate",
        path.display()
    );
}
