from __future__ import annotations

import math
from itertools import combinations

import pytest

from realcode.evaluation.stats import bootstrap_mean, over_seeds, paired_difference, pass_at_k, per_task_rate


def _pass_at_k_by_enumeration(n: int, c: int, k: int) -> float:
    """pass@k as the probability that a random k-subset of n samples holds a correct one (brute force)."""
    samples = [True] * c + [False] * (n - c)
    subsets = list(combinations(range(n), k))
    return sum(any(samples[i] for i in s) for s in subsets) / len(subsets)


@pytest.mark.parametrize(("n", "c", "k"), [(5, 0, 1), (5, 1, 1), (5, 2, 3), (6, 3, 2), (7, 7, 4), (8, 1, 8), (10, 4, 5)])
def test_pass_at_k_matches_brute_force(n: int, c: int, k: int) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(_pass_at_k_by_enumeration(n, c, k))


def test_pass_at_1_is_the_fraction_correct() -> None:
    assert pass_at_k(200, 37, 1) == pytest.approx(37 / 200)


@pytest.mark.parametrize(("n", "c", "k"), [(0, 0, 1), (3, 4, 1), (3, 1, 4), (3, 1, 0)])
def test_pass_at_k_rejects_impossible_arguments(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_bootstrap_interval_brackets_the_mean_and_is_reproducible() -> None:
    values = [1.0] * 30 + [0.0] * 70
    a = bootstrap_mean(values, seed=1)
    b = bootstrap_mean(values, seed=1)
    assert a == b
    assert a.value == pytest.approx(0.3)
    assert a.low < 0.3 < a.high
    # Normal approximation of the binomial: +-1.96 * sqrt(p(1-p)/n) = +-0.0898.
    assert a.high - a.low == pytest.approx(2 * 1.96 * math.sqrt(0.21 / 100), rel=0.2)


def test_bootstrap_degenerate_cases() -> None:
    assert math.isnan(bootstrap_mean([]).value)
    one = bootstrap_mean([0.5])
    assert (one.low, one.value, one.high) == (0.5, 0.5, 0.5)
    const = bootstrap_mean([1.0] * 10)
    assert const.low == const.high == 1.0


def test_paired_difference_uses_common_tasks_only() -> None:
    a = {"t1": 0.0, "t2": 1.0, "t3": 0.0, "only_a": 1.0}
    b = {"t1": 1.0, "t2": 1.0, "t3": 1.0, "only_b": 0.0}
    diff = paired_difference(a, b, seed=0)
    assert diff.n == 3 and diff.value == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="share no task"):
        paired_difference({"x": 1.0}, {"y": 1.0})


def test_over_seeds() -> None:
    s = over_seeds([0.5, 0.7, 0.6])
    assert s.mean == pytest.approx(0.6) and s.std == pytest.approx(0.1)
    assert over_seeds([0.4]).std == 0.0
    with pytest.raises(ValueError):
        over_seeds([])


def test_per_task_rate() -> None:
    rates = per_task_rate([("a", True), ("a", False), ("b", True)])
    assert rates == {"a": 0.5, "b": 1.0}
