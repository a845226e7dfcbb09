"""Scoring batches of raw samples: read completions files, resolve tasks, assess, score.

Shared by ``realcode assess``, the HTTP service and the trainer adapters. A sample names its task by
``task_id`` (and ``benchmark`` when a batch mixes benchmarks); problems with one sample (unknown task id,
missing completion) are reported against that sample, never by failing the batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realcode.assess import Assessment, AssessmentCache, assess
from realcode.rewards.scoring import RewardBreakdown, score
from realcode.rewards.spec import RewardSpec
from realcode.tasks import Task, load_tasks, parse_benchmark
from realcode.tasks.extract import ExtractMode


class InputError(ValueError):
    """Bad input: the message names the file and line, or the sample, at fault."""


@dataclass
class Sample:
    """One completion to score, as read from a file or a request."""

    task_id: str
    completion: str | None
    benchmark: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # every other field, passed through to the output
    where: str = ""  # "file.jsonl:12" or "sample 3", for error messages


_COMPLETION_KEYS = ("completion", "response", "output", "solution_str")


def sample_from_dict(row: Mapping[str, Any], where: str) -> Sample:
    """A :class:`Sample` from a JSON object; :class:`InputError` naming ``where`` when a field is missing."""
    if not isinstance(row, Mapping):
        raise InputError(f"{where}: expected a JSON object, got {type(row).__name__}")
    task_id = row.get("task_id", row.get("id"))
    if task_id is None:
        raise InputError(f"{where}: missing 'task_id'")
    key = next((k for k in _COMPLETION_KEYS if k in row), None)
    if key is None:
        raise InputError(f"{where}: missing 'completion'")
    completion = row[key]
    if completion is not None and not isinstance(completion, str):
        raise InputError(f"{where}: 'completion' must be a string, got {type(completion).__name__}")
    bench = row.get("benchmark")
    extra = {k: v for k, v in row.items() if k not in {"task_id", "id", "benchmark", key}}
    return Sample(str(task_id), completion, str(bench) if bench else None, extra, where)


def read_samples(path: str | Path) -> Iterator[Sample]:
    """Samples of a JSONL file; malformed lines raise :class:`InputError` naming the file and line."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    with p.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{p}:{n}: not valid JSON ({exc.msg} at column {exc.colno})") from None
            yield sample_from_dict(row, f"{p}:{n}")


class TaskIndex:
    """Tasks by (benchmark, id), loaded per benchmark on first use."""

    def __init__(self, data: str | Path | None = None, tasks: Sequence[Task] = ()) -> None:
        self.data = data
        self._by_bench: dict[str, dict[str, Task]] = {}
        for t in tasks:
            self._by_bench.setdefault(t.benchmark.value, {})[t.id] = t

    def benchmark(self, name: str) -> dict[str, Task]:
        bench = parse_benchmark(name).value
        if bench not in self._by_bench:
            self._by_bench[bench] = {t.id: t for t in load_tasks(bench, data=self.data)}
        return self._by_bench[bench]

    def resolve(self, sample: Sample, default_benchmark: str | None) -> Task:
        bench = sample.benchmark or default_benchmark
        if bench is None:
            raise InputError(f"{sample.where}: no benchmark given for task {sample.task_id!r}")
        try:
            tasks = self.benchmark(bench)
        except ValueError as exc:
            raise InputError(f"{sample.where}: {exc}") from None
        task = tasks.get(sample.task_id)
        if task is None:
            example = ", ".join(sorted(tasks)[:3])
            raise InputError(
                f"{sample.where}: unknown task id {sample.task_id!r} in {parse_benchmark(bench).value} "
                f"({len(tasks)} tasks, e.g. {example})"
            )
        return task


@dataclass
class Scored:
    sample: Sample
    assessment: Assessment | None
    reward: RewardBreakdown | None
    error: str | None = None

    def to_json(self, *, with_assessment: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "task_id": self.sample.task_id,
            "benchmark": self.assessment.benchmark if self.assessment else self.sample.benchmark,
            **self.sample.extra,
            "reward": self.reward.total if self.reward else None,
            "components": self.reward.components if self.reward else {},
            "guards": self.reward.guards if self.reward else [],
            "error": self.error,
        }
        if with_assessment and self.assessment is not None:
            out["assessment"] = self.assessment.model_dump(mode="json")
        return out


def score_samples(
    samples: Sequence[Sample],
    spec: RewardSpec | Mapping[str, RewardSpec],
    *,
    index: TaskIndex,
    benchmark: str | None = None,
    extract: ExtractMode = "last",
    cache: AssessmentCache | bool = True,
    sandbox: Any = None,
) -> list[Scored]:
    """Assess and score a batch; a sample whose task cannot be found gets an error and no reward.

    ``spec`` is one spec for every sample, or one per benchmark (mixed batches).
    """
    resolved: list[tuple[int, Task]] = []
    out: list[Scored] = [Scored(s, None, None) for s in samples]
    for i, s in enumerate(samples):
        try:
            resolved.append((i, index.resolve(s, benchmark)))
        except InputError as exc:
            out[i].error = str(exc)
    tasks = [t for _, t in resolved]
    specs = [_spec_for(spec, t) for t in tasks]
    # each task runs its benchmark's checks plus whatever its spec reads
    per_task: dict[tuple[str, int | None], list[int]] = {}
    for j, (t, sp) in enumerate(zip(tasks, specs, strict=True)):
        key = ",".join(sorted(set(sp.required_checks()) | set(_auto(t))))
        limit = sp.functional.max_tests if sp.functional is not None else None
        per_task.setdefault((key, limit), []).append(j)
    for (key, limit), js in per_task.items():
        assessed = assess(
            [tasks[j] for j in js],
            [samples[resolved[j][0]].completion for j in js],
            checks=key.split(","),
            extract=extract,
            cache=cache,
            sandbox=sandbox,
            max_tests=limit,
        )
        for j, a in zip(js, assessed, strict=True):
            i = resolved[j][0]
            out[i].assessment = a
            out[i].reward = score(a, specs[j])
            out[i].error = a.error
    return out


def _auto(task: Task) -> list[str]:
    from realcode.assess.model import DEFAULT_CHECKS

    return list(DEFAULT_CHECKS.get(task.benchmark.value, ("functional",)))


def _spec_for(spec: RewardSpec | Mapping[str, RewardSpec], task: Task) -> RewardSpec:
    if isinstance(spec, RewardSpec):
        return spec
    from realcode.rewards.presets import preset_for

    return spec.get(task.benchmark.value) or preset_for(task.benchmark.value)
