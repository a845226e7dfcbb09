"""The ``realcode`` command. Each command lives in its own module and registers itself here."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="realcode",
    help="Train and evaluate code models with rewards from program analysis and unit tests.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

# Sub-command modules: each defines ``register(app)``. Importing them must stay cheap (no torch).
_COMMAND_MODULES = (
    "data", "bench", "scan", "doctor", "assess", "serve", "eval", "references", "report", "train", "sweep", "demo",
)

for _name in _COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"realcode.cli.{_name}")
    except ModuleNotFoundError as exc:  # a command whose module is not written yet
        if exc.name != f"realcode.cli.{_name}":
            raise
        continue
    _module.register(app)


def main() -> None:
    """Entry point of the ``realcode`` console script."""
    app()
