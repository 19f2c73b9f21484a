"""`Runner`: drives a `Strategy` tick by tick (due timers first, then `on_tick`), checks
and tags its signals, turns its exceptions into errors of their tick, and wraps its
snapshot with the SDK's own state (the pending timers). The component uses it; so do
tests."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional, Union

from .context import Context, InitContext
from .layout import I64, U32, U64
from .logger import Level, log
from .params import ParamError, Params, ParamValue
from .signal import Emitted, Signal, check_token
from .strategy import Strategy, describe
from .tick import Tick, TickData
from .timers import Timers


@dataclass(frozen=True)
class TickError:
    """A failure on one tick: its signals were dropped."""

    tick_index: int
    message: str


@dataclass
class Output:
    """What a run of ticks produced."""

    signals: list[Emitted] = field(default_factory=list)
    errors: list[TickError] = field(default_factory=list)


class TickFailed(Exception):
    """`Runner.feed`: the tick failed; `errors` are its `TickError`s."""

    def __init__(self, errors: list[TickError]):
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


class SnapshotError(Exception):
    """`Runner.restore`: the bytes were refused (the strategy is left as it was)."""


# Snapshot envelope: magic, format byte, u32 timer count, (i64 due, u64 id) per timer,
# then a u8 (0: the strategy's state follows; 1: why it could not be taken, UTF-8).
SNAPSHOT_MAGIC = b"APPY"
SNAPSHOT_FORMAT = 1


def _params(params: Union[Params, Mapping[str, ParamValue], None]) -> Params:
    if params is None:
        return Params()
    if isinstance(params, Params):
        return params
    return Params(dict(params))


class Runner:
    """A strategy instance with its SDK-side state (pending timers, output checks).

    >>> from alpha_panda import Runner, Signal, Strategy, TickData
    >>> class BuyEverything(Strategy):
    ...     def on_tick(self, tick, out):
    ...         out.emit(Signal.buy(1))
    >>> r = Runner(BuyEverything)
    >>> [(e.instrument_token, e.quantity) for e in r.feed(TickData(7, "10.5", 0))]
    [(7, 1)]

    Construction calls `init` (the module `random` is first seeded with `ctx.seed`),
    then refuses any parameter the strategy did not read (`ParamError`).
    """

    def __init__(self, strategy: type, params: Union[Params, Mapping[str, ParamValue], None] = None,
                 ctx: Optional[InitContext] = None):
        params = _params(params)
        ctx = InitContext() if ctx is None else ctx
        if getattr(strategy, "on_tick", None) is Strategy.on_tick:
            raise TypeError(f"{strategy.__name__} does not define on_tick")
        random.seed(ctx.seed)
        instance = strategy()
        instance.init(params, ctx)
        name = params.first_unread()
        if name is not None:
            known = ", ".join(params.asked_names()) or "none"
            raise ParamError(name, f"unknown parameter (this strategy reads: {known})")
        self._strategy = instance
        self._ctx = Context()
        self._instruments = frozenset(ctx.instruments)

    @property
    def strategy(self):
        """The strategy instance."""
        return self._strategy

    def pending_timers(self) -> list[tuple[int, int]]:
        """Pending timers as `(due_us, id)`, in firing order."""
        return self._ctx._timers.list()

    def handle(self, tick_index: int, tick: Tick, out: Output) -> None:
        """Delivers one tick: first every timer due at or before its timestamp (in
        (due, id) order), then `on_tick`. Signals go to `out` tagged with `tick_index`;
        if any of these calls fails or emits an invalid signal, the tick's signals are
        dropped and one `TickError` per failure is added instead."""
        first_signal = len(out.signals)
        first_error = len(out.errors)
        ctx = self._ctx
        strategy = self._strategy
        now = tick.timestamp_us
        timers = ctx._timers
        if timers:
            cursor = None
            while True:
                due = timers.pop_due(now, cursor)
                if due is None:
                    break
                cursor = due
                ctx._now_us = due[0]
                try:
                    strategy.on_timer(due[1], due[0], ctx)
                    error = None
                except Exception as e:
                    error = f"on_timer({due[1]}): {describe(e)}"
                self._collect(tick_index, None, error, out)
        ctx._now_us = now
        try:
            strategy.on_tick(tick, ctx)
            error = None
        except Exception as e:
            error = describe(e)
        self._collect(tick_index, tick.instrument_token, error, out)
        if len(out.errors) > first_error:
            del out.signals[first_signal:]

    def _collect(self, tick_index: int, tick_instrument: Optional[int], error: Optional[str],
                 out: Output) -> None:
        """Moves the signals of one callback from the context to `out`, or records why not."""
        signals = self._ctx._signals
        if not signals and error is None:
            return
        self._ctx._signals = []
        if error is not None:
            out.errors.append(TickError(tick_index, error))
            return
        for s in signals:
            if not isinstance(s, Signal):
                problem = f"emit() takes a Signal, not {type(s).__name__}"
            else:
                token = s.instrument_token if s.instrument_token is not None else tick_instrument
                if token is None:
                    problem = "a signal from on_timer needs .instrument(token)"
                elif self._instruments and token not in self._instruments:
                    problem = check_token(token) or (
                        f"signal for instrument {token}, which the strategy is not subscribed to")
                else:
                    problem = check_token(token) or s.problem()
            if problem is not None:
                out.errors.append(TickError(tick_index, problem))
                return
            out.signals.append(Emitted.of(tick_index, token, s))

    def feed(self, tick: Union[TickData, Tick]) -> list[Emitted]:
        """Test helper: delivers one tick (as tick 0) and returns its signals; raises
        `TickFailed` with the error messages if the tick failed."""
        out = Output()
        self.handle(0, tick.as_tick() if isinstance(tick, TickData) else tick, out)
        if out.errors:
            raise TickFailed(out.errors)
        return out.signals

    def feed_all(self, ticks: Iterable[Union[TickData, Tick]]) -> Output:
        """Test helper: delivers ticks as one batch (indices from 0)."""
        out = Output()
        for i, tick in enumerate(ticks):
            self.handle(i, tick.as_tick() if isinstance(tick, TickData) else tick, out)
        return out

    def snapshot(self) -> bytes:
        """The strategy's state and the pending timers, as one byte string. If the
        strategy cannot encode itself, the bytes carry the reason (logged at ERROR)
        and `restore` reports it."""
        try:
            state = self._strategy.snapshot()
            if isinstance(state, (bytearray, memoryview)):
                state = bytes(state)
            if not isinstance(state, bytes):
                raise TypeError(f"snapshot() returned {type(state).__name__}, not bytes")
            tail = b"\x00" + state
        except Exception as e:
            reason = describe(e)
            log(Level.ERROR, "strategy snapshot failed", error=reason)
            tail = b"\x01" + reason.encode()
        timers = self._ctx._timers.list()
        head = bytearray(SNAPSHOT_MAGIC + bytes([SNAPSHOT_FORMAT]) + U32.pack(len(timers)))
        for due, timer_id in timers:
            head += I64.pack(due) + U64.pack(timer_id)
        return bytes(head) + tail

    def restore(self, data: bytes) -> None:
        """Takes over the state of `snapshot` bytes (after `init`); raises
        `SnapshotError` with the reason, leaving the strategy as it was, if it cannot."""
        data = bytes(data)
        n = len(data)
        if n < 9 or data[:4] != SNAPSHOT_MAGIC:
            raise SnapshotError(f"not an alpha-panda Python snapshot ({n} bytes)")
        if data[4] != SNAPSHOT_FORMAT:
            raise SnapshotError(f"snapshot format {data[4]} (this SDK reads {SNAPSHOT_FORMAT})")
        count = U32.unpack_from(data, 5)[0]
        at = 9 + 16 * count
        if at >= n:
            raise SnapshotError(f"not an alpha-panda Python snapshot ({n} bytes): truncated")
        pending = [(I64.unpack_from(data, 9 + 16 * i)[0], U64.unpack_from(data, 17 + 16 * i)[0])
                   for i in range(count)]
        if data[at] == 1:
            raise SnapshotError(f"the snapshot was not taken: {data[at + 1:].decode(errors='replace')}")
        if data[at] != 0:
            raise SnapshotError(f"not an alpha-panda Python snapshot ({n} bytes): bad state tag {data[at]}")
        try:
            self._strategy.restore(data[at + 1:])
        except Exception as e:
            raise SnapshotError(f"strategy restore failed: {describe(e)}") from None
        self._ctx._timers = Timers(pending)


__all__ = ["Output", "Runner", "SnapshotError", "TickError", "TickFailed"]
