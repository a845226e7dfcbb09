"""The agreement study and the timing benchmark behind ``realcode bench maintainability``.

Agreement: for every snippet of a corpus, the batched verdict (clean or not, exit status) and error count
must equal those of a fresh ``python -m mypy`` process over the snippet alone (``check_file_alone``),
with REAL's prelude and without. Corpora: the APPS+ test reference solutions (first solution of each
problem), the SecCodePLT+ patched programs (``unittest.setup + code_before + patched_code + code_after``
of the rows with ``use_rule`` false) and ``corpus.agreement_corpus()``.
"""

from __future__ import annotations

import json
import resource
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from realcode.analysis.maintainability.corpus import agreement_corpus
from realcode.analysis.maintainability.mypy_worker import clean_env
from realcode.analysis.maintainability.typecheck import (
    REAL_PRELUDE,
    TypeChecker,
    TypeCheckResult,
    check_file_alone,
    mypy_flags,
)
from realcode.tasks.paths import data_dir


def _read_jsonl(path: Path) -> list[dict[str, object]]:
    from realcode.tasks.paths import DataError

    if not path.exists():
        raise DataError(f"{path} not found; pass --data PATH or set REALCODE_DATA")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def apps_references(data: str | Path | None = None) -> list[str]:
    """First reference solution of each APPS+ test problem (problems without one are skipped)."""
    out = []
    for row in _read_jsonl(data_dir(data) / "apps_plus" / "test.jsonl"):
        raw = row.get("solutions") or "[]"
        solutions = json.loads(raw) if isinstance(raw, str) else list(raw)  # type: ignore[call-overload]
        if solutions:
            out.append(str(solutions[0]))
    return out


def seccodeplt_patched(data: str | Path | None = None) -> list[str]:
    """SecCodePLT+ patched programs: ``setup + code_before + patched_code + code_after`` (use_rule false)."""
    out = []
    for row in _read_jsonl(data_dir(data) / "seccodeplt" / "full_1345.jsonl"):
        if row.get("use_rule"):
            continue
        gt = row["ground_truth"]
        unittest = row["unittest"]
        assert isinstance(gt, dict) and isinstance(unittest, dict)
        setup = unittest.get("setup") or ""
        out.append(f"{setup}{gt['code_before']}{gt['patched_code']}{gt['code_after']}")
    return out


def load_corpora(data: str | Path | None = None, *, own: bool = True) -> dict[str, list[str]]:
    """The study's corpora by name."""
    corpora = {"apps-plus": apps_references(data), "seccodeplt-plus": seccodeplt_patched(data)}
    if own:
        corpora["own"] = agreement_corpus()
    return corpora


@dataclass
class Mismatch:
    """A snippet whose batched and per-file verdicts differ."""

    corpus: str
    index: int
    prelude: bool
    batched: tuple[int, int]  # (exit status, error count)
    alone: tuple[int, int]
    code: str


@dataclass
class AgreementRow:
    """Agreement on one corpus, with or without the prelude."""

    corpus: str
    prelude: bool
    snippets: int
    agree: int
    clean: int
    blocked: int
    crashed: int
    error_codes: Counter[str] = field(default_factory=Counter)

    @property
    def share(self) -> float:
        return self.agree / self.snippets if self.snippets else 1.0


def _key(result: TypeCheckResult) -> tuple[int, int]:
    return (result.exit_status, result.error_count)


def agreement(
    corpora: dict[str, list[str]],
    *,
    preludes: Sequence[str | None] = (None, REAL_PRELUDE),
    jobs: int = 2,
    cache_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[AgreementRow], list[Mismatch]]:
    """Compare batched verdicts with per-file ``mypy --strict`` runs on every snippet of every corpus."""
    rows: list[AgreementRow] = []
    mismatches: list[Mismatch] = []
    with tempfile.TemporaryDirectory(prefix="rc-agreement-") as tmp:
        base = cache_dir or Path(tmp)
        check_file_alone(
            "x: int = 1\n", cache_dir=base / "alone"
        )  # warm the shared cache before threads use it
        with TypeChecker(cache_dir=base / "batched") as checker:
            for name, codes in corpora.items():
                for prelude in preludes:
                    started = time.monotonic()
                    batched = checker.check(codes, prelude=prelude)
                    alone_check = partial(check_file_alone, prelude=prelude, cache_dir=base / "alone")
                    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
                        alone = list(pool.map(alone_check, codes))
                    row = AgreementRow(name, prelude is not None, len(codes), 0, 0, 0, 0)
                    for i, (b, a) in enumerate(zip(batched, alone, strict=True)):
                        row.clean += b.clean
                        row.blocked += b.blocking
                        row.crashed += b.crashed
                        row.error_codes.update(e.code or "(none)" for e in b.errors)
                        if _key(b) == (a.exit_status, a.error_count):
                            row.agree += 1
                        else:
                            mismatches.append(
                                Mismatch(
                                    name,
                                    i,
                                    prelude is not None,
                                    _key(b),
                                    (a.exit_status, a.error_count),
                                    codes[i],
                                )
                            )
                    rows.append(row)
                    if progress is not None:
                        progress(
                            f"{name} prelude={prelude is not None}: {row.agree}/{row.snippets} agree "
                            f"({time.monotonic() - started:.0f} s)"
                        )
    return rows, mismatches


# -- timing ------------------------------------------------------------------------------------------


@dataclass
class TimingRow:
    """Milliseconds per snippet for one way of checking: wall clock, and CPU of every process involved."""

    method: str
    batch: int
    repeats: int
    ms_per_snippet: list[float]
    cpu_ms_per_snippet: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.ms_per_snippet)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_ms_per_snippet) if self.cpu_ms_per_snippet else float("nan")


def _fresh(codes: Sequence[str], tag: str) -> list[str]:
    """Make each repetition new to mypy's cache, as a new batch of completions would be."""
    return [f"{code}\n# realcode-bench {tag}\n" for code in codes]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _warm_alone_cache(pool: Sequence[str], cache_dir: Path) -> None:
    """One mypy run over the whole pool, so per-file runs find the standard library cached, as batches do."""
    import subprocess
    import sys

    check_file_alone("x: int = 1\n", cache_dir=cache_dir)  # writes the config the per-file runs use
    with tempfile.TemporaryDirectory(prefix="rc-warm-") as tmp:
        names = []
        for i, code in enumerate(pool):
            name = f"warm_{i:05d}.py"
            (Path(tmp) / name).write_bytes(code.encode("utf-8", "surrogatepass"))
            names.append(name)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "mypy",
                "--config-file",
                str(cache_dir / "mypy.ini"),
                *mypy_flags(True),
                "--no-color-output",
                "--cache-dir",
                str(cache_dir / "cache"),
                *names,
            ],
            cwd=tmp,
            env=clean_env(),
            capture_output=True,
            timeout=1800,
            check=False,
        )


def timing(
    pool: Sequence[str],
    *,
    batch_sizes: Sequence[int] = (64, 512),
    repeats: int = 3,
    per_file: int = 32,
    cache_dir: Path | None = None,
) -> list[TimingRow]:
    """Batched ``check_types`` at each batch size vs per-file mypy processes, in one run.

    Every repetition appends a distinct comment to every snippet, so no run is served from the cache of
    an earlier one; the standard library's cache is warm for both methods, as it is in practice. The
    batched worker is started (and warmed on one snippet) before timing. CPU time counts this process
    and the mypy processes (the worker, or each per-file process), so it is less sensitive than wall
    time to other load on the machine.
    """
    rows: list[TimingRow] = []
    used = pool[: max([*batch_sizes, per_file])]  # the snippets timed below (batches cycle through the pool)
    with tempfile.TemporaryDirectory(prefix="rc-timing-") as tmp:
        base = cache_dir or Path(tmp)
        with TypeChecker(cache_dir=base / "batched") as checker:
            checker.check(list(used))  # the standard-library modules these snippets import, cached once
            for size in batch_sizes:
                codes = [pool[i % len(pool)] for i in range(size)]
                row = TimingRow("batched check_types", size, repeats, [])
                for r in range(repeats):
                    fresh = _fresh(codes, f"b{size}-{r}-{time.time_ns()}")
                    cpu0, worker0 = time.process_time(), checker.worker_cpu_seconds
                    started = time.perf_counter()
                    checker.check(fresh)
                    row.ms_per_snippet.append(1000 * (time.perf_counter() - started) / size)
                    cpu = time.process_time() - cpu0 + checker.worker_cpu_seconds - worker0
                    row.cpu_ms_per_snippet.append(1000 * cpu / size)
                rows.append(row)
        alone_dir = base / "alone"
        _warm_alone_cache(used, alone_dir)
        codes = [pool[i % len(pool)] for i in range(per_file)]
        row = TimingRow("per-file mypy process", 1, repeats, [])
        for r in range(repeats):
            fresh = _fresh(codes, f"a-{r}-{time.time_ns()}")
            cpu0, children0 = time.process_time(), _children_cpu()
            started = time.perf_counter()
            for code in fresh:
                check_file_alone(code, cache_dir=alone_dir)
            row.ms_per_snippet.append(1000 * (time.perf_counter() - started) / len(fresh))
            cpu = time.process_time() - cpu0 + _children_cpu() - children0
            row.cpu_ms_per_snippet.append(1000 * cpu / len(fresh))
        rows.append(row)
    return rows


@dataclass
class VerdictRow:
    """Batched verdicts on one corpus, with or without the prelude (no per-file comparison)."""

    corpus: str
    prelude: bool
    snippets: int
    clean: int
    blocked: int
    crashed: int
    error_codes: Counter[str] = field(default_factory=Counter)
    erroneous: int = 0  # snippets with at least one error
    errors: int = 0  # all errors


def verdict_stats(
    corpora: dict[str, list[str]],
    *,
    preludes: Sequence[str | None] = (None, REAL_PRELUDE),
    cache_dir: Path | None = None,
) -> list[VerdictRow]:
    """Share of mypy-strict clean snippets and error codes per corpus, from batched runs only."""
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="rc-verdicts-") as tmp,
        TypeChecker(cache_dir=cache_dir or Path(tmp)) as checker,
    ):
        for name, codes in corpora.items():
            for prelude in preludes:
                row = VerdictRow(name, prelude is not None, len(codes), 0, 0, 0)
                for r in checker.check(codes, prelude=prelude):
                    row.clean += r.clean
                    row.blocked += r.blocking
                    row.crashed += r.crashed
                    row.erroneous += r.error_count > 0
                    row.errors += r.error_count
                    row.error_codes.update(e.code or "(none)" for e in r.errors)
                rows.append(row)
    return rows


def clean_share_table(rows: Sequence[AgreementRow | VerdictRow], top: int = 12) -> list[tuple[str, int, int]]:
    """Most frequent mypy error codes: (code, count without prelude, count with prelude) for APPS+."""
    without = Counter[str]()
    with_prelude = Counter[str]()
    for row in rows:
        if row.corpus != "apps-plus":
            continue
        (with_prelude if row.prelude else without).update(row.error_codes)
    codes = [c for c, _ in (without + with_prelude).most_common(top)]
    return [(c, without[c], with_prelude[c]) for c in codes]
