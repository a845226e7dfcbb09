"""``assess`` end to end on real tasks, the real sandbox, the real analyzers and mypy."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from realcode.assess import Assessment, AssessmentCache, Backends, assess, checks_for
from realcode.judge import judge_many
from realcode.judge.verdict import FunctionalVerdict, Stage
from realcode.rewards import get_preset, score
from realcode.tasks import Task, load_tasks


def _wrap(code: str) -> str:
    return f"Here is my answer.\n```python\n{code}\n```\n"


@pytest.fixture(scope="module")
def scp() -> Task:
    return next(
        t for t in load_tasks("seccodeplt-plus", "test") if t.references.patched and t.references.vulnerable
    )


@pytest.fixture(scope="module")
def apps() -> Task:
    return load_tasks("apps-plus")[0]


@pytest.fixture(scope="module")
def sql() -> Task:
    return load_tasks("safesql", "test")[0]


def test_mixed_batch_each_sample_gets_its_benchmarks_checks(scp: Task, apps: Task, sql: Task) -> None:
    tasks = [scp, apps, sql]
    refs = [scp.references.patched, apps.references.canonical, sql.references.canonical]
    out = assess(tasks, [_wrap(r or "") for r in refs], cache=False)
    assert [a.checks for a in out] == [
        ["functional", "security", "dynamic"],
        ["functional", "maintainability"],
        ["functional", "security", "dynamic"],
    ]
    assert all(a.functional is not None and a.functional.stage is Stage.PASSED for a in out)
    assert (
        out[0].dynamic is not None and out[0].dynamic.kind == "safety_tests" and out[0].dynamic.secure is True
    )
    assert out[1].maintainability is not None and out[1].maintainability.mypy_exit in (0, 1)
    assert out[1].security is None and out[1].dynamic is None
    assert out[2].dynamic is not None and out[2].dynamic.kind == "sql_attacks"
    assert all(not a.infra_error and a.timings_ms["functional"] > 0 for a in out)


def test_vulnerable_reference_fails_safety_tests(scp: Task) -> None:
    [a] = assess([scp], [_wrap(scp.references.vulnerable or "")], cache=False)
    assert a.dynamic is not None and a.dynamic.secure is False


def test_json_round_trip(scp: Task, apps: Task) -> None:
    out = assess([scp, apps], [_wrap(scp.references.patched or ""), _wrap(apps.references.canonical or "")])
    for a in out:
        again = Assessment.model_validate_json(a.model_dump_json())
        assert again == a
        assert score(again, get_preset("realcode-default")) == score(a, get_preset("realcode-default"))


def _counting_judge(calls: list[int]) -> Any:
    def run(tasks: Sequence[Task], codes: Sequence[str | None], **kw: Any) -> list[FunctionalVerdict]:
        calls.append(len(tasks))
        return judge_many(tasks, codes, **kw)

    return run


def test_duplicates_are_assessed_once_and_cached(apps: Task, tmp_path: Path) -> None:
    calls: list[int] = []
    be = Backends(judge_many=_counting_judge(calls))
    answer = _wrap(apps.references.canonical or "")
    other_wrapping = "```python\n" + (apps.references.canonical or "") + "\n```"  # same code, other prose
    cache = AssessmentCache(tmp_path)
    out = assess([apps, apps, apps], [answer, answer, other_wrapping], cache=cache, backends=be)
    assert calls == [1]  # one judge batch holding one distinct (task, code)
    assert [a.cached for a in out] == [False, True, True]
    assert out[0].functional == out[1].functional == out[2].functional
    # a fresh cache object over the same directory: served from disk, no judging at all
    again = assess([apps], [answer], cache=AssessmentCache(tmp_path), backends=be)
    assert calls == [1]
    assert again[0].cached and again[0].functional == out[0].functional


def test_one_failing_sample_does_not_kill_the_batch(scp: Task, apps: Task) -> None:
    def flaky(tasks: Sequence[Task], codes: Sequence[str | None], **kw: Any) -> list[FunctionalVerdict]:
        if any(t.id == apps.id for t in tasks):
            raise RuntimeError("worker died")
        return judge_many(tasks, codes, **kw)

    out = assess(
        [scp, apps],
        [_wrap(scp.references.patched or ""), _wrap(apps.references.canonical or "")],
        cache=False,
        backends=Backends(judge_many=flaky),
    )
    assert out[0].functional is not None and out[0].functional.stage is Stage.PASSED
    assert out[1].infra_error and "worker died" in (out[1].functional.message if out[1].functional else "")
    assert score(out[1], get_preset("real-apps")).total is None


def test_no_code_and_task_without_tests(apps: Task) -> None:
    empty = apps.model_copy(update={"tests": [], "id": "no-tests"})
    out = assess([apps, empty], ["I cannot solve this.", _wrap("def f():\n    return 1")], cache=False)
    assert out[0].functional is not None and out[0].functional.stage is Stage.NO_CODE
    assert score(out[0], get_preset("real-apps")).total == -1.0
    assert out[1].error is not None and "apps-plus/no-tests has no tests" in out[1].error
    assert score(out[1], get_preset("real-apps")).total is None


def test_checks_argument(apps: Task, scp: Task) -> None:
    assert checks_for(apps, ["functional", "security", "dynamic"]) == ["functional", "security"]
    assert checks_for(scp, "auto") == ["functional", "security", "dynamic"]
    with pytest.raises(ValueError, match=r"unknown check.*'speed'"):
        checks_for(apps, ["speed"])
    with pytest.raises(ValueError, match="2 tasks but 1 completions"):
        assess([apps, apps], ["x"])


def test_tampering_is_seen_in_a_real_assessment(apps: Task) -> None:
    code = (apps.references.canonical or "") + "\nimport sys\nsys.modules['os'] = None\n"
    [a] = assess([apps], [_wrap(code)], cache=False)
    assert any("sys.modules" in t for t in a.signals.tampering)
    assert score(a, get_preset("realcode-default")).total == -1.0


def test_max_tests_runs_only_the_first_tests(sql: Task) -> None:
    code = sql.references.canonical or ""
    [full] = assess([sql], [_wrap(code)], checks=["functional"], cache=False)
    [cut] = assess([sql], [_wrap(code)], checks=["functional"], cache=False, max_tests=2)
    assert full.functional is not None and cut.functional is not None
    io = [t for t in full.functional.tests if t.group == "io"]
    assert len(io) > 2
    assert [t.name for t in cut.functional.tests if t.group == "io"] == [t.name for t in io[:2]]
    assert cut.max_tests == 2 and full.max_tests is None
    with pytest.raises(ValueError, match="max_tests must be at least 1"):
        assess([sql], ["x"], max_tests=0)


def test_cache_key_covers_task_code_checks_and_versions(apps: Task) -> None:
    from realcode.assess.cache import cache_key

    base = cache_key("task-a", "code", ("functional",), {"mypy": "1"})
    assert base == cache_key("task-a", "code", ("functional",), {"mypy": "1"})
    assert base != cache_key("task-b", "code", ("functional",), {"mypy": "1"})
    assert base != cache_key("task-a", "code2", ("functional",), {"mypy": "1"})
    assert base != cache_key("task-a", "code", ("functional", "security"), {"mypy": "1"})
    assert base != cache_key("task-a", "code", ("functional",), {"mypy": "2"})
