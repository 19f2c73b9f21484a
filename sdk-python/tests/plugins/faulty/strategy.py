"""Test fixture `faulty`: a strategy that fails on purpose, to show what the host sees.
Buys one of every tick; on a tick whose last price is 0 it divides by it (an uncaught
ZeroDivisionError); with `fail_on_symbol` it raises a StrategyError on that symbol; with
`snapshot = "fail"` its snapshot fails (params are text, so the harness can send them). Each becomes a tick error or a refused snapshot
with its message - never a trap."""

from alpha_panda import Signal, Strategy, StrategyError


class Faulty(Strategy):
    def init(self, params, ctx):
        self.fail_on_symbol = params.get_or("fail_on_symbol", "")
        self.snapshot_mode = params.get_or("snapshot", "ok")
        self.seen = 0

    def on_tick(self, tick, out):
        self.seen += 1
        if self.fail_on_symbol and tick.symbol == self.fail_on_symbol:
            raise StrategyError(f"refusing {tick.symbol}")
        out.emit(Signal.buy(1).meta("inverse", 1 / tick.price))

    def snapshot(self):
        if self.snapshot_mode == "fail":
            self.generator = (x for x in range(3))  # a generator cannot be pickled
        return super().snapshot()
