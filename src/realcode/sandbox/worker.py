"""The sandbox worker: a warm Python process that forks one child per run of untrusted code.

The host starts it as ``python -I -B worker.py`` (inside bubblewrap or ``unshare`` when the machine allows)
and speaks length-prefixed JSON frames over its stdin/stdout: a config frame first, answered by a ready
frame, then one job per frame, each answered by one result frame.

The worker is the trusted half of the sandbox. It never runs or even compiles candidate code itself: each
child is forked (about 0.3 ms from this warm, ``gc.freeze()``-d process), applies rlimits, drops to the
sandbox uid and only then touches the code. Children report on a private pipe; the worker decides every
outcome that the code could lie about (timeouts, crashes, exits, output limits) from what it observes: CPU
clocks, wait statuses and byte counts. Stdout travels on its own pipe, so printing fake result JSON changes
nothing.

This file must import only the standard library and ``serialize`` (loaded as a sibling file inside the
sandbox, where the ``realcode`` package is not mounted).
"""

from __future__ import annotations

import base64
import ctypes
import gc
import io
import json
import math
import os
import resource
import select
import shutil
import signal
import stat
import struct
import sys
import tempfile
import time
import traceback
import types
from collections.abc import Iterator
from typing import Any

if __package__:
    from . import serialize
else:  # run as a script inside the sandbox (-I leaves the script's directory off sys.path)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import serialize  # type: ignore[no-redef]

HEADER = struct.Struct(">I")
MAX_REPLY = 1 << 30  # host-bound frames
MAX_CHILD_FRAME = 64 << 20  # one call's encoded value; more is reported as output_limit
RESULT_FD = 3  # the child's private result pipe (stdin, stdout, stderr are 0-2)
CONTROL_FD = 4  # program jobs with files: the worker's go between runs
INTERNAL_EXIT = 198  # the child failed before running candidate code: an infrastructure failure
MAX_INT_BITS = 13_000  # larger ints exceed json's int/str conversion limit: reported opaquely
PROTOCOL_VERSION = 1
SETTLE_SECONDS = 0.02  # how long a calls job may run before the worker reads its reports as they come

# Stdlib modules that candidate code commonly imports; importing them once here makes every fork cheaper.
PREIMPORTS = (
    "json",
    "re",
    "math",
    "cmath",
    "collections",
    "collections.abc",
    "itertools",
    "functools",
    "operator",
    "hashlib",
    "hmac",
    "secrets",
    "sqlite3",
    "string",
    "datetime",
    "time",
    "typing",
    "heapq",
    "bisect",
    "decimal",
    "fractions",
    "random",
    "statistics",
    "copy",
    "dataclasses",
    "enum",
    "abc",
    "io",
    "os.path",
    "pathlib",
    "base64",
    "binascii",
    "struct",
    "textwrap",
    "unicodedata",
    "urllib.parse",
    "html",
    "html.parser",
    "xml.etree.ElementTree",
    "csv",
    "uuid",
    "logging",
    "shlex",
    "subprocess",
    "tempfile",
    "threading",
    "queue",
    "array",
    "contextlib",
    "numbers",
    "pprint",
    "difflib",
    "zlib",
    "gzip",
    "ipaddress",
    "email.utils",
    "traceback",
    "warnings",
    "weakref",
    "inspect",
    "ast",
    "encodings.idna",
    "locale",
)


# ----------------------------------------------------------------------------------------------- framing


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        try:
            data = os.read(fd, size - len(chunks))
        except InterruptedError:
            continue
        if not data:
            return None
        chunks += data
    return bytes(chunks)


def read_frame(fd: int, limit: int = MAX_REPLY) -> bytes | None:
    """Read one length-prefixed frame; None at end of stream."""
    header = _read_exact(fd, HEADER.size)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
    if size > limit:
        raise ValueError(f"frame of {size} bytes exceeds {limit}")
    return _read_exact(fd, size) if size else b""


def write_frame(
    fd: int,
    payload: bytes,
    _len: Any = len,
    _view: Any = memoryview,
    _write: Any = os.write,
    _pack: Any = HEADER.pack,
) -> None:
    """Write one length-prefixed frame, all of it.

    The helpers are bound as defaults because children call this after candidate code ran, which may have
    replaced ``builtins.len`` or ``os.write``.
    """
    view = _view(_pack(_len(payload)) + payload)
    while view:
        try:
            written = _write(fd, view)
        except InterruptedError:
            continue
        view = view[written:]


# ------------------------------------------------------------------------------------------ child side
# Everything below until "worker side" runs in the forked child, after privileges are dropped.

_OUT: io.TextIOWrapper | None = None
_ERR: io.TextIOWrapper | None = None


_process_time = time.process_time  # bound now: candidate code may replace time.process_time later
_lseek = os.lseek
_dumps = json.JSONEncoder(allow_nan=False).encode


def _offset(fd: int) -> int:
    try:
        return _lseek(fd, 0, os.SEEK_CUR)
    except OSError:
        return -1


def _send(message: dict[str, Any]) -> None:
    """Report on the private pipe, stamped with this process's CPU time and stdout/stderr positions.

    The stamps let the worker cut the output files and CPU time into per-call pieces even when it reads
    several reports at once.
    """
    message.update(cpu=_process_time(), out=_offset(1), err=_offset(2))
    write_frame(RESULT_FD, _dumps(message).encode())


def _encode_value(value: Any) -> Any:
    def shrink(data: Any) -> Any:
        if type(data) is int and data.bit_length() > MAX_INT_BITS:
            return {"__object__": "int", "repr": f"<int of {data.bit_length()} bits>"}
        if type(data) is list:
            return [shrink(item) for item in data]
        if type(data) is dict:
            return {key: shrink(item) for key, item in data.items()}
        return data

    return shrink(serialize.encode(value))


def _flush_streams() -> None:
    for stream in (sys.stdout, sys.stderr, _OUT, _ERR):
        try:
            if stream is not None:
                stream.flush()
        except BaseException:  # a closed fd or hostile stream must not stop the report
            pass


def _text(value: object, limit: int = 4000) -> str:
    try:
        text = str(value)
    except BaseException:
        text = "<unprintable>"
    return text[:limit] if type(text) is str else "<unprintable>"


def _exception_info(exc: BaseException) -> dict[str, Any]:
    mro = [cls.__name__ for cls in type(exc).__mro__ if cls is not object]
    return {"exc_type": type(exc).__name__, "exc_mro": mro, "exc_message": _text(exc)}


def _status_of(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return "exit"
    if isinstance(exc, MemoryError):
        return "memory"
    return "exception"


def _compile(code: str) -> tuple[types.CodeType | None, dict[str, Any] | None]:
    try:
        return compile(code, "solution.py", "exec", dont_inherit=True), None
    except BaseException as exc:  # SyntaxError, ValueError (NUL bytes), RecursionError, MemoryError
        info = _exception_info(exc)
        status = "memory" if isinstance(exc, MemoryError) else "syntax_error"
        return None, {"k": "load", "status": status, **info}


def _resolve(name: str, namespace: dict[str, Any]) -> Any:
    head, _, method = name.partition(".")
    if head not in namespace:
        raise NameError(f"name {head!r} is not defined")
    target = namespace[head]
    if method:
        return getattr(target(), method)  # "Class.method" means Class().method
    return target


def _call(call: dict[str, Any], namespace: dict[str, Any]) -> dict[str, Any]:
    try:
        if call.get("expression") is not None:
            value = eval(call["expression"], namespace)
        else:
            function = _resolve(call["function"], namespace)
            args = serialize.decode(call.get("args") or [])
            kwargs = serialize.decode(call.get("kwargs") or {})
            if call.get("kwargs_source"):
                extra = eval(call["kwargs_source"], namespace)
                if not isinstance(extra, dict):
                    raise TypeError("kwargs_source did not evaluate to a dict")
                kwargs = {**kwargs, **extra}
            value = function(*args, **kwargs)
        return {"status": "ok", "value": _encode_value(value)}
    except BaseException as exc:
        return {"status": _status_of(exc), **_exception_info(exc)}


def _run_calls(job: dict[str, Any], first_call: int) -> None:
    code_object, failure = _compile(job["code"])
    if code_object is None:
        _send(failure or {"k": "load", "status": "syntax_error"})
        return
    module = types.ModuleType("solution")
    module.__file__ = "solution.py"
    sys.modules["solution"] = module  # dataclasses and typing look classes' modules up here
    namespace = module.__dict__
    try:
        exec(code_object, namespace)
        if job.get("preamble"):
            exec(compile(job["preamble"], "preamble.py", "exec", dont_inherit=True), namespace)
    except BaseException as exc:
        status = _status_of(exc)
        _flush_streams()
        _send(
            {"k": "load", "status": "load_error" if status == "exception" else status, **_exception_info(exc)}
        )
        return
    _flush_streams()
    # Each report also marks the start of the next call: no separate "begin" report, half the messages.
    _send({"k": "load", "status": "ok"})
    for index in range(first_call, len(job["calls"])):
        call = job["calls"][index]
        sys.stdin = io.StringIO(call.get("stdin") or "")
        result = _call(call, namespace)
        _flush_streams()
        _send({"k": "call", "i": index, **result})


def _fd_identity(fd: int) -> tuple[int, int] | None:
    try:
        info = os.fstat(fd)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _fresh_stdin() -> None:
    """A new ``sys.stdin`` over fd 0, where the worker has just put this run's input."""
    raw = open(0, "rb", closefd=False)  # noqa: SIM115 - lives as long as the run
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(raw, encoding="utf-8", errors="replace")  # type: ignore[misc]


def _end_of_run() -> None:
    """What the end of a process would do for the program, so that the next run starts as afresh as an
    interpreter allows: wait for its non-daemon threads, run its ``atexit`` functions, cancel its alarms."""
    module = sys.modules.get("threading")
    if module is not None and module.active_count() > 1:
        main_thread = module.main_thread()
        for thread in module.enumerate():
            if thread is not main_thread and not thread.daemon:
                thread.join()
    module = sys.modules.get("atexit")
    if module is not None and module._ncallbacks():
        module._run_exitfuncs()
    signal.alarm(0)
    for which in (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF):
        signal.setitimer(which, 0)


def _run_one_program(code_object: types.CodeType, index: int) -> dict[str, Any]:
    main = types.ModuleType("__main__")
    main.__file__ = "solution.py"
    sys.modules["__main__"] = main
    report: dict[str, Any] = {"k": "run", "i": index, "status": "ok", "exit_code": 0}
    try:
        exec(code_object, main.__dict__)
    except SystemExit as exc:
        code = exc.code
        if code is None:
            exit_code = 0
        elif type(code) is int:
            exit_code = code & 0xFF
        else:
            print(_text(code), file=sys.stderr)
            exit_code = 1
        report.update(exit_code=exit_code, status="ok" if exit_code == 0 else "exit")
    except BaseException as exc:
        try:  # as Python would print it, without this runner's own frame
            traceback.print_exception(
                type(exc), exc, exc.__traceback__.tb_next if exc.__traceback__ else None
            )
        except BaseException:
            pass
        report.update(exit_code=1, status=_status_of(exc), **_exception_info(exc))
    try:  # as at the end of a process, whichever way the program ended
        _end_of_run()
    except BaseException:
        pass
    return report


def _reusable(streams: list[tuple[int, int] | None], home: str, recycle_bytes: int, memory_cap: int) -> bool:
    """Whether the next run may start in this process: nothing the last run did would show in it."""
    try:
        threading_module = sys.modules.get("threading")
        return (
            [_fd_identity(fd) for fd in (0, 1, 2)] == streams
            and not (_OUT is None or _OUT.closed or _ERR is None or _ERR.closed)
            and os.getcwd() == home
            and _offset(1) < recycle_bytes
            and _offset(2) < recycle_bytes
            and resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 < memory_cap
            and (threading_module is None or threading_module.active_count() == 1)
        )
    except BaseException:  # whatever the run broke, a fresh process repairs
        return False


def _run_program(job: dict[str, Any], first_run: int, recycle_bytes: int) -> None:
    """Run the program once per stdin of the job, from ``first_run`` on, in this one process.

    Each run gets a fresh ``__main__`` and the end-of-process treatment (threads joined, ``atexit`` run).
    Between runs the worker puts the next input on fd 0 and restores (and reads back) the job's files; this
    process waits for its go before each run after the first. Leaving the process for a fresh one is
    the answer to anything a run did that the next run could notice and an interpreter cannot undo: the
    standard streams replaced or closed, another working directory, a thread still alive, a large heap, a
    lot of output.
    """
    code_object, failure = _compile(job["code"])
    if code_object is None:
        _send(failure or {"k": "load", "status": "syntax_error"})
        return
    runs = job["stdin_runs"]
    with_files = bool(job["files"] or job["capture_files"])
    home = os.getcwd()
    streams = [_fd_identity(fd) for fd in (0, 1, 2)]
    memory_cap = (int(job["limits"]["memory_mb"]) << 20) // 4
    for index in range(first_run, len(runs)):
        if index > first_run and os.read(CONTROL_FD, 1) != b"g":
            return  # the worker is gone or ended the job
        _fresh_stdin()
        report = _run_one_program(code_object, index)
        _flush_streams()
        sys.stdout, sys.stderr = _OUT, _ERR
        try:
            sys.modules["__main__"].__dict__.clear()  # the run's objects go, as at interpreter exit
            if with_files:
                gc.collect()  # connections and files the run left open are closed before the worker looks
        except BaseException:
            pass
        reusable = index < len(runs) - 1 and _reusable(streams, home, recycle_bytes, memory_cap)
        report["more"] = reusable
        _send(report)
        if not reusable:
            return


def _apply_limits(limits: dict[str, Any], config: dict[str, Any], cpu_budget: float) -> None:
    def cap(kind: int, soft: int, hard: int | None = None) -> None:
        resource.setrlimit(kind, (soft, soft if hard is None else hard))

    memory = int(limits["memory_mb"]) << 20
    soft_cpu = max(1, math.ceil(cpu_budget) + 1)
    cap(resource.RLIMIT_CPU, soft_cpu, soft_cpu + 1)  # a backstop: the worker watches the exact CPU clock
    cap(resource.RLIMIT_AS, memory)
    cap(resource.RLIMIT_FSIZE, int(limits["file_size_mb"]) << 20)
    cap(resource.RLIMIT_NOFILE, int(limits["open_files"]))
    cap(resource.RLIMIT_CORE, 0)
    stack_hard = resource.getrlimit(resource.RLIMIT_STACK)[1]
    stack = min(256 << 20, memory // 4)
    if stack_hard != resource.RLIM_INFINITY:
        stack = min(stack, stack_hard)
    cap(resource.RLIMIT_STACK, stack, stack_hard)
    cap(resource.RLIMIT_NPROC, int(limits["processes"]))
    uid = config.get("uid")
    if uid is not None:
        gid = int(config["gid"])
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(int(uid), int(uid), int(uid))


def _prepare_for_children(jobdir: str, worker_dir: str) -> None:
    """Set, once in the worker, everything every child needs identically (environment, paths, streams,
    signal dispositions), so that each fork only inherits it instead of redoing it."""
    global _OUT, _ERR
    for number in (signal.SIGCHLD, signal.SIGPIPE, signal.SIGTERM, signal.SIGXCPU, signal.SIGXFSZ):
        signal.signal(number, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.clear()
    os.environ.update(
        HOME=jobdir,
        TMPDIR=jobdir,
        PATH="/usr/local/bin:/usr/bin:/bin",
        LANG="C.UTF-8",
        PYTHONIOENCODING="utf-8",
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )
    tempfile.tempdir = jobdir
    sys.path[:] = [jobdir] + [entry for entry in sys.path if entry and entry != worker_dir]
    for name in ("serialize", "__realcode_worker__"):
        sys.modules.pop(name, None)
    sys.argv[:] = ["solution.py"]
    # Streams over fds 0-2 that each child points at its own stdin/stdout/stderr; the worker never uses them.
    # Layered exactly like CPython's own (text over buffered over raw), so that ``sys.stdin.buffer``,
    # ``sys.stdout.buffer.write`` and friends behave as they do outside the sandbox.
    raw_in, raw_out, raw_err = (
        open(fd, mode, closefd=False)  # noqa: SIM115 - they live as long as the process
        for fd, mode in ((0, "rb"), (1, "wb"), (2, "wb"))
    )
    sys.stdin = io.TextIOWrapper(raw_in, encoding="utf-8", errors="replace")
    _OUT = io.TextIOWrapper(raw_out, encoding="utf-8", errors="backslashreplace")
    _ERR = io.TextIOWrapper(raw_err, encoding="utf-8", errors="backslashreplace", line_buffering=True)
    sys.stdout, sys.stderr = _OUT, _ERR
    sys.__stdout__, sys.__stderr__, sys.__stdin__ = _OUT, _ERR, sys.stdin  # type: ignore[misc]


def _child_main(
    job: dict[str, Any],
    config: dict[str, Any],
    jobdir: str,
    fds: tuple[int, int, int, int, int],
    first: int,
) -> None:
    """Entry of a forked child: run the job's calls or program runs from index ``first``. Never returns."""
    try:
        os.setsid()  # own process group: the worker kills the whole group
        stdin_fd, out_w, err_w, res_w, control_r = fds
        os.dup2(res_w, RESULT_FD)
        if control_r >= 0:
            os.dup2(control_r, CONTROL_FD)
        os.dup2(stdin_fd, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.closerange((CONTROL_FD if control_r >= 0 else RESULT_FD) + 1, 1 << 16)
        segments = job["calls"] if job["mode"] == "calls" else job["stdin_runs"]
        remaining = max(1, len(segments) - first)
        _apply_limits(job["limits"], config, float(job["limits"]["cpu_seconds"]) * (remaining + 1))
        os.chdir(jobdir)
        if _LIBC is not None and not config.get("pidns"):
            # Without a pid namespace nothing else ends the child if its worker dies mid-job.
            _LIBC.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        gc.enable()
    except BaseException:
        os._exit(INTERNAL_EXIT)
    try:
        if job["mode"] == "program":
            _run_program(job, first, int(job["limits"]["output_bytes"]))
        else:
            _run_calls(job, first)
    except BaseException:  # the report pipe itself failed (closed by the code, for instance)
        os._exit(1)
    os._exit(0)


# ----------------------------------------------------------------------------------------- worker side


def _fork() -> int:
    """fork(2) without CPython's at-fork machinery, where the platform allows.

    ``os.fork()`` runs the interpreter's after-fork hooks in the child (``threading``, ``logging`` and
    ``random`` register some): Python code running for the first time in the child, whose reference-count
    writes copy-on-write fault about 170 pages per fork; under nested virtualisation each fault costs ~3 us,
    most of a child's start-up. The hooks exist to repair state that *other threads* held at the fork. This
    worker never starts a thread, so the raw fork(2) (through ``PyDLL``, which keeps the GIL held across the
    call, so the child's GIL state is the parent's: held by its only thread) leaves nothing to repair. The
    one hook whose effect a job can see, reseeding ``random``, the worker does before each fork
    (``_reseed_random``), so that every child starts from its own seed.
    """
    if _RAW_FORK is None:
        return os.fork()
    pid = int(_RAW_FORK())
    if pid < 0:
        raise OSError(ctypes.get_errno(), "fork failed")
    return pid


def _reseed_random() -> None:
    """What ``random``'s after-fork hook does, without its Python wrapper: a fresh seed from the OS."""
    module = sys.modules.get("random")
    instance = getattr(module, "_inst", None)
    if instance is not None:
        try:
            _c_seed(instance, None)
            instance.gauss_next = None
        except Exception:
            pass


def _process_cpu(pid: int) -> float | None:
    """CPU seconds of another process, read from its kernel CPU clock (no /proc parsing, ns resolution)."""
    try:
        return time.clock_gettime(((~pid) << 3) | 2)  # CPUCLOCK_SCHED of process `pid` (Linux ABI)
    except OSError:
        return None


def _kill_group(pid: int) -> None:
    for sender in (os.killpg, os.kill):
        try:
            sender(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class Child:
    """One forked child, watched by the worker.

    Its stdout and stderr are memory files, not pipes: the child stamps every report with its file offsets,
    so output is attributed to the right call however late the worker reads, and a flood of output costs
    the worker nothing (RLIMIT_FSIZE stops the child; the worker reads at most ``output_bytes``).
    """

    def __init__(
        self,
        job: dict[str, Any],
        config: dict[str, Any],
        jobdir: str,
        stdin: bytes,
        first: int,
        files: tuple[int, int, int],
        handshake: bool = False,
    ):
        limits = job["limits"]
        self.cpu_limit = float(limits["cpu_seconds"])
        self.wall_limit = float(limits["wall_seconds"])
        self.output_cap = int(limits["output_bytes"])
        # The worker's three memory files, emptied for this child. Nothing else can hold them now: the
        # previous child and everything it started are dead and reaped.
        stdin_fd, self.out_fd, self.err_fd = files
        for fd, data in zip(files, (stdin, b"", b""), strict=True):
            _refill(fd, data)
        res_r, res_w = os.pipe()
        control_r, self.control_w = os.pipe() if handshake else (-1, -1)
        if _RAW_FORK is not None:
            _reseed_random()  # here, where the state's pages are the worker's own, not in the child
        self.pid = _fork()
        if self.pid == 0:
            _child_main(job, config, jobdir, (stdin_fd, self.out_fd, self.err_fd, res_w, control_r), first)
        os.close(res_w)
        if control_r >= 0:
            os.close(control_r)
        self.pidfd = os.pidfd_open(self.pid)
        os.set_blocking(res_r, False)
        self.res_r = res_r
        self.kill_reason: str | None = None
        self.status = 0
        self.rusage: Any = None
        self.last_cpu = 0.0  # seconds, as last seen by the worker
        self.segment_cpu0 = 0.0
        self.segment_out = (0, 0)  # stdout/stderr offsets where the current segment began
        self.start_segment()

    def start_segment(self, stamp: dict[str, Any] | None = None) -> None:
        """A new load/call/run begins (at ``stamp``, the child's report, when there is one)."""
        cpu = _process_cpu(self.pid)
        self.last_cpu = cpu if cpu is not None else self.last_cpu
        self.segment_cpu0 = self.last_cpu
        self.segment_out = (0, 0)
        self.segment_stamp_cpu: float | None = None
        if stamp is not None:
            reported = stamp.get("cpu")
            if isinstance(reported, (int, float)) and self.segment_cpu0 >= reported >= 0:
                # The budget started when the call did, not when the worker got round to looking.
                self.segment_cpu0 = float(reported)
                self.segment_stamp_cpu = float(reported)
            self.segment_out = (_stamp(stamp, "out"), _stamp(stamp, "err"))
        self.wall_deadline = time.monotonic() + self.wall_limit

    def segment_cpu_ms(self, stamp: dict[str, Any] | None = None) -> float:
        start, end = self.segment_cpu0, self.last_cpu
        if (
            stamp is not None
            and self.segment_stamp_cpu is not None
            and isinstance(stamp.get("cpu"), (int, float))
        ):
            start, end = self.segment_stamp_cpu, float(stamp["cpu"])
        return round(max(0.0, end - start) * 1000.0, 3)

    def _read(self, fd: int, start: int, end: int | None) -> tuple[str, bool]:
        if end is not None and 0 <= end <= start:
            return "", False  # the stamps say nothing was written: spare the system calls
        size = os.fstat(fd).st_size
        stop = size if end is None or end < 0 else min(end, size)
        start = min(max(0, start), stop)
        data = os.pread(fd, min(stop - start, self.output_cap), start)
        return data.decode("utf-8", "replace"), stop - start > self.output_cap

    def output(self, stamp: dict[str, Any] | None = None) -> tuple[str, str, bool]:
        """Stdout and stderr of the current segment (up to ``stamp``), cut at the cap, and whether cut."""
        end_out = _stamp(stamp, "out") if stamp is not None else None
        end_err = _stamp(stamp, "err") if stamp is not None else None
        out, cut_out = self._read(self.out_fd, self.segment_out[0], end_out)
        err, cut_err = self._read(self.err_fd, self.segment_out[1], end_err)
        return out, err, cut_out or cut_err

    def go(self) -> None:
        """Let a handshaking child start its next run."""
        try:
            os.write(self.control_w, b"g")
        except OSError:  # the child is gone: its death is seen and judged by ``messages``
            pass

    def kill(self, reason: str) -> None:
        if self.kill_reason is None:
            self.kill_reason = reason
        _kill_group(self.pid)

    def _over_output(self) -> bool:
        return (
            os.fstat(self.out_fd).st_size - self.segment_out[0] > self.output_cap
            or os.fstat(self.err_fd).st_size - self.segment_out[1] > self.output_cap
        )

    def messages(self, settle: float = 0.0) -> Iterator[dict[str, Any]]:
        """Yield the child's reports as they arrive while enforcing the limits; then reap the child.

        ``settle``: first wait up to this many seconds for the child to exit before reading any report, so
        that a short job costs the worker one wake-up instead of one per report. Safe while ``settle`` is far
        below every limit; a child that fills the report pipe meanwhile only waits until then.
        """
        pending = bytearray()
        pipe_open = True
        exited = False
        idle = False  # the last wait timed out: a long run, worth a look at its output size
        if settle > 0:
            try:
                select.select([self.pidfd], [], [], min(settle, self.cpu_limit / 4, self.wall_limit / 4))
            except InterruptedError:
                pass
        while pipe_open or not exited:
            if not exited:
                cpu = _process_cpu(self.pid)
                if cpu is not None:
                    self.last_cpu = cpu
                now = time.monotonic()
                cpu_left = self.cpu_limit - (self.last_cpu - self.segment_cpu0)
                if self.kill_reason is None:
                    if cpu_left <= 0 or now >= self.wall_deadline:
                        self.kill("timeout")
                    elif idle and self._over_output():
                        self.kill("output_limit")
                # Wake when the CPU budget could be spent (CPU never runs faster than the wall clock per
                # thread), with a periodic look at the output size for long runs.
                timeout = min(cpu_left, self.wall_deadline - now, 0.25) + 0.002
                if self.kill_reason is not None:
                    timeout = 0.5
                watched = [self.pidfd, self.res_r] if pipe_open else [self.pidfd]
            else:
                timeout = 0.0  # the child is gone: read what is left, without waiting on grandchildren
                watched = [self.res_r]
            try:
                ready, _, _ = select.select(watched, [], [], max(0.0, timeout))
            except InterruptedError:
                continue
            idle = not ready
            if self.pidfd in ready:
                exited = True
            if self.res_r in ready:
                try:
                    data = os.read(self.res_r, 1 << 20)
                except BlockingIOError:
                    data = None
                if data == b"":
                    pipe_open = False
                elif data:
                    pending += data
            elif exited:
                break
            while len(pending) >= HEADER.size:
                (size,) = HEADER.unpack_from(pending)
                if size > MAX_CHILD_FRAME:
                    self.kill("output_limit")
                    pending.clear()
                    pipe_open = False
                    break
                if len(pending) < HEADER.size + size:
                    break
                frame = bytes(pending[HEADER.size : HEADER.size + size])
                del pending[: HEADER.size + size]
                try:
                    message = json.loads(frame)
                except ValueError:
                    continue  # garbage on the report pipe: ignored, the worker judges by what it sees
                if isinstance(message, dict):
                    yield message
        if not exited:
            self.kill(self.kill_reason or "crashed")
        _, self.status, self.rusage = os.wait4(self.pid, 0)
        self.last_cpu = max(self.last_cpu, self.rusage.ru_utime + self.rusage.ru_stime)
        os.close(self.res_r)
        os.close(self.pidfd)
        if self.control_w >= 0:
            os.close(self.control_w)

    def death_reason(self, program: bool = False) -> str:
        """What ended the child, judged from the outside."""
        if self.kill_reason is not None:
            return self.kill_reason
        if os.WIFSIGNALED(self.status):
            number = os.WTERMSIG(self.status)
            if number == signal.SIGXCPU:
                return "timeout"
            if number == signal.SIGKILL and self.last_cpu >= self.cpu_limit:
                return "timeout"  # the hard RLIMIT_CPU
            if number == signal.SIGXFSZ:
                return "output_limit"
            return "crashed"
        code = os.WEXITSTATUS(self.status)
        if code == INTERNAL_EXIT:
            return "infra_error"
        if program and code == 0:
            return "ok"
        return "exit"


def _stamp(message: dict[str, Any] | None, key: str) -> int:
    value = (message or {}).get(key)
    return value if type(value) is int and value >= 0 else 0


class Worker:
    """Runs jobs one at a time in forked children."""

    def __init__(self, config: dict[str, Any]):
        self.config = config
        self.uid: int | None = config.get("uid")
        self.gid: int | None = config.get("gid")
        # Job directories live in a root-owned directory the children can traverse but not write.
        self.jobroot = tempfile.mkdtemp(prefix="realcode-", dir=config["tmp"])
        os.chmod(self.jobroot, 0o711)
        self.jobdir = os.path.join(self.jobroot, "job")
        self.files = (os.memfd_create("stdin", 0), os.memfd_create("stdout", 0), os.memfd_create("stderr", 0))

    # -- job directory
    def _place_files(self, jobdir: str, files: dict[str, bytes]) -> None:
        """Write the job's files afresh (the previous run may have changed, removed or replaced them)."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
        for name, content in files.items():
            path = os.path.join(jobdir, name)
            try:
                fd = os.open(path, flags, 0o600)
            except OSError:  # a symlink or directory the code left in its place
                _force_remove(path)
                fd = os.open(path, flags, 0o600)
            try:
                view = memoryview(content)
                while view:
                    view = view[os.write(fd, view) :]
                if self.uid is not None:
                    os.fchown(fd, self.uid, self.gid if self.gid is not None else -1)
            finally:
                os.close(fd)

    def _capture(self, jobdir: str, names: list[str], limit: int) -> dict[str, str | None]:
        captured: dict[str, str | None] = {}
        for name in names:
            try:
                fd = os.open(os.path.join(jobdir, name), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                captured[name] = None
                continue
            with os.fdopen(fd, "rb") as handle:
                if not stat.S_ISREG(os.fstat(fd).st_mode):  # a fifo or device planted by the code
                    captured[name] = None
                    continue
                captured[name] = base64.b64encode(handle.read(limit)).decode("ascii")
        return captured

    def _kill_leftovers(self) -> None:
        """Kill whatever the job left running (daemonized grandchildren, fork-bomb survivors) and reap it.

        The worker is a child subreaper, so every orphan of the job is re-parented to it: once it has no
        children left, nothing of the job is left anywhere. The usual job leaves nothing and costs one
        ``waitpid``.
        """
        deadline = time.monotonic() + 10.0
        while True:
            try:
                while os.waitpid(-1, os.WNOHANG)[0] != 0:
                    pass
            except ChildProcessError:
                return
            if time.monotonic() > deadline:
                return
            self._signal_leftovers()
            time.sleep(0.002)

    def _signal_leftovers(self) -> None:
        if self.config.get("pidns"):
            # Inside our own pid namespace everything but its init and this worker belongs to jobs.
            me = os.getpid()
            for entry in os.listdir("/proc"):
                if entry.isdigit() and int(entry) not in (1, me):
                    try:
                        os.kill(int(entry), signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
        elif self.uid is not None:
            # The job's uid is this worker's alone: a helper with that uid kills everything it owns.
            pid = os.fork()
            if pid == 0:
                try:
                    os.setresuid(self.uid, self.uid, self.uid)
                    os.kill(-1, signal.SIGKILL)
                finally:
                    os._exit(0)

    # -- jobs
    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        started = time.monotonic()
        jobdir = self.jobdir
        os.mkdir(jobdir, 0o700)
        if self.uid is not None:
            os.chown(jobdir, self.uid, self.gid if self.gid is not None else -1)
        self.cpu_ms = 0.0
        self.max_rss = 0
        job = {**job, "files": {name: base64.b64decode(data) for name, data in job["files"].items()}}
        try:
            if job["mode"] == "program":
                result = self._run_program(job, jobdir)
            else:
                result = self._run_calls(job, jobdir)
        finally:
            self._kill_leftovers()
            self._clean(jobdir)
        result.update(
            cpu_ms=round(self.cpu_ms, 3),
            wall_ms=round((time.monotonic() - started) * 1000.0, 3),
            max_rss_kb=self.max_rss,
            isolation=self.config.get("level", ""),
        )
        return result

    def _clean(self, jobdir: str) -> None:
        """Remove the job directory and, where /tmp and /dev/shm are this worker's own, whatever the job
        left there, so that nothing of one job is visible to the next."""
        shutil.rmtree(jobdir, ignore_errors=True)
        if os.path.lexists(jobdir):  # the code made something rmtree cannot remove (a chmod 000 tree, say)
            os.rename(jobdir, os.path.join(self.jobroot, f"trash-{time.monotonic_ns()}"))
            for entry in os.listdir(self.jobroot):
                if entry.startswith("trash-"):
                    _force_remove(os.path.join(self.jobroot, entry))
        if not self.config.get("private_tmp"):
            return
        for shared in ("/tmp", "/dev/shm", "/var/tmp"):
            try:
                entries = os.listdir(shared)
            except OSError:
                continue
            for entry in entries:
                path = os.path.join(shared, entry)
                if path != self.jobroot:
                    _force_remove(path)

    def _account(self, child: Child) -> None:
        if child.rusage is not None:
            self.cpu_ms += (child.rusage.ru_utime + child.rusage.ru_stime) * 1000.0
            self.max_rss = max(self.max_rss, int(child.rusage.ru_maxrss))

    def _run_calls(self, job: dict[str, Any], jobdir: str) -> dict[str, Any]:
        calls = job["calls"]
        results: list[dict[str, Any] | None] = [None] * len(calls)
        job_result: dict[str, Any] = {"status": "ok", "load_stdout": ""}
        next_call = 0
        first_child = True
        while True:
            self._place_files(jobdir, job["files"])
            child = Child(job, self.config, jobdir, b"", next_call, self.files)
            loaded = False
            current: int | None = None
            expected = next_call
            load_failure: dict[str, Any] | None = None
            try:
                for message in child.messages(settle=SETTLE_SECONDS):
                    kind = message.get("k")
                    if kind == "load" and not loaded and load_failure is None:
                        if first_child:
                            job_result["load_stdout"] = child.output(message)[0]
                        if message.get("status") == "ok":
                            loaded = True
                            if expected < len(calls):
                                current = expected
                                child.start_segment(message)
                        else:
                            load_failure = message
                    elif kind == "call" and current is not None and message.get("i") == current:
                        out, _, cut = child.output(message)
                        results[current] = _call_result(message, out, child.segment_cpu_ms(message), cut)
                        expected += 1
                        current = expected if expected < len(calls) else None
                        child.start_segment(message)
                self._account(child)
                first_child = False
                if not loaded:
                    if load_failure is None:
                        reason = child.death_reason()
                        if reason == "infra_error":
                            return {"status": "infra_error", "infra_message": "sandbox child failed to start"}
                        load_failure = {"status": reason}
                    status = str(load_failure.get("status", "load_error"))
                    job_result.update(
                        status="load_error" if status == "ok" else status,  # an "ok" here was forged
                        load_exc_type=load_failure.get("exc_type"),
                        load_exc_message=load_failure.get("exc_message"),
                    )
                    break
                if expected >= len(calls):
                    break
                # The child died before finishing: blame the call it was in (or the next one), then go on
                # with the remaining calls in a fresh child.
                blamed = current if current is not None else expected
                out, _, _ = child.output()
                reason = child.death_reason()
                results[blamed] = {
                    "status": "exit" if reason == "ok" else reason,
                    "stdout": out,
                    "cpu_ms": child.segment_cpu_ms(),
                }
                next_call = blamed + 1
                if next_call >= len(calls):
                    break
            finally:
                self._kill_leftovers()  # before the next child reuses the memory files
        job_result["calls"] = [result for result in results if result is not None]
        if job_result["status"] == "ok" and len(job_result["calls"]) != len(calls):
            return {"status": "infra_error", "infra_message": "calls went missing"}
        return job_result

    def _run_program(self, job: dict[str, Any], jobdir: str) -> dict[str, Any]:
        """Run the program on each stdin, as many runs per child as the child allows (see the child's
        ``_run_program``); a run that ends its child (a crash, a kill, an exit) is judged from outside and
        the next run starts in a fresh child."""
        stdins = [text.encode("utf-8", "surrogateescape") for text in job["stdin_runs"]]
        runs: list[dict[str, Any] | None] = [None] * len(stdins)
        next_run = 0
        while next_run < len(stdins):
            self._place_files(jobdir, job["files"])
            child = Child(job, self.config, jobdir, stdins[next_run], next_run, self.files, handshake=True)
            first = next_run
            current: int | None = first
            try:
                syntax: dict[str, Any] | None = None
                for message in child.messages():
                    kind = message.get("k")
                    if kind == "load" and current == first:
                        if message.get("status") in ("syntax_error", "memory") and syntax is None:
                            syntax = message
                        continue
                    if kind != "run" or current is None or message.get("i") != current:
                        continue
                    # A report stands when it arrived before any kill: the run had finished (a process that
                    # is slow to exit, freeing a lot of memory on a busy machine, does not turn it into a
                    # timeout).
                    if child.kill_reason is not None:
                        continue
                    out, err, cut = child.output(message)
                    run: dict[str, Any] = {
                        "stdout": out,
                        "stderr": err,
                        "cpu_ms": child.segment_cpu_ms(message),
                        "status": str(message.get("status", "ok")),
                        "exit_code": message.get("exit_code"),
                        "exc_type": message.get("exc_type"),
                        "exc_message": message.get("exc_message"),
                    }
                    runs[current] = self._finish_run(run, cut, job, jobdir)
                    next_run = current + 1
                    if message.get("more") is True and next_run < len(stdins):
                        self._place_files(jobdir, job["files"])
                        _refill(self.files[0], stdins[next_run])
                        child.start_segment(message)
                        child.go()
                        current = next_run
                    else:
                        current = None
                self._account(child)
                if syntax is not None:
                    return {
                        "status": str(syntax["status"]),
                        "load_exc_type": syntax.get("exc_type"),
                        "load_exc_message": syntax.get("exc_message"),
                    }
                if current is not None:  # the child ended inside this run
                    out, err, cut = child.output()
            finally:
                self._kill_leftovers()  # before the next child reuses the memory files
            if current is None:
                continue
            status = child.death_reason(program=True)
            if status == "infra_error":
                return {"status": "infra_error", "infra_message": "sandbox child failed to start"}
            dead: dict[str, Any] = {
                "stdout": out,
                "stderr": err,
                "cpu_ms": child.segment_cpu_ms(),
                "status": status,
            }
            if os.WIFEXITED(child.status) and child.kill_reason is None:
                dead["exit_code"] = os.WEXITSTATUS(child.status)
            runs[current] = self._finish_run(dead, cut, job, jobdir)
            next_run = current + 1
        return {"status": "ok", "runs": [run for run in runs if run is not None]}

    def _finish_run(self, run: dict[str, Any], cut: bool, job: dict[str, Any], jobdir: str) -> dict[str, Any]:
        """A run's result with the output cut taken into account and its files read back."""
        if cut and run["status"] in ("ok", "exit", "exception", "crashed"):
            run["status"] = "output_limit"
        if job["capture_files"]:
            limit = int(job["limits"]["file_size_mb"]) << 20
            run["files"] = self._capture(jobdir, job["capture_files"], limit)
        return run


def _refill(fd: int, data: bytes) -> None:
    """Replace a memory file's content with ``data`` and rewind it (the child shares the offset)."""
    os.ftruncate(fd, 0)
    view = memoryview(data)
    offset = 0
    while offset < len(view):
        offset += os.pwrite(fd, view[offset:], offset)
    os.lseek(fd, 0, os.SEEK_SET)


def _force_remove(path: str) -> None:
    """Remove a file or tree whatever its permissions (the code may have chmod-ed it): fix modes, retry."""
    if os.path.isdir(path) and not os.path.islink(path):
        for root, dirs, _ in os.walk(path):
            for name in dirs:
                try:
                    os.chmod(os.path.join(root, name), 0o700)
                except OSError:
                    pass
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.unlink(path)
        except OSError:
            pass


def _call_result(message: dict[str, Any], stdout: str, cpu_ms: float, cut: bool) -> dict[str, Any]:
    status = message.get("status", "exception")
    result: dict[str, Any] = {"status": "output_limit" if cut else status, "stdout": stdout, "cpu_ms": cpu_ms}
    for key in ("value", "exc_type", "exc_mro", "exc_message"):
        if key in message:
            result[key] = message[key]
    return result


_LIBC: Any = None
_RAW_FORK: Any = None
try:
    import _random

    _c_seed: Any = _random.Random.seed  # the C seeding, under random.Random.seed's Python wrapper
except ImportError:  # pragma: no cover - every CPython has _random
    _c_seed = None


def _set_raw_fork() -> None:
    """Use the raw fork(2) when this process has a single thread (checked after the pre-imports, which
    could start some); else keep ``os.fork()``, the only safe fork with other threads around."""
    global _RAW_FORK
    try:
        if len(os.listdir("/proc/self/task")) != 1:
            return
    except OSError:
        return
    try:
        fork = ctypes.PyDLL(None, use_errno=True).fork
    except (OSError, AttributeError):
        return
    fork.restype = ctypes.c_int
    fork.argtypes = []
    _RAW_FORK = fork


def _set_process_flags() -> None:
    global _LIBC
    try:
        _LIBC = libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: never outlive the host
        libc.prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: orphaned grandchildren come back to be reaped
        # PR_SET_NO_NEW_PRIVS, inherited by every child: no setuid binary (su, mount, ...) can raise a job's
        # privileges again. It does not stop this worker's own setuid() to drop them.
        libc.prctl(38, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def main() -> int:
    """Worker loop: config, ready, then jobs until stdin closes."""
    proto_in = os.dup(0)
    proto_out = os.dup(1)
    # Nothing may write into the protocol pipe by accident: fds 0-1 now point at /dev/null.
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    _set_process_flags()
    sys.set_int_max_str_digits(0) if hasattr(sys, "set_int_max_str_digits") else None
    frame = read_frame(proto_in)
    if frame is None:
        return 0
    config = json.loads(frame)
    config["worker_dir"] = os.path.dirname(os.path.abspath(__file__))
    started = time.monotonic()
    for name in PREIMPORTS:
        try:
            __import__(name)
        except ImportError:
            pass
    for name in config.get("preimports", []):
        try:
            __import__(name)
        except Exception:  # a broken third-party package must not stop the worker
            pass
    sys.modules["__realcode_worker__"] = sys.modules[__name__]
    gc.collect()
    gc.freeze()  # children share these pages copy-on-write instead of touching them in every collection
    gc.disable()  # the worker allocates little; children re-enable collection
    _set_raw_fork()
    worker = Worker(config)
    _prepare_for_children(worker.jobdir, config["worker_dir"])
    ready = {
        "ready": True,
        "protocol": PROTOCOL_VERSION,
        "pid": os.getpid(),
        "uid": os.getuid(),
        "python": sys.version.split()[0],
        "preimport_ms": round((time.monotonic() - started) * 1000, 1),
    }
    write_frame(proto_out, json.dumps(ready).encode())
    while True:
        frame = read_frame(proto_in)
        if frame is None:
            return 0
        request = json.loads(frame)
        before = resource.getrusage(resource.RUSAGE_SELF)
        try:
            result = worker.run(request["job"])
        except Exception as exc:  # a worker bug: reported as infrastructure, never as the program's fault
            result = {"status": "infra_error", "infra_message": f"worker error: {type(exc).__name__}: {exc}"}
        after = resource.getrusage(resource.RUSAGE_SELF)
        result["worker_cpu_ms"] = round(
            (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000.0, 3
        )
        write_frame(proto_out, json.dumps(result).encode())


if __name__ == "__main__":
    sys.exit(main())
