"""`Params`: the strategy's parameters (from its manifest), read with types, defaults and
ranges; `ParamError`, a refused parameter set naming the parameter at fault."""

from __future__ import annotations

import math
from typing import Any, Iterable, Iterator, Mapping, Optional, TypeVar, Union

#: A parameter value as the host sends it (the WIT `param-value`).
ParamValue = Union[int, float, str, bool]

T = TypeVar("T", int, float, str, bool)

_EXPECTED = {int: "an integer", float: "a number", str: "text", bool: "a boolean"}


class ParamError(Exception):
    """A refused parameter set: which parameter (if one is at fault) and why. Raised
    from `Strategy.init`; the host does not load the strategy and reports both.

    `raise ParamError("lookback", "must be at least 2")`, or `ParamError(None, "...")`
    for the set as a whole.
    """

    def __init__(self, param: Optional[str], message: str):
        super().__init__(param, message)
        self.param = param
        self.message = message

    @classmethod
    def invalid(cls, param: str, message: str) -> "ParamError":
        """`param` has a value the strategy refuses."""
        return cls(param, message)

    @classmethod
    def general(cls, message: str) -> "ParamError":
        """The parameter set as a whole is refused."""
        return cls(None, message)

    def __str__(self) -> str:
        return f"parameter `{self.param}`: {self.message}" if self.param is not None else self.message


def _describe(value: ParamValue) -> str:
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"float {value!r}"
    return f"text {value!r}"


def _check_value(name: str, value: object) -> ParamValue:
    if isinstance(value, (bool, int, float, str)):
        if isinstance(value, int) and not isinstance(value, bool) and not -(1 << 63) <= value < (1 << 63):
            raise ParamError(name, f"integer {value} does not fit 64 bits")
        return value
    raise ParamError(name, f"a parameter is an integer, float, text or boolean, not {type(value).__name__}")


def _convert(value: ParamValue, ty: type) -> Any:
    """`value` as `ty`, or None if it does not convert. Integers are accepted where a
    number is asked; nothing else converts."""
    if ty is bool:
        return value if isinstance(value, bool) else None
    if isinstance(value, bool):
        return None
    if ty is int:
        return value if isinstance(value, int) else None
    if ty is float:
        return float(value) if isinstance(value, (int, float)) else None
    if ty is str:
        return value if isinstance(value, str) else None
    raise TypeError(f"parameters are read as int, float, str or bool, not {ty!r}")


class Params:
    """The parameters a strategy is started with, by name.

    Every parameter the host sends must be read during `init` (with any getter): a
    parameter nobody reads is refused as unknown, so a typo in a manifest (`lokback`)
    stops the load instead of silently using a default.

    >>> p = Params(lookback=5, threshold=1)
    >>> p.get_or("lookback", 20)
    5
    >>> p.get("threshold", float)     # an integer is a valid number
    1.0
    >>> p.get_or_in("missing", 0.5, min=0.0, max=1.0)
    0.5
    """

    def __init__(self, values: Optional[Mapping[str, ParamValue]] = None, /, **kwargs: ParamValue):
        self._values: dict[str, ParamValue] = {}
        for name, value in {**(values or {}), **kwargs}.items():
            self._values[name] = _check_value(name, value)
        self._read: set[str] = set()
        self._asked: list[str] = []

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, ParamValue]]) -> "Params":
        """From name/value pairs (as the host sends them); a name given twice is refused."""
        p = cls()
        for name, value in pairs:
            if name in p._values:
                raise ParamError(name, "given more than once")
            p._values[name] = _check_value(name, value)
        return p

    def raw(self, name: str) -> Optional[ParamValue]:
        """The value as given, or None; marks the parameter as read."""
        if name not in self._asked:
            self._asked.append(name)
        if name in self._values:
            self._read.add(name)
            return self._values[name]
        return None

    def get_opt(self, name: str, ty: type[T]) -> Optional[T]:
        """The parameter as `ty` (int, float, str or bool), or None if it was not given."""
        value = self.raw(name)
        if value is None:
            return None
        converted = _convert(value, ty)
        if converted is None:
            raise ParamError(name, f"expected {_EXPECTED[ty]}, found {_describe(value)}")
        return converted

    def get(self, name: str, ty: type[T]) -> T:
        """The parameter as `ty`; a `ParamError` if it is missing or of another type."""
        value = self.get_opt(name, ty)
        if value is None:
            raise ParamError(name, f"missing (expected {_EXPECTED[ty]})")
        return value

    def get_or(self, name: str, default: T) -> T:
        """The parameter as the type of `default`, or `default` if it is missing."""
        value = self.get_opt(name, type(default))
        return default if value is None else value

    def get_or_in(self, name: str, default: T, min: Optional[T] = None, max: Optional[T] = None) -> T:
        """Like `get_or`, and the value (given or default) must lie in `min..=max`
        (either bound may be left out): `params.get_or_in("lookback", 20, min=1)`."""
        value = self.get_or(name, default)
        below = min is not None and not value >= min
        above = max is not None and not value <= max
        if isinstance(value, float) and math.isnan(value):
            below = True
        if below or above:
            if min is not None and max is not None:
                want = f"in {min!r}..={max!r}"
            elif min is not None:
                want = f">= {min!r}"
            else:
                want = f"<= {max!r}"
            raise ParamError(name, f"must be {want}, found {value!r}")
        return value

    def items(self) -> Iterator[tuple[str, ParamValue]]:
        """Names and values, in the order given (does not mark them read)."""
        return iter(list(self._values.items()))

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __len__(self) -> int:
        return len(self._values)

    def first_unread(self) -> Optional[str]:
        """The first parameter no getter has read."""
        return next((n for n in self._values if n not in self._read), None)

    def asked_names(self) -> list[str]:
        """Every name a getter asked for, in order, given or not."""
        return list(self._asked)

    def __repr__(self) -> str:
        return f"Params({self._values!r})"
