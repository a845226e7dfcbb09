"""``realcode data export``: write a benchmark as a training dataset for veRL (parquet) or OpenRLHF/TRL (JSONL).

Defines the typer function :func:`export`; ``realcode data`` mounts it as ``realcode data export``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console


def export(
    benchmark: Annotated[
        str,
        typer.Option("--benchmark", "-b", help="seccodeplt, seccodeplt-plus, safesql, apps-plus, humaneval"),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="file to write (.parquet for verl, .jsonl for jsonl)")
    ],
    format: Annotated[
        str, typer.Option("--format", "-f", help="verl (parquet) or jsonl (OpenRLHF / TRL)")
    ] = "verl",
    split: Annotated[str | None, typer.Option(help="split; default: every split the data has")] = None,
    template: Annotated[str, typer.Option(help="prompt template: real or plain")] = "real",
    preset: Annotated[
        str | None,
        typer.Option(help="reward preset recorded in each row (default: the benchmark's paper preset)"),
    ] = None,
    data: Annotated[str | None, typer.Option(help="benchmark data folder, file or dataset id")] = None,
) -> None:
    """Export tasks with the columns realcode's reward adapters need (task id and benchmark in every row)."""
    from realcode.rewards.presets import load_spec
    from realcode.rewards.spec import SpecError
    from realcode.rewards.verl import verl_rows, write_verl_parquet
    from realcode.tasks import DataError, load_tasks

    err = Console(stderr=True, soft_wrap=True)
    if format not in ("verl", "jsonl"):
        err.print(f"[red]error:[/] --format must be verl or jsonl, got {format!r}")
        raise typer.Exit(2)
    try:
        if preset is not None:
            preset = load_spec(preset).name
        tasks = load_tasks(benchmark, split, data)
    except (DataError, SpecError, ValueError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    if format == "verl":
        write_verl_parquet(tasks, out, template=template, preset=preset)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as fh:
            for row in verl_rows(tasks, template=template, preset=preset):
                info = row["extra_info"]
                label = json.dumps({"task_id": info["task_id"], "benchmark": info["benchmark"]})
                record = {
                    "prompt": row["prompt"],
                    "label": label,
                    "task_id": info["task_id"],
                    "benchmark": info["benchmark"],
                }
                fh.write(json.dumps(record) + "\n")
    err.print(f"wrote {len(tasks)} rows to {out}")
