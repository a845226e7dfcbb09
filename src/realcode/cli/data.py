"""``realcode data``: look at benchmark data. ``data check`` runs references through the judge."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from realcode.tasks.model import ReferenceKind

data_app = typer.Typer(help="Inspect and check benchmark data.", no_args_is_help=True)

_REFERENCES = ("patched", "vulnerable", "canonical")


def register(app: typer.Typer) -> None:
    """Add the ``data`` command group to the ``realcode`` app."""
    from realcode.cli.data_export import export

    data_app.command("export")(export)
    app.add_typer(data_app, name="data")


def _fail(console: Console, message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=2)


@data_app.command("check")
def check(
    benchmark: Annotated[
        str,
        typer.Option(
            "--benchmark", "-b", help="seccodeplt, seccodeplt-plus, safesql, apps-plus or humaneval"
        ),
    ],
    split: Annotated[str | None, typer.Option(help="Split to check (default: every split).")] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            help="patched | vulnerable | canonical (default: patched for SecCodePLT, else canonical)."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write one JSON verdict per task to this JSONL file.")
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(
            "--data", help="Benchmark data folder or file (default: $REALCODE_DATA or ../shared/data)."
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Check only the first N tasks.", min=1)] = None,
    show: Annotated[int, typer.Option(help="List at most this many exceptions.", min=0)] = 50,
) -> None:
    """Run a benchmark's reference solutions through the judge and report every exception by task id."""
    from realcode.judge.datacheck import Summary, as_json_line, check_tasks, default_reference
    from realcode.tasks import DataError, load_tasks, parse_benchmark

    console = Console()
    try:
        bench = parse_benchmark(benchmark)
    except ValueError as exc:
        raise _fail(console, str(exc)) from None
    ref = reference or default_reference(bench)
    if ref not in _REFERENCES:
        raise _fail(console, f"unknown reference {ref!r}; known: {', '.join(_REFERENCES)}")
    try:
        tasks = load_tasks(bench, split, data)
    except (DataError, ValueError) as exc:
        raise _fail(console, str(exc)) from None
    if limit is not None:
        tasks = tasks[:limit]
    checks = []
    started = time.monotonic()
    sink = None
    if out is not None:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            sink = out.open("w", encoding="utf-8")
        except OSError as exc:
            raise _fail(console, f"cannot write {str(out)!r}: {exc.strerror or exc}") from None
    try:
        with Progress(
            TextColumn(f"[bold]{bench.value}[/] {ref}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as bar:
            job = bar.add_task("check", total=len(tasks))
            for item in check_tasks(
                tasks, cast("ReferenceKind", ref), progress=lambda n: bar.advance(job, n)
            ):
                checks.append(item)
                if sink is not None:
                    sink.write(json.dumps(as_json_line(item)) + "\n")
    except RuntimeError as exc:  # sandbox could not start
        raise _fail(console, f"sandbox unavailable: {exc}") from None
    finally:
        if sink is not None:
            sink.close()
    elapsed = time.monotonic() - started
    summary = Summary.of(checks)
    _print_summary(console, bench.value, ref, split, summary, elapsed)
    _print_exceptions(console, checks, show)
    if out is not None:
        console.print(f"verdicts written to {out}")


def _print_summary(console: Console, bench: str, ref: str, split: str | None, s: Any, elapsed: float) -> None:
    title = f"{bench} ({split or 'all splits'}), {ref}: {s.judged} of {s.tasks} judged in {elapsed:.0f}s"
    table = Table(title=title, show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    for stage, n in sorted(s.stages.items(), key=lambda kv: -kv[1]):
        table.add_row(f"stage {stage}", str(n))
    for reason, n in s.skipped.items():
        table.add_row(f"skipped: {reason}", str(n))
    table.add_row("[bold]tasks with exceptions[/]", str(s.with_issues))
    for key, n in s.security.items():
        table.add_row(f"dynamic security: {key}", str(n))
    for key, n in s.attacks.items():
        table.add_row(f"attacks: {key}", str(n))
    console.print(table)
    if s.groups:
        groups = Table(title="test groups", show_header=True)
        for col in ("group", "tasks", "all passed", "tests", "passed", "pass rate"):
            groups.add_column(col, justify="right" if col != "group" else "left")
        for name, row in s.groups.items():
            rate = row["passed"] / row["tests"] if row["tests"] else 0.0
            groups.add_row(
                name,
                str(int(row["tasks"])),
                str(int(row["all_passed"])),
                str(int(row["tests"])),
                str(int(row["passed"])),
                f"{rate:.2%}",
            )
        console.print(groups)


def _print_exceptions(console: Console, checks: list[Any], show: int) -> None:
    bad = [c for c in checks if c.issues]
    if not bad:
        console.print("[green]no exceptions: every judged reference behaves as the benchmark promises[/]")
        return
    table = Table(title=f"exceptions ({len(bad)} tasks{'' if len(bad) <= show else f', first {show} shown'})")
    table.add_column("task")
    table.add_column("reason", overflow="fold")
    for c in bad[:show]:
        table.add_row(c.task_id, "\n".join(i[:400] for i in c.issues))
    console.print(table)
