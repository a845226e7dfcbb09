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
    try:
        results = sandbox.run_many(list(jobs))
    except ValueError:
        # The sandbox refused a job as malformed (a bad file name from the data, say); one bad job must
        # not sink the batch, so run them one by one and report the refused ones as not judged.
        results = [_run_one(sandbox, job) for job in jobs]
    if len(results) != len(jobs):
        raise RuntimeError(f"sandbox returned {len(results)} results for {len(jobs)} jobs")
    return results


def _run_one(sandbox: JobRunner, job: Job) -> JobResult:
    try:
        return sandbox.run_many([job])[0]
    except ValueError as exc:
        return JobResult(status="infra_error", infra_message=f"the sandbox refused the job: {exc}")
