#!/usr/bin/env python3
"""Runs a built Python plugin the way the host does, on real batches: loads the component
with the engine setup and store limits of /work/tools/bin/harness.py (which mirror
host/src/wasm: component model, epoch interruption, 512 KiB wasm stack, WASI p2 with an
empty context, memory 64 MiB, 16 instances, 64 tables, 4 memories, host.log), then
calls init with a manifest's id, instruments and params, on-ticks with golden vector
batches (and/or a tick series), snapshot, restore into a fresh instance, and checks the
restored instance answers the next batch exactly as the original does. It also finds the
fewest instances and the least memory the plugin runs in.

Run it with the Python that has wasmtime-py 48 (the tools venv):

    /work/tools/venv/bin/python sdk-python/tools/run_component.py plugins/momentum_py.wasm \
        --manifest plugins/momentum_py.toml --vector full_depth --vector several_shared
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
import time
import tomllib
from pathlib import Path

from wasmtime import Config, Engine, Store, WasiConfig
from wasmtime.component import Component, Linker, Record

SDK = Path(__file__).resolve().parents[1]
REPO = SDK.parent
sys.path.insert(0, str(SDK))

from alpha_panda import TickData  # noqa: E402
from alpha_panda.batch import write_batch  # noqa: E402
from alpha_panda.signal_buffer import read_signals  # noqa: E402

PKG, VER = "alpha-panda:strategy", "0.3.0"
# Compiled code, by the component's sha256 (the harness's cache when it is there).
CACHE = Path(os.environ.get("ALPHA_PANDA_CWASM_CACHE")
             or ("/work/tools/cache" if Path("/work/tools/cache").is_dir() else Path.home() / ".cache/alpha-panda/cwasm"))


def rec(**kw) -> Record:
    r = Record()
    for k, v in kw.items():
        setattr(r, k.replace("_", "-"), v)
    return r


def param(v):
    """A WIT param-value: wasmtime-py lowers this variant by the Python type of the value
    (its cases' types differ), so a bool would go as an integer: refuse it here."""
    if isinstance(v, bool):
        raise SystemExit("run_component: wasmtime-py cannot send a boolean param-value (it sends bools as integers)")
    return v


class Plugin:
    """One instance of the component in its own store, with the host's limits."""

    def __init__(self, engine: Engine, comp: Component, mem_mib: int = 64, instances: int = 16):
        self.logs: list = []
        self.stderr = bytearray()
        linker = Linker(engine)
        linker.add_wasip2()
        with linker.root() as root:
            with root.add_instance(f"{PKG}/types@{VER}"):
                pass
            with root.add_instance(f"{PKG}/host@{VER}") as h:
                h.add_func("log", lambda store, level, message, fields: self.logs.append((level, message, fields)))
        self.store = Store(engine)
        w = WasiConfig()
        w.stderr_custom = self.stderr.extend
        self.store.set_wasi(w)
        self.store.set_limits(memory_size=mem_mib << 20, instances=instances, tables=64, memories=4)
        self.store.set_epoch_deadline(10**12)
        self.inst = linker.instantiate(self.store, comp)
        iface = self.inst.get_export_index(self.store, f"{PKG}/strategy@{VER}")
        self.f = {n: self.inst.get_func(self.store, self.inst.get_export_index(self.store, n, iface))
                  for n in ("init", "on-ticks", "snapshot", "restore")}

    def call(self, name, *args):
        f = self.f[name]
        r = f(self.store, *args)
        f.post_return(self.store)
        return r

    def init(self, strategy_id, instruments, params, seed):
        cfg = rec(strategy_id=strategy_id, instruments=list(instruments),
                  params=[(k, param(v)) for k, v in params.items()], seed=seed)
        r = self.call("init", cfg)
        return None if r is None else {"param": getattr(r, "param"), "message": getattr(r, "message")}

    def on_ticks(self, count, data, symbols):
        r = self.call("on-ticks", rec(count=count, data=data, symbols=symbols))
        errors = [(getattr(e, "tick-index"), e.message) for e in r.errors]
        return read_signals(getattr(r, "signal-count"), bytes(r.signals)), errors

    def snapshot(self) -> bytes:
        return bytes(self.call("snapshot"))

    def restore(self, state: bytes):
        return self.call("restore", state)


def vector_batch(name: str):
    meaning = json.loads((REPO / "vectors" / "ticks" / f"{name}.json").read_text())
    return meaning["count"], (REPO / "vectors" / "ticks" / f"{name}.bin").read_bytes(), meaning["symbols"]


def series_batches(path: Path, size: int):
    """Batches of `size` ticks from a replay series (vectors/replay/series.csv)."""
    with open(path, newline="") as f:
        ticks = [TickData(int(r["instrument_token"]), r["last_price"], int(r["timestamp_us"]))
                 for r in csv.DictReader(f)]
    return [write_batch(ticks[i:i + size]) for i in range(0, len(ticks), size)]


def show(signals, errors, limit=3):
    out = [f"{len(signals)} signals, {len(errors)} errors"]
    for s in signals[:limit]:
        out.append(f"    signal {json.dumps(s.to_json(), ensure_ascii=False)}")
    for e in errors[:limit]:
        out.append(f"    tick-error {e[0]}: {e[1]}")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("wasm", type=Path)
    ap.add_argument("--manifest", type=Path)
    ap.add_argument("--param", action="append", default=[], help="NAME=JSON value (over the manifest's)")
    ap.add_argument("--vector", action="append", default=[], help="vectors/ticks/NAME batch to send")
    ap.add_argument("--series", type=Path, help="a replay series (vectors/replay/series.csv), sent in batches of --batch")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--expect", type=Path, help="the series' expected signals (vectors/replay/NAME.jsonl), checked exactly")
    ap.add_argument("--no-probe", action="store_true", help="skip the instance and memory search")
    args = ap.parse_args()

    manifest = tomllib.loads(args.manifest.read_text()) if args.manifest else {}
    sid = manifest.get("strategy_id", "check_1")
    instruments = manifest.get("instruments", [])
    params = dict(manifest.get("params", {}))
    for p in args.param:
        k, v = p.split("=", 1)
        params[k] = json.loads(v)

    wasm = args.wasm.read_bytes()
    print(f"{args.wasm}: {len(wasm):,} bytes ({len(wasm) / 2**20:.2f} MiB)")
    cfg = Config()
    cfg.wasm_component_model = True
    cfg.epoch_interruption = True
    cfg.max_wasm_stack = 512 * 1024
    engine = Engine(cfg)
    CACHE.mkdir(parents=True, exist_ok=True)
    cpath = CACHE / (hashlib.sha256(wasm).hexdigest() + ".cwasm")
    t = time.time()
    if cpath.exists():
        comp = Component.deserialize_file(engine, str(cpath))
        print(f"compiled code from cache in {time.time() - t:.1f} s")
    else:
        comp = Component(engine, wasm)
        cpath.write_bytes(comp.serialize())
        print(f"compiled in {time.time() - t:.1f} s")
    imports = list(comp.type.imports(engine).keys())
    allowed = ("wasi:cli/", "wasi:clocks/", "wasi:filesystem/", "wasi:io/", "wasi:random/", "wasi:sockets/")
    bad = [i for i in imports if not (i.startswith(PKG + "/") or i.startswith(allowed))]
    print(f"imports: {len(imports)} ({', '.join(i for i in imports if i.startswith(PKG))} + wasi); "
          f"host check_world: {'OK' if not bad else 'REFUSED ' + str(bad)}")

    # The series first: its expected signals are those of a fresh instance.
    batches = []
    if args.series:
        batches += [(f"series batch {i}", *b) for i, b in enumerate(series_batches(args.series, args.batch))]
    batches += [(f"vector {v}", *vector_batch(v)) for v in args.vector]

    def run(plugin: Plugin, quiet=False):
        err = plugin.init(sid, instruments, params, 42)
        if err is not None:
            return err, [], []
        outs = []
        for label, count, data, symbols in batches:
            t0 = time.time()
            signals, errors = plugin.on_ticks(count, data, symbols)
            outs.append((label, count, signals, errors, time.time() - t0))
        return None, outs, plugin.logs

    t = time.time()
    p = Plugin(engine, comp)
    print(f"instantiated with the host's limits in {(time.time() - t) * 1e3:.1f} ms")
    err, outs, logs = run(p)
    print(f"init({sid}, {instruments}, {params}): {'ok' if err is None else 'ERR ' + str(err)}")
    if err is not None:
        return 1
    all_signals = []
    for label, count, signals, errors, dt in outs:
        print(f"on-ticks {label} ({count} ticks, {dt * 1e3:.1f} ms): {show(signals, errors)}")
        all_signals += [(label, s) for s in signals]
    for level, message, fields in logs:
        print(f"  host.log {level} {message} {fields}")
    if args.expect:
        want = [json.loads(line) for line in args.expect.read_text().splitlines()]
        got = []
        offset = 0
        for label, count, signals, errors, dt in outs:
            if label.startswith("series"):
                got += [dict(s.to_json(), tick_index=s.tick_index + offset) for s in signals]
                offset += count
        same = got == want
        print(f"series signals vs {args.expect.name}: {len(got)} vs {len(want)}: {'IDENTICAL' if same else 'DIFFER'}")
        if not same:
            return 1

    seen_logs = len(p.logs)
    state = p.snapshot()
    print(f"snapshot: {len(state):,} bytes")
    for level, message, fields in p.logs[seen_logs:]:
        print(f"  host.log {level} {message} {fields}")
    q = Plugin(engine, comp)
    q.init(sid, instruments, params, 42)
    r = q.restore(state)
    print(f"restore into a fresh instance: {'ok' if r is None else 'ERR ' + str(r)}")
    if batches:
        # Again the batch that signalled most: the restored instance must answer as the original.
        best = max(range(len(outs)), key=lambda i: len(outs[i][2]))
        label, count, data, symbols = batches[best]
        a, b = p.on_ticks(count, data, symbols), q.on_ticks(count, data, symbols)
        print(f"{label} again, original vs restored: {'identical' if a == b else 'DIFFERENT'} "
              f"({show(*a, limit=0)})")
        if a != b:
            return 1
    r = q.restore(b"\x00 not a snapshot")
    print(f"restore(garbage): {r!r}")
    print(f"after the error the instance still answers: {q.on_ticks(*vector_batch('index_ltp'))[1] == []}")
    if q.stderr or p.stderr:
        print("stderr:", (p.stderr + q.stderr).decode(errors="replace")[-2000:])

    if not args.no_probe:
        fewest = None
        for n in range(16, 0, -1):
            try:
                Plugin(engine, comp, instances=n)
                fewest = n
            except Exception:
                break
        print(f"instances: instantiates with an instance limit of {fewest} (host limit 16), not {fewest - 1}")
        least = None
        for mib in (13, 14, 15, 16, 18, 20, 24, 32, 48, 64):
            try:
                err, outs, _ = run(Plugin(engine, comp, mem_mib=mib), quiet=True)
                if err is None and all(not any("memory" in m.lower() for _, m in o[3]) for o in outs):
                    least = mib
                    break
            except Exception:
                continue
        print(f"memory: the whole run fits a limit of {least} MiB (host limit 64 MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
