"""The judge's view of the sandbox: something that runs a batch of jobs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from realcode.sandbox.api import Job, JobResult


class JobRunner(Protocol):
    """Runs jobs and returns one result per job, in order (:class:`realcode.sandbox.Sandbox` is one)."""

    def run_many(self, jobs: Sequence[Job]) -> list[JobResult]: ...


def resolve(sandbox: JobRunner | None) -> JobRunner:
    """``sandbox``, or the process-wide default sandbox started on first use."""
    if sandbox is not None:
        return sandbox
    from realcode.sandbox import get_default_sandbox

    runner: JobRunner = get_default_sandbox()
    return runner


def run_jobs(sandbox: JobRunner, jobs: Sequence[Job]) -> list[JobResult]:
    """Run ``jobs`` in one batch; an empty batch costs nothing."""
    if not jobs:
        return []
    results = sandbox.run_many(list(jobs))
    if len(results) != len(jobs):
        raise RuntimeError(f"sandbox returned {len(results)} results for {len(jobs)} jobs")
    return results
