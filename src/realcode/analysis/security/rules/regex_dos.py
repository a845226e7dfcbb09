"""CWE-1333: regular-expression literals with catastrophic backtracking.

A small analyzer of the regex's *parsed structure* (``re._parser``, the parser ``re`` itself uses), not a
regex over regex text. Python's engine backtracks, so two shapes blow up:

* **exponential**: an unbounded repeat whose body can match the same string in several ways, so that a run
  of one character can be split between iterations in exponentially many ways: nested quantifiers
  ``(a+)+``, ``(\\w+\\s?)*``, ``(.*)*`` and overlapping alternatives ``(a|a)*``, ``(\\w|\\d)+``;
* **polynomial**: a run of one character ``c`` that ``k`` unbounded repeats in sequence can each consume,
  followed by something that fails on it, costs O(n^k) per attempt, and an unanchored search (``re.search``,
  ``findall``, ``sub``, ...) adds one more factor when the run can also start a match: ``<(.*?)>`` on
  ``"<<<<..."`` is quadratic, ``(.+?)\\((.*)\\)`` on ``"((((..."`` cubic.

The analysis pumps single characters only (ASCII plus one stand-in for everything else). Blind spots:
ambiguity that needs a multi-character pump (``(ab|a)(bab)*``-style overlaps), back-references, and look-around
are not modelled; bounded repeats are treated as safe whatever their bound.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from realcode.analysis.findings import Confidence, Finding, Severity
from realcode.analysis.security.rules._pure_ast import ModuleFacts, argument, facts_of
from realcode.analysis.security.rules.base import Rule, register

try:  # Python >= 3.11
    import re._constants as sre_c
    import re._parser as sre_parse
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as sre_c  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

if TYPE_CHECKING:
    from realcode.analysis.security.context import AnalysisContext

_OTHER = 128  # stands for every non-ASCII character
_ALL = frozenset(range(129))
_WORD = frozenset(c for c in range(128) if chr(c).isalnum() or chr(c) == "_") | {_OTHER}
_DIGIT = frozenset(c for c in range(128) if chr(c).isdigit())
_SPACE = frozenset(c for c in range(128) if chr(c).isspace())
_CATEGORIES: dict[Any, frozenset[int]] = {
    sre_c.CATEGORY_DIGIT: _DIGIT,
    sre_c.CATEGORY_NOT_DIGIT: _ALL - _DIGIT,
    sre_c.CATEGORY_WORD: _WORD,
    sre_c.CATEGORY_NOT_WORD: _ALL - _WORD,
    sre_c.CATEGORY_SPACE: _SPACE,
    sre_c.CATEGORY_NOT_SPACE: _ALL - _SPACE,
}
_REPEATS = {sre_c.MAX_REPEAT, sre_c.MIN_REPEAT}
_END_ANCHORS = {sre_c.AT_END, sre_c.AT_END_STRING}
_START_ANCHORS = {sre_c.AT_BEGINNING, sre_c.AT_BEGINNING_STRING}
_MAX_LEN = 2000  # longer literals are not analysed (bounded time on huge inputs)
# A polynomial pattern is reported when a 10 kB input costs at least 10^7 character steps. A chain of ``d``
# repeats pumped by a word of ``L`` characters costs about N^d / L^(d-1) steps on N characters (each repeat can
# stop at N/L places, the last one scans N characters), so every quadratic pattern pumped by one character
# (10^8 steps) is reported, and quadratic ones pumped by words of up to 10 characters; a 17-character phrase
# repeated (``SELECT (.*) FROM t WHERE (.*)``) is not. Exponential patterns are always reported.
INPUT_SIZE = 10_000
REPORT_STEPS = 1e7


@dataclass(frozen=True)
class Backtracking:
    """What the analyzer found in one pattern."""

    kind: str  # "exponential" or "polynomial"
    degree: int  # polynomial degree (0 for exponential)
    witness: str  # the character run that triggers it, e.g. "'<' * n"
    pump_length: int = 1  # characters per repetition of the run

    @property
    def steps_at_10kb(self) -> float:
        """Rough backtracking steps on a 10,000-character input (how practical an attack is)."""
        if self.kind == "exponential":
            return float("inf")
        return float(INPUT_SIZE**self.degree / max(1, self.pump_length) ** (self.degree - 1))


class _Analyzer:
    def __init__(self, flags: int) -> None:
        self.ignorecase = bool(flags & re.IGNORECASE)
        self.dotall = bool(flags & re.DOTALL)
        self.multiline = bool(flags & re.MULTILINE)

    # --- character sets of single-character elements --------------------------------------------------

    def single(self, op: Any, av: Any) -> frozenset[int] | None:
        """The characters a one-character element matches; None for anything else."""
        if op is sre_c.LITERAL:
            return self._case({min(av, _OTHER)})
        if op is sre_c.NOT_LITERAL:
            return _ALL - self._case({min(av, _OTHER)}) | {_OTHER}
        if op is sre_c.ANY:
            return _ALL if self.dotall else _ALL - {10}
        if op is sre_c.IN:
            out: set[int] = set()
            negate = False
            for iop, iav in av:
                if iop is sre_c.NEGATE:
                    negate = True
                elif iop is sre_c.LITERAL:
                    out |= self._case({min(iav, _OTHER)})
                elif iop is sre_c.RANGE:
                    lo, hi = iav
                    out |= self._case(set(range(min(lo, 128), min(hi, 127) + 1)))
                    if hi >= 128:
                        out.add(_OTHER)
                elif iop is sre_c.CATEGORY:
                    out |= _CATEGORIES.get(iav, _ALL)
                else:
                    out |= _ALL
            return frozenset(_ALL - out | {_OTHER}) if negate else frozenset(out)
        return None

    def _case(self, chars: set[int]) -> frozenset[int]:
        if not self.ignorecase:
            return frozenset(chars)
        more = set(chars)
        for c in chars:
            if c < 128:
                more |= {ord(chr(c).lower()), ord(chr(c).upper())} - {c} & set(range(128))
        return frozenset(more)

    # --- structural predicates ----------------------------------------------------------------------------

    def flatten(self, sub: Any) -> list[tuple[Any, Any]]:
        """Elements of a sequence with capturing/non-capturing groups opened (groups do not change matching)."""
        out: list[tuple[Any, Any]] = []
        for op, av in sub:
            if op is sre_c.SUBPATTERN:
                out.extend(self.flatten(av[-1]))
            else:
                out.append((op, av))
        return out

    def nullable(self, op: Any, av: Any) -> bool:
        if op in _REPEATS or op is getattr(sre_c, "POSSESSIVE_REPEAT", None):
            return av[0] == 0 or all(self.nullable(o, a) for o, a in self.flatten(av[2]))
        if op is sre_c.BRANCH:
            return any(all(self.nullable(o, a) for o, a in self.flatten(b)) for b in av[1])
        if op is sre_c.AT:
            return av not in _END_ANCHORS  # an end anchor "fails" on a trailing character
        if op in {sre_c.ASSERT, sre_c.ASSERT_NOT}:
            return True
        if op is sre_c.SUBPATTERN:
            return all(self.nullable(o, a) for o, a in self.flatten(av[-1]))
        return False

    def run_set(self, sub: Any) -> frozenset[int]:
        """Characters ``c`` such that ``sub`` can match a run ``c c c ...`` (every element takes c or nothing)."""
        elems = self.flatten(sub)
        if not elems:
            return frozenset()
        acc = _ALL
        non_null = False
        for op, av in elems:
            chars = self.element_chars(op, av)
            if chars is None:
                if self.nullable(op, av):
                    continue
                return frozenset()
            if not self.nullable(op, av):
                non_null = True
                acc = acc & chars
            elif op in _REPEATS:
                continue
        return acc if non_null else frozenset()

    def element_chars(self, op: Any, av: Any) -> frozenset[int] | None:
        """Characters a single element can consume one at a time (a class, or a repeat/group of one)."""
        s = self.single(op, av)
        if s is not None:
            return s
        if op in _REPEATS:
            return self.run_set(av[2]) or None
        if op is sre_c.BRANCH:
            sets = [self.run_set(b) for b in av[1]]
            return frozenset().union(*sets) or None
        return None

    def unbounded(self, op: Any, av: Any) -> bool:
        return op in _REPEATS and av[1] == sre_c.MAXREPEAT

    # --- exponential ----------------------------------------------------------------------------------------

    def exponential(self, sub: Any) -> str | None:
        for op, av in self.walk(sub):
            if not self.unbounded(op, av):
                continue
            body = self.flatten(av[2])
            # a repeat inside the body that can take the same run the outer repeat iterates over
            for i, (iop, iav) in enumerate(body):
                inner_chars = self.run_set(iav[2]) if self.unbounded(iop, iav) else frozenset()
                if not inner_chars:
                    continue
                common = set(inner_chars)
                for j, (jop, jav) in enumerate(body):
                    if j == i or self.nullable(jop, jav):
                        continue
                    chars = self.element_chars(jop, jav)
                    common &= chars or set()
                if common:
                    return _witness(common)
            # overlapping alternatives
            for bop, bav in body:
                if bop is not sre_c.BRANCH:
                    continue
                alts = bav[1]
                for x in range(len(alts)):
                    for y in range(x + 1, len(alts)):
                        if repr(alts[x]) == repr(alts[y]):
                            run = self.run_set(av[2])
                            return _witness(run) if run else "repetitions of the group"
                        a, b = self._alt_chars(alts[x]), self._alt_chars(alts[y])
                        if a and b and a & b and len(body) == 1:
                            return _witness(a & b)
        return None

    def _alt_chars(self, alt: Any) -> frozenset[int]:
        elems = self.flatten(alt)
        if len(elems) != 1:
            return frozenset()
        return self.element_chars(*elems[0]) or frozenset()

    def walk(self, sub: Any) -> Iterator[tuple[Any, Any]]:
        for op, av in sub:
            yield op, av
            if op is sre_c.SUBPATTERN:
                yield from self.walk(av[-1])
            elif op in _REPEATS or op is getattr(sre_c, "POSSESSIVE_REPEAT", None):
                yield from self.walk(av[2])
            elif op is sre_c.BRANCH:
                for b in av[1]:
                    yield from self.walk(b)
            elif op in {sre_c.ASSERT, sre_c.ASSERT_NOT}:
                yield from self.walk(av[1])

    # --- polynomial -------------------------------------------------------------------------------------------

    def polynomial(self, sub: Any, *, search: bool, full: bool) -> tuple[int, str, int]:
        """The highest polynomial degree over pumped runs, and a witness run.

        A chain starts at an unbounded repeat ``Q``; the pump is a word ``w`` made of characters every repeat
        of the chain accepts, including one character for each fixed element between two repeats (so that
        ``\\[(.*?)\\] (.*?):`` is pumped with ``"] "``). Each repeat of the chain adds one to the degree when
        a later element can reject the run; an unanchored search adds one more when the run can also start a
        match (every element before the chain can take a pump character).
        """
        elems = self.flatten(sub)
        anchored = bool(elems) and elems[0][0] is sre_c.AT and elems[0][1] in _START_ANCHORS
        if anchored and not (self.multiline and elems[0][1] is sre_c.AT_BEGINNING):
            search = False  # anchored at the start of the string: one attempt
            elems = elems[1:]
        if full:
            elems = [*elems, (sre_c.AT, sre_c.AT_END_STRING)]
        best, witness, length, best_steps = 0, "", 1, 0.0
        for start, (op, av) in enumerate(elems):
            if not self.unbounded(op, av):
                continue
            acc = self.run_set(av[2])
            if not acc:
                continue
            degree, word, pool, fail_at, chain_acc = self._chain(elems, start, acc)
            if degree == 0:
                continue
            if search:
                starts = self._start_chars(elems[:start], frozenset(word) if word else chain_acc)
                if starts is not None and (word or self._rejects(elems[fail_at:], {*starts, *word})):
                    degree += 1
                    word = starts + word if starts else word
            pump = word or [min(pool, key=_preference)]
            steps = INPUT_SIZE**degree / len(pump) ** (degree - 1)
            if steps > best_steps:
                best, witness, length, best_steps = degree, _run(pump), len(pump), steps
        return best, witness, length

    def _chain(
        self, elems: list[tuple[Any, Any]], start: int, acc: frozenset[int]
    ) -> tuple[int, list[int], frozenset[int], int, frozenset[int]]:
        """The best chain from ``elems[start]``: (degree, pump word, characters the rejecting element refuses,
        index of that element, characters every repeat of the chain accepts)."""
        degree, best, best_word, best_at = 1, 0, [], len(elems)
        best_pool: frozenset[int] = frozenset()
        best_acc: frozenset[int] = acc
        word: list[int] = []  # one pump character per fixed element crossed
        last_run = acc  # what the latest repeat of the chain accepts
        for index in range(start + 1, len(elems)):
            op, av = elems[index]
            if self.unbounded(op, av):
                run = self.run_set(av[2])
                if run and set(word) <= run and acc & run:
                    acc = acc & run
                    last_run = run
                    degree += 1
                    continue
            if op is sre_c.AT and av in _END_ANCHORS:
                # an end anchor fails only on a character the latest repeat would not have consumed; under
                # MULTILINE ``$`` also accepts any newline, so ``[^\n]*$`` then always succeeds
                escape = _ALL - last_run - ({10} if av is sre_c.AT_END and self.multiline else set())
                if escape and degree > best:
                    best, best_word, best_pool, best_at, best_acc = degree, list(word), acc, index, acc
                break
            if self.nullable(op, av):
                continue
            chars = self.element_chars(op, av)
            pool = acc - (chars or frozenset())
            if pool and not set(word) & (chars or frozenset()) and degree > best:
                # this element can reject the run: every repeat so far backtracks over it
                best, best_word, best_pool, best_at, best_acc = degree, list(word), pool, index, acc
            both = (chars or frozenset()) & acc
            if not both:
                break
            word.append(min(both, key=_preference))
        return best, best_word, best_pool, best_at, best_acc

    def _rejects(self, suffix: list[tuple[Any, Any]], pump: set[int]) -> bool:
        """Some required element of ``suffix`` matches no character of the pump, so the match must fail."""
        for op, av in suffix:
            if self.nullable(op, av):
                continue
            chars = self.element_chars(op, av)
            if chars is None or not chars & pump:
                return True
        return False

    def _start_chars(self, prefix: list[tuple[Any, Any]], pump: frozenset[int]) -> list[int] | None:
        """Characters that let the pumped run start a new match at each repetition, or None if it cannot."""
        out: list[int] = []
        for op, av in prefix:
            if op is sre_c.AT and av in _START_ANCHORS:
                if self.multiline and av is sre_c.AT_BEGINNING and 10 in pump:
                    out.append(10)  # ``^`` under MULTILINE starts again after every newline
                    continue
                return None
            if op is sre_c.BRANCH:
                starts = self._branch_start(av[1], pump)
                if starts is None:
                    return None
                out.extend(starts)
                continue
            if self.nullable(op, av):
                continue
            chars = (self.element_chars(op, av) or frozenset()) & pump
            if not chars:
                return None
            out.append(min(chars, key=_preference))
        return out

    def _branch_start(self, alternatives: list[Any], pump: frozenset[int]) -> list[int] | None:
        """How a run restarts through an alternation (``(?:^|[\r\n])``): [] when an alternative matches
        nothing, one pump character when one must be consumed, None when every alternative blocks it."""
        options: list[list[int]] = []
        for alt in alternatives:
            found = self._start_chars(self.flatten(alt), pump)
            if found is not None:
                options.append(found)
        return min(options, key=len) if options else None


def _run(chars: list[int]) -> str:
    text = "".join(chr(c) if c < 128 else "\u00e9" for c in chars)
    return f"{text!r} * n"


def _preference(c: int) -> tuple[int, int]:
    """Readable witnesses first: letters and digits, then other printable characters."""
    if c >= 128:
        return (3, c)
    ch = chr(c)
    return (0 if ch.isalnum() else 1 if ch.isprintable() else 2, c)


def _witness(chars: Iterable[int]) -> str:
    c = min(chars, key=_preference)
    return f"{chr(c)!r} * n" if c < 128 else "a non-ASCII character * n"


@lru_cache(maxsize=2048)
def analyze(pattern: str, flags: int = 0, *, search: bool = True, full: bool = False) -> Backtracking | None:
    """The worst backtracking behaviour of ``pattern``, or None when it is linear (or does not parse).

    ``search``: used with an unanchored search (``re.search``, ``findall``, ``sub``...); ``full``: used with
    ``fullmatch``. Exponential patterns are always reported, polynomial ones (quadratic and worse) when a
    10 kB input costs at least :data:`REPORT_STEPS` backtracking steps.
    """
    if len(pattern) > _MAX_LEN:
        return None
    try:
        parsed = sre_parse.parse(pattern, flags)
    except (re.error, RecursionError, OverflowError, ValueError):
        return None
    an = _Analyzer(parsed.state.flags)
    try:
        exp = an.exponential(parsed)
        if exp is not None:
            return Backtracking("exponential", 0, exp)
        degree, witness, length = an.polynomial(parsed, search=search, full=full)
    except RecursionError:
        return None
    found = Backtracking("polynomial", degree, witness, length)
    return found if degree >= 2 and found.steps_at_10kb >= REPORT_STEPS else None


# re functions: (pattern position, flags position, how the pattern is applied)
_RE_FUNCS: dict[str, tuple[int, int, str]] = {
    "re.search": (0, 2, "search"),
    "re.match": (0, 2, "match"),
    "re.fullmatch": (0, 2, "full"),
    "re.findall": (0, 2, "search"),
    "re.finditer": (0, 2, "search"),
    "re.sub": (0, 4, "search"),
    "re.subn": (0, 4, "search"),
    "re.split": (0, 3, "search"),
    "re.compile": (0, 1, "compile"),
}
_METHOD_MODE = {
    "search": "search",
    "findall": "search",
    "finditer": "search",
    "sub": "search",
    "subn": "search",
    "split": "search",
    "match": "match",
    "fullmatch": "full",
}


@register
class CatastrophicRegex(Rule):
    """A regular-expression literal whose matching time explodes on crafted input (ReDoS).

    Bad::

        re.match(r"^(\\w+\\s?)*$", text)       # exponential on "aaaa...!"
        re.findall(r"<(.*?)>", html)          # quadratic on "<<<<..."

    Good::

        re.match(r"^[\\w\\s]*$", text)
        re.findall(r"<([^<>]{1,100})>", html)
    """

    id = "RC-REDOS-001"
    cwe = "CWE-1333"
    name = "catastrophic-backtracking-regex"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    blind_spots = (
        "Only single-character pumps are tried (multi-character overlaps are missed); patterns built at run "
        "time are left to the taint rules; a compiled pattern whose use is not visible is assumed to be "
        "searched (unanchored)."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        facts = facts_of(ctx)
        if not facts.imports_any("re"):
            return
        for call, name in facts.calls():
            spec = _RE_FUNCS.get(name)
            if spec is None:
                continue
            func = facts.enclosing_function(call)
            pattern_node = argument(call, spec[0], "pattern")
            pattern = facts.literal(pattern_node, func)
            if not isinstance(pattern, str):
                continue
            flags = flag_value(facts, argument(call, spec[1], "flags"), func)
            mode = spec[2] if spec[2] != "compile" else _compiled_use(facts, call)
            result = analyze(pattern, flags, search=mode == "search", full=mode == "full")
            if result is None:
                continue
            if result.kind == "exponential":
                message = (
                    f"regex {pattern!r} backtracks exponentially on {result.witness} followed by a mismatch"
                )
                yield self.finding(ctx, call, message, severity=Severity.HIGH, confidence=Confidence.HIGH)
            else:
                power = {2: "quadratic", 3: "cubic"}.get(result.degree, f"O(n^{result.degree})")
                message = f"regex {pattern!r} takes {power} time on {result.witness}; bound the repeats"
                # quadratic needs large inputs to hurt; cubic and worse do not
                yield self.finding(
                    ctx, call, message, severity=Severity.LOW if result.degree == 2 else Severity.MEDIUM
                )


def flag_value(
    facts: ModuleFacts, node: ast.AST | None, func: ast.FunctionDef | ast.AsyncFunctionDef | None = None
) -> int:
    """A regex flags argument (``re.I | re.S``, an int, a name bound to either) as an int (0 when unknown)."""
    if node is None:
        return 0
    value = facts.literal(node, func)
    if isinstance(value, int):
        return value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return flag_value(facts, node.left, func) | flag_value(facts, node.right, func)
    name = facts.qualified_name(node) or ""
    if name.startswith("re."):
        value = getattr(re, name.rsplit(".", 1)[-1], 0)
        return int(value) if isinstance(value, int) else 0
    return 0


def _compiled_use(facts: ModuleFacts, compile_call: ast.Call) -> str:
    """How a compiled pattern is used: the most permissive mode among the methods called on it."""
    parent = facts.parents.get(compile_call)
    if isinstance(parent, ast.Attribute):
        return _METHOD_MODE.get(parent.attr, "search")
    target: str | None = None
    if isinstance(parent, ast.Assign) and len(parent.targets) == 1:
        t = parent.targets[0]
        if isinstance(t, ast.Name):
            target = t.id
        elif isinstance(t, ast.Attribute):
            target = t.attr
    if target is None:
        return "search"
    modes: set[str] = set()
    for node in facts.nodes:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            recv = node.func.value
            recv_name = (
                recv.id
                if isinstance(recv, ast.Name)
                else recv.attr
                if isinstance(recv, ast.Attribute)
                else None
            )
            if recv_name == target and node.func.attr in _METHOD_MODE:
                modes.add(_METHOD_MODE[node.func.attr])
    if not modes or "search" in modes:
        return "search"
    return "match" if "match" in modes else "full"
