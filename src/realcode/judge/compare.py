"""Comparisons the judge makes on the trusted side, on decoded data.

Nothing here runs candidate code: values arrive decoded from the sandbox's tagged JSON
(:func:`realcode.sandbox.serialize.decode`: tuples, bytes, sets, ``nan`` floats, :class:`TypeRef` for classes,
:class:`Opaque` for other objects, which equals only an identical :class:`Opaque`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from realcode.sandbox.serialize import Opaque, TypeRef

REL_TOL = 1e-6
ABS_TOL = 1e-9

StdoutMode = Literal["tokens", "exact", "fuzzy"]


_CLASS_REPR = re.compile(r"<class '([\w.]+)'>")


def type_marker(value: Any) -> str | None:
    """The class name when ``value`` is the decoded form of a class (a :class:`TypeRef`), else None.

    A class may arrive named by its repr (``<class 'ValueError'>``); the bare name is returned either way.
    """
    if not isinstance(value, TypeRef):
        return None
    m = _CLASS_REPR.fullmatch(value.name)
    return (m.group(1) if m else value.name).rsplit(".", 1)[-1]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def numbers_close(expected: float, actual: float, rel_tol: float = REL_TOL, abs_tol: float = ABS_TOL) -> bool:
    """Float tolerance; two NaNs are equal (a harness that compares data, not IEEE identity)."""
    if isinstance(expected, int) and isinstance(actual, int):
        return expected == actual  # big ints lose precision as floats
    if math.isnan(expected) or math.isnan(actual):
        return math.isnan(expected) and math.isnan(actual)
    return math.isclose(expected, actual, rel_tol=rel_tol, abs_tol=abs_tol)


def values_equal(expected: Any, actual: Any, rel_tol: float = REL_TOL, abs_tol: float = ABS_TOL) -> bool:
    """Tolerant structural equality of two decoded values.

    Floats compare with ``rel_tol``/``abs_tol`` recursively; a list equals a tuple with equal items (the
    benchmarks' own harnesses compare through ``==`` after JSON round trips or ``np.array_equal``, which do
    not distinguish them); bools compare as the ints they are in Python (``True == 1``), as in those
    harnesses; classes compare by name.
    """
    if isinstance(expected, TypeRef) or isinstance(actual, TypeRef):
        return type_marker(expected) == type_marker(actual) is not None
    if _is_number(expected) and _is_number(actual):
        return numbers_close(expected, actual, rel_tol, abs_tol)
    if isinstance(expected, bool) or isinstance(actual, bool):
        numeric = isinstance(expected, int | float) and isinstance(actual, int | float)
        return numeric and bool(expected == actual)
    if isinstance(expected, str | bytes) or isinstance(actual, str | bytes):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, list | tuple) and isinstance(actual, list | tuple):
        return len(expected) == len(actual) and all(
            values_equal(e, a, rel_tol, abs_tol) for e, a in zip(expected, actual, strict=True)
        )
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        if set(expected) != set(actual):
            return False
        return all(values_equal(expected[k], actual[k], rel_tol, abs_tol) for k in expected)
    if isinstance(expected, set | frozenset) and isinstance(actual, set | frozenset):
        return expected == actual
    if expected is None or actual is None:
        return expected is actual
    try:
        return bool(expected == actual)
    except Exception:  # exotic decoded values; unequal is the safe answer
        return False


def exception_matches(expected_class: str, exc_type: str | None, exc_mro: Sequence[str]) -> bool:
    """Whether a raised exception satisfies an expected exception class, known only by name.

    The expected class matches the raised class or any of its bases (``exc_mro`` holds the names of the
    raised exception's classes, most derived first, as reported by the sandbox).
    """
    if exc_type is None:
        return False
    names = [n.rsplit(".", 1)[-1] for n in (exc_mro or [exc_type])]
    return expected_class.rsplit(".", 1)[-1] in names


# --- stdout -------------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _token_equal(expected: str, actual: str, rel_tol: float, abs_tol: float) -> bool:
    if expected == actual:
        return True
    if _NUMBER.fullmatch(expected) and _NUMBER.fullmatch(actual):
        return numbers_close(float(expected), float(actual), rel_tol, abs_tol)
    return False


def stdout_equal(
    expected: str,
    actual: str,
    mode: StdoutMode = "tokens",
    rel_tol: float = REL_TOL,
    abs_tol: float = ABS_TOL,
) -> bool:
    """Compare program output.

    * ``tokens``: whitespace-separated tokens, equal one by one; numeric tokens with float tolerance.
    * ``exact``: identical text, except a trailing newline.
    * ``fuzzy``: the SafeSQL/REAL harness rule: case-insensitive, spaces and newlines removed.
    """
    if mode == "exact":
        return expected.rstrip("\n") == actual.rstrip("\n")
    if mode == "fuzzy":
        return _fuzzy(expected) == _fuzzy(actual)
    exp_tokens, act_tokens = expected.split(), actual.split()
    return len(exp_tokens) == len(act_tokens) and all(
        _token_equal(e, a, rel_tol, abs_tol) for e, a in zip(exp_tokens, act_tokens, strict=True)
    )


def _fuzzy(text: str) -> str:
    return text.strip().lower().replace(" ", "").replace("\n", "")


def strip_prompts(stdout: str, prompts: Sequence[str]) -> str:
    """Remove the ``input()`` prompts a program echoed at the start of its output (REAL's SafeSQL rule).

    ``input(prompt)`` writes the prompt to stdout when stdin is not a terminal. REAL's harness removes the
    prompts one after the other from the beginning of the output; when they are not all there in sequence
    (a prompt printed after some rows, in a loop) it keeps the output whole. SafeSQL's expected outputs were
    recorded through that rule, so the judge applies it exactly, to the candidate's own prompts.
    """
    rest = stdout
    for prompt in prompts:
        if not rest.startswith(prompt):
            return stdout
        rest = rest[len(prompt) :]
    return rest.strip()


# --- display ------------------------------------------------------------------------------------------------

MAX_TEXT = 400
MAX_ITEMS = 30


def display(value: Any, depth: int = 0) -> Any:
    """A JSON-safe, size-capped view of a decoded value for verdicts (tuples become lists, bytes a repr)."""
    if depth > 6:
        return "..."
    if value is None or isinstance(value, bool | int):
        return value if not isinstance(value, int) or abs(value) < 10**30 else _cut(str(value))
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        return _cut(value)
    if isinstance(value, bytes):
        return _cut(repr(value))
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        if isinstance(value, set | frozenset):
            items = sorted(items, key=repr)
        shown = [display(v, depth + 1) for v in items[:MAX_ITEMS]]
        if len(items) > MAX_ITEMS:
            shown.append(f"... {len(items) - MAX_ITEMS} more")
        return shown
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for i, (k, v) in enumerate(value.items()):
            if i >= MAX_ITEMS:
                out["..."] = f"{len(value) - MAX_ITEMS} more"
                break
            out[k if isinstance(k, str) else repr(k)] = display(v, depth + 1)
        return out
    if isinstance(value, TypeRef):
        return f"<class {type_marker(value)}>"
    if isinstance(value, Opaque):
        return _cut(f"<{value.type_name}> {value.repr}")
    return _cut(repr(value))


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + f"... ({len(text)} chars)"
