"""Comparisons on decoded data: tolerance, containers, exceptions by name, stdout modes."""

from __future__ import annotations

import json
import math

import pytest

from realcode.judge.compare import (
    display,
    exception_matches,
    stdout_equal,
    strip_prompts,
    type_marker,
    values_equal,
)
from realcode.sandbox.serialize import Opaque, TypeRef


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        (0.3, 0.1 + 0.2),
        (1e-12, 0.0),
        ([1.0, (2, 3)], (1.0000000001, [2, 3])),
        ({"a": [0.5, 1]}, {"a": (0.5000000001, 1)}),
        (float("nan"), float("nan")),
        (10**40, 10**40),
        (True, 1),
        ({1, 2}, {2, 1}),
        (b"\x00", b"\x00"),
        (None, None),
        (TypeRef("ValueError"), TypeRef("ValueError")),
        (TypeRef("<class 'ValueError'>"), TypeRef("ValueError")),
        (Opaque("Foo", "<Foo>"), Opaque("Foo", "<Foo>")),
    ],
)
def test_equal(expected: object, actual: object) -> None:
    assert values_equal(expected, actual)


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        (0.3, 0.31),
        (10**40, 10**40 + 1),
        ([1, 2], [1, 2, 3]),
        ({"a": 1}, {"a": 1, "b": 2}),
        ("1", 1),
        (b"a", "a"),
        (None, 0),
        (0, None),
        (None, False),
        (TypeRef("ValueError"), TypeRef("TypeError")),
        (Opaque("Foo", "<Foo>"), Opaque("Foo", "<Foo 2>")),
        ([1.0], [float("nan")]),
        ({"k": None}, {"k": []}),
    ],
)
def test_not_equal(expected: object, actual: object) -> None:
    assert not values_equal(expected, actual)


def test_exceptions_match_by_name_through_the_mro() -> None:
    assert exception_matches(
        "ValueError", "ValueError", ["ValueError", "Exception", "BaseException", "object"]
    )
    mro = ["JSONDecodeError", "ValueError", "Exception", "BaseException", "object"]
    assert exception_matches("ValueError", "JSONDecodeError", mro)
    assert not exception_matches("JSONDecodeError", "ValueError", ["ValueError", "Exception"])
    assert not exception_matches("ValueError", None, [])
    assert exception_matches("ValueError", "ValueError", [])  # no MRO reported: the type itself
    assert type_marker(TypeRef("KeyError")) == "KeyError"
    assert type_marker(TypeRef("<class 'json.decoder.JSONDecodeError'>")) == "JSONDecodeError"
    assert type_marker("KeyError") is None


def test_stdout_tokens_exact_fuzzy() -> None:
    assert stdout_equal("1 2\n3.0\n", "1  2 3.0000000001")
    assert not stdout_equal("1 2 3", "1 2")
    assert not stdout_equal("a b", "a c")
    assert stdout_equal("x\n", "x", mode="exact")
    assert not stdout_equal("x y", "x  y", mode="exact")
    assert stdout_equal("(1, 'Hammer')\n(2, 'Saw')", "(1,'hammer')(2, 'SAW')\n", mode="fuzzy")
    assert not stdout_equal("(1, 'Hammer')", "(1, 'Hammers')", mode="fuzzy")


def test_strip_prompts_in_order() -> None:
    assert strip_prompts("Name: Age: row\n", ["Name: ", "Age: "]) == "row"
    # a prompt that is not where the sequence expects it keeps the output whole, as REAL's harness does
    assert strip_prompts("A: r1\nB: r2\n", ["A: ", "B: "]) == "A: r1\nB: r2\n"
    assert strip_prompts("row\n", ["missing: "]) == "row\n"


def test_display_is_json_safe_and_capped() -> None:
    value = {
        "t": (1, b"\xff"),
        "s": {3, 1},
        2: float("inf"),
        "long": "x" * 5000,
        "n": math.nan,
        "c": TypeRef("E"),
    }
    shown = display(value)
    json.dumps(shown)  # must not raise
    assert shown["t"] == [1, "b'\\xff'"]
    assert shown["s"] == [1, 3]
    assert shown["c"] == "<class E>"
    assert len(shown["long"]) < 500
    assert len(display(list(range(1000)))) < 40
