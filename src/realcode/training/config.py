"""Training configuration: one pydantic model holding every setting, presets in YAML, ``--set key=value``.

A run saves its full config (``train_config.yaml``) next to its checkpoints, so a run can always be read back
and resumed with exactly the settings it started with. This module imports no torch.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

Algorithm = Literal["sft", "grpo", "rloo", "ppo"]


class ConfigError(ValueError):
    """A preset or a setting is wrong; the message names the preset or the key."""


class TrainConfig(BaseModel):
    """Every setting of a training run."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    algorithm: Algorithm = "grpo"
    engine: Literal["local", "verl"] = "local"
    preset: str | None = None
    model: str = "Qwen/Qwen2.5-Coder-0.5B-Instruct"
    benchmark: str = "seccodeplt-plus"
    split: str = "train"
    eval_split: str = "test"
    data: str | None = None
    limit: int | None = Field(default=None, ge=1, description="use only the first N training tasks")
    reward_preset: str = "realcode-default"
    alpha: float | None = Field(default=None, ge=0.0, le=1.0, description="weight of quality in the hybrid reward")
    sft_reference: Literal["patched", "vulnerable", "canonical", "mixed"] = "patched"

    train_batch_size: int = Field(default=64, ge=1)
    mini_batch_size: int = Field(default=16, ge=1)
    micro_batch_size: int = Field(default=4, ge=1)
    max_prompt_length: int = Field(default=512, ge=8)
    max_response_length: int = Field(default=512, ge=1)
    num_generations: int = Field(default=8, ge=2, description="GRPO/RLOO group size")
    temperature: float = Field(default=1.0, gt=0.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)

    actor_lr: float = Field(default=1e-6, gt=0.0)
    critic_lr: float = Field(default=1e-5, gt=0.0)
    sft_lr: float = Field(default=1e-5, gt=0.0)
    kl_coef: float = Field(default=0.001, ge=0.0)
    entropy_coef: float = Field(default=0.001, ge=0.0)
    gamma: float = Field(default=1.0, ge=0.0, le=1.0)
    lam: float = Field(default=1.0, ge=0.0, le=1.0)
    clip_ratio: float = Field(default=0.2, gt=0.0)
    ppo_epochs: int = Field(default=1, ge=1)
    epochs: int = Field(default=1, ge=1)
    total_steps: int | None = Field(default=None, ge=1)

    lora: bool = False
    lora_r: int = Field(default=16, ge=1)
    lora_alpha: int = Field(default=32, ge=1)
    lora_dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    use_vllm: bool = False

    save_steps: int = Field(default=50, ge=1)
    logging: Literal["tensorboard", "wandb", "none"] = "tensorboard"
    seed: int = 0

    # Cluster settings, used by the veRL engine only.
    nodes: int = Field(default=1, ge=1)
    gpus_per_node: int = Field(default=1, ge=1)
    tensor_parallel: int = Field(default=1, ge=1)
    gpu_memory_utilization: float = Field(default=0.5, gt=0.0, le=1.0)


def preset_names() -> list[str]:
    """Names of the built-in presets."""
    folder = resources.files("realcode.training").joinpath("presets")
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _read_yaml(text: str, origin: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: malformed YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: expected a mapping of settings")
    return data


def _validate(data: dict[str, Any], origin: str) -> TrainConfig:
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            if err["type"] == "extra_forbidden":
                problems.append(f"unknown setting {key!r}")
            else:
                problems.append(f"{key}: {err['msg']} (got {err.get('input')!r})")
        raise ConfigError(f"{origin}: " + "; ".join(problems)) from None


def load_preset(name: str) -> TrainConfig:
    """A built-in preset by name, or a YAML file path. Unknown names list the known ones."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return _validate(_read_yaml(path.read_text(encoding="utf-8"), str(path)), str(path))
    if name not in preset_names():
        raise ConfigError(f"unknown preset {name!r}; known: {', '.join(preset_names())}")
    text = resources.files("realcode.training").joinpath("presets").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    data = _read_yaml(text, f"preset {name}")
    data.setdefault("preset", name)
    return _validate(data, f"preset {name}")


def apply_overrides(config: TrainConfig, overrides: list[str]) -> TrainConfig:
    """``key=value`` settings on top of ``config``; values are parsed as YAML scalars (``1e-6``, ``true``, ``[..]``)."""
    data = config.model_dump()
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set takes key=value, got {item!r}")
        key, raw = item.split("=", 1)
        key = key.strip()
        if key not in TrainConfig.model_fields:
            raise ConfigError(f"unknown setting {key!r}; known: {', '.join(sorted(TrainConfig.model_fields))}")
        try:
            data[key] = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            data[key] = raw
    return _validate(data, "--set")


def save_config(config: TrainConfig, out_dir: str | Path) -> Path:
    """Write ``train_config.yaml`` into the run directory."""
    path = Path(out_dir) / "train_config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config.model_dump(), sort_keys=False), encoding="utf-8")
    return path


def read_config(run_dir: str | Path) -> TrainConfig:
    """The config a run directory was started with."""
    path = Path(run_dir) / "train_config.yaml"
    if not path.is_file():
        raise ConfigError(f"{path} does not exist: not a realcode training run directory")
    return _validate(_read_yaml(path.read_text(encoding="utf-8"), str(path)), str(path))
