"""Measuring the sandbox against the obvious alternative: one fresh ``python`` process per job.

Three workloads, each run through the warm pool and through a spawn-per-job baseline, side by side:

* ``calls``: a module with a function, called 5 times (a HumanEval/SecCodePLT-style job);
* ``program``: a stdin/stdout program run on 20 inputs (APPS-style; the runs of one job share a child);
* ``sql``: a program that reads ``input()``, queries an sqlite file placed in the job directory and prints
  rows, on 5 inputs, with the database captured after each run (SafeSQL-style).

CPU is counted honestly for the pool: the host process's own CPU (all its threads: validation, JSON,
dispatch) plus what each worker reports for itself (forking, supervising) plus the children's CPU from
``wait4`` (which includes any processes they spawned). For the baseline it is the host's CPU plus
``RUSAGE_CHILDREN`` of the spawned interpreters. The baseline applies no limits and no isolation at all, so
it is a lower bound on what spawning costs.
"""

from __future__ import annotations

import base64
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from realcode.sandbox.api import Call, Job, JobResult
from realcode.sandbox.pool import Sandbox

CALLS_CODE = '''
def normalize(words):
    """Lower-case, strip and de-duplicate, keeping first occurrences."""
    seen = set()
    out = []
    for word in words:
        key = word.strip().lower()
        if key and key not in seen:
            seen.add(key)
            out.append(key)
    return out
'''

PROGRAM_CODE = """
n = int(input())
values = list(map(int, input().split()))
print(sum(values) % (n + 7), max(values), sorted(values)[len(values) // 2])
"""

SQL_CODE = """
import sqlite3
connection = sqlite3.connect("shop.db")
category = input("Category: ")
rows = connection.execute(f"SELECT id, name, price FROM items WHERE category = '{category}'").fetchall()
for row in rows:
    print(row)
"""


def _sql_database() -> str:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "shop.db"
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, category TEXT, price REAL)")
            db.executemany(
                "INSERT INTO items (name, category, price) VALUES (?, ?, ?)",
                [(f"item{i}", ("tool", "toy", "food")[i % 3], i * 1.25) for i in range(60)],
            )
        return base64.b64encode(path.read_bytes()).decode("ascii")


def workloads() -> dict[str, Job]:
    """The three benchmark jobs."""
    words = [[f" Word{j % 7} ", f"word{j}", "", "WORD1"] * 3 for j in range(5)]
    return {
        "calls": Job(code=CALLS_CODE, calls=[Call(function="normalize", args=[w]) for w in words]),
        "program": Job(
            code=PROGRAM_CODE,
            mode="program",
            stdin_runs=[
                f"{i}\n{' '.join(str((i * 7919 + k) % 1000) for k in range(50))}\n" for i in range(20)
            ],
        ),
        "sql": Job(
            code=SQL_CODE,
            mode="program",
            stdin_runs=["tool", "toy", "food", "none", "tool' OR '1'='1"],
            files={"shop.db": _sql_database()},
            capture_files=["shop.db"],
        ),
    }


# The baseline's runner: what a naive evaluator does in a fresh interpreter (no limits, no isolation).
_BASELINE_CALLS = """
import json, sys
job = json.loads(sys.stdin.read())
namespace = {}
exec(compile(job["code"], "solution.py", "exec"), namespace)
results = []
for call in job["calls"]:
    try:
        results.append({"status": "ok", "value": namespace[call["function"]](*call["args"])})
    except Exception as exc:
        results.append({"status": "exception", "exc_type": type(exc).__name__})
print(json.dumps(results))
"""


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _baseline_one(job: Job, workdir: str) -> bool:
    python = sys.executable
    if job.mode == "calls":
        payload = json.dumps({"code": job.code, "calls": [c.model_dump() for c in job.calls]})
        done = subprocess.run(
            [python, "-c", _BASELINE_CALLS], input=payload, capture_output=True, text=True, check=False
        )
        return done.returncode == 0
    source = Path(workdir) / "solution.py"
    source.write_text(job.code)
    ok = True
    for stdin in job.stdin_runs:
        for name, content in job.files.items():
            (Path(workdir) / name).write_bytes(base64.b64decode(content))
        done = subprocess.run(
            [python, str(source)], input=stdin, capture_output=True, text=True, cwd=workdir, check=False
        )
        for name in job.capture_files:
            (Path(workdir) / name).read_bytes()
        ok = ok and done.returncode == 0
    return ok


@dataclass
class Measurement:
    """One batch: jobs, wall seconds and CPU seconds by where they were spent."""

    jobs: int
    wall_s: float
    host_cpu_s: float
    worker_cpu_s: float
    child_cpu_s: float
    failures: int

    @property
    def cpu_ms_per_job(self) -> float:
        return (self.host_cpu_s + self.worker_cpu_s + self.child_cpu_s) * 1000.0 / max(1, self.jobs)

    @property
    def jobs_per_s(self) -> float:
        return self.jobs / self.wall_s if self.wall_s > 0 else 0.0


def _all_ok(result: JobResult) -> bool:
    return (
        result.status == "ok"
        and all(c.status == "ok" for c in result.calls)
        and all(r.status == "ok" for r in result.runs)
    )


def measure_pool(sandbox: Sandbox, job: Job, count: int) -> Measurement:
    """Run ``count`` copies of ``job`` through the pool in one batch."""
    jobs = [job] * count
    cpu0, wall0 = _cpu_self(), time.perf_counter()
    results = sandbox.run_many(jobs)
    wall = time.perf_counter() - wall0
    host = _cpu_self() - cpu0
    return Measurement(
        jobs=count,
        wall_s=wall,
        host_cpu_s=host,
        worker_cpu_s=sum(r.worker_cpu_ms for r in results) / 1000.0,
        child_cpu_s=sum(r.cpu_ms for r in results) / 1000.0,
        failures=sum(1 for r in results if not _all_ok(r)),
    )


def measure_baseline(job: Job, count: int, parallel: int) -> Measurement:
    """Run ``count`` copies of ``job`` by spawning interpreters, ``parallel`` at a time."""
    with tempfile.TemporaryDirectory() as root:
        dirs = [tempfile.mkdtemp(dir=root) for _ in range(count)]
        cpu0, children0, wall0 = _cpu_self(), _cpu_children(), time.perf_counter()
        with ThreadPoolExecutor(max_workers=parallel) as executor:
            outcomes = list(executor.map(lambda d: _baseline_one(job, d), dirs))
        wall = time.perf_counter() - wall0
        host, children = _cpu_self() - cpu0, _cpu_children() - children0
    return Measurement(count, wall, host, 0.0, children, failures=outcomes.count(False))


def fork_floor(count: int = 300) -> dict[str, float]:
    """CPU ms of a bare fork+exit from a warm interpreter of the worker's size, forking as the worker does:
    the price of isolation by process on this machine, which no per-job design that forks can go below."""
    script = (
        "import os, resource, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "import worker\n"
        "for name in worker.PREIMPORTS:\n"
        "    try: __import__(name)\n"
        "    except ImportError: pass\n"
        "import gc; gc.collect(); gc.freeze()\n"
        "worker._set_raw_fork()\n"  # fork as the worker does
        "def cpu(who):\n"
        "    u = resource.getrusage(who); return u.ru_utime + u.ru_stime\n"
        "s, c = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)\n"
        f"for _ in range({count}):\n"
        "    pid = worker._fork()\n"
        "    if pid == 0: os._exit(0)\n"
        "    os.waitpid(pid, 0)\n"
        f"print((cpu(resource.RUSAGE_SELF) - s) * 1000 / {count}, (cpu(resource.RUSAGE_CHILDREN) - c) * 1000 / {count})\n"
    )
    done = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True, check=True)
    parent, child = (float(x) for x in done.stdout.split())
    return {"parent_ms": parent, "child_ms": child, "total_ms": parent + child}


@dataclass
class Row:
    """Median figures of one workload, pool and baseline."""

    workload: str
    pool_cpu_ms: float
    pool_jobs_per_s: float
    baseline_cpu_ms: float
    baseline_jobs_per_s: float
    pool_breakdown_ms: dict[str, float] = field(default_factory=dict)
    failures: int = 0

    @property
    def speedup(self) -> float:
        return self.pool_jobs_per_s / self.baseline_jobs_per_s if self.baseline_jobs_per_s else 0.0

    @property
    def cpu_ratio(self) -> float:
        return self.baseline_cpu_ms / self.pool_cpu_ms if self.pool_cpu_ms else 0.0


def run_benchmark(
    jobs: int,
    repeats: int,
    baseline_jobs: int,
    workers: int | None = None,
    isolation: str = "auto",
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Every workload through pool and baseline, ``repeats`` times each; medians per workload."""
    say = progress or (lambda _message: None)
    rows: list[Row] = []
    start = time.perf_counter()
    with Sandbox(workers=workers, isolation=isolation) as sandbox:
        started_s = time.perf_counter() - start
        parallel = sandbox.size
        for name, job in workloads().items():
            measure_pool(sandbox, job, min(jobs, 2 * parallel))  # warm-up: page cache, lazy imports
            pool_runs: list[Measurement] = []
            base_runs: list[Measurement] = []
            for repeat in range(repeats):
                say(f"{name}: repeat {repeat + 1}/{repeats}")
                pool_runs.append(measure_pool(sandbox, job, jobs))
                base_runs.append(measure_baseline(job, baseline_jobs, parallel))
            rows.append(
                Row(
                    workload=name,
                    pool_cpu_ms=statistics.median(m.cpu_ms_per_job for m in pool_runs),
                    pool_jobs_per_s=statistics.median(m.jobs_per_s for m in pool_runs),
                    baseline_cpu_ms=statistics.median(m.cpu_ms_per_job for m in base_runs),
                    baseline_jobs_per_s=statistics.median(m.jobs_per_s for m in base_runs),
                    pool_breakdown_ms={
                        part: statistics.median(
                            getattr(m, f"{part}_cpu_s") * 1000 / m.jobs for m in pool_runs
                        )
                        for part in ("host", "worker", "child")
                    },
                    failures=sum(m.failures for m in pool_runs + base_runs),
                )
            )
        report = sandbox.isolation
        start_ms = sorted(sandbox.start_ms)
    floor = fork_floor()
    return {
        "isolation": report.level,
        "workers": parallel,
        "jobs_per_repeat": jobs,
        "baseline_jobs_per_repeat": baseline_jobs,
        "repeats": repeats,
        "pool_start_s": round(started_s, 3),
        "worker_start_ms_median": round(statistics.median(start_ms), 1) if start_ms else None,
        "fork_floor_ms": {k: round(v, 3) for k, v in floor.items()},
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": sys.version.split()[0],
        "rows": [
            {**asdict(row), "speedup": round(row.speedup, 2), "cpu_ratio": round(row.cpu_ratio, 2)}
            for row in rows
        ],
    }
