"""`momentum_py` on crafted ticks (the Rust sample's tests, in Python): every signal
checked against values worked out by hand. Run: `python3 -m pytest plugins/python/momentum_py`
(with sdk-python on PYTHONPATH, or from sdk-python/, whose pytest runs it too)."""

from pathlib import Path

import pytest

from alpha_panda import InitContext, ParamError, Runner, Side, TickData, load_strategy

Momentum = load_strategy(Path(__file__).parent)

RELIANCE, SBIN = 738561, 81153
MIN = 60_000_000


def runner(**params) -> Runner:
    return Runner(Momentum, params, InitContext("momentum_py_1", [RELIANCE, SBIN], 1))


def check(signals, side, qty, price, confidence, momentum):
    [s] = signals
    assert (s.side, s.quantity) == (side, qty)
    assert str(s.price) == price
    assert s.confidence == pytest.approx(confidence, abs=1e-12)
    assert s.metadata == [("momentum", momentum)]
    return s


def test_buys_and_sells_on_momentum_over_the_lookback():
    r = runner(lookback=2, threshold=0.01)

    def feed(token, price, i):
        return r.feed(TickData(token, price, i * MIN))

    # Two prices are not enough for lookback 2 (it needs 3).
    assert feed(RELIANCE, "100.00", 0) == []
    assert feed(RELIANCE, "101.00", 1) == []
    # Another instrument has its own history.
    assert feed(SBIN, "500.00", 2) == []
    # (103.50 - 100) / 100 = 0.035 > 0.01: BUY 100, confidence 5 * 0.035 = 0.175.
    s = check(feed(RELIANCE, "103.50", 3), Side.BUY, 100, "103.50", 0.175, "0.035000")
    assert s.instrument_token == RELIANCE
    # (99 - 101) / 101 = -0.0198019...: SELL, confidence 10/101.
    check(feed(RELIANCE, "99.00", 4), Side.SELL, 100, "99.00", 10.0 / 101.0, "-0.019802")
    # (103.55 - 103.50) / 103.50 = 0.00048: inside the threshold, no signal.
    assert feed(RELIANCE, "103.55", 5) == []
    # (150 - 99) / 99 = 0.5151...: 5 * m > 1, so confidence is capped at 1.
    check(feed(RELIANCE, "150", 6), Side.BUY, 100, "150", 1.0, "0.515152")


def test_defaults_and_refused_parameters():
    r = runner()
    # Default lookback 20: 20 rising prices give nothing, the 21st compares with the 1st.
    for i in range(20):
        assert r.feed(TickData(SBIN, f"{100 + i}.00", i)) == []
    # (121 - 100) / 100 = 0.21 > 0.01: BUY the default 100, confidence min(1, 1.05) = 1.
    check(r.feed(TickData(SBIN, "121.00", 20)), Side.BUY, 100, "121.00", 1.0, "0.210000")
    for params, name in [({"lookback": 0}, "lookback"), ({"lookback": 2.5}, "lookback"),
                         ({"threshold": "high"}, "threshold"), ({"position_size": -5}, "position_size"),
                         ({"lookbak": 5}, "lookbak")]:
        with pytest.raises(ParamError) as e:
            Runner(Momentum, params)
        assert e.value.param == name


def test_state_survives_snapshot_and_restore():
    a = runner(lookback=1, position_size=7)
    assert a.feed(TickData(RELIANCE, "200.0", 0)) == []
    b = runner(lookback=1, position_size=7)
    b.restore(a.snapshot())
    # (196 - 200) / 200 = -0.02: SELL 7, confidence 0.1.
    check(b.feed(TickData(RELIANCE, "196.0", 1)), Side.SELL, 7, "196.0", 0.1, "-0.020000")
