"""Test fixture `faulty`: a strategy that fails on purpose, to show what the host sees.
Buys one of every tick; on a tick whose last price is 0 it divides by it (an uncaught
ZeroDivisionError); with `fail_on_symbol` it raises a StrategyError on that symbol; with
`snapshot = "fail"` its snapshot fails (params are text, so the harness can send them);
with `recurse = N` every tick recurses N calls deep; with `hog = N` every tick tries to
allocate N MiB (the host allows 64). Each becomes a tick error or a refused snapshot
with its message - never a trap."""

from alpha_panda import Signal, Strategy, StrategyError


def depth(n: int) -> int:
    return 0 if n == 0 else 1 + depth(n - 1)


class Faulty(Strategy):
    def init(self, params, ctx):
        self.fail_on_symbol = params.get_or("fail_on_symbol", "")
        self.snapshot_mode = params.get_or("snapshot", "ok")
        self.recurse = params.get_or("recurse", 0)
        self.hog = params.get_or("hog", 0)
        self.seen = 0

    def on_tick(self, tick, out):
        self.seen += 1
        if self.recurse:
            depth(self.recurse)
        if self.hog:
            blocks = [bytearray(1 << 20) for _ in range(self.hog)]
            del blocks
        if self.fail_on_symbol and tick.symbol == self.fail_on_symbol:
            raise StrategyError(f"refusing {tick.symbol}")
        out.emit(Signal.buy(1).meta("inverse", 1 / tick.price))

    def snapshot(self):
        if self.snapshot_mode == "fail":
            self.generator = (x for x in range(3))  # a generator cannot be pickled
        return super().snapshot()
