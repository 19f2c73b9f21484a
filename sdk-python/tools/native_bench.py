#!/usr/bin/env python3
"""Times a Python strategy folder under native CPython on the batches the host's
`languages` bench (host/benches/languages.rs) gives its Wasm twin, and prints JSON: the
per-tick CPU of `on_ticks` to set beside the component's. Standard library only.

The strategy is loaded through the SDK exactly as the component loads it (`loader`
finds the strategy class of the folder's entry module, `adapter.Instance` runs it), and
each batch is handed to `Instance.on_ticks` as the component receives it: count, data
(bytes), symbols.

    python sdk-python/tools/native_bench.py plugins/python/momentum_py BATCHES \
        --id momentum_py_1 --instruments 738561,81153 --param lookback=integer:20 \
        --seed 42 --passes 4

BATCHES names two files: BATCHES.bin, the batches' `data` one after the other, and
BATCHES.json, `{"batches": [[count, data_bytes, [symbols...]], ...]}` in order. The
instance is initialised once and fed the whole stream `--passes` times; each pass is
timed with `time.thread_time()` (CPU of this thread) and `time.perf_counter()` (wall).

Output (one JSON object): `ticks` (per pass), `signals` (per pass), `cpu_s` and
`wall_s` (per pass), `errors` (tick-errors over all passes), `python` (version).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

SDK = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SDK))

from alpha_panda.adapter import InitFailed, Instance  # noqa: E402
from alpha_panda.loader import load_strategy  # noqa: E402


def param(spec: str) -> tuple[str, object]:
    """`name=kind:value` (kind: integer, float, boolean, text), as native_replay.mjs takes it."""
    name, typed = spec.split("=", 1)
    kind, value = typed.split(":", 1)
    conv = {"integer": int, "float": float, "boolean": lambda v: v == "true", "text": str}.get(kind)
    if conv is None:
        raise SystemExit(f"native_bench: unknown param kind {kind!r} in {spec!r}")
    return name, conv(value)


def load_batches(prefix: Path) -> list[tuple[int, bytes, list[str]]]:
    index = json.loads(prefix.with_suffix(".json").read_text())
    blob = prefix.with_suffix(".bin").read_bytes()
    out = []
    at = 0
    for count, length, symbols in index["batches"]:
        out.append((int(count), bytes(blob[at:at + length]), list(symbols)))
        at += length
    if at != len(blob):
        raise SystemExit(f"native_bench: {prefix}.bin holds {len(blob)} bytes, the index {at}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("strategy", type=Path, help="the strategy folder (or file)")
    ap.add_argument("batches", type=Path, help="BATCHES of BATCHES.bin and BATCHES.json")
    ap.add_argument("--id", required=True)
    ap.add_argument("--instruments", default="")
    ap.add_argument("--param", action="append", default=[])
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--passes", type=int, default=1)
    args = ap.parse_args()

    batches = load_batches(args.batches)
    instance = Instance(load_strategy(args.strategy))
    instruments = [int(x) for x in args.instruments.split(",") if x]
    try:
        instance.init(args.id, instruments, [param(p) for p in args.param], args.seed)
    except InitFailed as e:
        raise SystemExit(f"native_bench: init refused: {e.param}: {e.message}")

    on_ticks = instance.on_ticks
    result: dict[str, object] = {
        "ticks": sum(b[0] for b in batches),
        "signals": [],
        "cpu_s": [],
        "wall_s": [],
        "errors": 0,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }
    for _ in range(max(args.passes, 1)):
        signals = 0
        errors = 0
        wall0 = time.perf_counter()
        cpu0 = time.thread_time()
        for count, data, symbols in batches:
            n, _buffer, errs = on_ticks(count, data, symbols)
            signals += n
            errors += len(errs)
        cpu = time.thread_time() - cpu0
        wall = time.perf_counter() - wall0
        result["signals"].append(signals)
        result["cpu_s"].append(cpu)
        result["wall_s"].append(wall)
        result["errors"] += errors
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
