"""The stage ladder on small hand-made tasks, through the real sandbox."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from realcode.judge import FunctionalVerdict, Stage, judge, judge_many
from realcode.judge.functional import _plan, selected_groups
from realcode.sandbox import Sandbox
from realcode.sandbox.api import Job, JobResult, Limits
from realcode.tasks.model import Benchmark, ChatMessage, Entry, EntryKind, Task
from realcode.tasks.model import TestCase as Case
from realcode.tasks.model import TestGroup as Group


def _task(
    cases: list[Case], *, kind: EntryKind = EntryKind.FUNCTION, name: str | None = "f", **kw: object
) -> Task:
    group = Group(name="capability", cases=cases)
    return Task(
        id="t",
        benchmark=Benchmark.SECCODEPLT_PLUS,
        split="test",
        prompt=[ChatMessage(role="user", content="x")],
        entry=Entry(kind=kind, name=name, class_name="Solution" if kind is EntryKind.METHOD else None),
        tests=[group, *kw.pop("extra_groups", [])],  # type: ignore[list-item]
        **kw,  # type: ignore[arg-type]
    )


_FAST = Limits(cpu_seconds=0.3, wall_seconds=5.0)

DOUBLE = _task(
    [
        Case(name="c/0", args=[2], expected=4),
        Case(name="c/1", kwargs={"x": 0.1}, expected=0.2),
        Case(name="c/2", input_source="{'x': -1}", expected_source="ValueError"),
    ]
)


@pytest.mark.parametrize(
    ("code", "stage"),
    [
        (None, Stage.NO_CODE),
        ("def f(x) return 2", Stage.SYNTAX_ERROR),
        ("raise RuntimeError('boom')\ndef f(x): return 2 * x", Stage.LOAD_ERROR),
        ("def g(x): return 2 * x", Stage.LOAD_ERROR),  # entry missing
        ("f = 3", Stage.LOAD_ERROR),  # entry not callable
        ("def f(x): return 1 / 0", Stage.RUNTIME_ERROR),
        ("def f(x):\n    while True: pass", Stage.TIMEOUT),
        ("def f(x): return 'nope'", Stage.TESTS_FAILED),
        ("def f(x):\n    return 4 if x == 2 else 0", Stage.TESTS_FAILED),
        ("def f(x):\n    if x < 0: raise ValueError('neg')\n    return 2 * x", Stage.PASSED),
        # a subclass of the expected exception passes (json.JSONDecodeError is a ValueError)
        ("import json\ndef f(x):\n    if x < 0: json.loads('{')\n    return x + x", Stage.PASSED),
    ],
)
def test_stage_ladder(sandbox: Sandbox, code: str | None, stage: Stage) -> None:
    verdict = judge(DOUBLE, code, sandbox=sandbox, limits=_FAST)
    assert verdict.stage is stage, verdict.message or [t.message for t in verdict.tests]
    assert FunctionalVerdict.model_validate_json(verdict.model_dump_json()) == verdict


def test_failed_tests_say_why(sandbox: Sandbox) -> None:
    verdict = judge(DOUBLE, "def f(x):\n    return 4 if x == 2 else 0", sandbox=sandbox)
    by_name = {t.name: t for t in verdict.tests}
    assert by_name["c/0"].passed and by_name["c/0"].actual == 4
    assert not by_name["c/1"].passed and by_name["c/1"].expected == 0.2 and by_name["c/1"].actual == 0
    assert by_name["c/2"].expected == "raises ValueError"
    assert "ValueError" in by_name["c/2"].message
    assert verdict.groups["capability"].passed == 1 and verdict.groups["capability"].total == 3


def test_hostile_values_do_not_pass(sandbox: Sandbox) -> None:
    always_equal = "class E:\n    def __eq__(self, o): return True\n    def __hash__(self): return 0\ndef f(x): return E()"
    assert judge(DOUBLE, always_equal, sandbox=sandbox).stage is Stage.TESTS_FAILED
    exit_first = "import sys\nsys.exit(0)\ndef f(x): return 2 * x"
    assert judge(DOUBLE, exit_first, sandbox=sandbox).stage in (Stage.LOAD_ERROR,)
    patch_builtins = "import builtins\nbuiltins.isinstance = lambda *a: True\ndef f(x): return 'x'"
    patched = judge(DOUBLE, patch_builtins, sandbox=sandbox)
    assert patched.stage not in (Stage.PASSED, Stage.INFRA_ERROR), patched


def test_expected_values_never_enter_the_candidate_job() -> None:
    secret = "EXPECTED-" + "4242"
    task = _task([Case(name="c/0", input_source="{'x': 1}", expected_source=f"{secret!r}.lower()")])
    plan = _plan(task, "def f(x): return x", selected_groups(task), {"c/0": secret.lower()}, None, None)
    assert secret.lower() not in plan.job.model_dump_json().lower()
    task2 = _task([Case(name="c/0", args=[1], expected=secret)])
    plan2 = _plan(task2, "def f(x): return x", selected_groups(task2), {}, None, None)
    assert secret not in plan2.job.model_dump_json()


def test_expression_expectations_run_in_a_reference_job(sandbox: Sandbox) -> None:
    task = _task(
        [
            Case(name="c/0", input_source="{'data': b'x'}", expected_source="hashlib.sha256(b'x').digest()"),
            Case(name="c/1", input_source="{'data': KEY}", expected_source="hashlib.sha256(KEY).digest()"),
            Case(name="c/2", input_source="{'data': b''}", expected_source="undefined_name"),  # broken data
        ],
        setup="import hashlib\nKEY = b'k'",
    )
    good = judge(task, "def f(data): return hashlib.sha256(data).digest()", sandbox=sandbox)
    assert good.stage is Stage.PASSED
    assert good.groups["capability"].total == 2  # the broken test is reported, not counted
    broken = next(t for t in good.tests if t.name == "c/2")
    assert broken.status == "broken" and "NameError" in broken.message
    bad = judge(task, "def f(data): return data", sandbox=sandbox)
    assert bad.stage is Stage.TESTS_FAILED


def test_security_groups_never_decide_the_stage(sandbox: Sandbox) -> None:
    safety = Group(
        name="safety", security=True, cases=[Case(name="s/0", kwargs={"x": -1}, expected_source="ValueError")]
    )
    task = _task([Case(name="c/0", args=[2], expected=4)], extra_groups=[safety])
    verdict = judge(task, "def f(x): return 2 * x", sandbox=sandbox)
    assert verdict.stage is Stage.PASSED
    assert verdict.groups["safety"].security and verdict.groups["safety"].passed == 0


def test_methods_and_programs(sandbox: Sandbox) -> None:
    method = _task([Case(name="c/0", args=[[1, 2]], expected=(2, 1))], kind=EntryKind.METHOD)
    code = "class Solution:\n    def f(self, xs: List[int]) -> list:\n        return xs[::-1]"
    method = method.model_copy(update={"benchmark": Benchmark.APPS_PLUS})  # REAL's APPS prelude imports List
    assert judge(method, code, sandbox=sandbox).stage is Stage.PASSED
    assert judge(method, "class Solution:\n    pass", sandbox=sandbox).stage is Stage.LOAD_ERROR
    future = '"""Reverse."""\nfrom __future__ import annotations\n' + code
    assert judge(method, future, sandbox=sandbox).stage is Stage.PASSED  # hoisted above the harness imports
    program = Task(
        id="p",
        benchmark=Benchmark.APPS_PLUS,
        split="test",
        prompt=[],
        entry=Entry(kind=EntryKind.PROGRAM),
        tests=[
            Group(
                name="io",
                cases=[
                    Case(name="io/0", stdin="1 2\n", expected_stdout="3\n"),
                    Case(name="io/1", stdin="0.1 0.2\n", expected_stdout="0.3"),
                ],
            )
        ],
    )
    add = "a, b = map(float, input().split())\ns = a + b\nprint(int(s) if s == int(s) else s)"
    assert judge(program, add, sandbox=sandbox).stage is Stage.PASSED
    assert judge(program, "x = input()", sandbox=sandbox).stage is Stage.NO_OUTPUT
    spaced = "a, b = map(float, input().split())\ns = a + b\nprint(' ', int(s) if s == int(s) else s)"
    assert judge(program, spaced, sandbox=sandbox).stage is Stage.PASSED  # tokens: whitespace is free
    assert judge(program, spaced, sandbox=sandbox, stdout_mode="exact").stage is Stage.TESTS_FAILED
    assert judge(program, "print(int(input()))", sandbox=sandbox).stage is Stage.RUNTIME_ERROR


class _BrokenSandbox:
    """A sandbox whose every job fails on the sandbox's side, as a dead worker pool reports it."""

    def run_many(self, jobs: Sequence[Job]) -> list[JobResult]:
        return [JobResult(status="infra_error", infra_message="worker died twice") for _ in jobs]


def test_infra_errors_are_never_model_outcomes() -> None:
    verdicts = judge_many([DOUBLE, DOUBLE], ["def f(x): return 2 * x", None], sandbox=_BrokenSandbox())
    assert verdicts[0].stage is Stage.INFRA_ERROR and verdicts[0].infra_error
    assert "worker died" in verdicts[0].message
    assert verdicts[1].stage is Stage.NO_CODE


class _Counting:
    """The real sandbox, counting the jobs it is given."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.jobs = 0

    def run_many(self, jobs: Sequence[Job]) -> list[JobResult]:
        self.jobs += len(jobs)
        return self.sandbox.run_many(jobs)


def test_identical_pairs_run_once(sandbox: Sandbox) -> None:
    counting = _Counting(sandbox)
    good, bad = "def f(x):\n    if x < 0: raise ValueError\n    return 2 * x", "def f(x): return x"
    verdicts = judge_many([DOUBLE] * 4, [good, bad, good, good], sandbox=counting)
    assert [v.stage for v in verdicts] == [Stage.PASSED, Stage.TESTS_FAILED, Stage.PASSED, Stage.PASSED]
    assert counting.jobs <= 3  # two candidate jobs (+ the reference job unless cached)
    assert verdicts[0] == verdicts[2] and verdicts[0] is not verdicts[2]


def _sql_task(db_setup: str, db_file: str = "shop.db") -> Task:
    return Task(
        id="sql-" + str(abs(hash(db_setup)) % 10**8),
        benchmark=Benchmark.SAFESQL,
        split="test",
        prompt=[],
        entry=Entry(kind=EntryKind.PROGRAM),
        tests=[Group(name="io", cases=[Case(name="io/0", stdin="pen\n", expected_stdout="(1, 'pen', 3)")])],
        db_setup=db_setup,
        metadata={"db_file": db_file},
    )


def test_sql_programs_get_a_fresh_database(sandbox: Sandbox) -> None:
    setup = (
        "import sqlite3\ncon = sqlite3.connect('shop.db')\n"
        "con.execute('CREATE TABLE items (id INTEGER, name TEXT, qty INTEGER)')\n"
        "con.execute(\"INSERT INTO items VALUES (1, 'pen', 3)\")\ncon.commit()\n"
    )
    task = _sql_task(setup)
    # deletes the row after printing it: a second run would print nothing if the database were shared
    code = (
        "import sqlite3\ncon = sqlite3.connect('shop.db')\nname = input('Item: ')\n"
        "for row in con.execute('SELECT * FROM items WHERE name = ?', (name,)):\n    print(row)\n"
        "con.execute('DELETE FROM items')\ncon.commit()\n"
    )
    twice = task.model_copy(
        update={
            "tests": [
                Group(
                    name="io",
                    cases=[
                        task.tests[0].cases[0],
                        task.tests[0].cases[0].model_copy(update={"name": "io/1"}),
                    ],
                )
            ]
        }
    )
    verdict = judge(twice, code, sandbox=sandbox)
    assert verdict.stage is Stage.PASSED, [t.actual for t in verdict.tests]


def test_broken_database_scripts_are_not_model_outcomes(sandbox: Sandbox) -> None:
    failing = judge(_sql_task("raise SystemError('no db')"), "print(1)", sandbox=sandbox)
    assert failing.stage is Stage.INFRA_ERROR and "construct_db failed" in failing.message
    odd_name = judge(_sql_task("pass", db_file="../outside.db"), "print(1)", sandbox=sandbox)
    assert odd_name.stage is Stage.INFRA_ERROR and "plain file name" in odd_name.message


def test_bad_task_data_is_reported_not_scored(sandbox: Sandbox) -> None:
    nameless = _task([Case(name="c/0", args=[1], expected=1)], name=None)
    verdict = judge(nameless, "def f(x): return x", sandbox=sandbox)
    assert verdict.stage is Stage.INFRA_ERROR and verdict.message.startswith("task data:")


def test_a_refused_job_does_not_sink_the_batch(sandbox: Sandbox) -> None:
    from realcode.judge.runner import run_jobs

    good = Job(code="x = 1", mode="program", stdin_runs=[""])
    refused = Job(code="x = 1", mode="program", stdin_runs=[""], capture_files=["../escape"])
    results = run_jobs(sandbox, [good, refused])
    assert results[0].status == "ok"
    assert results[1].status == "infra_error" and "refused" in (results[1].infra_message or "")


def test_safety_verdicts_read_off_functional_verdicts(sandbox: Sandbox) -> None:
    from realcode.judge import security_from_functional

    safety = Group(
        name="safety", security=True, cases=[Case(name="s/0", kwargs={"x": -1}, expected_source="ValueError")]
    )
    task = _task([Case(name="c/0", args=[2], expected=4)], extra_groups=[safety])
    secure = "def f(x):\n    if x < 0: raise ValueError\n    return 2 * x"
    both = judge(task, secure, sandbox=sandbox)
    assert security_from_functional(task, both).secure is True
    assert (
        security_from_functional(task, judge(task, "def f(x): return 2 * x", sandbox=sandbox)).secure is False
    )
    without = judge(task, secure, sandbox=sandbox, groups=["capability"])
    undecided = security_from_functional(task, without)
    assert (
        undecided.applicable and undecided.secure is None and "without the safety tests" in undecided.message
    )
