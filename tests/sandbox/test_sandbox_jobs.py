"""What the sandbox returns for ordinary jobs: values, output, exceptions, files, validation, recovery."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path

import pytest

from realcode.sandbox import Call, Job, Limits, Sandbox
from realcode.sandbox.serialize import Opaque, decode

SOURCE = """
import math
print("module loaded")

def area(r):
    print("computing", r)
    return round(math.pi * r * r, 3)

def pair(a, b=0):
    return (a, b), {a, b}, bytes([a])

def ask():
    return input() + "!" + input()

def fail(kind):
    raise {"key": KeyError, "value": ValueError}[kind]("bad " + kind)

class Solution:
    def twice(self, x):
        return 2 * x
"""


def test_calls_return_values_output_and_exceptions(sandbox: Sandbox) -> None:
    job = Job(
        code=SOURCE,
        calls=[
            Call(function="area", args=[2]),
            Call(function="pair", args=[3], kwargs={"b": 4}),
            Call(function="ask", stdin="first\nsecond\n"),
            Call(function="fail", args=["key"]),
            Call(function="Solution.twice", args=[21]),
            Call(expression="area(1) + 1"),
            Call(function="pair", kwargs_source="{'a': 5, 'b': 6}"),
            Call(function="missing"),
        ],
    )
    result = sandbox.run(job)
    assert result.status == "ok"
    assert result.load_stdout == "module loaded\n"
    assert [c.status for c in result.calls] == ["ok", "ok", "ok", "exception", "ok", "ok", "ok", "exception"]
    values = [decode(c.value) for c in result.calls]
    assert values[0] == 12.566
    assert result.calls[0].stdout == "computing 2\n"
    assert values[1] == ((3, 4), {3, 4}, b"\x03")
    assert values[2] == "first!second"
    assert result.calls[3].exc_type == "KeyError"
    assert result.calls[3].exc_mro[:3] == ["KeyError", "LookupError", "Exception"]
    assert values[4] == 42
    assert values[5] == pytest.approx(4.142)
    assert values[6] == ((5, 6), {5, 6}, b"\x05")
    assert result.calls[7].exc_type == "NameError"
    assert result.isolation == sandbox.isolation.level


def test_python_values_in_arguments_keep_their_types(sandbox: Sandbox) -> None:
    job = Job(
        code="def kinds(*a): return [type(x).__name__ for x in a]",
        calls=[Call(function="kinds", args=[(1, 2), b"x", {1}, float("nan"), {(1, 2): 3}])],
    )
    assert decode(sandbox.run(job).calls[0].value) == ["tuple", "bytes", "set", "float", "dict"]


def test_preamble_runs_in_the_module_namespace(sandbox: Sandbox) -> None:
    job = Job(
        code="def f(x): return x + OFFSET", preamble="OFFSET = 100", calls=[Call(function="f", args=[1])]
    )
    assert decode(sandbox.run(job).calls[0].value) == 101


def test_load_failures_are_reported_without_calls(sandbox: Sandbox) -> None:
    broken = sandbox.run(Job(code="def f(:\n    pass", calls=[Call(function="f")]))
    assert broken.status == "syntax_error" and broken.load_exc_type == "SyntaxError" and broken.calls == []
    raising = sandbox.run(Job(code="import no_such_module_xyz\ndef f(): pass", calls=[Call(function="f")]))
    assert raising.status == "load_error" and raising.load_exc_type == "ModuleNotFoundError"
    preamble = sandbox.run(Job(code="x = 1", preamble="1 / 0", calls=[Call(expression="x")]))
    assert preamble.status == "load_error" and preamble.load_exc_type == "ZeroDivisionError"


def test_programs_run_once_per_stdin(sandbox: Sandbox) -> None:
    code = "import sys\nn = int(input())\nprint(n * n)\nif n < 0: sys.exit(3)\n"
    result = sandbox.run(Job(code=code, mode="program", stdin_runs=["3\n", "12\n", "x\n", "-1\n"]))
    assert result.status == "ok"
    assert [r.status for r in result.runs] == ["ok", "ok", "exception", "exit"]
    assert [r.stdout for r in result.runs] == ["9\n", "144\n", "", "1\n"]
    assert result.runs[2].exc_type == "ValueError" and "Traceback" in result.runs[2].stderr
    assert result.runs[3].exit_code == 3
    assert result.runs[0].exit_code == 0


def test_program_syntax_error(sandbox: Sandbox) -> None:
    result = sandbox.run(Job(code="print(", mode="program", stdin_runs=["", ""]))
    assert result.status == "syntax_error" and result.runs == []


def _database(tmp_path: Path) -> str:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE items (name TEXT, price INTEGER)")
        db.executemany("INSERT INTO items VALUES (?, ?)", [("apple", 3), ("pear", 5)])
    return base64.b64encode(path.read_bytes()).decode()


def test_files_are_placed_fresh_before_each_run_and_captured_after(sandbox: Sandbox, tmp_path: Path) -> None:
    code = (
        "import sqlite3\nname = input()\ndb = sqlite3.connect('shop.db')\n"
        "print(db.execute('SELECT price FROM items WHERE name = ?', (name,)).fetchall())\n"
        "db.execute('DELETE FROM items WHERE name = ?', (name,))\ndb.commit()\n"
    )
    job = Job(
        code=code,
        mode="program",
        stdin_runs=["apple", "apple"],
        files={"shop.db": _database(tmp_path)},
        capture_files=["shop.db", "absent.txt"],
    )
    result = sandbox.run(job)
    assert [r.stdout for r in result.runs] == ["[(3,)]\n", "[(3,)]\n"]  # the second run got a fresh copy
    for run in result.runs:
        captured = tmp_path / "after.db"
        captured.write_bytes(base64.b64decode(run.files["shop.db"] or ""))
        with sqlite3.connect(captured) as db:
            assert db.execute("SELECT name FROM items").fetchall() == [("pear",)]
        assert run.files["absent.txt"] is None


def test_a_call_that_kills_its_process_keeps_earlier_results(sandbox: Sandbox) -> None:
    code = "import os\ncount = 0\ndef f(x):\n    global count\n    count += 1\n    if x == 1: os._exit(0)\n    return (x, count)\n"
    job = Job(code=code, calls=[Call(function="f", args=[i]) for i in range(4)])
    result = sandbox.run(job)
    assert [c.status for c in result.calls] == ["ok", "exit", "ok", "ok"]
    # After the death the module is executed afresh in a new process: the counter restarts.
    assert [decode(c.value) for c in result.calls] == [(0, 1), None, (2, 1), (3, 2)]


def test_run_many_keeps_order(sandbox: Sandbox) -> None:
    jobs = [Job(code=f"def f(): return {i}", calls=[Call(function="f")]) for i in range(30)]
    assert [decode(r.calls[0].value) for r in sandbox.run_many(jobs)] == list(range(30))


def test_unencodable_values_come_back_opaque(sandbox: Sandbox) -> None:
    result = sandbox.run(Job(code="def f(): return (x for x in [])", calls=[Call(function="f")]))
    value = decode(result.calls[0].value)
    assert isinstance(value, Opaque) and value.type_name == "generator"


@pytest.mark.parametrize(
    ("job", "culprit"),
    [
        (dict(code="x", files={"../evil": "AA=="}), "../evil"),
        (dict(code="x", files={"a.db": "***"}), "a.db"),
        (dict(code="x", capture_files=["/etc/passwd"]), "/etc/passwd"),
        (dict(code="x", calls=[{"args": [1]}]), "call 0"),
        (dict(code="x", mode="shell"), "mode"),
        (dict(code="x", limits={"cpu_seconds": 0}), "cpu_seconds"),
    ],
)
def test_bad_jobs_are_refused_naming_the_culprit(
    sandbox: Sandbox, job: dict[str, object], culprit: str
) -> None:
    with pytest.raises(ValueError, match=culprit.replace(".", r"\.")):
        sandbox.run(job)


def test_a_dead_worker_is_replaced_and_the_job_still_runs() -> None:
    with Sandbox(workers=1) as pool:
        for worker in list(pool._all):
            worker.process.kill()
            worker.process.wait()
        result = pool.run(Job(code="def f(): return 7", calls=[Call(function="f")], limits=Limits()))
        assert result.status == "ok" and decode(result.calls[0].value) == 7


def test_isolation_report_names_the_level(sandbox: Sandbox) -> None:
    report = sandbox.isolation
    assert report.level in ("bwrap", "unshare", "rlimits")
    assert report.level in report.describe()


def test_a_worker_that_stops_answering_is_an_infra_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from realcode.sandbox import pool as pool_module

    with Sandbox(workers=1) as pool:
        # The host gives up long before the job's own wall limit: both attempts hang, the job is infra_error.
        monkeypatch.setattr(pool_module, "_backstop", lambda job: 0.5)
        slow = Job(
            code="import time\ntime.sleep(3)", mode="program", stdin_runs=[""], limits=Limits(wall_seconds=30)
        )
        result = pool.run(slow)
        assert result.status == "infra_error"
        assert result.infra_message and "did not answer" in result.infra_message
        monkeypatch.undo()
        after = pool.run(Job(code="def f(): return 1", calls=[Call(function="f")]))
        assert after.status == "ok" and decode(after.calls[0].value) == 1


def test_binary_stdio_works_like_cpython(sandbox: Sandbox) -> None:
    # Competitive-programming style fast I/O through the buffered layers.
    code = (
        "import sys\nnumbers = list(map(int, sys.stdin.buffer.read().split()))\n"
        "sys.stdout.write(f'{sum(numbers)}\\n')\nsys.stdout.flush()\nsys.stdout.buffer.write(b'done\\n')\n"
    )
    run = sandbox.run(Job(code=code, mode="program", stdin_runs=["1 2\n3\n"])).runs[0]
    assert run.status == "ok" and run.stdout == "6\ndone\n"


def test_default_sandbox_is_shared_and_sized_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from realcode.sandbox import get_default_sandbox

    monkeypatch.setenv("REALCODE_SANDBOX_WORKERS", "1")
    first = get_default_sandbox()
    if first.size != 1:  # another test of this process started it already: start a fresh one
        first.close()
        first = get_default_sandbox()
    assert first.size == 1 and get_default_sandbox() is first
    assert decode(first.run(Job(code="def f(): return 5", calls=[Call(function="f")])).calls[0].value) == 5


def test_a_sandbox_inherited_through_fork_refuses_to_run(sandbox: Sandbox) -> None:
    import os

    pid = os.fork()
    if pid == 0:  # the child must not talk to the parent's workers over the inherited pipes
        try:
            sandbox.run(Job(code="x = 1"))
        except RuntimeError as exc:
            os._exit(0 if "another process" in str(exc) else 2)
        except BaseException:
            os._exit(3)
        os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert sandbox.run(Job(code="def f(): return 1", calls=[Call(function="f")])).status == "ok"
