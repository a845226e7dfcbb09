"""``realcode report RUN_DIR...``: Markdown and self-contained HTML over evaluation runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console(stderr=True)


def report_command(
    runs: Annotated[list[Path], typer.Argument(help="run directories (each with metrics.json)")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="where to write report.md and report.html")] = None,
) -> None:
    """Write a report (tables, per-CWE bars, function-vs-quality scatter, paired comparisons) over runs."""
    from realcode.evaluation.report import ReportError, write_report

    target = out or (runs[0] if len(runs) == 1 else Path("report"))
    try:
        md, html = write_report(runs, target)
    except ReportError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    console.print(f"wrote {md} and {html}")


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
