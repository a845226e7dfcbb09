"""Tagged JSON for values that cross the sandbox boundary.

``encode`` runs inside the sandbox on whatever the untrusted code returned; ``decode`` runs on the host and
rebuilds plain Python values. Nothing is ever pickled or evaluated. Anything that is not plain data (an
instance of a user class, a generator, an object whose ``__eq__`` always answers True) becomes an
:class:`Opaque` holding only its type name and repr, which compares equal to nothing but an identical
:class:`Opaque`, so a hostile object can never pass a comparison by construction.

Tags: ``{"__tuple__": [...]}``, ``{"__bytes__": "<base64>"}``, ``{"__set__": [...]}``,
``{"__float__": "nan" | "inf" | "-inf"}``, ``{"__dict__": [[k, v], ...]}`` (non-string keys, or string keys
that look like a tag), ``{"__type__": "ValueError"}`` and ``{"__object__": "<type name>", "repr": "..."}``.

This module must import nothing from the rest of the package: the sandbox worker loads it as a plain file.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import Any

TAGS = frozenset({"__tuple__", "__bytes__", "__set__", "__float__", "__dict__", "__type__", "__object__"})
MAX_DEPTH = 64  # deeper structures are reported opaquely rather than risking the C stack
MAX_REPR = 2000  # characters of repr kept for opaque values


@dataclass(frozen=True)
class Opaque:
    """A value the sandbox could not express as data: only its type name and (truncated) repr survive."""

    type_name: str
    repr: str

    def __str__(self) -> str:
        return self.repr


@dataclass(frozen=True)
class TypeRef:
    """A class returned as a value (for instance an exception class): known by name only."""

    name: str


def _safe_repr(value: object) -> str:
    try:
        text = repr(value)
        if type(text) is not str:  # a hostile __repr__ may return a str subclass
            text = str.__str__(text) if isinstance(text, str) else "<unrepresentable>"
    except BaseException:  # a hostile __repr__ may raise anything; the value is still reported
        text = "<unrepresentable>"
    return text[:MAX_REPR]


def _type_name(value: object) -> str:
    name = getattr(type(value), "__qualname__", None)
    return name if type(name) is str else "object"


def _opaque(value: object) -> dict[str, Any]:
    return {"__object__": _type_name(value), "repr": _safe_repr(value)}


def encode(value: Any, _depth: int = 0, _seen: frozenset[int] = frozenset()) -> Any:
    """Turn a value into JSON-able tagged data.

    Subclasses of builtin types are read through the base type's own methods, so overriding ``__eq__``,
    ``__iter__``, ``__str__`` and friends on a subclass changes nothing.
    """
    kind = type(value)
    if value is None or kind is bool:
        return value
    if isinstance(value, bool):  # unreachable: bool cannot be subclassed; keeps the int branch exact
        return bool(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        number = float.__float__(value)
        if math.isnan(number):
            return {"__float__": "nan"}
        if math.isinf(number):
            return {"__float__": "inf" if number > 0 else "-inf"}
        return number
    if isinstance(value, str):
        return str.__getitem__(value, slice(None))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"__bytes__": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, type):
        # Read through type's own descriptor: a metaclass cannot fake the name.
        name = type.__dict__["__qualname__"].__get__(value, type)
        return {"__type__": name if type(name) is str else _safe_repr(value)}
    if _depth >= MAX_DEPTH or id(value) in _seen:
        return _opaque(value)
    seen = _seen | {id(value)}
    depth = _depth + 1
    if isinstance(value, list):
        return [encode(item, depth, seen) for item in list.__iter__(value)]
    if isinstance(value, tuple):
        return {"__tuple__": [encode(item, depth, seen) for item in tuple.__iter__(value)]}
    if isinstance(value, (set, frozenset)):
        members = set.__iter__(value) if isinstance(value, set) else frozenset.__iter__(value)
        return {"__set__": [encode(item, depth, seen) for item in members]}
    if isinstance(value, dict):
        pairs = list(dict.items(value))
        if all(type(key) is str and key not in TAGS for key, _ in pairs):
            return {key: encode(item, depth, seen) for key, item in pairs}
        return {"__dict__": [[encode(key, depth, seen), encode(item, depth, seen)] for key, item in pairs]}
    module = getattr(kind, "__module__", None)
    if module == "numpy" and callable(getattr(value, "tolist", None)):
        # numpy scalars and arrays are data; a fake "numpy" class only gets its own tolist() encoded again.
        try:
            return encode(value.tolist(), depth, seen)
        except BaseException:
            return _opaque(value)
    return _opaque(value)


class DecodeError(ValueError):
    """The sandbox sent data that is not valid tagged JSON."""


def _hashable(value: Any) -> Any:
    if isinstance(value, set):
        return frozenset(value)
    if isinstance(value, list):
        return tuple(_hashable(item) for item in value)
    if isinstance(value, dict):
        return Opaque("dict", repr(value))
    return value


def decode(data: Any) -> Any:
    """Rebuild Python values from tagged JSON: tuples, bytes, sets, non-finite floats, dicts with any keys.

    Opaque objects become :class:`Opaque` and classes :class:`TypeRef`. Raises :class:`DecodeError` on a
    malformed tag.
    """
    if data is None or type(data) in (bool, int, float, str):
        return data
    if type(data) is list:
        return [decode(item) for item in data]
    if type(data) is not dict:
        raise DecodeError(f"unexpected {type(data).__name__} in sandbox data")
    tags = TAGS.intersection(data)
    if not tags:
        return {key: decode(item) for key, item in data.items()}
    tag = next(iter(tags))
    payload = data[tag]
    try:
        if tag == "__tuple__":
            return tuple(decode(item) for item in payload)
        if tag == "__bytes__":
            return base64.b64decode(payload, validate=True)
        if tag == "__set__":
            return {_hashable(decode(item)) for item in payload}
        if tag == "__float__":
            if payload not in ("nan", "inf", "-inf"):
                raise DecodeError(f"bad float tag {payload!r}")
            return float(payload)
        if tag == "__dict__":
            return {_hashable(decode(key)): decode(item) for key, item in payload}
        if tag == "__type__":
            return TypeRef(str(payload))
        return Opaque(str(payload), str(data.get("repr", "")))
    except DecodeError:
        raise
    except (TypeError, ValueError) as exc:
        raise DecodeError(f"malformed {tag} value: {exc}") from None
