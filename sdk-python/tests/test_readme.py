"""The README's 5-minute example works as printed: its strategy and its test, run."""

from __future__ import annotations

import re
import runpy

from sdk_paths import SDK


def test_the_readme_example_passes_its_own_test(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", (SDK / "README.md").read_text(), re.S)
    folder = tmp_path / "breakout_py"
    folder.mkdir()
    (folder / "strategy.py").write_text(blocks[0])
    (folder / "test_breakout_py.py").write_text(blocks[1])
    test_module = runpy.run_path(str(folder / "test_breakout_py.py"))
    test_module["test_buys_the_breakout"]()
