"""A tick batch on the wire: `read_batch` checks the host's `data` (count records, then
whole level records) and yields each record as a `Tick`, or the `RecordError` that
keeps it from being read; `BatchWriter` writes ticks into a batch in the canonical
form (what the host writes; tests and tools use it)."""

from __future__ import annotations

from typing import Iterator, Union

from . import decimals
from .layout import (
    BIT_AVERAGE_TRADED_PRICE, BIT_CHANGE, BIT_DEPTH, BIT_EXCHANGE_TIMESTAMP,
    BIT_LAST_TRADE_TIME, BIT_LAST_TRADED_QUANTITY, BIT_MODE, BIT_OHLC, BIT_OI,
    BIT_OI_DAY_HIGH, BIT_OI_DAY_LOW, BIT_SYMBOL, BIT_TOTAL_BUY_QUANTITY,
    BIT_TOTAL_SELL_QUANTITY, BIT_TRADABLE, BIT_VOLUME_TRADED, BITS_KNOWN, I64, LEVEL,
    LEVEL_SIZE, OFF_AVERAGE_TRADED_PRICE, OFF_AVERAGE_TRADED_PRICE_SCALE, OFF_CHANGE,
    OFF_CHANGE_SCALE, OFF_CLOSE, OFF_CLOSE_SCALE, OFF_DEPTH_BUY_START,
    OFF_EXCHANGE_TIMESTAMP_US, OFF_HIGH, OFF_HIGH_SCALE, OFF_LAST_PRICE_SCALE,
    OFF_LAST_TRADE_TIME_US, OFF_LAST_TRADED_QUANTITY, OFF_LOW, OFF_LOW_SCALE, OFF_MODE,
    OFF_OI, OFF_OI_DAY_HIGH, OFF_OI_DAY_LOW, OFF_OPEN, OFF_OPEN_SCALE, OFF_SYMBOL,
    OFF_TOTAL_BUY_QUANTITY, OFF_TOTAL_SELL_QUANTITY, OFF_TRADABLE, OFF_VOLUME_TRADED,
    SPANS, TICK_HEAD, TICK_SIZE, U32, U64,
)
from .tick import Tick, TickData


class BatchError(Exception):
    """A batch that cannot be read at all: every tick of it fails. `kind` is the
    golden vectors' name for it (`short_data`, `bad_level_region`)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class RecordError(Exception):
    """A tick record that cannot be read: that tick fails, the others run. `kind`:
    `reserved_presence_bit`, `symbol_out_of_range`, `depth_span_out_of_range`,
    `bad_mode`, `bad_tradable`."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class Batch:
    """A batch whose shape is checked: `count` records, then whole level records."""

    __slots__ = ("count", "data", "symbols", "levels_at", "levels")

    def __init__(self, count: int, data: bytes, symbols: list[str]):
        need = TICK_SIZE * count
        if need > len(data):
            raise BatchError(
                "short_data",
                f"malformed tick batch: {count} ticks of {TICK_SIZE} bytes do not fit in "
                f"{len(data)} bytes of data")
        rest = len(data) - need
        if rest % LEVEL_SIZE:
            raise BatchError(
                "bad_level_region",
                f"malformed tick batch: the depth region is {rest} bytes, not a multiple of {LEVEL_SIZE}")
        self.count = count
        self.data = data
        self.symbols = symbols
        self.levels_at = need
        self.levels = rest // LEVEL_SIZE

    def tick(self, index: int) -> Tick:
        """Tick `index`, checked; raises `RecordError`."""
        at = TICK_SIZE * index
        data = self.data
        presence = U32.unpack_from(data, at)[0]
        if presence & ~BITS_KNOWN:
            raise RecordError("reserved_presence_bit",
                              f"malformed tick: presence {presence:#x} sets reserved bits")
        if presence & BIT_MODE and data[at + OFF_MODE] > 2:
            raise RecordError("bad_mode", f"malformed tick: mode {data[at + OFF_MODE]} (0-2 are defined)")
        if presence & BIT_TRADABLE and data[at + OFF_TRADABLE] > 1:
            raise RecordError("bad_tradable",
                              f"malformed tick: tradable {data[at + OFF_TRADABLE]} (0 or 1)")
        if presence & BIT_SYMBOL:
            index_ = U32.unpack_from(data, at + OFF_SYMBOL)[0]
            if index_ >= len(self.symbols):
                raise RecordError(
                    "symbol_out_of_range",
                    f"malformed tick: symbol index {index_}, but the batch has {len(self.symbols)} symbols")
        if presence & BIT_DEPTH:
            bs, bn, ss, sn = SPANS.unpack_from(data, at + OFF_DEPTH_BUY_START)
            for side, start, n in (("buy", bs, bn), ("sell", ss, sn)):
                if start + n > self.levels:
                    raise RecordError(
                        "depth_span_out_of_range",
                        f"malformed tick: depth {side} levels {start}+{n}, but the batch has "
                        f"{self.levels} levels")
        return Tick(data, at, presence, self.symbols, self.levels_at)

    def ticks(self) -> Iterator[Union[Tick, RecordError]]:
        """Each tick in feed order, or why its record cannot be read."""
        for i in range(self.count):
            try:
                yield self.tick(i)
            except RecordError as e:
                yield e


def read_batch(count: int, data: bytes, symbols: list[str]) -> Batch:
    """Checks a WIT `tick-batch`; raises `BatchError` if it cannot be read at all."""
    return Batch(count, data, symbols)


class BatchWriter:
    """Builds a batch in the canonical form, tick by tick: symbols stored once in order
    of first use; each tick's buy levels, then its sell levels, appended in tick order;
    absent fields and padding zero. Gives the bytes the host's builder gives."""

    def __init__(self) -> None:
        self._records = bytearray()
        self._levels = bytearray()
        self._symbols: list[str] = []
        self._symbol_index: dict[str, int] = {}

    def push(self, t: TickData) -> None:
        rec = bytearray(TICK_SIZE)
        presence = 0
        m, s = decimals.wire_parts(t.last_price)
        TICK_HEAD.pack_into(rec, 0, 0, t.instrument_token, t.timestamp_us, m)
        rec[OFF_LAST_PRICE_SCALE] = s
        if t.symbol is not None:
            index = self._symbol_index.get(t.symbol)
            if index is None:
                index = self._symbol_index[t.symbol] = len(self._symbols)
                self._symbols.append(t.symbol)
            U32.pack_into(rec, OFF_SYMBOL, index)
            presence |= BIT_SYMBOL
        for bit, off, value in (
            (BIT_VOLUME_TRADED, OFF_VOLUME_TRADED, t.volume_traded),
            (BIT_LAST_TRADED_QUANTITY, OFF_LAST_TRADED_QUANTITY, t.last_traded_quantity),
            (BIT_TOTAL_BUY_QUANTITY, OFF_TOTAL_BUY_QUANTITY, t.total_buy_quantity),
            (BIT_TOTAL_SELL_QUANTITY, OFF_TOTAL_SELL_QUANTITY, t.total_sell_quantity),
            (BIT_OI, OFF_OI, t.oi),
            (BIT_OI_DAY_HIGH, OFF_OI_DAY_HIGH, t.oi_day_high),
            (BIT_OI_DAY_LOW, OFF_OI_DAY_LOW, t.oi_day_low),
        ):
            if value is not None:
                U64.pack_into(rec, off, value)
                presence |= bit
        for bit, off, value in (
            (BIT_LAST_TRADE_TIME, OFF_LAST_TRADE_TIME_US, t.last_trade_time_us),
            (BIT_EXCHANGE_TIMESTAMP, OFF_EXCHANGE_TIMESTAMP_US, t.exchange_timestamp_us),
        ):
            if value is not None:
                I64.pack_into(rec, off, value)
                presence |= bit
        decs = [(BIT_AVERAGE_TRADED_PRICE, OFF_AVERAGE_TRADED_PRICE, OFF_AVERAGE_TRADED_PRICE_SCALE,
                 t.average_traded_price),
                (BIT_CHANGE, OFF_CHANGE, OFF_CHANGE_SCALE, t.change)]
        if t.ohlc is not None:
            o = t.ohlc
            decs += [(BIT_OHLC, OFF_OPEN, OFF_OPEN_SCALE, o.open), (BIT_OHLC, OFF_HIGH, OFF_HIGH_SCALE, o.high),
                     (BIT_OHLC, OFF_LOW, OFF_LOW_SCALE, o.low), (BIT_OHLC, OFF_CLOSE, OFF_CLOSE_SCALE, o.close)]
        for bit, off, scale_off, value in decs:
            if value is not None:
                m, s = decimals.wire_parts(value)
                I64.pack_into(rec, off, m)
                rec[scale_off] = s
                presence |= bit
        if t.depth is not None:
            buy, sell = t.depth
            start = len(self._levels) // LEVEL_SIZE
            for level in (*buy, *sell):
                m, s = decimals.wire_parts(level.price)
                self._levels += LEVEL.pack(m, level.quantity, level.orders, s)
            SPANS.pack_into(rec, OFF_DEPTH_BUY_START, start, len(buy), start + len(buy), len(sell))
            presence |= BIT_DEPTH
        if t.mode is not None:
            rec[OFF_MODE] = t.mode.byte
            presence |= BIT_MODE
        if t.tradable is not None:
            rec[OFF_TRADABLE] = 1 if t.tradable else 0
            presence |= BIT_TRADABLE
        U32.pack_into(rec, 0, presence)
        self._records += rec

    def finish(self) -> tuple[int, bytes, list[str]]:
        """`(count, data, symbols)`: the three fields of a WIT `tick-batch`."""
        return len(self._records) // TICK_SIZE, bytes(self._records + self._levels), list(self._symbols)


def write_batch(ticks: list[TickData]) -> tuple[int, bytes, list[str]]:
    """`(count, data, symbols)` of a canonical batch of `ticks`."""
    w = BatchWriter()
    for t in ticks:
        w.push(t)
    return w.finish()


def one_tick(t: TickData) -> Tick:
    """`t` written into a batch of one and read back."""
    count, data, symbols = write_batch([t])
    return Batch(count, data, symbols).tick(0)
