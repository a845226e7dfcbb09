"""Running a benchmark's reference solutions through the judge, and saying where the data disagrees.

This is the logic behind ``realcode data check``; the command only adds the progress bar and the tables.
Each task gets a :class:`TaskCheck`: the functional verdict, the dynamic security verdict where one applies,
and ``issues``, the ways the reference contradicts what the benchmark promises:

* ``patched`` (SecCodePLT): passes every capability and every safety test;
* ``vulnerable`` (SecCodePLT): passes every capability test and fails at least one safety test;
* ``canonical`` (APPS+, HumanEval, SafeSQL): passes every functional test. SafeSQL references are injectable on
  purpose; their attack replay is reported (``exploited`` attacks), not counted as an issue.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pydantic import BaseModel, Field

from realcode.judge.dynamic import applicable as security_applicable
from realcode.judge.dynamic import dynamic_security_many, security_from_functional
from realcode.judge.functional import judge_many
from realcode.judge.runner import JobRunner, resolve
from realcode.judge.verdict import DynamicSecurityVerdict, FunctionalVerdict, Stage
from realcode.sandbox.api import Limits
from realcode.tasks.model import Benchmark, ReferenceKind, Task


class TaskCheck(BaseModel):
    """One reference judged, and what (if anything) contradicts the benchmark's promise."""

    task_id: str
    benchmark: str
    split: str
    reference: str
    verdict: FunctionalVerdict | None = None
    security: DynamicSecurityVerdict | None = None
    issues: list[str] = Field(default_factory=list)
    skipped: str = ""  # why the task was not judged (no tests, no reference)

    @property
    def ok(self) -> bool:
        return not self.issues and not self.skipped


def default_reference(benchmark: Benchmark) -> ReferenceKind:
    """The reference a data check uses unless told otherwise."""
    return "patched" if benchmark in (Benchmark.SECCODEPLT, Benchmark.SECCODEPLT_PLUS) else "canonical"


def check_tasks(
    tasks: Sequence[Task],
    reference: ReferenceKind,
    *,
    sandbox: JobRunner | None = None,
    batch_size: int = 32,
    progress: Callable[[int], None] | None = None,
    limits: Limits | None = None,
) -> Iterator[TaskCheck]:
    """Judge each task's ``reference`` solution, in batches; yields one :class:`TaskCheck` per task, in order."""
    runner = resolve(sandbox) if tasks else sandbox
    for start in range(0, len(tasks), batch_size):
        batch = list(tasks[start : start + batch_size])
        judged: list[Task] = []
        out: list[TaskCheck] = []
        for task in batch:
            check = TaskCheck(
                task_id=task.id, benchmark=task.benchmark.value, split=task.split, reference=reference
            )
            if not task.has_tests:
                check.skipped = "the task has no tests"
            elif task.reference(reference) is None:
                check.skipped = f"the task has no {reference} reference"
            else:
                judged.append(task)
            out.append(check)
        codes = [t.reference(reference) for t in judged]
        verdicts = judge_many(judged, codes, sandbox=runner, limits=limits) if judged else []
        by_id = dict(zip((id(t) for t in judged), verdicts, strict=True))
        sql = [t for t in judged if security_applicable(t) and t.db_setup]
        sql_verdicts = (
            dynamic_security_many(sql, [t.reference(reference) for t in sql], sandbox=runner, limits=limits)
            if sql
            else []
        )
        sql_by_id = dict(zip((id(t) for t in sql), sql_verdicts, strict=True))
        for task, check in zip(batch, out, strict=True):
            verdict = by_id.get(id(task))
            if verdict is not None:
                check.verdict = verdict
                if id(task) in sql_by_id:
                    check.security = sql_by_id[id(task)]
                elif security_applicable(task):
                    check.security = security_from_functional(task, verdict)
                check.issues = issues(task, reference, verdict, check.security)
            yield check
        if progress is not None:
            progress(len(batch))


def _failed_tests(verdict: FunctionalVerdict, *, security: bool | None) -> list[str]:
    groups = {name for name, g in verdict.groups.items() if security is None or g.security == security}
    out = []
    for t in verdict.tests:
        if t.group in groups and not t.passed and t.status != "broken":
            out.append(f"{t.name}: {t.message or t.status}")
    return out


def issues(
    task: Task, reference: ReferenceKind, verdict: FunctionalVerdict, security: DynamicSecurityVerdict | None
) -> list[str]:
    """Where the reference's verdicts contradict what the benchmark promises, in words."""
    out: list[str] = []
    if verdict.stage is Stage.INFRA_ERROR:
        return [f"not judged: {verdict.message}"]
    broken = [t for t in verdict.tests if t.status == "broken"]
    if broken:
        out.append(
            f"broken in the data: {len(broken)} test(s) have no computable expected value ({broken[0].message})"
        )
    if verdict.stage is not Stage.PASSED:
        failed = _failed_tests(verdict, security=False)
        detail = "; ".join(failed[:3]) or verdict.message
        out.append(f"functional stage {verdict.stage.value}: {detail}")
    has_safety = any(g.security and g.total for g in verdict.groups.values())
    if reference == "patched" and has_safety:
        failed = _failed_tests(verdict, security=True)
        if failed:
            out.append(f"patched reference fails safety tests: {'; '.join(failed[:3])}")
    vulnerable = reference == "vulnerable" and has_safety and task.entry.kind.value != "program"
    if vulnerable and not _failed_tests(verdict, security=True):
        out.append("vulnerable reference passes every safety test")
    return out


class Summary(BaseModel):
    """Counts over a data check."""

    tasks: int = 0
    judged: int = 0
    skipped: dict[str, int] = Field(default_factory=dict)
    stages: dict[str, int] = Field(default_factory=dict)
    groups: dict[str, dict[str, float]] = Field(
        default_factory=dict
    )  # name -> tasks, all_passed, tests, passed
    with_issues: int = 0
    security: dict[str, int] = Field(default_factory=dict)
    attacks: dict[str, int] = Field(default_factory=dict)

    @classmethod
    def of(cls, checks: Sequence[TaskCheck]) -> Summary:
        s = cls(tasks=len(checks))
        stages: Counter[str] = Counter()
        skipped: Counter[str] = Counter()
        security: Counter[str] = Counter()
        attacks: Counter[str] = Counter()
        groups: dict[str, dict[str, float]] = {}
        for c in checks:
            if c.skipped:
                skipped[c.skipped] += 1
                continue
            s.judged += 1
            s.with_issues += int(bool(c.issues))
            if c.verdict is not None:
                stages[c.verdict.stage.value] += 1
                for name, g in c.verdict.groups.items():
                    row = groups.setdefault(name, {"tasks": 0, "all_passed": 0, "tests": 0, "passed": 0})
                    row["tasks"] += 1
                    row["all_passed"] += int(g.all_passed)
                    row["tests"] += g.total
                    row["passed"] += g.passed
            if c.security is not None and c.security.applicable:
                key = {True: "secure", False: "insecure", None: "undecided"}[c.security.secure]
                security[key] += 1
                for a in c.security.attacks:
                    attacks["exploited" if a.exploited else "no change"] += 1
        s.stages, s.skipped, s.groups = dict(stages), dict(skipped), groups
        s.security, s.attacks = dict(security), dict(attacks)
        return s


def as_json_line(check: TaskCheck) -> dict[str, Any]:
    """The JSONL record of one checked task."""
    return check.model_dump(mode="json")
