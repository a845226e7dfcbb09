"""Resumable evaluation runs: generate -> completions.jsonl -> assess -> assessments.jsonl -> metrics.json -> report.

A run directory holds ``config.json`` (what the run is), the two record files, ``metrics.json`` and the report.
Killed at any point and restarted with the same config, a run finishes without redoing finished work and without
duplicating records (see :mod:`realcode.evaluation.records`). A directory holding another config is refused with
the differences named, so nothing computed is lost by mistake.

Completions come from a model (any :mod:`realcode.generation` back-end), from a file (``completions=``), or from
a *reference policy* that answers with the benchmark's own references, so the harness can be used without a
model: ``patched``, ``vulnerable``, ``canonical`` or ``empty`` (a stub with the right signature and no body,
the degenerate answer a quality-only reward favours).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from realcode.evaluation.metrics import SampleOutcome, breakdown, compute_metrics
from realcode.evaluation.records import RecordError, append_records, iter_jsonl, read_records
from realcode.evaluation.stats import over_seeds
from realcode.tasks import EntryKind, Task, fence, load_tasks, render_prompt
from realcode.tasks.loaders import parse_benchmark

Policy = Literal["patched", "vulnerable", "canonical", "empty"]
POLICIES: tuple[str, ...] = ("patched", "vulnerable", "canonical", "empty")

Progress = Callable[[str, int, int], None]  # (stage, done, total)


class EvalError(Exception):
    """An evaluation cannot proceed; the message says why and what to do."""


class EvalConfig(BaseModel):
    """Everything that determines a run's results. Saved as ``config.json`` in the run directory."""

    benchmark: str
    split: str | None = None
    data: str | None = None
    policy: str | None = None
    completions_file: str | None = None
    backend: str | None = None
    model: str | None = None
    base_url: str | None = None
    n: int = Field(default=1, ge=1)
    seeds: list[int] = Field(default_factory=lambda: [0])
    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 512
    template: Literal["real", "plain"] = "real"
    extract: Literal["last", "first", "raw"] = "last"
    limit: int | None = None
    task_ids: list[str] | None = None  # evaluate only these tasks (in the benchmark's order)
    name: str | None = None

    def source(self) -> str:
        if self.policy:
            return f"policy:{self.policy}"
        if self.completions_file:
            return f"file:{Path(self.completions_file).name}"
        return f"{self.backend}:{self.model}"

    def identity(self) -> dict[str, Any]:
        """The fields that must match for a run directory to be resumed."""
        return self.model_dump(exclude={"name", "completions_file", "data"})


def _record_key(task_id: str, seed: int, sample: int) -> str:
    return f"{task_id}#{seed}#{sample}"


def _fenced(code: str) -> str:
    return fence(code) + "\n"


def policy_completion(task: Task, policy: str) -> str:
    """A reference policy's answer to ``task`` as a model would write it (one fenced block)."""
    if policy not in POLICIES:
        raise EvalError(f"unknown policy {policy!r}; known: {', '.join(POLICIES)}")
    if policy == "empty":
        entry = task.entry
        if entry.kind is EntryKind.PROGRAM:
            return _fenced("pass")
        params = ", ".join(entry.parameters)
        if entry.kind is EntryKind.METHOD:
            return _fenced(f"class {entry.class_name}:\n    def {entry.name}(self, *args):\n        pass")
        return _fenced(f"def {entry.name}({params}):\n    pass")
    code = task.reference(policy)  # type: ignore[arg-type]
    if code is None:
        # A benchmark without that reference (APPS+ has no patched one): the canonical one stands in for it.
        code = task.references.canonical or task.references.patched
    if code is None:
        return ""
    return _fenced(code)


class EvalRun:
    """One run directory. Use :meth:`run` for the whole pipeline or the step methods alone."""

    def __init__(self, out_dir: str | Path, config: EvalConfig, *, progress: Progress | None = None) -> None:
        self.dir = Path(out_dir)
        self.config = config
        self.progress = progress or (lambda stage, done, total: None)
        self.completions_path = self.dir / "completions.jsonl"
        self.assessments_path = self.dir / "assessments.jsonl"
        self.metrics_path = self.dir / "metrics.json"
        self._tasks: list[Task] | None = None

    # -- set-up ---------------------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Create the run directory or check that it holds this very config."""
        parse_benchmark(self.config.benchmark)
        self.dir.mkdir(parents=True, exist_ok=True)
        cfg_path = self.dir / "config.json"
        if cfg_path.exists():
            try:
                old = EvalConfig.model_validate_json(cfg_path.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise EvalError(f"{cfg_path}: unreadable run config ({exc}); use another --out") from None
            a, b = old.identity(), self.config.identity()
            diff = [f"{k}: {a[k]!r} there, {b[k]!r} now" for k in a if a[k] != b.get(k)]
            if diff:
                raise EvalError(
                    f"{self.dir} holds a run of another config ({'; '.join(diff)}); "
                    "nothing was changed there: pass another --out to start a new run"
                )
        else:
            cfg_path.write_text(self.config.model_dump_json(indent=2), encoding="utf-8")

    @property
    def tasks(self) -> list[Task]:
        if self._tasks is None:
            tasks = load_tasks(self.config.benchmark, self.config.split, self.config.data)
            if self.config.task_ids is not None:
                wanted = set(self.config.task_ids)
                missing = wanted - {t.id for t in tasks}
                if missing:
                    raise EvalError(f"unknown task ids for {self.config.benchmark}: {', '.join(sorted(missing))}")
                tasks = [t for t in tasks if t.id in wanted]
            if self.config.limit is not None:
                tasks = tasks[: self.config.limit]
            if not tasks:
                raise EvalError(f"no tasks in {self.config.benchmark} split {self.config.split}")
            self._tasks = tasks
        return self._tasks

    def _wanted(self) -> list[tuple[Task, int, int]]:
        return [(t, seed, s) for seed in self.config.seeds for t in self.tasks for s in range(self.config.n)]

    # -- step 1: completions --------------------------------------------------------------------------------

    def generate(self, *, batch_size: int = 16) -> int:
        """Write the missing completions; returns how many were added."""
        done = read_records(self.completions_path, repair=True)
        todo = [(t, seed, s) for t, seed, s in self._wanted() if _record_key(t.id, seed, s) not in done]
        total = len(self._wanted())
        self.progress("generate", total - len(todo), total)
        if not todo:
            return 0
        cfg = self.config
        if cfg.policy:
            return self._write_completions(
                [(t, seed, s, policy_completion(t, cfg.policy), "stop") for t, seed, s in todo], total, len(done)
            )
        if cfg.completions_file:
            return self._import_completions(todo, total, len(done))
        return self._generate_with_model(todo, total, len(done), batch_size)

    def _write_completions(self, rows: Sequence[tuple[Task, int, int, str, str]], total: int, already: int) -> int:
        recs = [
            {
                "key": _record_key(t.id, seed, s),
                "task_id": t.id,
                "benchmark": t.benchmark.value,
                "seed": seed,
                "sample": s,
                "completion": text,
                "finish_reason": reason,
                "source": self.config.source(),
            }
            for t, seed, s, text, reason in rows
        ]
        written = append_records(self.completions_path, recs)
        self.progress("generate", already + written, total)
        return written

    def _import_completions(self, todo: Sequence[tuple[Task, int, int]], total: int, already: int) -> int:
        path = Path(self.config.completions_file or "")
        by_task: dict[str, list[tuple[int, str]]] = {}
        known = {t.id for t in self.tasks}
        try:
            for lineno, obj in iter_jsonl(path):
                task_id = str(obj.get("task_id", ""))
                text = obj.get("completion")
                if not isinstance(text, str):
                    raise EvalError(f"{path}:{lineno}: record has no 'completion' string")
                if task_id not in known:
                    raise EvalError(
                        f"{path}:{lineno}: unknown task id {task_id!r} for {self.config.benchmark}"
                        + (f" split {self.config.split}" if self.config.split else "")
                    )
                by_task.setdefault(task_id, []).append((int(obj.get("sample", len(by_task.get(task_id, [])))), text))
        except RecordError as exc:
            raise EvalError(str(exc)) from None
        rows = []
        for t, seed, s in todo:
            samples = dict(by_task.get(t.id, []))
            if s in samples:
                rows.append((t, seed, s, samples[s], "file"))
        if not rows:
            raise EvalError(f"{path}: holds no completion for the tasks still to do")
        return self._write_completions(rows, total, already)

    def _generate_with_model(
        self, todo: Sequence[tuple[Task, int, int]], total: int, already: int, batch_size: int
    ) -> int:
        from realcode.generation import SamplingParams, make_generator

        cfg = self.config
        if not cfg.backend or not cfg.model:
            raise EvalError("a model run needs --backend and --model (or use --policy / --completions)")
        opts: dict[str, Any] = {"base_url": cfg.base_url} if cfg.base_url else {}
        written = 0
        # Generate per (seed), for the tasks that miss any sample: n samples per prompt in one call.
        with make_generator(cfg.backend, cfg.model, **opts) as gen:  # type: ignore[arg-type]
            for seed in cfg.seeds:
                pending = sorted({t.id: t for t, sd, _ in todo if sd == seed}.values(), key=lambda t: t.id)
                missing = {(t.id, s) for t, sd, s in todo if sd == seed}
                params = SamplingParams(
                    n=cfg.n, temperature=cfg.temperature, top_p=cfg.top_p, max_new_tokens=cfg.max_new_tokens, seed=seed
                )
                for i in range(0, len(pending), batch_size):
                    batch = pending[i : i + batch_size]
                    outs = gen.generate([render_prompt(t, cfg.template) for t in batch], params)
                    rows = [
                        (t, seed, s, c.text, c.finish_reason)
                        for t, comps in zip(batch, outs, strict=True)
                        for s, c in enumerate(comps)
                        if (t.id, s) in missing
                    ]
                    written += self._write_completions(rows, total, already + written)
        return written

    # -- step 2: assessments --------------------------------------------------------------------------------

    def assess(self, *, batch_size: int = 64) -> int:
        """Assess the completions that have no assessment yet; returns how many were added."""
        from realcode.assess import assess as assess_batch

        completions = read_records(self.completions_path, repair=True)
        done = read_records(self.assessments_path, repair=True)
        by_id = {t.id: t for t in self.tasks}
        todo = [c for k, c in completions.items() if k not in done and c["task_id"] in by_id]
        total = len(completions)
        self.progress("assess", total - len(todo), total)
        added = 0
        for i in range(0, len(todo), batch_size):
            batch = todo[i : i + batch_size]
            results = assess_batch([by_id[c["task_id"]] for c in batch], [c["completion"] for c in batch], extract=self.config.extract)
            recs = [
                {
                    "key": c["key"],
                    "task_id": c["task_id"],
                    "seed": c["seed"],
                    "sample": c["sample"],
                    "assessment": a.model_dump(mode="json"),
                }
                for c, a in zip(batch, results, strict=True)
            ]
            added += append_records(self.assessments_path, recs)
            self.progress("assess", total - len(todo) + added, total)
        return added

    # -- step 3: metrics ------------------------------------------------------------------------------------

    def outcomes(self) -> list[tuple[int, SampleOutcome]]:
        """(seed, outcome) for every assessed sample."""
        from realcode.assess import Assessment
        from realcode.evaluation.outcomes import outcome_from_assessment

        by_id = {t.id: t for t in self.tasks}
        out = []
        for rec in read_records(self.assessments_path).values():
            task = by_id.get(rec["task_id"])
            if task is None:
                continue
            a = Assessment.model_validate(rec["assessment"])
            out.append((int(rec["seed"]), outcome_from_assessment(task, a, sample=int(rec["sample"]))))
        return out

    def metrics(self) -> dict[str, Any]:
        """Compute and write ``metrics.json``."""
        pairs = self.outcomes()
        if not pairs:
            raise EvalError(f"{self.dir}: no assessed sample yet")
        outcomes = [o for _, o in pairs]
        overall = compute_metrics(outcomes)
        seeds = sorted({s for s, _ in pairs})
        per_seed = {s: compute_metrics([o for sd, o in pairs if sd == s], ks=(1,), resamples=200) for s in seeds}
        seed_summary = {
            k: over_seeds([per_seed[s].metrics[k].value for s in seeds]).as_dict()
            for k in overall.metrics
            if all(k in per_seed[s].metrics for s in seeds)
        }
        data: dict[str, Any] = {
            "name": self.config.name or self.dir.name,
            "benchmark": self.config.benchmark,
            "split": self.config.split or "all",
            "source": self.config.source(),
            "config": self.config.model_dump(),
            "overall": overall.as_dict(with_tasks=True),
            "per_cwe": {k: v.as_dict() for k, v in breakdown(outcomes, lambda o: o.cwe).items()},
            "per_difficulty": {
                k: v.as_dict() for k, v in breakdown(outcomes, lambda o: [o.difficulty] if o.difficulty else []).items()
            },
            "per_split": {k: v.as_dict() for k, v in breakdown(outcomes, lambda o: [o.split] if o.split else []).items()},
            "seeds": {"values": seeds, "metrics": seed_summary},
            "notes": self._notes(),
            "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        self.metrics_path.write_text(json.dumps(data, indent=2), encoding="utf-8")
        return data

    def _notes(self) -> list[str]:
        notes = []
        if parse_benchmark(self.config.benchmark).value.startswith("seccodeplt"):
            notes.append(
                "SecCodePLT was made by LLM mutation of seed tasks: 58 SecCodePLT+ test tasks share their description "
                "with a train task, so test results are reported per split and may be optimistic for trained models."
            )
        if self.config.policy:
            notes.append(f"Completions are the benchmark's own {self.config.policy} references, not a model's output.")
        return notes

    # -- all steps ------------------------------------------------------------------------------------------

    def run(self, *, batch_size: int = 64) -> dict[str, Any]:
        """The whole pipeline, resumable; returns the metrics."""
        self.prepare()
        self.generate(batch_size=batch_size)
        self.assess(batch_size=batch_size)
        metrics = self.metrics()
        from realcode.evaluation.report import write_report

        write_report([self.dir], self.dir)
        return metrics


def config_digest(config: EvalConfig) -> str:
    """A short stable digest of a config's identity (for names and caches)."""
    return hashlib.sha256(json.dumps(config.identity(), sort_keys=True).encode()).hexdigest()[:12]
