"""Cross-language replay: the Python samples (`plugins/python/momentum_py`,
`plugins/python/mean_reversion_py`), run natively through the Runner over
`vectors/replay/series.csv` with their manifests, give exactly the signals the Rust
samples give (`vectors/replay/*.jsonl`, written by `cargo test -p momentum -p
mean_reversion --test replay`): same ticks, sides, quantities, price text, confidence
bits and metadata."""

from __future__ import annotations

import csv
import json
import tomllib

import pytest

from alpha_panda import InitContext, Runner, TickData, load_strategy

from sdk_paths import PLUGINS, VECTORS

REPLAY = VECTORS / "replay"


def series() -> list[TickData]:
    with open(REPLAY / "series.csv", newline="") as f:
        return [TickData(int(r["instrument_token"]), r["last_price"], int(r["timestamp_us"]))
                for r in csv.DictReader(f)]


@pytest.mark.parametrize("python, rust", [("momentum_py", "momentum"),
                                          ("mean_reversion_py", "mean_reversion")])
def test_python_sample_replays_exactly_as_the_rust_sample(python, rust):
    manifest = tomllib.loads((PLUGINS / f"{python}.toml").read_text())
    rust_manifest = tomllib.loads((PLUGINS / f"{rust}.toml").read_text())
    assert manifest["strategy_id"] == f"{python}_1"
    assert (manifest["instruments"], manifest["params"]) == (rust_manifest["instruments"], rust_manifest["params"])
    runner = Runner(load_strategy(PLUGINS / "python" / python), manifest["params"],
                    InitContext(manifest["strategy_id"], manifest["instruments"], 1))
    out = runner.feed_all(series())
    assert out.errors == []
    want = [json.loads(line) for line in (REPLAY / f"{rust}.jsonl").read_text().splitlines()]
    got = [e.to_json() for e in out.signals]
    assert len(got) == len(want) > 20
    for g, w in zip(got, want):
        assert g == w
        # == on floats is == on bits here (no NaN), and the text of exact prices is compared.
        assert g["confidence"].hex() == float(w["confidence"]).hex()
