"""``realcode bench rewards``: samples/s and CPU ms per sample of the full preset rewards vs a REAL-style baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


def command(
    json_path: Annotated[Path | None, typer.Option("--json", help="Write all figures as JSON here.")] = None,
    samples: Annotated[int, typer.Option(min=1, help="completions per benchmark")] = 512,
    baseline_samples: Annotated[
        int, typer.Option("--baseline-samples", min=0, help="completions the (slow) baseline scores")
    ] = 64,
    repeats: Annotated[
        int, typer.Option(min=1, help="timed runs per configuration (medians are reported)")
    ] = 3,
    workers: Annotated[str, typer.Option(help="comma-separated sandbox sizes to compare")] = "1,2",
    benchmarks: Annotated[
        str, typer.Option(help="comma-separated: seccodeplt-plus, safesql, apps-plus")
    ] = "seccodeplt-plus,safesql,apps-plus",
    preimport: Annotated[
        str, typer.Option(help="modules the sandbox workers import once (comma-separated)")
    ] = "sqlite3",
    data: Annotated[str | None, typer.Option(help="benchmark data folder")] = None,
    guards: Annotated[
        bool, typer.Option("--guards/--no-guards", help="also count guard flags on every reference solution")
    ] = True,
) -> None:
    """Throughput of realcode's rewards (real-seccodeplt, real-safesql, real-apps) against REAL's way of computing them."""
    from realcode.rewards.bench import BENCHES, guard_false_positives, run_bench, write_json

    err = Console(stderr=True, soft_wrap=True)
    names = [b.strip() for b in benchmarks.split(",") if b.strip()]
    unknown = [b for b in names if b not in BENCHES]
    if unknown or not names:
        err.print(
            f"[red]error:[/] unknown benchmark(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(BENCHES)}"
        )
        raise typer.Exit(2)
    try:
        sizes = [int(w) for w in workers.split(",") if w.strip()]
    except ValueError:
        raise typer.BadParameter(f"--workers takes comma-separated integers, got {workers!r}") from None
    if not sizes or min(sizes) < 1:
        raise typer.BadParameter("--workers needs sizes of at least 1")
    results = run_bench(
        names,
        samples=samples,
        baseline_samples=baseline_samples,
        workers=sizes,
        repeats=repeats,
        data=data,
        preimports=tuple(m.strip() for m in preimport.split(",") if m.strip()),
        progress=lambda msg: err.print(f"[dim]{msg}[/]"),
    )
    table = Table(
        title=f"Reward throughput: full preset rewards, {samples} completions per benchmark (medians of {repeats})"
    )
    for col in (
        "benchmark",
        "preset",
        "engine",
        "samples",
        "samples/s",
        "CPU ms/sample (tree)",
        "median CPU ms/sample",
        "speed-up",
    ):
        table.add_column(col, justify="right" if col not in ("benchmark", "preset", "engine") else "left")
    for r in results:
        data_ = r.to_json()
        base = data_.get("baseline_samples_per_s")
        if r.baseline:
            table.add_row(
                r.benchmark,
                r.preset,
                "REAL-style baseline",
                str(r.baseline_samples),
                f"{base:.2f}",
                f"{r.baseline_median('cpu_ms_per_sample'):.0f}",
                f"{r.baseline_median('median_sample_cpu_ms'):.0f}",
                "1.0x",
            )
        for w in sorted(r.realcode):
            sps = r.median(w, "samples_per_s")
            table.add_row(
                r.benchmark,
                r.preset,
                f"realcode, {w} worker{'s' if w > 1 else ''}",
                str(r.samples),
                f"{sps:.2f}",
                f"{r.median(w, 'cpu_ms_per_sample'):.1f}",
                f"{r.median(w, 'median_sample_cpu_ms'):.1f}",
                f"{sps / base:.1f}x" if base else "-",
            )
    Console(width=160).print(table)
    flags = guard_false_positives(data) if guards else None
    if flags is not None:
        gt = Table(title="Reward-hacking guards on reference solutions (false positives)")
        for col in ("benchmark", "solutions", "stub", "tampering", "hard-coded examples"):
            gt.add_column(col, justify="left" if col == "benchmark" else "right")
        for bench, c in flags.items():
            gt.add_row(bench, *(str(c[k]) for k in ("solutions", "stub", "tampering", "hardcoded_examples")))
        Console(width=160).print(gt)
    if json_path is not None:
        write_json(results, json_path, guard_flags=flags)
        err.print(f"wrote {json_path}")
