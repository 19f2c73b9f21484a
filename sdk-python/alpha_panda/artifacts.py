"""`Artifacts`: the read-only files the manifest names under `[artifacts]` (a model's
coefficients, a calendar), handed to `init` as bytes, read as bytes, text or JSON."""

from __future__ import annotations

import json as _json
from dataclasses import dataclass
from typing import Any, Iterator

from .params import ParamError


@dataclass(frozen=True)
class Artifact:
    """One artifact: its bytes and their sha256 (hex), as the host read them."""

    sha256: str
    data: bytes


class Artifacts:
    """The strategy's artifacts by name: `ctx.artifacts.json("model")`."""

    __slots__ = ("_by_name",)

    def __init__(self) -> None:
        self._by_name: dict[str, Artifact] = {}

    def insert(self, name: str, sha256: str, data: bytes) -> None:
        """Adds (or replaces) artifact `name`; for tests that build an `InitContext`."""
        self._by_name[name] = Artifact(sha256, bytes(data))

    def get(self, name: str) -> Artifact:
        """Artifact `name`; a `ParamError` lists the names the manifest gave."""
        try:
            return self._by_name[name]
        except KeyError:
            names = ", ".join(sorted(self._by_name))
            raise ParamError(
                None, f"artifact `{name}` is not in the manifest's [artifacts] (it names: [{names}])"
            ) from None

    def bytes(self, name: str) -> bytes:
        """The bytes of artifact `name`."""
        return self.get(name).data

    def text(self, name: str) -> str:
        """Artifact `name` as UTF-8 text."""
        try:
            return self.bytes(name).decode("utf-8")
        except UnicodeDecodeError as e:
            raise ParamError(None, f"artifact `{name}` is not UTF-8 text: {e}") from None

    def json(self, name: str) -> Any:
        """Artifact `name` parsed from JSON."""
        try:
            return _json.loads(self.text(name))
        except ValueError as e:
            raise ParamError(None, f"artifact `{name}` is not valid JSON for this strategy: {e}") from None

    def names(self) -> Iterator[str]:
        """Names, sorted."""
        return iter(sorted(self._by_name))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Artifacts) and self._by_name == other._by_name

    def __repr__(self) -> str:
        return f"Artifacts({sorted(self._by_name)})"
