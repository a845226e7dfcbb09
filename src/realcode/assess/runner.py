"""``assess``: a batch of (task, completion) pairs in, one :class:`Assessment` per pair out.

The batch is the unit of work: code is extracted from every completion, identical (task, code) pairs are
found and looked up in the cache, and what is left goes to each check once, as a batch: one
``judge_many`` over the sandbox pool, one ``dynamic_security_many``, one batched mypy run, and the
security analyzer over each distinct program. The sandbox-bound checks and mypy run in threads while the
analyzer runs here, so they overlap. A check that fails for the whole batch is retried sample by sample, so a
batch never dies of one bad sample; what still fails is marked as an infrastructure error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from realcode.analysis.findings import Confidence, Finding, Location, Severity
from realcode.assess.cache import AssessmentCache, cache_key
from realcode.assess.model import (
    CHECKS,
    DEFAULT_CHECKS,
    Assessment,
    CheckName,
    Extraction,
    GuardSignals,
    MaintainabilityResult,
    SecurityResult,
)
from realcode.assess.signals import compute_signals
from realcode.judge.verdict import DynamicSecurityVerdict, FunctionalVerdict, Stage
from realcode.tasks.extract import ExtractMode, extract_code, find_blocks
from realcode.tasks.model import EntryKind, Task

log = logging.getLogger(__name__)

ChecksArg = Sequence[str] | Literal["auto"]
T = TypeVar("T")
ItemT = TypeVar("ItemT")

# REAL's type-check reward runs mypy on the code with this header added (mypy_utils.add_imports).
MYPY_PRELUDE = "from typing import *\n"

_PYTHON_TAGS = {"python", "py", "python3", "py3", ""}


class _Payload(BaseModel):
    """The code-dependent part of an assessment: what the cache stores."""

    functional: FunctionalVerdict | None = None
    security: SecurityResult | None = None
    maintainability: MaintainabilityResult | None = None
    dynamic: DynamicSecurityVerdict | None = None
    signals: GuardSignals = GuardSignals()
    timings_ms: dict[str, float] = {}


@dataclass
class Backends:
    """The checks ``assess`` calls. Defaults are realcode's own; tests and embedders may swap one."""

    judge_many: Callable[..., list[FunctionalVerdict]] | None = None
    dynamic_many: Callable[..., list[DynamicSecurityVerdict]] | None = None
    scan_code: Callable[..., list[Finding]] | None = None
    check_types: Callable[..., list[Any]] | None = None
    safety_from_functional: Callable[[Task, FunctionalVerdict], DynamicSecurityVerdict] | None = None
    versions: dict[str, str] = field(default_factory=dict)

    def resolved(self) -> Backends:
        b = dataclasses.replace(self, versions=dict(self.versions))
        if b.judge_many is None or b.dynamic_many is None or b.safety_from_functional is None:
            judge = importlib.import_module("realcode.judge")
            b.judge_many = b.judge_many or judge.judge_many
            b.dynamic_many = b.dynamic_many or judge.dynamic_security_many
            b.safety_from_functional = b.safety_from_functional or judge.security_from_functional
        if b.scan_code is None:
            # imported by name: the analyzers are optional at import time of this module
            b.scan_code = importlib.import_module("realcode.analysis.security").scan_code
        if b.check_types is None:
            b.check_types = importlib.import_module("realcode.analysis.maintainability").check_types
        if not b.versions:
            b.versions = analyzer_versions()
        return b


def analyzer_versions() -> dict[str, str]:
    """Versions of everything that can change a verdict: part of every cache key.

    Our own checkers are versioned by a digest of their source, so an on-disk cache never serves a verdict
    that an edited analyzer, judge or sandbox would no longer reach.
    """
    global _VERSIONS
    if _VERSIONS is None:
        import realcode

        versions = {"realcode": realcode.__version__}
        try:
            from mypy.version import __version__ as mypy_version

            versions["mypy"] = mypy_version
        except ImportError:  # pragma: no cover - mypy is a core dependency
            versions["mypy"] = "missing"
        root = Path(realcode.__file__).parent
        for name in ("analysis", "judge", "sandbox", "assess", "tasks"):
            versions[name] = _source_digest(root / name)
        _VERSIONS = versions
    return dict(_VERSIONS)


_VERSIONS: dict[str, str] | None = None


def _source_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        h.update(str(path.relative_to(folder)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


_DEFAULT_CACHE = AssessmentCache()


def default_cache() -> AssessmentCache:
    """The process-wide in-memory cache ``assess`` uses unless told otherwise."""
    return _DEFAULT_CACHE


def checks_for(task: Task, checks: ChecksArg = "auto") -> list[CheckName]:
    """The checks that run for ``task``: its benchmark's defaults for ``"auto"``, else those asked for that apply.

    ``dynamic`` applies only to tasks with security test groups (SecCodePLT safety tests, SafeSQL attacks).
    """
    if checks == "auto":
        wanted: Sequence[str] = DEFAULT_CHECKS.get(task.benchmark.value, ("functional",))
    else:
        unknown = [c for c in checks if c not in CHECKS]
        if unknown:
            raise ValueError(f"unknown check(s) {', '.join(map(repr, unknown))}; known: {', '.join(CHECKS)}")
        wanted = checks
    has_security_tests = any(g.security and (g.cases or g.check_source) for g in task.tests)
    return [c for c in CHECKS if c in wanted and (c != "dynamic" or has_security_tests)]


def assess(
    tasks: Sequence[Task],
    completions: Sequence[str | None],
    *,
    checks: ChecksArg = "auto",
    extract: ExtractMode = "last",
    cache: AssessmentCache | bool | None = True,
    sandbox: Any = None,
    backends: Backends | None = None,
    max_tests: int | None = None,
) -> list[Assessment]:
    """Assess ``completions[i]`` as an answer to ``tasks[i]``, for every ``i``.

    ``checks``: ``"auto"`` (each task's benchmark decides: SecCodePLT -> functional, security, dynamic; SafeSQL
    -> functional, security, dynamic; APPS+ -> functional, maintainability; HumanEval -> functional) or a list
    of check names applied to every task where they apply. ``extract``: how code is taken out of a completion
    (``last``, REAL's rule; ``first``; ``raw``). ``cache``: True for the process-wide in-memory cache, an
    :class:`AssessmentCache` (give it a directory to persist on disk), or False/None for none.
    ``sandbox``: the sandbox pool the judge runs jobs on (default: the process-wide one).
    ``max_tests``: run only the first N tests of each functional group (security groups always run in full).
    REAL's training rewards score at most 5 tests per sample; evaluation should run every test. The
    assessment records the limit (:attr:`Assessment.max_tests`).
    """
    if max_tests is not None and max_tests < 1:
        raise ValueError(f"max_tests must be at least 1, got {max_tests}")
    if len(tasks) != len(completions):
        raise ValueError(
            f"{len(tasks)} tasks but {len(completions)} completions: pass one task per completion"
        )
    # (an empty cache is falsy: it has a length)
    store = _DEFAULT_CACHE if cache is True else cache if isinstance(cache, AssessmentCache) else None
    be = (backends or Backends()).resolved()
    fingerprints: dict[int, str] = {}
    out: list[Assessment] = []
    pending: dict[str, tuple[Task, str, list[CheckName]]] = {}
    keys: list[str | None] = []
    trimmed: dict[int, Task] = {}
    for task, completion in zip(tasks, completions, strict=True):
        if max_tests is not None:
            task = _trim(task, max_tests, trimmed)
        a, key = _start(task, completion, checks, extract, be.versions, fingerprints)
        a.max_tests = max_tests
        out.append(a)
        keys.append(key)
        if key is not None and key not in pending:
            pending[key] = (task, a.code or "", a.checks)
    payloads: dict[str, _Payload] = {}
    misses: dict[str, tuple[Task, str, list[CheckName]]] = {}
    for key, item in pending.items():
        cached = store.get(key) if store is not None else None
        if cached is not None:
            payloads[key] = _Payload.model_validate_json(cached)
        else:
            misses[key] = item
    fresh = _run_checks(misses, be, sandbox)
    if store is not None:
        store.put_many({k: p.model_dump_json() for k, p in fresh.items() if not _has_infra_error(p)})
    payloads.update(fresh)
    seen: set[str] = set()
    for i, key in enumerate(keys):
        if key is None:
            continue
        p = payloads[key]
        a = out[i]
        signals = p.signals.model_copy(update={"python_blocks": a.signals.python_blocks})
        out[i] = a.model_copy(
            update={
                "functional": p.functional,
                "security": p.security,
                "maintainability": p.maintainability,
                "dynamic": p.dynamic,
                "signals": signals,
                "timings_ms": dict(p.timings_ms),
                # a duplicate inside the batch, or a cache hit, cost nothing more
                "cached": key not in fresh or key in seen,
            }
        )
        seen.add(key)
    return out


def _trim(task: Task, max_tests: int, memo: dict[int, Task]) -> Task:
    """``task`` with its functional groups cut to their first ``max_tests`` cases (one copy per task)."""
    cut = memo.get(id(task))
    if cut is None:
        groups = [
            g
            if g.security or len(g.cases) <= max_tests
            else g.model_copy(update={"cases": g.cases[:max_tests]})
            for g in task.tests
        ]
        cut = task.model_copy(update={"tests": groups}) if groups != task.tests else task
        memo[id(task)] = cut
    return cut


def _fingerprint(task: Task, memo: dict[int, str]) -> str:
    fp = memo.get(id(task))
    if fp is None:
        fp = hashlib.sha256(task.model_dump_json(exclude={"original"}).encode()).hexdigest()
        memo[id(task)] = fp
    return fp


def _start(
    task: Task,
    completion: str | None,
    checks: ChecksArg,
    mode: ExtractMode,
    versions: dict[str, str],
    memo: dict[int, str],
) -> tuple[Assessment, str | None]:
    """The completion-dependent part of an assessment, and its cache key (None when no check will run)."""
    ex = extract_code(completion, mode)
    blocks = find_blocks(completion or "")
    python_blocks = sum(1 for b in blocks if b.language in _PYTHON_TAGS)
    unclosed = bool(blocks) and not blocks[-1].closed and ex.found and mode != "raw"
    extraction = Extraction(
        found=ex.found,
        mode=mode,
        blocks=ex.blocks,
        reason=ex.reason,
        completion_chars=len(completion or ""),
        code_chars=len(ex.code or ""),
        unclosed=unclosed,
    )
    a = Assessment(
        task_id=task.id,
        benchmark=task.benchmark.value,
        checks=checks_for(task, checks),
        extraction=extraction,
        code=ex.code,
        code_sha256=hashlib.sha256(ex.code.encode("utf-8", "surrogatepass")).hexdigest() if ex.code else None,
        signals=GuardSignals(python_blocks=python_blocks),
        versions=versions,
    )
    if not task.has_tests and "functional" in a.checks:
        a.error = f"task {task.benchmark.value}/{task.id} has no tests: it cannot be judged"
        a.functional = FunctionalVerdict(stage=Stage.INFRA_ERROR, message=a.error)
        return a, None
    if ex.code is None:
        a.functional = FunctionalVerdict(stage=Stage.NO_CODE, message=ex.reason)
        if "security" in a.checks:
            a.security = SecurityResult(status="no_code")
        if "maintainability" in a.checks:
            a.maintainability = MaintainabilityResult(status="no_code")
        if "dynamic" in a.checks:
            a.dynamic = DynamicSecurityVerdict(applicable=True, secure=None, message="no code")
        return a, None
    key = cache_key(_fingerprint(task, memo), ex.code, tuple(a.checks), versions)
    return a, key


def _replays_attacks(task: Task) -> bool:
    """SQL attack replay applies to program tasks; function tasks have safety tests instead."""
    return task.entry.kind is EntryKind.PROGRAM


def dynamic_infra_error(
    d: DynamicSecurityVerdict | None, functional: FunctionalVerdict | None = None
) -> bool:
    """A dynamic verdict that could not be reached because the sandbox failed (not because the code did)."""
    if d is None or not d.applicable or d.secure is not None:
        return False
    if functional is not None and functional.stage is Stage.INFRA_ERROR:
        return True
    return d.message.startswith(("sandbox", "infra")) or "infra" in d.message.lower()


def _has_infra_error(p: _Payload) -> bool:
    return (
        (p.functional is not None and p.functional.stage is Stage.INFRA_ERROR)
        or (p.security is not None and p.security.status == "infra_error")
        or (p.maintainability is not None and p.maintainability.status == "infra_error")
        or dynamic_infra_error(p.dynamic, p.functional)
    )


def _batched(
    name: str,
    fn: Callable[[list[ItemT]], list[T]],
    items: list[ItemT],
    label: Callable[[ItemT], str],
    on_error: Callable[[str], T],
) -> list[T]:
    """``fn`` over the batch; if the batch call fails, item by item, so one bad sample fails alone."""
    if not items:
        return []
    try:
        results = fn(items)
        if len(results) != len(items):
            raise RuntimeError(f"{name} returned {len(results)} results for {len(items)} samples")
        return results
    except Exception as exc:  # an infrastructure failure of the whole batch call
        if len(items) == 1:
            log.warning("%s failed on %s: %s", name, label(items[0]), exc)
            return [on_error(f"{name} failed: {type(exc).__name__}: {exc}")]
        log.warning("%s failed on a batch of %d (%s); retrying one by one", name, len(items), exc)
    out: list[T] = []
    for item in items:
        out.extend(_batched(name, fn, [item], label, on_error))
    return out


def _task_label(item: tuple[Task, str]) -> str:
    return f"{item[0].benchmark.value}/{item[0].id}"


def _run_checks(
    misses: dict[str, tuple[Task, str, list[CheckName]]], be: Backends, sandbox: Any
) -> dict[str, _Payload]:
    if not misses:
        return {}
    keys = list(misses)
    payloads = {k: _Payload() for k in keys}

    def select(
        check: str, where: Callable[[Task], bool] = lambda t: True
    ) -> tuple[list[str], list[Task], list[str]]:
        ks = [k for k in keys if check in misses[k][2] and where(misses[k][0])]
        return ks, [misses[k][0] for k in ks], [misses[k][1] for k in ks]

    # SecCodePLT's safety tests run with the functional tests (judge_many runs every group), so their
    # dynamic verdict is read off the functional one; only program tasks (SafeSQL) replay attacks separately.
    safety_keys, _, _ = select("dynamic", lambda t: not _replays_attacks(t))
    f_keys = [k for k in keys if "functional" in misses[k][2] or k in set(safety_keys)]
    f_tasks, f_codes = [misses[k][0] for k in f_keys], [misses[k][1] for k in f_keys]
    d_keys, d_tasks, d_codes = select("dynamic", _replays_attacks)
    m_keys, _m_tasks, m_codes = select("maintainability")
    s_keys, s_tasks, s_codes = select("security")
    assert be.judge_many is not None and be.dynamic_many is not None
    assert be.scan_code is not None and be.check_types is not None
    judge_many, dynamic_many, check_types = be.judge_many, be.dynamic_many, be.check_types

    def timed(fn: Callable[[], list[T]]) -> Callable[[], tuple[list[T], float]]:
        def run() -> tuple[list[T], float]:
            t0 = time.perf_counter()
            res = fn()
            return res, (time.perf_counter() - t0) * 1000

        return run

    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="assess") as pool:
        fut_f: Future[tuple[list[FunctionalVerdict], float]] = pool.submit(
            timed(
                lambda: _batched(
                    "judge",
                    lambda items: judge_many([t for t, _ in items], [c for _, c in items], sandbox=sandbox),
                    list(zip(f_tasks, f_codes, strict=True)),
                    _task_label,
                    lambda msg: FunctionalVerdict(stage=Stage.INFRA_ERROR, message=msg),
                )
            )
        )
        fut_d: Future[tuple[list[DynamicSecurityVerdict], float]] = pool.submit(
            timed(
                lambda: _batched(
                    "dynamic security",
                    lambda items: dynamic_many([t for t, _ in items], [c for _, c in items], sandbox=sandbox),
                    list(zip(d_tasks, d_codes, strict=True)),
                    _task_label,
                    lambda msg: DynamicSecurityVerdict(
                        applicable=True, secure=None, message=f"infra error: {msg}"
                    ),
                )
            )
        )
        fut_m: Future[tuple[list[MaintainabilityResult], float]] = pool.submit(
            timed(lambda: _mypy_batch(check_types, m_codes))
        )
        # The analyzer is pure Python: it runs here while the threads above wait on their processes.
        for k, task, code in zip(s_keys, s_tasks, s_codes, strict=True):
            payloads[k].security = _scan(be, task, code)
        for k in keys:
            task, code, _ = misses[k]
            t0 = time.perf_counter()
            payloads[k].signals = compute_signals(task, code)
            payloads[k].timings_ms["signals"] = (time.perf_counter() - t0) * 1000
        f_res, f_ms = fut_f.result()
        d_res, d_ms = fut_d.result()
        m_res, m_ms = fut_m.result()
    assert be.safety_from_functional is not None
    safety = set(safety_keys)
    for k, v in zip(f_keys, f_res, strict=True):
        if "functional" in misses[k][2]:
            payloads[k].functional = v
        payloads[k].timings_ms["functional"] = f_ms / max(1, len(f_keys))
        if k in safety:
            payloads[k].dynamic = be.safety_from_functional(misses[k][0], v)
    for k, dv in zip(d_keys, d_res, strict=True):
        payloads[k].dynamic = dv
        payloads[k].timings_ms["dynamic"] = d_ms / max(1, len(d_keys))
    for k, mv in zip(m_keys, m_res, strict=True):
        mv.ms = m_ms / max(1, len(m_keys))
        payloads[k].maintainability = mv
        payloads[k].timings_ms["maintainability"] = mv.ms
    for k in s_keys:
        sec = payloads[k].security
        if sec is not None:
            payloads[k].timings_ms["security"] = sec.ms
    return payloads


def _scan(be: Backends, task: Task, code: str) -> SecurityResult:
    """The security analyzer over the program the sandbox runs (set-up + candidate), keeping the findings
    that touch the candidate's lines: a weakness in the benchmark's own set-up is not the model's."""
    assert be.scan_code is not None
    program = task.program(code)
    first_line = len(task.setup.split("\n")) + 1 if task.setup else 1
    t0 = time.perf_counter()
    try:
        findings = be.scan_code(program, entry=task.entry.name)
    except Exception as exc:  # the analyzer itself broke: never the model's fault
        return SecurityResult(
            status="infra_error",
            message=f"security analyzer failed: {type(exc).__name__}: {exc}",
            ms=(time.perf_counter() - t0) * 1000,
        )
    ms = (time.perf_counter() - t0) * 1000
    parse_error = any(f.rule_id == "RC-SYNTAX" for f in findings)
    kept = [
        f
        for f in findings
        if f.rule_id != "RC-SYNTAX"
        and (f.location.line >= first_line or any(s.location.line >= first_line for s in f.trace))
    ]
    message = f"candidate code starts at line {first_line} of the program" if first_line > 1 else ""
    return SecurityResult(findings=kept, parse_error=parse_error, message=message, ms=ms)


def _mypy_batch(check_types: Callable[..., list[Any]], codes: list[str]) -> list[MaintainabilityResult]:
    return _batched(
        "mypy",
        lambda cs: [_to_maintainability(r) for r in check_types(cs, strict=True, prelude=MYPY_PRELUDE)],
        codes,
        lambda code: f"code {hashlib.sha256(code.encode()).hexdigest()[:12]}",
        lambda msg: MaintainabilityResult(status="infra_error", message=msg),
    )


def _to_maintainability(r: Any) -> MaintainabilityResult:
    """Adapt :class:`realcode.analysis.maintainability.TypeCheckResult` (a crash is an infrastructure error)."""
    if isinstance(r, MaintainabilityResult):
        return r
    if getattr(r, "crashed", False):
        return MaintainabilityResult(
            status="infra_error", message=f"mypy crashed: {getattr(r, 'crash_reason', '')}"
        )
    findings = [
        Finding(
            rule_id=f"MYPY-{e.code or 'misc'}",
            cwe=None,
            severity=Severity.MEDIUM,
            confidence=Confidence.HIGH,
            message=e.message,
            location=Location(line=max(1, e.line), column=max(1, e.column or 1)),
            analyzer="mypy",
            code=e.code,
        )
        for e in getattr(r, "errors", [])
    ]
    return MaintainabilityResult(
        mypy_exit=int(r.exit_status), mypy_errors=int(r.error_count), findings=findings
    )
