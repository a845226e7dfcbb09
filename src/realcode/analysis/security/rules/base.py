"""The rule interface and registry of the security analyzer.

A rule is a class with a stable id, a CWE, a severity, a confidence and a docstring that shows bad and good code
(the style of Bandit and ruff). Rules register themselves with :func:`register`; modules under
``realcode.analysis.security.rules`` are imported by :func:`all_rules`, one module per CWE family.
:class:`TaintSinkRule` is the declarative base of data-flow rules (a vulnerability kind plus a tuple of
:class:`~realcode.analysis.security.engine.sinks.Sink`); :func:`selected_rules` caches rule instances per
select/ignore choice (rules are stateless).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, ClassVar

from realcode.analysis.findings import Confidence, Finding, Location, Severity, TraceStep
from realcode.analysis.security.engine.sinks import Sink, match_sink, sink_arguments

if TYPE_CHECKING:
    from realcode.analysis.security.context import AnalysisContext


class Rule(ABC):
    """One check. Subclasses set the class variables and implement :meth:`check`.

    The docstring must show a bad and a good example; ``blind_spots`` says, in a sentence or two, what the rule
    cannot see.
    """

    id: ClassVar[str]  # stable, e.g. "RC-SQLI-001"
    cwe: ClassVar[str]  # "CWE-89"
    name: ClassVar[str]  # short human name, e.g. "sql-injection"
    severity: ClassVar[Severity]
    confidence: ClassVar[Confidence]
    blind_spots: ClassVar[str] = ""

    @abstractmethod
    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        """Yield the findings of this rule in the analyzed module."""

    def finding(
        self,
        ctx: AnalysisContext,
        node: ast.AST,
        message: str,
        trace: list[TraceStep] | None = None,
        *,
        severity: Severity | None = None,
        confidence: Confidence | None = None,
    ) -> Finding:
        """A finding of this rule located at ``node``."""
        return Finding(
            rule_id=self.id,
            cwe=self.cwe,
            severity=severity or self.severity,
            confidence=confidence or self.confidence,
            message=message,
            location=node_location(ctx.path, node),
            trace=trace or [],
            analyzer="security",
        )


class TaintSinkRule(Rule):
    """A data-flow rule: attacker data of ``kind`` reaching one of ``sinks`` (declared as data).

    Subclasses set ``sinks`` and ``kind``; they may override :meth:`accept` to veto a match (e.g. a parser
    configured safely) or :meth:`cwe_for` to choose a narrower CWE per call.
    """

    kind: ClassVar[str]
    sinks: ClassVar[tuple[Sink, ...]]
    what: ClassVar[str] = "attacker-controlled data"

    def accept(self, ctx: AnalysisContext, call: ast.Call, arg: ast.expr, sink: Sink) -> bool:
        return True

    def message(self, ctx: AnalysisContext, call: ast.Call, sink: Sink) -> str:
        name = ctx.call_name(call)
        return f"{self.what} reaches {sink.label}" + (f" (`{name}`)" if name and name != sink.label else "")

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        for call in ctx.tainted_calls():
            for sink in self.sinks:
                if not match_sink(sink, call, ctx.imports, ctx.qualified_name(call)):
                    continue
                for arg in sink_arguments(sink, call):
                    taint = ctx.taint_of(arg)
                    if taint is None or not taint.is_live(self.kind) or not self.accept(ctx, call, arg, sink):
                        continue
                    yield self.finding(
                        ctx,
                        call,
                        self.message(ctx, call, sink),
                        ctx.trace(taint, call, f"`{ctx.call_name(call) or sink.label}` (sink)"),
                    )
                    break
                else:
                    continue
                break


def node_location(path: str, node: ast.AST) -> Location:
    """1-based line and column of an AST node."""
    line = getattr(node, "lineno", 1) or 1
    col = (getattr(node, "col_offset", 0) or 0) + 1
    end_line = getattr(node, "end_lineno", None)
    end_col = getattr(node, "end_col_offset", None)
    return Location(
        path=path,
        line=line,
        column=col,
        end_line=end_line,
        end_column=(end_col + 1) if end_col is not None else None,
    )


_REGISTRY: dict[str, type[Rule]] = {}


def register(cls: type[Rule]) -> type[Rule]:
    """Class decorator adding a rule to the registry (ids must be unique)."""
    if cls.id in _REGISTRY and _REGISTRY[cls.id] is not cls:
        raise ValueError(
            f"duplicate rule id {cls.id}: {_REGISTRY[cls.id].__qualname__} and {cls.__qualname__}"
        )
    _REGISTRY[cls.id] = cls
    return cls


_IMPORTED = False


def _import_rule_modules() -> None:
    global _IMPORTED
    if _IMPORTED:
        return
    import realcode.analysis.security.rules as pkg

    _IMPORTED = True
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name != "base" and not info.name.startswith("_"):
            importlib.import_module(f"{pkg.__name__}.{info.name}")


def all_rules() -> list[type[Rule]]:
    """Every registered rule class, sorted by id."""
    _import_rule_modules()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def iter_rules(select: Iterable[str] = (), ignore: Iterable[str] = ()) -> Iterator[type[Rule]]:
    """Rules filtered by ``select``/``ignore`` lists of rule ids or CWE ids (``CWE-89``); empty select = all."""
    sel = {s.upper() for s in select}
    ign = {s.upper() for s in ignore}
    for rule in all_rules():
        keys = {rule.id.upper(), rule.cwe.upper()}
        if sel and not (keys & sel):
            continue
        if keys & ign:
            continue
        yield rule


_SELECTED: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Rule]] = {}


def selected_rules(select: Iterable[str] = (), ignore: Iterable[str] = ()) -> list[Rule]:
    """Instances of the rules :func:`iter_rules` selects, built once per selection (rules are stateless)."""
    key = (tuple(sorted(select)), tuple(sorted(ignore)))
    rules = _SELECTED.get(key)
    if rules is None or len(_REGISTRY) != _SELECTED_REGISTRY_SIZE.get(key):
        rules = [cls() for cls in iter_rules(select, ignore)]
        _SELECTED[key] = rules
        _SELECTED_REGISTRY_SIZE[key] = len(_REGISTRY)
    return rules


_SELECTED_REGISTRY_SIZE: dict[tuple[tuple[str, ...], tuple[str, ...]], int] = {}
