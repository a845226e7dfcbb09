"""The taint value: which attacker-controlled origins a value may carry, and what each has been cleared for.

A :class:`Taint` maps each *origin* (a source occurrence, e.g. ``parameter `path` of read_file``) to the set of
vulnerability kinds (see :mod:`.models`) the value has been neutralized for on every path, plus marks such as
"path normalized". Joining two taints unions the origins and intersects the cleared sets of shared origins, so
a value is considered clean for a kind only when every path cleaned it; the "may" marks (:data:`MAY_MARKS`:
text was built or appended to a base path on *some* path) are united instead. A trace (source -> ... -> here) rides
along for reporting; it never takes part in equality, which keeps the fixpoint finite.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

Step = tuple[int, int, str]  # (line, column (0-based), note)
# Marks that hold when they hold on *some* path (the value may have been built/joined): see models.MARK_*.
MAY_MARKS: frozenset[str] = frozenset({"+built", "+joined"})
MAX_TRACE = 10

_EMPTY: frozenset[str] = frozenset()


class Taint:
    """An immutable taint value (see module docstring)."""

    __slots__ = ("flows", "trace")

    def __init__(self, flows: Mapping[str, frozenset[str]], trace: tuple[Step, ...] = ()) -> None:
        self.flows: Mapping[str, frozenset[str]] = flows
        self.trace: tuple[Step, ...] = trace

    @staticmethod
    def source(origin: str, line: int, col: int, note: str, cleared: frozenset[str] = _EMPTY) -> Taint:
        return Taint({origin: cleared}, ((line, col, note),))

    @property
    def origins(self) -> frozenset[str]:
        return frozenset(self.flows)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Taint) and self.flows == other.flows

    def __hash__(self) -> int:
        return hash(frozenset(self.flows.items()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{o}: {sorted(c)}" for o, c in sorted(self.flows.items()))
        return f"Taint({{{inner}}})"

    def join(self, other: Taint | None) -> Taint:
        if other is None or other is self:
            return self
        flows = dict(self.flows)
        for origin, cleared in other.flows.items():
            mine = flows.get(origin)
            if mine is None:
                flows[origin] = cleared
            else:
                # cleared kinds must hold on every path; "may" marks (built, joined) on some path
                flows[origin] = (mine & cleared) | ((mine | cleared) & MAY_MARKS)
        trace = self.trace if len(self.trace) <= len(other.trace) or not other.trace else other.trace
        if not self.trace:
            trace = other.trace
        return Taint(flows, trace)

    def clear(self, kinds: Iterable[str]) -> Taint:
        kinds = frozenset(kinds)
        return Taint({o: c | kinds for o, c in self.flows.items()}, self.trace)

    def unclear(self, kinds: Iterable[str]) -> Taint:
        kinds = frozenset(kinds)
        return Taint({o: c - kinds for o, c in self.flows.items()}, self.trace)

    def live(self, kind: str) -> list[str]:
        """Origins that reach here *not* cleared for ``kind`` (empty: safe for that kind)."""
        return [o for o, c in self.flows.items() if kind not in c]

    def is_live(self, kind: str) -> bool:
        return any(kind not in c for c in self.flows.values())

    def live_where(self, kind: str, mark: str | None = None, external: bool = False) -> list[str]:
        """Origins live for ``kind`` that also carry ``mark`` or (with ``external``) are not parameters."""
        return [
            o
            for o, c in self.flows.items()
            if kind not in c
            and ((mark is not None and mark in c) or (external and not o.startswith("param:")))
        ]

    def all_have(self, mark: str) -> bool:
        return bool(self.flows) and all(mark in c for c in self.flows.values())

    def step(self, line: int, col: int, note: str) -> Taint:
        if len(self.trace) >= MAX_TRACE or (
            self.trace and self.trace[-1][0] == line and self.trace[-1][2] == note
        ):
            return self
        return Taint(self.flows, (*self.trace, (line, col, note)))


def join_all(taints: Iterable[Taint | None]) -> Taint | None:
    result: Taint | None = None
    for t in taints:
        if t is not None:
            result = t if result is None else result.join(t)
    return result


State = dict[str, Taint]


def join_states(a: State, b: State) -> State:
    out = dict(a)
    for k, v in b.items():
        mine = out.get(k)
        out[k] = v if mine is None else mine.join(v)
    return out


def states_equal(a: State, b: State) -> bool:
    return a.keys() == b.keys() and all(a[k] == b[k] for k in a)
