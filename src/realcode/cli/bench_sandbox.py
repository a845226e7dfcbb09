"""``realcode bench sandbox``: the warm sandbox pool against spawning a fresh ``python`` per job."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


def command(
    json_path: Annotated[Path | None, typer.Option("--json", help="Write all figures as JSON here.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Pool jobs per workload and repeat.")] = 200,
    repeats: Annotated[int, typer.Option("--repeats", min=1, help="Repeats; medians are reported.")] = 3,
    baseline_jobs: Annotated[
        int,
        typer.Option("--baseline-jobs", min=1, help="Spawn-per-job baseline jobs per workload and repeat."),
    ] = 20,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Pool size (default: one per CPU).")
    ] = None,
    isolation: Annotated[str, typer.Option("--isolation", help="auto, bwrap, unshare or rlimits.")] = "auto",
) -> None:
    """Median CPU ms per job and jobs/s: calls job (5 calls), stdin/stdout program (20 runs), SQL program."""
    from realcode.sandbox import SandboxUnavailable
    from realcode.sandbox.benchmark import run_benchmark

    console = Console()
    try:
        figures = run_benchmark(
            jobs,
            repeats,
            baseline_jobs,
            workers=workers,
            isolation=isolation,
            progress=lambda message: console.log(message),
        )
    except (SandboxUnavailable, ValueError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None

    table = Table(
        title=(
            f"Sandbox ({figures['isolation']}, {figures['workers']} workers) vs spawn-per-job, "
            f"medians of {repeats} repeats"
        )
    )
    for column in (
        "workload",
        "pool CPU ms/job",
        "host/worker/child",
        "pool jobs/s",
        "spawn CPU ms/job",
        "spawn jobs/s",
        "throughput x",
        "CPU x",
    ):
        table.add_column(column, justify="left" if column == "workload" else "right")
    for row in figures["rows"]:
        parts = row["pool_breakdown_ms"]
        table.add_row(
            row["workload"],
            f"{row['pool_cpu_ms']:.2f}",
            f"{parts['host']:.2f}/{parts['worker']:.2f}/{parts['child']:.2f}",
            f"{row['pool_jobs_per_s']:.0f}",
            f"{row['baseline_cpu_ms']:.1f}",
            f"{row['baseline_jobs_per_s']:.1f}",
            f"{row['speedup']:.1f}",
            f"{row['cpu_ratio']:.1f}",
        )
    console.print(table)
    floor = figures["fork_floor_ms"]
    console.print(
        f"bare fork+exit of a warm worker-sized interpreter: {floor['total_ms']:.2f} ms CPU "
        f"(parent {floor['parent_ms']:.2f} + child {floor['child_ms']:.2f}); "
        f"pool start {figures['pool_start_s']:.2f} s; load average {figures['load_average'][0]:.1f}"
    )
    if any(row["failures"] for row in figures["rows"]):
        console.print("[yellow]warning:[/] some benchmark jobs did not finish ok (see JSON 'failures')")
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(figures, indent=2) + "\n")
        console.print(f"figures written to {json_path}")
