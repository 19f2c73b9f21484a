"""`Sma` and `Ema`: moving averages."""

from __future__ import annotations

from typing import Optional

from .window import RollingWindow, fsum_left


class Sma:
    """Simple moving average of the last `period` values.

    Keeps a running sum, re-added from the window every `period` updates so rounding
    does not drift: O(1) per update.
    """

    __slots__ = ("_window", "_sum", "_since_resum")

    def __init__(self, period: int):
        self._window: RollingWindow[float] = RollingWindow(period)
        self._sum = 0.0
        self._since_resum = 0

    def update(self, x: float) -> Optional[float]:
        """Adds `x`; the mean of the last `period` values once there are that many."""
        evicted = self._window.push(x)
        self._since_resum += 1
        if self._since_resum >= self._window.capacity:
            self._sum = fsum_left(self._window)
            self._since_resum = 0
        else:
            self._sum += x - (0.0 if evicted is None else evicted)
        return self.value

    @property
    def value(self) -> Optional[float]:
        w = self._window
        return self._sum / float(w.capacity) if w.is_full else None

    @property
    def period(self) -> int:
        return self._window.capacity

    def __getstate__(self) -> tuple:
        return (self._window, self._sum, self._since_resum)

    def __setstate__(self, state: tuple) -> None:
        self._window, self._sum, self._since_resum = state


class Ema:
    """Exponential moving average with `alpha = 2 / (period + 1)`.

    Seeded with the simple mean of the first `period` values, which is also its first
    value; each later value is `alpha * x + (1 - alpha) * previous`.
    """

    __slots__ = ("_period", "_alpha", "_seen", "_seed_sum", "_value")

    def __init__(self, period: int):
        self._period = max(int(period), 1)
        self._alpha = 2.0 / (float(self._period) + 1.0)
        self._seen = 0
        self._seed_sum = 0.0
        self._value: Optional[float] = None

    def update(self, x: float) -> Optional[float]:
        """Adds `x`; the average from the `period`-th value on."""
        prev = self._value
        if prev is not None:
            self._value = self._alpha * x + (1.0 - self._alpha) * prev
        else:
            self._seen += 1
            self._seed_sum += x
            if self._seen == self._period:
                self._value = self._seed_sum / float(self._period)
        return self._value

    @property
    def value(self) -> Optional[float]:
        return self._value

    @property
    def alpha(self) -> float:
        return self._alpha

    def __getstate__(self) -> tuple:
        return (self._period, self._alpha, self._seen, self._seed_sum, self._value)

    def __setstate__(self, state: tuple) -> None:
        self._period, self._alpha, self._seen, self._seed_sum, self._value = state
