"""The sandbox's contract: a job in, plain data out.

The sandbox knows nothing of tests, datasets or expected values. It runs untrusted code and reports what
happened as plain data; the judge (:mod:`realcode.judge`) decides what that means.

Values returned by untrusted code cross the boundary in a tagged JSON encoding (see
:mod:`realcode.sandbox.serialize`): ``{"__tuple__": [...]}``, ``{"__bytes__": "<base64>"}``,
``{"__set__": [...]}``, ``{"__float__": "nan"}``, ``{"__dict__": [[k, v], ...]}`` for non-string keys,
``{"__type__": "ValueError"}`` for classes, and ``{"__object__": "<type name>", "repr": "..."}`` for anything
else. Nothing from the sandbox is ever unpickled or evaluated by the host.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Limits(BaseModel):
    """Resource limits of one job. CPU time decides timeouts; wall time is only a backstop."""

    cpu_seconds: float = 4.0  # per child process (a call batch or one program run)
    wall_seconds: float = 20.0  # backstop for sleeping or blocked programs
    memory_mb: int = 2048  # address space
    file_size_mb: int = 16  # largest file the job may write
    open_files: int = 64
    processes: int = 32  # processes + threads of the job's uid (namespaces make this bind even for root)
    output_bytes: int = 1_000_000  # stdout/stderr kept per run; the rest is cut


class Call(BaseModel):
    """One thing to evaluate in the loaded module's namespace, in order.

    Either call ``function`` (a module-level name, or ``Class.method`` meaning ``Class().method``) with
    ``args``/``kwargs`` (plain data) or with the kwargs dict that ``kwargs_source`` evaluates to; or evaluate
    ``expression`` and return its value.
    """

    function: str | None = None
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    kwargs_source: str | None = None
    expression: str | None = None
    stdin: str | None = None  # what input() reads during this call


class Job(BaseModel):
    """Code plus what to do with it.

    ``mode``:
      * ``calls``: execute ``code`` as a module, then ``preamble`` in its namespace, then each of ``calls``.
      * ``program``: run ``code`` as ``__main__`` once per entry of ``stdin_runs``. Runs of one job follow
        each other in one child process while nothing a run did could show in the next: each gets a fresh
        ``__main__``, its own stdin (also at fd 0), its files restored, its threads joined and its ``atexit``
        functions run, as at the end of a process; a run that changes the standard streams or the working
        directory, leaves a thread, grows a large heap or ends the process hands the next run a fresh
        child. A program can only ever affect later runs of its own job, as calls of one job already can.
    ``files`` are written into the job's private working directory before each run (name -> base64 bytes);
    ``capture_files`` are read back after each run (for instance an sqlite database, to see whether it changed).
    """

    code: str
    mode: Literal["calls", "program"] = "calls"
    preamble: str = ""
    calls: list[Call] = Field(default_factory=list)
    stdin_runs: list[str] = Field(default_factory=list)
    files: dict[str, str] = Field(default_factory=dict)
    capture_files: list[str] = Field(default_factory=list)
    limits: Limits = Field(default_factory=Limits)


ExitReason = Literal[
    "ok",  # finished normally
    "exception",  # raised (a call) or exited with an uncaught exception (a program)
    "syntax_error",  # the code does not compile
    "load_error",  # executing the module (or the preamble) raised
    "timeout",  # CPU limit or wall backstop
    "memory",  # address-space limit (MemoryError or killed)
    "output_limit",  # printed more than Limits.output_bytes (the output is cut, the run stopped)
    "exit",  # called sys.exit/os._exit before finishing
    "crashed",  # killed by a signal (segfault, abort)
    "infra_error",  # the sandbox itself failed (worker died, could not start); never the program's fault
]


class CallResult(BaseModel):
    """What one :class:`Call` did."""

    status: ExitReason
    value: Any = None  # tagged-JSON encoding of the return value
    exc_type: str | None = None
    exc_mro: list[str] = Field(default_factory=list)  # names of the exception's classes, most derived first
    exc_message: str | None = None
    stdout: str = ""
    cpu_ms: float = 0.0


class RunResult(BaseModel):
    """What one program run (one stdin) did."""

    status: ExitReason
    stdout: str = ""
    stderr: str = ""
    exit_code: int | None = None
    exc_type: str | None = None
    exc_message: str | None = None
    cpu_ms: float = 0.0
    files: dict[str, str | None] = Field(default_factory=dict)  # captured files, base64; None if absent


class JobResult(BaseModel):
    """Everything the host learns about one job."""

    status: ExitReason  # "ok" when the module loaded and every call/run was attempted
    load_exc_type: str | None = None
    load_exc_message: str | None = None
    load_stdout: str = ""
    calls: list[CallResult] = Field(default_factory=list)
    runs: list[RunResult] = Field(default_factory=list)
    cpu_ms: float = 0.0
    wall_ms: float = 0.0
    max_rss_kb: int = 0
    isolation: str = ""  # level the job ran under: "bwrap", "unshare" or "rlimits"
    infra_message: str | None = None
    worker_cpu_ms: float = 0.0  # CPU the worker itself spent on this job (forking, supervising, encoding)
