"""PPO (and GRPO) at cluster scale on veRL, with realcode's reward.

:func:`prepare` turns a :class:`TrainConfig` into everything veRL's ``main_ppo`` needs: the train and validation
parquet files (``realcode data export --format verl``), the reward spec as a file, the Hydra overrides that
reproduce the recipe (REAL's ``run/*/hybrid-*.sh`` for its presets), the composed configuration checked with
veRL's own ``validate_config``, and a ``launch.sh`` that starts ``python -m verl.trainer.main_ppo`` on a Ray
cluster. :func:`launch` runs that script; it needs GPUs and a Ray cluster, which a CPU machine does not have.
"""

from __future__ import annotations

import importlib.util
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from realcode.training.config import ConfigError, TrainConfig, save_config


@dataclass(frozen=True)
class VerlRun:
    """What :func:`prepare` wrote."""

    out_dir: Path
    overrides: list[str]
    train_file: Path
    val_file: Path
    spec_file: Path
    config_file: Path  # the composed veRL configuration, as YAML
    launch_script: Path


def _require_verl() -> None:
    if importlib.util.find_spec("verl") is None:
        raise ConfigError("the veRL engine needs veRL: pip install 'realcode[verl]' (veRL 0.9 on a GPU machine)")


def verl_overrides(cfg: TrainConfig, train_file: Path, val_file: Path) -> list[str]:
    """Hydra overrides of veRL's ``ppo_trainer`` config for this recipe, with realcode's reward function."""
    from realcode.rewards import verl as verl_reward

    if cfg.algorithm not in ("ppo", "grpo"):
        raise ConfigError(f"the veRL engine runs ppo or grpo, not {cfg.algorithm!r}")
    n = cfg.num_generations if cfg.algorithm == "grpo" else 1
    micro = cfg.micro_batch_size
    ov = [
        f"data.train_files={train_file}",
        f"data.val_files={val_file}",
        f"data.train_batch_size={cfg.train_batch_size}",
        f"data.max_prompt_length={cfg.max_prompt_length}",
        f"data.max_response_length={cfg.max_response_length}",
        "data.truncation=left",
        f"actor_rollout_ref.model.path={cfg.model}",
        "actor_rollout_ref.model.enable_gradient_checkpointing=true",
        f"actor_rollout_ref.actor.optim.lr={cfg.actor_lr}",
        f"actor_rollout_ref.actor.ppo_mini_batch_size={min(cfg.mini_batch_size, cfg.train_batch_size)}",
        f"actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu={micro}",
        f"actor_rollout_ref.actor.ppo_epochs={cfg.ppo_epochs}",
        f"actor_rollout_ref.actor.clip_ratio={cfg.clip_ratio}",
        f"actor_rollout_ref.actor.entropy_coeff={cfg.entropy_coef}",
        "actor_rollout_ref.rollout.name=vllm",
        f"actor_rollout_ref.rollout.n={n}",
        f"actor_rollout_ref.rollout.temperature={cfg.temperature}",
        f"actor_rollout_ref.rollout.top_p={cfg.top_p}",
        f"actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu={micro}",
        f"actor_rollout_ref.rollout.tensor_model_parallel_size={cfg.tensor_parallel}",
        f"actor_rollout_ref.rollout.gpu_memory_utilization={cfg.gpu_memory_utilization}",
        f"actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu={micro}",
        f"algorithm.gamma={cfg.gamma}",
        f"algorithm.lam={cfg.lam}",
        f"reward.custom_reward_function.path={verl_reward.__file__}",
        "reward.custom_reward_function.name=compute_score_batch",
        "reward.reward_manager.name=batch",
        "trainer.logger=[console,tensorboard]" if cfg.logging != "wandb" else "trainer.logger=[console,wandb]",
        f"trainer.n_gpus_per_node={cfg.gpus_per_node}",
        f"trainer.nnodes={cfg.nodes}",
        f"trainer.save_freq={cfg.save_steps}",
        "trainer.test_freq=20",
        f"trainer.total_epochs={cfg.epochs}",
        f"trainer.project_name=realcode-{cfg.benchmark}",
        f"trainer.experiment_name={cfg.preset or 'custom'}-{cfg.algorithm}",
        "trainer.resume_mode=auto",
    ]
    if cfg.total_steps is not None:
        ov.append(f"trainer.total_training_steps={cfg.total_steps}")
    if cfg.algorithm == "ppo":
        # REAL: GAE with a critic, KL as an in-reward penalty (veRL's kl_ctrl), critic lr 1e-5.
        ov += [
            "algorithm.adv_estimator=gae",
            "algorithm.use_kl_in_reward=true",
            f"algorithm.kl_ctrl.kl_coef={cfg.kl_coef}",
            "actor_rollout_ref.actor.use_kl_loss=false",
            f"critic.optim.lr={cfg.critic_lr}",
            f"critic.model.path={cfg.model}",
            f"critic.ppo_micro_batch_size_per_gpu={micro}",
        ]
    else:
        ov += [
            "algorithm.adv_estimator=grpo",
            "algorithm.use_kl_in_reward=false",
            "actor_rollout_ref.actor.use_kl_loss=true",
            f"actor_rollout_ref.actor.kl_loss_coef={cfg.kl_coef}",
        ]
    if cfg.lora:
        ov += [f"actor_rollout_ref.model.lora_rank={cfg.lora_r}", f"actor_rollout_ref.model.lora_alpha={cfg.lora_alpha}"]
    return ov


def compose(overrides: list[str]) -> Any:
    """veRL's ``ppo_trainer`` configuration with ``overrides`` applied (Hydra compose, as ``main_ppo`` does)."""
    _require_verl()
    import verl.trainer.main_ppo as main_ppo
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    config_dir = str(Path(main_ppo.__file__).parent / "config")
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=config_dir, version_base=None):
        return hydra_compose(config_name="ppo_trainer", overrides=overrides)


def validate(config: Any) -> None:
    """veRL's own checks of a composed configuration (batch divisibility, micro-batches, actor and critic)."""
    _require_verl()
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    try:
        validate_config(config, use_reference_policy=need_reference_policy(config), use_critic=need_critic(config))
    except (AssertionError, ValueError) as exc:
        raise ConfigError(f"veRL rejects this configuration: {exc}") from None


def prepare(cfg: TrainConfig, out_dir: str | Path, *, stand_in_model: str | Path | None = None) -> VerlRun:
    """Write data, reward spec, validated veRL config and ``launch.sh`` for ``cfg`` into ``out_dir``.

    veRL's validation reads the model's Hugging Face config. Where the model cannot be read here (a hub id on an
    offline machine), ``stand_in_model`` names a local model directory used in its place *for validation only*;
    the written configuration and ``launch.sh`` keep the recipe's model.
    """
    from omegaconf import OmegaConf

    from realcode.rewards.verl import write_verl_parquet
    from realcode.training.trl_train import reward_spec, training_tasks

    _require_verl()
    out = Path(out_dir).resolve()
    save_config(cfg, out)
    spec = reward_spec(cfg)
    spec_file = out / "reward_spec.yaml"
    spec_file.write_text(yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False), encoding="utf-8")
    train_file = write_verl_parquet(training_tasks(cfg), out / "data" / "train.parquet", preset=str(spec_file))
    val_file = write_verl_parquet(
        training_tasks(cfg, split=cfg.eval_split), out / "data" / "val.parquet", preset=str(spec_file)
    )
    overrides = [*verl_overrides(cfg, train_file, val_file), f"trainer.default_local_dir={out / 'checkpoints'}"]
    check = overrides
    if stand_in_model is not None:
        local = str(Path(stand_in_model).resolve())
        check = [
            f"{o.split('=', 1)[0]}={local}" if o.startswith(("actor_rollout_ref.model.path=", "critic.model.path=")) else o
            for o in overrides
        ]
    config = compose(overrides)
    try:
        validate(config if check is overrides else compose(check))
    except Exception as exc:  # hydra wraps the model loader's OSError in its own exception types
        if "couldn't connect" in str(exc) or "cached files" in str(exc):
            raise ConfigError(
                f"veRL's validation needs the config of model {cfg.model!r}, which is not available offline; "
                "pass a local model directory of the same family as the stand-in (--verl-stand-in PATH) "
                "or prepare the run where the model is downloaded"
            ) from None
        raise
    config_file = out / "verl_config.yaml"
    config_file.write_text(OmegaConf.to_yaml(config), encoding="utf-8")
    script = out / "launch.sh"
    args = " \\\n  ".join(shlex.quote(o) for o in overrides)
    script.write_text(
        "#!/usr/bin/env bash\n"
        "# Generated by realcode: PPO/GRPO on veRL with realcode's reward. Needs GPUs and a Ray cluster\n"
        "# (start one with `ray start --head` on the first node and `ray start --address=...` on the others).\n"
        "set -euo pipefail\n"
        f"export REALCODE_PRESET={shlex.quote(str(spec_file))}\n"
        f"{shlex.quote(sys.executable)} -m verl.trainer.main_ppo \\\n  {args} \"$@\"\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return VerlRun(out, overrides, train_file, val_file, spec_file, config_file, script)


def launch(run: VerlRun) -> int:
    """Start veRL's trainer (blocking); returns its exit code. Needs GPUs and Ray."""
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(
            f"veRL training needs GPUs; this machine has none. Copy {run.out_dir} to a GPU cluster and run "
            f"{run.launch_script}"
        )
    return subprocess.call(["bash", str(run.launch_script)])
