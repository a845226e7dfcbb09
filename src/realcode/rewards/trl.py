"""TRL adapter: ``reward_funcs`` for ``GRPOTrainer`` and ``RLOOTrainer``, one callable per reward component.

TRL computes ``sum_i w_i * r_i`` over its reward functions and logs each one's mean
(``rewards/<name>/mean``). :func:`reward_funcs` returns one callable per component of a
:class:`~realcode.rewards.RewardSpec` plus the matching ``reward_weights``, chosen so that TRL's weighted sum
equals :func:`realcode.rewards.score`'s total exactly, format penalty, guards and missing components
included (a component that did not apply, or that a guard overrode, reports the value that keeps the sum
right; its honest value is in the breakdown). A sample whose assessment hit an infrastructure error gets
``None`` from every callable, which TRL treats as unscorable (no advantage), never as a wrong number.

The dataset carries the columns the callables need: ``task_id`` and ``benchmark`` (see
:func:`trl_dataset`). Completions may be plain strings or conversations (the last message's content is used).

>>> funcs, weights = reward_funcs("real-apps")                        # doctest: +SKIP
>>> GRPOTrainer(model, reward_funcs=funcs, args=GRPOConfig(reward_weights=weights, ...), train_dataset=ds)
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from realcode.assess import AssessmentCache
from realcode.rewards.batch import Sample, TaskIndex, score_samples
from realcode.rewards.presets import load_spec
from realcode.rewards.scoring import RewardBreakdown
from realcode.rewards.spec import ComponentName, RewardSpec, combine
from realcode.tasks import Task
from realcode.tasks.extract import ExtractMode


def trl_weights(spec: RewardSpec) -> dict[ComponentName, float]:
    """Weights for TRL's weighted sum so that it reproduces the spec's combination."""
    comps = spec.components
    if spec.quality_alpha is None:
        total = sum(spec.weights[c] for c in comps)
        return {c: spec.weights[c] / total for c in comps}
    quality = [c for c in comps if c != "functional"]
    qw = sum(spec.weights[c] for c in quality)
    out: dict[ComponentName, float] = {"functional": 1.0 - spec.quality_alpha}
    for c in quality:
        out[c] = spec.quality_alpha * spec.weights[c] / qw
    return out


def effective_components(b: RewardBreakdown, spec: RewardSpec) -> dict[ComponentName, float | None]:
    """Per-component values whose :func:`trl_weights`-weighted sum is exactly ``b.total``.

    Present components report their value; a missing one reports the combined value of its peers (so it
    neither adds nor removes anything); when the total was set outright (no code, a guard), every component
    reports the total. Infrastructure errors give None everywhere.
    """
    comps = spec.components
    if b.total is None:
        return {c: None for c in comps}
    values = {c: b.components.get(c) for c in comps}
    present = {c: v for c, v in values.items() if v is not None}
    if b.format_penalty or not present or combine(present, spec) != b.total:
        return {c: b.total for c in comps}
    if spec.quality_alpha is None:
        return {c: (v if v is not None else b.total) for c, v in values.items()}
    func = present.get("functional")
    quality = {c: v for c, v in present.items() if c != "functional"}
    if quality:
        qw = sum(spec.weights[c] for c in quality)
        q = sum(spec.weights[c] * v for c, v in quality.items()) / qw
    else:
        q = func if func is not None else b.total
    out: dict[ComponentName, float | None] = {}
    for c in comps:
        if c == "functional":
            out[c] = func if func is not None else b.total
        else:
            v = values[c]
            out[c] = v if v is not None else q
    return out


def _completion_text(c: Any) -> str | None:
    if c is None or isinstance(c, str):
        return c
    if isinstance(c, list) and c and isinstance(c[-1], dict):
        return str(c[-1].get("content", ""))
    if isinstance(c, dict):
        return str(c.get("content", ""))
    return str(c)


class _BatchScorer:
    """Scores a batch once; the per-component callables read from it (TRL calls them one after another)."""

    def __init__(
        self,
        spec: RewardSpec,
        *,
        benchmark: str | None,
        extract: ExtractMode,
        cache: AssessmentCache | bool,
        sandbox: Any,
        index: TaskIndex,
    ) -> None:
        self.spec = spec
        self.benchmark = benchmark
        self.extract = extract
        self.cache = cache
        self.sandbox = sandbox
        self.index = index
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._values: list[dict[ComponentName, float | None]] = []
        self.last: list[RewardBreakdown | None] = []

    def values(
        self, completions: Sequence[Any], kwargs: dict[str, Any]
    ) -> list[dict[ComponentName, float | None]]:
        n = len(completions)
        ids = _column(kwargs, "task_id", n)
        benches = _column(kwargs, "benchmark", n, required=self.benchmark is None)
        texts = [_completion_text(c) for c in completions]
        key = (tuple(ids), tuple(benches), tuple(texts))
        with self._lock:
            if key == self._key:
                return self._values
            samples = [
                Sample(str(t), text, str(b) if b is not None else None, where=f"sample {i}")
                for i, (t, b, text) in enumerate(zip(ids, benches, texts, strict=True))
            ]
            scored = score_samples(
                samples,
                self.spec,
                index=self.index,
                benchmark=self.benchmark,
                extract=self.extract,
                cache=self.cache,
                sandbox=self.sandbox,
            )
            self.last = [s.reward for s in scored]
            self._values = [
                effective_components(s.reward, self.spec)
                if s.reward is not None
                else dict.fromkeys(self.spec.components)
                for s in scored
            ]
            self._key = key
            return self._values


def _column(kwargs: dict[str, Any], name: str, n: int, *, required: bool = True) -> list[Any]:
    col = kwargs.get(name)
    if col is None:
        if required:
            raise KeyError(
                f"the dataset has no {name!r} column: realcode's reward functions need 'task_id' and 'benchmark' "
                "columns (see realcode.rewards.trl.trl_dataset)"
            )
        return [None] * n
    if len(col) != n:
        raise ValueError(f"column {name!r} has {len(col)} values for {n} completions")
    return list(col)


class ComponentReward:
    """One component of a realcode reward, as a TRL reward function (``__name__`` is what TRL logs)."""

    def __init__(self, scorer: _BatchScorer, component: ComponentName) -> None:
        self.scorer = scorer
        self.component = component
        self.__name__ = f"realcode_{component}"

    def __call__(
        self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (), **kwargs: Any
    ) -> list[float | None]:
        return [v[self.component] for v in self.scorer.values(completions, kwargs)]


def reward_funcs(
    spec: str | RewardSpec = "realcode-default",
    *,
    benchmark: str | None = None,
    extract: ExtractMode = "last",
    cache: AssessmentCache | bool = True,
    sandbox: Any = None,
    data: str | Path | None = None,
    tasks: Sequence[Task] = (),
) -> tuple[list[ComponentReward], list[float]]:
    """TRL reward functions for ``spec`` (a preset name, a spec file or a :class:`RewardSpec`) and their weights.

    Pass the functions as ``reward_funcs`` and the weights as ``GRPOConfig(reward_weights=...)`` (or
    ``RLOOConfig``). ``benchmark`` is the default for datasets without a ``benchmark`` column; ``tasks``
    pre-loads tasks (otherwise they are loaded from ``data`` by benchmark on first use).
    """
    s = spec if isinstance(spec, RewardSpec) else load_spec(spec)
    scorer = _BatchScorer(
        s, benchmark=benchmark, extract=extract, cache=cache, sandbox=sandbox, index=TaskIndex(data, tasks)
    )
    weights = trl_weights(s)
    funcs = [ComponentReward(scorer, c) for c in s.components]
    return funcs, [weights[c] for c in s.components]


def trl_dataset(tasks: Sequence[Task], template: str = "real") -> Any:
    """A ``datasets.Dataset`` for TRL: a conversational ``prompt`` (rendered with ``template``, see
    :func:`realcode.tasks.render_prompt`) plus the ``task_id``/``benchmark`` columns the rewards need."""
    from datasets import Dataset

    from realcode.tasks import render_prompt

    return Dataset.from_list(
        [
            {
                "prompt": [{"role": m.role, "content": m.content} for m in render_prompt(t, template)],  # type: ignore[arg-type]
                "task_id": t.id,
                "benchmark": t.benchmark.value,
            }
            for t in tasks
        ]
    )
