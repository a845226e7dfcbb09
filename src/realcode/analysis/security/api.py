"""``scan_code``: the security analyzer's Python API."""

from __future__ import annotations

import ast
import warnings
from collections.abc import Collection, Iterable

from realcode.analysis.findings import Confidence, Finding, Location, Severity
from realcode.analysis.security.context import AnalysisContext
from realcode.analysis.security.engine.dataflow import Budget, ModuleAnalysis
from realcode.analysis.security.engine.models import DEFAULT_SOURCES, SOURCE_KINDS
from realcode.analysis.security.rules.base import selected_rules

MAX_SOURCE_CHARS = 2_000_000


def _syntax_finding(path: str, message: str, line: int, col: int) -> Finding:
    return Finding(
        rule_id="RC-SYNTAX",
        cwe=None,
        severity=Severity.LOW,
        confidence=Confidence.HIGH,
        message=message,
        location=Location(path=path, line=max(line, 1), column=max(col, 1)),
    )


def _budget_finding(path: str, what: str) -> Finding:
    return Finding(
        rule_id="RC-BUDGET",
        cwe=None,
        severity=Severity.LOW,
        confidence=Confidence.LOW,
        message=f"analysis incomplete: {what}; findings may be missing",
        location=Location(path=path, line=1, column=1),
    )


def check_sources(sources: Iterable[str] | str) -> frozenset[str]:
    """Validate source kind names, given as names or one comma-separated string (raises ValueError naming the
    unknown one)."""
    if isinstance(sources, str):
        sources = sources.split(",")
    chosen = frozenset(s.strip().lower() for s in sources if s.strip())
    unknown = sorted(chosen - set(SOURCE_KINDS))
    if unknown:
        raise ValueError(f"unknown source kind {unknown[0]!r}; known: {', '.join(SOURCE_KINDS)}")
    return chosen


def scan_code(
    code: str,
    *,
    entry: str | None = None,
    sources: Collection[str] = DEFAULT_SOURCES,
    path: str = "<string>",
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    cpu_budget: float = 2.0,
) -> list[Finding]:
    """Scan Python source for vulnerabilities; never raises on bad input.

    ``entry`` names the function whose parameters are attacker data (the SecCodePLT setting); without it the
    parameters of every public function and method are. ``sources`` chooses the source kinds (see
    :data:`realcode.analysis.security.engine.models.SOURCE_KINDS`). ``select``/``ignore`` filter rules by id or
    CWE. Code that does not parse yields one ``RC-SYNTAX`` finding; work beyond ``cpu_budget`` seconds is cut
    short and reported as an ``RC-BUDGET`` finding next to what was found.
    """
    if not isinstance(code, str):
        return [_syntax_finding(path, f"not source text: {type(code).__name__}", 1, 1)]
    if len(code) > MAX_SOURCE_CHARS:
        return [_budget_finding(path, f"source of {len(code)} characters exceeds {MAX_SOURCE_CHARS}")]
    try:
        source_kinds = check_sources(sources)
    except ValueError as exc:
        return [_syntax_finding(path, str(exc), 1, 1)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(code, filename=path)
    except SyntaxError as exc:
        return [_syntax_finding(path, f"syntax error: {exc.msg}", exc.lineno or 1, exc.offset or 1)]
    except (ValueError, RecursionError, MemoryError) as exc:
        return [_syntax_finding(path, f"cannot parse: {type(exc).__name__}", 1, 1)]
    try:
        with warnings.catch_warnings():
            # rules compile patterns found in the scanned code; their warnings are not ours to print
            warnings.simplefilter("ignore")
            findings = _analyze(code, tree, path, entry, source_kinds, select, ignore, cpu_budget)
    except RecursionError:
        return [_budget_finding(path, "nesting too deep")]
    return findings


def _analyze(
    code: str,
    tree: ast.Module,
    path: str,
    entry: str | None,
    sources: frozenset[str],
    select: Iterable[str],
    ignore: Iterable[str],
    cpu_budget: float,
) -> list[Finding]:
    budget = Budget(cpu_seconds=cpu_budget)
    analysis = ModuleAnalysis(tree, None, sources, entry, budget)
    analysis.run()
    ctx = AnalysisContext(code, tree, path, entry, sources, analysis)
    findings: list[Finding] = []
    seen: set[tuple[str, int, int]] = set()
    for rule in selected_rules(select, ignore):
        try:
            for f in rule.check(ctx):
                key = (f.rule_id, f.location.line, f.location.column)
                if key not in seen:
                    seen.add(key)
                    findings.append(f)
        except RecursionError:
            budget.exhausted = True
    if budget.exhausted:
        findings.append(_budget_finding(path, "time or work budget exhausted"))
    findings.sort(key=lambda f: f.sort_key)
    return findings
