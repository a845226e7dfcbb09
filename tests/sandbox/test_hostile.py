"""Hostile programs: each gets the right exit reason, nothing escapes, and the pool keeps working.

Every hostile job runs on a one-worker pool followed by a normal job, so the normal job runs on the very
worker the hostile one attacked. The suite runs under every isolation level the machine offers; checks that
only the namespace levels can promise (no network, no view of the data) are skipped for ``rlimits``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from realcode.sandbox import Call, Job, JobResult, Limits, Sandbox, SandboxUnavailable
from realcode.sandbox.serialize import Opaque, decode

LIMITS = Limits(cpu_seconds=0.3, wall_seconds=1.5, memory_mb=512, output_bytes=100_000, processes=16)
MARK = f"realcode-hostile-{uuid.uuid4().hex[:8]}"
OUTSIDE = [f"/etc/{MARK}", f"/root/{MARK}", f"/work/{MARK}", f"/{MARK}"]
NAMESPACED = ("bwrap", "unshare")
# A file of the host's private home directory (mode 0700 here), which no job may read.
HOST_FILE = next(
    (str(p) for p in sorted(Path.home().iterdir()) if p.is_file()), str(Path.home() / ".profile")
)


def program(code: str, stdin: str = "") -> Job:
    return Job(code=code, mode="program", stdin_runs=[stdin], limits=LIMITS)


def calls(code: str, *calls_: Call) -> Job:
    return Job(code=code, calls=list(calls_) or [Call(function="f")], limits=LIMITS)


@dataclass
class Case:
    job: Job
    status: str  # the run's or call's exit reason (or the job's, for load failures)
    where: str = "run"  # "run", "call" or "job"
    levels: tuple[str, ...] = ("bwrap", "unshare", "rlimits")
    check: str = ""  # a further expectation, see test_hostile_case
    extra: dict[str, object] = field(default_factory=dict)
    # Only safe when children run under their own uid (as root): otherwise a signal to "everything I may
    # signal" would reach the worker, or outside a pid namespace even the test runner.
    needs_separate_uid: bool = False


WRITE = "import os\nfor path in {paths!r}:\n    try:\n        open(path, 'w').write('x')\n        print('wrote', path)\n    except OSError as exc:\n        print(type(exc).__name__)\n"

CASES: dict[str, Case] = {
    "does_not_parse": Case(program("def f(:\n  return"), "syntax_error", "job"),
    "cpu_forever": Case(program("while True:\n    pass"), "timeout"),
    "sleep_forever": Case(program("import time\ntime.sleep(10**6)"), "timeout"),
    "allocate_50_gb": Case(program("x = bytearray(50 * 2**30)"), "memory"),
    "allocate_in_steps": Case(
        Job(
            code="x = []\nwhile True:\n    x.append(bytearray(2**24))",
            mode="program",
            stdin_runs=[""],
            limits=Limits(memory_mb=200, cpu_seconds=5, wall_seconds=30),
        ),
        "memory",
    ),
    "fork_bomb": Case(
        program("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"),
        "timeout",
    ),
    "print_1_gb": Case(
        program("import sys\nchunk = 'x' * 2**20\nfor _ in range(1024):\n    sys.stdout.write(chunk)"),
        "output_limit",
        check="output_cut",
    ),
    "print_1_gb_raw_fd": Case(
        program("import os\nchunk = b'x' * 2**20\nfor _ in range(1024):\n    os.write(1, chunk)"),
        "output_limit",
        check="output_cut",
    ),
    "kill_parent": Case(program("import os\nos.kill(os.getppid(), 9)"), "exception", needs_separate_uid=True),
    # The kernel's answer differs by level (ESRCH alone in a pid namespace; success when the worker is visible
    # but cannot be signalled); what matters is that nothing but the job itself can be hit.
    "kill_everything": Case(
        program("import os\nos.kill(-1, 9)\nprint('still here')"),
        "ok",
        check="still_here",
        extra={"also": ("exception",)},
        needs_separate_uid=True,
    ),
    "kill_process_group_of_parent": Case(
        program("import os\nos.killpg(os.getpgid(os.getppid()), 9)"),
        "exception",
        extra={"also": ("ok", "crashed")},
        needs_separate_uid=True,
    ),
    "socket": Case(
        program("import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=1)"),
        "exception",
        levels=NAMESPACED,
    ),
    "write_outside": Case(program(WRITE.format(paths=OUTSIDE)), "ok", check="no_writes"),
    "write_home": Case(
        program(
            "import os\nopen(os.path.expanduser('~/' + 'x'), 'w').write('x')\nprint(os.path.expanduser('~'))"
        ),
        "ok",
        check="home_is_private",
    ),
    "read_dataset": Case(
        program("print(open('/work/shared/data/README.md').read()[:20])"), "exception", levels=NAMESPACED
    ),
    "read_host_home": Case(program(f"print(open({HOST_FILE!r}).read()[:20])"), "exception"),
    "ctypes_segfault": Case(program("import ctypes\nctypes.string_at(0)"), "crashed"),
    "ctypes_system": Case(
        program(f"import ctypes\nprint(ctypes.CDLL(None).system(b'touch /etc/{MARK}'))"),
        "ok",
        check="no_writes",
    ),
    "os_system": Case(
        program(f"import os\nprint(os.system('touch /etc/{MARK} 2>/dev/null'))"), "ok", check="no_writes"
    ),
    "posix_system": Case(
        program(f"import posix\nposix.system('touch /root/{MARK} 2>/dev/null')"), "ok", check="no_writes"
    ),
    "subprocess": Case(
        program(f"import subprocess\nsubprocess.run(['touch', '/work/{MARK}'])"), "ok", check="no_writes"
    ),
    "reload_os": Case(program("import importlib, os\nimportlib.reload(os)\nprint(os.getcwd() != '')"), "ok"),
    "many_threads": Case(
        program(
            "import threading, time\nfor _ in range(500):\n    threading.Thread(target=time.sleep, args=(5,), daemon=True).start()"
        ),
        "exception",
    ),
    "deep_recursion": Case(calls("def f(n=0):\n    return f(n + 1)"), "exception", "call"),
    "unbounded_recursion_limit": Case(
        calls("import sys\nsys.setrecursionlimit(10**8)\ndef f(n=0):\n    return f(n + 1)"),
        "crashed",
        "call",
        extra={"also": ("memory", "timeout")},
    ),
    "patch_builtins": Case(
        calls(
            "import builtins\nbuiltins.len = lambda x: 42\nbuiltins.print = None\ndef f():\n    return len([1])"
        ),
        "ok",
        "call",
    ),
    "always_equal": Case(
        calls(
            "class A:\n    def __eq__(self, other):\n        return True\n    def __hash__(self):\n        return 0\ndef f():\n    return A()"
        ),
        "ok",
        "call",
        check="opaque",
    ),
    "exit_at_import": Case(calls("import sys\nsys.exit(0)\ndef f():\n    return 1"), "exit", "job"),
    "os_exit_at_import": Case(calls("import os\nos._exit(0)\ndef f():\n    return 1"), "exit", "job"),
    "exit_in_call": Case(calls("import sys\ndef f():\n    sys.exit(0)"), "exit", "call"),
    "ignore_timeout_signals": Case(
        program(
            "import signal\nfor s in (signal.SIGXCPU, signal.SIGALRM, signal.SIGTERM, signal.SIGINT):\n    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    pass"
        ),
        "timeout",
    ),
    "close_all_fds": Case(program("import os\nos.closerange(0, 1000)\nprint('x')"), "exit"),
    "daemonize_grandchild": Case(
        program(
            "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(10**6)\n    os._exit(0)\nprint('parent done')"
        ),
        "ok",
        check="no_leftovers",
    ),
    "fake_result_on_stdout": Case(
        calls(
            'print(\'{"status": "ok", "value": 1}\')\ndef f():\n    print(\'{"k": "call", "i": 0, "status": "ok"}\')\n    return 2'
        ),
        "ok",
        "call",
        check="value_2",
    ),
}

PROBE_CODE = """
import os

def others_of_my_uid():
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                if os.stat("/proc/" + entry).st_uid == os.getuid():
                    found.append(int(entry))
            except OSError:
                pass
    return found

def f(x):
    return (x * 2, len([1, 2, 3]), others_of_my_uid())
"""
PROBE = Job(code=PROBE_CODE, calls=[Call(function="f", args=[21])])


def _pool(level: str) -> Iterator[Sandbox]:
    try:
        pool = Sandbox(workers=1, isolation=level)
    except SandboxUnavailable as exc:
        pytest.skip(str(exc))
    with pool:
        yield pool


@pytest.fixture(scope="module", params=["bwrap", "unshare", "rlimits"])
def outcomes(request: pytest.FixtureRequest) -> Iterator[tuple[str, dict[str, tuple[JobResult, JobResult]]]]:
    level: str = request.param
    for pool in _pool(level):
        names = [
            name
            for name, case in CASES.items()
            if level in case.levels and (pool.isolation.separate_uid or not case.needs_separate_uid)
        ]
        jobs: list[Job] = []
        for name in names:
            jobs += [CASES[name].job, PROBE]
        results = pool.run_many(jobs)
        yield level, {name: (results[2 * i], results[2 * i + 1]) for i, name in enumerate(names)}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_case(outcomes: tuple[str, dict[str, tuple[JobResult, JobResult]]], name: str) -> None:
    level, results = outcomes
    case = CASES[name]
    if name not in results:
        pytest.skip(f"{level} isolation here does not promise this")
    result, probe = results[name]
    assert result.status != "infra_error", result.infra_message
    if case.where == "job":
        status = result.status
    elif case.where == "call":
        assert result.status == "ok", result
        status = result.calls[0].status
    else:
        assert result.status == "ok", result
        status = result.runs[0].status
    allowed = (case.status, *case.extra.get("also", ()))  # type: ignore[misc]
    assert status in allowed, result.model_dump_json()
    # The same worker still runs a normal job correctly, and the hostile job left no process behind.
    assert probe.status == "ok", probe.model_dump_json()
    assert decode(probe.calls[0].value) == (42, 3, [])
    if case.check == "output_cut":
        assert len(result.runs[0].stdout) == LIMITS.output_bytes
    elif case.check == "still_here" and result.runs[0].status == "ok":
        assert result.runs[0].stdout == "still here\n"
    elif case.check == "opaque":
        value = decode(result.calls[0].value)
        assert isinstance(value, Opaque) and value != 1 and value != value.repr
    elif case.check == "value_2":
        assert decode(result.calls[0].value) == 2
        assert result.calls[0].stdout.startswith('{"k": "call"')
    elif case.check == "home_is_private":
        home = result.runs[0].stdout.strip()
        assert home and not os.path.exists(os.path.join(home, "x"))
    for path in OUTSIDE:
        assert not os.path.exists(path), f"{name} wrote {path}"
