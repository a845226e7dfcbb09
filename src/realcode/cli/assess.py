"""``realcode assess``: score a JSONL file of completions with a reward preset."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Annotated, cast

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True, soft_wrap=True)  # messages name paths: never wrap them


def assess_command(
    completions: Annotated[
        Path, typer.Option("--completions", "-c", help="JSONL of {task_id, completion[, benchmark, ...]}")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="JSONL written: one line per completion")],
    benchmark: Annotated[
        str | None,
        typer.Option("--benchmark", "-b", help="benchmark of the task ids (lines may name their own)"),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(help="reward preset or spec file (default: the benchmark's paper preset)"),
    ] = None,
    extract: Annotated[str, typer.Option(help="code extraction: last, first or raw")] = "last",
    data: Annotated[str | None, typer.Option(help="benchmark data folder, file or dataset id")] = None,
    cache_dir: Annotated[
        Path | None, typer.Option("--cache-dir", help="keep assessments on disk here")
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="completions assessed per batch")
    ] = 256,
    no_assessment: Annotated[
        bool, typer.Option("--no-assessment", help="write rewards only, without the full assessment")
    ] = False,
) -> None:
    """Assess every completion (tests, security, mypy, dynamic checks) and write its reward and evidence."""
    from realcode.assess import AssessmentCache
    from realcode.rewards.batch import InputError, TaskIndex, read_samples, score_samples
    from realcode.rewards.presets import load_spec, preset_for
    from realcode.rewards.spec import RewardSpec, SpecError
    from realcode.tasks import DataError, parse_benchmark
    from realcode.tasks.extract import ExtractMode

    if extract not in ("last", "first", "raw"):
        raise typer.BadParameter(f"--extract must be last, first or raw, got {extract!r}")
    mode = cast(ExtractMode, extract)
    try:
        if benchmark is not None:
            benchmark = parse_benchmark(benchmark).value
        spec: RewardSpec | dict[str, RewardSpec] = load_spec(preset) if preset else {}
        samples = list(read_samples(completions))
    except (InputError, SpecError, ValueError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    if not samples:
        console.print(f"[red]error:[/] {completions}: no completions")
        raise typer.Exit(2)
    index = TaskIndex(data)
    # Resolve every task first so that a bad id is reported before any work is done.
    problems: list[str] = []
    try:
        for s in samples:
            try:
                index.resolve(s, benchmark)
            except InputError as exc:
                problems.append(str(exc))
    except DataError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    if problems:
        for p in problems[:10]:
            console.print(f"[red]error:[/] {p}")
        if len(problems) > 10:
            console.print(f"[red]... and {len(problems) - 10} more[/]")
        raise typer.Exit(2)
    cache = AssessmentCache(cache_dir) if cache_dir else True
    rewards: list[float] = []
    passed = infra = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for start in range(0, len(samples), batch_size):
            batch = samples[start : start + batch_size]
            scored = score_samples(batch, spec, index=index, benchmark=benchmark, extract=mode, cache=cache)
            for item in scored:
                fh.write(json.dumps(item.to_json(with_assessment=not no_assessment)) + "\n")
                if item.reward is not None and item.reward.total is not None:
                    rewards.append(item.reward.total)
                else:
                    infra += 1
                passed += bool(item.assessment and item.assessment.passed)
            console.print(f"assessed {min(start + batch_size, len(samples))}/{len(samples)}")
    name = (
        spec.name
        if isinstance(spec, RewardSpec)
        else ", ".join(
            sorted(
                {preset_for(b).name for b in {index.resolve(s, benchmark).benchmark.value for s in samples}}
            )
        )
    )
    table = Table(title=f"{len(samples)} completions scored with {name}")
    for col in ("samples", "mean reward", "median reward", "passed", "no reward (infra/task error)"):
        table.add_column(col, justify="right")
    table.add_row(
        str(len(samples)),
        f"{statistics.fmean(rewards):.4f}" if rewards else "-",
        f"{statistics.median(rewards):.4f}" if rewards else "-",
        f"{passed / len(samples):.1%}",
        str(infra),
    )
    Console().print(table)
    console.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    app.command("assess")(assess_command)
