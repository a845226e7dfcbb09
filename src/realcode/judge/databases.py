"""SQL tasks' databases: built once per task by running its ``construct_db`` script in the sandbox.

The built file's bytes are shipped in every candidate job (``Job.files``), and the sandbox writes them
afresh before each run, so every run starts from the same database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from realcode.judge.runner import JobRunner, run_jobs
from realcode.sandbox.api import Job, JobResult
from realcode.tasks.model import Task


@dataclass(frozen=True)
class Database:
    """A built database file (``data`` is base64, as ``Job.files`` wants it), or why it could not be built."""

    name: str
    data: str | None = None
    error: str | None = None
    infra: bool = False  # the failure was the sandbox's, not the task's


_CACHE: dict[str, Database] = {}


def _key(task: Task, name: str) -> str:
    return hashlib.sha256(f"{name}\0{task.db_setup}".encode()).hexdigest()


def db_file_name(task: Task) -> str | None:
    """The database file a SQL task's programs open (the loader reads it from ``construct_db``)."""
    name = task.metadata.get("db_file")
    return str(name) if name else None


Finish = Callable[[Sequence[JobResult]], list["Database | None"]]


def build_databases(tasks: Sequence[Task], sandbox: JobRunner) -> list[Database | None]:
    """The database of each task (None for tasks without ``db_setup``), building the uncached ones in one batch."""
    jobs, finish = prepare_databases(tasks)
    return finish(run_jobs(sandbox, jobs))


def prepare_databases(tasks: Sequence[Task]) -> tuple[list[Job], Finish]:
    """The build jobs the uncached tasks need, and how to read their results (to batch them with others)."""
    jobs: list[Job] = []
    keys: list[str] = []
    out: list[Database | None] = []
    for task in tasks:
        if not task.db_setup:
            out.append(None)
            continue
        name = db_file_name(task)
        if not name:
            out.append(
                Database(name="", error="the task's construct_db opens no sqlite3.connect('<file>') literal")
            )
            continue
        if "/" in name or "\0" in name or name.startswith("."):
            out.append(
                Database(
                    name=name, error=f"database file {name!r} is not a plain file name in the job's folder"
                )
            )
            continue
        key = _key(task, name)
        if key not in _CACHE and key not in keys:
            jobs.append(Job(code=task.db_setup, mode="program", stdin_runs=[""], capture_files=[name]))
            keys.append(key)
        out.append(Database(name=name))

    def finish(results: Sequence[JobResult]) -> list[Database | None]:
        fresh: dict[str, Database] = {}
        for key, job, result in zip(keys, jobs, results, strict=True):
            fresh[key] = _read(key, job, result)
        built = list(out)
        for i, (task, db) in enumerate(zip(tasks, built, strict=True)):
            if db is not None and not db.error:
                key = _key(task, db.name)
                built[i] = _CACHE.get(key) or fresh[key]
        return built

    return jobs, finish


def _read(key: str, job: Job, result: JobResult) -> Database:
    name = job.capture_files[0]
    if result.status == "infra_error":  # not cached: the next use retries
        return Database(name=name, error=f"sandbox failure: {result.infra_message}", infra=True)
    run = result.runs[0] if result.runs else None
    data = run.files.get(name) if run else None
    if run is None or run.status != "ok" or data is None:
        what = (run.exc_type or run.status) if run else result.status
        msg = (run.exc_message or run.stderr[-300:]) if run else (result.load_exc_message or "")
        # deterministic: the task's script fails, so the failure is cached like a success
        _CACHE[key] = Database(name=name, error=f"construct_db failed ({what}: {msg.strip()})")
    else:
        _CACHE[key] = Database(name=name, data=data)
    return _CACHE[key]


def clear_cache() -> None:
    """Forget built databases."""
    _CACHE.clear()
