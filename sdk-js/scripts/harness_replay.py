#!/usr/bin/env python3
"""Replays tick batches through a plugin component in /work/tools/bin/harness.py's sandbox (the
host's engine settings and limits, wasmtime 48), and prints what came out as JSON: for each batch
its signal buffer (hex) and tick-errors; then a snapshot taken after batch K, restored into a fresh
init, and the remaining batches replayed from it, which must give the same output.

usage: harness_replay.py COMPONENT.wasm --id STRATEGY_ID --instruments 1,2 \
           [--param name=integer:20 ...] [--restore-after K] [--mem MiB] [--symbols a,b]
           BATCH.bin ...
(each BATCH.bin has a BATCH.json with its count and symbols, like vectors/ticks)
"""
import argparse, contextlib, hashlib, io, json, os, runpy, sys

HARNESS = os.environ.get("ALPHA_PANDA_HARNESS", "/work/tools/bin/harness.py")

ap = argparse.ArgumentParser()
ap.add_argument("wasm")
ap.add_argument("batches", nargs="+")
ap.add_argument("--id", required=True)
ap.add_argument("--instruments", default="")
ap.add_argument("--param", action="append", default=[])
ap.add_argument("--restore-after", type=int, default=-1)
ap.add_argument("--mem", default="64")
ap.add_argument("--symbols", help="comma-separated: replaces every batch's symbols (drives a probe)")
args = ap.parse_args()

# The harness sets up engine, limits, linker and instance at import; no scenario runs.
sys.argv = [HARNESS, args.wasm, "--scenario", "none", "--mem", args.mem]
setup = io.StringIO()
with contextlib.redirect_stdout(setup):
    h = runpy.run_path(HARNESS, run_name="__main__")
Variant, rec, call = h["Variant"], h["rec"], h["call"]
f_init, f_ticks, f_snap, f_restore = h["f_init"], h["f_ticks"], h["f_snap"], h["f_restore"]


def param(spec):
    name, typed = spec.split("=", 1)
    kind, value = typed.split(":", 1)
    conv = {"integer": int, "float": float, "text": str, "boolean": lambda v: v == "true"}[kind]
    # wasmtime-py picks the param-value case from the Python type (int, float, str); a bool would
    # be taken for an integer, so booleans cannot be sent from here.
    return (name, conv(value))


def init():
    cfg = rec(strategy_id=args.id,
              instruments=[int(x) for x in args.instruments.split(",") if x],
              params=[param(p) for p in args.param], seed=42)
    r, _ = call(f_init, cfg)
    if r is not None:
        sys.stdout = sys.__stdout__
        raise SystemExit(f"init failed: {r if r == 'TRAP' else vars(r)}\n{setup.getvalue()}")


def batch(path):
    meta = json.load(open(path[:-4] + ".json"))
    symbols = args.symbols.split(",") if args.symbols else meta["symbols"]
    return rec(count=meta["count"], data=open(path, "rb").read(), symbols=symbols)


def run(path):
    r, dt = call(f_ticks, batch(path))
    if r == "TRAP":
        raise SystemExit(f"on-ticks trapped on {path}")
    return {
        "batch": os.path.basename(path),
        "signal_count": getattr(r, "signal-count"),
        "signals": bytes(r.signals).hex(),
        "errors": [[getattr(e, "tick-index"), e.message] for e in r.errors],
        "ms": round(dt * 1e3, 2),
    }


out = {"setup": [l for l in setup.getvalue().splitlines() if l.strip()], "runs": []}
real_stdout = sys.stdout
sys.stdout = setup  # the harness prints host.log lines and traps; they go to "harness_output"
init()
snapshot = None
for i, path in enumerate(args.batches):
    out["runs"].append(run(path))
    if i == args.restore_after:
        snapshot, _ = call(f_snap)
        out["snapshot_bytes"] = len(snapshot)
        out["snapshot_sha256"] = hashlib.sha256(bytes(snapshot)).hexdigest()
if snapshot is not None:
    init()
    r, _ = call(f_restore, snapshot)
    out["restore"] = "ok" if r is None else (r if isinstance(r, str) else repr(r))
    out["after_restore"] = [run(p) for p in args.batches[args.restore_after + 1:]]
    out["after_restore_matches"] = [
        {k: v for k, v in a.items() if k != "ms"} == {k: v for k, v in b.items() if k != "ms"}
        for a, b in zip(out["runs"][args.restore_after + 1:], out["after_restore"])
    ]
    r, _ = call(f_restore, b"\x00 not a snapshot")
    out["restore_garbage"] = r if isinstance(r, str) else repr(r)
out["host_log"] = [list(map(str, l)) for l in h["logs"]]
out["harness_output"] = [l for l in setup.getvalue().splitlines()[len(out["setup"]):] if l.strip()]
sys.stdout = real_stdout
print(json.dumps(out, indent=1))
