"""Stand-ins for the modules componentize-py generates from `wit/strategy.wit`
(`componentize_py_types`, `wit_world.imports.{types,host}`), with the same names and
fields, so the glue in `alpha_panda._component` runs natively."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from enum import Enum
from types import ModuleType
from typing import Generic, List, Optional, Tuple, TypeVar

E = TypeVar("E")


@dataclass(frozen=True)
class Err(Generic[E], Exception):
    value: E


@dataclass
class TickBatch:
    count: int
    data: bytes
    symbols: List[str]


@dataclass
class TickError:
    tick_index: int
    message: str


@dataclass
class BatchOutput:
    signal_count: int
    signals: bytes
    errors: List[TickError]


@dataclass
class ParamValue_Integer:
    value: int


@dataclass
class ParamValue_Float:
    value: float


@dataclass
class ParamValue_Text:
    value: str


@dataclass
class ParamValue_Boolean:
    value: bool


@dataclass
class Artifact:
    name: str
    sha256: str
    data: bytes


@dataclass
class InitConfig:
    strategy_id: str
    instruments: List[int]
    params: List[Tuple[str, object]]
    seed: int
    artifacts: List[Artifact] = field(default_factory=list)


@dataclass
class InitError:
    param: Optional[str]
    message: str


class LogLevel(Enum):
    TRACE = 0
    DEBUG = 1
    INFO = 2
    WARN = 3
    ERROR = 4


HOST_LOG: list[tuple[LogLevel, str, list[tuple[str, str]]]] = []


def install() -> None:
    types = ModuleType("wit_world.imports.types")
    for cls in (TickBatch, TickError, BatchOutput, ParamValue_Integer, ParamValue_Float,
                ParamValue_Text, ParamValue_Boolean, Artifact, InitConfig, InitError, LogLevel):
        setattr(types, cls.__name__, cls)
    host = ModuleType("wit_world.imports.host")
    host.log = lambda level, message, fields: HOST_LOG.append((level, message, fields))
    imports = ModuleType("wit_world.imports")
    imports.types, imports.host = types, host
    world = ModuleType("wit_world")
    world.imports = imports
    cpt = ModuleType("componentize_py_types")
    cpt.Err = Err
    sys.modules.update({"wit_world": world, "wit_world.imports": imports,
                        "wit_world.imports.types": types, "wit_world.imports.host": host,
                        "componentize_py_types": cpt})


def uninstall() -> None:
    for name in ("wit_world", "wit_world.imports", "wit_world.imports.types",
                 "wit_world.imports.host", "componentize_py_types", "alpha_panda._component"):
        sys.modules.pop(name, None)
