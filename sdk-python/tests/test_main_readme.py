"""The repository README's Python strategy works as printed: over the replay series it
buys exactly where the Rust momentum sample buys (`vectors/replay/momentum.jsonl`)."""

from __future__ import annotations

import json
import re
import tomllib

from alpha_panda import InitContext, Runner, load_strategy

from sdk_paths import PLUGINS, REPO, VECTORS
from test_replay import series


def test_the_readme_python_strategy_buys_as_the_rust_sample(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    assert blocks, "README.md has a Python example"
    folder = tmp_path / "readme_momentum"
    folder.mkdir()
    (folder / "strategy.py").write_text(blocks[0])
    manifest = tomllib.loads((PLUGINS / "momentum.toml").read_text())
    runner = Runner(load_strategy(folder), manifest["params"],
                    InitContext("readme_1", manifest["instruments"], 1))
    out = runner.feed_all(series())
    assert out.errors == []
    rust = [json.loads(line) for line in (VECTORS / "replay/momentum.jsonl").read_text().splitlines()]
    want = [(w["tick_index"], w["price"], w["quantity"], float(w["confidence"]))
            for w in rust if w["side"] == "buy"]
    got = [(g["tick_index"], g["price"], g["quantity"], g["confidence"])
           for g in (e.to_json() for e in out.signals)]
    assert all(e.to_json()["side"] == "buy" for e in out.signals)
    assert len(want) > 10
    assert got == want
