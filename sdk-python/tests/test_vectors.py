"""The SDK against the golden vectors every SDK shares (`vectors/`): each tick batch
decodes to exactly its JSON (every field, failures by kind), each canonical one encodes
back to its bytes; each valid signal JSON encodes to exactly its bytes and the bytes
decode back to it; bad signal buffers fail by kind."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from alpha_panda import decimals
from alpha_panda.batch import BatchError, read_batch, write_batch
from alpha_panda.signal import Emitted, Side
from alpha_panda.signal_buffer import SignalBufferError, read_signals, write_signals
from alpha_panda.tick import Tick

from sdk_paths import VECTORS

TICKS = sorted((VECTORS / "ticks").glob("*.json"))
SIGNALS = sorted((VECTORS / "signals").glob("*.json"))


def test_every_vector_is_found():
    assert len(TICKS) >= 14 and len(SIGNALS) >= 11


def dec(d: Decimal | None) -> str | None:
    return None if d is None else decimals.text(*decimals.wire_parts(d))


def tick_json(t: Tick) -> dict:
    """A tick as the golden vectors spell its meaning."""
    def levels(ls):
        return [{"price": dec(l.price), "quantity": l.quantity, "orders": l.orders} for l in ls]

    o = t.ohlc
    return {
        "instrument_token": t.instrument_token,
        "timestamp_us": t.timestamp_us,
        "last_price": dec(t.last_price),
        "volume_traded": t.volume_traded,
        "last_traded_quantity": t.last_traded_quantity,
        "average_traded_price": dec(t.average_traded_price),
        "total_buy_quantity": t.total_buy_quantity,
        "total_sell_quantity": t.total_sell_quantity,
        "change": dec(t.change),
        "ohlc": None if o is None else {"open": dec(o.open), "high": dec(o.high), "low": dec(o.low),
                                        "close": dec(o.close)},
        "oi": t.oi,
        "oi_day_high": t.oi_day_high,
        "oi_day_low": t.oi_day_low,
        "last_trade_time_us": t.last_trade_time_us,
        "exchange_timestamp_us": t.exchange_timestamp_us,
        "symbol": t.symbol,
        "depth": {"buy": levels(t.depth_buy), "sell": levels(t.depth_sell)} if t.has_depth else None,
        "mode": None if t.mode is None else t.mode.value,
        "tradable": t.tradable,
    }


@pytest.mark.parametrize("path", TICKS, ids=lambda p: p.stem)
def test_tick_vector_decodes_to_its_json(path: Path):
    meaning = json.loads(path.read_text())
    data = path.with_suffix(".bin").read_bytes()
    try:
        batch = read_batch(meaning["count"], data, meaning["symbols"])
    except BatchError as e:
        assert meaning.get("error") == e.kind, str(e)
        return
    assert "error" not in meaning
    got = [{"error": t.kind} if isinstance(t, Exception) else tick_json(t) for t in batch.ticks()]
    assert got == meaning["ticks"]
    # Every tick also survives detaching from its batch and pickling.
    for t in batch.ticks():
        if isinstance(t, Tick):
            assert tick_json(t.detach()) == tick_json(t)
            assert tick_json(t.to_data().as_tick()) == tick_json(t)


@pytest.mark.parametrize("path", [p for p in TICKS if json.loads(p.read_text()).get("canonical")],
                         ids=lambda p: p.stem)
def test_canonical_tick_vector_encodes_to_its_bytes(path: Path):
    meaning = json.loads(path.read_text())
    data = path.with_suffix(".bin").read_bytes()
    ticks = [t.to_data() for t in read_batch(meaning["count"], data, meaning["symbols"]).ticks()]
    assert write_batch(ticks) == (meaning["count"], data, meaning["symbols"])


def emitted_from_json(s: dict) -> Emitted:
    price = s["price"]
    if price is not None:
        price = Decimal(price["exact"]) if "exact" in price else float(price["approx"])
    return Emitted(s["tick_index"], s["instrument_token"], Side(s["side"]), s["quantity"], price,
                   None if s["confidence"] is None else float(s["confidence"]),
                   [tuple(p) for p in s["metadata"]])


@pytest.mark.parametrize("path", SIGNALS, ids=lambda p: p.stem)
def test_signal_vector(path: Path):
    meaning = json.loads(path.read_text())
    data = path.with_suffix(".bin").read_bytes()
    if "error" in meaning:
        with pytest.raises(SignalBufferError) as e:
            read_signals(meaning["count"], data)
        assert e.value.kind == meaning["error"], str(e.value)
        return
    signals = [emitted_from_json(s) for s in meaning["signals"]]
    assert write_signals(signals) == (meaning["count"], data)
    back = read_signals(meaning["count"], data)
    assert [e.to_json() for e in back] == meaning["signals"]
    # Exact prices keep their scale, approximate ones their bits.
    for got, want in zip(back, signals):
        assert type(got.price) is type(want.price)
        if isinstance(want.price, Decimal):
            assert got.price.as_tuple() == want.price.as_tuple()


def test_a_cut_signal_buffer_is_always_an_error():
    data = (VECTORS / "signals" / "basic.bin").read_bytes()
    for cut in range(len(data)):
        with pytest.raises(SignalBufferError):
            read_signals(3, data[:cut])
