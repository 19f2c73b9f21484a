"""Finding the strategy a plugin exports: the entry module of a strategy folder, and
the one `Strategy` subclass of a module (or, for a file written for the original
processor interface, its `create_<type>_processor` factory behind the adapter). The
build's generated app uses it, and so can tests (`load_strategy`)."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path
from types import ModuleType

from .strategy import Strategy

#: Where the shims of the original system's modules (`core`, `strategies`) live.
COMPAT_DIR = Path(__file__).resolve().parent.parent / "compat"

_FACTORY = re.compile(r"^create_(\w+)_processor$")


class LoadError(Exception):
    """A strategy folder or module that does not export exactly one strategy."""


def is_test_file(name: str) -> bool:
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


def entry_module(folder: Path) -> Path:
    """The module a strategy folder exports: `strategy.py` if there is one, else its
    only top-level `.py` file that is not a test."""
    folder = Path(folder)
    if (folder / "strategy.py").is_file():
        return folder / "strategy.py"
    candidates = sorted(p for p in folder.glob("*.py") if not is_test_file(p.name) and p.name != "__init__.py")
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise LoadError(f"{folder}: no strategy module (expected strategy.py)")
    names = ", ".join(p.name for p in candidates)
    raise LoadError(f"{folder}: several modules ({names}); name the entry strategy.py")


def processor_factories(module: ModuleType) -> dict[str, object]:
    """`{type: factory}` of the module's `create_<type>_processor` functions."""
    out = {}
    for name, value in vars(module).items():
        m = _FACTORY.match(name)
        if m and callable(value) and getattr(value, "__module__", None) == module.__name__:
            out[m.group(1)] = value
    return out


def find_strategy(module: ModuleType) -> type:
    """The strategy class `module` exports: `module.STRATEGY` if set; else its one
    `Strategy` subclass; else, for a processor file, the adapter around its factory."""
    chosen = getattr(module, "STRATEGY", None)
    if chosen is not None:
        if not (isinstance(chosen, type) and issubclass(chosen, Strategy)):
            raise LoadError(f"{module.__name__}.STRATEGY is not a Strategy subclass")
        return chosen
    classes = [v for v in vars(module).values()
               if isinstance(v, type) and issubclass(v, Strategy) and not v.__module__.startswith("alpha_panda")]
    own = [c for c in classes if c.__module__ == module.__name__] or classes
    if len(own) == 1:
        return own[0]
    if len(own) > 1:
        names = ", ".join(sorted(c.__name__ for c in own))
        raise LoadError(f"{module.__name__} defines several strategies ({names}); "
                        "export one with STRATEGY = TheClass")
    if processor_factories(module):
        from .processor import processor_strategy

        return processor_strategy(module)
    raise LoadError(f"{module.__name__} defines no Strategy subclass "
                    "(and no create_<type>_processor factory of the original interface)")


def load_strategy(path: "str | os.PathLike[str]") -> type:
    """Imports a strategy file (or folder, through its entry module) natively and returns
    its strategy class: what a test beside a plugin uses instead of `from strategy
    import ...`, so that several plugins' `strategy.py` can be tested in one run.

    The folder goes on `sys.path` (for its own helper modules), and so do the shims of
    the original system's modules; the module is registered under a name unique to its
    folder, so its objects pickle."""
    path = Path(path).resolve()
    file = entry_module(path) if path.is_dir() else path
    folder = str(file.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    if COMPAT_DIR.is_dir() and str(COMPAT_DIR) not in sys.path:
        sys.path.append(str(COMPAT_DIR))
    name = "_plugin_" + re.sub(r"\W", "_", f"{file.parent.name}_{file.stem}")
    module = sys.modules.get(name)
    if module is None or getattr(module, "__file__", None) != str(file):
        spec = importlib.util.spec_from_file_location(name, file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return find_strategy(module)
