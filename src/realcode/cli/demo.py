"""``realcode demo``: the whole pipeline in miniature on CPU (build, SFT, evaluate, RL, evaluate, report)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)


def demo_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="where the demo writes its model, runs and report")] = Path(
        "runs/demo"
    ),
    tasks: Annotated[int, typer.Option(help="training tasks in the miniature")] = 6,
    rl_steps: Annotated[int, typer.Option("--rl-steps", help="GRPO steps")] = 60,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """A miniature of REAL on CPU: Quality rises while Function holds, on the tasks it trained on."""
    from realcode.evaluation.report import rate_cell
    from realcode.training.demo import MINIATURE_NOTE, DemoConfig, run_demo

    console.print(f"[bold]realcode demo[/]: {MINIATURE_NOTE}")
    summary = run_demo(
        out, DemoConfig(tasks=tasks, rl_steps=rl_steps, seed=seed), log=lambda m: console.print(m, markup=False)
    )
    table = Table(title="realcode demo: before and after RL with the hybrid reward (same tasks, same harness)")
    table.add_column("model")
    for col in ("Function", "Quality", "Func-Qual"):
        table.add_column(col, justify="right")
    for label, key in (("SFT (before RL)", "before"), ("GRPO, 0.5 detector + 0.5 tests (after)", "after")):
        table.add_row(label, *(rate_cell(summary[key], k) for k in ("function", "quality", "func_qual")))
    Console(width=max(Console().width, 140)).print(table)
    console.print(f"wall time: {summary['timings_s']['total']} s; stages: {json.dumps(summary['timings_s'])}")
    console.print(f"report: {summary['report']['markdown']} and {summary['report']['html']}")
    console.print(MINIATURE_NOTE)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
