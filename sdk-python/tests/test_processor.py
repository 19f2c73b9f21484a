"""The adapter for the original processor interface (`alpha_panda.processor`) and the
shims it runs on: the executor's semantics (history per instrument with the tick
appended before the call, its length and order; the shared history of the original
runner on request; HOLD dropped; confidence normalised; routing by the manifest's
instruments and `supports_instrument`), the factory and its config, refusals, errors,
snapshots, and a `MarketTick` that looks like the original model."""

from __future__ import annotations

import pickle
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from alpha_panda import InitContext, ParamError, Runner, Side, TickData, TickFailed, TickMode, load_strategy
from alpha_panda.processor import metadata_text, normalise_confidence

from sdk_paths import SDK

Recorder = load_strategy(SDK / "tests" / "processors" / "recorder")
recorder = Recorder.module
from strategies.core.protocols import SignalResult  # noqa: E402  (on the path once loaded)
from core.schemas.events import MarketTick, OHLCData  # noqa: E402

A, B, C = 738561, 81153, 2714625


@pytest.fixture(autouse=True)
def script():
    recorder.SCRIPT.clear()
    yield recorder.SCRIPT
    recorder.SCRIPT.clear()


def run(params=None, instruments=(A, B)):
    return Runner(Recorder, params or {}, InitContext("rec_1", list(instruments), 3))


def tick(token, price, ts=0, **kw):
    return TickData(token, price, ts, **kw)


def test_history_is_per_instrument_oldest_first_with_the_tick_appended():
    r = run({"history": 3})
    r.feed_all([tick(A, "1"), tick(B, "100"), tick(A, "2"), tick(A, "3"), tick(B, "101"), tick(A, "4")])
    assert r.strategy.processor.calls == [
        (A, ["1"], True),
        (B, ["100"], True),
        (A, ["1", "2"], True),
        (A, ["1", "2", "3"], True),
        (B, ["100", "101"], True),
        (A, ["2", "3", "4"], True),  # the required length, the oldest dropped
    ]


def test_shared_history_mixes_instruments_as_the_original_runner_did():
    r = run({"history": 3, "shared_history": True})
    r.feed_all([tick(A, "1"), tick(B, "100"), tick(A, "2"), tick(B, "101")])
    assert [c[1] for c in r.strategy.processor.calls] == [
        ["1"], ["1", "100"], ["1", "100", "2"], ["100", "2", "101"]]


def test_ticks_of_other_instruments_are_not_routed_nor_kept():
    r = run({"history": 5, "refuse": B}, instruments=(A, B))
    r.feed_all([tick(A, "1"), tick(B, "100"), tick(C, "7"), tick(A, "2")])
    assert r.strategy.processor.calls == [(A, ["1"], True), (A, ["1", "2"], True)]
    assert set(r.strategy.histories) == {A}


def test_buy_and_sell_become_signals_and_hold_is_dropped(script):
    script["1"] = recorder.buy(0.7, quantity=5, price="10.50", reasoning="why", metadata={"k": 1})
    script["2"] = SignalResult("SELL", 80, 3, Decimal("2501.50"))
    script["3"] = SignalResult("HOLD", 0.9, 5, Decimal("1"))
    script["4"] = None
    out = run().feed_all([tick(A, "1"), tick(A, "2"), tick(B, "3"), tick(B, "4")])
    assert out.errors == []
    a, b = out.signals
    assert (a.tick_index, a.instrument_token, a.side, a.quantity, str(a.price), a.confidence, a.metadata) == (
        0, A, Side.BUY, 5, "10.50", 0.7, [("k", "1")])
    assert (b.tick_index, b.side, b.quantity, str(b.price), b.confidence) == (1, Side.SELL, 3, "2501.50", 0.8)


@pytest.mark.parametrize("raw, normalised", [
    (0.7, 0.7), (1.0, 1.0), (80, 0.8), (1.5, 0.015), (100, 1.0), (250, 1.0), (-0.2, 0.0),
    (Decimal("45"), 0.45), (float("nan"), None), ("high", None), (None, None),
])
def test_confidence_is_normalised_like_the_original_runner(raw, normalised, script):
    assert normalise_confidence(raw) == normalised
    script["1"] = recorder.buy(raw)
    [s] = run().feed(tick(A, "1"))
    assert s.confidence == normalised


def test_metadata_values_become_text():
    assert [metadata_text(v) for v in (1, 0.5, Decimal("2.50"), True, None, "x", [1, 2], {"a": 1})] == [
        "1", "0.5", "2.50", "true", "null", "x", "[1, 2]", '{"a": 1}']


def test_results_the_original_validator_refused_are_dropped_and_logged_once(script, logs):
    script["1"] = recorder.buy(0.5, quantity=0)
    script["2"] = recorder.buy(0.5, price="-1")
    script["3"] = SignalResult("SHORT", 0.5, 1, Decimal("1"))
    r = run()
    out = r.feed_all([tick(A, "1"), tick(A, "1"), tick(A, "2"), tick(A, "3")])
    assert out.signals == [] and out.errors == []
    assert r.strategy.dropped == {"quantity below 1": 2, "price not above 0": 1,
                                  "signal_type 'SHORT' is not BUY, SELL or HOLD": 1}
    warnings = [f["reason"] for level, m, f in logs if level == "WARN"]
    assert warnings == ["quantity below 1", "price not above 0", "signal_type 'SHORT' is not BUY, SELL or HOLD"]


def test_a_processor_exception_is_an_error_of_its_tick(script):
    script["2"] = KeyError("ema")
    r = run()
    out = r.feed_all([tick(A, "1"), tick(A, "2"), tick(A, "3")])
    [e] = out.errors
    assert e.tick_index == 1 and e.message.startswith("KeyError: 'ema' (recorder.py:")


def test_params_become_the_factory_config_and_the_adapter_keeps_its_own():
    r = run({"history": 4, "threshold": 0.5, "name": "x", "shared_history": False})
    assert r.strategy.processor.config == {"history": 4, "threshold": 0.5, "name": "x"}
    assert r.strategy.history_length == 4
    with pytest.raises(ParamError) as e:
        run({"explode": True})
    assert e.value.param is None
    assert e.value.message.startswith("create_recorder_processor(config) failed: ValueError: bad config")
    with pytest.raises(ParamError) as e:
        run({"processor": "momentum"})
    assert (e.value.param, e.value.message) == ("processor", "no create_momentum_processor in the module (it has: recorder)")


def test_processor_param_picks_one_of_several_factories():
    Two = load_strategy(SDK / "tests" / "processors" / "two")
    with pytest.raises(ParamError) as e:
        Runner(Two)
    assert e.value.param == "processor" and "alpha, beta" in e.value.message
    r = Runner(Two, {"processor": "beta", "x": 1})
    assert (r.strategy.name, r.strategy.processor.config) == ("beta", {"x": 1})


def test_histories_and_processor_state_survive_a_snapshot():
    a = run({"history": 3})
    a.feed_all([tick(A, "1"), tick(A, "2")])
    b = run({"history": 3})
    b.restore(a.snapshot())
    b.feed(tick(A, "3"))
    assert b.strategy.processor.calls[-1] == (A, ["1", "2", "3"], True)
    assert len(b.strategy.processor.calls) == 3


def test_market_tick_looks_like_the_original_model():
    full = TickData(A, "2501.50", 1_756_442_704_000_000, symbol="RELIANCE", volume_traded=10,
                    average_traded_price="2498.2", change="0.46", ohlc=("2480.0", "2510", "2475.5", "2490"),
                    exchange_timestamp_us=1_756_442_704_000_000, depth=([("2501.45", 5, 2)], []),
                    mode=TickMode.FULL, tradable=True)
    m = MarketTick.from_tick(full.as_tick())
    assert m.instrument_token == A
    assert m.last_price == Decimal("2501.50") and str(m.last_price) == "2501.50"
    assert m.timestamp == datetime(2025, 8, 29, 4, 45, 4, tzinfo=timezone.utc)
    assert (m.symbol, m.volume_traded, m.average_traded_price) == ("RELIANCE", 10, Decimal("2498.2"))
    assert m.ohlc == OHLCData(open=Decimal("2480.0"), high=Decimal(2510), low=Decimal("2475.5"), close=Decimal(2490))
    assert m.depth.buy[0].price == Decimal("2501.45") and m.depth.sell == []
    assert (m.mode, m.tradable, m.oi, m.last_trade_time) == ("full", True, None, None)
    assert m.exchange_timestamp == m.timestamp
    dumped = m.model_dump(mode="json")
    assert dumped["last_price"] == "2501.50" and dumped["timestamp"] == "2025-08-29T04:45:04Z"
    assert MarketTick.from_tick(TickData(A, "1", 0).as_tick()).symbol == ""
    back = pickle.loads(pickle.dumps(m))
    assert back == m and "_tick" not in back.__dict__
    # Built by hand, as the original tests did, with pydantic-like coercion.
    made = MarketTick(instrument_token=A, last_price="2501.5", timestamp="2025-08-29T04:45:04Z")
    assert made.last_price == Decimal("2501.5") and made.timestamp == m.timestamp and made.depth is None
    with pytest.raises(TypeError, match="`timestamp` is required"):
        MarketTick(instrument_token=A, last_price=1)


def test_the_logger_shim_takes_structlog_calls(logs):
    from core.logging import get_trading_logger_safe, set_level

    log = get_trading_logger_safe("x").bind(strategy="s")
    log.debug("hidden")
    log.info("tick %s", 5, token=1)
    set_level("debug")
    log.debug("shown")
    set_level("info")
    assert logs == [("INFO", "tick 5", {"logger": "x", "strategy": "s", "token": "1"}),
                    ("DEBUG", "shown", {"logger": "x", "strategy": "s"})]


def test_processor_exceptions_reach_a_runner_feed_as_tick_failed(script):
    script["1"] = ZeroDivisionError("division by zero")
    with pytest.raises(TickFailed, match="ZeroDivisionError: division by zero"):
        run().feed(tick(A, "1"))


def test_a_param_the_factory_never_reads_is_refused_by_name():
    Momentum = load_strategy(SDK.parent / "plugins" / "python" / "processor_momentum_py")
    with pytest.raises(ParamError) as e:
        Runner(Momentum, {"lookback_period": 5, "threshold": 0.02})
    assert e.value.param == "lookback_period"
    assert e.value.message == ("unknown parameter: create_momentum_processor did not read it "
                               "(it read: threshold)")
    # A factory that takes the whole dict (here dict(config)) reads every key.
    assert run({"anything": 1}).strategy.processor.config == {"anything": 1}
