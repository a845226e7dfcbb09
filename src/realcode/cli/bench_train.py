"""``realcode bench train``: one GRPO (or RLOO) step on the tiny model on CPU, timed, split into generation,
reward and update.

The step is the one ``realcode train grpo`` runs: the trainer is built by the same code
(:mod:`realcode.training.trl_train`), with realcode's reward functions. TRL 1.16 times some blocks itself
(``trl.extras.profiling``), but it reports those timings only to Weights & Biases, MLflow or Trackio, and its own
``step_time`` metric covers ``training_step`` without the optimizer step. So the bench wraps the trainer's own
methods on the instance instead:

- generation: ``_generate`` (prompt tokenisation, ``model.generate``, decoding);
- reward: ``_calculate_rewards`` (every reward function: extraction, assessment, scoring);
- update: the rest of the optimizer step, from the callback's step-begin to step-end: log-prob forwards of the
  policy and the reference model, the loss, the backward pass and the optimizer step (the log-prob forwards are
  also reported on their own).

A random tiny model writes byte soup, which realcode's reward scores cheaply (no code: format penalty). So the bench
also times the same reward functions on the tasks' reference solutions (patched and vulnerable), the reward
cost of a step once the model writes code. The assessment cache is cleared before every timed call, so nothing
is scored from an earlier repeat. An untimed warm-up step runs first (model loading, the sandbox's workers).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

ALGORITHMS = ("grpo", "rloo")
PARTS = ("generation", "reward", "update")


class _Timer:
    """Wall and CPU seconds (of this process: the sandbox's workers are not counted) inside wrapped callables."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def add(self, name: str, wall: float, cpu: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + wall
        self.cpu[name] = self.cpu.get(name, 0.0) + cpu

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(name, time.perf_counter() - wall, time.process_time() - cpu)

        return timed


def _step_callback(timer: _Timer) -> Any:
    from transformers import TrainerCallback

    class StepClock(TrainerCallback):  # type: ignore[misc]
        """Wall time of each optimizer step (generation and scoring happen inside it, in ``training_step``)."""

        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.started = (time.perf_counter(), time.process_time())

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            timer.add("step", time.perf_counter() - self.started[0], time.process_time() - self.started[1])

    return StepClock()


def _one_step(cfg: Any, tasks: Sequence[Any], out: Path) -> dict[str, Any]:
    """Build the trainer as ``realcode train`` does, run one optimizer step, return its timings and counts."""
    from transformers import PrinterCallback, ProgressCallback

    from realcode.assess import default_cache
    from realcode.training.trl_train import _rl_trainer

    started = time.perf_counter()
    trainer, _ = _rl_trainer(cfg, out, cfg.algorithm, list(tasks))
    setup = time.perf_counter() - started
    timer = _Timer()
    # Instance attributes shadow the class's methods: TRL calls these through ``self``.
    trainer._generate = timer.wrap("generation", trainer._generate)
    trainer._calculate_rewards = timer.wrap("reward", trainer._calculate_rewards)
    trainer._get_per_token_logps_and_entropies = timer.wrap("logprob_forwards", trainer._get_per_token_logps_and_entropies)
    trainer.add_callback(_step_callback(timer))
    for cb in (PrinterCallback, ProgressCallback):
        trainer.remove_callback(cb)
    default_cache().clear()
    trainer.train()
    missing = [k for k in ("step", "generation", "reward", "logprob_forwards") if k not in timer.seconds]
    if missing:
        # TRL renamed or stopped calling a method the bench times: no figure rather than a wrong one.
        raise RuntimeError(f"trl {_trl_version()}: the step never reached the timed part(s) {', '.join(missing)}")
    s, c = timer.seconds, timer.cpu
    logged: dict[str, Any] = next((h for h in trainer.state.log_history if "step_time" in h), {})
    return {
        "setup_s": setup,
        "step_s": s["step"],
        "generation_s": s["generation"],
        "reward_s": s["reward"],
        "update_s": s["step"] - s["generation"] - s["reward"],
        "logprob_forwards_s": s["logprob_forwards"],
        "step_cpu_s": c["step"],
        "generation_cpu_s": c["generation"],
        "reward_cpu_s": c["reward"],
        "update_cpu_s": c["step"] - c["generation"] - c["reward"],
        "trl_step_time_s": logged.get("step_time"),
        "completion_tokens_mean": logged.get("completions/mean_length"),
        "reward_mean": logged.get("reward"),
    }


def _trl_version() -> str:
    from importlib.metadata import version

    return version("trl")


def _reference_reward(cfg: Any, tasks: Sequence[Any], repeats: int) -> dict[str, Any]:
    """Median seconds of the same reward functions on the tasks' patched and vulnerable references."""
    from realcode.assess import default_cache
    from realcode.rewards.trl import reward_funcs
    from realcode.tasks import fence
    from realcode.training.trl_train import reward_spec

    spec = reward_spec(cfg)
    rows = [(t, code) for t in tasks for code in (t.reference("patched"), t.reference("vulnerable")) if code]
    if not rows:
        return {}
    completions = [fence(code) for _, code in rows]
    kwargs = {"task_id": [t.id for t, _ in rows], "benchmark": [t.benchmark.value for t, _ in rows]}
    times = []
    for _ in range(repeats):
        default_cache().clear()
        funcs, _ = reward_funcs(spec, tasks=tasks)  # fresh functions: they keep their last batch's scores
        started = time.perf_counter()
        for f in funcs:
            f(prompts=None, completions=completions, **kwargs)
        times.append(time.perf_counter() - started)
    return {"completions": len(completions), "seconds": times, "median_s": statistics.median(times)}


def _median(runs: Sequence[dict[str, Any]], key: str) -> float:
    return statistics.median(float(r[key]) for r in runs)


def _summary(threads: int, runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Medians of one thread setting's steps; each part's share is the median of its per-step shares (medians
    of parts need not add up to the median step)."""
    return {
        "threads": threads,
        "median_s": {k: _median(runs, f"{k}_s") for k in ("step", *PARTS, "logprob_forwards", "setup")},
        "median_cpu_s": {k: _median(runs, f"{k}_cpu_s") for k in ("step", *PARTS)},
        "median_share": {p: statistics.median(r[f"{p}_s"] / r["step_s"] for r in runs) for p in PARTS},
        "repeats": list(runs),
    }


def _thread_counts(text: str | None, default: int) -> list[int]:
    if text is None:
        return [default]
    try:
        counts = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter(f"--threads takes comma-separated integers, got {text!r}") from None
    if not counts or min(counts) < 1 or len(set(counts)) != len(counts):
        raise typer.BadParameter(f"--threads needs distinct counts of at least 1, got {text!r}")
    return counts


def _table(title: str, results: Sequence[dict[str, Any]], completions: int, reference: dict[str, Any]) -> Table:
    table = Table(title=title)
    for col in ("threads", "part", "wall s", "share of step", "wall ms per completion", "CPU s (this process)"):
        table.add_column(col, justify="left" if col in ("threads", "part") else "right")
    for res in results:
        med, cpu, share, t = res["median_s"], res["median_cpu_s"], res["median_share"], str(res["threads"])
        for part in PARTS:
            table.add_row(
                t, part, f"{med[part]:.3f}", f"{100 * share[part]:.0f}%", f"{1000 * med[part] / completions:.1f}",
                f"{cpu[part]:.3f}",
            )
        table.add_row(t, "  of which log-prob forwards", f"{med['logprob_forwards']:.3f}", "", "", "")
        table.add_row(
            t, "whole step", f"{med['step']:.3f}", "100%", f"{1000 * med['step'] / completions:.1f}", f"{cpu['step']:.3f}",
            end_section=True,
        )
    if reference:
        table.add_row(
            "", f"reward on {reference['completions']} reference solutions", f"{reference['median_s']:.3f}", "",
            f"{1000 * reference['median_s'] / reference['completions']:.1f}", "",
        )
    return table


def command(
    json_path: Annotated[Path | None, typer.Option("--json", help="Write all figures as JSON here.")] = None,
    algorithm: Annotated[str, typer.Option(help="grpo or rloo (TRL trainers)")] = "grpo",
    repeats: Annotated[int, typer.Option(min=1, help="timed steps per thread setting (medians are reported)")] = 3,
    prompts: Annotated[int, typer.Option(min=1, help="prompts per step")] = 2,
    num_generations: Annotated[int, typer.Option("--num-generations", min=2, help="completions per prompt")] = 4,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", min=1, help="completion length limit")] = 64,
    benchmark: Annotated[str, typer.Option(help="benchmark whose train split gives the prompts")] = "seccodeplt-plus",
    reward_preset: Annotated[str, typer.Option("--reward-preset", help="realcode reward preset")] = "real-seccodeplt",
    model: Annotated[str | None, typer.Option(help="local model dir (default: realcode's offline tiny model)")] = None,
    warmup: Annotated[bool, typer.Option("--warmup/--no-warmup", help="run one untimed step first")] = True,
    threads: Annotated[
        str | None,
        typer.Option(help="torch CPU thread counts to compare, comma-separated; they take turns within each repeat"),
    ] = None,
) -> None:
    """One GRPO step on the tiny model on CPU: wall time split into generation, reward and update (medians)."""
    err = Console(stderr=True)
    if algorithm not in ALGORITHMS:
        err.print(f"[red]error:[/] --algorithm {algorithm!r} is not timed here; choose from {', '.join(ALGORITHMS)}")
        raise typer.Exit(2)
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import torch
    import transformers
    import trl

    default_threads = torch.get_num_threads()
    counts = _thread_counts(threads, default_threads)

    from realcode.tasks import DataError, load_tasks
    from realcode.training.config import ConfigError, TrainConfig
    from realcode.training.tiny import default_tiny_model

    try:
        tasks = [t for t in load_tasks(benchmark, "train") if t.has_tests][:prompts]
        if len(tasks) < prompts:
            raise ConfigError(f"{benchmark} has only {len(tasks)} train tasks with tests, fewer than --prompts {prompts}")
        model_dir = model or str(default_tiny_model())
        cfg = TrainConfig.model_validate(
            {
                "algorithm": algorithm, "model": model_dir, "benchmark": benchmark, "reward_preset": reward_preset,
                "train_batch_size": prompts * num_generations, "micro_batch_size": num_generations,
                "num_generations": num_generations, "max_response_length": max_new_tokens, "total_steps": 1,
                "save_steps": 1_000_000, "logging": "none", "seed": 0,
            }
        )
    except (ConfigError, DataError, ValueError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    runs: dict[int, list[dict[str, Any]]] = {t: [] for t in counts}
    warm: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory(prefix="realcode-bench-train-") as tmp:
        try:
            if warmup:
                err.print("[dim]warm-up step (untimed)[/]")
                torch.set_num_threads(counts[0])
                warm = _one_step(cfg, tasks, Path(tmp) / "warmup")
            # Thread settings take turns within each repeat, so that load changes on a shared machine hit all alike.
            for i in range(repeats):
                for t in counts:
                    err.print(f"[dim]timed step {i + 1}/{repeats}, {t} thread(s)[/]")
                    torch.set_num_threads(t)
                    runs[t].append(_one_step(cfg, tasks, Path(tmp) / f"run-{i}-{t}"))
        except ConfigError as exc:
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(2) from None
        except RuntimeError as exc:
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from None
        finally:
            torch.set_num_threads(default_threads)  # the process may go on (tests, notebooks)
        reference = _reference_reward(cfg, tasks, repeats)
    results = [_summary(t, runs[t]) for t in counts]
    base = runs[counts[0]]
    for res in results[1:]:
        # Paired: the step of each repeat against the first setting's step of the same repeat.
        res["median_step_ratio_vs_first"] = statistics.median(
            r["step_s"] / b["step_s"] for r, b in zip(res["repeats"], base, strict=True)
        )
    completions = prompts * num_generations
    title = (
        f"One {algorithm.upper()} step on CPU: {prompts} prompts x {num_generations} completions, "
        f"<= {max_new_tokens} new tokens (medians of {repeats})"
    )
    Console(width=150).print(_table(title, results, completions, reference))
    for res in results[1:]:
        err.print(
            f"{res['threads']} thread(s) vs {counts[0]}: step time x{res['median_step_ratio_vs_first']:.2f} (median paired ratio)"
        )
    if json_path is not None:
        data = {
            "bench": "train",
            "settings": {
                "algorithm": algorithm, "prompts": prompts, "num_generations": num_generations,
                "max_new_tokens": max_new_tokens, "benchmark": benchmark, "reward_preset": reward_preset,
                "model": model_dir, "repeats": repeats, "warmup": warmup, "threads": counts,
            },
            "results": results,
            "warmup": warm,
            "reference_reward": reference,
            "machine": {
                "cpus": os.cpu_count(), "load_average_1m": os.getloadavg()[0], "python": platform.python_version(),
                "torch": torch.__version__, "transformers": transformers.__version__, "trl": trl.__version__,
            },
            "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(data, indent=2), encoding="utf-8")
        err.print(f"wrote {json_path}")
