"""Batched mypy: verdicts and error counts equal per-file runs; recovery from blocked, lost and hung runs."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from realcode.analysis.maintainability import REAL_PRELUDE, TypeChecker, check_types
from realcode.analysis.maintainability.corpus import FRAGMENTS, agreement_corpus
from realcode.analysis.maintainability.study import apps_references, seccodeplt_patched
from realcode.analysis.maintainability.typecheck import check_file_alone
from realcode.tasks.paths import DataError


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


@pytest.fixture(scope="module")
def checker(cache: Path):  # type: ignore[no-untyped-def]
    with TypeChecker(cache_dir=cache / "batched") as tc:
        yield tc


def _alone(code: str, cache: Path, prelude: str | None = None) -> tuple[int, int]:
    verdict = check_file_alone(code, prelude=prelude, cache_dir=cache / "alone")
    return verdict.exit_status, verdict.error_count


def _sample() -> list[str]:
    """Every hand-written fragment with a module-system or syntax twist, a few joined pairs, and data."""
    corpus = agreement_corpus()
    tricky = [
        f for f in FRAGMENTS if any(k in f for k in ("import", "return 5", "yield", "type:", "(", "match"))
    ]
    rng = random.Random(4)
    sample = rng.sample(tricky, 14) + rng.sample(corpus[len(FRAGMENTS) :], 6)
    try:
        apps = apps_references()
        sec = seccodeplt_patched()
    except DataError:
        return sample
    return sample + rng.sample(apps, 4) + rng.sample(sec, 4)


def test_batched_verdicts_equal_per_file_runs(checker: TypeChecker, cache: Path) -> None:
    codes = _sample()
    batched = checker.check(codes)
    for code, result in zip(codes, batched, strict=True):
        assert (result.exit_status, result.error_count) == _alone(code, cache), code


def test_batched_verdicts_equal_per_file_runs_with_real_prelude(checker: TypeChecker, cache: Path) -> None:
    codes = _sample()[::4]
    batched = checker.check(codes, prelude=REAL_PRELUDE)
    for code, result in zip(codes, batched, strict=True):
        assert (result.exit_status, result.error_count) == _alone(code, cache, REAL_PRELUDE), code


def test_prelude_changes_verdict_and_keeps_snippet_lines(checker: TypeChecker) -> None:
    code = "def f(x: List[int]) -> int:\n    return 'a'\n"
    plain, with_prelude = checker.check([code]), checker.check([code], prelude=REAL_PRELUDE)
    assert {e.code for e in plain[0].errors} >= {"name-defined"}
    assert [e.code for e in with_prelude[0].errors] == ["return-value"]
    assert with_prelude[0].errors[0].line == 2


def test_syntax_errors_are_results_not_exceptions(checker: TypeChecker, cache: Path) -> None:
    codes = ["def f(:\n    pass\n", "x: int = 'a'\n", "x = (1,\ny = 2\n", "y: str = 'ok'\n"]
    results = checker.check(codes)
    assert [r.exit_status for r in results] == [2, 1, 2, 0]
    assert results[0].blocking and results[2].blocking
    assert all(e.code == "syntax" for e in results[0].errors)
    assert results[0].type_score == 0.0 and results[0].real_reward == -0.5
    assert results[1].type_score == 0.5 and results[3].clean
    for code, result in zip(codes, results, strict=True):
        assert (result.exit_status, result.error_count) == _alone(code, cache)


def test_empty_batch_and_bad_input(checker: TypeChecker) -> None:
    assert check_types([]) == []
    assert checker.check([]) == []
    with pytest.raises(TypeError, match="single string"):
        checker.check("x = 1")
    with pytest.raises(TypeError, match=r"codes\[1\] is int"):
        checker.check(["x = 1", 3])  # type: ignore[list-item]


def test_same_size_rewrite_within_a_second_is_not_served_from_cache(checker: TypeChecker) -> None:
    bad, good = 'x: int = "a"\n', "x: int = 100\n"
    assert len(bad) == len(good)
    for _ in range(2):
        assert checker.check([bad])[0].error_count == 1
        assert checker.check([good])[0].clean


def test_duplicates_are_checked_once_and_all_answered(checker: TypeChecker) -> None:
    runs = checker.runs
    results = checker.check(["x: int = 'a'\n"] * 5 + ["y = 1\n"])
    assert checker.runs == runs + 1
    assert [r.error_count for r in results] == [1, 1, 1, 1, 1, 0]
    results[0].errors.clear()  # results are independent copies
    assert results[1].error_count == len(results[1].errors) == 1


def test_snippet_naming_a_checker_module_is_checked_alone(checker: TypeChecker, cache: Path) -> None:
    codes = ["x = 1\n", "y = 2\n", "import realcode_snippet_0000\nimport realcode_solo_0\n"]
    results = checker.check(codes)
    assert results[2].error_count == _alone(codes[2], cache)[1] == 2


def test_lost_batch_runs_are_bisected_without_losing_results(cache: Path) -> None:
    codes = ["x: int = 'a'\n", "def f(x): return x\n", "y = 1\n", "import nosuchmodule_xyz\n"]
    # Every batch run overruns its deadline, so the worker is killed and the batch halved down to
    # single snippets, which are given a normal deadline.
    with TypeChecker(cache_dir=cache / "lost", run_timeout=0.0, per_snippet_timeout=0.0) as tc:
        results = tc.check(codes)
        assert tc._ws is not None and tc._ws.worker.restarts >= 2
    assert [r.error_count for r in results] == [1, 1, 0, 1]
    assert not any(r.crashed for r in results)


def test_a_snippet_that_hangs_is_reported_crashed(cache: Path) -> None:
    with TypeChecker(cache_dir=cache / "hang", solo_timeout=0.0) as tc:
        (result,) = tc.check(["def f(:\n"])
    assert result.crashed and result.crash_reason and result.type_score is None and not result.clean


def test_worker_is_recycled_and_answers_stay_the_same(cache: Path) -> None:
    codes = ["x: int = 'a'\n", "def g() -> int:\n    return 'b'\n", "z = 3\n"]
    with TypeChecker(cache_dir=cache / "recycle", max_runs=1) as tc:
        first = [r.error_count for r in tc.check(codes)]
        second = [r.error_count for r in tc.check(codes)]
        assert tc._ws is not None and tc._ws.worker.restarts >= 2
    assert first == second == [1, 1, 0]
