"""Streaming indicators, the Rust SDK's (same arithmetic, same bits): feed one value at a
time with `update(x)`, which returns None until the indicator has seen enough values.
All pickle, so a strategy that keeps them in its attributes gets them in its snapshot.
A period of 0 is taken as 1 (validate your parameters in `init`).

- `RollingWindow`: the last N values (what the others are built on).
- `Sma`, `Ema`: simple and exponential moving averages.
- `StdDev`, `ZScore`, `BollingerBands` (`Bands`): dispersion over a window (population).
- `Rsi`: Wilder's relative strength index.
"""

from .average import Ema, Sma
from .dispersion import Bands, BollingerBands, StdDev, ZScore
from .rsi import Rsi
from .window import RollingWindow

__all__ = ["Bands", "BollingerBands", "Ema", "Rsi", "RollingWindow", "Sma", "StdDev", "ZScore"]
