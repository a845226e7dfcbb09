"""From an :class:`~realcode.assess.Assessment` to the booleans the metrics count.

This is the only place where evaluation decides what "Function" and "Quality" mean, and it reads them off the
same assessment that rewards score, so metrics and rewards cannot disagree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from realcode.evaluation.metrics import SampleOutcome
from realcode.tasks import Task

if TYPE_CHECKING:
    from realcode.assess import Assessment


def quality_of(a: Assessment) -> bool | None:
    """Quality as the papers define it for the benchmark's checks; None when no quality check applies.

    Security (SecCodePLT+, SafeSQL): the static analyzer reports nothing. Maintainability (APPS+): mypy --strict
    is clean. No code at all is never quality.
    """
    checks = set(a.checks)
    verdicts: list[bool] = []
    if "security" in checks:
        sec = a.security
        verdicts.append(
            a.code is not None and sec is not None and sec.status == "ok" and not sec.findings and not sec.parse_error
        )
    if "maintainability" in checks:
        m = a.maintainability
        verdicts.append(a.code is not None and m is not None and m.status == "ok" and m.mypy_exit == 0)
    return all(verdicts) if verdicts else None


def outcome_from_assessment(task: Task, a: Assessment, *, sample: int = 0) -> SampleOutcome:
    """The metrics' view of one assessed sample."""
    f = a.functional
    dyn = a.dynamic
    return SampleOutcome(
        task_id=task.id,
        function=a.passed,
        quality=quality_of(a),
        dynamic_secure=(dyn.secure if dyn is not None and dyn.applicable and a.code is not None else None),
        syntax_ok=bool(f and f.syntax_ok),
        ran=bool(f and f.ran),
        printed_output=bool(f and f.printed_output),
        format_error=not a.extraction.found,
        infra_error=a.infra_error,
        sample=sample,
        cwe=tuple(task.cwe),
        difficulty=str(task.metadata["difficulty"]) if task.metadata.get("difficulty") else None,
        split=task.split,
    )
