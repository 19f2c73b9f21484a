//! `momentum` replayed over `vectors/replay/series.csv` with its manifest's params: its
//! signals are the committed `vectors/replay/momentum.jsonl`, which the Python sample
//! `momentum_py` must reproduce exactly.

#[path = "../../../vectors/replay/replay.rs"]
mod replay;

use alpha_panda_sdk::{InitContext, Params, Runner};
use momentum::Momentum;

#[test]
fn replayed_signals_are_the_committed_ones() {
    replay::check_manifest(
        "momentum",
        &[
            "instruments = [738561, 81153, 2714625, 408065, 341249, 256265]",
            "lookback = 20",
            "threshold = 0.01",
            "position_size = 100",
        ],
    );
    let params = Params::new()
        .with("lookback", 20)
        .with("threshold", 0.01)
        .with("position_size", 100);
    let ctx = InitContext {
        strategy_id: "momentum_1".to_owned(),
        instruments: vec![738561, 81153, 2714625, 408065, 341249, 256265],
        seed: 1,
        ..Default::default()
    };
    let mut r = Runner::<Momentum>::init(&params, &ctx).expect("init");
    let out = r.feed_all(&replay::series());
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert!(
        out.signals.len() > 100,
        "the series should make momentum trade"
    );
    replay::check_or_bless("momentum", &replay::jsonl(&out));
}
