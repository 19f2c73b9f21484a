"""The signal buffer of a WIT `batch-output`: `write_signals` packs emitted signals into
it (48-byte records, each followed by its metadata pairs); `read_signals` reads one back,
or says why it cannot (`SignalBufferError`) - what the host does with it."""

from __future__ import annotations

from decimal import Decimal
from typing import Iterable

from . import decimals
from .layout import (
    F64, I64, PRICE_APPROX, PRICE_EXACT, PRICE_NONE, SIGNAL, SIGNAL_SIZE, U32, U64,
)
from .signal import Emitted, Side


class SignalBufferError(Exception):
    """A signal buffer that cannot be read. `kind` is the golden vectors' name for it:
    `truncated`, `trailing_bytes`, `bad_side`, `bad_price_kind`, `bad_has_confidence`,
    `metadata_not_utf8`, `metadata_length`."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def _pack_signal(out: bytearray, e: Emitted) -> None:
    meta = bytearray()
    for k, v in e.metadata:
        kb, vb = k.encode(), v.encode()
        meta += U32.pack(len(kb)) + kb + U32.pack(len(vb)) + vb
    price = e.price
    if price is None:
        kind, bits, scale = PRICE_NONE, 0, 0
    elif isinstance(price, Decimal):
        mantissa, scale = decimals.wire_parts(price)
        kind, bits = PRICE_EXACT, mantissa & 0xFFFF_FFFF_FFFF_FFFF
    else:
        kind, bits, scale = PRICE_APPROX, U64.unpack(F64.pack(price))[0], 0
    confidence = e.confidence
    out += SIGNAL.pack(
        e.tick_index, e.instrument_token, e.quantity, bits,
        0.0 if confidence is None else confidence,
        len(e.metadata), len(meta), e.side.byte, kind, scale, 0 if confidence is None else 1,
    )
    out += meta


def write_signals(signals: Iterable[Emitted]) -> tuple[int, bytes]:
    """`(signal_count, signals)` of a WIT `batch-output` holding `signals`, in order."""
    out = bytearray()
    n = 0
    for e in signals:
        _pack_signal(out, e)
        n += 1
    return n, bytes(out)


def read_signals(count: int, data: bytes) -> list[Emitted]:
    """Reads `count` signals from `data`; every byte must belong to them."""
    out = []
    at = 0
    for index in range(count):
        if at + SIGNAL_SIZE > len(data):
            raise SignalBufferError("truncated", f"signal buffer ends inside signal {index} (byte {at})")
        (tick_index, token, quantity, bits, confidence, pairs, meta_len, side_b, kind, scale,
         has_conf) = SIGNAL.unpack_from(data, at)
        side = Side.from_byte(side_b)
        if side is None:
            raise SignalBufferError("bad_side", f"signal {index}: `side` byte {side_b} is not defined")
        if kind == PRICE_NONE:
            price = None
        elif kind == PRICE_EXACT:
            price = decimals.to_decimal(I64.unpack(U64.pack(bits))[0], scale)
        elif kind == PRICE_APPROX:
            price = F64.unpack(U64.pack(bits))[0]
        else:
            raise SignalBufferError("bad_price_kind", f"signal {index}: `price kind` byte {kind} is not defined")
        if has_conf > 1:
            raise SignalBufferError("bad_has_confidence",
                                    f"signal {index}: `has confidence` byte {has_conf} is not defined")
        start = at + SIGNAL_SIZE
        if start + meta_len > len(data):
            raise SignalBufferError("truncated", f"signal buffer ends inside signal {index} (byte {at})")
        metadata = _read_metadata(data[start:start + meta_len], pairs, index)
        out.append(Emitted(tick_index, token, side, quantity, price,
                           confidence if has_conf else None, metadata))
        at = start + meta_len
    if at != len(data):
        raise SignalBufferError("trailing_bytes",
                                f"{len(data) - at} bytes left after the {count} announced signals")
    return out


def _read_metadata(meta: bytes, pairs: int, index: int) -> list[tuple[str, str]]:
    wrong = SignalBufferError("metadata_length",
                              f"signal {index}: metadata lengths do not match its byte count")
    at = 0

    def text() -> str:
        nonlocal at
        if at + 4 > len(meta):
            raise wrong
        n = U32.unpack_from(meta, at)[0]
        if at + 4 + n > len(meta):
            raise wrong
        raw = meta[at + 4:at + 4 + n]
        at += 4 + n
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SignalBufferError("metadata_not_utf8", f"signal {index}: metadata is not UTF-8") from None

    out = []
    for _ in range(pairs):
        k = text()
        v = text()
        out.append((k, v))
    if at != len(meta):
        raise wrong
    return out
