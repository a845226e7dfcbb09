"""``realcode bench NAME``: benchmarks that print a table and write their figures as JSON (``--json PATH``)."""

from __future__ import annotations

import importlib

import typer

BENCHES = ("sandbox", "detectors", "maintainability", "rewards", "generation", "train")


def register(app: typer.Typer) -> None:
    bench_app = typer.Typer(help="Run a benchmark: prints a table, writes JSON with --json PATH.", no_args_is_help=True)
    for name in BENCHES:
        try:
            module = importlib.import_module(f"realcode.cli.bench_{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"realcode.cli.bench_{name}":
                raise
            continue
        bench_app.command(name)(module.command)
    app.add_typer(bench_app, name="bench")
