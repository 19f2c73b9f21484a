"""`StdDev`, `ZScore`, `BollingerBands`: spread of the last N values (population statistics)."""

from __future__ import annotations

import math
from typing import NamedTuple, Optional

from .window import RollingWindow, fsum_left


def _mean_sd(window: RollingWindow[float]) -> Optional[tuple[float, float]]:
    """Mean and population standard deviation of a full window (two passes). O(period)."""
    if not window.is_full:
        return None
    n = float(len(window))
    mean = fsum_left(window) / n
    var = fsum_left((x - mean) * (x - mean) for x in window) / n
    return mean, math.sqrt(var)


class StdDev:
    """Population standard deviation (divides by N) of the last `period` values."""

    __slots__ = ("_window",)

    def __init__(self, period: int):
        self._window: RollingWindow[float] = RollingWindow(period)

    def update(self, x: float) -> Optional[float]:
        self._window.push(x)
        r = _mean_sd(self._window)
        return None if r is None else r[1]

    def __getstate__(self) -> tuple:
        return (self._window,)

    def __setstate__(self, state: tuple) -> None:
        (self._window,) = state


class ZScore:
    """How many (population) standard deviations `x` is from the mean of the last
    `period` values, `x` included; 0 when they are all equal."""

    __slots__ = ("_window",)

    def __init__(self, period: int):
        self._window: RollingWindow[float] = RollingWindow(period)

    def update(self, x: float) -> Optional[float]:
        self._window.push(x)
        r = _mean_sd(self._window)
        if r is None:
            return None
        mean, sd = r
        return (x - mean) / sd if sd > 0.0 else 0.0

    def __getstate__(self) -> tuple:
        return (self._window,)

    def __setstate__(self, state: tuple) -> None:
        (self._window,) = state


class Bands(NamedTuple):
    """One reading of `BollingerBands`."""

    lower: float
    middle: float
    upper: float


class BollingerBands:
    """Bollinger bands: `middle` = SMA(period), `upper`/`lower` = middle ± k · population
    standard deviation, over the last `period` values (the current one included)."""

    __slots__ = ("_window", "_k")

    def __init__(self, period: int, k: float):
        self._window: RollingWindow[float] = RollingWindow(period)
        self._k = float(k)

    def update(self, x: float) -> Optional[Bands]:
        self._window.push(x)
        r = _mean_sd(self._window)
        if r is None:
            return None
        middle, sd = r
        return Bands(middle - self._k * sd, middle, middle + self._k * sd)

    def __getstate__(self) -> tuple:
        return (self._window, self._k)

    def __setstate__(self, state: tuple) -> None:
        self._window, self._k = state
