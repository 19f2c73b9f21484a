"""The WIT export natively: `adapter.Instance` on the golden batches, and the
componentize-py glue (`_component`) over stand-ins of the generated bindings. A
strategy's exception is a tick error with its message, never a trap; a bad init is an
init-error naming the parameter; a bad snapshot a restore error."""

from __future__ import annotations

import importlib
import re
import json
from types import ModuleType

import pytest

import fake_wit
from alpha_panda import Signal, Strategy
from alpha_panda.adapter import Instance, InitFailed
from alpha_panda.runner import SnapshotError
from alpha_panda.signal_buffer import read_signals

from sdk_paths import VECTORS


class EchoStrategy(Strategy):
    """Buys one of every tick's instrument; divides by zero on a price of 0."""

    def init(self, params, ctx):
        self.size = params.get_or_in("size", 1, min=1)
        self.seen = 0

    def on_tick(self, tick, out):
        self.seen += 1
        if tick.price == 0.0:
            1 / tick.price
        out.emit(Signal.buy(self.size).price_exact(tick.last_price).meta("n", self.seen))


def vector(name: str) -> tuple[int, bytes, list[str]]:
    meaning = json.loads((VECTORS / "ticks" / f"{name}.json").read_text())
    return meaning["count"], (VECTORS / "ticks" / f"{name}.bin").read_bytes(), meaning["symbols"]


def test_instance_runs_a_golden_batch_and_writes_the_signal_buffer():
    inst = Instance(EchoStrategy)
    inst.init("echo_1", [], [("size", 3)], 1)
    n, buffer, errors = inst.on_ticks(*vector("several_shared"))
    assert errors == []
    signals = read_signals(n, buffer)
    assert [(s.tick_index, s.quantity, s.metadata) for s in signals] == [
        (i, 3, [("n", str(i + 1))]) for i in range(5)]
    assert str(signals[0].price) == "2501.55"


def test_instance_reports_bad_records_and_bad_batches_per_tick():
    inst = Instance(EchoStrategy)
    inst.init("echo_1", [], [], 1)
    n, buffer, errors = inst.on_ticks(*vector("reserved_presence_bit"))
    assert [e.tick_index for e in errors] == [0, 2]
    assert errors[0].message.startswith("malformed tick: presence 0x1")
    assert [s.tick_index for s in read_signals(n, buffer)] == [1]
    n, buffer, errors = inst.on_ticks(*vector("short_data"))
    assert (n, buffer) == (0, b"")
    assert [e.tick_index for e in errors] == [0, 1]
    assert "do not fit" in errors[0].message


def test_instance_turns_an_exception_into_an_error_of_its_tick():
    inst = Instance(EchoStrategy)
    inst.init("echo_1", [], [], 1)
    count, data, symbols = vector("extremes")  # tick 1 has a last price of 0
    n, buffer, errors = inst.on_ticks(count, data, symbols)
    assert [e.tick_index for e in errors] == [1]
    assert re.match(r"ZeroDivisionError: (float )?division by zero \(test_component.py:\d+ in on_tick\)$", errors[0].message)
    assert [s.tick_index for s in read_signals(n, buffer)] == [0]
    # The instance goes on.
    assert inst.on_ticks(*vector("index_ltp"))[0] == 1


def test_instance_init_errors_name_the_parameter():
    inst = Instance(EchoStrategy)
    with pytest.raises(InitFailed) as e:
        inst.init("echo_1", [], [("size", 0)], 1)
    assert (e.value.param, e.value.message) == ("size", "must be >= 1, found 0")
    with pytest.raises(InitFailed) as e:
        inst.init("echo_1", [], [("size", 2), ("size", 3)], 1)
    assert (e.value.param, e.value.message) == ("size", "given more than once")
    n, _, errors = inst.on_ticks(*vector("index_ltp"))
    assert errors[0].message == "on-ticks called before a successful init"

    class Broken(Strategy):
        def init(self, params, ctx):
            raise KeyError("x")

        def on_tick(self, tick, out):
            pass

    with pytest.raises(InitFailed) as e:
        Instance(Broken).init("b", [], [], 0)
    assert e.value.param is None
    assert e.value.message.startswith("init failed: KeyError: 'x' (test_component.py:")


def test_instance_snapshot_and_restore():
    a = Instance(EchoStrategy)
    a.init("echo_1", [], [], 1)
    a.on_ticks(*vector("several_shared"))
    b = Instance(EchoStrategy)
    with pytest.raises(SnapshotError, match="before a successful init"):
        b.restore(a.snapshot())
    assert b.snapshot() == b""
    b.init("echo_1", [], [], 1)
    b.restore(a.snapshot())
    assert b.runner.strategy.seen == 5


@pytest.fixture
def glue():
    fake_wit.install()
    fake_wit.HOST_LOG.clear()
    component = importlib.import_module("alpha_panda._component")
    yield component
    from alpha_panda import logger
    logger.set_sink(logger._stderr)
    fake_wit.uninstall()


def plugin_module() -> ModuleType:
    m = ModuleType("strategy")
    m.EchoStrategy = EchoStrategy
    m.Strategy = Strategy  # the author's `from alpha_panda import Strategy` is not the export
    return m


def test_glue_exports_the_modules_strategy_and_keeps_it_between_calls(glue):
    Export = glue.export(plugin_module())
    # componentize-py makes a new export object for every call: state lives in the module.
    Export().init(fake_wit.InitConfig("echo_1", [], [("size", fake_wit.ParamValue_Integer(2))], 5))
    out = Export().on_ticks(fake_wit.TickBatch(*vector("several_shared")))
    assert (out.signal_count, out.errors) == (5, [])
    assert isinstance(out.signals, bytes)
    state = Export().snapshot()
    assert isinstance(state, bytes)
    Export().restore(state)
    out = Export().on_ticks(fake_wit.TickBatch(*vector("extremes")))
    assert out.signal_count == 1
    [err] = out.errors
    assert isinstance(err, fake_wit.TickError) and err.tick_index == 1
    assert re.match("ZeroDivisionError: (float )?division by zero", err.message)


def test_glue_errors_are_wit_errors(glue):
    Export = glue.export(plugin_module())
    with pytest.raises(fake_wit.Err) as e:
        Export().init(fake_wit.InitConfig("echo_1", [], [("sise", fake_wit.ParamValue_Integer(2))], 5))
    assert e.value.value == fake_wit.InitError("sise", "unknown parameter (this strategy reads: size)")
    with pytest.raises(fake_wit.Err) as e:
        Export().init(fake_wit.InitConfig("echo_1", [], [("size", fake_wit.ParamValue_Text("2"))], 5))
    assert e.value.value == fake_wit.InitError("size", "expected an integer, found text '2'")
    Export().init(fake_wit.InitConfig("echo_1", [], [], 5))
    with pytest.raises(fake_wit.Err) as e:
        Export().restore(b"\xff not a snapshot")
    assert e.value.value == "not an alpha-panda Python snapshot (16 bytes)"


def test_glue_hands_the_artifacts_to_init(glue):
    seen = {}

    class ModelReader(Strategy):
        def init(self, params, ctx):
            seen["model"] = (ctx.artifacts.get("model").sha256, ctx.artifacts.json("model"))

        def on_tick(self, tick, ctx):
            pass

    m = ModuleType("strategy")
    m.ModelReader = ModelReader
    m.Strategy = Strategy
    Export = glue.export(m)
    model = fake_wit.Artifact("model", "ab12", b'{"w": [0.5]}')
    Export().init(fake_wit.InitConfig("ml_1", [], [], 5, [model]))
    assert seen["model"] == ("ab12", {"w": [0.5]})
    with pytest.raises(fake_wit.Err) as e:
        Export().init(fake_wit.InitConfig("ml_1", [], [], 5))
    assert e.value.value == fake_wit.InitError(
        None, "artifact `model` is not in the manifest's [artifacts] (it names: [])")


def test_glue_logs_through_the_host(glue):
    from alpha_panda import Level, log

    glue.export(plugin_module())
    log(Level.WARN, "hello", n=1)
    assert fake_wit.HOST_LOG == [(fake_wit.LogLevel.WARN, "hello", [("n", "1")])]


def test_glue_refuses_a_module_without_a_strategy(glue):
    from alpha_panda.loader import LoadError

    with pytest.raises(LoadError, match="defines no Strategy subclass"):
        glue.export(ModuleType("empty"))


def test_the_faulty_fixture_fails_tick_by_tick_and_its_snapshot_with_a_reason(logs):
    """What the faulty fixture does through the WIT export, tick by tick and at its snapshot, natively."""
    from alpha_panda import load_strategy
    from sdk_paths import SDK

    faulty = load_strategy(SDK / "tests" / "plugins" / "faulty")
    inst = Instance(faulty)
    inst.init("faulty_1", [], [("fail_on_symbol", "INFY")], 1)
    n, _, errors = inst.on_ticks(*vector("several_shared"))
    assert n == 3 and [(e.tick_index, e.message) for e in errors] == [(1, "refusing INFY"), (4, "refusing INFY")]
    n, _, errors = inst.on_ticks(*vector("extremes"))
    assert n == 1 and re.match(r"ZeroDivisionError: (float )?division by zero \(strategy.py:\d+ in on_tick\)$",
                                errors[0].message)
    inst.init("faulty_1", [], [("snapshot", "fail")], 1)
    state = inst.snapshot()
    with pytest.raises(SnapshotError, match=r"the snapshot was not taken: TypeError: cannot pickle 'generator' object"):
        inst.restore(state)
    assert logs[-1][:2] == ("ERROR", "strategy snapshot failed")


def test_deep_recursion_is_a_tick_error_not_a_crash():
    from alpha_panda import load_strategy
    from sdk_paths import SDK

    inst = Instance(load_strategy(SDK / "tests" / "plugins" / "faulty"))
    inst.init("faulty_1", [], [("recurse", 100_000)], 1)
    n, _, [error] = inst.on_ticks(*vector("index_ltp"))
    assert n == 0 and error.message.startswith("RecursionError: maximum recursion depth exceeded")
