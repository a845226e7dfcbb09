"""``realcode eval``: generate, assess and report, resumably."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console(stderr=True)


def _seeds(text: str) -> list[int]:
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise typer.BadParameter(f"--seeds takes comma-separated integers, got {text!r}") from None


def eval_command(
    benchmark: Annotated[str, typer.Option("--benchmark", "-b", help="seccodeplt, seccodeplt-plus, safesql, apps-plus, humaneval")],
    out: Annotated[Path, typer.Option("--out", "-o", help="run directory (created, or resumed if it holds this config)")],
    split: Annotated[str | None, typer.Option(help="split; default: every split the data has")] = None,
    model: Annotated[str | None, typer.Option(help="model id or local path")] = None,
    backend: Annotated[str, typer.Option(help="hf, vllm or openai")] = "hf",
    base_url: Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint")] = None,
    policy: Annotated[str | None, typer.Option(help="reference policy instead of a model: patched, vulnerable, canonical, empty")] = None,
    completions: Annotated[Path | None, typer.Option(help="JSONL of {task_id, completion[, sample]}: skip generation")] = None,
    n: Annotated[int, typer.Option(help="samples per prompt")] = 1,
    seeds: Annotated[str, typer.Option(help="comma-separated seeds")] = "0",
    temperature: Annotated[float, typer.Option()] = 0.0,
    top_p: Annotated[float, typer.Option("--top-p")] = 1.0,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens")] = 512,
    template: Annotated[str, typer.Option(help="prompt template: real or plain")] = "real",
    extract: Annotated[str, typer.Option(help="code extraction: last, first or raw")] = "last",
    limit: Annotated[int | None, typer.Option(help="only the first N tasks")] = None,
    data: Annotated[str | None, typer.Option(help="benchmark data folder, file or dataset id")] = None,
    name: Annotated[str | None, typer.Option(help="run name in reports")] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="samples per generation/assessment batch (the unit of resumption)")
    ] = 64,
) -> None:
    """Evaluate a model (or a reference policy) on a benchmark: Function, Quality, Func-Qual with intervals."""
    from realcode.evaluation.run import EvalConfig, EvalError, EvalRun
    from realcode.tasks import DataError

    sources = [x for x in (model, policy, completions) if x]
    if len(sources) != 1:
        raise typer.BadParameter("give exactly one of --model, --policy or --completions")
    try:
        config = EvalConfig(
            benchmark=benchmark,
            split=split,
            data=data,
            policy=policy,
            completions_file=str(completions) if completions else None,
            backend=backend if model else None,
            model=model,
            base_url=base_url,
            n=n,
            seeds=_seeds(seeds),
            temperature=temperature,
            top_p=top_p,
            max_new_tokens=max_new_tokens,
            template=template,  # type: ignore[arg-type]
            extract=extract,  # type: ignore[arg-type]
            limit=limit,
            name=name,
        )
    except ValueError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        ids: dict[str, object] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in ids:
                ids[stage] = bar.add_task(stage, total=total)
            bar.update(ids[stage], completed=done, total=total)  # type: ignore[arg-type]

        try:
            metrics = EvalRun(out, config, progress=progress).run(batch_size=batch_size)
        except (EvalError, DataError, ValueError) as exc:
            console.print(f"[red]error:[/] {exc}")
            raise typer.Exit(2) from None
    print_metrics([metrics])
    console.print(f"run written to {out} (report.md, report.html, metrics.json)")


def print_metrics(runs: list[dict[str, object]]) -> None:
    """The main metrics table of one or more runs."""
    from realcode.evaluation.report import rate_cell

    table = Table(title="realcode eval")
    for col in ("run", "benchmark", "tasks", "Function", "Quality", "Func-Qual", "Dyn. security", "format err."):
        table.add_column(col, justify="left" if col in ("run", "benchmark") else "right")
    for run in runs:
        overall = run["overall"]
        assert isinstance(overall, dict)
        m: dict[str, dict[str, float]] = overall["metrics"]
        table.add_row(
            str(run["name"]),
            f"{run['benchmark']}/{run['split']}",
            str(overall["n_tasks"]),
            rate_cell(m, "function"),
            rate_cell(m, "quality"),
            rate_cell(m, "func_qual"),
            rate_cell(m, "dynamic_security", interval=False),
            rate_cell(m, "format_error", interval=False),
        )
    Console(width=max(Console().width, 190)).print(table)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
