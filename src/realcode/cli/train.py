"""``realcode train sft|grpo|rloo|ppo``: training runs from presets, on one machine or on veRL."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console(stderr=True)

ALGORITHMS = ("sft", "grpo", "rloo", "ppo")


def train_command(
    algorithm: Annotated[str, typer.Argument(help="sft, grpo, rloo or ppo")],
    out: Annotated[Path, typer.Option("--out", "-o", help="run directory (resumed when it holds a checkpoint)")],
    preset: Annotated[str | None, typer.Option(help="a built-in preset name or a YAML file")] = None,
    model: Annotated[str | None, typer.Option(help="model id or local path (overrides the preset)")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="key=value setting, repeatable")] = None,
    engine: Annotated[str, typer.Option(help="local (TRL / our PPO) or verl (writes and launches a veRL run)")] = "local",
    prepare_only: Annotated[bool, typer.Option("--prepare-only", help="verl: write the config and data, do not launch")] = False,
    verl_stand_in: Annotated[
        Path | None, typer.Option("--verl-stand-in", help="verl: a local model dir to validate with when the model is not available here")
    ] = None,
    list_presets: Annotated[bool, typer.Option("--list-presets", help="list the built-in presets and exit")] = False,
) -> None:
    """Train with SFT, GRPO, RLOO or PPO (GAE) on the hybrid reward; every setting is saved with the run."""
    from realcode.training.config import ConfigError, TrainConfig, apply_overrides, load_preset, preset_names

    if list_presets:
        for name in preset_names():
            console.print(name)
        raise typer.Exit(0)
    if algorithm not in ALGORITHMS:
        console.print(f"[red]error:[/] unknown algorithm {algorithm!r}; known: {', '.join(ALGORITHMS)}")
        raise typer.Exit(2)
    try:
        cfg = load_preset(preset) if preset else TrainConfig()
        updates = [f"algorithm={algorithm}", f"engine={engine}", *(set_ or [])]
        if model:
            updates.append(f"model={model}")
        cfg = apply_overrides(cfg, updates)
        if engine == "verl":
            from realcode.training import verl_launch

            run = verl_launch.prepare(cfg, out, stand_in_model=verl_stand_in)
            console.print(f"veRL run prepared in {run.out_dir}: {run.config_file.name}, {run.launch_script.name}")
            if not prepare_only:
                raise typer.Exit(verl_launch.launch(run))
            return
        from realcode.training.trl_train import train

        console.print(f"training {cfg.algorithm} on {cfg.benchmark}/{cfg.split} from {cfg.model} -> {out}")
        final = train(cfg, out)
    except ConfigError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    console.print(f"done: final model in {final}")


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
