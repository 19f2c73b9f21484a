"""The adapter for strategies written for the original system's processor interface: a
`Strategy` that calls a module's `create_<type>_processor(config)` factory and drives the
processor as the original executor and runner did - with the fixes listed below.

Parameters (the manifest's `[params]`):
- `processor` (text, optional): which factory, `"momentum"` for
  `create_momentum_processor`; needed only when the module has several;
- `shared_history` (boolean, default false): keep one history for all instruments, as
  the original runner did, instead of one per instrument;
- every other parameter goes, as given, into the factory's `config` dict. One the
  factory never reads is refused by name, like an unread parameter of any strategy (a
  typo in a manifest must not silently leave a default in place).

Per tick: ticks of instruments outside the manifest's, or that
`processor.supports_instrument(token)` refuses, are skipped (and not kept). The tick,
as a `core.schemas.events.MarketTick`, is appended to its instrument's history (a deque of
`get_required_history_length()` ticks, at least 1), then
`process_tick(tick, list(history))` is called: the history is oldest first and ends
with the tick. A falsy result or a HOLD is no signal. A BUY or SELL becomes a signal
with the result's quantity, its price as an exact decimal and its confidence, taken as
a percentage when above 1 (divided by 100) and clamped to 0..1 (none if it is not a
number); metadata values become text (JSON for lists and dicts), `reasoning` is
dropped. Results the original validator refused (a type other than BUY/SELL/HOLD, a
quantity below 1, a price or tick price not above 0) are dropped and counted, with a
warning in the log the first time for each reason. An exception from the processor is
an error of its tick, with its message. Histories and the processor's own attributes
are part of the snapshot, so a reload keeps the warm-up (the original runner lost it).
"""

from __future__ import annotations

import json
import math
import sys
from collections import deque
from decimal import Decimal, InvalidOperation
from types import ModuleType
from typing import Any, ClassVar, Optional

from .context import Context, InitContext
from .loader import COMPAT_DIR, processor_factories
from .logger import Level, log
from .params import ParamError, Params
from .signal import Side, Signal
from .strategy import Strategy, describe
from .tick import Tick

if COMPAT_DIR.is_dir() and str(COMPAT_DIR) not in sys.path:
    sys.path.append(str(COMPAT_DIR))

from core.schemas.events import MarketTick  # noqa: E402  (the shims, on the path from here on)

#: The adapter's own parameters; every other one is the factory's config.
RESERVED = ("processor", "shared_history")
_SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}


def normalise_confidence(value: Any) -> Optional[float]:
    """The original runner's rule: above 1 is a percentage; then clamped to 0..1.
    None for a confidence that is not a number."""
    try:
        raw = float(value)
    except (TypeError, ValueError, ArithmeticError):
        return None
    if math.isnan(raw):
        return None
    v = raw / 100.0 if raw > 1.0 else raw
    return min(max(v, 0.0), 1.0)


def metadata_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


class ReadRecorder(dict):
    """The factory's `config`: a dict that records which keys were read (reading all of
    them - iterating, `items()`, `**config`, `dict(config)` - marks all)."""

    def __init__(self, values: dict):
        super().__init__(values)
        self.read: set = set()

    def _all(self) -> None:
        self.read.update(dict.keys(self))

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __contains__(self, key) -> bool:
        self.read.add(key)
        return super().__contains__(key)

    def pop(self, key, *default):
        self.read.add(key)
        return super().pop(key, *default)

    def setdefault(self, key, default=None):
        self.read.add(key)
        return super().setdefault(key, default)

    def __iter__(self):
        self._all()
        return super().__iter__()

    def keys(self):
        self._all()
        return super().keys()

    def items(self):
        self._all()
        return super().items()

    def values(self):
        self._all()
        return super().values()

    def copy(self) -> dict:
        self._all()
        return dict(super().items())

    def __reduce__(self):
        # A processor that keeps its config pickles (and copies) it as a plain dict.
        self._all()
        return (dict, (dict(super().items()),))


class ProcessorStrategy(Strategy):
    """Runs a processor of the original interface (`processor_strategy(module)` makes the
    subclass for one module)."""

    module: ClassVar[ModuleType]

    def init(self, params: Params, ctx: InitContext) -> None:
        choice = params.get_opt("processor", str)
        self.shared_history = params.get_or("shared_history", False)
        config = {name: params.raw(name) for name, _ in params.items() if name not in RESERVED}
        factories = processor_factories(self.module)
        if choice is None and len(factories) == 1:
            choice = next(iter(factories))
        if choice not in factories:
            known = ", ".join(sorted(factories))
            if choice is None:
                raise ParamError("processor", f"the module has several processors: set it to one of {known}")
            raise ParamError("processor", f"no create_{choice}_processor in the module (it has: {known})")
        recorded = ReadRecorder(config)
        try:
            processor = factories[choice](recorded)
        except Exception as e:
            raise ParamError(None, f"create_{choice}_processor(config) failed: {describe(e)}") from None
        unread = [name for name in config if name not in recorded.read]
        if unread:
            known = ", ".join(n for n in config if n in recorded.read) or "none of them"
            raise ParamError(unread[0], f"unknown parameter: create_{choice}_processor did not read it "
                                        f"(it read: {known})")
        if hasattr(processor, "load_model"):
            try:
                if processor.load_model() is False:
                    log(Level.WARN, "processor model not loaded", processor=choice)
            except Exception as e:
                log(Level.WARN, "processor model not loaded", processor=choice, error=describe(e))
        length = processor.get_required_history_length()
        if not isinstance(length, int) or isinstance(length, bool) or length < 0:
            raise ParamError(None, f"get_required_history_length() returned {length!r}, not an integer >= 0")
        self.processor = processor
        self.history_length = max(length, 1)
        self.instruments = tuple(sorted(set(ctx.instruments)))
        self.histories: dict[int, deque] = {}
        self.dropped: dict[str, int] = {}
        self.name = str(processor.get_strategy_name() or choice)
        log(Level.INFO, "processor ready", processor=self.name, history=self.history_length,
            shared_history=self.shared_history)

    def on_tick(self, tick: Tick, out: Context) -> None:
        token = tick.instrument_token
        if self.instruments and token not in self.instruments:
            return
        processor = self.processor
        if not processor.supports_instrument(token):
            return
        key = -1 if self.shared_history else token
        history = self.histories.get(key)
        if history is None:
            history = self.histories[key] = deque(maxlen=self.history_length)
        market_tick = MarketTick.from_tick(tick)
        history.append(market_tick)
        result = processor.process_tick(market_tick, list(history))
        if not result:
            return
        signal = self.signal_of(result, market_tick)
        if signal is not None:
            out.emit(signal)

    def signal_of(self, result: Any, tick: Any) -> Optional[Signal]:
        """The signal a processor's result becomes, or None (HOLD, or refused)."""
        kind = getattr(result, "signal_type", None)
        kind = str(getattr(kind, "value", kind)).upper()
        if kind == "HOLD":
            return None
        side = _SIDES.get(kind)
        if side is None:
            return self._drop(f"signal_type {kind!r} is not BUY, SELL or HOLD")
        quantity = getattr(result, "quantity", None)
        if isinstance(quantity, float) and quantity.is_integer():
            quantity = int(quantity)
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            return self._drop("quantity below 1")
        if not tick.last_price > 0:
            return self._drop("tick price not above 0")
        price = getattr(result, "price", None)
        if price is not None:
            try:
                price = price if isinstance(price, Decimal) else Decimal(str(price))
                positive = price.is_finite() and price > 0
            except (InvalidOperation, ValueError, TypeError):
                positive = False
            if not positive:
                return self._drop("price not above 0")
        signal = Signal(side, quantity)
        if price is not None:
            signal.price_exact(price)
        confidence = normalise_confidence(getattr(result, "confidence", None))
        if confidence is not None:
            signal.confidence(confidence)
        for key, value in (getattr(result, "metadata", None) or {}).items():
            signal.meta(str(key), metadata_text(value))
        return signal

    def _drop(self, reason: str) -> None:
        n = self.dropped.get(reason, 0)
        self.dropped[reason] = n + 1
        if n == 0:
            log(Level.WARN, "processor result dropped (the original runner refused it too)",
                processor=self.name, reason=reason)
        return None


_CLASSES: dict[str, type] = {}


def processor_strategy(module: ModuleType) -> type:
    """The `ProcessorStrategy` subclass that drives `module`'s processor."""
    cls = _CLASSES.get(module.__name__)
    if cls is None or cls.module is not module:
        name = "".join(p.capitalize() for p in module.__name__.strip("_").split("_")) + "Processor"
        cls = _CLASSES[module.__name__] = type(name, (ProcessorStrategy,), {"module": module, "__module__": __name__})
    return cls
