"""`Timers`: (due, id) order, moving, cancelling, the cursor that keeps a re-armed timer
for the next tick."""

import pytest

from alpha_panda.timers import Timers


def test_pops_in_due_then_id_order_and_moves_on_reset():
    t = Timers()
    t.set(30, 1)
    t.set(10, 2)
    t.set(10, 1)  # moves timer 1 from 30 to 10
    t.set(20, 3)
    assert t.list() == [(10, 1), (10, 2), (20, 3)]
    assert t.pop_due(15, None) == (10, 1)
    assert t.pop_due(15, (10, 1)) == (10, 2)
    assert t.pop_due(15, (10, 2)) is None
    assert t.cancel(3) and not t.cancel(3)
    assert t.list() == [] and not t


def test_a_timer_set_behind_the_cursor_waits():
    t = Timers()
    t.set(10, 5)
    fired = t.pop_due(100, None)
    assert fired == (10, 5)
    t.set(10, 5)  # re-armed for the same time by its own callback
    assert t.pop_due(100, fired) is None
    assert t.pop_due(100, None) == (10, 5)


def test_refuses_what_the_wire_cannot_keep():
    with pytest.raises(ValueError, match="timer id"):
        Timers().set(0, -1)
    with pytest.raises(ValueError, match="timer time"):
        Timers().set(2**63, 1)
