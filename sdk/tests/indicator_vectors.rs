//! `vectors/indicators.json`: every indicator of `alpha_panda_sdk::indicators` on a few
//! parameter sets and input series, with this SDK's output at every step, for the SDKs
//! in other languages to match. With `ALPHA_PANDA_BLESS=1` this test writes the file;
//! otherwise it checks that the committed outputs are what this SDK computes (as f64,
//! relative difference <= 1e-12) and that the committed cases are the ones defined here.

use std::path::PathBuf;

use alpha_panda_sdk::indicators::{BollingerBands, Ema, RollingWindow, Rsi, Sma, StdDev, ZScore};
use serde_json::{json, Value};

const TOLERANCE: f64 = 1e-12;

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../vectors/indicators.json")
}

fn bless() -> bool {
    std::env::var("ALPHA_PANDA_BLESS").is_ok_and(|v| v == "1")
}

/// The input series, by name.
fn series() -> Vec<(&'static str, Vec<f64>)> {
    // A deterministic price walk around 2500 on a 5-paise grid (xorshift64*).
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut price = 250_000i64; // paise
    let walk: Vec<f64> = (0..40)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let r = state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 60; // 0..16
            price += (r as i64 - 8) * 5;
            price as f64 / 100.0
        })
        .collect();
    vec![
        ("ramp", (1..=12).map(f64::from).collect()),
        ("constant", vec![2501.55; 10]),
        (
            "signed",
            vec![
                -3.5, 2.25, -1.0, 0.0, 4.75, -2.5, 3.0, -0.125, 1.5, -4.0, -4.0, 6.5,
            ],
        ),
        (
            "large",
            (0..10)
                .map(|i| 1.0e12 + f64::from(i % 4) * 0.5 - f64::from(i) * 3.0)
                .collect(),
        ),
        (
            "falling",
            (0..10).map(|i| 100.0 - 1.5 * f64::from(i)).collect(),
        ),
        ("prices", walk),
    ]
}

/// The cases: indicator, parameters, series.
fn cases() -> Vec<(&'static str, Value, &'static str)> {
    let mut out = Vec::new();
    for s in ["ramp", "signed", "prices"] {
        out.push(("rolling_window", json!({"capacity": 3}), s));
    }
    out.push(("rolling_window", json!({"capacity": 0}), "ramp"));
    for (period, s) in [
        (1, "ramp"),
        (3, "ramp"),
        (4, "signed"),
        (5, "large"),
        (20, "prices"),
        (20, "ramp"),
        (3, "constant"),
        (0, "signed"),
    ] {
        out.push(("sma", json!({"period": period}), s));
    }
    for (period, s) in [
        (1, "ramp"),
        (3, "ramp"),
        (4, "signed"),
        (5, "large"),
        (10, "prices"),
        (20, "ramp"),
        (3, "constant"),
    ] {
        out.push(("ema", json!({"period": period}), s));
    }
    for (period, s) in [
        (1, "ramp"),
        (3, "ramp"),
        (4, "signed"),
        (5, "large"),
        (20, "prices"),
        (4, "constant"),
        (20, "ramp"),
    ] {
        out.push(("std_dev", json!({"period": period}), s));
        out.push(("z_score", json!({"period": period}), s));
    }
    for (period, s) in [
        (1, "signed"),
        (3, "ramp"),
        (3, "falling"),
        (4, "signed"),
        (5, "large"),
        (14, "prices"),
        (3, "constant"),
        (14, "ramp"),
    ] {
        out.push(("rsi", json!({"period": period}), s));
    }
    for (period, k, s) in [
        (3, 2.0, "ramp"),
        (4, 1.5, "signed"),
        (5, 2.0, "large"),
        (20, 2.0, "prices"),
        (4, 2.0, "constant"),
        (20, 2.5, "ramp"),
    ] {
        out.push(("bollinger_bands", json!({"period": period, "k": k}), s));
    }
    out
}

fn usize_param(params: &Value, name: &str) -> usize {
    params[name]
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or_else(|| panic!("parameter {name}"))
}

fn num(x: Option<f64>) -> Value {
    x.map_or(Value::Null, |x| {
        assert!(x.is_finite(), "an output is {x}: JSON cannot hold it");
        json!(x)
    })
}

/// This SDK's output at every step.
fn run(indicator: &str, params: &Value, input: &[f64]) -> Vec<Value> {
    let period = || usize_param(params, "period");
    match indicator {
        "rolling_window" => {
            let mut w = RollingWindow::new(usize_param(params, "capacity"));
            input
                .iter()
                .map(|&x| {
                    let evicted = w.push(x);
                    json!({"evicted": num(evicted), "window": w.iter().copied().collect::<Vec<f64>>()})
                })
                .collect()
        }
        "sma" => {
            let mut i = Sma::new(period());
            input.iter().map(|&x| num(i.update(x))).collect()
        }
        "ema" => {
            let mut i = Ema::new(period());
            input.iter().map(|&x| num(i.update(x))).collect()
        }
        "std_dev" => {
            let mut i = StdDev::new(period());
            input.iter().map(|&x| num(i.update(x))).collect()
        }
        "z_score" => {
            let mut i = ZScore::new(period());
            input.iter().map(|&x| num(i.update(x))).collect()
        }
        "rsi" => {
            let mut i = Rsi::new(period());
            input.iter().map(|&x| num(i.update(x))).collect()
        }
        "bollinger_bands" => {
            let k = params["k"].as_f64().expect("parameter k");
            let mut i = BollingerBands::new(period(), k);
            input
                .iter()
                .map(|&x| match i.update(x) {
                    Some(b) => json!({"lower": num(Some(b.lower)), "middle": num(Some(b.middle)), "upper": num(Some(b.upper))}),
                    None => Value::Null,
                })
                .collect()
        }
        other => panic!("no indicator {other}"),
    }
}

fn document() -> Value {
    let series = series();
    let cases: Vec<Value> = cases()
        .into_iter()
        .map(|(indicator, params, name)| {
            let input = &series
                .iter()
                .find(|(n, _)| *n == name)
                .expect("a defined series")
                .1;
            json!({
                "indicator": indicator,
                "params": params,
                "series": name,
                "input": input,
                "output": run(indicator, &params, input),
            })
        })
        .collect();
    json!({
        "description": DESCRIPTION,
        "tolerance": TOLERANCE,
        "cases": cases,
    })
}

const DESCRIPTION: &str =
    "Outputs of the Rust SDK's indicators (sdk/src/indicators), step by step: \
    output[i] is what update(input[i]) returns after input[0..i] were fed to a fresh \
    indicator. null: not warmed up yet. A period or capacity of 0 is taken as 1. \
    rolling_window: {evicted: the value that fell out or null, window: the values after \
    the push, oldest first}. sma: mean of the last period values (running sum, re-summed \
    from the window every period updates). ema: alpha = 2/(period+1), seeded with the mean \
    of the first period values. std_dev: population (divide by N), two passes over the \
    window. z_score: (x - mean)/std_dev of the window including x, 0 when std_dev is 0. \
    rsi: Wilder's, first averages the mean of the first period changes, 100 when the \
    average loss is 0. bollinger_bands: {lower, middle, upper} = mean -/+ k * std_dev. \
    Compare as f64 with relative difference <= tolerance.";

/// `a` and `b` agree: equal, or numbers within the relative tolerance, recursively.
fn close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            x == y || (x - y).abs() <= TOLERANCE * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| close(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn indicator_vectors() {
    let doc = document();
    if bless() {
        let mut text = serde_json::to_string_pretty(&doc).expect("JSON");
        text.push('\n');
        std::fs::write(path(), text).expect("write vectors/indicators.json");
        return;
    }
    let text = std::fs::read_to_string(path())
        .unwrap_or_else(|e| panic!("{}: {e} (ALPHA_PANDA_BLESS=1 writes it)", path().display()));
    let committed: Value = serde_json::from_str(&text).expect("indicators.json is JSON");
    let (got, want) = (
        doc["cases"].as_array().unwrap(),
        committed["cases"].as_array().expect("cases"),
    );
    assert_eq!(
        got.len(),
        want.len(),
        "the committed cases are not the defined ones (ALPHA_PANDA_BLESS=1 rewrites them)"
    );
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        for key in ["indicator", "params", "series", "input"] {
            assert_eq!(
                g[key], w[key],
                "case {i}: `{key}` differs from its definition"
            );
        }
        // The committed outputs are checked against what this SDK computes from the
        // committed input, as another SDK would check itself.
        let out = run(
            w["indicator"].as_str().expect("indicator"),
            &w["params"],
            &serde_json::from_value::<Vec<f64>>(w["input"].clone()).expect("input"),
        );
        assert!(
            close(&Value::Array(out), &w["output"]),
            "case {i} ({} {} on {}): outputs differ",
            w["indicator"],
            w["params"],
            w["series"]
        );
    }
    assert_eq!(committed["description"], doc["description"]);
    assert_eq!(committed["tolerance"], doc["tolerance"]);
}

#[test]
fn the_comparison_can_fail() {
    assert!(close(&json!([1.0, null]), &json!([1.0 + 1e-15, null])));
    assert!(!close(&json!([1.0, null]), &json!([1.0 + 1e-9, null])));
    assert!(!close(&json!([null]), &json!([0.0])));
    assert!(!close(&json!({"lower": 1.0}), &json!({"upper": 1.0})));
}
