"""Shim of the original `core.schemas.events`: `MarketTick` (imported by strategies as
`MarketData`) and its parts with the attributes, types and keyword constructor of the
original pydantic models, plus `SignalType`, `EventType` and `TradingSignal`.

The adapter makes a `MarketTick` from each SDK tick (`MarketTick.from_tick`): fields are
decoded when first read and kept. Unlike the original runner, which kept only the token,
price, timestamp and symbol, every field of the feed is there. `timestamp`,
`last_trade_time` and `exchange_timestamp` are timezone-aware UTC datetimes; `symbol` is
"" when the feed sent none (as the original runner passed it)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Any, Optional

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class EventType(str, Enum):
    MARKET_TICK = "market_tick"
    TRADING_SIGNAL = "trading_signal"
    VALIDATED_SIGNAL = "validated_signal"
    REJECTED_SIGNAL = "rejected_signal"
    ORDER_PLACED = "order_placed"
    ORDER_FILLED = "order_filled"
    ORDER_FAILED = "order_failed"
    PNL_SNAPSHOT = "pnl_snapshot"
    SYSTEM_ERROR = "system_error"


class SignalType(str, Enum):
    BUY = "BUY"
    SELL = "SELL"
    HOLD = "HOLD"


def _datetime(value: Any) -> Optional[datetime]:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    raise TypeError(f"expected a datetime, got {type(value).__name__}")


def _decimal(value: Any) -> Optional[Decimal]:
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def from_us(us: Optional[int]) -> Optional[datetime]:
    """Microseconds since the epoch as an aware UTC datetime (None outside years 1-9999)."""
    if us is None:
        return None
    try:
        return _EPOCH + timedelta(microseconds=us)
    except OverflowError:
        return None


def _dump(value: Any, mode: str) -> Any:
    if isinstance(value, _Model):
        return value.model_dump(mode=mode)
    if isinstance(value, list):
        return [_dump(v, mode) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v, mode) for k, v in value.items()}
    if mode == "json":
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, datetime):
            return value.isoformat().replace("+00:00", "Z")
        if isinstance(value, Enum):
            return value.value
    return value


class _Model:
    """What strategies use of pydantic's BaseModel: keyword construction with the field
    types coerced, attribute access, `model_dump()`/`dict()`, `model_copy()`, equality."""

    _fields: dict[str, tuple[Any, Any]] = {}  # name -> (converter or None, default)

    def __init__(self, **data: Any):
        for name, (convert, default) in self._fields.items():
            if name in data:
                value = data[name]
            elif default is ...:
                raise TypeError(f"{type(self).__name__}: field `{name}` is required")
            else:
                value = default() if callable(default) else default
            setattr(self, name, convert(value) if convert is not None and value is not None else value)

    def model_dump(self, mode: str = "python", **_: Any) -> dict[str, Any]:
        return {name: _dump(getattr(self, name), mode) for name in self._fields}

    def dict(self, **kwargs: Any) -> dict[str, Any]:
        return self.model_dump(**kwargs)

    def model_copy(self, update: Optional[dict[str, Any]] = None, **_: Any):
        return type(self)(**{**{n: getattr(self, n) for n in self._fields}, **(update or {})})

    copy = model_copy

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._fields)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self._fields)})"


def _level(v: Any) -> "MarketDepthLevel":
    return v if isinstance(v, MarketDepthLevel) else MarketDepthLevel(**v) if isinstance(v, dict) else \
        MarketDepthLevel(price=v[0], quantity=v[1], orders=v[2])


class MarketDepthLevel(_Model):
    _fields = {"price": (_decimal, ...), "quantity": (int, ...), "orders": (int, ...)}


class MarketDepth(_Model):
    _fields = {"buy": (lambda v: [_level(x) for x in v], list),
               "sell": (lambda v: [_level(x) for x in v], list)}


class OHLCData(_Model):
    _fields = {"open": (_decimal, ...), "high": (_decimal, ...), "low": (_decimal, ...),
               "close": (_decimal, ...)}


def _ohlc(v: Any) -> OHLCData:
    return v if isinstance(v, OHLCData) else OHLCData(**v) if isinstance(v, dict) else \
        OHLCData(open=v[0], high=v[1], low=v[2], close=v[3])


def _depth(v: Any) -> MarketDepth:
    return v if isinstance(v, MarketDepth) else MarketDepth(**v)


_TICK_FIELDS: dict[str, tuple[Any, Any]] = {
    "instrument_token": (int, ...),
    "last_price": (_decimal, ...),
    "timestamp": (_datetime, ...),
    "symbol": (str, None),
    "volume_traded": (int, None),
    "last_traded_quantity": (int, None),
    "average_traded_price": (_decimal, None),
    "total_buy_quantity": (int, None),
    "total_sell_quantity": (int, None),
    "change": (_decimal, None),
    "ohlc": (_ohlc, None),
    "oi": (int, None),
    "oi_day_high": (int, None),
    "oi_day_low": (int, None),
    "last_trade_time": (_datetime, None),
    "exchange_timestamp": (_datetime, None),
    "depth": (_depth, None),
    "mode": (str, None),
    "tradable": (bool, None),
}


def _tick_depth(t: Any) -> Optional[MarketDepth]:
    if not t.has_depth:
        return None
    return MarketDepth(buy=[MarketDepthLevel(price=l.price, quantity=l.quantity, orders=l.orders)
                            for l in t.depth_buy],
                       sell=[MarketDepthLevel(price=l.price, quantity=l.quantity, orders=l.orders)
                             for l in t.depth_sell])


# How each field is read from an SDK tick, when a processor first reads it.
_FROM_TICK = {
    "instrument_token": lambda t: t.instrument_token,
    "last_price": lambda t: t.last_price,
    "timestamp": lambda t: from_us(t.timestamp_us),
    "symbol": lambda t: t.symbol if t.symbol is not None else "",
    "volume_traded": lambda t: t.volume_traded,
    "last_traded_quantity": lambda t: t.last_traded_quantity,
    "average_traded_price": lambda t: t.average_traded_price,
    "total_buy_quantity": lambda t: t.total_buy_quantity,
    "total_sell_quantity": lambda t: t.total_sell_quantity,
    "change": lambda t: t.change,
    "ohlc": lambda t: None if t.ohlc is None else OHLCData(open=t.ohlc.open, high=t.ohlc.high,
                                                             low=t.ohlc.low, close=t.ohlc.close),
    "oi": lambda t: t.oi,
    "oi_day_high": lambda t: t.oi_day_high,
    "oi_day_low": lambda t: t.oi_day_low,
    "last_trade_time": lambda t: from_us(t.last_trade_time_us),
    "exchange_timestamp": lambda t: from_us(t.exchange_timestamp_us),
    "depth": _tick_depth,
    "mode": lambda t: None if t.mode is None else t.mode.value,
    "tradable": lambda t: t.tradable,
}


class MarketTick(_Model):
    """A market tick as the original `MarketTick` pydantic model: `instrument_token`,
    `last_price` (Decimal), `timestamp` (datetime, UTC), `symbol`, `volume_traded`,
    `last_traded_quantity`, `average_traded_price`, `total_buy_quantity`,
    `total_sell_quantity`, `change`, `ohlc` (`OHLCData`), `oi`, `oi_day_high`,
    `oi_day_low`, `last_trade_time`, `exchange_timestamp`, `depth` (`MarketDepth`),
    `mode` ("ltp", "quote", "full"), `tradable`. Absent fields are None."""

    _fields = _TICK_FIELDS

    @classmethod
    def from_tick(cls, tick: Any) -> "MarketTick":
        """A view of an SDK tick (detached from its batch): each field is decoded when
        first read."""
        m = cls.__new__(cls)
        m.__dict__["_tick"] = tick.detach()
        return m

    def __getattr__(self, name: str) -> Any:
        tick = self.__dict__.get("_tick")
        read = _FROM_TICK.get(name)
        if tick is None or read is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        value = self.__dict__[name] = read(tick)
        return value

    def __getstate__(self) -> dict[str, Any]:
        # Snapshots keep the values, not the tick's bytes.
        return {name: getattr(self, name) for name in self._fields}


class TradingSignal(_Model):
    _fields = {
        "strategy_id": (str, ...),
        "instrument_token": (int, ...),
        "signal_type": (SignalType, ...),
        "quantity": (int, ...),
        "timestamp": (_datetime, ...),
        "price": (_decimal, None),
        "confidence": (float, None),
        "metadata": (dict, None),
    }


MarketData = MarketTick
