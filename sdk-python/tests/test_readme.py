"""The README's 5-minute example works as printed: its strategy and its test, run, and
its manifest's params are exactly the ones the strategy reads."""

from __future__ import annotations

import re
import runpy
import tomllib

from alpha_panda import InitContext, Runner, load_strategy

from sdk_paths import SDK


def readme_blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", (SDK / "README.md").read_text(), re.S)


def test_the_readme_example_passes_its_own_test(tmp_path):
    blocks = readme_blocks("python")
    folder = tmp_path / "breakout_py"
    folder.mkdir()
    (folder / "strategy.py").write_text(blocks[0])
    (folder / "test_breakout_py.py").write_text(blocks[1])
    test_module = runpy.run_path(str(folder / "test_breakout_py.py"))
    test_module["test_buys_the_breakout"]()


def test_the_readme_manifest_fits_the_readme_strategy(tmp_path):
    (tmp_path / "strategy.py").write_text(readme_blocks("python")[0])
    manifest = tomllib.loads(readme_blocks("toml")[0])
    assert manifest["strategy_id"] == "breakout_py_1"
    # Runner refuses a param the strategy does not read, as `plugin check` does.
    Runner(load_strategy(tmp_path), manifest["params"],
           InitContext(manifest["strategy_id"], manifest["instruments"], 1))
