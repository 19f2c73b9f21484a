"""Sample strategy `momentum_py`: the Rust sample `momentum` (plugins/momentum) in Python,
rule for rule and float for float, so a replay gives the same signals. Buys when an
instrument's price rose by more than `threshold` (a fraction) over its last `lookback`
ticks, sells when it fell by as much.

Shows: typed parameters with defaults and ranges, per-instrument state in a dict of
`RollingWindow`s (snapshotted for free), and a signal carrying the tick's exact price,
a confidence and metadata.

Rule, per tick of instrument `i` once `lookback + 1` prices of `i` were seen:
`m = (price_now - price_lookback_ago) / price_lookback_ago`; `m > threshold` -> BUY
`position_size`, `m < -threshold` -> SELL; confidence `min(1, 5·|m|)`; metadata
`momentum` = `m` with 6 decimals.
"""

from alpha_panda import Context, InitContext, Params, Signal, Strategy, Tick
from alpha_panda.indicators import RollingWindow


class Momentum(Strategy):
    def init(self, params: Params, ctx: InitContext) -> None:
        self.lookback = params.get_or_in("lookback", 20, min=1)
        self.threshold = params.get_or_in("threshold", 0.01, min=0.0)
        self.position_size = params.get_or_in("position_size", 100, min=1)
        # Per instrument, its last `lookback + 1` prices.
        self.prices: dict[int, RollingWindow[float]] = {}

    def on_tick(self, tick: Tick, out: Context) -> None:
        window = self.prices.get(tick.instrument_token)
        if window is None:
            window = self.prices[tick.instrument_token] = RollingWindow(self.lookback + 1)
        window.push(tick.price)
        then, now = window.oldest, window.newest
        if not window.is_full or then <= 0.0:
            return
        m = (now - then) / then
        if m > self.threshold:
            signal = Signal.buy(self.position_size)
        elif m < -self.threshold:
            signal = Signal.sell(self.position_size)
        else:
            return
        out.emit(
            signal.price_exact(tick.last_price)
            .confidence(min(5.0 * abs(m), 1.0))
            .meta("momentum", f"{m:.6f}")
        )
