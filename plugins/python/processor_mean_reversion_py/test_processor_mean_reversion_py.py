"""The original-interface mean-reversion processor (`mean_reversion.py`) through the SDK's
adapter: its `processor` param, its own instrument filter, and signals on a sharp fall."""

from pathlib import Path

from alpha_panda import InitContext, Runner, Side, TickData, load_strategy

MeanReversion = load_strategy(Path(__file__).parent)
A, B = 738561, 81153


def test_buys_a_sharp_fall_and_respects_its_instrument_filter():
    params = {"processor": "mean_reversion", "lookback_periods": 5, "rsi_period": 3, "entry_z": 1.5,
              "only_instrument": A}
    r = Runner(MeanReversion, params, InitContext("processor_mean_reversion_py_1", [A, B], 1))
    prices = ["100.0", "100.2", "100.1", "100.3", "100.2", "97.0"]
    out = r.feed_all([TickData(token, p, i) for i, p in enumerate(prices) for token in (A, B)])
    assert out.errors == []
    [s] = out.signals
    assert (s.instrument_token, s.side, s.quantity, str(s.price)) == (A, Side.BUY, 50, "97.0")
    assert 0.5 <= s.confidence <= 1.0
    assert [k for k, _ in s.metadata] == ["z", "rsi", "mean"]
    assert set(r.strategy.histories) == {A}, "B is refused by supports_instrument"
