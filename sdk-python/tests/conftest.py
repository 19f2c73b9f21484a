"""Shared paths and helpers of the SDK's tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sdk_paths import SDK

if str(SDK) not in sys.path:
    sys.path.insert(0, str(SDK))


@pytest.fixture
def logs():
    """Log records the SDK writes during the test, as (level name, message, fields)."""
    from alpha_panda import logger as log_module

    records: list[tuple[str, str, dict]] = []
    log_module.set_sink(lambda level, message, fields: records.append((level.name, message, dict(fields))))
    yield records
    log_module.set_sink(log_module._stderr)
