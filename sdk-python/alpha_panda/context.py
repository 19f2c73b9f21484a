"""`InitContext` (who the strategy is, and its artifacts) and `Context` (what a callback can do: emit
signals, read the feed's time, set and cancel timers, log)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Optional

from .artifacts import Artifacts
from .logger import Level, log
from .signal import Signal
from .timers import Timers


@dataclass
class InitContext:
    """Who the strategy is, given once to `Strategy.init`."""

    #: The strategy id of the manifest ("momentum_py_1").
    strategy_id: str = ""
    #: The instruments the strategy is subscribed to (empty: any).
    instruments: list[int] = field(default_factory=list)
    #: The only randomness a strategy gets; fixed per strategy id.
    seed: int = 0
    #: The read-only files the manifest names under `[artifacts]`:
    #: `ctx.artifacts.json("model")`.
    artifacts: Artifacts = field(default_factory=Artifacts)

    def rng(self) -> random.Random:
        """A random generator seeded with `seed`. Keep it in an attribute: it is then
        part of the snapshot, so a reloaded strategy continues the same sequence."""
        return random.Random(self.seed)


class Context:
    """What a callback can do besides changing its own state. The SDK owns it and
    reuses it between calls; in tests, `Context()` lets you call `on_tick` directly
    and read `signals`."""

    __slots__ = ("_now_us", "_signals", "_timers")

    def __init__(self) -> None:
        self._now_us = 0
        self._signals: list[Signal] = []
        self._timers = Timers()

    def emit(self, signal: Signal) -> None:
        """Emits a signal. Without `.instrument(token)`, it is for the tick's instrument."""
        self._signals.append(signal)

    @property
    def now_us(self) -> int:
        """The current time by the feed: the tick's timestamp in `on_tick`, the timer's
        due time in `on_timer` (microseconds since the Unix epoch)."""
        return self._now_us

    def set_timer(self, at_us: int, timer_id: int) -> None:
        """Calls `on_timer(timer_id, at_us, ...)` before the first tick whose timestamp
        is >= `at_us`. Setting an id that is pending moves it. Timers are part of the
        snapshot."""
        self._timers.set(at_us, timer_id)

    def cancel_timer(self, timer_id: int) -> bool:
        """Cancels a pending timer; False if there was none with this id."""
        return self._timers.cancel(timer_id)

    def timer(self, timer_id: int) -> Optional[int]:
        """When the pending timer `timer_id` is due, if it is pending."""
        return self._timers.due_of(timer_id)

    def log(self, level: Level, message: str, **fields: object) -> None:
        """Logs through the host (see `alpha_panda.logger`)."""
        log(level, message, **fields)

    @property
    def signals(self) -> list[Signal]:
        """The signals emitted since the SDK (or a test) last took them."""
        return self._signals

    def take_signals(self) -> list[Signal]:
        """Takes the signals emitted so far."""
        s, self._signals = self._signals, []
        return s
