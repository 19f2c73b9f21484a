#!/usr/bin/env python3
"""Builds a Python strategy folder into an alpha-panda plugin component.

    python3 sdk-python/build_plugin.py SRC_DIR OUT.wasm

SRC_DIR holds the strategy: `strategy.py` (or one other module) with one `Strategy`
subclass, or a file written for the original processor interface (a
`create_<type>_processor` factory). Its other modules may be imported by it. Tests
(`test_*.py`, `conftest.py`) are left out.

What it does, in order:
1. compiles every Python file of SRC_DIR and refuses a syntax error as `FILE:LINE: ...`;
2. warns about imports inside functions (only modules imported when the plugin is
   built exist in the sandbox);
3. copies SRC_DIR, the SDK and the shims of the original system's modules into a
   temporary folder (componentize-py writes `__pycache__` into its source folders; the
   source folders are never written), generates the app module that exports the
   strategy, and runs `componentize-py` (`$COMPONENTIZE_PY`, else the one on PATH; the
   pinned version is in requirements-build.txt) against the WIT of the repository;
4. reports a failing import with the file, line and module the sandbox lacks;
5. writes OUT.wasm atomically (a watching host never sees half a file).

Exit status: 0 built, 1 refused (the reason is printed), 2 usage or tool problems.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SDK_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(SDK_DIR))

from alpha_panda.loader import LoadError, entry_module, is_test_file  # noqa: E402

PINNED = "0.25.1"
DEFAULT_WIT = SDK_DIR.parent / "wit"
APP = "_alpha_panda_app"
#: The host's default `plugins.max_wasm_bytes`.
HOST_DEFAULT_MAX = 48 << 20


class Refused(Exception):
    """The strategy cannot be built; the message says where and why."""


def python_files(folder: Path) -> list[Path]:
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        out += [Path(root) / f for f in sorted(files) if f.endswith(".py")]
    return out


def check_syntax(files: list[Path]) -> None:
    problems = []
    for f in files:
        try:
            compile(f.read_bytes(), str(f), "exec", dont_inherit=True)
        except SyntaxError as e:
            where = f"{f}:{e.lineno}" if e.lineno else str(f)
            line = f"\n    {e.text.rstrip()}" if e.text else ""
            problems.append(f"{where}: {type(e).__name__}: {e.msg}{line}")
    if problems:
        raise Refused("\n".join(problems))


def import_warnings(files: list[Path]) -> list[str]:
    """Imports inside functions of modules the file does not also import at the top."""
    warnings = []
    for f in files:
        if is_test_file(f.name):
            continue
        tree = ast.parse(f.read_bytes(), str(f))
        top = set()
        for node in tree.body:
            if isinstance(node, ast.Import):
                top |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                top.add(node.module.split(".")[0])
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for inner in ast.walk(node):
                names = []
                if isinstance(inner, ast.Import):
                    names = [a.name for a in inner.names]
                elif isinstance(inner, ast.ImportFrom) and inner.module and not inner.level:
                    names = [inner.module]
                for name in names:
                    if name.split(".")[0] not in top:
                        warnings.append(
                            f"{f}:{inner.lineno}: warning: `import {name}` inside {node.name}(): only "
                            "modules imported when the plugin is built exist in the sandbox; "
                            "import it at the top of the file")
    return warnings


def find_componentize() -> str:
    beside = Path(sys.executable).parent / "componentize-py"
    tool = (
        os.environ.get("COMPONENTIZE_PY")
        or shutil.which("componentize-py")
        or (str(beside) if beside.is_file() else None)
    )
    if not tool:
        raise SystemExit(
            "build_plugin: componentize-py not found: pip install -r sdk-python/requirements-build.txt "
            "(or set COMPONENTIZE_PY to its path)")
    return tool


def tool_version(tool: str) -> str:
    try:
        out = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=60)
        return out.stdout.strip().split()[-1] if out.stdout.strip() else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def explain_failure(output: str, roots: list[Path], entry: Path) -> str:
    """The useful part of componentize-py's output: the failing file and line of the
    strategy (its `/N/` path in the build mapped back to the source) and the exception.
    `roots` are the folders given with `-p`, in order (componentize-py calls them /0/, /1/...)."""
    def real(p: str) -> str:
        m = re.match(r"/(\d+)/(.*)", p)
        if m and int(m.group(1)) < len(roots):
            return str(roots[int(m.group(1))] / m.group(2))
        return p

    start = output.rfind("Traceback (most recent call last):")
    if start < 0:
        return output.strip()[-3000:]
    block = output[start:].split("\n\nCaused by:")[0]
    lines = [l for l in block.splitlines() if l.strip()]
    error = lines[-1].strip()
    frames = [(real(f), n) for f, n in re.findall(r'File "([^"]+)", line (\d+)', block)]
    m = re.match(r"(?:[\w.]+\.)?LoadError: (.*)", error)
    if m:
        return f"{entry}: {m.group(1)}"
    own = [(f, n) for f, n in frames if not f.startswith(str(SDK_DIR)) and APP not in f]
    file, line = own[-1] if own else (frames[-1] if frames else (str(entry), "1"))
    m = re.match(r"(ModuleNotFoundError|ImportError): No module named '([^']+)'", error)
    if m:
        error += (f" (the sandbox's Python has no module `{m.group(2)}`: only the standard "
                  "library, the SDK and the strategy's own files can be imported)")
    return f"{file}:{line}: {error}"


def build(src: Path, out: Path, wit: Path, tool: str, quiet: bool = False) -> None:
    if not src.is_dir():
        raise Refused(f"{src}: not a folder")
    files = python_files(src)
    check_syntax(files)
    try:
        entry = entry_module(src)
    except LoadError as e:
        raise Refused(str(e)) from None
    for w in import_warnings(files):
        print(w, file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="alpha-panda-build-") as tmp_name:
        tmp = Path(tmp_name)
        ignore = shutil.ignore_patterns("__pycache__", ".*", "test_*.py", "*_test.py", "conftest.py")
        shutil.copytree(src, tmp / "src", ignore=ignore)
        shutil.copytree(SDK_DIR / "alpha_panda", tmp / "sdk" / "alpha_panda", ignore=ignore)
        shutil.copytree(SDK_DIR / "compat", tmp / "compat", ignore=ignore)
        (tmp / "app").mkdir()
        (tmp / "app" / f"{APP}.py").write_text(
            f'"""Generated by alpha-panda build_plugin.py: exports the strategy of {entry.name}."""\n'
            f"import {entry.stem} as _strategy_module\n"
            "from alpha_panda import _component\n\n"
            "Strategy = _component.export(_strategy_module)\n")
        built = tmp / "plugin.wasm"
        cmd = [tool, "-q", "-d", str(wit), "-w", "plugin", "componentize", APP,
               "-p", str(tmp / "app"), "-p", str(tmp / "src"), "-p", str(tmp / "sdk"),
               "-p", str(tmp / "compat"), "-o", str(built)]
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", RUST_BACKTRACE="0", RUST_LIB_BACKTRACE="0")
        result = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
        if result.returncode != 0 or not built.is_file():
            roots = [tmp / "app", src, SDK_DIR, SDK_DIR / "compat"]
            raise Refused(explain_failure(result.stderr + result.stdout, roots, entry))
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.parent / f".{out.name}.partial"
        shutil.copyfile(built, partial)
        os.replace(partial, out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build a Python strategy folder into an alpha-panda plugin.")
    ap.add_argument("src", type=Path, help="the strategy folder")
    ap.add_argument("out", type=Path, help="the component to write (NAME.wasm)")
    ap.add_argument("--wit", type=Path, default=DEFAULT_WIT, help=f"WIT folder (default {DEFAULT_WIT})")
    args = ap.parse_args(argv)
    if not (args.wit / "strategy.wit").is_file():
        print(f"build_plugin: no strategy.wit in {args.wit}", file=sys.stderr)
        return 2
    tool = find_componentize()
    version = tool_version(tool)
    if version != PINNED:
        print(f"build_plugin: warning: componentize-py {version}, this SDK is tested with {PINNED}",
              file=sys.stderr)
    started = time.monotonic()
    try:
        build(args.src.resolve(), args.out.resolve(), args.wit.resolve(), tool)
    except Refused as e:
        print(f"build_plugin: refused: {e}", file=sys.stderr)
        return 1
    size = args.out.stat().st_size
    print(f"built {args.out} ({size:,} bytes, {size / 2**20:.1f} MiB) in {time.monotonic() - started:.1f} s")
    if size > HOST_DEFAULT_MAX:
        print(f"note: larger than the host's default plugins.max_wasm_bytes (48 MiB): set it to "
              f"at least {((size >> 20) + 1)} MiB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
