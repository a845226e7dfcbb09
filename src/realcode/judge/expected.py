"""Expected values that are Python expressions, evaluated on the trusted side.

SecCodePLT writes many expected values as code (``ValueError``, ``hashlib.sha256(b"x").digest()``). They are
evaluated in a *reference* sandbox job that holds only the task's set-up and the test group's preamble, never
a candidate, so a candidate's job never contains (or can reach) what it is compared against. Results are
cached per task content, so each task's expressions run once per process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from realcode.judge.runner import JobRunner, run_jobs
from realcode.sandbox.api import Call, Job, JobResult
from realcode.sandbox.serialize import DecodeError, decode
from realcode.tasks.model import Task, TestGroup


@dataclass(frozen=True)
class Broken:
    """A test whose expected value could not be computed: the data is broken, not the candidate."""

    reason: str


# (content hash of set-up + preamble + expressions) -> expected value or Broken, per expression in order
_CACHE: dict[str, list[Any]] = {}


def _key(task: Task, group: TestGroup, sources: Sequence[str]) -> str:
    h = hashlib.sha256()
    for part in (task.setup, group.preamble, *sources):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def _pending(task: Task, group: TestGroup) -> tuple[str, list[str], list[str]] | None:
    names = [c.name for c in group.cases if c.expected_source is not None]
    if not names:
        return None
    sources = [c.expected_source for c in group.cases if c.expected_source is not None]
    return _key(task, group, sources), names, sources


Finish = Callable[[Sequence[JobResult]], list[dict[str, Any]]]


def prepare_expected(
    tasks: Sequence[Task], groups: Sequence[Sequence[TestGroup]]
) -> tuple[list[Job], Finish]:
    """The reference jobs the uncached tasks need, and how to read their results.

    Split from :func:`expected_values` so that a caller can run these jobs in one batch with others.
    """
    jobs: list[Job] = []
    job_keys: list[tuple[str, int]] = []
    wanted: list[list[tuple[str, list[str]]]] = []
    for task, task_groups in zip(tasks, groups, strict=True):
        keys: list[tuple[str, list[str]]] = []
        for group in task_groups:
            pending = _pending(task, group)
            if pending is None:
                continue
            key, names, sources = pending
            keys.append((key, names))
            if key in _CACHE or any(k == key for k, _ in job_keys):
                continue
            jobs.append(
                Job(code=task.setup, preamble=group.preamble, calls=[Call(expression=s) for s in sources])
            )
            job_keys.append((key, len(sources)))
        wanted.append(keys)

    def finish(results: Sequence[JobResult]) -> list[dict[str, Any]]:
        infra: dict[str, list[Any]] = {}  # never cached: the next use retries
        for (key, count), result in zip(job_keys, results, strict=True):
            if result.status == "infra_error":
                why = Broken(f"sandbox failure while evaluating expected values: {result.infra_message}")
                infra[key] = [why] * count
            else:
                _CACHE[key] = _read(result, count)
        out: list[dict[str, Any]] = []
        for keys in wanted:
            merged: dict[str, Any] = {}
            for key, names in keys:
                merged.update(zip(names, _CACHE.get(key) or infra.get(key, []), strict=False))
            out.append(merged)
        return out

    return jobs, finish


def expected_values(
    tasks: Sequence[Task], groups: Sequence[Sequence[TestGroup]], sandbox: JobRunner
) -> list[dict[str, Any]]:
    """For each task, the expected value of every case written as an expression (case name -> value).

    ``groups[i]`` are the groups of ``tasks[i]`` that will run. Values are decoded sandbox data (classes
    arrive as :class:`~realcode.sandbox.serialize.TypeRef`); a case whose expression failed maps to
    :class:`Broken`. Every uncached task is evaluated in one sandbox batch.
    """
    jobs, finish = prepare_expected(tasks, groups)
    return finish(run_jobs(sandbox, jobs))


def _read(result: JobResult, count: int) -> list[Any]:
    values = [_value(c.status, c.value, c.exc_type, c.exc_message) for c in result.calls[:count]]
    if len(values) < count:
        why = result.load_exc_type or result.status
        detail = f"{why}: {result.load_exc_message}" if result.load_exc_message else why
        values += [Broken(f"the reference set-up failed ({detail})")] * (count - len(values))
    return values


def _value(status: str, value: Any, exc_type: str | None, exc_message: str | None) -> Any:
    if status != "ok":
        return Broken(
            f"evaluating the expected value failed: {exc_type or status}: {exc_message or ''}".rstrip(": ")
        )
    try:
        return decode(value)
    except DecodeError as exc:
        return Broken(f"the expected value could not be decoded: {exc}")


def clear_cache() -> None:
    """Forget evaluated expected values (for tests and long-lived processes whose data changed)."""
    _CACHE.clear()
