"""One plugin instance behind the WIT export, on plain values: `init` from the
init-config's fields, `on_ticks` from a tick batch's (count, data, symbols) to
(signal count, signal buffer, tick errors), `snapshot` and `restore`. It never lets an
exception out of `on_ticks` or `snapshot`: the componentize-py glue (`_component`)
only converts types, and this is tested natively."""

from __future__ import annotations

from typing import Optional

from .artifacts import Artifacts
from .batch import BatchError, read_batch
from .context import InitContext
from .logger import Level, log
from .params import ParamError, Params, ParamValue
from .runner import Output, Runner, SnapshotError, TickError
from .signal_buffer import write_signals
from .strategy import describe

#: Most errors one unreadable batch reports (the host sends far fewer ticks a call,
#: and a garbage count must not make the guest allocate without bound).
MAX_BATCH_ERRORS = 1 << 16


class InitFailed(Exception):
    """What the WIT `init-error` carries: the parameter at fault, if any, and why."""

    def __init__(self, param: Optional[str], message: str):
        super().__init__(message)
        self.param = param
        self.message = message


def fail_all(count: int, message: str) -> tuple[int, bytes, list[TickError]]:
    """A tick-error for every tick the batch claims to hold."""
    return 0, b"", [TickError(i, message) for i in range(min(count, MAX_BATCH_ERRORS))]


class Instance:
    """The strategy of one plugin instance (once `init` succeeded)."""

    def __init__(self, strategy: type):
        self.strategy = strategy
        self.runner: Optional[Runner] = None

    def init(self, strategy_id: str, instruments: list[int], params: list[tuple[str, ParamValue]],
             seed: int, artifacts: Optional[list[tuple[str, str, bytes]]] = None) -> None:
        """`artifacts` are (name, sha256, data). Raises `InitFailed`."""
        self.runner = None
        try:
            files = Artifacts()
            for name, sha256, data in artifacts or []:
                files.insert(name, sha256, data)
            ctx = InitContext(strategy_id=strategy_id, instruments=list(instruments), seed=seed,
                              artifacts=files)
            self.runner = Runner(self.strategy, Params.from_pairs(params), ctx)
        except ParamError as e:
            raise InitFailed(e.param, e.message) from None
        except Exception as e:
            raise InitFailed(None, f"init failed: {describe(e)}") from None

    def on_ticks(self, count: int, data: bytes, symbols: list[str]) -> tuple[int, bytes, list[TickError]]:
        runner = self.runner
        if runner is None:
            return fail_all(count, "on-ticks called before a successful init")
        try:
            batch = read_batch(count, data, symbols)
        except BatchError as e:
            return fail_all(count, str(e))
        out = Output()
        tick = batch.tick
        handle = runner.handle
        for i in range(count):
            try:
                t = tick(i)
            except Exception as e:  # RecordError: this tick alone fails
                out.errors.append(TickError(i, str(e)))
                continue
            handle(i, t, out)
        n, buffer = write_signals(out.signals)
        return n, buffer, out.errors

    def snapshot(self) -> bytes:
        """Empty bytes when there is no initialised strategy; `restore` of them reports it."""
        return b"" if self.runner is None else self.runner.snapshot()

    def restore(self, state: bytes) -> None:
        """Raises `SnapshotError`."""
        if self.runner is None:
            raise SnapshotError("restore called before a successful init")
        self.runner.restore(state)


def internal_error(call: str, e: BaseException) -> str:
    """Logs an error of the SDK itself (not of the strategy) and says what it was."""
    message = f"alpha-panda Python SDK: {call} failed: {describe(e)}"
    try:
        log(Level.ERROR, message)
    except BaseException:
        pass
    return message
