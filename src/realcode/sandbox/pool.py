"""The host side of the sandbox: a pool of warm workers and the :class:`Sandbox` that hands them jobs.

Workers are started with ``subprocess`` (never forked from the host, which may be a large trainer process)
and each runs one job at a time. A worker that dies, hangs past every backstop or answers garbage is killed
and replaced; its job is retried once on a fresh worker and then reported as ``infra_error``, never as
the program's outcome.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import json
import os
import queue
import select
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import IO, Any

from pydantic import ValidationError

from realcode.sandbox import isolation as iso
from realcode.sandbox.api import Job, JobResult
from realcode.sandbox.serialize import encode
from realcode.sandbox.worker import HEADER, MAX_REPLY, PROTOCOL_VERSION

START_TIMEOUT = 60.0  # seconds for a worker to import and say it is ready (cold disk, busy machine)
BACKSTOP_SLACK = 15.0  # seconds the host waits beyond the job's own wall budget before killing a worker


class WorkerFailure(RuntimeError):
    """A worker died, hung or sent something that is not a result."""


class _Worker:
    """One worker process and its two protocol pipes."""

    def __init__(self, level: iso.Level, preimports: tuple[str, ...]):
        plan = iso.launch(level, preimports)
        self.scratch = plan.scratch
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the worker
        started = time.monotonic()
        try:
            self.process = subprocess.Popen(
                plan.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.stderr,
                env=plan.env,
                start_new_session=True,
                close_fds=True,  # ^C in a terminal must not kill the pool mid-job
            )
        except OSError as exc:
            self._cleanup()
            raise WorkerFailure(f"could not start a sandbox worker: {exc}") from None
        assert self.process.stdin is not None and self.process.stdout is not None
        self._in = self.process.stdin.fileno()
        self._out = self.process.stdout.fileno()
        self._buffer = bytearray()
        self._config = plan.config
        self._started = started
        self.info: dict[str, Any] = {}
        self.start_ms = 0.0

    def handshake(self) -> None:
        """Send the config and wait until the worker is ready."""
        try:
            self.send(json.dumps(self._config).encode())
            ready = json.loads(self.receive(START_TIMEOUT))
        except (WorkerFailure, ValueError):
            self.kill()
            raise
        if not isinstance(ready, dict) or ready.get("protocol") != PROTOCOL_VERSION:
            self.kill()
            raise WorkerFailure(f"worker answered an unexpected greeting: {ready!r}"[:300])
        self.info = ready
        self.start_ms = (time.monotonic() - self._started) * 1000.0

    def send(self, payload: bytes) -> None:
        data = memoryview(HEADER.pack(len(payload)) + payload)
        try:
            while data:
                written = os.write(self._in, data)
                data = data[written:]
        except OSError as exc:
            raise WorkerFailure(f"worker stopped listening: {exc}{self._diagnostics()}") from None

    def receive(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            if len(self._buffer) >= HEADER.size:
                (size,) = HEADER.unpack_from(self._buffer)
                if size > MAX_REPLY:
                    raise WorkerFailure(f"worker sent a {size}-byte frame")
                if len(self._buffer) >= HEADER.size + size:
                    frame = bytes(self._buffer[HEADER.size : HEADER.size + size])
                    del self._buffer[: HEADER.size + size]
                    return frame
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkerFailure(f"worker did not answer within {timeout:.0f} s")
            ready, _, _ = select.select([self._out], [], [], left)
            if not ready:
                continue
            data = os.read(self._out, 1 << 20)
            if not data:
                raise WorkerFailure(f"worker exited (code {self.process.poll()}){self._diagnostics()}")
            self._buffer += data

    def _diagnostics(self) -> str:
        try:
            self.stderr.seek(0)
            text = self.stderr.read(4000).decode(errors="replace").strip()
        except (OSError, ValueError):
            return ""
        return f": {text}" if text else ""

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.kill()
        except OSError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._cleanup()

    def close(self) -> None:
        """Ask the worker to finish (end of its stdin), then make sure it did."""
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._cleanup()

    def _cleanup(self) -> None:
        self.stderr.close()
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None


def _check_name(name: str, what: str) -> None:
    if not name or "/" in name or "\0" in name or name in (".", "..") or name.startswith("."):
        raise ValueError(f"job {what} name {name!r} must be a plain file name (no '/', not hidden)")


def prepare(job: Job | dict[str, Any]) -> Job:
    """Validate a job, with errors that name the culprit."""
    try:
        checked = job if isinstance(job, Job) else Job.model_validate(job)
    except ValidationError as exc:
        raise ValueError(f"invalid sandbox job: {exc}") from None
    for name, content in checked.files.items():
        _check_name(name, "file")
        try:
            base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"job file {name!r} is not valid base64") from None
    for name in checked.capture_files:
        _check_name(name, "capture file")
    if checked.mode == "calls":
        for index, call in enumerate(checked.calls):
            if (call.function is None) == (call.expression is None):
                raise ValueError(f"call {index} must give exactly one of function or expression")
    limits = checked.limits
    for field_name in (
        "cpu_seconds",
        "wall_seconds",
        "memory_mb",
        "file_size_mb",
        "open_files",
        "processes",
        "output_bytes",
    ):
        if getattr(limits, field_name) <= 0:
            raise ValueError(f"job limit {field_name} must be positive, got {getattr(limits, field_name)!r}")
    return checked


def _wire(job: Job) -> bytes:
    data = job.model_dump()
    for call in data["calls"]:
        call["args"] = encode(list(call["args"]))
        call["kwargs"] = encode(dict(call["kwargs"]))
    return json.dumps({"job": data}).encode()


def _backstop(job: Job) -> float:
    segments = 1 + len(job.calls) + len(job.stdin_runs)
    per_segment = max(job.limits.wall_seconds, job.limits.cpu_seconds * 2) + 1.0
    return segments * per_segment + BACKSTOP_SLACK


class Sandbox:
    """A pool of sandbox workers. Use as a context manager, or call :meth:`close`.

    ``workers=None`` starts one worker per CPU. ``isolation`` is ``auto`` (the strongest level that works),
    or exactly ``bwrap``, ``unshare`` or ``rlimits`` (raising :class:`SandboxUnavailable` when that level
    cannot run here). ``preimports`` names extra modules (for instance ``numpy``) that workers import once so
    that jobs importing them start fast.

    What the results mean (the worker decides each from what it observes, not from what the code says):

    * ``Call.args``/``kwargs`` are Python values; the host encodes them (tuples, bytes, sets, dicts with any
      keys and non-finite floats arrive as such). Pass plain values, not already-tagged data.
    * ``calls`` mode: a module that does not compile gives job status ``syntax_error``; one that raises, or
      whose preamble raises, ``load_error``; one that exits, times out or crashes while loading gives that
      reason. In all these cases ``calls`` is empty. Otherwise the job is ``ok`` and every call has a result;
      a call that kills its process (``os._exit``, a signal, a limit) gets that reason and the remaining calls
      run in a fresh process where the module is executed again.
    * ``program`` mode: each stdin is a fresh process; ``sys.exit(0)`` (or exit code 0) is ``ok``, other exit
      codes ``exit``, an uncaught exception ``exception`` (traceback in ``stderr``). Code that does not
      compile gives job status ``syntax_error`` and no runs.
    * CPU and wall limits apply per segment: the module load, each call, each program run.
    * ``infra_error`` only ever means the sandbox failed; the job was retried once on a fresh worker.
    """

    def __init__(self, workers: int | None = None, isolation: str = "auto", preimports: Iterable[str] = ()):
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.size = workers or os.cpu_count() or 1
        self._owner_pid = os.getpid()  # the pipes to the workers belong to this process only
        self.isolation: iso.IsolationReport = iso.choose(isolation)
        self._preimports = tuple(preimports)
        # Free slots: a ready worker, or None for a slot whose worker died and is restarted on next use
        # (so a failing restart can never leave a caller waiting for a worker that will not come).
        self._idle: queue.SimpleQueue[_Worker | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._all: set[_Worker] = set()
        self._closed = False
        self.start_ms: list[float] = []
        # Workers die with the thread that started them (bubblewrap's --die-with-parent and the worker's
        # PR_SET_PDEATHSIG follow the parent *thread*), so one long-lived thread starts them all.
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="realcode-sandbox-spawner")
        try:
            fresh = [self._spawner.submit(self._launch).result() for _ in range(self.size)]
            for worker in fresh:
                worker.handshake()  # all workers import in parallel; this only waits for each
                self._register(worker)
                self._idle.put(worker)
        except BaseException:
            for worker in fresh if "fresh" in locals() else []:
                worker.kill()
            self.close()
            raise
        self._executor = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="realcode-sandbox")

    def _launch(self) -> _Worker:
        return _Worker(self.isolation.level, self._preimports)

    def _register(self, worker: _Worker) -> None:
        with self._lock:
            self._all.add(worker)
            self.start_ms.append(worker.start_ms)

    def _spawn(self) -> _Worker:
        worker = self._spawner.submit(self._launch).result()
        worker.handshake()
        self._register(worker)
        return worker

    def _retire(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)

    def _take(self) -> _Worker:
        """A free worker, starting one for an empty slot; the slot is given back if that fails."""
        worker = self._idle.get()
        if worker is not None:
            return worker
        if self._closed:
            self._idle.put(None)
            raise WorkerFailure("sandbox is closed")
        try:
            return self._spawn()
        except BaseException:
            self._idle.put(None)
            raise

    def worker_info(self) -> dict[str, Any]:
        """What one worker reported when it became ready (python version, uid, pre-import time)."""
        worker = self._take()
        try:
            return dict(worker.info)
        finally:
            self._idle.put(worker)

    def _attempt(self, payload: bytes, backstop: float) -> JobResult:
        worker = self._take()
        try:
            worker.send(payload)
            reply = json.loads(worker.receive(backstop))
            result = JobResult.model_validate(reply)
        except (WorkerFailure, ValueError) as exc:  # ValueError: bad JSON or a reply that is not a JobResult
            self._retire(worker)
            self._idle.put(None)
            raise WorkerFailure(str(exc)) from None
        except BaseException:
            self._retire(worker)
            self._idle.put(None)
            raise
        if result.status == "infra_error":  # the worker itself is suspect: the retry gets a fresh one
            self._retire(worker)
            self._idle.put(None)
        else:
            self._idle.put(worker)
        return result

    def _check_usable(self) -> None:
        if self._closed:
            raise RuntimeError("sandbox is closed")
        if os.getpid() != self._owner_pid:
            raise RuntimeError(
                "this Sandbox was created in another process (it was inherited through fork); "
                "create one per process, or use get_default_sandbox(), which does"
            )

    def run(self, job: Job | dict[str, Any]) -> JobResult:
        """Run one job on a free worker; infrastructure failures are retried once, then reported."""
        self._check_usable()
        checked = prepare(job)
        return self._run_checked(checked)

    def _run_checked(self, job: Job) -> JobResult:
        payload = _wire(job)
        backstop = _backstop(job)
        message = ""
        for _ in range(2):
            try:
                result = self._attempt(payload, backstop)
            except WorkerFailure as exc:
                message = str(exc)
                continue
            if result.status != "infra_error":
                return result
            message = result.infra_message or "infrastructure error"
        return JobResult(status="infra_error", infra_message=message, isolation=self.isolation.level)

    def run_many(
        self, jobs: Sequence[Job | dict[str, Any]], progress: Callable[[int], None] | None = None
    ) -> list[JobResult]:
        """Run jobs in parallel over the pool; results come back in the order of ``jobs``.

        ``progress``, if given, is called with 1 as each job finishes (from pool threads).
        """
        self._check_usable()
        checked = [prepare(job) for job in jobs]

        def one(job: Job) -> JobResult:
            result = self._run_checked(job)
            if progress is not None:
                progress(1)
            return result

        return list(self._executor.map(one, checked))

    def close(self) -> None:
        """Stop every worker; idempotent. In a forked copy of the owning process it only forgets them."""
        if self._closed:
            return
        if os.getpid() != getattr(self, "_owner_pid", os.getpid()):
            self._closed = True  # the workers belong to the parent process: leave them alone
            return
        self._closed = True
        for name in ("_executor", "_spawner"):
            executor = getattr(self, name, None)
            if executor is not None:
                executor.shutdown(wait=True)
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            worker.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


_DEFAULT: Sandbox | None = None
_DEFAULT_LOCK = threading.Lock()


def get_default_sandbox() -> Sandbox:
    """A process-wide sandbox, started on first use and closed at exit (a forked process gets its own).

    ``REALCODE_SANDBOX_WORKERS`` and ``REALCODE_SANDBOX_ISOLATION`` override its size and level.
    """
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None or _DEFAULT._closed or _DEFAULT._owner_pid != os.getpid():
            workers = os.environ.get("REALCODE_SANDBOX_WORKERS")
            _DEFAULT = Sandbox(
                workers=int(workers) if workers else None,
                isolation=os.environ.get("REALCODE_SANDBOX_ISOLATION", "auto"),
            )
            atexit.register(_DEFAULT.close)
        return _DEFAULT
