"""``realcode references``: REAL's three benchmarks evaluated with their own reference solutions.

No model needed: the patched/canonical references, the vulnerable ones and an empty stub go through the same
harness a model would (extract -> sandbox + judge -> analyzers -> metrics), which shows what each metric measures
and checks the harness itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

console = Console(stderr=True)

# (benchmark, split, policies): SafeSQL's only reference is injectable on purpose, so it stands as both the
# canonical and the vulnerable one; APPS+ has no vulnerable reference.
PLAN: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("seccodeplt-plus", "test", ("patched", "vulnerable", "empty")),
    ("safesql", "test", ("canonical", "empty")),
    ("apps-plus", "test", ("canonical", "empty")),
)


def references_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="directory for the runs and the combined report")] = Path(
        "runs/references"
    ),
    data: Annotated[str | None, typer.Option(help="benchmark data folder")] = None,
    limit: Annotated[int | None, typer.Option(help="only the first N tasks of each benchmark")] = None,
) -> None:
    """Function / Quality / Func-Qual of REAL's benchmarks under reference policies (resumable)."""
    from realcode.cli.eval import print_metrics
    from realcode.evaluation.report import write_report
    from realcode.evaluation.run import EvalConfig, EvalError, EvalRun
    from realcode.tasks import DataError

    runs = []
    dirs = []
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        for benchmark, split, policies in PLAN:
            for policy in policies:
                name = f"{benchmark}-{policy}"
                task_id = bar.add_task(name, total=None)

                def progress(stage: str, done: int, total: int, _t: object = task_id, _n: str = name) -> None:
                    bar.update(_t, description=f"{_n} {stage}", completed=done, total=total)  # type: ignore[arg-type]

                config = EvalConfig(benchmark=benchmark, split=split, policy=policy, data=data, limit=limit, name=name)
                try:
                    runs.append(EvalRun(out / name, config, progress=progress).run())
                except (EvalError, DataError) as exc:
                    console.print(f"[red]error:[/] {exc}")
                    raise typer.Exit(2) from None
                dirs.append(out / name)
    print_metrics(runs)
    md, html = write_report(dirs, out)
    console.print(f"report: {md} and {html}")


def register(app: typer.Typer) -> None:
    app.command("references")(references_command)
