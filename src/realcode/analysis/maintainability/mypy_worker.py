"""A long-lived mypy process, and the client that drives and recycles it.

Starting mypy costs a few hundred milliseconds (importing the compiled package and loading the cached
standard library), while checking one more small module costs about two. So one worker process serves
many runs through ``mypy.api.run``. That function leaks: a process grows by tens of megabytes per run of
a few hundred modules, so the client replaces the worker once its resident memory passes a limit or after a
number of runs. A worker that dies or overruns its deadline is killed and replaced; the caller decides
what the lost run means.

Protocol: one JSON object per line. Request ``{"args": [...], "cwd": DIR}``; reply ``{"stdout", "stderr",
"status", "rss_mb", "cpu"}`` (``cpu``: the worker's CPU seconds so far, for the benchmark). The worker talks on a duplicate of its original stdout, and points file
descriptor 1 at stderr, so that nothing mypy prints can corrupt the protocol.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

# Environment variables that would change what mypy checks or where it caches; a per-file reference run
# and a batched run must see the same (empty) settings.
MYPY_ENV_VARS = (
    "MYPYPATH",
    "MYPY_CACHE_DIR",
    "MYPY_NUM_WORKERS",
    "MYPY_FORCE_COLOR",
    "MYPY_FORCE_TERMINAL_WIDTH",
)


def clean_env() -> dict[str, str]:
    """The environment for a mypy process: ours, minus variables that would change its verdicts."""
    env = {k: v for k, v in os.environ.items() if k not in MYPY_ENV_VARS}
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _rss_mb() -> int:
    with open("/proc/self/statm", encoding="ascii") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // (1024 * 1024)


def _serve() -> None:
    """Worker main loop: answer requests until stdin closes."""
    proto_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    import mypy.api

    proto_out.write(json.dumps({"ready": True, "rss_mb": _rss_mb(), "cpu": time.process_time()}) + "\n")
    proto_out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        os.chdir(request["cwd"])
        try:
            out, err, status = mypy.api.run(list(request["args"]))
        except Exception as exc:  # a mypy crash that escapes its own handler: report it, keep serving
            out, err, status = "", f"INTERNAL ERROR: {type(exc).__name__}: {exc}", 2
        reply = {
            "stdout": out,
            "stderr": err,
            "status": status,
            "rss_mb": _rss_mb(),
            "cpu": time.process_time(),
        }
        proto_out.write(json.dumps(reply) + "\n")
        proto_out.flush()


class WorkerLost(RuntimeError):
    """The worker died or overran its deadline; its run produced no answer."""


class WorkerUnavailable(RuntimeError):
    """A worker could not be started at all (mypy missing or broken): no run can succeed."""


@dataclass
class RunOutput:
    """What one mypy run printed, and its exit status (0 clean, 1 errors, 2 blocked or crashed)."""

    stdout: str
    stderr: str
    status: int


class MypyWorker:
    """Client side of one worker process, recycled before its memory grows.

    Each run names the directory mypy runs in; mypy puts its working directory on the module search path,
    so that directory must hold nothing but the files being checked.
    """

    def __init__(self, *, max_rss_mb: int = 700, max_runs: int = 40, start_timeout: float = 60.0):
        self.max_rss_mb = max_rss_mb
        self.max_runs = max_runs
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[str] | None = None
        self._runs = 0
        self._rss_mb = 0
        self.restarts = 0
        self.cpu_seconds = 0.0  # CPU time used by all worker processes so far (start-up included)
        self._last_cpu = 0.0

    # -- lifecycle ---------------------------------------------------------------------------------
    def _start(self) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "realcode.analysis.maintainability.mypy_worker"],
            env=clean_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self._proc = proc
        self._runs = 0
        try:
            hello = self._read_reply(proc, self.start_timeout)
        except WorkerLost as exc:
            self._kill()
            raise WorkerUnavailable(
                f"the mypy worker did not start ({exc}); check that `{sys.executable} -m mypy --version` works"
            ) from None
        self._rss_mb = int(hello.get("rss_mb", 0))
        self._last_cpu = float(hello.get("cpu", 0.0))
        self.cpu_seconds += self._last_cpu
        return proc

    def close(self) -> None:
        """Stop the worker process (ours, by its own handle)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
            if proc.stdin is not None:
                try:
                    proc.stdin.close()
                except OSError:
                    pass

    # -- running -----------------------------------------------------------------------------------
    @staticmethod
    def _read_reply(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
        stream: IO[str] | None = proc.stdout
        assert stream is not None
        with selectors.DefaultSelector() as sel:
            sel.register(stream, selectors.EVENT_READ)
            if not sel.select(timeout):
                raise WorkerLost(f"mypy worker gave no answer within {timeout:.0f} s")
        line = stream.readline()
        if not line:
            raise WorkerLost(f"mypy worker exited (status {proc.poll()})")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def run(self, args: list[str], cwd: Path, timeout: float) -> RunOutput:
        """Run mypy once with ``args`` in ``cwd``; raise WorkerLost if the worker dies or overruns ``timeout``."""
        if self._proc is None or self._proc.poll() is not None:
            self._proc = None
            self._start()
            self.restarts += 1
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        started = time.monotonic()
        try:
            proc.stdin.write(json.dumps({"args": args, "cwd": str(cwd)}) + "\n")
            proc.stdin.flush()
            reply = self._read_reply(proc, timeout)
        except (WorkerLost, OSError, ValueError) as exc:
            self._kill()
            raise WorkerLost(str(exc)) from exc
        self._runs += 1
        self._rss_mb = int(reply.get("rss_mb", 0))
        cpu = float(reply.get("cpu", self._last_cpu))
        self.cpu_seconds += cpu - self._last_cpu
        self._last_cpu = cpu
        self.last_seconds = time.monotonic() - started
        if self._rss_mb > self.max_rss_mb or self._runs >= self.max_runs:
            self.close()
        return RunOutput(str(reply["stdout"]), str(reply["stderr"]), int(reply["status"]))


if __name__ == "__main__":
    _serve()
