"""`Rsi`: Wilder's relative strength index."""

from __future__ import annotations

from typing import Optional


class Rsi:
    """Wilder's RSI over `period` price changes.

    The first average gain/loss is the simple mean of the first `period` changes; each
    later one is `(previous * (period - 1) + current) / period`. The first value comes
    with the `period`-th change, i.e. the `period + 1`-th price.
    `RSI = 100 - 100 / (1 + avg_gain / avg_loss)`, and 100 when `avg_loss` is 0.
    """

    __slots__ = ("_period", "_prev", "_changes", "_gain", "_loss")

    def __init__(self, period: int):
        self._period = max(int(period), 1)
        self._prev: Optional[float] = None
        self._changes = 0
        # Sums while seeding (changes < period), averages after.
        self._gain = 0.0
        self._loss = 0.0

    def update(self, price: float) -> Optional[float]:
        """Adds the next price; the RSI once `period` changes have been seen."""
        prev, self._prev = self._prev, price
        if prev is None:
            return None
        change = price - prev
        gain = change if change > 0.0 else 0.0
        loss = -change if change < 0.0 else 0.0
        p = float(self._period)
        if self._changes < self._period:
            self._changes += 1
            self._gain += gain
            self._loss += loss
            if self._changes < self._period:
                return None
            self._gain /= p
            self._loss /= p
        else:
            self._gain = (self._gain * (p - 1.0) + gain) / p
            self._loss = (self._loss * (p - 1.0) + loss) / p
        return self.value

    @property
    def value(self) -> Optional[float]:
        if self._changes < self._period:
            return None
        if self._loss == 0.0:
            return 100.0
        return 100.0 - 100.0 / (1.0 + self._gain / self._loss)

    def __getstate__(self) -> tuple:
        return (self._period, self._prev, self._changes, self._gain, self._loss)

    def __setstate__(self, state: tuple) -> None:
        self._period, self._prev, self._changes, self._gain, self._loss = state
