"""Statistics for evaluation: pass@k, bootstrap intervals over tasks, paired differences, seeds.

Everything here is pure and deterministic given its seed: no I/O, no model, no sandbox.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimator of Chen et al. (2021): ``1 - C(n-c, k) / C(n, k)``.

    ``n`` samples of which ``c`` are correct. Computed as a stable product, not with factorials.
    """
    if n < 1 or k < 1:
        raise ValueError(f"pass@k needs n >= 1 and k >= 1 (got n={n}, k={k})")
    if not 0 <= c <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n (got c={c}, n={n})")
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples per task (got {n})")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


@dataclass(frozen=True)
class Interval:
    """A point estimate with a bootstrap confidence interval."""

    value: float
    low: float
    high: float
    n: int  # number of tasks the estimate is over
    confidence: float = 0.95

    def as_dict(self) -> dict[str, float | int]:
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n, "confidence": self.confidence}

    def __str__(self) -> str:
        return f"{100 * self.value:.1f} [{100 * self.low:.1f}, {100 * self.high:.1f}]"


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile of already sorted values, ``q`` in [0, 1]."""
    if not sorted_values:
        return math.nan
    pos = q * (len(sorted_values) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    frac = pos - lo
    return sorted_values[lo] * (1 - frac) + sorted_values[hi] * frac


def bootstrap_mean(
    values: Sequence[float], *, resamples: int = 2000, confidence: float = 0.95, seed: int = 0
) -> Interval:
    """Mean of per-task ``values`` with a percentile bootstrap interval (tasks resampled with replacement)."""
    n = len(values)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, confidence)
    mean = math.fsum(values) / n
    if n == 1:
        return Interval(mean, mean, mean, 1, confidence)
    rng = random.Random(seed)
    means = sorted(math.fsum(rng.choices(values, k=n)) / n for _ in range(resamples))
    alpha = (1 - confidence) / 2
    return Interval(mean, _percentile(means, alpha), _percentile(means, 1 - alpha), n, confidence)


def paired_difference(
    a: Mapping[str, float],
    b: Mapping[str, float],
    *,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Mean of ``b - a`` over the tasks both runs have, with a paired bootstrap interval.

    Raises :class:`ValueError` when the runs share no task.
    """
    common = sorted(set(a) & set(b))
    if not common:
        raise ValueError("the two runs share no task; a paired comparison needs the same tasks")
    return bootstrap_mean([b[t] - a[t] for t in common], resamples=resamples, confidence=confidence, seed=seed)


@dataclass(frozen=True)
class SeedSummary:
    mean: float
    std: float  # sample standard deviation (0 for one seed)
    values: tuple[float, ...]

    def as_dict(self) -> dict[str, object]:
        return {"mean": self.mean, "std": self.std, "values": list(self.values)}


def over_seeds(values: Sequence[float]) -> SeedSummary:
    """Mean and sample standard deviation of one metric measured once per seed."""
    if not values:
        raise ValueError("no seeds to summarise")
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return SeedSummary(statistics.fmean(values), std, tuple(values))


def per_task_rate(
    samples: Sequence[tuple[str, bool]], reduce: Callable[[Sequence[bool]], float] | None = None
) -> dict[str, float]:
    """Per-task value of a boolean outcome over that task's samples (mean of the samples by default)."""
    by_task: dict[str, list[bool]] = {}
    for task_id, ok in samples:
        by_task.setdefault(task_id, []).append(ok)
    red = reduce or (lambda xs: sum(xs) / len(xs))
    return {t: red(xs) for t, xs in by_task.items()}
