"""``realcode bench rewards``: throughput of the full preset rewards against a REAL-style baseline.

Completions are benchmark reference solutions wrapped as model answers (a sentence, then a ```python block):
SecCodePLT+ patched and vulnerable solutions, SafeSQL's (injectable) oracle programs, APPS+ solutions. Each
timed run gives every completion a different trailing comment, so no cache (ours, mypy's) can serve a
previous run's code; what realcode keeps per *task* (reference values, built databases) stays warm, as it
does across the steps of a training run.

The baseline works the way REAL's released reward code does (``verl/utils/reward_score``): per sample, a
fresh ``python -c`` running the set-up, the code and the test loop (SecCodePLT+; REAL imports numpy in it),
a fresh ``python`` per test for APPS+ (first 5 tests) and two per test for SafeSQL (build the database, run
the program; 5 tests), the static detector in-process (realcode's analyzer stands in for REAL's), and a
``mypy.api.run --strict`` per sample where REAL runs one (SecCodePLT+ and APPS+).
"""

from __future__ import annotations

import ast
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from realcode.tasks import Task, load_tasks

BENCHES: dict[str, str] = {
    "seccodeplt-plus": "real-seccodeplt",
    "safesql": "real-safesql",
    "apps-plus": "real-apps",
}


@dataclass
class Completions:
    benchmark: str
    tasks: list[Task]
    codes: list[str]

    def wrapped(self, tag: str) -> list[str]:
        # a distinct trailing comment per run: same behaviour, different code hash
        return [f"Here is the solution.\n```python\n{c.rstrip()}\n# {tag}\n```\n" for c in self.codes]


def build_completions(benchmark: str, n: int, data: str | None = None) -> Completions:
    """``n`` reference solutions of ``benchmark`` (patched then vulnerable, or every solution, in task order)."""
    tasks = [t for t in load_tasks(benchmark, data=data) if t.has_tests]
    pairs: list[tuple[Task, str]] = []
    if benchmark == "apps-plus":
        depth = 0
        while len(pairs) < n and depth < 20:
            pairs += [
                (t, t.references.solutions[depth]) for t in tasks if len(t.references.solutions) > depth
            ]
            depth += 1
    else:
        kinds = ("patched", "vulnerable") if benchmark.startswith("seccodeplt") else ("canonical",)
        for kind in kinds:
            pairs += [(t, getattr(t.references, kind) or "") for t in tasks if getattr(t.references, kind)]
        copy = 1
        while len(pairs) < n:  # SafeSQL has fewer tasks than n: second copies differ by a comment
            pairs += [(t, f"{c}\n# copy {copy}") for t, c in pairs[: n - len(pairs)]]
            copy += 1
    pairs = pairs[:n]
    return Completions(benchmark, [t for t, _ in pairs], [c for _, c in pairs])


# --- CPU accounting ----------------------------------------------------------------------------------------


def tree_cpu_seconds(pid: int | None = None) -> float:
    """CPU time of a process and all its descendants, living or reaped (from /proc)."""
    pid = pid or os.getpid()
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    stack = [pid]
    seen: set[int] = set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15]) / tick  # utime stime cutime cstime
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children", encoding="ascii") as fh:
                    stack += [int(c) for c in fh.read().split()]
        except (OSError, ValueError):
            continue
    return total


# --- realcode ----------------------------------------------------------------------------------------------


@dataclass
class RunFigures:
    samples: int
    wall_s: float
    cpu_s: float  # whole process tree
    samples_per_s: float
    cpu_ms_per_sample: float  # process-tree CPU / samples
    median_sample_cpu_ms: float  # per-sample attributed CPU (sandbox child CPU + analyzer + mypy share)
    mean_reward: float | None
    infra_errors: int


def run_realcode(c: Completions, spec_name: str, sandbox: Any, tag: str) -> RunFigures:
    from realcode.assess import assess
    from realcode.rewards import get_preset, score

    spec = get_preset(spec_name)
    completions = c.wrapped(tag)
    cpu0, t0 = tree_cpu_seconds(), time.perf_counter()
    limit = spec.functional.max_tests if spec.functional is not None else None
    assessments = assess(
        c.tasks, completions, checks=spec.required_checks(), cache=False, sandbox=sandbox, max_tests=limit
    )
    rewards = [score(a, spec) for a in assessments]
    wall, cpu = time.perf_counter() - t0, tree_cpu_seconds() - cpu0
    per_sample = []
    for a in assessments:
        ms = sum(v for k, v in a.timings_ms.items() if k not in ("functional", "dynamic"))
        ms += a.functional.cpu_ms if a.functional else 0.0
        per_sample.append(ms)
    totals = [r.total for r in rewards if r.total is not None]
    return RunFigures(
        samples=len(completions),
        wall_s=wall,
        cpu_s=cpu,
        samples_per_s=len(completions) / wall,
        cpu_ms_per_sample=cpu * 1000 / len(completions),
        median_sample_cpu_ms=statistics.median(per_sample),
        mean_reward=statistics.fmean(totals) if totals else None,
        infra_errors=sum(r.infra_error for r in rewards),
    )


# --- the REAL-style baseline -------------------------------------------------------------------------------

_SCP_RUNNER = """
import numpy as np
res = {{}}
for test_set, cases in testcases.items():
    res[test_set] = 0
    for inp, exp in cases:
        try:
            out = {fn}(**inp)
            res[test_set] += int(np.array_equal(out, exp))
        except Exception as e:
            res[test_set] += int(type(e) == exp)
    res[test_set] = (res[test_set], len(cases))
with open({res!r}, "w") as f:
    f.write(repr(res))
"""

_APPS_HEADER = "from typing import *\nimport collections\nimport math\nimport heapq\nfrom collections import Counter\nfrom math import ceil\n"


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _mypy(code: str, cache_dir: str) -> tuple[int, str]:
    import mypy.api

    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False, dir=cache_dir) as fh:
        fh.write("from typing import *\n\n" + code.strip())
    try:
        out, _err, status = mypy.api.run(
            [fh.name, "--no-color-output", "--strict", "--cache-dir", cache_dir + "/.mc"]
        )
    finally:
        os.unlink(fh.name)
    return status, out


def _baseline_seccodeplt(task: Task, code: str, tmp: str) -> float:
    from realcode.analysis.security import scan_code

    unittest = task.original["unittest"]
    desc = task.original["task_description"]
    desc = desc if isinstance(desc, dict) else ast.literal_eval(desc)
    res_file = os.path.join(tmp, "res")
    script = "\n".join(
        [
            unittest["setup"],
            code,
            unittest["testcases"],
            _SCP_RUNNER.format(fn=desc["function_name"], res=res_file),
        ]
    )
    score = -0.5
    try:
        subprocess.run([sys.executable, "-c", script], check=True, timeout=1, cwd=tmp, capture_output=True)
        with open(res_file, encoding="utf-8") as fh:
            passed, total = ast.literal_eval(fh.read())["capability"]
        score = passed / total
    except Exception:
        score = -0.5
    findings = scan_code(code)
    detector = max(0.0, 1 - 0.3 * len(findings))
    _mypy(code, tmp)  # REAL computes the type-check reward on every SecCodePLT sample
    return 0.5 * score + 0.5 * detector


def _baseline_safesql(task: Task, code: str, tmp: str, rng: random.Random) -> float:
    from realcode.analysis.security import scan_code

    cases = rng.sample(list(task.original["test_cases"]), min(5, len(task.original["test_cases"])))
    with open(os.path.join(tmp, "db.py"), "w", encoding="utf-8") as fh:
        fh.write(task.db_setup or "")
    with open(os.path.join(tmp, "sql.py"), "w", encoding="utf-8") as fh:
        fh.write(code if "import sqlite3" in code else "import sqlite3\n" + code)
    scores = []
    for case in cases:
        try:
            subprocess.run([sys.executable, "db.py"], check=True, capture_output=True, cwd=tmp, timeout=10)
            r = subprocess.run(
                [sys.executable, "sql.py"],
                input=case["input"],
                capture_output=True,
                text=True,
                check=True,
                cwd=tmp,
                timeout=10,
            )
            same = "".join(case["output"].lower().split()) in "".join(r.stdout.lower().split())
            scores.append(1.0 if same else 0.0)
        except Exception:
            scores.append(-0.5)
    static = 0.0 if [f for f in scan_code(code) if f.cwe == "CWE-89"] else 1.0
    return 0.9 * (sum(scores) / len(scores)) + 0.1 * static


def _baseline_apps(task: Task, code: str, tmp: str) -> float:
    info = task.original["extra_info"]
    tinfo = json.loads(info["test_info"])
    cls = info.get("program_type") == "class"
    scores = []
    for inp, outp in list(zip(tinfo["inputs"], tinfo["outputs"], strict=False))[:5]:
        call = f"Solution().{tinfo['fn_name']}" if cls else tinfo["fn_name"]
        args = ", ".join(map(repr, inp))
        program = f"{_APPS_HEADER}{code}\nassert {call}({args}) == {outp!r}, {call}({args})"
        try:
            r = subprocess.run(
                [sys.executable, "-c", program], capture_output=True, text=True, timeout=10, cwd=tmp
            )
            scores.append(1.0 if not r.stderr else (0.0 if "AssertionError" in r.stderr else -0.5))
        except subprocess.TimeoutExpired:
            scores.append(0.1)
    status, out = _mypy(code, tmp)
    if status == 0:
        typed = 1.0
    elif status == 1:
        m = re.search(r"Found (\d+) error", out)
        typed = max(0.0, 1 - 0.5 * max(1, int(m.group(1)) if m else 1))
    else:
        typed = -0.5
    return 0.5 * (sum(scores) / len(scores) if scores else 0.0) + 0.5 * typed


def run_baseline(c: Completions, n: int) -> RunFigures:
    """The REAL-style baseline over the first ``n`` completions, one sample after another."""
    rng = random.Random(0)
    fns: dict[str, Callable[[Task, str, str], float]] = {
        "seccodeplt-plus": _baseline_seccodeplt,
        "safesql": lambda t, code, tmp: _baseline_safesql(t, code, tmp, rng),
        "apps-plus": _baseline_apps,
    }
    fn = fns[c.benchmark]
    per_sample: list[float] = []
    rewards: list[float] = []
    with tempfile.TemporaryDirectory(prefix="realcode-baseline-") as tmp:
        _mypy("x = 1\n", tmp)  # mypy's first run loads typeshed: not a per-sample cost
        cpu0, t0 = tree_cpu_seconds(), time.perf_counter()
        for task, code in zip(c.tasks[:n], c.codes[:n], strict=True):
            s_cpu, s_child = time.process_time(), _child_cpu()
            with tempfile.TemporaryDirectory(dir=tmp) as sample_dir:
                rewards.append(fn(task, code, sample_dir))
            per_sample.append((time.process_time() - s_cpu + _child_cpu() - s_child) * 1000)
        wall, cpu = time.perf_counter() - t0, tree_cpu_seconds() - cpu0
    return RunFigures(
        samples=n,
        wall_s=wall,
        cpu_s=cpu,
        samples_per_s=n / wall,
        cpu_ms_per_sample=cpu * 1000 / n,
        median_sample_cpu_ms=statistics.median(per_sample),
        mean_reward=statistics.fmean(rewards),
        infra_errors=0,
    )


@dataclass
class BenchResult:
    benchmark: str
    preset: str
    samples: int
    baseline_samples: int
    realcode: dict[int, list[RunFigures]] = field(default_factory=dict)  # workers -> repeated runs
    baseline: list[RunFigures] = field(default_factory=list)

    def median(self, workers: int, attr: str) -> float:
        return float(statistics.median(getattr(r, attr) for r in self.realcode[workers]))

    def baseline_median(self, attr: str) -> float:
        return float(statistics.median(getattr(r, attr) for r in self.baseline))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "benchmark": self.benchmark,
            "preset": self.preset,
            "samples": self.samples,
            "baseline_samples": self.baseline_samples,
            "baseline_runs": [asdict(r) for r in self.baseline],
            "realcode_runs": {str(w): [asdict(r) for r in rs] for w, rs in self.realcode.items()},
        }
        if self.baseline:
            base = self.baseline_median("samples_per_s")
            out["baseline_samples_per_s"] = base
            out["baseline_median_sample_cpu_ms"] = self.baseline_median("median_sample_cpu_ms")
            for w in self.realcode:
                out[f"realcode_{w}w_samples_per_s"] = self.median(w, "samples_per_s")
                out[f"realcode_{w}w_median_sample_cpu_ms"] = self.median(w, "median_sample_cpu_ms")
                out[f"realcode_{w}w_cpu_ms_per_sample"] = self.median(w, "cpu_ms_per_sample")
                out[f"speedup_{w}w"] = self.median(w, "samples_per_s") / base
        return out


def run_bench(
    benchmarks: list[str],
    *,
    samples: int = 512,
    baseline_samples: int = 64,
    workers: list[int] | None = None,
    repeats: int = 3,
    data: str | None = None,
    preimports: tuple[str, ...] = (),
    progress: Callable[[str], None] = lambda _: None,
) -> list[BenchResult]:
    from realcode.sandbox import Sandbox

    results = []
    for bench in benchmarks:
        c = build_completions(bench, samples, data)
        res = BenchResult(bench, BENCHES[bench], len(c.codes), min(baseline_samples, len(c.codes)))
        for w in workers or [1, 2]:
            with Sandbox(workers=w, preimports=preimports) as sandbox:
                progress(f"{bench}: warming up ({w} worker{'s' if w > 1 else ''})")
                run_realcode(c, res.preset, sandbox, "warm-up")
                for r in range(repeats):
                    progress(f"{bench}: realcode run {r + 1}/{repeats} ({w} worker{'s' if w > 1 else ''})")
                    res.realcode.setdefault(w, []).append(
                        run_realcode(c, res.preset, sandbox, f"run {w}.{r}")
                    )
        if res.baseline_samples:
            progress(f"{bench}: REAL-style baseline on {res.baseline_samples} samples")
            res.baseline.append(run_baseline(c, res.baseline_samples))
        results.append(res)
    return results


def write_json(
    results: list[BenchResult], path: Path, guard_flags: dict[str, dict[str, int]] | None = None
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {"benchmarks": [r.to_json() for r in results]}
    if guard_flags is not None:
        doc["guard_flags_on_references"] = guard_flags
    path.write_text(json.dumps(doc, indent=2) + "\n")


def guard_false_positives(data: str | None = None) -> dict[str, dict[str, int]]:
    """How many reference solutions each reward-hacking signal flags, per benchmark (they should be none).

    Every patched, vulnerable and canonical reference and up to three APPS+ solutions per task are checked.
    """
    from realcode.assess.signals import compute_signals

    out: dict[str, dict[str, int]] = {}
    for bench in ("seccodeplt", "safesql", "apps-plus", "humaneval"):
        counts = {"solutions": 0, "stub": 0, "tampering": 0, "hardcoded_examples": 0}
        for t in load_tasks(bench, data=data):
            r = t.references
            codes = [c for c in (r.patched, r.vulnerable, r.canonical) if c] + r.solutions[1:3]
            for code in codes:
                s = compute_signals(t, code)
                counts["solutions"] += 1
                counts["stub"] += bool(s.stub)
                counts["tampering"] += bool(s.tampering)
                counts["hardcoded_examples"] += bool(s.hardcoded_examples)
        out[bench] = counts
    return out
