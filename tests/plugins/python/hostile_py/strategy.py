"""A Python test plugin that misbehaves on purpose; the manifest's `mode` picks how:
- `counter`: one BUY of 1 per tick with `count` (ticks seen, across reloads) and
  `version` (a parameter) in its metadata;
- `raise`: like `counter`, but raises ValueError on the tick whose time is `at_us`
  (every tick if -1): a tick error with its message, never a trap;
- `loop`: like `counter`, but loops forever on that tick (the host's deadline
  traps it, and the slot rebuilds the instance from its snapshot)."""

from alpha_panda import Context, InitContext, Params, Signal, Strategy, Tick


class Hostile(Strategy):
    def init(self, params: Params, ctx: InitContext) -> None:
        self.mode = params.get_or("mode", "counter")
        self.at_us = params.get_or("at_us", -1)
        self.version = params.get_or("version", 0)
        self.count = 0

    def snapshot(self) -> bytes:
        # Only the count, so a reload keeps its new parameters.
        return self.count.to_bytes(8, "little")

    def restore(self, state: bytes) -> None:
        self.count = int.from_bytes(state, "little")

    def on_tick(self, tick: Tick, out: Context) -> None:
        self.count += 1
        hit = self.at_us < 0 or tick.timestamp_us == self.at_us
        if hit and self.mode == "raise":
            raise ValueError(f"hostile_py refuses the tick at {tick.timestamp_us}")
        if hit and self.mode == "loop":
            while True:
                pass
        out.emit(
            Signal.buy(1)
            .price_exact(tick.last_price)
            .meta("count", self.count)
            .meta("version", self.version)
        )
