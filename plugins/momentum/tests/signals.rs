//! `momentum` on crafted ticks: every signal checked against values worked out by hand.

use alpha_panda_sdk::{InitContext, Params, Price, Runner, Side, Signal, TickData};
use momentum::Momentum;

const RELIANCE: u32 = 738561;
const SBIN: u32 = 81153;
const MIN: i64 = 60_000_000;

fn runner(params: Params) -> Runner<Momentum> {
    let ctx = InitContext {
        strategy_id: "momentum_1".to_owned(),
        instruments: vec![RELIANCE, SBIN],
        seed: 1,
        ..Default::default()
    };
    Runner::init(&params, &ctx).expect("init")
}

fn one(signals: Vec<Signal>) -> Signal {
    assert_eq!(signals.len(), 1, "{signals:?}");
    signals.into_iter().next().unwrap()
}

fn check(s: &Signal, side: Side, qty: u64, price: &str, confidence: f64, momentum: &str) {
    assert_eq!((s.side, s.quantity), (side, qty));
    match s.price {
        Some(Price::Exact(d)) => assert_eq!(d.to_string(), price),
        other => panic!("expected an exact price, got {other:?}"),
    }
    let c = s.confidence.unwrap();
    assert!(
        (c - confidence).abs() < 1e-12,
        "confidence {c} vs {confidence}"
    );
    assert_eq!(
        s.metadata,
        vec![("momentum".to_owned(), momentum.to_owned())]
    );
}

#[test]
fn buys_and_sells_on_momentum_over_the_lookback() {
    let mut r = runner(Params::new().with("lookback", 2).with("threshold", 0.01));
    let feed = |r: &mut Runner<Momentum>, token, price: &str, i: i64| {
        r.feed(&TickData::new(token, price, i * MIN)).unwrap()
    };
    // Two prices are not enough for lookback 2 (it needs 3).
    assert!(feed(&mut r, RELIANCE, "100.00", 0).is_empty());
    assert!(feed(&mut r, RELIANCE, "101.00", 1).is_empty());
    // Another instrument has its own history.
    assert!(feed(&mut r, SBIN, "500.00", 2).is_empty());
    // (103.50 - 100) / 100 = 0.035 > 0.01: BUY 100, confidence 5 * 0.035 = 0.175.
    let s = one(feed(&mut r, RELIANCE, "103.50", 3));
    check(&s, Side::Buy, 100, "103.50", 0.175, "0.035000");
    assert_eq!(s.instrument_token, Some(RELIANCE));
    // (99 - 101) / 101 = -0.0198019...: SELL, confidence 10/101 = 0.0990099...
    let s = one(feed(&mut r, RELIANCE, "99.00", 4));
    check(&s, Side::Sell, 100, "99.00", 10.0 / 101.0, "-0.019802");
    // (103.55 - 103.50) / 103.50 = 0.00048: inside the threshold, no signal.
    assert!(feed(&mut r, RELIANCE, "103.55", 5).is_empty());
    // (150 - 99) / 99 = 0.5151...: 5 * m > 1, so confidence is capped at 1.
    let s = one(feed(&mut r, RELIANCE, "150", 6));
    check(&s, Side::Buy, 100, "150", 1.0, "0.515152");
}

#[test]
fn defaults_and_refused_parameters() {
    let mut r = runner(Params::new());
    // Default lookback 20: 20 rising prices give nothing, the 21st compares with the 1st.
    for i in 0..20 {
        let price = format!("{}.00", 100 + i);
        assert!(r.feed(&TickData::new(SBIN, &price, i)).unwrap().is_empty());
    }
    // (121 - 100) / 100 = 0.21 > 0.01: BUY the default 100, confidence min(1, 1.05) = 1.
    let s = one(r.feed(&TickData::new(SBIN, "121.00", 20)).unwrap());
    check(&s, Side::Buy, 100, "121.00", 1.0, "0.210000");

    let ctx = InitContext::default();
    for (params, name) in [
        (Params::new().with("lookback", 0), "lookback"),
        (Params::new().with("lookback", 2.5), "lookback"),
        (Params::new().with("threshold", "high"), "threshold"),
        (Params::new().with("position_size", -5), "position_size"),
        (Params::new().with("lookbak", 5), "lookbak"),
    ] {
        let e = Runner::<Momentum>::init(&params, &ctx).unwrap_err();
        assert_eq!(e.param.as_deref(), Some(name), "{e}");
    }
}

#[test]
fn state_survives_snapshot_and_restore() {
    let params = || Params::new().with("lookback", 1).with("position_size", 7);
    let mut a = runner(params());
    assert!(a
        .feed(&TickData::new(RELIANCE, "200.0", 0))
        .unwrap()
        .is_empty());
    let mut b = runner(params());
    b.restore(&a.snapshot()).unwrap();
    // (196 - 200) / 200 = -0.02: SELL 7, confidence 0.1.
    let s = one(b.feed(&TickData::new(RELIANCE, "196.0", 1)).unwrap());
    check(&s, Side::Sell, 7, "196.0", 0.1, "-0.020000");
}
