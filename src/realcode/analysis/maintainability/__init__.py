"""Maintainability analysis: batched ``mypy --strict``, annotation and docstring coverage, complexity, lint.

``check_types`` gives each snippet the verdict and error count of a per-file ``mypy --strict`` run, at a
few milliseconds per snippet; ``analyze`` adds the checks that need no mypy and returns one
``MaintainabilityReport`` per snippet.
"""

from realcode.analysis.maintainability.lint import LINT_IGNORE, LINT_SELECT, run_lint
from realcode.analysis.maintainability.report import MaintainabilityReport, analyze
from realcode.analysis.maintainability.typecheck import (
    REAL_PRELUDE,
    TypeChecker,
    TypeCheckResult,
    TypeErrorRecord,
    check_types,
)

__all__ = [
    "LINT_IGNORE",
    "LINT_SELECT",
    "REAL_PRELUDE",
    "MaintainabilityReport",
    "TypeCheckResult",
    "TypeChecker",
    "TypeErrorRecord",
    "analyze",
    "check_types",
    "run_lint",
]
