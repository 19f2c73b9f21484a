"""The engine behind the export, natively (the Rust SDK's `sdk/tests/runner.rs`, in
Python): timer order, per-tick error isolation, exceptions as tick errors, signal
checks, parameter checks, the snapshot envelope."""

from __future__ import annotations

import math
from collections import deque
from decimal import Decimal

import pytest

from alpha_panda import (
    Context, InitContext, ParamError, Params, Runner, Side, Signal, SnapshotError, Strategy,
    StrategyError, TickData, TickFailed,
)
from alpha_panda.indicators import BollingerBands, RollingWindow, Rsi, Sma


class Probe(Strategy):
    """Does what each tick's symbol says (`;`-separated commands), records every call."""

    def init(self, params, ctx):
        self.calls: list[str] = []
        self.unencodable = params.get_or("unencodable", False)

    def on_tick(self, tick, out):
        self.calls.append(f"tick {tick.price:g} @{out.now_us}")
        for cmd in (tick.symbol or "").split(";"):
            words = cmd.split()
            num = lambda i: int(words[i]) if len(words) > i else 0  # noqa: E731
            match words[:1]:
                case ["buy"]:
                    out.emit(Signal.buy(1))
                case ["zero"]:
                    out.emit(Signal.buy(0))
                case ["nan"]:
                    out.emit(Signal.buy(1).price(math.nan))
                case ["other"]:
                    out.emit(Signal.buy(1).instrument(999))
                case ["fail"]:
                    raise StrategyError("tick failed")
                case ["divide"]:
                    1 / 0
                case ["timer"]:
                    out.set_timer(num(2), num(1))
                case ["cancel"]:
                    assert out.cancel_timer(num(1))

    def on_timer(self, timer_id, now_us, out):
        self.calls.append(f"timer {timer_id} @{now_us}")
        if timer_id == 4:
            out.set_timer(now_us, 4)  # re-armed for the same time: waits a tick
        elif timer_id == 7:
            out.emit(Signal.sell(2))  # no instrument: invalid from a timer
        elif timer_id == 9:
            raise StrategyError("timer failed")
        else:
            out.emit(Signal.sell(2).instrument(2))

    def snapshot(self):
        if self.unencodable:
            raise StrategyError("cannot encode")
        return super().snapshot()


def runner(**params) -> Runner:
    return Runner(Probe, params, InitContext("probe_1", [2, 1], 7))


def t(price: str, ts: int, script: str) -> TickData:
    return TickData(1, price, ts, symbol=script)


def summary(out):
    return [(e.tick_index, e.side, e.quantity, e.instrument_token) for e in out.signals]


def test_timers_fire_before_the_tick_in_due_then_id_order():
    r = runner()
    out = r.feed_all([t("1", 10, "timer 3 50;timer 2 50;timer 1 40;timer 6 1000"), t("2", 45, ""),
                      t("3", 50, "buy")])
    assert out.errors == []
    assert r.strategy.calls == ["tick 1 @10", "timer 1 @40", "tick 2 @45", "timer 2 @50",
                                "timer 3 @50", "tick 3 @50"]
    # Timer signals answer the tick that made them fire.
    assert summary(out) == [(1, Side.SELL, 2, 2), (2, Side.SELL, 2, 2), (2, Side.SELL, 2, 2),
                            (2, Side.BUY, 1, 1)]
    assert r.pending_timers() == [(1000, 6)]


def test_a_timer_rearmed_for_its_own_time_waits_for_the_next_tick():
    r = runner()
    r.feed_all([t("1", 0, "timer 4 5"), t("2", 10, ""), t("3", 20, "")])
    assert r.strategy.calls == ["tick 1 @0", "timer 4 @5", "tick 2 @10", "timer 4 @5", "tick 3 @20"]


def test_a_failing_tick_loses_only_its_own_signals():
    r = runner()
    out = r.feed_all([t("1", 0, "buy"), t("2", 1, "buy;timer 5 2;fail"), t("3", 2, "buy")])
    assert [(e.tick_index, e.message) for e in out.errors] == [(1, "tick failed")]
    # The timer set by the failed tick still fires.
    assert summary(out) == [(0, Side.BUY, 1, 1), (2, Side.SELL, 2, 2), (2, Side.BUY, 1, 1)]


def test_an_exception_is_a_tick_error_with_its_type_message_and_place():
    r = runner()
    out = r.feed_all([t("1", 0, "buy;divide"), t("2", 1, "buy")])
    assert len(out.errors) == 1 and out.errors[0].tick_index == 0
    message = out.errors[0].message
    assert message.startswith("ZeroDivisionError: division by zero (test_runner.py:"), message
    assert message.endswith(" in on_tick)")
    assert summary(out) == [(1, Side.BUY, 1, 1)]
    with pytest.raises(TickFailed, match="ZeroDivisionError: division by zero"):
        r.feed(t("1", 3, "divide"))


def test_a_failing_timer_is_reported_on_the_tick_it_fired_before():
    r = runner()
    out = r.feed_all([t("1", 0, "timer 9 1;timer 10 1"), t("2", 1, "buy")])
    assert [(e.tick_index, e.message) for e in out.errors] == [(1, "on_timer(9): timer failed")]
    assert out.signals == []
    assert len(r.strategy.calls) == 4, "timer 10 and the tick still ran"


@pytest.mark.parametrize("script, expected", [
    ("zero", "signal quantity is 0"),
    ("nan", "signal price nan is not finite and > 0"),
    ("other", "signal for instrument 999, which the strategy is not subscribed to"),
    ("buy;zero", "quantity is 0"),
])
def test_invalid_signals_become_errors_of_their_tick(script, expected):
    with pytest.raises(TickFailed) as e:
        runner().feed(t("1", 0, script))
    assert expected in str(e.value)


def test_a_timer_signal_needs_an_instrument():
    r = runner()
    assert r.feed(t("1", 0, "timer 7 0")) == []
    with pytest.raises(TickFailed, match=r"needs \.instrument"):
        r.feed(t("1", 0, ""))
    [e] = r.feed(t("1", 0, "buy"))
    assert (e.instrument_token, e.side, e.quantity, e.price, e.confidence) == (1, Side.BUY, 1, None, None)


class Emitter(Strategy):
    """Emits whatever the test put in `to_emit`."""

    def init(self, params, ctx):
        self.to_emit = []

    def on_tick(self, tick, out):
        for s in self.to_emit:
            out.emit(s)


@pytest.mark.parametrize("signal, problem", [
    (Signal.buy(-5), "signal quantity -5 is not an integer"),
    (Signal.buy(2**64), "is not an integer in 1..=18446744073709551615"),
    (Signal.buy(1.5), "signal quantity 1.5"),
    (Signal.sell(1).price(0.0), "signal price 0.0 is not finite and > 0"),
    (Signal.sell(1).price(math.inf), "not finite"),
    (Signal.sell(1).price_exact(Decimal("-2.5")), "signal price -2.5 is not > 0"),
    (Signal.sell(1).price_exact(Decimal("NaN")), "signal price NaN is not > 0"),
    (Signal.sell(1).price_exact(Decimal("1e-30")), "has 30 decimal places (the host takes at most 28)"),
    (Signal.sell(1).price_exact(Decimal("1e30")), "mantissa needs more than 64 bits"),
    (Signal.buy(1).confidence(1.5), "signal confidence 1.5 is outside 0..=1"),
    (Signal.buy(1).confidence(math.nan), "signal confidence nan is outside 0..=1"),
    (Signal.buy(1).instrument(-1), "signal instrument -1 is not an instrument token"),
    ("BUY", "emit() takes a Signal, not str"),
])
def test_every_output_check(signal, problem):
    r = Runner(Emitter)
    r.strategy.to_emit = [Signal.buy(1), signal]
    with pytest.raises(TickFailed) as e:
        r.feed(TickData(5, "10", 0))
    assert problem in str(e.value)


def test_valid_signals_leave_with_every_field():
    r = Runner(Emitter, ctx=InitContext(instruments=[5, 6]))
    r.strategy.to_emit = [
        Signal.sell(7).instrument(6).price_exact(Decimal("2501.50")).confidence(0.5).meta("k", "é"),
        Signal.buy(1).price(10.25).meta("n", 3),
    ]
    a, b = r.feed(TickData(5, "10", 0))
    assert (a.instrument_token, a.side, a.quantity, a.price, a.confidence, a.metadata) == (
        6, Side.SELL, 7, Decimal("2501.50"), 0.5, [("k", "é")])
    assert str(a.price) == "2501.50"
    assert (b.instrument_token, b.price, b.confidence, b.metadata) == (5, 10.25, None, [("n", "3")])


def test_signal_builder_reads_back_and_prints_as_code():
    s = Signal.buy(3).price_exact("103.50").confidence(0.25).meta("m", 1).instrument(9)
    assert (s.price_value, s.confidence_value) == (Decimal("103.50"), 0.25)
    assert repr(s) == "Signal.buy(3).instrument(9).price_exact(Decimal('103.50')).confidence(0.25).meta('m', '1')"
    assert s == Signal.buy(3).instrument(9).price_exact(Decimal("103.50")).confidence(0.25).meta("m", "1")
    with pytest.raises(TypeError):
        Signal.buy(1).price_exact(1.5)
    with pytest.raises(TypeError):
        Signal.buy(1).price(Decimal("1.5"))


def test_unknown_and_mistyped_parameters_are_refused_by_name():
    with pytest.raises(ParamError) as e:
        runner(lokback=3)
    assert e.value.param == "lokback"
    assert e.value.message == "unknown parameter (this strategy reads: unencodable)"
    with pytest.raises(ParamError) as e:
        runner(unencodable=1)
    assert e.value.param == "unencodable"
    assert "expected a boolean, found integer 1" in e.value.message


def test_snapshot_carries_state_and_timers():
    a = runner()
    a.feed(t("1", 0, "timer 1 100;timer 2 200"))
    b = runner()
    b.restore(a.snapshot())
    assert b.strategy.calls == ["tick 1 @0"]
    assert b.pending_timers() == [(100, 1), (200, 2)]
    [e] = b.feed(t("2", 150, ""))
    assert (e.side, e.quantity, e.instrument_token) == (Side.SELL, 2, 2)


def test_bad_snapshots_are_refused_with_a_reason(logs):
    r = runner()
    r.feed(t("1", 0, "timer 1 100"))
    good = r.snapshot()
    with pytest.raises(SnapshotError, match="not an alpha-panda Python snapshot"):
        r.restore(b"")
    wrong_format = bytearray(good)
    wrong_format[4] = 9
    with pytest.raises(SnapshotError, match="format 9"):
        r.restore(bytes(wrong_format))
    with pytest.raises(SnapshotError, match="strategy restore failed: UnpicklingError"):
        r.restore(good[:-3])
    failing = runner(unencodable=True)
    with pytest.raises(SnapshotError, match="the snapshot was not taken: cannot encode"):
        r.restore(failing.snapshot())
    assert ("ERROR", "strategy snapshot failed", {"error": "cannot encode"}) in logs
    # A refused snapshot leaves the instance as it was.
    assert r.pending_timers() == [(100, 1)]
    assert r.strategy.calls == ["tick 1 @0"]


def test_context_works_without_a_runner():
    p = Probe()
    p.init(Params(), InitContext())
    ctx = Context()
    p.on_tick(t("1", 0, "buy;timer 3 9").as_tick(), ctx)
    assert ctx.signals == [Signal.buy(1)]
    assert ctx.timer(3) == 9
    assert len(ctx.take_signals()) == 1 and ctx.signals == []


class Keeper(Strategy):
    """Keeps every kind of state the default snapshot must carry."""

    def init(self, params, ctx):
        self.rng = ctx.rng()
        self.last = {}
        self.window = RollingWindow(3)
        self.sma = Sma(2)
        self.rsi = Rsi(2)
        self.bands = BollingerBands(2, 2.0)
        self.recent = deque(maxlen=2)
        self.by_token: dict[int, list[Decimal]] = {}
        self.tick = None

    def on_tick(self, tick, out):
        self.window.push(tick.price)
        self.sma.update(tick.price)
        self.rsi.update(tick.price)
        self.bands.update(tick.price)
        self.recent.append(tick.last_price)
        self.by_token.setdefault(tick.instrument_token, []).append(tick.last_price)
        self.tick = tick
        out.emit(Signal.buy(1 + self.rng.randrange(100)).meta("sma", self.sma.value))


def test_default_snapshot_round_trips_every_kind_of_state_and_is_deterministic():
    ticks = [TickData(1 + i % 2, f"{100 + i}.50", i, symbol="S") for i in range(6)]
    a = Runner(Keeper, ctx=InitContext(seed=11))
    a.feed_all(ticks[:4])
    twin = Runner(Keeper, ctx=InitContext(seed=11))
    twin.feed_all(ticks[:4])
    assert a.snapshot() == twin.snapshot()
    b = Runner(Keeper, ctx=InitContext(seed=99))
    b.restore(a.snapshot())
    assert b.strategy.by_token == {1: [Decimal("100.50"), Decimal("102.50")],
                                   2: [Decimal("101.50"), Decimal("103.50")]}
    assert str(b.strategy.recent[-1]) == "103.50" and b.strategy.recent.maxlen == 2
    assert b.strategy.tick == ticks[3]
    rest_a = a.feed_all(ticks[4:])
    rest_b = b.feed_all(ticks[4:])
    assert rest_a == rest_b and rest_a.errors == []


def test_seed_makes_randomness_repeatable():
    def draws(seed):
        r = Runner(Keeper, ctx=InitContext(seed=seed))
        return [e.quantity for e in r.feed_all([TickData(1, "1", i) for i in range(5)]).signals]

    assert draws(3) == draws(3) != draws(4)


def test_a_strategy_without_on_tick_is_refused():
    class Empty(Strategy):
        pass

    with pytest.raises(TypeError, match="does not define on_tick"):
        Runner(Empty)
