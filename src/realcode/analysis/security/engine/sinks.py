"""Sinks as data: which calls, which arguments, under which conditions.

A :class:`Sink` names calls by qualified name (``os.system``; imports and aliases resolved) and/or by method
name on any receiver (``.execute``), the arguments that must not be tainted (positions and keywords), and an
optional condition on the call (``shell=True``). Rules declare tuples of sinks; :func:`match_sink` does the rest.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from realcode.analysis.security.engine.names import qualify

CallPredicate = Callable[[ast.Call, dict[str, str]], bool]


@dataclass(frozen=True)
class Sink:
    """A dangerous call and the arguments that must not carry attacker data."""

    label: str  # shown in messages, e.g. "os.system"
    names: frozenset[str] = frozenset()  # qualified names
    methods: frozenset[str] = frozenset()  # method names on any receiver
    args: tuple[int, ...] = (0,)
    keywords: tuple[str, ...] = ()
    when: CallPredicate | None = None
    receiver_names: frozenset[str] = field(default_factory=frozenset)  # methods: receiver must qualify to one


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def is_true(expr: ast.expr | None) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is True


def match_sink(sink: Sink, call: ast.Call, imports: dict[str, str], qualified: str | None = None) -> bool:
    """Whether ``call`` is an instance of ``sink`` (``qualified``: the call's qualified name, if known)."""
    q = qualified if qualified is not None else qualify(call.func, imports)
    hit = q is not None and q in sink.names
    if not hit and sink.methods and isinstance(call.func, ast.Attribute) and call.func.attr in sink.methods:
        if sink.receiver_names:
            rq = qualify(call.func.value, imports)
            hit = rq is not None and any(rq == r or rq.startswith(r + ".") for r in sink.receiver_names)
        else:
            hit = q is None or q not in _NOT_SINKS
    if not hit:
        return False
    return sink.when is None or sink.when(call, imports)


# Qualified names that share a sink's method name but are harmless.
_NOT_SINKS = frozenset({"re.compile"})


def sink_arguments(sink: Sink, call: ast.Call) -> Iterator[ast.expr]:
    for i in sink.args:
        if 0 <= i < len(call.args):
            yield call.args[i]
    for name in sink.keywords:
        value = keyword(call, name)
        if value is not None:
            yield value
