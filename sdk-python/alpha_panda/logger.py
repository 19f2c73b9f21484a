"""`log`: structured logging through the host (`host.log` in the component, stderr in
native tests), at a `Level`."""

from __future__ import annotations

import sys
from enum import IntEnum
from typing import Callable


class Level(IntEnum):
    """Severity of a log record."""

    TRACE = 0
    DEBUG = 1
    INFO = 2
    WARN = 3
    ERROR = 4


def _stderr(level: Level, message: str, fields: list[tuple[str, str]]) -> None:
    line = f"[{level.name}] {message}"
    for k, v in fields:
        line += f" {k}={v!r}"
    print(line, file=sys.stderr)


_sink: Callable[[Level, str, list[tuple[str, str]]], None] = _stderr


def set_sink(sink: Callable[[Level, str, list[tuple[str, str]]], None]) -> None:
    """Where records go: the component glue points this at `host.log`; tests may
    capture records with it."""
    global _sink
    _sink = sink


def log(level: Level, message: str, **fields: object) -> None:
    """Logs one record with key/value fields (values turned into text with `str()`).
    Each call crosses into the host, and the host keeps at most 100 lines per call:
    keep it off the per-tick path."""
    _sink(Level(level), str(message), [(k, v if isinstance(v, str) else str(v)) for k, v in fields.items()])
