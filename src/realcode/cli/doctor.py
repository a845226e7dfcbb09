"""``realcode doctor``: can this machine run untrusted code safely, and how strongly is it isolated?"""

from __future__ import annotations

import platform
import sys
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


def doctor(
    isolation: Annotated[
        str,
        typer.Option(
            "--isolation", help="Level to check: auto (strongest available), bwrap, unshare, rlimits."
        ),
    ] = "auto",
) -> None:
    """Print the sandbox's isolation level (and why stronger ones are unavailable), versions, worker start
    time and the outcome of a smoke job. Exits 0 when a sandbox works here."""
    from realcode.sandbox import Call, Job, Sandbox, SandboxUnavailable
    from realcode.sandbox.serialize import decode

    console = Console()
    table = Table(title="realcode doctor", show_header=False)
    table.add_column("check")
    table.add_column("result")
    table.add_row("python", f"{platform.python_implementation()} {sys.version.split()[0]} ({sys.executable})")
    table.add_row("platform", platform.platform())
    try:
        start = time.perf_counter()
        sandbox = Sandbox(workers=1, isolation=isolation)
    except (SandboxUnavailable, ValueError, RuntimeError) as exc:
        table.add_row("sandbox", f"[red]unavailable[/]: {exc}")
        console.print(table)
        raise typer.Exit(1) from None
    with sandbox:
        started_ms = (time.perf_counter() - start) * 1000
        report = sandbox.isolation
        level_style = "green" if report.level == "bwrap" else "yellow" if report.level == "unshare" else "red"
        table.add_row("isolation", f"[{level_style}]{report.level}[/]")
        for level, reason in report.unavailable.items():
            table.add_row(f"  {level}", f"unavailable: {reason}")
        if report.level == "rlimits":
            table.add_row(
                "[red]warning[/]",
                "no namespaces: untrusted code can read world-readable files and use the network. "
                "Install bubblewrap (apt-get install -y bubblewrap).",
            )
        table.add_row(
            "children run as",
            "a per-worker unprivileged uid"
            if report.separate_uid
            else "the worker's own uid (not root here)",
        )
        table.add_row("bubblewrap", report.bwrap_version or "not installed")
        info = sandbox.worker_info()
        worker_ms = sandbox.start_ms[0] if sandbox.start_ms else float("nan")
        table.add_row(
            "worker start",
            f"{worker_ms:.0f} ms (stdlib pre-imports {info.get('preimport_ms', '?')} ms); "
            f"probing levels + start {started_ms:.0f} ms",
        )
        smoke = Job(
            code="import json, re, sqlite3\ndef double(x):\n    return x * 2\n",
            calls=[Call(function="double", args=[21])],
        )
        begin = time.perf_counter()
        result = sandbox.run(smoke)
        wall_ms = (time.perf_counter() - begin) * 1000
        program = sandbox.run(Job(code="print(input()[::-1])", mode="program", stdin_runs=["olleh"]))
    ok = (
        result.status == "ok"
        and result.calls
        and decode(result.calls[0].value) == 42
        and program.runs
        and program.runs[0].stdout == "hello\n"
    )
    if ok:
        table.add_row("smoke job", f"[green]ok[/] ({wall_ms:.1f} ms wall, {result.cpu_ms:.2f} ms child CPU)")
    else:
        detail = result.infra_message or result.model_dump_json(exclude_defaults=True)[:300]
        table.add_row("smoke job", f"[red]failed[/]: {detail}")
    console.print(table)
    raise typer.Exit(0 if ok else 1)
