"""Alpha sweeps: train once per quality weight alpha, evaluate each model, and tabulate REAL's trade-off.

REAL weighs its hybrid reward as ``(1 - alpha) * functional + alpha * quality`` and reports, per alpha, Function,
Quality and Func-Qual on the test split: too little alpha and the model ignores quality, too much and it learns
to write secure code that does nothing. :func:`run_sweep` reproduces that table for any training config::

    DIR/alpha-<v>/train/     the training run (train_config.yaml, checkpoints, final/)
    DIR/alpha-<v>/trained.json  written once training finished: the alpha is never retrained
    DIR/alpha-<v>/eval/      an evaluation run of the final model (resumable by itself), metrics.json has "alpha"
    DIR/sweep.md, sweep.json the trade-off table (Function, Quality, Func-Qual per alpha, with intervals)
    DIR/report.md, report.html  the evaluation report over all alphas (function-vs-quality scatter)

Every alpha is evaluated with the same harness, split, sampling settings and task subset, so the rows differ only
in the training reward. The table-building functions (:func:`tradeoff_rows`, :func:`render_markdown`) are pure
and work on ``metrics.json`` contents, so they can be used on runs made elsewhere. This module imports no torch.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realcode.tasks import Task
from realcode.training.config import ConfigError, TrainConfig, read_config

__all__ = [
    "METRICS",
    "AlphaRow",
    "SweepError",
    "SweepEval",
    "alpha_label",
    "parse_alphas",
    "render_markdown",
    "run_sweep",
    "sweep_json",
    "tradeoff_rows",
    "write_tables",
]

# The three columns of REAL's trade-off tables, in the keys of realcode's metrics.json.
METRICS: tuple[tuple[str, str], ...] = (("function", "Function"), ("quality", "Quality"), ("func_qual", "Func-Qual"))

Progress = Callable[[str], None]


class SweepError(ValueError):
    """A sweep cannot proceed: bad alpha values, a run directory of another config, a missing metric."""


def parse_alphas(text: str | Sequence[float | str]) -> list[float]:
    """Alpha values from ``"0,0.3,0.5"`` (or a sequence), in the given order; each in [0, 1], no duplicates."""
    items = [s.strip() for s in text.split(",")] if isinstance(text, str) else [str(x).strip() for x in text]
    if not [s for s in items if s]:
        raise SweepError("--values needs at least one alpha, e.g. --values 0,0.3,0.5,0.7,1")
    values: list[float] = []
    for item in items:
        if not item:
            raise SweepError(f"--values {text!r} has an empty item; write values separated by single commas")
        try:
            v = float(item)
        except ValueError:
            raise SweepError(f"--values: {item!r} is not a number") from None
        if not math.isfinite(v) or not 0.0 <= v <= 1.0:
            raise SweepError(f"--values: alpha {item} is outside [0, 1] (alpha weighs quality against function)")
        if any(math.isclose(v, w, abs_tol=1e-12) for w in values):
            raise SweepError(f"--values: alpha {item} is given twice")
        values.append(v)
    # Two values that print alike would share a run directory.
    labels = [alpha_label(v) for v in values]
    clash = sorted({x for x in labels if labels.count(x) > 1})
    if clash:
        raise SweepError(f"--values: alphas too close to tell apart in a directory name: {', '.join(clash)}")
    return values


def alpha_label(alpha: float) -> str:
    """The short form of ``alpha`` used in directory and run names: ``0``, ``0.3``, ``1``, ``0.125``."""
    return f"{alpha:.6g}"


# -- the trade-off table (pure) ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlphaRow:
    """One row of the trade-off table: the evaluation of the model trained with ``alpha``."""

    alpha: float
    metrics: dict[str, dict[str, float]]  # key -> {"value", "low", "high"} (rates in [0, 1])
    n_tasks: int
    n_samples: int
    run: str = ""  # where the metrics came from (an eval run directory), for the reader

    def as_dict(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "n_tasks": self.n_tasks,
            "n_samples": self.n_samples,
            **{k: self.metrics[k] for k, _ in METRICS},
            "run": self.run,
        }


def tradeoff_rows(runs: Sequence[Mapping[str, Any]]) -> list[AlphaRow]:
    """Rows sorted by alpha from evaluation ``metrics.json`` contents that carry an ``alpha`` key.

    Every run must have Function, Quality and Func-Qual with intervals; all runs must be of the same benchmark
    and split (a trade-off across benchmarks would compare different things), and no alpha may appear twice.
    """
    if not runs:
        raise SweepError("no evaluation run to tabulate")
    rows: list[AlphaRow] = []
    where = {(r.get("benchmark"), r.get("split")) for r in runs}
    if len(where) > 1:
        shown = ", ".join(f"{b}/{s}" for b, s in sorted(where, key=str))
        raise SweepError(f"the runs are of different benchmarks or splits ({shown}); a trade-off table needs one")
    for run in runs:
        name = str(run.get("name", "?"))
        alpha = run.get("alpha")
        if not isinstance(alpha, int | float) or isinstance(alpha, bool):
            raise SweepError(f"run {name!r} has no numeric 'alpha' in its metrics.json")
        overall = run.get("overall")
        if not isinstance(overall, Mapping) or not isinstance(overall.get("metrics"), Mapping):
            raise SweepError(f"run {name!r}: not a realcode metrics file (no 'overall.metrics')")
        metrics: dict[str, dict[str, float]] = {}
        for key, title in METRICS:
            m = overall["metrics"].get(key)
            if not isinstance(m, Mapping) or not all(isinstance(m.get(f), int | float) for f in ("value", "low", "high")):
                raise SweepError(f"run {name!r} (alpha {alpha}) has no {title} value with an interval")
            metrics[key] = {f: float(m[f]) for f in ("value", "low", "high")}
        rows.append(
            AlphaRow(
                alpha=float(alpha), metrics=metrics, n_tasks=int(overall.get("n_tasks", 0)),
                n_samples=int(overall.get("n_samples", 0)), run=str(run.get("run_dir", name)),
            )
        )
    rows.sort(key=lambda r: r.alpha)
    for a, b in itertools.pairwise(rows):
        if math.isclose(a.alpha, b.alpha, abs_tol=1e-12):
            raise SweepError(f"alpha {alpha_label(a.alpha)} appears in two runs")
    return rows


def best_alpha(rows: Sequence[AlphaRow]) -> float | None:
    """The alpha with the highest Func-Qual (the smaller alpha on ties); None without rows."""
    if not rows:
        return None
    return max(rows, key=lambda r: (r.metrics["func_qual"]["value"], -r.alpha)).alpha


def _pct(m: Mapping[str, float]) -> str:
    if any(math.isnan(m[f]) for f in ("value", "low", "high")):
        return "–"
    return f"{100 * m['value']:.1f} [{100 * m['low']:.1f}, {100 * m['high']:.1f}]"


def render_markdown(rows: Sequence[AlphaRow], *, title: str = "Alpha sweep", context: str = "") -> str:
    """REAL's trade-off table as Markdown: one row per alpha, the best Func-Qual in bold."""
    best = best_alpha(rows)
    lines = [f"# {title}", ""]
    if context:
        lines += [context, ""]
    lines += ["| alpha | tasks | samples | " + " | ".join(t for _, t in METRICS) + " |", "|---:" * (3 + len(METRICS)) + "|"]
    for r in rows:
        cells = [_pct(r.metrics[k]) for k, _ in METRICS]
        if best is not None and r.alpha == best:
            cells[-1] = f"**{cells[-1]}**"
        lines.append(f"| {alpha_label(r.alpha)} | {r.n_tasks} | {r.n_samples} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Rates in %, with 95% bootstrap intervals over tasks. alpha is the weight of quality in the training reward "
        "((1 - alpha) x functional + alpha x quality); every row is evaluated with the same harness and tasks. "
        "Bold: the highest Func-Qual.",
    ]
    return "\n".join(lines) + "\n"


def sweep_json(rows: Sequence[AlphaRow], **extra: Any) -> dict[str, Any]:
    """The table as a JSON-ready dict (rates in [0, 1]), with ``extra`` fields (the sweep's settings)."""
    return {**extra, "best_func_qual_alpha": best_alpha(rows), "rows": [r.as_dict() for r in rows]}


def write_tables(
    rows: Sequence[AlphaRow], out_dir: str | Path, *, context: str = "", **extra: Any
) -> tuple[Path, Path]:
    """Write ``sweep.md`` and ``sweep.json`` into ``out_dir``; returns both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md, js = out / "sweep.md", out / "sweep.json"
    md.write_text(render_markdown(rows, context=context), encoding="utf-8")
    js.write_text(json.dumps(sweep_json(rows, **extra), indent=2), encoding="utf-8")
    return md, js


# -- running a sweep ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepEval:
    """How every alpha's model is evaluated (the same for all of them)."""

    limit: int | None = None  # only the first N tasks of the eval split
    n: int = 1
    seeds: tuple[int, ...] = (0,)
    temperature: float = 0.0
    max_new_tokens: int | None = None  # default: the training config's max_response_length
    batch_size: int = 16

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 1:
            raise SweepError(f"eval limit must be at least 1, got {self.limit}")
        if self.n < 1:
            raise SweepError(f"--n must be at least 1, got {self.n}")
        if not self.seeds:
            raise SweepError("at least one eval seed is needed")
        if self.temperature < 0:
            raise SweepError(f"eval temperature must be >= 0, got {self.temperature}")
        if self.max_new_tokens is not None and self.max_new_tokens < 1:
            raise SweepError(f"max_new_tokens must be at least 1, got {self.max_new_tokens}")


@dataclass
class SweepResult:
    """What a sweep wrote."""

    rows: list[AlphaRow]
    table_md: Path
    table_json: Path
    report_md: Path
    report_html: Path
    trained: dict[float, bool] = field(default_factory=dict)  # alpha -> trained in this call (False: reused)


def _check_config(base: TrainConfig) -> None:
    from realcode.training.trl_train import reward_spec

    if base.engine != "local":
        raise SweepError("an alpha sweep trains on this machine (engine=local); veRL runs are launched per alpha")
    if base.algorithm == "sft":
        raise SweepError("alpha weighs the RL reward: sweep grpo, rloo or ppo, not sft")
    try:
        reward_spec(base.model_copy(update={"alpha": 0.5}))
    except ConfigError as exc:
        raise SweepError(str(exc)) from None


def _train_once(cfg: TrainConfig, run_dir: Path, tasks: Sequence[Task] | None, say: Progress) -> tuple[Path, bool]:
    """The final model of ``cfg``'s training in ``run_dir``: reused when finished, else trained (resumed)."""
    from realcode.training.trl_train import train

    train_dir = run_dir / "train"
    marker = run_dir / "trained.json"
    if (train_dir / "train_config.yaml").is_file():
        old = read_config(train_dir)
        if old != cfg:
            a, b = old.model_dump(), cfg.model_dump()
            diff = "; ".join(f"{k}: {a[k]!r} there, {b[k]!r} now" for k in a if a[k] != b[k])
            raise SweepError(
                f"{train_dir} holds a training run of another config ({diff}); "
                "nothing was changed there: pass another --out to start a new sweep"
            )
    if marker.is_file():
        # Relative to the alpha's directory, so that a sweep directory can be moved or copied whole.
        final = (run_dir / json.loads(marker.read_text(encoding="utf-8"))["final_model"]).resolve()
        if (final / "config.json").is_file():
            say(f"alpha {alpha_label(cfg.alpha or 0.0)}: trained already ({final})")
            return final, False
    say(f"alpha {alpha_label(cfg.alpha or 0.0)}: training {cfg.algorithm} -> {train_dir}")
    started = time.perf_counter()
    final = train(cfg, train_dir, tasks=tasks)
    # Written only after the final model is saved (and atomically), so a run killed while saving is trained
    # again, i.e. resumed from its last checkpoint.
    tmp = marker.with_suffix(".json.tmp")
    tmp.write_text(
        json.dumps(
            {"final_model": os.path.relpath(final.resolve(), run_dir.resolve()), "seconds": time.perf_counter() - started},
            indent=2,
        ),
        encoding="utf-8",
    )
    os.replace(tmp, marker)
    return final.resolve(), True


def _evaluate(cfg: TrainConfig, final: Path, run_dir: Path, settings: SweepEval, say: Progress) -> dict[str, Any]:
    from realcode.evaluation.report import write_report
    from realcode.evaluation.run import EvalConfig, EvalError, EvalRun

    alpha = float(cfg.alpha or 0.0)
    eval_dir = run_dir / "eval"
    config = EvalConfig(
        benchmark=cfg.benchmark, split=cfg.eval_split, data=cfg.data, backend="hf", model=str(final),
        n=settings.n, seeds=list(settings.seeds), temperature=settings.temperature, top_p=1.0,
        max_new_tokens=settings.max_new_tokens or cfg.max_response_length, limit=settings.limit,
        name=f"alpha-{alpha_label(alpha)}",
    )
    say(f"alpha {alpha_label(alpha)}: evaluating on {cfg.benchmark}/{cfg.eval_split} -> {eval_dir}")
    try:
        metrics = EvalRun(eval_dir, config).run(batch_size=settings.batch_size)
    except EvalError as exc:
        raise SweepError(f"alpha {alpha_label(alpha)}: {exc}") from None
    # The report labels points of its function-vs-quality scatter by this key.
    metrics["alpha"] = alpha
    (eval_dir / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    write_report([eval_dir], eval_dir)
    metrics["run_dir"] = str(eval_dir)
    return metrics


def run_sweep(
    base: TrainConfig,
    alphas: Sequence[float],
    out_dir: str | Path,
    *,
    evaluation: SweepEval | None = None,
    tasks: Sequence[Task] | None = None,
    progress: Progress | None = None,
) -> SweepResult:
    """Train and evaluate once per alpha, then write the trade-off table and the report into ``out_dir``.

    ``base`` is the training config without its alpha (its own alpha is replaced); ``tasks`` optionally fixes
    the training tasks (default: ``base``'s benchmark, split and limit). Resumable: a finished alpha is not
    retrained, an interrupted training resumes from its last checkpoint, an evaluation resumes by itself.
    """
    from realcode.evaluation.report import ReportError, write_report

    say = progress or (lambda msg: None)
    values = parse_alphas(list(alphas))
    settings = evaluation or SweepEval()
    _check_config(base)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    trained: dict[float, bool] = {}
    for alpha in values:
        cfg = base.model_copy(update={"alpha": alpha})
        run_dir = out / f"alpha-{alpha_label(alpha)}"
        try:
            final, fresh = _train_once(cfg, run_dir, tasks, say)
        except ConfigError as exc:
            raise SweepError(f"alpha {alpha_label(alpha)}: {exc}") from None
        trained[alpha] = fresh
        runs.append(_evaluate(cfg, final, run_dir, settings, say))
    rows = tradeoff_rows(runs)
    split = f"{base.benchmark}/{base.eval_split}"
    context = (
        f"{base.algorithm} on {base.benchmark}/{base.split} from `{base.model}`, reward preset `{base.reward_preset}`; "
        f"evaluated on {split}"
        + (f" (first {settings.limit} tasks)" if settings.limit else "")
        + f", n={settings.n}, seeds {list(settings.seeds)}, temperature {settings.temperature}."
    )
    md, js = write_tables(
        rows, out, context=context,
        base_config=base.model_dump(exclude={"alpha"}),
        evaluation={"benchmark": base.benchmark, "split": base.eval_split, "limit": settings.limit, "n": settings.n,
                    "seeds": list(settings.seeds), "temperature": settings.temperature,
                    "max_new_tokens": settings.max_new_tokens or base.max_response_length},
    )
    try:
        report_md, report_html = write_report([r["run_dir"] for r in sorted(runs, key=lambda r: r["alpha"])], out)
    except ReportError as exc:
        raise SweepError(str(exc)) from None
    return SweepResult(rows, md, js, report_md, report_html, trained)
