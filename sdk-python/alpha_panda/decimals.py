"""Exact prices on the wire: a mantissa and a scale (`value = mantissa / 10**scale`),
converted to and from `decimal.Decimal` keeping the scale ("2501.50" stays "2501.50"),
and to the nearest float exactly as the Rust SDK computes it."""

from __future__ import annotations

from decimal import Context, Decimal

from .layout import I64_MAX, I64_MIN

# Wide enough for any 64-bit mantissa: scaling under it never rounds, whatever the
# thread's own decimal context says.
_EXACT = Context(prec=40, Emin=-999_999, Emax=999_999)
# Exact powers of ten as floats (every one up to 10**22 is representable).
_POW10 = tuple(float(10**i) for i in range(23))

#: The most decimal places the host takes in a signal's exact price.
HOST_MAX_SCALE = 28


def to_decimal(mantissa: int, scale: int) -> Decimal:
    """The Decimal `mantissa / 10**scale`, with exactly `scale` decimal places.

    Exact whatever the current decimal context says.
    """
    return Decimal(mantissa).scaleb(-scale, _EXACT)


def to_float(mantissa: int, scale: int) -> float:
    """The nearest float, computed as the Rust SDK's `Decimal::to_f64` does (so both
    SDKs see the same bits): `mantissa as f64 / 10^scale`, one division while the
    power is exact, then divisions by ten."""
    if scale < 23:
        return float(mantissa) / _POW10[scale]
    v = float(mantissa) / _POW10[22]
    for _ in range(22, scale):
        v /= 10.0
    return v


def wire_parts(d: Decimal) -> tuple[int, int]:
    """`(mantissa, scale)` of a finite Decimal, as the wire stores it.

    Raises ValueError if the value is not finite, its mantissa does not fit 64 bits
    or it has more than 255 decimal places.
    """
    if not isinstance(d, Decimal):
        raise TypeError(f"expected a decimal.Decimal, got {type(d).__name__}")
    if not d.is_finite():
        raise ValueError(f"{d} is not a finite decimal")
    sign, digits, exponent = d.as_tuple()
    mantissa = int("".join(map(str, digits)))
    assert isinstance(exponent, int)
    if exponent > 0:
        mantissa *= 10**exponent
        scale = 0
    else:
        scale = -exponent
    if sign:
        mantissa = -mantissa
    if not I64_MIN <= mantissa <= I64_MAX:
        raise ValueError(f"{d} does not fit the wire: its mantissa needs more than 64 bits")
    if scale > 255:
        raise ValueError(f"{d} does not fit the wire: more than 255 decimal places")
    return mantissa, scale


def text(mantissa: int, scale: int) -> str:
    """Plain decimal text with every digit of the scale ("2501.50", "0.005", "-12"),
    as the Rust `Decimal` prints it and the golden vectors spell it."""
    digits = str(abs(mantissa))
    sign = "-" if mantissa < 0 else ""
    if scale == 0:
        return sign + digits
    if len(digits) > scale:
        return f"{sign}{digits[:-scale]}.{digits[-scale:]}"
    return f"{sign}0.{digits.rjust(scale, '0')}"


def parse(value: object) -> Decimal:
    """A price given in a test or a builder: Decimal, str ("2501.55"), int, or float
    (taken by its shortest text, 2501.55 -> "2501.55")."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a price cannot be a bool")
    if isinstance(value, (int, str)):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    raise TypeError(f"expected a price (Decimal, str, int or float), got {type(value).__name__}")
