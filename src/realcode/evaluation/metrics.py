"""The papers' metrics over per-sample outcomes.

* Function: every functional test passes (REAL: the capability tests on SecCodePLT+).
* Quality: no static security finding (SecCodePLT+, SafeSQL) or mypy-strict clean (APPS+); the dynamic security
  rate (SecCodePLT safety tests, SafeSQL attack replay) is reported separately.
* Func-Qual: both at once, REAL's joint pass rate.
* SecureCodeRL's syntax-valid, runs and prints-output rates; the format-error rate (no code in the answer).

Rates are averaged per task first (a task's value is the mean over its samples), then over tasks, so tasks with
more samples don't weigh more; intervals are bootstrap intervals over tasks. Samples whose assessment hit an
infrastructure error are left out of every denominator and counted on their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from realcode.evaluation.stats import Interval, bootstrap_mean, pass_at_k


@dataclass(frozen=True)
class SampleOutcome:
    """What one sample (one completion for one task) achieved, reduced to the metrics' booleans."""

    task_id: str
    function: bool
    quality: bool | None = None  # None: no quality check applies to this benchmark
    dynamic_secure: bool | None = None  # None: no dynamic security check applies
    syntax_ok: bool = False
    ran: bool = False
    printed_output: bool = False
    format_error: bool = False
    infra_error: bool = False
    sample: int = 0
    cwe: tuple[str, ...] = ()
    difficulty: str | None = None
    split: str | None = None

    @property
    def func_qual(self) -> bool | None:
        return None if self.quality is None else (self.function and self.quality)


METRICS: tuple[str, ...] = (
    "function",
    "quality",
    "func_qual",
    "dynamic_security",
    "syntax_valid",
    "runs",
    "prints_output",
    "format_error",
)

_GETTERS: dict[str, Callable[[SampleOutcome], bool | None]] = {
    "function": lambda o: o.function,
    "quality": lambda o: o.quality,
    "func_qual": lambda o: o.func_qual,
    "dynamic_security": lambda o: o.dynamic_secure,
    "syntax_valid": lambda o: o.syntax_ok,
    "runs": lambda o: o.ran,
    "prints_output": lambda o: o.printed_output,
    "format_error": lambda o: o.format_error,
}


@dataclass
class MetricTable:
    """Metrics of one group of samples (a run, a CWE, a difficulty level)."""

    metrics: dict[str, Interval] = field(default_factory=dict)
    per_task: dict[str, dict[str, float]] = field(default_factory=dict)  # task -> metric -> value
    pass_at: dict[str, float] = field(default_factory=dict)  # "function@5" -> value
    n_tasks: int = 0
    n_samples: int = 0
    infra_errors: int = 0

    def as_dict(self, *, with_tasks: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "n_tasks": self.n_tasks,
            "n_samples": self.n_samples,
            "infra_errors": self.infra_errors,
            "metrics": {k: v.as_dict() for k, v in self.metrics.items()},
            "pass_at_k": dict(self.pass_at),
        }
        if with_tasks:
            out["per_task"] = self.per_task
        return out


def compute_metrics(
    outcomes: Iterable[SampleOutcome],
    *,
    ks: Sequence[int] = (1, 5, 10),
    resamples: int = 2000,
    seed: int = 0,
) -> MetricTable:
    """Every metric of ``outcomes`` with bootstrap intervals over tasks, and pass@k where samples allow."""
    all_outcomes = list(outcomes)
    valid = [o for o in all_outcomes if not o.infra_error]
    by_task: dict[str, list[SampleOutcome]] = {}
    for o in valid:
        by_task.setdefault(o.task_id, []).append(o)
    table = MetricTable(
        n_tasks=len(by_task), n_samples=len(valid), infra_errors=len(all_outcomes) - len(valid)
    )
    for name in METRICS:
        getter = _GETTERS[name]
        values: list[float] = []
        for task_id, samples in by_task.items():
            flags = [getter(s) for s in samples]
            known = [f for f in flags if f is not None]
            if not known:
                continue
            value = sum(known) / len(known)
            table.per_task.setdefault(task_id, {})[name] = value
            values.append(value)
        if values:
            table.metrics[name] = bootstrap_mean(values, resamples=resamples, seed=seed)
    for name in ("function", "func_qual"):
        getter = _GETTERS[name]
        for k in ks:
            scores: list[float] = []
            for samples in by_task.values():
                flags = [getter(s) for s in samples]
                if any(f is None for f in flags) or len(flags) < k:
                    scores = []
                    break
                scores.append(pass_at_k(len(flags), sum(bool(f) for f in flags), k))
            if scores and (k == 1 or min(len(s) for s in by_task.values()) > 1):
                table.pass_at[f"{name}@{k}"] = sum(scores) / len(scores)
    return table


def breakdown(
    outcomes: Sequence[SampleOutcome],
    key: Callable[[SampleOutcome], Iterable[str]],
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, MetricTable]:
    """Metrics per group, where ``key`` names the groups a sample belongs to (e.g. its CWEs)."""
    groups: dict[str, list[SampleOutcome]] = {}
    for o in outcomes:
        for g in key(o):
            groups.setdefault(g, []).append(o)
    return {
        g: compute_metrics(items, ks=(1,), resamples=resamples, seed=seed) for g, items in sorted(groups.items())
    }
