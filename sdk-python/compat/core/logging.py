"""Shim of the original `core.logging`: `get_trading_logger_safe(name)` returns a
structlog-style logger (`logger.info("event", key=value)`, `bind(...)`) whose records go
to the host's log through the SDK. Records below `level()` (INFO by default) are
dropped: the host keeps at most 100 lines per call, and per-tick debug lines would be
most of them."""

from __future__ import annotations

from typing import Any

from alpha_panda.logger import Level, log

_LEVELS = {"debug": Level.DEBUG, "info": Level.INFO, "warning": Level.WARN, "warn": Level.WARN,
           "error": Level.ERROR, "critical": Level.ERROR, "exception": Level.ERROR}
_threshold = Level.INFO


def set_level(name: str) -> None:
    """The least severe level sent to the host ("debug", "info", "warning", "error")."""
    global _threshold
    _threshold = _LEVELS[name.lower()]


def level() -> Level:
    return _threshold


class TradingLogger:
    """A structlog-like logger: `info(event, *args, **fields)`; `bind(**fields)` gives a
    logger that adds those fields to every record."""

    def __init__(self, name: str = "", **bound: Any):
        self.name = name
        self._bound = bound

    def bind(self, **fields: Any) -> "TradingLogger":
        return TradingLogger(self.name, **{**self._bound, **fields})

    def new(self, **fields: Any) -> "TradingLogger":
        return TradingLogger(self.name, **fields)

    def _log(self, level: Level, event: object, args: tuple, fields: dict) -> None:
        if level < _threshold:
            return
        message = str(event)
        if args:
            try:
                message = message % args
            except (TypeError, ValueError):
                message = " ".join([message, *map(str, args)])
        fields.pop("exc_info", None)
        log(level, message, logger=self.name, **self._bound, **fields)

    def debug(self, event: object = "", *args: Any, **fields: Any) -> None:
        self._log(Level.DEBUG, event, args, fields)

    def info(self, event: object = "", *args: Any, **fields: Any) -> None:
        self._log(Level.INFO, event, args, fields)

    def warning(self, event: object = "", *args: Any, **fields: Any) -> None:
        self._log(Level.WARN, event, args, fields)

    warn = warning

    def error(self, event: object = "", *args: Any, **fields: Any) -> None:
        self._log(Level.ERROR, event, args, fields)

    def critical(self, event: object = "", *args: Any, **fields: Any) -> None:
        self._log(Level.ERROR, event, args, fields)

    def exception(self, event: object = "", *args: Any, **fields: Any) -> None:
        self._log(Level.ERROR, event, args, fields)


def get_trading_logger_safe(name: str = "") -> TradingLogger:
    return TradingLogger(name)


def get_logger(name: str = "") -> TradingLogger:
    return TradingLogger(name)
