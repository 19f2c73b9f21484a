"""`Tick` and `TickData`: every field, detaching, pickling, refused values; the layout
constants against the WIT's tables."""

from __future__ import annotations

import pickle
import re
from decimal import Decimal, localcontext

import pytest

from alpha_panda import DepthLevel, Ohlc, TickData, TickMode, decimals, layout
from alpha_panda.batch import read_batch, write_batch

from sdk_paths import REPO


def full() -> TickData:
    return TickData(
        7, "10.55", 42, symbol="X", volume_traded=1, last_traded_quantity=2,
        average_traded_price="10.1", total_buy_quantity=3, total_sell_quantity=4, change="-0.2",
        ohlc=("1", "2", "0.5", "1.50"), oi=5, oi_day_high=6, oi_day_low=7, last_trade_time_us=40,
        exchange_timestamp_us=41, depth=([("10.5", 3, 1)], []), mode=TickMode.FULL, tradable=True)


def test_tick_view_exposes_every_field():
    t = full().as_tick()
    assert t.instrument_token == 7
    assert str(t.last_price) == "10.55" and t.price == 10.55
    assert t.timestamp_us == 42 and t.symbol == "X"
    assert (t.volume_traded, t.last_traded_quantity) == (1, 2)
    assert t.average_traded_price == Decimal("10.1")
    assert (t.total_buy_quantity, t.total_sell_quantity) == (3, 4)
    assert t.change == Decimal("-0.2")
    assert t.ohlc == Ohlc(Decimal(1), Decimal(2), Decimal("0.5"), Decimal("1.5"))
    assert str(t.ohlc.close) == "1.50"
    assert (t.oi, t.oi_day_high, t.oi_day_low) == (5, 6, 7)
    assert (t.last_trade_time_us, t.exchange_timestamp_us) == (40, 41)
    assert t.has_depth and t.depth_buy == [DepthLevel(Decimal("10.5"), 3, 1)] and t.depth_sell == []
    assert (t.mode, t.tradable) == (TickMode.FULL, True)
    bare = TickData(1, "1", 0).as_tick()
    assert not bare.has_depth and bare.symbol is None and bare.mode is None and bare.ohlc is None
    assert bare.depth_buy == [] and bare.volume_traded is None


def test_prices_are_exact_whatever_the_decimal_context():
    with localcontext() as ctx:
        ctx.prec = 3
        t = TickData(1, "2501.55", 0).as_tick()
        assert str(t.last_price) == "2501.55"
    assert decimals.to_float(250155, 2) == 2501.55
    assert decimals.text(-5, 3) == "-0.005" and decimals.text(0, 2) == "0.00"


def test_detached_and_pickled_ticks_keep_every_field_without_the_batch():
    a, b = TickData(1, "5", 0, symbol="A", depth=([("1", 1, 1)], [("2", 2, 2)])), full()
    count, data, symbols = write_batch([a, b])
    t = read_batch(count, data, symbols).tick(1)
    d = t.detach()
    assert len(d._data) == layout.TICK_SIZE + layout.LEVEL_SIZE and d._symbols == ["X"]
    assert d.to_data() == b == t
    back = pickle.loads(pickle.dumps(t))
    assert back.to_data() == b and len(back._data) < len(data)


@pytest.mark.parametrize("fields, problem", [
    (dict(instrument_token=-1), "instrument_token"),
    (dict(instrument_token=2**32), "instrument_token"),
    (dict(last_price="1e-300"), "more than 255 decimal places"),
    (dict(last_price=Decimal(2**64)), "more than 64 bits"),
    (dict(volume_traded=-1), "volume_traded"),
    (dict(tradable=1), "tradable"),
])
def test_tick_data_refuses_what_the_wire_cannot_carry(fields, problem):
    with pytest.raises(ValueError, match=problem):
        TickData(**{"instrument_token": 1, "last_price": "1", "timestamp_us": 0, **fields})


def test_float_prices_are_taken_by_their_text():
    assert str(TickData(1, 2501.55, 0).last_price) == "2501.55"
    assert full().replace(symbol="Y").symbol == "Y"


def wit_rows(heading: str) -> list[tuple[int, int]]:
    """The (offset, size) rows of the WIT table after `heading`."""
    wit = (REPO / "wit" / "strategy.wit").read_text()
    lines = [l.strip().removeprefix("///").strip() for l in wit[wit.index(heading):].splitlines()[1:]]
    while not lines[0].startswith("|"):
        lines.pop(0)
    rows = []
    for l in lines:
        if not l.startswith("|"):
            break
        cells = [c.strip() for c in l.split("|")]
        if re.fullmatch(r"\d+", cells[1]):
            size = cells[2].split()[0]
            rows.append((int(cells[1]), int(size) if size.isdigit() else -1))
    return rows


def test_the_wit_tables_match_the_layout():
    L = layout
    assert [a for a, _ in wit_rows("Tick record (176 bytes)")] == [
        L.OFF_PRESENCE, L.OFF_INSTRUMENT_TOKEN, L.OFF_TIMESTAMP_US, L.OFF_LAST_PRICE,
        L.OFF_AVERAGE_TRADED_PRICE, L.OFF_CHANGE, L.OFF_OPEN, L.OFF_HIGH, L.OFF_LOW, L.OFF_CLOSE,
        L.OFF_VOLUME_TRADED, L.OFF_LAST_TRADED_QUANTITY, L.OFF_TOTAL_BUY_QUANTITY,
        L.OFF_TOTAL_SELL_QUANTITY, L.OFF_OI, L.OFF_OI_DAY_HIGH, L.OFF_OI_DAY_LOW,
        L.OFF_LAST_TRADE_TIME_US, L.OFF_EXCHANGE_TIMESTAMP_US, L.OFF_SYMBOL, L.OFF_DEPTH_BUY_START,
        L.OFF_DEPTH_BUY_START + 4, L.OFF_DEPTH_SELL_START, L.OFF_DEPTH_SELL_START + 4,
        L.OFF_LAST_PRICE_SCALE, L.OFF_AVERAGE_TRADED_PRICE_SCALE, L.OFF_CHANGE_SCALE,
        L.OFF_OPEN_SCALE, L.OFF_HIGH_SCALE, L.OFF_LOW_SCALE, L.OFF_CLOSE_SCALE, L.OFF_MODE,
        L.OFF_TRADABLE, 173]
    assert wit_rows("Depth level record (24 bytes)") == [
        (L.LEVEL_OFF_PRICE, 8), (L.LEVEL_OFF_QUANTITY, 8), (L.LEVEL_OFF_ORDERS, 4),
        (L.LEVEL_OFF_PRICE_SCALE, 1), (21, 3)]
    assert [a for a, _ in wit_rows("Signal record (48 bytes)")] == [
        L.SIG_OFF_TICK_INDEX, L.SIG_OFF_INSTRUMENT_TOKEN, L.SIG_OFF_QUANTITY, L.SIG_OFF_PRICE,
        L.SIG_OFF_CONFIDENCE, L.SIG_OFF_META_PAIRS, L.SIG_OFF_META_BYTES, L.SIG_OFF_SIDE,
        L.SIG_OFF_PRICE_KIND, L.SIG_OFF_PRICE_SCALE, L.SIG_OFF_HAS_CONFIDENCE, 44]
