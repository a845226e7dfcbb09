"""Functional judging: test groups -> sandbox jobs -> :class:`FunctionalVerdict`.

One candidate makes one sandbox job: a ``calls`` job (function, ``Solution().method`` or HumanEval
``check(candidate)``) or a ``program`` job (one run per stdin). Expected values never enter that job: plain
data stays on the host, expressions are evaluated in a separate reference job (:mod:`realcode.judge.expected`).
HumanEval is the exception by construction: its ``check(candidate)`` holds the expected values inside the test
code, so that code runs next to the candidate (as in HumanEval's own harness).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from realcode.judge import harness
from realcode.judge.compare import (
    StdoutMode,
    display,
    exception_matches,
    stdout_equal,
    strip_prompts,
    type_marker,
    values_equal,
)
from realcode.judge.databases import Database, prepare_databases
from realcode.judge.expected import Broken, prepare_expected
from realcode.judge.runner import JobRunner, resolve, run_jobs
from realcode.judge.verdict import FunctionalVerdict, GroupResult, Stage, TestResult
from realcode.sandbox.api import Call, CallResult, Job, JobResult, Limits, RunResult
from realcode.sandbox.serialize import DecodeError, decode
from realcode.tasks.model import EntryKind, Task, TestCase, TestGroup

Outcome = Literal["pass", "wrong", "error", "timeout", "no_output", "broken", "infra"]

# The entry probe runs first in every calls job: a missing entry point is a load/definition error, not a
# failed test.
_PROBE_NAME = "entry"


@dataclass
class _Spec:
    """One test as planned: its case, group and what it is compared against."""

    case: TestCase
    group: TestGroup
    expected: Any = None
    check: bool = False  # HumanEval: the test code itself decides


@dataclass
class _Plan:
    task: Task
    code: str
    job: Job
    specs: list[_Spec] = field(default_factory=list)
    probe: bool = False
    stdout_mode: StdoutMode | None = None  # None: the benchmark's own rule


def selected_groups(task: Task, groups: Sequence[str] | None = None) -> list[TestGroup]:
    """Groups a functional judgement runs: ``groups`` by name, else every group it can check.

    A program group needs expected outputs (SafeSQL ``attacks`` have none: they belong to
    :func:`realcode.judge.dynamic.dynamic_security_many`).
    """
    out: list[TestGroup] = []
    for g in task.tests:
        if groups is not None and g.name not in groups:
            continue
        if task.entry.kind is EntryKind.CHECK:
            if g.check_source:
                out.append(g)
        elif task.entry.kind is EntryKind.PROGRAM:
            if g.cases and all(c.expected_stdout is not None for c in g.cases):
                out.append(g)
        elif g.cases:
            out.append(g)
    return out


def judge_many(
    tasks: Sequence[Task],
    codes: Sequence[str | None],
    *,
    sandbox: JobRunner | None = None,
    groups: Sequence[str] | None = None,
    limits: Limits | None = None,
    stdout_mode: StdoutMode | None = None,
) -> list[FunctionalVerdict]:
    """Judge each ``codes[i]`` (None: the completion held no code) against ``tasks[i]``.

    All candidate jobs run in one sandbox batch (after one batch that builds whatever the tasks need first:
    reference values and databases, both cached per task). Identical (task, code) pairs run once.
    ``groups`` restricts the test groups by name. ``stdout_mode`` overrides how program output is compared
    (``tokens``, ``exact`` or ``fuzzy``; default: the benchmark harness's rule, see :mod:`realcode.judge.harness`).
    Security groups (SecCodePLT ``safety``) are reported in ``groups`` but never decide the stage.
    """
    if len(tasks) != len(codes):
        raise ValueError(f"{len(tasks)} tasks but {len(codes)} codes")
    verdicts: list[FunctionalVerdict | None] = [None] * len(tasks)
    todo: list[int] = []
    first: dict[tuple[str, str, str], int] = {}  # identical (task, code) pairs run once
    copies: list[tuple[int, int]] = []
    for i, code in enumerate(codes):
        early = early_verdict(code)
        if early is not None:
            verdicts[i] = early
            continue
        assert code is not None
        key = (tasks[i].benchmark.value, tasks[i].id, code)
        if key in first:
            copies.append((i, first[key]))
        else:
            first[key] = i
            todo.append(i)
    if todo:
        runner = resolve(sandbox)
        todo_tasks = [tasks[i] for i in todo]
        chosen = [selected_groups(t, groups) for t in todo_tasks]
        # What the candidate jobs depend on (reference values, databases) runs first, in one batch.
        expected_jobs, finish_expected = prepare_expected(todo_tasks, chosen)
        db_jobs, finish_dbs = prepare_databases(todo_tasks)
        ready = run_jobs(runner, expected_jobs + db_jobs)
        expected = finish_expected(ready[: len(expected_jobs)])
        dbs = finish_dbs(ready[len(expected_jobs) :])
        plans: list[tuple[int, _Plan]] = []
        for k, i in enumerate(todo):
            code = codes[i]
            assert code is not None
            db = dbs[k]
            if db is not None and db.error:
                verdicts[i] = _db_failure(db)
                continue
            problem = _entry_problem(tasks[i])
            if problem:
                verdicts[i] = FunctionalVerdict(
                    stage=Stage.INFRA_ERROR, syntax_ok=True, message=f"task data: {problem}"
                )
                continue
            plan = _plan(tasks[i], code, chosen[k], expected[k], db, limits)
            plan.stdout_mode = stdout_mode
            plans.append((i, plan))
        results = run_jobs(runner, [p.job for _, p in plans])
        for (i, plan), result in zip(plans, results, strict=True):
            verdicts[i] = interpret(plan, result)
    for i, j in copies:
        source = verdicts[j]
        verdicts[i] = source.model_copy(deep=True) if source is not None else None
    return [v for v in verdicts if v is not None]


def judge(
    task: Task,
    code: str | None,
    *,
    sandbox: JobRunner | None = None,
    groups: Sequence[str] | None = None,
    limits: Limits | None = None,
    stdout_mode: StdoutMode | None = None,
) -> FunctionalVerdict:
    """Judge one candidate (see :func:`judge_many`, which batches)."""
    return judge_many([task], [code], sandbox=sandbox, groups=groups, limits=limits, stdout_mode=stdout_mode)[
        0
    ]


def early_verdict(code: str | None) -> FunctionalVerdict | None:
    """Verdicts that need no sandbox: no code, or code that does not compile."""
    if code is None:
        return FunctionalVerdict(stage=Stage.NO_CODE, message="the completion held no code")
    try:
        with warnings.catch_warnings():  # the candidate's own warnings (invalid escapes) are not ours
            warnings.simplefilter("ignore")
            compile(code, "<candidate>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return FunctionalVerdict(
            stage=Stage.SYNTAX_ERROR, message=f"{type(exc).__name__}: {exc.msg} (line {exc.lineno})"
        )
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        return FunctionalVerdict(stage=Stage.SYNTAX_ERROR, message=f"{type(exc).__name__}: {exc}")
    return None


def _db_failure(db: Database) -> FunctionalVerdict:
    stage = Stage.INFRA_ERROR
    where = "sandbox" if db.infra else "task data"
    return FunctionalVerdict(stage=stage, syntax_ok=True, message=f"{where}: database not built: {db.error}")


def _entry_problem(task: Task) -> str | None:
    """Why the task's entry point cannot be called (a data problem), or None."""
    kind = task.entry.kind
    if kind is not EntryKind.PROGRAM and not (task.entry.name or "").isidentifier():
        return f"{kind.value} entry needs a function name, got {task.entry.name!r}"
    if (
        kind is EntryKind.METHOD
        and task.entry.class_name is not None
        and not task.entry.class_name.isidentifier()
    ):
        return f"class name {task.entry.class_name!r} is not an identifier"
    return None


def _entry_function(task: Task) -> str | None:
    entry = task.entry
    if not entry.name:
        return None
    if entry.kind is EntryKind.METHOD:
        return f"{entry.class_name or 'Solution'}.{entry.name}"
    return entry.name


def _probe(task: Task) -> Call | None:
    entry = task.entry
    names = [entry.name or "", *([entry.class_name] if entry.class_name else [])]
    if not all(n.isidentifier() for n in names):
        return None
    if entry.kind is EntryKind.METHOD:
        return Call(expression=f"callable(getattr({entry.class_name or 'Solution'}, {entry.name!r}, None))")
    return Call(expression=f"callable({entry.name})")


def _plan(
    task: Task,
    code: str,
    groups: list[TestGroup],
    expected: dict[str, Any],
    db: Database | None,
    limits: Limits | None,
) -> _Plan:
    source = harness.module_source(task, code)
    lim = limits or Limits()
    kind = task.entry.kind
    if kind is EntryKind.PROGRAM:
        files = {db.name: db.data} if db is not None and db.data is not None else {}
        specs = [_Spec(case=c, group=g, expected=c.expected_stdout) for g in groups for c in g.cases]
        job = Job(
            code=source,
            mode="program",
            stdin_runs=[s.case.stdin or "" for s in specs],
            files=files,
            limits=lim,
        )
        return _Plan(task=task, code=code, job=job, specs=specs)
    probe = _probe(task)
    calls: list[Call] = [probe] if probe is not None else []
    specs = []
    preambles: list[str] = []
    if kind is EntryKind.CHECK:
        for g in groups:
            preambles.append(g.check_source or "")
            specs.append(_Spec(case=TestCase(name=f"{g.name}/check"), group=g, check=True))
            calls.append(Call(expression=f"check({task.entry.name})"))
    else:
        function = _entry_function(task)
        for g in groups:
            if g.preamble and g.preamble not in preambles:
                preambles.append(g.preamble)
            for c in g.cases:
                value = expected[c.name] if c.expected_source is not None else c.expected
                specs.append(_Spec(case=c, group=g, expected=value))
                calls.append(
                    Call(function=function, args=c.args, kwargs=c.kwargs, kwargs_source=c.input_source)
                )
    job = Job(code=source, preamble="\n".join(preambles), calls=calls, limits=lim)
    return _Plan(task=task, code=code, job=job, specs=specs, probe=probe is not None)


# --- interpreting results ----------------------------------------------------------------------------------


def interpret(plan: _Plan, result: JobResult) -> FunctionalVerdict:
    """The verdict of one planned job from its sandbox result."""
    base: dict[str, Any] = {"syntax_ok": True, "cpu_ms": result.cpu_ms, "wall_ms": result.wall_ms}
    if result.status == "infra_error":
        return FunctionalVerdict(
            stage=Stage.INFRA_ERROR, message=f"sandbox: {result.infra_message or 'failed'}", **base
        )
    if result.status == "syntax_error":
        msg = f"{result.load_exc_type or 'SyntaxError'}: {result.load_exc_message or ''}"
        return FunctionalVerdict(stage=Stage.SYNTAX_ERROR, message=msg, syntax_ok=False, cpu_ms=result.cpu_ms)
    if result.status == "load_error":
        return FunctionalVerdict(
            stage=Stage.LOAD_ERROR,
            message=f"loading the module raised {result.load_exc_type}: {result.load_exc_message or ''}",
            printed_output=bool(result.load_stdout),
            **base,
        )
    calls = list(result.calls)
    if plan.probe:
        probe = calls.pop(0) if calls else None
        failure = _probe_failure(plan.task, probe, result)
        if failure is not None:
            stage, message = failure
            return FunctionalVerdict(
                stage=stage, message=message, printed_output=bool(result.load_stdout), **base
            )
    tests: list[TestResult] = []
    outcomes: list[Outcome] = []
    prompts = harness.input_prompts(plan.code) if plan.job.mode == "program" else []
    for n, spec in enumerate(plan.specs):
        if plan.job.mode == "program":
            run = result.runs[n] if n < len(result.runs) else None
            test, outcome = _program_test(plan, spec, run, result, prompts)
        else:
            call = calls[n] if n < len(calls) else None
            test, outcome = _call_test(spec, call, result)
        tests.append(test)
        outcomes.append(outcome)
    printed = bool(result.load_stdout) or any(r.stdout for r in result.runs) or any(c.stdout for c in calls)
    return _verdict(plan, tests, outcomes, printed=printed, **base)


def _probe_failure(task: Task, probe: CallResult | None, result: JobResult) -> tuple[Stage, str] | None:
    entry = _entry_function(task) or "entry point"
    if probe is None:
        stage = _STATUS_STAGE.get(result.status, Stage.LOAD_ERROR)
        return stage, f"the module did not finish loading ({result.status})"
    if probe.status == "ok":
        if _decoded(probe.value) is True:
            return None
        return Stage.LOAD_ERROR, f"`{entry}` is not a callable defined by the code"
    if probe.status == "exception":
        if probe.exc_type in ("NameError", "AttributeError"):
            return Stage.LOAD_ERROR, f"`{entry}` is not defined ({probe.exc_type}: {probe.exc_message})"
        return Stage.LOAD_ERROR, f"looking up `{entry}` raised {probe.exc_type}: {probe.exc_message}"
    if probe.status == "infra_error":
        return Stage.INFRA_ERROR, "sandbox failed while loading the module"
    return _STATUS_STAGE.get(
        probe.status, Stage.RUNTIME_ERROR
    ), f"the module did not finish loading ({probe.status})"


_STATUS_STAGE: dict[str, Stage] = {
    "timeout": Stage.TIMEOUT,
    "memory": Stage.RUNTIME_ERROR,
    "output_limit": Stage.RUNTIME_ERROR,
    "crashed": Stage.RUNTIME_ERROR,
    "exit": Stage.LOAD_ERROR,
    "exception": Stage.LOAD_ERROR,
    "load_error": Stage.LOAD_ERROR,
    "infra_error": Stage.INFRA_ERROR,
}


def _decoded(value: Any) -> Any:
    try:
        return decode(value)
    except DecodeError as exc:
        return Broken(f"undecodable value: {exc}")


def _call_input(case: TestCase) -> Any:
    if case.input_source is not None:
        return display(case.input_source)
    if case.kwargs and not case.args:
        return display(case.kwargs)
    if case.kwargs:
        return {"args": display(case.args), "kwargs": display(case.kwargs)}
    return display(case.args)


def _raised(call: CallResult) -> str:
    return f"raised {call.exc_type}: {call.exc_message or ''}".rstrip(": ")


def _call_test(spec: _Spec, call: CallResult | None, result: JobResult) -> tuple[TestResult, Outcome]:
    case = spec.case
    test = TestResult(
        name=case.name,
        group=spec.group.name,
        passed=False,
        status=call.status if call is not None else result.status,
        input=None if spec.check else _call_input(case),
        expected=None if spec.check else _expected_display(spec.expected),
        cpu_ms=call.cpu_ms if call is not None else 0.0,
    )
    if isinstance(spec.expected, Broken):
        test.status = "broken"
        test.message = f"test skipped: {spec.expected.reason}"
        return test, "broken"
    if call is None:
        test.message = f"not run: the job ended early ({result.status})"
        return test, _status_outcome(result.status)
    if call.status == "ok":
        actual = _decoded(call.value)
        test.actual = display(actual)
        if spec.check:
            test.passed = True
            return test, "pass"
        if isinstance(actual, Broken):
            test.message = actual.reason
            return test, "wrong"
        if values_equal(spec.expected, actual):
            test.passed = True
            return test, "pass"
        marker = type_marker(spec.expected)
        test.message = f"expected {marker} to be raised" if marker else "returned a different value"
        return test, "wrong"
    if call.status == "exception":
        test.actual = _raised(call)
        marker = type_marker(spec.expected)
        if marker is not None and exception_matches(marker, call.exc_type, call.exc_mro):
            test.passed = True
            return test, "pass"
        if spec.check and call.exc_type == "AssertionError":
            test.message = "check(candidate) failed an assertion"
            return test, "wrong"
        test.message = f"expected {marker}, but {test.actual}" if marker else test.actual
        return test, "error"
    test.actual = call.status
    test.message = _status_message(call.status)
    return test, _status_outcome(call.status)


def _expected_display(expected: Any) -> Any:
    if isinstance(expected, Broken):
        return None
    marker = type_marker(expected)
    return f"raises {marker}" if marker else display(expected)


def _status_outcome(status: str) -> Outcome:
    if status == "timeout":
        return "timeout"
    if status == "infra_error":
        return "infra"
    return "error"


def _status_message(status: str) -> str:
    return {
        "timeout": "hit the time limit",
        "memory": "hit the memory limit",
        "output_limit": "printed more than the output limit",
        "exit": "exited (sys.exit/os._exit) during the test",
        "crashed": "crashed (killed by a signal)",
        "infra_error": "sandbox failure",
    }.get(status, status)


def _program_test(
    plan: _Plan, spec: _Spec, run: RunResult | None, result: JobResult, prompts: list[str]
) -> tuple[TestResult, Outcome]:
    case = spec.case
    expected = str(spec.expected or "")
    test = TestResult(
        name=case.name,
        group=spec.group.name,
        passed=False,
        status=run.status if run is not None else result.status,
        input=display(case.stdin or ""),
        expected=display(expected),
        cpu_ms=run.cpu_ms if run is not None else 0.0,
    )
    if run is None:
        test.message = f"not run: the job ended early ({result.status})"
        return test, _status_outcome(result.status)
    finished = run.status == "ok" or (run.status == "exit" and run.exit_code == 0)
    if not finished:
        if run.status == "exception":
            test.actual = f"raised {run.exc_type}: {run.exc_message or ''}".rstrip(": ")
            test.message = test.actual
        else:
            test.actual = run.status
            test.message = _status_message(run.status)
        return test, _status_outcome(run.status) if run.status != "exception" else "error"
    output = strip_prompts(run.stdout, prompts)
    test.actual = display(output)
    if stdout_equal(expected, output, plan.stdout_mode or harness.stdout_mode(plan.task)):
        test.passed = True
        return test, "pass"
    if not output.strip() and expected.strip():
        test.message = "printed nothing"
        return test, "no_output"
    test.message = "printed a different output"
    return test, "wrong"


def _verdict(
    plan: _Plan,
    tests: list[TestResult],
    outcomes: list[Outcome],
    *,
    printed: bool,
    syntax_ok: bool,
    cpu_ms: float,
    wall_ms: float,
) -> FunctionalVerdict:
    groups: dict[str, GroupResult] = {}
    for spec, test, outcome in zip(plan.specs, tests, outcomes, strict=True):
        g = groups.setdefault(
            spec.group.name,
            GroupResult(name=spec.group.name, passed=0, total=0, security=spec.group.security),
        )
        if outcome == "broken":
            continue
        g.total += 1
        g.passed += int(test.passed)
    broken = [t for t, o in zip(tests, outcomes, strict=True) if o == "broken"]
    functional = [
        o for s, o in zip(plan.specs, outcomes, strict=True) if not s.group.security and o != "broken"
    ]
    message = (
        f"{len(broken)} test(s) skipped: the data's expected value is broken ({broken[0].message})"
        if broken
        else ""
    )
    if "infra" in outcomes:
        stage = Stage.INFRA_ERROR
        message = "sandbox failure during the tests"
    elif all(o == "pass" for o in functional):
        stage = Stage.PASSED
    elif "pass" in functional:
        stage = Stage.TESTS_FAILED
    elif "timeout" in functional:
        stage = Stage.TIMEOUT
    elif all(o == "error" for o in functional):
        stage = Stage.RUNTIME_ERROR
    elif all(o in ("no_output", "error") for o in functional):
        stage = Stage.NO_OUTPUT
    else:
        stage = Stage.TESTS_FAILED
    return FunctionalVerdict(
        stage=stage,
        tests=tests,
        groups=groups,
        syntax_ok=syntax_ok,
        ran=True,
        printed_output=printed,
        message=message,
        cpu_ms=cpu_ms,
        wall_ms=wall_ms,
    )
