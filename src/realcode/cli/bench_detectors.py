"""``realcode bench detectors``: realcode vs Bandit vs ``ruff --select S`` on SecCodePLT's vulnerable/patched pairs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

_DEFAULT_TOOLS = "realcode,bandit,ruff"


def command(
    json_path: Annotated[Path | None, typer.Option("--json", help="Write all figures as JSON here.")] = None,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Write the tables as Markdown here.")
    ] = None,
    tools: Annotated[
        str, typer.Option("--tools", help="Comma-separated tools: realcode, bandit, ruff.")
    ] = _DEFAULT_TOOLS,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the first N tasks (after --cwe; quick look).")
    ] = None,
    cwe: Annotated[
        list[str] | None, typer.Option("--cwe", help="Only tasks of this CWE (repeatable), e.g. --cwe 327.")
    ] = None,
    misses: Annotated[
        Path | None,
        typer.Option(
            "--misses", help="Write realcode's false positives/negatives (any-finding view) as JSONL here."
        ),
    ] = None,
    repeats: Annotated[
        int,
        typer.Option(
            "--repeats", min=1, help="Run each tool N times; CPU is the median of the runs' medians."
        ),
    ] = 1,
    data: Annotated[
        Path | None, typer.Option("--data", help="Benchmark data directory (default: ../shared/data).")
    ] = None,
) -> None:
    """Per-CWE and overall TP/FP/TN/FN, precision, recall, F1 and FPR of each detector, plus CPU ms per snippet."""
    from realcode.evaluation.detector_bench import SPLITS, SUBSETS, run_bench, to_markdown
    from realcode.evaluation.detectors_tools import DETECTORS
    from realcode.tasks.paths import DataError

    console = Console(width=max(120, Console().width))
    names = [t.strip() for t in tools.split(",") if t.strip()]
    unknown = [n for n in names if n not in DETECTORS]
    if unknown or not names:
        console.print(
            f"[red]error:[/] unknown tool(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(DETECTORS)}"
        )
        raise typer.Exit(2)
    try:
        result = run_bench(names, data=data, limit=limit, cwes=cwe or (), repeats=repeats)
    except DataError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None

    table = Table(title=f"Detectors on SecCodePLT pairs ({len(result.samples)} programs)")
    for col in ("tool", "subset", "rows", "view", "P", "R", "F1", "FPR", "macro-F1"):
        table.add_column(col, justify="right" if col in {"P", "R", "F1", "FPR", "macro-F1"} else "left")
    for t in result.tools:
        for sub in SUBSETS:
            for sp in SPLITS:
                for view in ("any", "right_cwe"):
                    r = t.tables[sub][sp][view]
                    if not r.per_cwe:
                        continue
                    o = r.overall
                    table.add_row(
                        t.name,
                        sub,
                        sp,
                        view,
                        f"{o.precision:.3f}",
                        f"{o.recall:.3f}",
                        f"{o.f1:.3f}",
                        f"{o.fpr:.3f}",
                        f"{r.macro_f1:.3f}",
                    )
    console.print(table)
    speed = Table(title="CPU per snippet")
    for col in ("tool", "median ms", "runs' medians", "p95 ms", "errors", "how measured"):
        speed.add_column(col)
    for t in result.tools:
        med, p95 = t.cpu_ms_median, t.cpu_ms_p95
        speed.add_row(
            t.name,
            f"{med:.3f}" if med is not None else "-",
            " / ".join(f"{m:.3f}" for m in t.repeat_medians) or "-",
            f"{p95:.3f}" if p95 is not None else "-",
            str(t.errors),
            t.run.timing,
        )
    console.print(speed)
    for name, err in result.failed_tools.items():
        console.print(f"[yellow]warning:[/] {name} failed: {err}")

    cmd = (
        "realcode bench detectors " + " ".join(sys.argv[3:])
        if len(sys.argv) > 3
        else "realcode bench detectors"
    )
    try:
        if json_path is not None:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(result.as_dict(), indent=2) + "\n", encoding="utf-8")
        if markdown is not None:
            markdown.parent.mkdir(parents=True, exist_ok=True)
            markdown.write_text(to_markdown(result, cmd.strip()), encoding="utf-8")
        if misses is not None and any(t.name == "realcode" for t in result.tools):
            misses.parent.mkdir(parents=True, exist_ok=True)
            with misses.open("w", encoding="utf-8") as fh:
                for row in result.misses("realcode"):
                    fh.write(json.dumps(row) + "\n")
    except OSError as exc:
        console.print(f"[red]error:[/] cannot write {exc.filename}: {exc.strerror}")
        raise typer.Exit(2) from None
