//! `mean_reversion` replayed over `vectors/replay/series.csv` with its manifest's params:
//! its signals are the committed `vectors/replay/mean_reversion.jsonl`, which the Python
//! sample `mean_reversion_py` must reproduce exactly.

#[path = "../../../vectors/replay/replay.rs"]
mod replay;

use alpha_panda_sdk::{InitContext, Params, Runner};
use mean_reversion::MeanReversion;

#[test]
fn replayed_signals_are_the_committed_ones() {
    replay::check_manifest(
        "mean_reversion",
        &[
            "instruments = [738561, 81153, 2714625, 408065, 341249, 256265]",
            "lookback = 20",
            "rsi_period = 14",
            "std_dev = 2.0",
            "position_size = 50",
        ],
    );
    let params = Params::new()
        .with("lookback", 20)
        .with("rsi_period", 14)
        .with("std_dev", 2.0)
        .with("position_size", 50);
    let ctx = InitContext {
        strategy_id: "mean_reversion_1".to_owned(),
        instruments: vec![738561, 81153, 2714625, 408065, 341249, 256265],
        seed: 1,
        ..Default::default()
    };
    let mut r = Runner::<MeanReversion>::init(&params, &ctx).expect("init");
    let out = r.feed_all(&replay::series());
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert!(
        out.signals.len() > 20,
        "the series should make mean_reversion trade"
    );
    replay::check_or_bless("mean_reversion", &replay::jsonl(&out));
}
