"""``realcode serve``: an HTTP reward service (FastAPI + uvicorn).

Endpoints:

* ``POST /score``: ``{"samples": [{"task_id", "benchmark", "completion"}, ...], "preset": null,
  "include_assessment": false}`` -> ``{"results": [{"task_id", "benchmark", "reward", "components", "guards",
  "error", "infra_error"[, "assessment"]}], "preset": ...}``. One bad sample (unknown task id) gets an
  ``error`` and a null reward; the batch is scored. ``reward`` is null for infrastructure errors.
* ``POST /openrlhf``: OpenRLHF's HTTP mode: ``{"query", "prompts", "labels"}`` -> ``{"rewards", "scores",
  "extra_logs"}`` (see :mod:`realcode.rewards.openrlhf`; NaN is sent as null).
* ``GET /health``: liveness, version, presets. ``GET /metrics``: Prometheus text format.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from realcode.assess import AssessmentCache
from realcode.rewards.batch import InputError, TaskIndex, sample_from_dict, score_samples
from realcode.rewards.openrlhf import extra_logs, score_openrlhf
from realcode.rewards.presets import PRESETS, load_spec
from realcode.rewards.spec import RewardSpec, SpecError


class ScoreRequest(BaseModel):
    samples: list[dict[str, Any]] = Field(min_length=1, max_length=100_000)
    preset: str | None = None  # default: the server's preset (or each benchmark's paper preset)
    include_assessment: bool = False


class OpenRLHFRequest(BaseModel):
    query: list[str]
    prompts: list[str]
    labels: list[Any]


class _Metrics:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started = time.time()
        self.requests: dict[str, int] = {}
        self.samples = 0
        self.infra_errors = 0
        self.sample_errors = 0
        self.seconds = 0.0

    def record(self, endpoint: str, samples: int, infra: int, errors: int, seconds: float) -> None:
        with self.lock:
            self.requests[endpoint] = self.requests.get(endpoint, 0) + 1
            self.samples += samples
            self.infra_errors += infra
            self.sample_errors += errors
            self.seconds += seconds

    def render(self, cache: AssessmentCache | None) -> str:
        lines = [
            "# HELP realcode_requests_total Requests served, by endpoint.",
            "# TYPE realcode_requests_total counter",
        ]
        with self.lock:
            for ep, n in sorted(self.requests.items()):
                lines.append(f'realcode_requests_total{{endpoint="{ep}"}} {n}')
            lines += [
                "# TYPE realcode_samples_total counter",
                f"realcode_samples_total {self.samples}",
                "# TYPE realcode_infra_errors_total counter",
                f"realcode_infra_errors_total {self.infra_errors}",
                "# TYPE realcode_sample_errors_total counter",
                f"realcode_sample_errors_total {self.sample_errors}",
                "# TYPE realcode_scoring_seconds_total counter",
                f"realcode_scoring_seconds_total {self.seconds:.6f}",
                "# TYPE realcode_uptime_seconds gauge",
                f"realcode_uptime_seconds {time.time() - self.started:.3f}",
            ]
        if cache is not None:
            lines += [
                "# TYPE realcode_cache_hits_total counter",
                f"realcode_cache_hits_total {cache.hits}",
                "# TYPE realcode_cache_misses_total counter",
                f"realcode_cache_misses_total {cache.misses}",
            ]
        return "\n".join(lines) + "\n"


def create_app(
    preset: str | None = None,
    *,
    data: str | Path | None = None,
    cache_dir: str | Path | None = None,
    sandbox: Any = None,
) -> Any:
    """The FastAPI application. ``preset`` (name or spec file) applies to requests that name none."""
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import PlainTextResponse

    import realcode

    default_spec = load_spec(preset) if preset else None
    index = TaskIndex(data)
    cache = AssessmentCache(cache_dir)
    metrics = _Metrics()
    # One batch at a time: the sandbox pool and mypy are shared, and a batch already uses every core.
    lock = threading.Lock()
    app = FastAPI(title="realcode reward service", version=realcode.__version__)

    def spec_for(name: str | None) -> RewardSpec | dict[str, RewardSpec]:
        if name is None:
            return default_spec if default_spec is not None else {}
        try:
            return load_spec(name)
        except SpecError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "version": realcode.__version__,
            "preset": default_spec.name if default_spec else None,
            "presets": list(PRESETS),
            "uptime_s": round(time.time() - metrics.started, 3),
        }

    @app.get("/metrics", response_class=PlainTextResponse)
    def prometheus() -> str:
        return metrics.render(cache)

    @app.post("/score")
    def score(req: ScoreRequest) -> dict[str, Any]:
        spec = spec_for(req.preset)
        try:
            samples = [sample_from_dict(row, f"sample {i}") for i, row in enumerate(req.samples)]
        except InputError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        t0 = time.perf_counter()
        with lock:
            scored = score_samples(samples, spec, index=index, cache=cache, sandbox=sandbox)
        results = []
        for s in scored:
            row = s.to_json(with_assessment=req.include_assessment)
            row["infra_error"] = s.reward is not None and s.reward.infra_error
            results.append(row)
        metrics.record(
            "score",
            len(samples),
            sum(r["infra_error"] for r in results),
            sum(s.error is not None for s in scored),
            time.perf_counter() - t0,
        )
        name = spec.name if isinstance(spec, RewardSpec) else "per-benchmark paper presets"
        return {"preset": name, "results": results}

    @app.post("/openrlhf")
    def openrlhf(req: OpenRLHFRequest) -> dict[str, Any]:
        spec = spec_for(None)
        t0 = time.perf_counter()
        try:
            with lock:
                rewards, scored = score_openrlhf(
                    req.query,
                    req.prompts,
                    req.labels,
                    spec=spec if isinstance(spec, RewardSpec) else None,
                    index=index,
                    sandbox=sandbox,
                )
        except InputError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        out = [None if math.isnan(r) else r for r in rewards]
        metrics.record(
            "openrlhf",
            len(out),
            sum(r is None for r in out),
            sum(s.error is not None for s in scored),
            time.perf_counter() - t0,
        )
        return {"rewards": out, "scores": out, "extra_logs": extra_logs(scored)}

    return app
