"""`build_plugin.py` without building (a stand-in plays componentize-py): syntax errors
refused with file and line before the tool runs, the tool's import failures reported
with the strategy's file, line and the missing module, the generated app, the copied
sources, and an untouched source folder; and one real build with componentize-py
(about 20 s; the toolchain `cargo xtask setup` installs)."""

from __future__ import annotations

import os
import stat
import sys
import textwrap
from pathlib import Path

import pytest

from sdk_paths import PLUGINS, SDK

sys.path.insert(0, str(SDK))
import build_plugin  # noqa: E402

FAKE = textwrap.dedent('''\
    #!{python}
    """Stands in for componentize-py: records its arguments, then does what FAKE_MODE says."""
    import json, os, sys
    if sys.argv[1:] == ["--version"]:
        print("componentize-py 0.25.1"); sys.exit(0)
    args = sys.argv[1:]
    with open(os.environ["FAKE_LOG"], "w") as f:
        json.dump({{"args": args, "cwd": os.getcwd(), "env": {{"PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE")}},
                   "app": open(os.path.join(args[args.index("-p") + 1], "_alpha_panda_app.py")).read(),
                   "src": sorted(os.listdir(args[args.index("-p") + 3]))}}, f)
    mode = os.environ["FAKE_MODE"]
    if mode == "ok":
        open(args[args.index("-o") + 1], "wb").write(b"\\0asm fake")
        sys.exit(0)
    sys.stderr.write(mode)
    sys.exit(1)
''')

NUMPY_FAILURE = '''Traceback (most recent call last):
  File "/home/quant/.venv/bin/componentize-py", line 8, in <module>
    sys.exit(script())
AssertionError: Traceback (most recent call last):
  File "/0/_alpha_panda_app.py", line 2, in <module>
    import strategy as _strategy_module
  File "/1/strategy.py", line 3, in <module>
    import helper
  File "/1/helper.py", line 2, in <module>
    import numpy as np
ModuleNotFoundError: No module named 'numpy'


Caused by:
    ModuleNotFoundError: No module named 'numpy'
'''


@pytest.fixture
def fake_tool(tmp_path, monkeypatch):
    tool = tmp_path / "componentize-py"
    tool.write_text(FAKE.format(python=sys.executable))
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("COMPONENTIZE_PY", str(tool))
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "call.json"))
    monkeypatch.setenv("FAKE_MODE", "ok")
    return tmp_path / "call.json"


def strategy_folder(tmp_path: Path, body: str, name: str = "strategy.py") -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / name).write_text(textwrap.dedent(body))
    (src / "test_it.py").write_text("def test_x():\n    pass\n")
    return src


def listing(folder: Path) -> list[tuple[str, float]]:
    return sorted((str(p.relative_to(folder)), p.stat().st_mtime) for p in folder.rglob("*"))


def test_a_syntax_error_is_refused_with_file_and_line_before_the_tool_runs(tmp_path, fake_tool, capsys):
    src = strategy_folder(tmp_path, "from alpha_panda import Strategy\n\nclass S(Strategy):\n"
                                    "    def on_tick(self, tick, out)\n        pass\n")
    assert build_plugin.main([str(src), str(tmp_path / "out.wasm")]) == 1
    err = capsys.readouterr().err
    assert f"{src / 'strategy.py'}:4: SyntaxError: expected ':'" in err
    assert not fake_tool.exists(), "componentize-py must not run"
    assert not (tmp_path / "out.wasm").exists()


def test_an_import_the_sandbox_lacks_is_reported_with_file_line_and_module(tmp_path, fake_tool, monkeypatch, capsys):
    src = strategy_folder(tmp_path, "import helper\n")
    (src / "helper.py").write_text("import math\nimport numpy as np\n")
    monkeypatch.setenv("FAKE_MODE", NUMPY_FAILURE)
    assert build_plugin.main([str(src), str(tmp_path / "out.wasm")]) == 1
    err = capsys.readouterr().err
    assert f"{src / 'helper.py'}:2: ModuleNotFoundError: No module named 'numpy'" in err
    assert "has no module `numpy`" in err


def test_a_module_without_a_strategy_is_refused_by_name(tmp_path, fake_tool, monkeypatch, capsys):
    src = strategy_folder(tmp_path, "X = 1\n")
    monkeypatch.setenv("FAKE_MODE", 'Traceback (most recent call last):\n  File "/0/_alpha_panda_app.py", line 4\n'
                                    '  File "/2/alpha_panda/loader.py", line 77, in find_strategy\n'
                                    "alpha_panda.loader.LoadError: strategy defines no Strategy subclass\n")
    assert build_plugin.main([str(src), str(tmp_path / "out.wasm")]) == 1
    assert f"{src / 'strategy.py'}: strategy defines no Strategy subclass" in capsys.readouterr().err


def test_a_build_copies_the_sources_and_writes_nothing_into_them(tmp_path, fake_tool, capsys):
    src = strategy_folder(tmp_path, """\
        from alpha_panda import Signal, Strategy

        class S(Strategy):
            def on_tick(self, tick, out):
                import json
                out.emit(Signal.buy(1))
        """)
    before = listing(src)
    out = tmp_path / "plugins" / "s.wasm"
    assert build_plugin.main([str(src), str(out)]) == 0
    assert out.read_bytes() == b"\0asm fake"
    assert listing(src) == before
    assert [p.name for p in out.parent.iterdir()] == ["s.wasm"], "no partial file left behind"
    call = __import__("json").loads(fake_tool.read_text())
    assert call["args"][:6] == ["-q", "-d", str(SDK.parent / "wit"), "-w", "plugin", "componentize"]
    assert "import strategy as _strategy_module" in call["app"]
    assert "Strategy = _component.export(_strategy_module)" in call["app"]
    assert call["src"] == ["strategy.py"], "tests are left out"
    assert call["env"]["PYTHONDONTWRITEBYTECODE"] == "1"
    err = capsys.readouterr().err
    assert "strategy.py:5: warning: `import json` inside on_tick()" in err


def test_the_entry_module_is_strategy_py_or_the_only_module(tmp_path):
    from alpha_panda.loader import LoadError, entry_module

    (tmp_path / "momentum.py").write_text("")
    (tmp_path / "test_momentum.py").write_text("")
    assert entry_module(tmp_path).name == "momentum.py"
    (tmp_path / "other.py").write_text("")
    with pytest.raises(LoadError, match="several modules"):
        entry_module(tmp_path)
    (tmp_path / "strategy.py").write_text("")
    assert entry_module(tmp_path).name == "strategy.py"


@pytest.mark.parametrize("plugin", ["momentum_py"])
def test_real_build(tmp_path, plugin):
    src = PLUGINS / "python" / plugin
    before = listing(src)
    assert build_plugin.main([str(src), str(tmp_path / f"{plugin}.wasm")]) == 0
    assert (tmp_path / f"{plugin}.wasm").read_bytes()[:4] == b"\0asm"
    assert listing(src) == before
