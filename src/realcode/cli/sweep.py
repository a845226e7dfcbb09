"""``realcode sweep alpha``: train and evaluate once per quality weight, then REAL's trade-off table and plot."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)


def _seeds(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise typer.BadParameter(f"--seeds takes comma-separated integers, got {text!r}") from None


def alpha_command(
    values: Annotated[str, typer.Option("--values", help="comma-separated alphas in [0, 1], e.g. 0,0.3,0.5,0.7,1")],
    out: Annotated[Path, typer.Option("--out", "-o", help="sweep directory (resumed when it holds this sweep)")],
    preset: Annotated[str | None, typer.Option(help="a built-in training preset or a YAML file")] = None,
    algorithm: Annotated[str | None, typer.Option(help="grpo, rloo or ppo (default: the preset's)")] = None,
    model: Annotated[str | None, typer.Option(help="model id or local path (overrides the preset)")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="key=value training setting, repeatable")] = None,
    eval_limit: Annotated[int | None, typer.Option("--eval-limit", min=1, help="evaluate on the first N tasks only")] = None,
    n: Annotated[int, typer.Option(min=1, help="samples per prompt at evaluation")] = 1,
    seeds: Annotated[str, typer.Option(help="comma-separated evaluation seeds")] = "0",
    temperature: Annotated[float, typer.Option(min=0.0, help="evaluation sampling temperature (0: greedy)")] = 0.0,
    max_new_tokens: Annotated[
        int | None, typer.Option("--max-new-tokens", min=1, help="evaluation length limit (default: max_response_length)")
    ] = None,
) -> None:
    """Train once per alpha (the weight of quality in the reward), evaluate each model the same way, and write
    the trade-off table (sweep.md, sweep.json) and the report with the function-vs-quality plot."""
    from realcode.training.config import ConfigError, TrainConfig, apply_overrides, load_preset
    from realcode.training.sweep import SweepError, SweepEval, alpha_label, parse_alphas, run_sweep

    try:
        alphas = parse_alphas(values)
        cfg = load_preset(preset) if preset else TrainConfig.model_validate({})
        updates = list(set_ or [])
        if algorithm:
            updates.append(f"algorithm={algorithm}")
        if model:
            updates.append(f"model={model}")
        cfg = apply_overrides(cfg, updates)
        result = run_sweep(
            cfg, alphas, out,
            evaluation=SweepEval(
                limit=eval_limit, n=n, seeds=_seeds(seeds), temperature=temperature, max_new_tokens=max_new_tokens
            ),
            progress=lambda msg: console.print(f"[dim]{msg}[/]"),
        )
    except (SweepError, ConfigError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    table = Table(title=f"Alpha sweep: {cfg.algorithm} on {cfg.benchmark}, evaluated on {cfg.eval_split}")
    for col in ("alpha", "tasks", "Function", "Quality", "Func-Qual"):
        table.add_column(col, justify="right")
    for r in result.rows:
        table.add_row(
            alpha_label(r.alpha), str(r.n_tasks),
            *(
                f"{100 * m['value']:.1f} [{100 * m['low']:.1f}, {100 * m['high']:.1f}]"
                for m in (r.metrics["function"], r.metrics["quality"], r.metrics["func_qual"])
            ),
        )
    Console().print(table)
    console.print(f"wrote {result.table_md}, {result.table_json}, {result.report_html}")


def register(app: typer.Typer) -> None:
    sweep_app = typer.Typer(help="Sweeps: train and evaluate once per setting value.", no_args_is_help=True)
    sweep_app.command("alpha")(alpha_command)
    app.add_typer(sweep_app, name="sweep")
