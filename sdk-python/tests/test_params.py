"""`Params`: typed access with defaults and ranges, errors naming the parameter."""

from __future__ import annotations

import math

import pytest

from alpha_panda import ParamError, Params


def test_typed_access_with_defaults():
    p = Params(n=20, x=2.5, on=True, name="abc", neg=-1)
    assert p.get("n", int) == 20
    assert p.get("neg", int) == -1
    assert p.get("n", float) == 20.0 and isinstance(p.get("n", float), float)
    assert p.get("x", float) == 2.5
    assert p.get("on", bool) is True
    assert p.get("name", str) == "abc"
    assert p.get_or("absent", 7) == 7
    assert p.get_opt("absent", float) is None
    assert p.get_or_in("n", 5, min=1) == 20
    assert p.get_or_in("absent", 0.5, min=0.0, max=1.0) == 0.5
    with pytest.raises(ParamError) as e:
        p.get_or_in("x", 0.1, min=0.0, max=1.0)
    assert str(e.value) == "parameter `x`: must be in 0.0..=1.0, found 2.5"
    with pytest.raises(ParamError, match="must be >= 0.0, found nan"):
        p.get_or_in("nan", math.nan, min=0.0)
    with pytest.raises(ParamError, match="must be <= 3, found 20"):
        p.get_or_in("n", 1, max=3)


def test_errors_name_the_parameter_and_the_expected_type():
    p = Params(n=2.5, flag=1, big=True)
    e = pytest.raises(ParamError, p.get_or, "n", 20).value
    assert (e.param, e.message) == ("n", "expected an integer, found float 2.5")
    assert pytest.raises(ParamError, p.get, "flag", bool).value.message == "expected a boolean, found integer 1"
    assert pytest.raises(ParamError, p.get, "big", int).value.message == "expected an integer, found boolean true"
    assert pytest.raises(ParamError, p.get, "big", float).value.param == "big"
    e = pytest.raises(ParamError, p.get, "missing", float).value
    assert str(e) == "parameter `missing`: missing (expected a number)"
    assert str(ParamError.general("no instruments")) == "no instruments"


def test_tracks_unread_and_duplicate_parameters():
    p = Params(a=1, b=2)
    assert p.first_unread() == "a"
    p.get_or("a", 0)
    assert p.first_unread() == "b"
    p.get_opt("c", float)
    assert p.asked_names() == ["a", "c"]
    with pytest.raises(ParamError) as e:
        Params.from_pairs([("a", 1), ("a", 2)])
    assert (e.value.param, e.value.message) == ("a", "given more than once")
    with pytest.raises(ParamError, match="not list"):
        Params(a=[1])
    assert dict(Params({"x": 1}, y=2).items()) == {"x": 1, "y": 2}
