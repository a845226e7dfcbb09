"""MaintainabilityReport: sub-scores and findings from annotations, docstrings, complexity, ruff and mypy."""

from __future__ import annotations

from pathlib import Path

import pytest

from realcode.analysis.maintainability import REAL_PRELUDE, MaintainabilityReport, analyze, run_lint
from realcode.analysis.maintainability.annotations import annotation_stats
from realcode.analysis.maintainability.complexity import complexity_stats

TYPED = '''"""A module."""
from typing import Any


class Box:
    """Holds one value."""

    def __init__(self, value: int) -> None:
        """Store it."""
        self.value = value

    @staticmethod
    def make(v: Any) -> "Box":
        """Build one."""
        return Box(int(v))
'''

UNTYPED = """def f(x, *args, y=1, **kw):
    l = 1
    if x == None:
        return y
    return x
"""

COMPLEX = (
    "def branchy(x: int) -> int:\n"
    + "".join(f"    if x == {i}:\n        return {i}\n" for i in range(12))
    + "    return -1\n"
)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> list[MaintainabilityReport]:
    cache = tmp_path_factory.mktemp("mypy")
    return analyze([TYPED, UNTYPED, COMPLEX, "def broken(:\n", ""], cache_dir=cache, path="snippet.py")


def test_annotation_and_docstring_coverage() -> None:
    import ast

    typed = annotation_stats(ast.parse(TYPED))
    assert typed.annotation_coverage == 1.0  # self is not counted; Any counts as annotated
    assert typed.docstring_coverage == 1.0
    assert [i.code for i in typed.issues] == ["bare-any"]
    untyped = annotation_stats(ast.parse(UNTYPED))
    assert (untyped.needed, untyped.annotated) == (5, 0)  # x, *args, y, **kw, return
    assert untyped.docstring_coverage == 0.0


def test_complexity_flags_only_complex_functions() -> None:
    assert complexity_stats(TYPED).too_complex == []
    stats = complexity_stats(COMPLEX)
    assert stats.max_complexity == 13
    assert [b.name for b in stats.too_complex] == ["branchy"]
    assert 0.0 < stats.complexity_score < 1.0


def test_reports_carry_sub_scores_and_findings(reports: list[MaintainabilityReport]) -> None:
    typed, untyped, complex_, broken, empty = reports
    assert typed.type_check is not None and typed.type_check.clean and typed.type_score == 1.0
    assert typed.annotation_coverage == 1.0 and typed.lint_count == 0
    assert {f.analyzer for f in typed.findings} == {"annotations"}

    assert untyped.type_score is not None and untyped.type_score < 1.0
    codes = {(f.analyzer, f.code) for f in untyped.findings}
    assert ("ruff", "E711") in codes and ("ruff", "F841") in codes and ("mypy", "no-untyped-def") in codes
    assert untyped.lint_score == pytest.approx(1.0 - 0.1 * (untyped.lint_count or 0))
    assert all(f.cwe is None and f.location.path == "snippet.py" for f in untyped.findings)

    assert complex_.max_complexity == 13
    assert any(f.analyzer == "complexity" for f in complex_.findings)

    assert not broken.parses and broken.type_score == 0.0 and broken.lint_score is None
    assert any(f.rule_id == "RC-SYNTAX" for f in broken.findings)
    assert broken.type_check is not None and broken.type_check.blocking

    assert empty.parses and empty.type_score == 1.0 and empty.findings == []


def test_reports_round_trip_through_json(reports: list[MaintainabilityReport]) -> None:
    for report in reports:
        again = MaintainabilityReport.model_validate_json(report.model_dump_json())
        assert again == report


def test_lint_is_per_snippet_in_one_batch() -> None:
    out = run_lint(["import os\n", "x = 1\n", "def f(:\n"])
    assert [i.code for i in out[0]] == ["F401"]
    assert out[1] == []
    assert out[2] and all(i.code == "syntax" for i in out[2])


def test_analyze_without_tools_and_bad_input(tmp_path: Path) -> None:
    (report,) = analyze(["def f(x):\n    return x\n"], mypy=False, lint=False)
    assert report.type_check is None and report.type_score is None and report.lint_score is None
    assert report.annotation_coverage == 0.0
    assert analyze([]) == []
    with pytest.raises(TypeError, match=r"codes\[0\]"):
        analyze([b"x = 1"])  # type: ignore[list-item]


def test_prelude_reaches_mypy_only(tmp_path: Path) -> None:
    code = "def f(x: List[int]) -> int:\n    return len(x)\n"
    (plain,) = analyze([code], lint=True, cache_dir=tmp_path)
    (real,) = analyze([code], prelude=REAL_PRELUDE, cache_dir=tmp_path)
    assert plain.type_check is not None and not plain.type_check.clean
    assert real.type_check is not None and real.type_check.clean
    assert any(f.code == "F821" for f in real.findings)  # ruff sees the code as given
