"""Batched ``mypy --strict`` with the verdict and error count that checking each snippet alone gives.

Each snippet becomes its own top-level module (``realcode_snippet_NNNN.py``) in a directory that holds
nothing else, and one mypy run checks a whole batch. Why each step:

* **Own module, own directory.** mypy puts the directory of every file, and its working directory, on the
  module search path. The run's working directory is the snippet directory itself, so the only importable
  names there are the slot modules, and a snippet that mentions the slot prefix is checked alone.
  Configuration files are never discovered (an empty ``--config-file`` is passed) and mypy's environment
  variables are cleared, for the batch and the per-file reference alike.
* **Persistent cache, reused slots.** The standard library's cache is what makes a batch cheap. Slot names
  are reused across batches so the cache stays bounded; mypy trusts a cached module whose size and
  whole-second mtime are unchanged without hashing it, so every write gets an mtime never used before in
  that workspace (a counter kept on disk).
* **Blocking errors.** mypy stops the whole run at a file that does not parse (with the native parser a
  file can have several syntax errors). Snippets that Python's parser rejects are checked alone; if a
  batch still ends with exit status 2, every file that reported something is checked alone and the rest
  are re-run. A run that dies or overruns its deadline is bisected down to the guilty snippet, which is
  marked ``crashed``.
* **Counting.** ``error_count`` counts records of severity ``error`` in the snippet's file; notes do not
  count, as in mypy's own "Found N errors" summary.
"""

from __future__ import annotations

import ast
import atexit
import fcntl
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import mypy.version
from pydantic import BaseModel, ConfigDict

from realcode.analysis.maintainability.mypy_worker import MypyWorker, RunOutput, WorkerLost, clean_env

REAL_PRELUDE = "from typing import *\n"
"""The header REAL prepends to every completion before ``mypy --strict`` (its ``add_imports``)."""

SLOT_PREFIX = "realcode_snippet_"
SOLO_PREFIX = "realcode_solo_"
DEFAULT_BATCH_SIZE = 512


class TypeErrorRecord(BaseModel):
    """One mypy message about one snippet. Lines are the snippet's own (prelude lines subtracted)."""

    model_config = ConfigDict(frozen=True)

    line: int
    column: int | None  # 1-based; None when mypy gives no column
    end_line: int | None = None
    end_column: int | None = None
    code: str | None  # mypy error code, e.g. "no-untyped-def"; None for uncoded messages
    message: str
    severity: str  # "error" or "note"
    hint: str | None = None  # notes mypy attaches to this error


class TypeCheckResult(BaseModel):
    """mypy's verdict on one snippet, as if it had been checked alone."""

    errors: list[TypeErrorRecord]
    notes: list[TypeErrorRecord] = []
    error_count: int
    exit_status: int  # mypy's: 0 clean, 1 errors, 2 blocked (e.g. syntax) or crashed
    blocking: bool = False  # checking stopped early (syntax error, blocking semantic error)
    crashed: bool = False  # mypy died, hung or crashed: no verdict
    crash_reason: str | None = None

    @property
    def clean(self) -> bool:
        """True when mypy reports no error (exit status 0)."""
        return self.exit_status == 0 and not self.crashed

    @property
    def type_score(self) -> float | None:
        """REAL's graded score ``max(0, 1 - 0.5 * errors)``; 0 when checking was blocked, None on a crash."""
        if self.crashed:
            return None
        if self.blocking:
            return 0.0
        return max(0.0, 1.0 - 0.5 * self.error_count)

    @property
    def real_reward(self) -> float | None:
        """REAL's reward exactly: 1 clean, ``max(0, 1 - 0.5 * n)`` with errors, -0.5 when mypy exits 2."""
        if self.crashed:
            return None
        if self.exit_status == 0:
            return 1.0
        if self.exit_status == 1:
            return max(0.0, 1.0 - 0.5 * max(1, self.error_count))
        return -0.5


# -- locations --------------------------------------------------------------------------------------


def default_cache_root() -> Path:
    """``$REALCODE_CACHE/mypy`` or ``~/.cache/realcode/mypy``."""
    base = os.environ.get("REALCODE_CACHE")
    root = Path(base) if base else Path.home() / ".cache" / "realcode"
    return root / "mypy"


def mypy_flags(strict: bool) -> list[str]:
    """The flags every run uses, batched or per file (besides output format and cache location)."""
    return ["--strict"] if strict else []


def _settings_key(strict: bool) -> str:
    tag = f"{mypy.version.__version__}-py{sys.version_info[0]}{sys.version_info[1]}-{'strict' if strict else 'default'}"
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", tag)


# -- input classification -----------------------------------------------------------------------------


def _python_parses(source: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ast.parse(source, type_comments=True)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            return False
    return True


def _needs_solo(source: str) -> bool:
    """Snippets that must not share a run: unparsable ones stop a run; naming a slot could import one."""
    return SLOT_PREFIX in source or not _python_parses(source)


def _with_prelude(code: str, prelude: str | None) -> tuple[str, int]:
    if not prelude:
        return code, 0
    if not prelude.endswith("\n"):
        prelude += "\n"
    return prelude + code, prelude.count("\n")


# -- output parsing -----------------------------------------------------------------------------------


def _parse_json_lines(stdout: str) -> list[dict[str, object]]:
    records: list[dict[str, object]] = []
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and "file" in obj and "severity" in obj:
            records.append(obj)
    return records


def _as_int(value: object) -> int | None:
    return value if isinstance(value, int) else None


def _record(raw: dict[str, object], offset: int, module: str) -> TypeErrorRecord:
    line = _as_int(raw.get("line")) or 0
    column = _as_int(raw.get("column"))
    end_line = _as_int(raw.get("end_line"))
    end_column = _as_int(raw.get("end_column"))
    # mypy names the checked module in some messages; show the neutral name a reader would expect.
    message = str(raw.get("message", "")).replace(module, "snippet")
    hint = raw.get("hint")
    code = raw.get("code")
    return TypeErrorRecord(
        line=line - offset,
        column=column + 1 if column is not None and column >= 0 else None,
        end_line=end_line - offset if end_line is not None and end_line > 0 else None,
        end_column=end_column + 1 if end_column is not None and end_column >= 0 else None,
        code=str(code) if code else None,
        message=message,
        severity=str(raw.get("severity", "error")),
        hint=str(hint).replace(module, "snippet") if hint else None,
    )


# -- the checker --------------------------------------------------------------------------------------


@dataclass
class _Item:
    """One distinct source to check, with the slot it is written to."""

    source: str
    offset: int
    module: str = ""  # the module name of the file it was last written to


@dataclass
class _Workspace:
    """A locked directory for one worker: snippet files in ``src``, mypy's cache in ``cache``."""

    root: Path
    lock: IO[bytes]
    worker: MypyWorker
    config: Path
    last_stamp: int = 0

    def next_stamps(self, n: int) -> list[int]:
        """``n`` file mtimes never used before in this workspace, persisted across processes."""
        stamp_file = self.root / "stamp"
        if not self.last_stamp:
            try:
                self.last_stamp = int(stamp_file.read_text(encoding="ascii").strip() or 0)
            except (OSError, ValueError):
                self.last_stamp = 0
        first = max(self.last_stamp + 1, int(time.time()))
        self.last_stamp = first + n - 1
        stamp_file.write_text(str(self.last_stamp), encoding="ascii")
        return list(range(first, first + n))

    files: Path = Path()  # where snippet files are written: memory-backed when the host has /dev/shm

    @property
    def src(self) -> Path:
        return self.files / "src"

    @property
    def solo(self) -> Path:
        return self.files / "solo"

    @property
    def cache(self) -> Path:
        return self.root / "cache"


def _acquire_workspace(base: Path, worker: MypyWorker) -> _Workspace:
    """Claim the first unlocked ``w<k>`` directory under ``base``, so concurrent processes never share one."""
    base.mkdir(parents=True, exist_ok=True)
    config = base / "mypy.ini"
    if not config.exists():
        # An empty [mypy] section: nothing from the caller's directory or home may change the verdicts.
        config.write_text("[mypy]\n", encoding="utf-8")
    for k in range(1024):
        root = base / f"w{k}"
        (root / "cache").mkdir(parents=True, exist_ok=True)
        lock = open(root / "lock", "wb")  # noqa: SIM115 - held for the workspace's lifetime
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        # Snippet files are rewritten every batch and never needed again: on a busy disk, writing 512 of
        # them cost as much as checking them, so they go to memory when possible. The cache stays on disk.
        shm = Path("/dev/shm")
        parent = shm if shm.is_dir() and os.access(shm, os.W_OK) else root
        files = Path(tempfile.mkdtemp(prefix="realcode-mypy-", dir=parent))
        (files / "src").mkdir()
        (files / "solo").mkdir()
        return _Workspace(root=root, lock=lock, worker=worker, config=config, files=files)
    raise RuntimeError(f"no free mypy workspace under {base}")


class TypeChecker:
    """Checks batches of snippets with one long-lived mypy worker and a persistent cache.

    Use :func:`check_types` unless you need control over the worker's lifetime.
    """

    def __init__(
        self,
        *,
        strict: bool = True,
        cache_dir: str | Path | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        run_timeout: float = 120.0,
        per_snippet_timeout: float = 0.5,
        solo_timeout: float = 60.0,
        max_rss_mb: int = 700,
        max_runs: int = 40,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.strict = strict
        base = Path(cache_dir) if cache_dir is not None else default_cache_root()
        self.base = base / _settings_key(strict)
        self.batch_size = batch_size
        self.run_timeout = run_timeout
        self.per_snippet_timeout = per_snippet_timeout
        self.max_rss_mb = max_rss_mb
        self.max_runs = max_runs
        self.solo_timeout = solo_timeout
        self._ws: _Workspace | None = None
        self._lock = threading.Lock()
        self.runs = 0  # mypy runs made, for the benchmark's accounting

    # -- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the worker and release the workspace."""
        ws, self._ws = self._ws, None
        if ws is not None:
            ws.worker.close()
            shutil.rmtree(ws.files, ignore_errors=True)
            ws.lock.close()

    @property
    def worker_cpu_seconds(self) -> float:
        """CPU seconds used by this checker's mypy worker processes so far."""
        return self._ws.worker.cpu_seconds if self._ws is not None else 0.0

    def __enter__(self) -> TypeChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _workspace(self) -> _Workspace:
        if self._ws is None:
            self._ws = _acquire_workspace(
                self.base, MypyWorker(max_rss_mb=self.max_rss_mb, max_runs=self.max_runs)
            )
        return self._ws

    # -- public ----------------------------------------------------------------------------------
    def check(self, codes: Sequence[str], *, prelude: str | None = None) -> list[TypeCheckResult]:
        """Check each code string as if alone; results are in input order."""
        _validate_codes(codes)
        if not codes:
            return []
        with self._lock:
            distinct: dict[str, _Item] = {}
            order: list[str] = []
            for code in codes:
                source, offset = _with_prelude(code, prelude)
                if source not in distinct:
                    distinct[source] = _Item(source, offset)
                order.append(source)
            results: dict[str, TypeCheckResult] = {}
            batchable = [it for it in distinct.values() if not _needs_solo(it.source)]
            solo = [it for it in distinct.values() if _needs_solo(it.source)]
            for start in range(0, len(batchable), self.batch_size):
                self._check_group(batchable[start : start + self.batch_size], results)
            for item in solo:
                results[item.source] = self._check_solo(item)
            return [results[source].model_copy(deep=True) for source in order]

    # -- internals -------------------------------------------------------------------------------
    def _write(self, items: Sequence[_Item], *, solo: bool) -> tuple[Path, list[str]]:
        ws = self._workspace()
        if solo:
            # Alone in its own directory, under a name the snippet does not mention (a snippet that
            # imports the name it is checked under would otherwise import itself).
            directory = ws.solo
            (item,) = items
            n = 0
            while f"{SOLO_PREFIX}{n}" in item.source:
                n += 1
            modules = [f"{SOLO_PREFIX}{n}"]
            for stale in directory.iterdir():
                if stale.name != modules[0] + ".py":
                    stale.unlink()
        else:
            directory = ws.src
            modules = [f"{SLOT_PREFIX}{slot:04d}" for slot in range(len(items))]
        names = []
        # mypy trusts a cached module whose file size and whole-second mtime are unchanged, without
        # hashing it: a same-sized rewrite within a second would get the previous snippet's verdict. Every
        # write therefore gets an mtime this workspace has never used, so it can match no cache entry.
        stamps = ws.next_stamps(len(items))
        for module, item, stamp in zip(modules, items, stamps, strict=True):
            item.module = module
            path = directory / f"{module}.py"
            path.write_bytes(item.source.encode("utf-8", "surrogatepass"))
            os.utime(path, (stamp, stamp))
            names.append(path.name)
        return directory, names

    def _run(self, items: Sequence[_Item], timeout: float, *, solo: bool = False) -> RunOutput:
        ws = self._workspace()
        directory, names = self._write(items, solo=solo)
        args = [
            "--config-file",
            str(ws.config),
            *mypy_flags(self.strict),
            "--cache-dir",
            str(ws.cache),
            "-O",
            "json",
            *names,
        ]
        self.runs += 1
        return ws.worker.run(args, directory, timeout)

    def _results_from(self, items: Sequence[_Item], out: RunOutput) -> dict[str, TypeCheckResult]:
        by_file: dict[str, list[dict[str, object]]] = {}
        for raw in _parse_json_lines(out.stdout):
            by_file.setdefault(os.path.basename(str(raw["file"])), []).append(raw)
        results = {}
        for item in items:
            module = item.module
            records = [_record(raw, item.offset, module) for raw in by_file.get(module + ".py", [])]
            errors = [r for r in records if r.severity == "error"]
            notes = [r for r in records if r.severity != "error"]
            results[item.source] = TypeCheckResult(
                errors=errors,
                notes=notes,
                error_count=len(errors),
                exit_status=1 if errors else 0,
            )
        return results

    def _check_group(self, items: list[_Item], results: dict[str, TypeCheckResult]) -> None:
        """Check items in one run; on a blocked or lost run, isolate the culprits and re-run the rest."""
        if not items:
            return
        if len(items) == 1:
            results[items[0].source] = self._check_solo(items[0])
            return
        timeout = self.run_timeout + self.per_snippet_timeout * len(items)
        try:
            out = self._run(items, timeout)
        except WorkerLost:
            half = len(items) // 2
            self._check_group(items[:half], results)
            self._check_group(items[half:], results)
            return
        if out.status in (0, 1) and not _foreign_files(out, items):
            results.update(self._results_from(items, out))
            return
        # Exit status 2 means a blocking error: each file that reported something is checked alone and
        # the others again together. Anything else (a crash, messages about a file that is not a snippet)
        # cannot be pinned on a snippet, so the batch is halved until it can.
        culprits: list[_Item] = []
        if out.status == 2:
            reported = {os.path.basename(str(raw["file"])) for raw in _parse_json_lines(out.stdout)}
            culprits = [it for it in items if f"{it.module}.py" in reported]
        if not culprits:
            half = len(items) // 2
            self._check_group(items[:half], results)
            self._check_group(items[half:], results)
            return
        for item in culprits:
            results[item.source] = self._check_solo(item)
        self._check_group([it for it in items if it not in culprits], results)

    def _check_solo(self, item: _Item) -> TypeCheckResult:
        try:
            out = self._run([item], self.solo_timeout, solo=True)
        except WorkerLost as exc:
            return TypeCheckResult(
                errors=[], error_count=0, exit_status=2, crashed=True, crash_reason=f"mypy worker lost: {exc}"
            )
        result = self._results_from([item], out)[item.source]
        foreign = _foreign_files(out, [item])
        if out.status in (0, 1) and not foreign:
            return result
        if out.status == 2 and (result.errors or result.notes):
            return result.model_copy(update={"exit_status": 2, "blocking": True})
        if out.status in (0, 1):
            # Messages about other files still count in a per-file run ("Found N errors").
            extra = [r for r in _parse_json_lines(out.stdout) if os.path.basename(str(r["file"])) in foreign]
            errors = result.errors + [_record(r, 0, "") for r in extra if r.get("severity") == "error"]
            return result.model_copy(
                update={"errors": errors, "error_count": len(errors), "exit_status": out.status}
            )
        reason = (out.stderr or out.stdout).strip().splitlines()
        return TypeCheckResult(
            errors=[],
            error_count=0,
            exit_status=2,
            crashed=True,
            crash_reason=reason[-1] if reason else f"mypy exited with status {out.status}",
        )


def _foreign_files(out: RunOutput, items: Sequence[_Item]) -> set[str]:
    mine = {f"{it.module}.py" for it in items}
    return {os.path.basename(str(r["file"])) for r in _parse_json_lines(out.stdout)} - mine


def _validate_codes(codes: Sequence[str]) -> None:
    if isinstance(codes, str):
        raise TypeError("codes must be a sequence of code strings, not a single string")
    for i, code in enumerate(codes):
        if not isinstance(code, str):
            raise TypeError(f"codes[{i}] is {type(code).__name__}, expected str")


# -- module-level convenience ---------------------------------------------------------------------------

# One checker per (process, settings): a forked child must not talk to its parent's worker.
_CHECKERS: dict[tuple[int, bool, str], TypeChecker] = {}
_CHECKERS_LOCK = threading.Lock()


def _shared_checker(strict: bool, cache_dir: str | Path | None) -> TypeChecker:
    key = (os.getpid(), strict, str(Path(cache_dir).resolve()) if cache_dir is not None else "")
    with _CHECKERS_LOCK:
        checker = _CHECKERS.get(key)
        if checker is None:
            checker = TypeChecker(strict=strict, cache_dir=cache_dir)
            _CHECKERS[key] = checker
        return checker


@atexit.register
def _close_shared_checkers() -> None:
    for (pid, _, _), checker in list(_CHECKERS.items()):
        if pid == os.getpid():
            checker.close()
    _CHECKERS.clear()


def check_types(
    codes: Sequence[str],
    *,
    strict: bool = True,
    prelude: str | None = None,
    cache_dir: str | Path | None = None,
) -> list[TypeCheckResult]:
    """Type-check independent snippets in batched mypy runs; each result equals a per-file run's verdict.

    ``prelude`` is prepended to every snippet (``REAL_PRELUDE`` reproduces REAL); reported lines are the
    snippet's own. A snippet that does not parse gets mypy's syntax errors (exit status 2, ``blocking``);
    an empty batch returns ``[]``. The worker and its cache persist across calls in this process.
    """
    _validate_codes(codes)
    if not codes:
        return []
    return _shared_checker(strict, cache_dir).check(codes, prelude=prelude)


# -- the per-file reference -----------------------------------------------------------------------------

_FOUND = re.compile(r"Found (\d+) errors? in")


@dataclass(frozen=True)
class SoloVerdict:
    """What ``mypy [--strict] file.py`` says about one file, read the way REAL reads it."""

    exit_status: int
    error_count: int  # from the "Found N errors" summary; 0 when clean
    output: str


def check_file_alone(
    code: str, *, strict: bool = True, prelude: str | None = None, cache_dir: Path
) -> SoloVerdict:
    """The reference: one fresh ``python -m mypy`` process over the snippet alone in an empty directory.

    The file gets a random name (as REAL's ``NamedTemporaryFile`` does); the summary line is parsed, not
    the JSON our batches use, so the comparison also checks our reading of mypy's output.
    """
    import subprocess

    source, _ = _with_prelude(code, prelude)
    config = cache_dir / "mypy.ini"
    if not config.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        config.write_text("[mypy]\n", encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="rc-mypy-solo-") as tmp:
        name = "tmp" + hashlib.sha1(os.urandom(8)).hexdigest()[:8] + ".py"
        path = Path(tmp) / name
        path.write_bytes(source.encode("utf-8", "surrogatepass"))
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "mypy",
                "--config-file",
                str(config),
                *mypy_flags(strict),
                "--no-color-output",
                "--cache-dir",
                str(cache_dir / "cache"),
                name,
            ],
            cwd=tmp,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
    output = proc.stdout
    match = _FOUND.search(output)
    count = int(match.group(1)) if match else 0
    return SoloVerdict(exit_status=proc.returncode, error_count=count, output=output)
