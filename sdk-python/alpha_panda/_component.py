"""The componentize-py glue (imported only inside the component, by the app module the
build generates): defines the exported WIT class, keeps the one `Instance` in a module
global (componentize-py makes a new export object for every call), converts the WIT
types, routes `log` to `host.log`, and turns every failure into a WIT error instead of
a trap (a trap would kill the instance and lose the message)."""

from __future__ import annotations

from types import ModuleType

from componentize_py_types import Err
from wit_world.imports import host
from wit_world.imports import types as wit

from . import logger as _log
from .adapter import Instance, InitFailed, fail_all, internal_error
from .loader import find_strategy
from .runner import SnapshotError

_LEVELS = {
    _log.Level.TRACE: wit.LogLevel.TRACE,
    _log.Level.DEBUG: wit.LogLevel.DEBUG,
    _log.Level.INFO: wit.LogLevel.INFO,
    _log.Level.WARN: wit.LogLevel.WARN,
    _log.Level.ERROR: wit.LogLevel.ERROR,
}


def _host_log(level: _log.Level, message: str, fields: list[tuple[str, str]]) -> None:
    host.log(_LEVELS[level], message, fields)


_log.set_sink(_host_log)

_instance: Instance


def _param_value(v: object) -> object:
    if isinstance(v, (wit.ParamValue_Integer, wit.ParamValue_Float, wit.ParamValue_Text,
                      wit.ParamValue_Boolean)):
        return v.value
    raise TypeError(f"unknown param-value {v!r}")


def _errors(errors: list) -> list:
    return [wit.TickError(e.tick_index, e.message) for e in errors]


class Export:
    """The WIT `strategy` interface."""

    def init(self, config: wit.InitConfig) -> None:
        try:
            params = [(name, _param_value(v)) for name, v in config.params]
            artifacts = [(a.name, a.sha256, a.data) for a in config.artifacts]
            _instance.init(config.strategy_id, list(config.instruments), params, config.seed,
                           artifacts)
        except InitFailed as e:
            raise Err(wit.InitError(param=e.param, message=e.message))
        except BaseException as e:
            raise Err(wit.InitError(param=None, message=internal_error("init", e)))

    def on_ticks(self, batch: wit.TickBatch) -> wit.BatchOutput:
        try:
            n, signals, errors = _instance.on_ticks(batch.count, batch.data, batch.symbols)
        except BaseException as e:
            n, signals, errors = fail_all(batch.count, internal_error("on-ticks", e))
        return wit.BatchOutput(signal_count=n, signals=signals, errors=_errors(errors))

    def snapshot(self) -> bytes:
        try:
            return _instance.snapshot()
        except BaseException as e:
            internal_error("snapshot", e)
            return b""

    def restore(self, state: bytes) -> None:
        try:
            _instance.restore(state)
        except SnapshotError as e:
            raise Err(str(e))
        except BaseException as e:
            raise Err(internal_error("restore", e))


def export(module: ModuleType) -> type:
    """The export class for the strategy of `module` (found at build time)."""
    global _instance
    _instance = Instance(find_strategy(module))
    return Export
