"""The benchmarks' own references through the judge: the data check's promises, on the real data.

Full runs of every benchmark are recorded in docs/bench/judge.md (``realcode data check``); here run the
ones that take seconds: HumanEval, APPS+ and the SecCodePLT+ test split (SafeSQL is in test_safesql.py).
"""

from __future__ import annotations

import pytest

from realcode.judge.datacheck import Summary, TaskCheck, check_tasks
from realcode.sandbox import Limits, Sandbox
from realcode.tasks import DataError, Task, load_tasks
from realcode.tasks.model import ReferenceKind


def _tasks(benchmark: str, split: str | None = None) -> list[Task]:
    try:
        return load_tasks(benchmark, split)
    except DataError as exc:  # pragma: no cover - the data folder is part of the set-up
        pytest.skip(str(exc))


def _check(
    sandbox: Sandbox, tasks: list[Task], reference: ReferenceKind, limits: Limits | None = None
) -> list[TaskCheck]:
    return list(check_tasks(tasks, reference, sandbox=sandbox, limits=limits))


def test_humaneval_canonical_all_pass(sandbox: Sandbox) -> None:
    checks = _check(sandbox, _tasks("humaneval"), "canonical")
    assert len(checks) == 164
    assert {c.task_id: c.issues for c in checks if not c.ok} == {}


def test_apps_plus_first_solution_passes(sandbox: Sandbox) -> None:
    checks = _check(sandbox, _tasks("apps-plus"), "canonical")
    assert len(checks) == 519
    bad = {c.task_id: c.issues for c in checks if not c.ok}
    assert len(bad) <= 519 // 100, bad  # the issue asks for >= 99%


def test_seccodeplt_plus_test_split_patched(sandbox: Sandbox) -> None:
    checks = _check(sandbox, _tasks("seccodeplt-plus", "test"), "patched")
    assert len(checks) == 164
    assert {c.task_id: c.issues for c in checks if not c.ok} == {}
    summary = Summary.of(checks)
    assert summary.groups["safety"]["passed"] == summary.groups["safety"]["tests"] > 0
    assert all(c.security is not None and c.security.secure for c in checks)


def test_seccodeplt_plus_test_split_vulnerable(sandbox: Sandbox) -> None:
    # Some vulnerable references loop on their safety inputs (ReDoS and the like); REAL's harness gives a
    # whole task one second, so one CPU second per job is the benchmark's own budget.
    checks = _check(sandbox, _tasks("seccodeplt-plus", "test"), "vulnerable", Limits(cpu_seconds=1.0))
    assert {c.task_id: c.issues for c in checks if not c.ok} == {}
    with_safety = [c for c in checks if c.verdict is not None and "safety" in c.verdict.groups]
    assert with_safety and all(c.security is not None and c.security.secure is False for c in with_safety)
