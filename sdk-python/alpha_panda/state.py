"""The default snapshot of a strategy: its attributes, sorted by name, pickled with a
fixed protocol (Decimal, deque, dicts, lists, `random.Random`, ticks and the SDK's
indicators all round-trip). The same state gives the same bytes."""

from __future__ import annotations

import pickle

#: Pickle protocol of snapshots (both CPython 3.11 natively and 3.14 in the component read it).
PROTOCOL = 5


def dump_attributes(obj: object) -> bytes:
    """The instance attributes of `obj` as bytes."""
    try:
        attributes = vars(obj)
    except TypeError:
        raise TypeError(f"{type(obj).__name__} keeps no instance attributes (__slots__?): "
                        "override snapshot() and restore()") from None
    return pickle.dumps(dict(sorted(attributes.items())), protocol=PROTOCOL)


def load_attributes(obj: object, state: bytes) -> None:
    """Replaces the attributes of `obj` with those of `dump_attributes` bytes. Nothing
    changes if the bytes cannot be read."""
    values = pickle.loads(state)
    if not isinstance(values, dict):
        raise ValueError(f"the state is a {type(values).__name__}, not the attributes of a strategy")
    attributes = vars(obj)
    attributes.clear()
    attributes.update(values)
