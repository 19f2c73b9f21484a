"""What a strategy emits: `Signal`, built fluently (side, quantity, optional price,
confidence, metadata), `Side`, and `Emitted`, a signal as it leaves the strategy (checked
and tagged with the tick it answers)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Optional, Union

from . import decimals
from .layout import SIDE_BUY, SIDE_SELL, U32_MAX, U64_MAX


class Side(Enum):
    """Buy or sell."""

    BUY = "buy"
    SELL = "sell"

    @property
    def byte(self) -> int:
        """The side byte of a signal record."""
        return SIDE_BUY if self is Side.BUY else SIDE_SELL

    @classmethod
    def from_byte(cls, byte: int) -> Optional["Side"]:
        return {SIDE_BUY: Side.BUY, SIDE_SELL: Side.SELL}.get(byte)

    def __str__(self) -> str:
        return self.value


#: A signal's price: an exact `Decimal` (e.g. the tick's `last_price`), a computed
#: float, or None.
Price = Union[Decimal, float, None]


class Signal:
    """A trading signal: `Signal.buy(100).price_exact(tick.last_price).confidence(0.4).meta("k", "v")`.

    A signal the host would refuse (quantity not in 1..=2**64-1, a price that is not
    finite and > 0, a confidence outside 0..=1, an instrument the strategy is not
    subscribed to) becomes an error of the tick that emitted it, reported with the
    reason, and never reaches the host.

    `price` and `confidence` are builder methods; read the values given with
    `price_value` and `confidence_value` (the runner's `Emitted` has them as fields).
    """

    __slots__ = ("side", "quantity", "instrument_token", "_price", "_confidence", "metadata")

    def __init__(self, side: Side, quantity: int):
        self.side = side
        self.quantity = quantity
        #: None: the instrument of the tick being handled (required from `on_timer`).
        self.instrument_token: Optional[int] = None
        self._price: Price = None
        self._confidence: Optional[float] = None
        #: Key/value pairs, in the order added.
        self.metadata: list[tuple[str, str]] = []

    @classmethod
    def buy(cls, quantity: int) -> "Signal":
        return cls(Side.BUY, quantity)

    @classmethod
    def sell(cls, quantity: int) -> "Signal":
        return cls(Side.SELL, quantity)

    def price_exact(self, price: Union[Decimal, str, int]) -> "Signal":
        """An exact price, e.g. `tick.last_price` (keeps its text, "2501.50")."""
        if isinstance(price, float):
            raise TypeError("price_exact takes a Decimal; use .price(float) for a computed price")
        self._price = decimals.parse(price)
        return self

    def price(self, price: float) -> "Signal":
        """A computed price (must be finite and > 0)."""
        if isinstance(price, Decimal):
            raise TypeError("price takes a float; use .price_exact(Decimal) for an exact price")
        self._price = float(price)
        return self

    def confidence(self, confidence: float) -> "Signal":
        """How sure the strategy is, in 0..=1."""
        self._confidence = float(confidence)
        return self

    def meta(self, key: str, value: object) -> "Signal":
        """Adds one metadata pair; the value is turned into text with `str()`."""
        if not isinstance(key, str):
            raise TypeError(f"metadata key {key!r} is not a str")
        self.metadata.append((key, value if isinstance(value, str) else str(value)))
        return self

    def instrument(self, instrument_token: int) -> "Signal":
        """Another instrument than the tick's (the strategy must be subscribed to it)."""
        self.instrument_token = instrument_token
        return self

    @property
    def price_value(self) -> Price:
        return self._price

    @property
    def confidence_value(self) -> Optional[float]:
        return self._confidence

    def problem(self) -> Optional[str]:
        """Why the host would refuse this signal, if it would (the instrument aside)."""
        q = self.quantity
        if not isinstance(self.side, Side):
            return f"signal side {self.side!r} is not a Side"
        if q == 0 and isinstance(q, int):
            return "signal quantity is 0"
        if not isinstance(q, int) or isinstance(q, bool) or not 1 <= q <= U64_MAX:
            return f"signal quantity {q!r} is not an integer in 1..={U64_MAX}"
        p = self._price
        if isinstance(p, float):
            if not (math.isfinite(p) and p > 0.0):
                return f"signal price {p} is not finite and > 0"
        elif p is not None:
            if not (p.is_finite() and p > 0):
                return f"signal price {p} is not > 0"
            try:
                _, scale = decimals.wire_parts(p)
            except ValueError as e:
                return f"signal price {e}"
            if scale > decimals.HOST_MAX_SCALE:
                return (f"signal price {p} has {scale} decimal places "
                        f"(the host takes at most {decimals.HOST_MAX_SCALE})")
        c = self._confidence
        if c is not None and not 0.0 <= c <= 1.0:
            return f"signal confidence {c} is outside 0..=1"
        for k, v in self.metadata:
            if not isinstance(k, str) or not isinstance(v, str):
                return f"signal metadata ({k!r}, {v!r}) is not a pair of str"
        return None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Signal):
            return NotImplemented
        return (self.side, self.quantity, self.instrument_token, type(self._price), self._price,
                self._confidence, self.metadata) == (
            other.side, other.quantity, other.instrument_token, type(other._price), other._price,
            other._confidence, other.metadata)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        r = f"Signal.{self.side.value if isinstance(self.side, Side) else self.side}({self.quantity!r})"
        if self.instrument_token is not None:
            r += f".instrument({self.instrument_token!r})"
        if isinstance(self._price, Decimal):
            r += f".price_exact({self._price!r})"
        elif self._price is not None:
            r += f".price({self._price!r})"
        if self._confidence is not None:
            r += f".confidence({self._confidence!r})"
        for k, v in self.metadata:
            r += f".meta({k!r}, {v!r})"
        return r


@dataclass(frozen=True)
class Emitted:
    """A signal as it leaves the strategy: checked, its instrument set, tagged with the
    index (in its batch) of the tick it answers. The fields of a signal record."""

    tick_index: int
    instrument_token: int
    side: Side
    quantity: int
    #: Decimal (exact), float (approximate) or None.
    price: Price = None
    confidence: Optional[float] = None
    metadata: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def of(cls, tick_index: int, instrument_token: int, s: Signal) -> "Emitted":
        return cls(tick_index, instrument_token, s.side, s.quantity, s._price, s._confidence,
                   list(s.metadata))

    def to_json(self) -> dict:
        """The golden vectors' spelling of a signal (`vectors/README.md`)."""
        if self.price is None:
            price = None
        elif isinstance(self.price, Decimal):
            price = {"exact": decimals.text(*decimals.wire_parts(self.price))}
        else:
            price = {"approx": self.price}
        return {
            "tick_index": self.tick_index,
            "instrument_token": self.instrument_token,
            "side": self.side.value,
            "quantity": self.quantity,
            "price": price,
            "confidence": self.confidence,
            "metadata": [list(p) for p in self.metadata],
        }


def check_token(token: object) -> Optional[str]:
    if not isinstance(token, int) or isinstance(token, bool) or not 0 <= token <= U32_MAX:
        return f"signal instrument {token!r} is not an instrument token (0..={U32_MAX})"
    return None
