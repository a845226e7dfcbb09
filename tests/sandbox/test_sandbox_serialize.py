"""Tagged JSON across the sandbox boundary: round trips, hostile objects, malformed data."""

from __future__ import annotations

import json
import math

import pytest

from realcode.sandbox.serialize import DecodeError, Opaque, TypeRef, decode, encode


def roundtrip(value: object) -> object:
    return decode(json.loads(json.dumps(encode(value), allow_nan=False)))


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -(10**30),
        1.5,
        "text ünicode",
        [1, [2, "x"]],
        (1, (2, 3)),
        {"a": 1, "b": [1, 2]},
        {1: "int key", (1, 2): "tuple key", None: 0},
        {"__tuple__": "a key that looks like a tag"},
        b"\x00\xffbytes",
        bytearray(b"abc"),
        {1, 2, 3},
        frozenset({"a"}),
        {(1, 2), (3, 4)},
    ],
)
def test_plain_values_round_trip(value: object) -> None:
    expected = bytes(value) if isinstance(value, bytearray) else value
    expected = set(expected) if isinstance(expected, frozenset) else expected
    assert roundtrip(value) == expected
    assert type(roundtrip(value)) is type(expected)


def test_non_finite_floats_round_trip() -> None:
    assert math.isnan(roundtrip(float("nan")))  # type: ignore[arg-type]
    assert roundtrip(float("inf")) == float("inf")
    assert roundtrip([float("-inf")]) == [float("-inf")]


def test_classes_become_type_references() -> None:
    assert roundtrip(ValueError) == TypeRef("ValueError")


class AlwaysEqual:
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__


def test_object_that_equals_everything_becomes_opaque_and_equals_nothing() -> None:
    value = roundtrip(AlwaysEqual())
    assert isinstance(value, Opaque)
    assert value.type_name == "AlwaysEqual"
    for other in (1, "x", None, [], Opaque("object", "x")):
        assert value != other


class SneakyStr(str):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = str.__hash__

    def __str__(self) -> str:
        return "forged"


class SneakyList(list[int]):
    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter([99])


def test_subclasses_of_builtins_are_read_through_the_base_type() -> None:
    decoded = roundtrip(SneakyStr("real"))
    assert decoded == "real" and type(decoded) is str
    assert roundtrip(SneakyList([1, 2])) == [1, 2]


def test_cycles_and_depth_do_not_recurse_forever() -> None:
    cyclic: list[object] = [1]
    cyclic.append(cyclic)
    decoded = roundtrip(cyclic)
    assert isinstance(decoded, list) and decoded[0] == 1 and isinstance(decoded[1], Opaque)
    deep: list[object] = []
    for _ in range(500):
        deep = [deep]
    roundtrip(deep)  # must not raise RecursionError


def test_hostile_repr_is_contained() -> None:
    class BadRepr:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert roundtrip(BadRepr()) == Opaque(
        "test_hostile_repr_is_contained.<locals>.BadRepr", "<unrepresentable>"
    )


@pytest.mark.parametrize(
    "data",
    [{"__float__": "1e5"}, {"__bytes__": "not base64!"}, {"__tuple__": 5}, object()],
)
def test_malformed_data_raises_decode_error(data: object) -> None:
    with pytest.raises(DecodeError):
        decode(data)
