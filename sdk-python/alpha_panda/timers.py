"""`Timers`: callbacks by tick time, kept in a deterministic queue ordered by (due, id)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from typing import Optional

from .layout import I64_MAX, I64_MIN, U64_MAX


class Timers:
    """Pending timers. A timer fires before the first tick whose timestamp is at or
    after its due time, with `now_us` = its due time; several fire in (due, id) order.
    An id names one timer: setting it again moves it."""

    __slots__ = ("_by_due", "_by_id")

    def __init__(self, pending: Optional[list[tuple[int, int]]] = None):
        self._by_due: list[tuple[int, int]] = []
        self._by_id: dict[int, int] = {}
        for due, timer_id in pending or ():
            self.set(due, timer_id)

    def set(self, due_us: int, timer_id: int) -> None:
        if not isinstance(due_us, int) or isinstance(due_us, bool) or not I64_MIN <= due_us <= I64_MAX:
            raise ValueError(f"timer time {due_us!r} is not a 64-bit integer of microseconds")
        if not isinstance(timer_id, int) or isinstance(timer_id, bool) or not 0 <= timer_id <= U64_MAX:
            raise ValueError(f"timer id {timer_id!r} is not an integer in 0..={U64_MAX}")
        old = self._by_id.get(timer_id)
        if old is not None:
            del self._by_due[bisect_left(self._by_due, (old, timer_id))]
        self._by_id[timer_id] = due_us
        insort(self._by_due, (due_us, timer_id))

    def cancel(self, timer_id: int) -> bool:
        due = self._by_id.pop(timer_id, None)
        if due is None:
            return False
        del self._by_due[bisect_left(self._by_due, (due, timer_id))]
        return True

    def due_of(self, timer_id: int) -> Optional[int]:
        return self._by_id.get(timer_id)

    def list(self) -> list[tuple[int, int]]:
        """`(due, id)` in firing order."""
        return list(self._by_due)

    def __bool__(self) -> bool:
        return bool(self._by_due)

    def pop_due(self, now_us: int, after: Optional[tuple[int, int]]) -> Optional[tuple[int, int]]:
        """Removes and returns the first timer due at or before `now_us` that sorts after
        `after`, the last one fired for this tick. A timer (re)set by a callback for a
        time before the one firing therefore waits for the next tick instead of looping."""
        by_due = self._by_due
        if not by_due:
            return None
        i = 0 if after is None else bisect_right(by_due, after)
        if i >= len(by_due) or by_due[i][0] > now_us:
            return None
        nxt = by_due.pop(i)
        del self._by_id[nxt[1]]
        return nxt
