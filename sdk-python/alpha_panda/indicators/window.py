"""`RollingWindow`: a fixed-capacity FIFO of the last N values."""

from __future__ import annotations

from collections import deque
from typing import Generic, Iterator, Optional, TypeVar

T = TypeVar("T")


class RollingWindow(Generic[T]):
    """The last `capacity` values pushed, oldest first (a capacity of 0 is taken as 1).

    >>> w = RollingWindow(2)
    >>> w.push(1), w.push(2), w.push(3)   # the third push evicts the oldest
    (None, None, 1)
    >>> w.oldest, w.newest
    (2, 3)
    """

    __slots__ = ("_capacity", "_items")

    def __init__(self, capacity: int):
        self._capacity = max(int(capacity), 1)
        self._items: deque[T] = deque()

    def push(self, value: T) -> Optional[T]:
        """Appends `value`; returns the value that fell out if the window was full."""
        items = self._items
        evicted = items.popleft() if len(items) == self._capacity else None
        items.append(value)
        return evicted

    @property
    def capacity(self) -> int:
        return self._capacity

    def __len__(self) -> int:
        return len(self._items)

    @property
    def is_full(self) -> bool:
        """True once `capacity` values have been pushed."""
        return len(self._items) == self._capacity

    @property
    def oldest(self) -> Optional[T]:
        return self._items[0] if self._items else None

    @property
    def newest(self) -> Optional[T]:
        return self._items[-1] if self._items else None

    def get(self, i: int) -> Optional[T]:
        """The `i`-th value, 0 being the oldest; None past the end."""
        return self._items[i] if 0 <= i < len(self._items) else None

    def __iter__(self) -> Iterator[T]:
        """Oldest first."""
        return iter(self._items)

    def clear(self) -> None:
        self._items.clear()

    def __getstate__(self) -> tuple:
        return (self._capacity, list(self._items))

    def __setstate__(self, state: tuple) -> None:
        self._capacity, items = state
        self._items = deque(items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RollingWindow):
            return NotImplemented
        return self._capacity == other._capacity and self._items == other._items

    def __repr__(self) -> str:
        return f"RollingWindow({self._capacity}, {list(self._items)!r})"


def fsum_left(values) -> float:
    """The plain left-to-right float sum, as Rust's `Iterator::sum` computes it (Python's
    `sum()` of floats compensates rounding since 3.12, which would change the bits)."""
    total = -0.0
    for v in values:
        total += v
    return total
