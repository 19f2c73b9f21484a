"""Sample strategy `mean_reversion_py`: the Rust sample `mean_reversion`
(plugins/mean_reversion) in Python, rule for rule and float for float. Buys an
instrument that is oversold (RSI below 30) and below its lower Bollinger band, sells one
that is overbought (RSI above 70) and above its upper band.

Shows: SDK indicators (`Rsi`, `BollingerBands`) kept per instrument in the strategy's
attributes, so they survive a reload through the default snapshot.

Per tick, the price is fed once to Wilder's RSI(`rsi_period`) and to the bands
(SMA(`lookback`) ± `std_dev` population standard deviations). Quantity
`position_size`. Confidence grows with the distance beyond the band, measured in
half-band widths `w = upper - middle`: `min(1, 0.5 + |price - middle| / w - 1)`, i.e.
0.5 at the band, 1 at 1.5·w from the middle. Metadata: `rsi` (2 decimals) and `band`,
the band crossed (4 decimals).
"""

import math

from alpha_panda import Context, InitContext, ParamError, Params, Signal, Strategy, Tick
from alpha_panda.indicators import BollingerBands, Rsi


class MeanReversion(Strategy):
    def init(self, params: Params, ctx: InitContext) -> None:
        self.lookback = params.get_or_in("lookback", 20, min=2)
        self.rsi_period = params.get_or_in("rsi_period", 14, min=1)
        self.std_dev = params.get_or("std_dev", 2.0)
        self.position_size = params.get_or_in("position_size", 50, min=1)
        if not (math.isfinite(self.std_dev) and self.std_dev > 0.0):
            raise ParamError("std_dev", "must be finite and > 0")
        # Per instrument: its RSI and its bands.
        self.series: dict[int, tuple[Rsi, BollingerBands]] = {}

    def on_tick(self, tick: Tick, out: Context) -> None:
        price = tick.price
        s = self.series.get(tick.instrument_token)
        if s is None:
            s = self.series[tick.instrument_token] = (
                Rsi(self.rsi_period), BollingerBands(self.lookback, self.std_dev))
        rsi, b = s[0].update(price), s[1].update(price)
        if rsi is None or b is None:
            return
        if rsi < 30.0 and price < b.lower:
            signal, band = Signal.buy(self.position_size), b.lower
        elif rsi > 70.0 and price > b.upper:
            signal, band = Signal.sell(self.position_size), b.upper
        else:
            return
        # Strictly beyond a band implies upper > middle, so the ratio is finite.
        beyond = abs(price - b.middle) / (b.upper - b.middle) - 1.0
        out.emit(
            signal.price_exact(tick.last_price)
            .confidence(min(0.5 + beyond, 1.0))
            .meta("rsi", f"{rsi:.2f}")
            .meta("band", f"{band:.4f}")
        )
