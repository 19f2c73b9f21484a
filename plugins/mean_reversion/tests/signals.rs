//! `mean_reversion` on crafted ticks: every signal checked against values worked out by hand.

use alpha_panda_sdk::{InitContext, Params, Price, Runner, Side, Signal, TickData};
use mean_reversion::MeanReversion;

const A: u32 = 738561;
const B: u32 = 81153;

/// lookback 4, RSI(3), bands at 1.5 standard deviations.
fn runner() -> Runner<MeanReversion> {
    let params = Params::new()
        .with("lookback", 4)
        .with("rsi_period", 3)
        .with("std_dev", 1.5);
    let ctx = InitContext {
        strategy_id: "mean_reversion_1".to_owned(),
        instruments: vec![A, B],
        seed: 1,
        ..Default::default()
    };
    Runner::init(&params, &ctx).expect("init")
}

fn feed_all(r: &mut Runner<MeanReversion>, token: u32, prices: &[&str]) -> Vec<Vec<Signal>> {
    prices
        .iter()
        .enumerate()
        .map(|(i, p)| r.feed(&TickData::new(token, p, i as i64)).unwrap())
        .collect()
}

fn check(s: &Signal, side: Side, price: &str, confidence: f64, rsi: &str, band: &str) {
    assert_eq!((s.side, s.quantity), (side, 50));
    match s.price {
        Some(Price::Exact(d)) => assert_eq!(d.to_string(), price),
        other => panic!("expected an exact price, got {other:?}"),
    }
    let c = s.confidence.unwrap();
    assert!(
        (c - confidence).abs() < 1e-9,
        "confidence {c} vs {confidence}"
    );
    let meta = vec![
        ("rsi".to_owned(), rsi.to_owned()),
        ("band".to_owned(), band.to_owned()),
    ];
    assert_eq!(s.metadata, meta);
}

#[test]
fn buys_when_oversold_below_the_lower_band() {
    let mut r = runner();
    let out = feed_all(&mut r, A, &["10.00", "10.20", "10.10", "10.00", "9.60"]);
    assert!(out[..4].iter().all(Vec::is_empty), "{out:?}");
    let [s] = out[4].as_slice() else {
        panic!("{out:?}")
    };
    // RSI(3): changes +0.2, -0.1, -0.1 -> avg gain 0.2/3, avg loss 0.2/3 (RSI 50); then
    // -0.4 -> gain (0.2/3*2 + 0)/3 = 0.4/9, loss (0.2/3*2 + 0.4)/3 = 1.6/9, RS 1/4, RSI 20.
    // Bands over 10.2, 10.1, 10.0, 9.6: mean 9.975, deviations .225 .125 .025 -.375,
    // variance .2075/4 = .051875, sd .227761, half width 1.5 sd = .341641,
    // lower 9.633359 > 9.60 -> BUY. Confidence 0.5 + .375/.341641 - 1 = 0.597643.
    let half = 1.5 * 0.051875f64.sqrt();
    check(
        s,
        Side::Buy,
        "9.60",
        0.5 + 0.375 / half - 1.0,
        "20.00",
        "9.6334",
    );
}

#[test]
fn sells_when_overbought_above_the_upper_band() {
    let mut r = runner();
    let out = feed_all(&mut r, B, &["10", "9.8", "9.9", "10", "10.4"]);
    assert!(out[..4].iter().all(Vec::is_empty), "{out:?}");
    let [s] = out[4].as_slice() else {
        panic!("{out:?}")
    };
    // The mirror image: RSI 80; mean 10.025, sd .227761, upper 10.366641 < 10.4 -> SELL.
    let half = 1.5 * 0.051875f64.sqrt();
    check(
        s,
        Side::Sell,
        "10.4",
        0.5 + 0.375 / half - 1.0,
        "80.00",
        "10.3666",
    );
}

/// Wilder's RSI of the last price, by the textbook loop.
fn wilder(prices: &[f64], period: usize) -> f64 {
    let changes: Vec<f64> = prices.windows(2).map(|w| w[1] - w[0]).collect();
    let n = period as f64;
    let mut gain = changes[..period].iter().map(|c| c.max(0.0)).sum::<f64>() / n;
    let mut loss = changes[..period].iter().map(|c| (-c).max(0.0)).sum::<f64>() / n;
    for c in &changes[period..] {
        gain = (gain * (n - 1.0) + c.max(0.0)) / n;
        loss = (loss * (n - 1.0) + (-c).max(0.0)) / n;
    }
    100.0 - 100.0 / (1.0 + gain / loss)
}

#[test]
fn each_price_is_counted_once() {
    // The old Python runner fed every price to the RSI twice.
    let once = [10.0, 10.2, 10.1, 10.0, 9.6];
    let twice: Vec<f64> = once.iter().flat_map(|&p| [p, p]).collect();
    assert_eq!(format!("{:.2}", wilder(&once, 3)), "20.00");
    assert_eq!(format!("{:.2}", wilder(&twice, 3)), "5.37");
    let mut r = runner();
    let out = feed_all(&mut r, A, &["10.00", "10.20", "10.10", "10.00", "9.60"]);
    assert_eq!(
        out[4][0].metadata[0],
        ("rsi".to_owned(), "20.00".to_owned())
    );
}

#[test]
fn no_signal_inside_the_bands_or_without_an_extreme_rsi() {
    let mut r = runner();
    // Falls steadily: RSI 0, but 9.6 sits inside bands that widen with the fall.
    let out = feed_all(&mut r, A, &["10.2", "10.0", "9.8", "9.6"]);
    assert!(out.iter().all(Vec::is_empty), "{out:?}");
    // Bad parameters are refused by name.
    let e =
        Runner::<MeanReversion>::init(&Params::new().with("std_dev", 0), &InitContext::default());
    assert_eq!(e.unwrap_err().param.as_deref(), Some("std_dev"));
}
