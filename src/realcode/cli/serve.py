"""``realcode serve``: the HTTP reward service (FastAPI + uvicorn)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console


def serve_command(
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")] = 8000,
    preset: Annotated[
        str | None,
        typer.Option(help="default reward preset or spec file (default: each benchmark's paper preset)"),
    ] = None,
    data: Annotated[str | None, typer.Option(help="benchmark data folder")] = None,
    cache_dir: Annotated[
        Path | None, typer.Option("--cache-dir", help="keep assessments on disk here")
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level")] = "warning",
) -> None:
    """Serve rewards over HTTP: POST /score (batches), POST /openrlhf, GET /health, GET /metrics."""
    err = Console(stderr=True, soft_wrap=True)
    try:
        import uvicorn

        from realcode.rewards.server import create_app
        from realcode.rewards.spec import SpecError
    except ImportError as exc:
        err.print(f"[red]error:[/] {exc.name} is not installed: pip install 'realcode[serve]'")
        raise typer.Exit(2) from None
    try:
        app = create_app(preset, data=data, cache_dir=cache_dir)
    except SpecError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    err.print(
        f"realcode reward service on http://{host}:{port} (POST /score, POST /openrlhf, GET /health, GET /metrics)"
    )
    uvicorn.run(app, host=host, port=port, log_level=log_level)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
