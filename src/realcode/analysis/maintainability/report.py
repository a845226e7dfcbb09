"""``MaintainabilityReport``: graded sub-scores and raw findings for each snippet of a batch.

Sub-scores, each on 0..1 (None when it cannot be measured):

* ``type_score``: REAL's ``max(0, 1 - 0.5 * errors)`` from ``mypy --strict``; 0 when checking was blocked
  (the code does not parse), None when mypy was not run or crashed.
* ``annotation_coverage``, ``docstring_coverage``: see ``annotations.py``.
* ``complexity_score``: 1 up to cyclomatic complexity 10, linearly down to 0 at 30 (worst function).
* ``maintainability_score``: radon's maintainability index / 100.
* ``lint_score``: ``max(0, 1 - 0.1 * issues)`` over the rules in ``lint.LINT_SELECT``.

Findings use :class:`realcode.analysis.findings.Finding` with ``analyzer`` "mypy", "ruff", "annotations",
"complexity" or "syntax", ``code`` the tool's own code, and ``cwe`` None: these are not weaknesses.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from realcode.analysis.findings import Confidence, Finding, Location, Severity
from realcode.analysis.maintainability.annotations import annotation_stats
from realcode.analysis.maintainability.complexity import COMPLEXITY_LIMIT, complexity_stats
from realcode.analysis.maintainability.lint import LintIssue, run_lint
from realcode.analysis.maintainability.typecheck import TypeCheckResult, TypeErrorRecord, check_types

LINT_PENALTY = 0.1


class MaintainabilityReport(BaseModel):
    """Maintainability of one snippet: sub-scores on 0..1 and the findings behind them."""

    index: int  # position in the analysed batch
    parses: bool
    type_check: TypeCheckResult | None = None
    type_score: float | None = None
    annotation_coverage: float | None = None
    docstring_coverage: float | None = None
    max_complexity: int | None = None
    mean_complexity: float | None = None
    complexity_score: float | None = None
    maintainability_index: float | None = None  # radon, 0..100
    maintainability_score: float | None = None
    lint_count: int | None = None
    lint_score: float | None = None
    findings: list[Finding] = []

    @property
    def mypy_clean(self) -> bool | None:
        """True when ``mypy`` found no error; None when it was not run or crashed."""
        if self.type_check is None or self.type_check.crashed:
            return None
        return self.type_check.clean


def _location(
    path: str, line: int, column: int | None, end_line: int | None = None, end_column: int | None = None
) -> Location:
    return Location(
        path=path, line=max(1, line), column=max(1, column or 1), end_line=end_line, end_column=end_column
    )


def _mypy_finding(record: TypeErrorRecord, path: str) -> Finding:
    code = record.code or "misc"
    return Finding(
        rule_id=f"MYPY-{code}",
        cwe=None,
        severity=Severity.MEDIUM,
        confidence=Confidence.HIGH,
        message=record.message + (f" ({record.hint})" if record.hint else ""),
        location=_location(path, record.line, record.column, record.end_line, record.end_column),
        analyzer="mypy",
        code=code,
    )


def _lint_finding(issue: LintIssue, path: str) -> Finding:
    # pyflakes findings (F) are real defects such as undefined names; the rest is style and simplification.
    severity = Severity.MEDIUM if issue.code.startswith(("F", "B")) else Severity.LOW
    return Finding(
        rule_id=f"RUFF-{issue.code}",
        cwe=None,
        severity=severity,
        confidence=Confidence.HIGH,
        message=issue.message,
        location=_location(path, issue.line, issue.column, issue.end_line, issue.end_column),
        analyzer="ruff",
        code=issue.code,
    )


def _parse(code: str) -> tuple[ast.Module | None, SyntaxError | None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ast.parse(code), None
        except SyntaxError as exc:
            return None, exc
        except (ValueError, MemoryError, RecursionError) as exc:
            return None, SyntaxError(str(exc))


def _syntax_finding(exc: SyntaxError, path: str) -> Finding:
    return Finding(
        rule_id="RC-SYNTAX",
        cwe=None,
        severity=Severity.HIGH,
        confidence=Confidence.HIGH,
        message=f"code does not parse: {exc.msg or exc}",
        location=_location(path, exc.lineno or 1, exc.offset),
        analyzer="syntax",
        code="syntax",
    )


def _static_report(index: int, code: str, path: str) -> MaintainabilityReport:
    """Everything that needs only the code itself: parse, annotations, docstrings, complexity."""
    tree, error = _parse(code)
    if tree is None:
        assert error is not None
        return MaintainabilityReport(index=index, parses=False, findings=[_syntax_finding(error, path)])
    stats = annotation_stats(tree)
    findings = [
        Finding(
            rule_id=f"ANN-{issue.code}",
            cwe=None,
            severity=Severity.LOW,
            confidence=Confidence.HIGH,
            message=issue.message,
            location=_location(path, issue.line, issue.column),
            analyzer="annotations",
            code=issue.code,
        )
        for issue in stats.issues
    ]
    report = MaintainabilityReport(
        index=index,
        parses=True,
        annotation_coverage=stats.annotation_coverage,
        docstring_coverage=stats.docstring_coverage,
    )
    try:
        cc = complexity_stats(code)
    except (SyntaxError, ValueError, RecursionError):  # radon re-parses; code ast accepts but compile rejects
        cc = None
    if cc is not None:
        report.max_complexity = cc.max_complexity
        report.mean_complexity = cc.mean_complexity
        report.complexity_score = cc.complexity_score
        report.maintainability_index = cc.maintainability_index
        report.maintainability_score = max(0.0, min(1.0, cc.maintainability_index / 100.0))
        findings += [
            Finding(
                rule_id="CC-too-complex",
                cwe=None,
                severity=Severity.MEDIUM if block.complexity > 2 * COMPLEXITY_LIMIT else Severity.LOW,
                confidence=Confidence.HIGH,
                message=f"`{block.name}` has cyclomatic complexity {block.complexity} (rank {block.rank}; limit {COMPLEXITY_LIMIT})",
                location=_location(path, block.line, block.column),
                analyzer="complexity",
                code="too-complex",
            )
            for block in cc.too_complex
        ]
    report.findings = findings
    return report


def analyze(
    codes: Sequence[str],
    *,
    mypy: bool = True,
    prelude: str | None = None,
    lint: bool = True,
    strict: bool = True,
    cache_dir: str | Path | None = None,
    path: str = "<string>",
) -> list[MaintainabilityReport]:
    """Maintainability reports for a batch of snippets, in input order.

    mypy and ruff each run once over the whole batch. ``prelude`` is passed to mypy only (REAL's
    ``from typing import *`` convention); the other checks see the code as given. ``path`` names the
    snippets in the findings' locations.
    """
    if isinstance(codes, str):
        raise TypeError("codes must be a sequence of code strings, not a single string")
    for i, code in enumerate(codes):
        if not isinstance(code, str):
            raise TypeError(f"codes[{i}] is {type(code).__name__}, expected str")
    if not codes:
        return []
    reports = [_static_report(i, code, path) for i, code in enumerate(codes)]
    if mypy:
        for report, result in zip(
            reports, check_types(codes, strict=strict, prelude=prelude, cache_dir=cache_dir), strict=True
        ):
            report.type_check = result
            report.type_score = result.type_score
            report.findings += [_mypy_finding(r, path) for r in result.errors]
    if lint:
        for report, issues in zip(reports, run_lint(codes), strict=True):
            if not report.parses:
                issues = [i for i in issues if i.code != "syntax"]  # already reported as RC-SYNTAX
            report.findings += [_lint_finding(i, path) for i in issues]
            if report.parses:
                report.lint_count = len(issues)
                report.lint_score = max(0.0, 1.0 - LINT_PENALTY * len(issues))
    for report in reports:
        report.findings.sort(key=lambda f: f.sort_key)
    return reports
