"""OpenRLHF adapter: the ``reward_func(queries, prompts, labels)`` file mode, and the request/response shapes of
its HTTP mode (served by :mod:`realcode.rewards.server` at ``POST /openrlhf``).

File mode: pass this file to OpenRLHF (``--remote_rm_url $(python -c "import realcode.rewards.openrlhf as m;
print(m.__file__)")``). Each label is the JSON written by ``realcode data export --format jsonl``
(``{"task_id": ..., "benchmark": ...}``); the response is ``query[len(prompt):]``. Settings come from the
environment: ``REALCODE_PRESET`` (default: each benchmark's paper preset), ``REALCODE_DATA``,
``REALCODE_EXTRACT``.

OpenRLHF wants a tensor; a sample whose assessment hit an infrastructure error gets NaN there (never a
made-up number) and is counted in ``extra_logs["realcode/infra_errors"]``; a sample with a bad label or an
unknown task gets NaN too and is counted in ``extra_logs["realcode/sample_errors"]``.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Sequence
from typing import Any, cast

from realcode.rewards.batch import InputError, Sample, Scored, TaskIndex, score_samples
from realcode.rewards.presets import load_spec
from realcode.rewards.spec import RewardSpec
from realcode.tasks.extract import ExtractMode

_LOCK = threading.Lock()
_INDEX: TaskIndex | None = None


def parse_label(label: Any, i: int) -> tuple[str, str | None]:
    """(task id, benchmark) from a label: JSON ``{"task_id", "benchmark"}``, a dict, or a bare task id."""
    if isinstance(label, str):
        text = label.strip()
        if text.startswith("{"):
            try:
                label = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InputError(f"label {i}: not valid JSON ({exc.msg})") from None
        else:
            return text, None
    if isinstance(label, dict):
        task_id = label.get("task_id")
        if task_id is None:
            raise InputError(f"label {i}: missing 'task_id'")
        benchmark = label.get("benchmark")
        return str(task_id), str(benchmark) if benchmark else None
    raise InputError(f"label {i}: expected a JSON object or a task id, got {type(label).__name__}")


def score_openrlhf(
    queries: Sequence[str],
    prompts: Sequence[str],
    labels: Sequence[Any],
    *,
    spec: RewardSpec | None = None,
    index: TaskIndex,
    extract: ExtractMode = "last",
    sandbox: Any = None,
) -> tuple[list[float], list[Scored]]:
    """Rewards (NaN for infrastructure errors or bad labels) and the scored samples behind them."""
    if not len(queries) == len(prompts) == len(labels):
        raise InputError(
            f"{len(queries)} queries, {len(prompts)} prompts and {len(labels)} labels: they must match"
        )
    samples: list[Sample] = []
    bad: dict[int, str] = {}
    for i, (q, p, label) in enumerate(zip(queries, prompts, labels, strict=True)):
        try:
            tid, bench = parse_label(label, i)
        except InputError as exc:
            bad[i] = str(exc)
            tid, bench = "", None
        response = q[len(p) :] if q.startswith(p) else q
        samples.append(Sample(tid, response, bench, where=f"sample {i}"))
    specs: RewardSpec | dict[str, RewardSpec] = spec if spec is not None else {}
    good = [i for i in range(len(samples)) if i not in bad]
    scored_good = score_samples(
        [samples[i] for i in good], specs, index=index, extract=extract, sandbox=sandbox
    )
    scored: list[Scored] = [Scored(s, None, None, bad.get(i)) for i, s in enumerate(samples)]
    for i, s in zip(good, scored_good, strict=True):
        scored[i] = s
    rewards = [
        s.reward.total if s.reward is not None and s.reward.total is not None else math.nan for s in scored
    ]
    return rewards, scored


def extra_logs(scored: Sequence[Scored]) -> dict[str, float]:
    """Batch means of each component and counts OpenRLHF can log."""
    logs: dict[str, float] = {
        "realcode/infra_errors": float(sum(s.reward is not None and s.reward.infra_error for s in scored)),
        "realcode/sample_errors": float(sum(s.error is not None for s in scored)),
    }
    comps: dict[str, list[float]] = {}
    for s in scored:
        if s.reward is None:
            continue
        for name, v in s.reward.components.items():
            if v is not None:
                comps.setdefault(name, []).append(v)
    for name, vs in comps.items():
        logs[f"realcode/{name}"] = sum(vs) / len(vs)
    logs["realcode/passed"] = float(sum(bool(s.assessment and s.assessment.passed) for s in scored)) / max(
        1, len(scored)
    )
    return logs


def reward_func(queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any]) -> dict[str, Any]:
    """OpenRLHF's file-mode entry point: ``{"rewards", "scores", "extra_logs"}``."""
    import torch

    global _INDEX
    with _LOCK:
        if _INDEX is None:
            _INDEX = TaskIndex(os.environ.get("REALCODE_DATA"))
        preset = os.environ.get("REALCODE_PRESET")
        spec = load_spec(preset) if preset else None
        mode = cast(ExtractMode, os.environ.get("REALCODE_EXTRACT", "last"))
        rewards, scored = score_openrlhf(queries, prompts, labels, spec=spec, index=_INDEX, extract=mode)
    tensor = torch.tensor(rewards, dtype=torch.float32)
    return {"rewards": tensor, "scores": tensor.clone(), "extra_logs": extra_logs(scored)}
