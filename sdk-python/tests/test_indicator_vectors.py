"""The indicators agree with the Rust SDK's outputs in `vectors/indicators.json` (relative
difference <= its tolerance, 1e-12; in practice the same bits)."""

from __future__ import annotations

import json
import math

import pytest

from alpha_panda.indicators import BollingerBands, Ema, RollingWindow, Rsi, Sma, StdDev, ZScore

from sdk_paths import VECTORS

DOC = json.loads((VECTORS / "indicators.json").read_text())
TOL = DOC["tolerance"]


def make(case: dict):
    p = case["params"]
    return {
        "rolling_window": lambda: RollingWindow(p.get("capacity", 0)),
        "sma": lambda: Sma(p["period"]),
        "ema": lambda: Ema(p["period"]),
        "std_dev": lambda: StdDev(p["period"]),
        "z_score": lambda: ZScore(p["period"]),
        "rsi": lambda: Rsi(p["period"]),
        "bollinger_bands": lambda: BollingerBands(p["period"], p["k"]),
    }[case["indicator"]]()


def step(ind, x):
    if isinstance(ind, RollingWindow):
        evicted = ind.push(x)
        return {"evicted": evicted, "window": list(ind)}
    out = ind.update(x)
    if isinstance(ind, BollingerBands) and out is not None:
        return {"lower": out.lower, "middle": out.middle, "upper": out.upper}
    return out


def close(got, want) -> bool:
    if want is None or got is None:
        return got is None and want is None
    if isinstance(want, dict):
        return got.keys() == want.keys() and all(close(got[k], want[k]) for k in want)
    if isinstance(want, list):
        return len(got) == len(want) and all(close(g, w) for g, w in zip(got, want))
    if want == got:
        return True
    return math.isfinite(want) and abs(got - want) <= TOL * max(abs(want), abs(got))


@pytest.mark.parametrize("case", DOC["cases"],
                         ids=lambda c: f"{c['indicator']}-{c['series']}-" + "-".join(
                             f"{k}{v}" for k, v in sorted(c["params"].items())))
def test_indicator_matches_the_rust_sdk(case):
    ind = make(case)
    for i, (x, want) in enumerate(zip(case["input"], case["output"], strict=True)):
        got = step(ind, x)
        assert close(got, want), f"step {i}: input {x}: got {got}, want {want}"


def test_the_outputs_are_the_same_bits():
    """Stronger than the tolerance: the same arithmetic in the same order."""
    differ = []
    for case in DOC["cases"]:
        ind = make(case)
        for x, want in zip(case["input"], case["output"]):
            if step(ind, x) != want:
                differ.append(case["indicator"])
    assert differ == []
