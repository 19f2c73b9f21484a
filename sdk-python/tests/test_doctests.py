"""The examples in the SDK's docstrings run as written."""

import doctest

import pytest

from alpha_panda import params, runner
from alpha_panda.indicators import window


@pytest.mark.parametrize("module", [params, runner, window], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
