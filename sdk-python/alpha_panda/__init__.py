"""alpha-panda SDK for Python: trading strategies as plain Python classes, tested with
pytest under CPython, built into sandboxed WebAssembly components with componentize-py.

A strategy subclasses `Strategy`; `build_plugin.py` turns its folder into a component
the alpha-panda host loads. The SDK hides the ABI: the host hands ticks over in
batches, the SDK delivers them one by one, fires timers by tick time, tags every signal
with the tick it answers and checks it before it leaves. See README.md.

Layout (bytes -> tick -> strategy call -> signal -> bytes):
- `layout`: the wire's byte layout (offsets, sizes, presence bits).
- `decimals`: exact prices (mantissa, scale) <-> `decimal.Decimal`, and their float.
- `tick`: `Tick` (a lazily decoded view of one record), `TickData` (what tests build),
  `Ohlc`, `DepthLevel`, `TickMode`.
- `batch`: reading a tick batch (`read_batch`, `BatchError`, `RecordError`); writing one.
- `params`: `Params` (typed access, defaults, ranges), `ParamError`.
- `context`: `InitContext` (id, instruments, seed, artifacts) and `Context` (emit, timers, log).
- `artifacts`: `Artifacts`, the manifest's read-only files (bytes, text, JSON).
- `timers`: the deterministic timer queue inside `Context`.
- `strategy`: the `Strategy` base class, `StrategyError`.
- `state`: the default snapshot (the strategy's attributes, pickled).
- `signal`: `Signal` (builder), `Side`, `Emitted` (a checked signal, as it leaves).
- `signal_buffer`: the flat signal buffer (written for the host; read back in tests).
- `runner`: `Runner` (timers, `on_tick`, checks, snapshots), `Output`, `TickError`.
- `logger`: `log` to the host at a `Level`.
- `indicators`: rolling window, SMA, EMA, std-dev, z-score, RSI, Bollinger bands.
- `loader`: which class a strategy folder exports; `load_strategy` for tests.
- `processor`: the adapter that runs a strategy written for the original processor
  interface (`create_<type>_processor`) as a plugin.
- `adapter` / `_component` (hidden): the four WIT calls on plain values / the glue.
"""

from .artifacts import Artifact, Artifacts
from .context import Context, InitContext
from .logger import Level, log
from .params import ParamError, Params
from .runner import Output, Runner, SnapshotError, TickError, TickFailed
from .signal import Emitted, Side, Signal
from .strategy import Strategy, StrategyError
from .tick import DepthLevel, Ohlc, Tick, TickData, TickMode
from .loader import load_strategy
from . import indicators

__all__ = [
    "Context", "DepthLevel", "Emitted", "InitContext", "Level", "Ohlc", "Output", "ParamError",
    "Params", "Runner", "Side", "Signal", "SnapshotError", "Strategy", "StrategyError", "Tick",
    "TickData", "TickError", "TickFailed", "TickMode", "indicators", "load_strategy", "log",
]
