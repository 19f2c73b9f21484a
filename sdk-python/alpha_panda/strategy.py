"""`Strategy`: the one base class an author subclasses, and `StrategyError`, what a
callback raises to fail one tick with a plain message."""

from __future__ import annotations

import os
from types import TracebackType
from typing import Optional

from . import state as _state
from .context import Context, InitContext
from .params import Params
from .tick import Tick


class StrategyError(Exception):
    """A failure a callback reports on purpose: `raise StrategyError("no quote yet")`.
    The tick's signals are dropped and the message is reported as it is. Any other
    exception is reported as `Type: message (file:line in function)`."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class Strategy:
    """A trading strategy: state (its attributes) plus callbacks. The SDK calls them in
    tick order, one at a time; everything a strategy needs to survive a reload or a
    crash is in its attributes.

    Subclass it, set your state in `init` (not `__init__`, which must take no
    arguments), and implement `on_tick`::

        class Momentum(Strategy):
            def init(self, params, ctx):
                self.lookback = params.get_or_in("lookback", 20, min=1)
                self.prices = {}

            def on_tick(self, tick, out):
                ...
                out.emit(Signal.buy(100).price_exact(tick.last_price))
    """

    def init(self, params: Params, ctx: InitContext) -> None:
        """Sets the strategy up from its parameters, before any tick. Read every
        parameter here (an unread one is refused as unknown); refuse bad ones with
        `raise ParamError(name, why)`."""

    def on_tick(self, tick: Tick, out: Context) -> None:
        """Handles one tick. An exception drops the signals this tick produced (they
        never reach the host), is reported as a fault of this tick with its type and
        message, and the next tick comes as usual."""
        raise NotImplementedError(f"{type(self).__name__} does not define on_tick")

    def on_timer(self, timer_id: int, now_us: int, out: Context) -> None:
        """A timer set with `Context.set_timer` is due. Runs before the first tick at or
        after `now_us` (the timer's due time); its signals answer that tick. No-op by
        default."""

    def snapshot(self) -> bytes:
        """The strategy's state as bytes (default: its attributes, pickled)."""
        return _state.dump_attributes(self)

    def restore(self, state: bytes) -> None:
        """Takes over state from `snapshot` bytes, after `init` (default: replace every
        attribute, parameters included). Override to keep the new parameters and take
        only the state."""
        _state.load_attributes(self, state)


# The SDK's own files, as their code objects name them (no os.getcwd(): the sandbox may lack one).
_SDK_DIR = os.path.dirname(__file__) + os.sep


def _where(tb: Optional[TracebackType]) -> Optional[str]:
    """`file:line in function` of the innermost frame outside the SDK."""
    where = None
    while tb is not None:
        code = tb.tb_frame.f_code
        if not code.co_filename.startswith(_SDK_DIR):
            where = f"{os.path.basename(code.co_filename)}:{tb.tb_lineno} in {code.co_name}"
        tb = tb.tb_next
    return where


def describe(exc: BaseException) -> str:
    """How a failure is reported: a `StrategyError`'s message as it is, any other
    exception as `ZeroDivisionError: division by zero (strategy.py:42 in on_tick)`."""
    if isinstance(exc, StrategyError):
        return exc.message
    text = str(exc)
    message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    where = _where(exc.__traceback__)
    return f"{message} ({where})" if where else message
