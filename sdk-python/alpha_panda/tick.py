"""Ticks as a strategy reads them: `Tick`, a view of one record of the host's batch whose
fields are decoded when read, and `TickData`, the tick tests build field by field; and
the types of their fields (`Ohlc`, `DepthLevel`, `TickMode`)."""

from __future__ import annotations

from dataclasses import dataclass, fields as dataclass_fields
from decimal import Decimal
from enum import Enum
from typing import NamedTuple, Optional

from . import decimals
from .layout import (
    BIT_AVERAGE_TRADED_PRICE, BIT_CHANGE, BIT_DEPTH, BIT_EXCHANGE_TIMESTAMP,
    BIT_LAST_TRADE_TIME, BIT_LAST_TRADED_QUANTITY, BIT_MODE, BIT_OHLC, BIT_OI,
    BIT_OI_DAY_HIGH, BIT_OI_DAY_LOW, BIT_SYMBOL, BIT_TOTAL_BUY_QUANTITY,
    BIT_TOTAL_SELL_QUANTITY, BIT_TRADABLE, BIT_VOLUME_TRADED, I64, I64_MAX, I64_MIN,
    LEVEL, LEVEL_SIZE, OFF_AVERAGE_TRADED_PRICE, OFF_AVERAGE_TRADED_PRICE_SCALE,
    OFF_CHANGE, OFF_CHANGE_SCALE, OFF_CLOSE, OFF_CLOSE_SCALE, OFF_DEPTH_BUY_START,
    OFF_EXCHANGE_TIMESTAMP_US, OFF_HIGH, OFF_HIGH_SCALE, OFF_INSTRUMENT_TOKEN,
    OFF_LAST_PRICE, OFF_LAST_PRICE_SCALE, OFF_LAST_TRADE_TIME_US,
    OFF_LAST_TRADED_QUANTITY, OFF_LOW, OFF_LOW_SCALE, OFF_MODE, OFF_OI, OFF_OI_DAY_HIGH,
    OFF_OI_DAY_LOW, OFF_OPEN, OFF_OPEN_SCALE, OFF_SYMBOL, OFF_TIMESTAMP_US,
    OFF_TOTAL_BUY_QUANTITY, OFF_TOTAL_SELL_QUANTITY, OFF_TRADABLE, OFF_VOLUME_TRADED,
    SPANS, TICK_SIZE, U32, U32_MAX, U64, U64_MAX,
)


class Ohlc(NamedTuple):
    """Open, high, low and close of the day."""

    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


class DepthLevel(NamedTuple):
    """One level of market depth."""

    price: Decimal
    quantity: int
    orders: int


class TickMode(Enum):
    """How much of the market the tick describes."""

    LTP = "ltp"
    QUOTE = "quote"
    FULL = "full"

    @property
    def byte(self) -> int:
        return _MODE_BYTES[self]

    @classmethod
    def from_byte(cls, byte: int) -> Optional["TickMode"]:
        """The mode a record's mode byte names, or None if it names none."""
        return _MODES[byte] if 0 <= byte < 3 else None


_MODES = (TickMode.LTP, TickMode.QUOTE, TickMode.FULL)
_MODE_BYTES = {m: i for i, m in enumerate(_MODES)}


def _dec(data: bytes, at: int, mantissa: int, scale: int) -> Decimal:
    return decimals.to_decimal(I64.unpack_from(data, at + mantissa)[0], data[at + scale])


def _opt_u64(bit: int, off: int, doc: str) -> property:
    def get(self: "Tick") -> Optional[int]:
        if self._presence & bit:
            return U64.unpack_from(self._data, self._at + off)[0]
        return None

    return property(get, doc=doc)


def _opt_i64(bit: int, off: int, doc: str) -> property:
    def get(self: "Tick") -> Optional[int]:
        if self._presence & bit:
            return I64.unpack_from(self._data, self._at + off)[0]
        return None

    return property(get, doc=doc)


def _opt_dec(bit: int, off: int, scale_off: int, doc: str) -> property:
    def get(self: "Tick") -> Optional[Decimal]:
        if self._presence & bit:
            return _dec(self._data, self._at, off, scale_off)
        return None

    return property(get, doc=doc)


class Tick:
    """One market tick: every field of the feed, read from the batch record when the
    attribute is read (a strategy pays only for the fields it uses). An absent
    optional field is None. Times are microseconds since the Unix epoch (UTC).

    The SDK makes these; tests build ticks with `TickData`.
    """

    __slots__ = ("_data", "_at", "_presence", "_symbols", "_levels_at")

    def __init__(self, data: bytes, at: int, presence: int, symbols: list[str], levels_at: int):
        # The record's symbol index and depth spans were checked by the batch reader.
        self._data = data
        self._at = at
        self._presence = presence
        self._symbols = symbols
        self._levels_at = levels_at

    @property
    def instrument_token(self) -> int:
        return U32.unpack_from(self._data, self._at + OFF_INSTRUMENT_TOKEN)[0]

    @property
    def timestamp_us(self) -> int:
        """When the tick happened (the feed's time), in microseconds since the epoch."""
        return I64.unpack_from(self._data, self._at + OFF_TIMESTAMP_US)[0]

    @property
    def last_price(self) -> Decimal:
        """The exact last traded price, with the feed's scale ("2501.50")."""
        return _dec(self._data, self._at, OFF_LAST_PRICE, OFF_LAST_PRICE_SCALE)

    @property
    def price(self) -> float:
        """`last_price` as the nearest float, for arithmetic (the same bits as the Rust SDK's)."""
        data, at = self._data, self._at
        return decimals.to_float(I64.unpack_from(data, at + OFF_LAST_PRICE)[0], data[at + OFF_LAST_PRICE_SCALE])

    @property
    def symbol(self) -> Optional[str]:
        if self._presence & BIT_SYMBOL:
            return self._symbols[U32.unpack_from(self._data, self._at + OFF_SYMBOL)[0]]
        return None

    volume_traded = _opt_u64(BIT_VOLUME_TRADED, OFF_VOLUME_TRADED, "Volume traded today.")
    last_traded_quantity = _opt_u64(BIT_LAST_TRADED_QUANTITY, OFF_LAST_TRADED_QUANTITY, "Quantity of the last trade.")
    average_traded_price = _opt_dec(
        BIT_AVERAGE_TRADED_PRICE, OFF_AVERAGE_TRADED_PRICE, OFF_AVERAGE_TRADED_PRICE_SCALE,
        "Average traded price today.")
    total_buy_quantity = _opt_u64(BIT_TOTAL_BUY_QUANTITY, OFF_TOTAL_BUY_QUANTITY, "Pending buy quantity.")
    total_sell_quantity = _opt_u64(BIT_TOTAL_SELL_QUANTITY, OFF_TOTAL_SELL_QUANTITY, "Pending sell quantity.")
    change = _opt_dec(BIT_CHANGE, OFF_CHANGE, OFF_CHANGE_SCALE, "Change (the feed's percentage).")
    oi = _opt_u64(BIT_OI, OFF_OI, "Open interest.")
    oi_day_high = _opt_u64(BIT_OI_DAY_HIGH, OFF_OI_DAY_HIGH, "Day's highest open interest.")
    oi_day_low = _opt_u64(BIT_OI_DAY_LOW, OFF_OI_DAY_LOW, "Day's lowest open interest.")
    last_trade_time_us = _opt_i64(BIT_LAST_TRADE_TIME, OFF_LAST_TRADE_TIME_US, "Time of the last trade (µs).")
    exchange_timestamp_us = _opt_i64(
        BIT_EXCHANGE_TIMESTAMP, OFF_EXCHANGE_TIMESTAMP_US, "The exchange's time of the tick (µs).")

    @property
    def ohlc(self) -> Optional[Ohlc]:
        if not self._presence & BIT_OHLC:
            return None
        data, at = self._data, self._at
        return Ohlc(
            _dec(data, at, OFF_OPEN, OFF_OPEN_SCALE),
            _dec(data, at, OFF_HIGH, OFF_HIGH_SCALE),
            _dec(data, at, OFF_LOW, OFF_LOW_SCALE),
            _dec(data, at, OFF_CLOSE, OFF_CLOSE_SCALE),
        )

    @property
    def has_depth(self) -> bool:
        """True when the feed sent a depth object (either side may still be empty)."""
        return bool(self._presence & BIT_DEPTH)

    def _levels(self, start: int, n: int) -> list[DepthLevel]:
        lo = self._levels_at + LEVEL_SIZE * start
        return [
            DepthLevel(decimals.to_decimal(m, s), q, o)
            for m, q, o, s in LEVEL.iter_unpack(self._data[lo:lo + LEVEL_SIZE * n])
        ]

    @property
    def depth_buy(self) -> list[DepthLevel]:
        """Bids, best first (empty without depth)."""
        if not self._presence & BIT_DEPTH:
            return []
        start, n, _, _ = SPANS.unpack_from(self._data, self._at + OFF_DEPTH_BUY_START)
        return self._levels(start, n)

    @property
    def depth_sell(self) -> list[DepthLevel]:
        """Offers, best first (empty without depth)."""
        if not self._presence & BIT_DEPTH:
            return []
        _, _, start, n = SPANS.unpack_from(self._data, self._at + OFF_DEPTH_BUY_START)
        return self._levels(start, n)

    @property
    def mode(self) -> Optional[TickMode]:
        if self._presence & BIT_MODE:
            return _MODES[self._data[self._at + OFF_MODE]]
        return None

    @property
    def tradable(self) -> Optional[bool]:
        if self._presence & BIT_TRADABLE:
            return self._data[self._at + OFF_TRADABLE] == 1
        return None

    def detach(self) -> "Tick":
        """The same tick over a copy of just its own bytes (record, levels, symbol):
        keep this, not the tick, if you store ticks, so a whole batch is not kept alive."""
        data, at, presence = self._data, self._at, self._presence
        record = bytearray(data[at:at + TICK_SIZE])
        symbols: list[str] = []
        if presence & BIT_SYMBOL:
            symbols = [self._symbols[U32.unpack_from(data, at + OFF_SYMBOL)[0]]]
            U32.pack_into(record, OFF_SYMBOL, 0)
        levels = b""
        if presence & BIT_DEPTH:
            bs, bn, ss, sn = SPANS.unpack_from(data, at + OFF_DEPTH_BUY_START)
            base = self._levels_at
            levels = (data[base + LEVEL_SIZE * bs:base + LEVEL_SIZE * (bs + bn)]
                      + data[base + LEVEL_SIZE * ss:base + LEVEL_SIZE * (ss + sn)])
            SPANS.pack_into(record, OFF_DEPTH_BUY_START, 0, bn, bn, sn)
        return Tick(bytes(record) + levels, 0, presence, symbols, TICK_SIZE)

    def to_data(self) -> "TickData":
        """Every field, as an owned `TickData`."""
        return TickData(
            instrument_token=self.instrument_token,
            last_price=self.last_price,
            timestamp_us=self.timestamp_us,
            symbol=self.symbol,
            volume_traded=self.volume_traded,
            last_traded_quantity=self.last_traded_quantity,
            average_traded_price=self.average_traded_price,
            total_buy_quantity=self.total_buy_quantity,
            total_sell_quantity=self.total_sell_quantity,
            change=self.change,
            ohlc=self.ohlc,
            oi=self.oi,
            oi_day_high=self.oi_day_high,
            oi_day_low=self.oi_day_low,
            last_trade_time_us=self.last_trade_time_us,
            exchange_timestamp_us=self.exchange_timestamp_us,
            depth=(self.depth_buy, self.depth_sell) if self.has_depth else None,
            mode=self.mode,
            tradable=self.tradable,
        )

    def __reduce__(self):
        # A tick kept in a strategy's state is pickled as its own bytes, not its batch's.
        d = self.detach()
        return (Tick, (d._data, 0, d._presence, d._symbols, TICK_SIZE))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Tick):
            return self.to_data() == other.to_data()
        if isinstance(other, TickData):
            return self.to_data() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"Tick(instrument_token={self.instrument_token}, last_price={self.last_price!r}, "
                f"timestamp_us={self.timestamp_us}, symbol={self.symbol!r})")


def _int_in(name: str, value: object, lo: int, hi: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise ValueError(f"TickData.{name}: {value!r} is not an integer in {lo}..={hi}")
    return value


def _wire_decimal(name: str, value: object) -> Decimal:
    d = decimals.parse(value)
    try:
        decimals.wire_parts(d)
    except (TypeError, ValueError) as e:
        raise ValueError(f"TickData.{name}: {e}") from None
    return d


_U64_FIELDS = ("volume_traded", "last_traded_quantity", "total_buy_quantity",
               "total_sell_quantity", "oi", "oi_day_high", "oi_day_low")
_I64_FIELDS = ("last_trade_time_us", "exchange_timestamp_us")


@dataclass
class TickData:
    """An owned tick, built field by field: what tests feed a strategy.

    `TickData(738561, "2501.55", 1_700_000_000_000_000, symbol="RELIANCE", volume_traded=1200)`.
    Prices may be given as Decimal, text ("2501.50" keeps its scale), int or float
    (taken by its shortest text). `depth` is `(buy_levels, sell_levels)`, each level a
    `DepthLevel` or a `(price, quantity, orders)` tuple. Values the wire cannot carry
    are refused here, so a test cannot feed a tick the host could never send.
    """

    instrument_token: int
    last_price: Decimal
    timestamp_us: int
    symbol: Optional[str] = None
    volume_traded: Optional[int] = None
    last_traded_quantity: Optional[int] = None
    average_traded_price: Optional[Decimal] = None
    total_buy_quantity: Optional[int] = None
    total_sell_quantity: Optional[int] = None
    change: Optional[Decimal] = None
    ohlc: Optional[Ohlc] = None
    oi: Optional[int] = None
    oi_day_high: Optional[int] = None
    oi_day_low: Optional[int] = None
    last_trade_time_us: Optional[int] = None
    exchange_timestamp_us: Optional[int] = None
    depth: Optional[tuple[list[DepthLevel], list[DepthLevel]]] = None
    mode: Optional[TickMode] = None
    tradable: Optional[bool] = None

    def __post_init__(self) -> None:
        _int_in("instrument_token", self.instrument_token, 0, U32_MAX)
        _int_in("timestamp_us", self.timestamp_us, I64_MIN, I64_MAX)
        self.last_price = _wire_decimal("last_price", self.last_price)
        for name in _U64_FIELDS:
            if getattr(self, name) is not None:
                _int_in(name, getattr(self, name), 0, U64_MAX)
        for name in _I64_FIELDS:
            if getattr(self, name) is not None:
                _int_in(name, getattr(self, name), I64_MIN, I64_MAX)
        for name in ("average_traded_price", "change"):
            if getattr(self, name) is not None:
                setattr(self, name, _wire_decimal(name, getattr(self, name)))
        if self.ohlc is not None:
            self.ohlc = Ohlc(*(_wire_decimal("ohlc", p) for p in self.ohlc))
        if self.depth is not None:
            buy, sell = self.depth
            self.depth = (self._levels(buy), self._levels(sell))
        if self.mode is not None and not isinstance(self.mode, TickMode):
            self.mode = TickMode(self.mode)
        if self.tradable is not None and not isinstance(self.tradable, bool):
            raise ValueError(f"TickData.tradable: {self.tradable!r} is not a bool")
        if self.symbol is not None and not isinstance(self.symbol, str):
            raise ValueError(f"TickData.symbol: {self.symbol!r} is not a str")

    @staticmethod
    def _levels(levels: object) -> list[DepthLevel]:
        out = []
        for level in levels:  # type: ignore[attr-defined]
            price, quantity, orders = level
            out.append(DepthLevel(_wire_decimal("depth price", price),
                                  _int_in("depth quantity", quantity, 0, U64_MAX),
                                  _int_in("depth orders", orders, 0, U32_MAX)))
        return out

    @property
    def price(self) -> float:
        return decimals.to_float(*decimals.wire_parts(self.last_price))

    def as_tick(self) -> Tick:
        """The `Tick` a strategy's `on_tick` receives: this tick written into a batch of
        one and read back, through the same code the component uses."""
        from . import batch

        return batch.one_tick(self)

    def replace(self, **changes: object) -> "TickData":
        """A copy with some fields changed."""
        values = {f.name: getattr(self, f.name) for f in dataclass_fields(self)}
        values.update(changes)
        return TickData(**values)  # type: ignore[arg-type]
