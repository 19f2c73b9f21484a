//! `logistic` on crafted ticks: the model comes from the artifact, bad models are
//! refused in `init` with the reason, and a restore keeps the new model.

use alpha_panda_sdk::{InitContext, Params, Runner, Side, Signal, TickData};
use logistic::Logistic;

const A: u32 = 738561;

fn ctx(model: &str) -> InitContext {
    let mut ctx = InitContext {
        strategy_id: "logistic_1".to_owned(),
        instruments: vec![A],
        seed: 1,
        ..Default::default()
    };
    ctx.artifacts
        .insert("model", "sha", model.as_bytes().to_vec());
    ctx
}

/// One feature: the return over the last tick, weight `w`, thresholds 0.6 / 0.4.
fn model(w: f64, version: &str) -> String {
    format!(
        r#"{{"version": "{version}", "lookbacks": [1], "weights": [{w}], "bias": 0.0, "buy_above": 0.6, "sell_below": 0.4}}"#
    )
}

fn feed(r: &mut Runner<Logistic>, price: &str, i: i64) -> Vec<Signal> {
    r.feed(&TickData::new(A, price, i)).unwrap()
}

#[test]
fn signals_follow_the_model_in_the_artifact() {
    let mut r = Runner::<Logistic>::init(&Params::new(), &ctx(&model(100.0, "v1"))).unwrap();
    assert!(
        feed(&mut r, "100", 0).is_empty(),
        "one price: no feature yet"
    );
    // x = 0.01, z = 1, p = 1 / (1 + e^-1) = 0.731058...: BUY 50 (the default size).
    let s = feed(&mut r, "101", 1);
    assert_eq!(s.len(), 1);
    assert_eq!((s[0].side, s[0].quantity), (Side::Buy, 50));
    let p = 1.0 / (1.0 + libm::exp(-100.0 * 0.01));
    assert_eq!(s[0].confidence, Some((2.0 * p - 1.0).abs()));
    assert_eq!(
        s[0].metadata,
        vec![
            ("probability".to_owned(), format!("{p:.6}")),
            ("model".to_owned(), "v1".to_owned())
        ]
    );
    // Flat: p = 0.5, inside the band.
    assert!(feed(&mut r, "101", 2).is_empty());
    // Down 1 %: SELL.
    assert_eq!(feed(&mut r, "99.99", 3)[0].side, Side::Sell);
}

#[test]
fn a_restore_keeps_the_new_model_and_takes_the_history() {
    let mut old = Runner::<Logistic>::init(&Params::new(), &ctx(&model(100.0, "v1"))).unwrap();
    feed(&mut old, "100", 0);
    let state = old.snapshot();
    // The new model's sign is reversed: a rise is now a SELL.
    let mut new = Runner::<Logistic>::init(&Params::new(), &ctx(&model(-100.0, "v2"))).unwrap();
    new.restore(&state).unwrap();
    let s = feed(&mut new, "101", 1);
    assert_eq!(s.len(), 1, "the history of the old instance came over");
    assert_eq!(s[0].side, Side::Sell);
    assert_eq!(s[0].metadata[1], ("model".to_owned(), "v2".to_owned()));
}

#[test]
fn bad_models_are_refused_with_the_reason() {
    let init = |m: &str| {
        Runner::<Logistic>::init(&Params::new(), &ctx(m))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    let e = init("not json");
    assert!(e.starts_with("artifact `model` is not valid JSON"), "{e}");
    let e = init(
        r#"{"version": "x", "lookbacks": [1, 5], "weights": [1.0], "bias": 0, "buy_above": 0.6, "sell_below": 0.4}"#,
    );
    assert!(e.contains("as many weights as lookbacks"), "{e}");
    let e = init(
        r#"{"version": "x", "lookbacks": [0], "weights": [1.0], "bias": 0, "buy_above": 0.6, "sell_below": 0.4}"#,
    );
    assert!(e.contains("lookback 0 is not in 1..=240"), "{e}");
    let e = init(
        r#"{"version": "x", "lookbacks": [1], "weights": [1.0], "bias": 0, "buy_above": 0.4, "sell_below": 0.6}"#,
    );
    assert!(e.contains("sell_below <= buy_above"), "{e}");
    let e = init(
        r#"{"version": "x", "lookbacks": [1], "weights": [1.0], "bias": 0, "buy_above": 0.6, "sell_below": 0.4, "extra": 1}"#,
    );
    assert!(e.contains("unknown field `extra`"), "{e}");
    let no_model = Runner::<Logistic>::init(&Params::new(), &InitContext::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        no_model.contains("artifact `model` is not in the manifest's [artifacts]"),
        "{no_model}"
    );
}
