"""`mean_reversion_py` on crafted ticks (the Rust sample's tests, in Python): every
signal checked against values worked out by hand. Run: `python3 -m pytest
plugins/python/mean_reversion_py` (with sdk-python on PYTHONPATH, or from sdk-python/)."""

import math
from pathlib import Path

import pytest

from alpha_panda import InitContext, ParamError, Runner, Side, TickData, load_strategy

MeanReversion = load_strategy(Path(__file__).parent)

A, B = 738561, 81153


def runner() -> Runner:
    """lookback 4, RSI(3), bands at 1.5 standard deviations."""
    return Runner(MeanReversion, {"lookback": 4, "rsi_period": 3, "std_dev": 1.5},
                  InitContext("mean_reversion_py_1", [A, B], 1))


def feed_all(r, token, prices):
    return [r.feed(TickData(token, p, i)) for i, p in enumerate(prices)]


def check(signals, side, price, confidence, rsi, band):
    [s] = signals
    assert (s.side, s.quantity) == (side, 50)
    assert str(s.price) == price
    assert s.confidence == pytest.approx(confidence, abs=1e-9)
    assert s.metadata == [("rsi", rsi), ("band", band)]


HALF = 1.5 * math.sqrt(0.051875)


def test_buys_when_oversold_below_the_lower_band():
    out = feed_all(runner(), A, ["10.00", "10.20", "10.10", "10.00", "9.60"])
    assert out[:4] == [[]] * 4
    # RSI(3): changes +0.2, -0.1, -0.1 -> RSI 50; then -0.4 -> gain 0.4/9, loss 1.6/9, RSI 20.
    # Bands over 10.2, 10.1, 10.0, 9.6: mean 9.975, sd .227761, half width 1.5 sd = .341641,
    # lower 9.633359 > 9.60 -> BUY. Confidence 0.5 + .375/.341641 - 1 = 0.597643.
    check(out[4], Side.BUY, "9.60", 0.5 + 0.375 / HALF - 1.0, "20.00", "9.6334")


def test_sells_when_overbought_above_the_upper_band():
    out = feed_all(runner(), B, ["10", "9.8", "9.9", "10", "10.4"])
    assert out[:4] == [[]] * 4
    # The mirror image: RSI 80; mean 10.025, upper 10.366641 < 10.4 -> SELL.
    check(out[4], Side.SELL, "10.4", 0.5 + 0.375 / HALF - 1.0, "80.00", "10.3666")


def test_no_signal_inside_the_bands_or_without_an_extreme_rsi():
    # Falls steadily: RSI 0, but 9.6 sits inside bands that widen with the fall.
    assert feed_all(runner(), A, ["10.2", "10.0", "9.8", "9.6"]) == [[]] * 4
    for params in ({"std_dev": 0}, {"std_dev": math.inf}, {"std_dev": "wide"}):
        with pytest.raises(ParamError) as e:
            Runner(MeanReversion, params)
        assert e.value.param == "std_dev"


def test_indicators_survive_snapshot_and_restore():
    a = runner()
    feed_all(a, A, ["10.00", "10.20", "10.10", "10.00"])
    b = runner()
    b.restore(a.snapshot())
    check(b.feed(TickData(A, "9.60", 4)), Side.BUY, "9.60", 0.5 + 0.375 / HALF - 1.0, "20.00", "9.6334")
