"""The original-interface momentum processor (`momentum.py`, imports unchanged) run through
the SDK's adapter, natively: the window, HOLD dropped, the legacy 0-100 confidence
normalised, exact prices, metadata as text."""

from pathlib import Path

from alpha_panda import InitContext, Runner, Side, TickData, load_strategy

HERE = Path(__file__).parent
Momentum = load_strategy(HERE)
A, B = 738561, 81153


def test_the_file_keeps_the_original_imports():
    source = (HERE / "momentum.py").read_text()
    for line in ("from core.schemas.events import MarketTick as MarketData",
                 "from strategies.core.protocols import SignalResult, StrategyProcessor",
                 "from core.logging import get_trading_logger_safe"):
        assert line in source
    assert "alpha_panda" not in source


def test_signals_over_the_window_with_normalised_confidence():
    r = Runner(Momentum, {"lookback_periods": 3, "threshold": 0.01, "position_size": 7},
               InitContext("processor_momentum_py_1", [A, B], 1))
    out = r.feed_all([TickData(A, "100.00", 0), TickData(B, "50", 1), TickData(A, "100.50", 2),
                      TickData(A, "102.00", 3),   # +2% over 3 ticks: BUY, confidence 40 -> 0.4
                      TickData(A, "101.00", 4),   # +0.5%: HOLD, dropped
                      TickData(A, "99.00", 5)])   # -2.94%: SELL, 58.8 -> 0.588
    assert out.errors == []
    buy, sell = out.signals
    assert (buy.tick_index, buy.instrument_token, buy.side, buy.quantity, str(buy.price)) == (3, A, Side.BUY, 7, "102.0")
    assert abs(buy.confidence - 0.4) < 1e-12
    assert buy.metadata == [("change", "0.02"), ("window", "3"), ("first_price", "100.0")]
    assert (sell.tick_index, sell.side, str(sell.price)) == (5, Side.SELL, "99.0")
    assert abs(sell.confidence - (102 - 99) / 102 * 20) < 1e-12  # window 102, 101, 99
    assert r.strategy.processor.signals_emitted == 2
