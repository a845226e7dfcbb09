"""veRL adapter: ``compute_score`` for veRL's reward managers, and the parquet rows that feed it.

veRL's ``custom_reward_function`` calls ``compute_score(data_source, solution_str, ground_truth,
extra_info)`` per sample (``NaiveRewardManager``) or :func:`compute_score_batch` with lists
(``BatchRewardManager``). Point it at this file::

    custom_reward_function.path=$(python -c "import realcode.rewards.verl as m; print(m.__file__)")
    custom_reward_function.name=compute_score_batch   reward_model.reward_manager=batch

Rows written by ``realcode data export --format verl`` carry what the reward needs: ``data_source`` is
``realcode/<benchmark>``, ``reward_model.ground_truth`` the task id, and ``extra_info`` holds ``task_id``,
``benchmark``, ``split`` and ``preset``. The result is a dict: ``score`` (the preset's total) plus each
component, which veRL logs as ``reward_extra_info``. A sample whose assessment hit an infrastructure error
scores NaN (veRL has no notion of an unscorable sample; a NaN is loud where a made-up number would be silent)
and ``infra_error`` 1.0; an unknown task id scores NaN with ``sample_error`` 1.0. Settings: ``REALCODE_PRESET`` overrides every row's preset, ``REALCODE_DATA``.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from realcode.rewards.batch import Sample, Scored, TaskIndex, score_samples
from realcode.rewards.presets import load_spec, preset_for
from realcode.rewards.spec import RewardSpec
from realcode.tasks import Task

DATA_SOURCE_PREFIX = "realcode/"
_LOCK = threading.Lock()
_INDEX: TaskIndex | None = None


def _index() -> TaskIndex:
    global _INDEX
    if _INDEX is None:
        _INDEX = TaskIndex(os.environ.get("REALCODE_DATA"))
    return _INDEX


def _sample(
    data_source: str, solution_str: str, ground_truth: Any, extra_info: dict[str, Any] | None, i: int
) -> Sample:
    info = dict(extra_info or {})
    task_id = info.get("task_id", ground_truth)
    bench = info.get("benchmark")
    if not bench and isinstance(data_source, str) and data_source.startswith(DATA_SOURCE_PREFIX):
        bench = data_source[len(DATA_SOURCE_PREFIX) :]
    return Sample(
        str(task_id), solution_str, str(bench) if bench else None, where=f"sample {i} ({data_source})"
    )


def _spec_for(extra_info: dict[str, Any] | None, benchmark: str | None) -> RewardSpec:
    name = os.environ.get("REALCODE_PRESET") or (extra_info or {}).get("preset")
    if name:
        return load_spec(str(name))
    return preset_for(benchmark or "")


def _result(s: Scored) -> dict[str, Any]:
    r = s.reward
    total = r.total if r is not None else None
    out: dict[str, Any] = {
        "score": total if total is not None else math.nan,
        "infra_error": 1.0 if r is not None and r.infra_error else 0.0,
        "sample_error": 1.0 if s.error is not None else 0.0,
    }
    for name in ("functional", "security", "maintainability", "dynamic"):
        v = r.components.get(name) if r is not None else None
        out[name] = v if v is not None else math.nan
    out["passed"] = 1.0 if s.assessment is not None and s.assessment.passed else 0.0
    return out


def compute_score_batch(
    data_sources: Sequence[str],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[dict[str, Any] | None],
    **_: Any,
) -> list[dict[str, Any]]:
    """Scores for a batch (veRL's ``BatchRewardManager``): one dict per sample, ``score`` first."""
    samples = [
        _sample(d, s, g, e, i)
        for i, (d, s, g, e) in enumerate(
            zip(data_sources, solution_strs, ground_truths, extra_infos, strict=True)
        )
    ]
    # Group by spec so that each group is one assess batch.
    groups: dict[str, tuple[RewardSpec, list[int]]] = {}
    for i, (s, e) in enumerate(zip(samples, extra_infos, strict=True)):
        spec = _spec_for(e, s.benchmark)
        groups.setdefault(spec.model_dump_json(), (spec, []))[1].append(i)
    out: list[dict[str, Any]] = [{} for _ in samples]
    with _LOCK:
        for spec, idx in groups.values():
            scored = score_samples([samples[i] for i in idx], spec, index=_index())
            for i, item in zip(idx, scored, strict=True):
                out[i] = _result(item)
    return out


def compute_score(
    data_source: str, solution_str: str, ground_truth: Any, extra_info: dict[str, Any] | None = None, **_: Any
) -> dict[str, Any]:
    """One sample's score (veRL's ``NaiveRewardManager`` calls this per sample)."""
    return compute_score_batch([data_source], [solution_str], [ground_truth], [extra_info])[0]


def verl_rows(
    tasks: Sequence[Task], *, template: str = "real", preset: str | None = None
) -> list[dict[str, Any]]:
    """veRL dataset rows: ``data_source``, chat ``prompt``, ``ability``, ``reward_model``, ``extra_info``."""
    from realcode.tasks import render_prompt

    rows = []
    for i, t in enumerate(tasks):
        rows.append(
            {
                "data_source": DATA_SOURCE_PREFIX + t.benchmark.value,
                "prompt": [{"role": m.role, "content": m.content} for m in render_prompt(t, template)],  # type: ignore[arg-type]
                "ability": "code",
                "reward_model": {"style": "rule", "ground_truth": t.id},
                "extra_info": {
                    "index": i,
                    "task_id": t.id,
                    "benchmark": t.benchmark.value,
                    "split": t.split,
                    "preset": preset or preset_for(t.benchmark.value).name,
                },
            }
        )
    return rows


def write_verl_parquet(
    tasks: Sequence[Task], path: str | Path, *, template: str = "real", preset: str | None = None
) -> Path:
    """Write veRL's parquet for ``tasks``; returns the path."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise RuntimeError("writing veRL parquet needs pyarrow: pip install 'realcode[verl]' (or pip install pyarrow)") from None

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(verl_rows(tasks, template=template, preset=preset)), out)
    return out
