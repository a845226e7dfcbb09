"""``realcode bench maintainability``: batched ``mypy --strict`` speed, and its agreement with per-file runs.

Timing (always): median wall-clock ms per snippet of ``check_types`` over batches of 64 and 512 APPS+
reference solutions, next to one ``python -m mypy --strict`` process per snippet, in the same run.

Agreement (``--agreement``): on the APPS+ references, the SecCodePLT+ patched programs and realcode's own
varied corpus, batched verdicts and error counts against per-file runs, with REAL's prelude and without;
plus the share of APPS+ references that are mypy-strict clean and their most frequent error codes.
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


def command(
    json_path: Annotated[Path | None, typer.Option("--json", help="Write all figures as JSON here.")] = None,
    agreement: Annotated[
        bool,
        typer.Option("--agreement/--no-agreement", help="Also run the batched-vs-per-file agreement study."),
    ] = False,
    timing: Annotated[
        bool, typer.Option("--timing/--no-timing", help="Time batched vs per-file checking.")
    ] = True,
    stats: Annotated[
        bool,
        typer.Option(
            "--stats/--no-stats",
            help="Share of mypy-strict clean snippets and top error codes (batched only).",
        ),
    ] = False,
    repeats: Annotated[
        int, typer.Option("--repeats", min=1, help="Timing repetitions (the median is reported).")
    ] = 3,
    batch_sizes: Annotated[
        str, typer.Option("--batch-sizes", help="Comma-separated batch sizes to time.")
    ] = "64,512",
    per_file: Annotated[
        int,
        typer.Option("--per-file", min=1, help="Snippets timed with one mypy process each, per repetition."),
    ] = 32,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help="Agreement: only the first N snippets of each corpus."),
    ] = None,
    corpus: Annotated[
        list[str] | None,
        typer.Option(
            "--corpus", help="Agreement: only this corpus (repeatable): apps-plus, seccodeplt-plus, own."
        ),
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", min=1, help="Agreement: per-file mypy processes in parallel.")
    ] = 2,
    data: Annotated[
        Path | None, typer.Option("--data", help="Benchmark data directory (default: ../shared/data).")
    ] = None,
) -> None:
    """Median ms per snippet, batched (64, 512) vs per-file mypy --strict; with --agreement, verdict agreement."""
    from realcode.analysis.maintainability.study import (
        agreement as run_agreement,
    )
    from realcode.analysis.maintainability.study import (
        apps_references,
        clean_share_table,
        load_corpora,
        verdict_stats,
    )
    from realcode.analysis.maintainability.study import (
        timing as run_timing,
    )
    from realcode.tasks.paths import DataError

    console = Console(width=max(110, Console().width))
    try:
        sizes = [int(s) for s in batch_sizes.split(",") if s.strip()]
        if not sizes or min(sizes) < 1:
            raise ValueError
    except ValueError:
        console.print(
            f"[red]error:[/] --batch-sizes must be positive integers separated by commas, got {batch_sizes!r}"
        )
        raise typer.Exit(2) from None
    figures: dict[str, object] = {
        "machine": {"python": platform.python_version(), "platform": platform.platform()}
    }
    try:
        import mypy.version

        figures["mypy"] = mypy.version.__version__
        if timing:
            pool = apps_references(data)
            rows = run_timing(pool, batch_sizes=sizes, repeats=repeats, per_file=per_file)
            table = Table(
                title="mypy --strict: ms per snippet (median of repeats; APPS+ references, new to the cache)"
            )
            for col in (
                "method",
                "batch",
                "repeats",
                "median ms/snippet",
                "median CPU ms/snippet",
                "all runs (wall ms)",
            ):
                table.add_column(col, justify="left" if col == "method" else "right")
            for row in rows:
                table.add_row(
                    row.method,
                    str(row.batch),
                    str(row.repeats),
                    f"{row.median:.1f}",
                    f"{row.cpu_median:.1f}",
                    ", ".join(f"{v:.1f}" for v in row.ms_per_snippet),
                )
            console.print(table)
            figures["timing"] = [{**asdict(r), "median": r.median, "cpu_median": r.cpu_median} for r in rows]
        if stats:
            corpora = load_corpora(data)
            if corpus:
                corpora = {k: v for k, v in corpora.items() if k in corpus}
            vrows = verdict_stats(corpora)
            table = Table(title="mypy --strict verdicts (batched)")
            for col in (
                "corpus",
                "prelude",
                "snippets",
                "clean",
                "with errors",
                "blocked",
                "errors",
                "crashed",
            ):
                table.add_column(col, justify="left" if col == "corpus" else "right")
            for v in vrows:
                table.add_row(
                    v.corpus,
                    "REAL" if v.prelude else "none",
                    str(v.snippets),
                    f"{v.clean} ({100 * v.clean / max(1, v.snippets):.1f}%)",
                    str(v.erroneous),
                    str(v.blocked),
                    str(v.errors),
                    str(v.crashed),
                )
            console.print(table)
            _print_codes(console, clean_share_table(vrows))
            figures["verdicts"] = [
                {
                    **{k: val for k, val in asdict(v).items() if k != "error_codes"},
                    "error_codes": dict(v.error_codes.most_common()),
                }
                for v in vrows
            ]
            figures["apps_error_codes"] = [
                {"code": c, "no_prelude": a, "real_prelude": b} for c, a, b in clean_share_table(vrows)
            ]
        if agreement:
            corpora = load_corpora(data)
            if corpus:
                unknown = sorted(set(corpus) - set(corpora))
                if unknown:
                    console.print(
                        f"[red]error:[/] unknown corpus {', '.join(unknown)}; choose from {', '.join(corpora)}"
                    )
                    raise typer.Exit(2)
                corpora = {k: v for k, v in corpora.items() if k in corpus}
            if limit is not None:
                corpora = {k: v[:limit] for k, v in corpora.items()}
            agree_rows, mismatches = run_agreement(
                corpora, jobs=jobs, progress=lambda m: console.print(f"  {m}")
            )
            table = Table(title="Batched vs per-file mypy --strict: identical verdict and error count")
            for col in ("corpus", "prelude", "snippets", "agree", "share", "clean", "blocked", "crashed"):
                table.add_column(col, justify="left" if col == "corpus" else "right")
            for r in agree_rows:
                table.add_row(
                    r.corpus,
                    "REAL" if r.prelude else "none",
                    str(r.snippets),
                    str(r.agree),
                    f"{100 * r.share:.1f}%",
                    f"{r.clean} ({100 * r.clean / max(1, r.snippets):.1f}%)",
                    str(r.blocked),
                    str(r.crashed),
                )
            console.print(table)
            codes = clean_share_table(agree_rows)
            _print_codes(console, codes)
            for m in mismatches[:20]:
                console.print(
                    f"[red]mismatch[/] {m.corpus}#{m.index} prelude={m.prelude}: batched {m.batched}, alone {m.alone}"
                )
            figures["agreement"] = [
                {
                    **{k: v for k, v in asdict(r).items() if k != "error_codes"},
                    "share": r.share,
                    "error_codes": dict(r.error_codes.most_common()),
                }
                for r in agree_rows
            ]
            figures["apps_error_codes"] = [
                {"code": c, "no_prelude": a, "real_prelude": b} for c, a, b in codes
            ]
            figures["mismatches"] = [asdict(m) for m in mismatches]
    except DataError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        console.print(f"figures written to {json_path}")


def _print_codes(console: Console, codes: list[tuple[str, int, int]]) -> None:
    if not codes:
        return
    table = Table(title="APPS+ references: most frequent mypy --strict error codes")
    for col in ("code", "errors (no prelude)", "errors (REAL prelude)"):
        table.add_column(col, justify="left" if col == "code" else "right")
    for code, a, b in codes:
        table.add_row(code, str(a), str(b))
    console.print(table)
