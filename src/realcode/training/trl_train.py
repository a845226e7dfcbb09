"""SFT, GRPO and RLOO on TRL, and PPO on :mod:`realcode.training.ppo`, driven by one :class:`TrainConfig`.

Every trainer: loads the model offline-safely (a clear error when it is not local), builds its dataset from
benchmark tasks, saves the config with the run, logs every reward component (TensorBoard by default, Weights &
Biases when chosen and installed), checkpoints every ``save_steps`` and resumes from the last checkpoint of the
run directory when started again.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from realcode.tasks import Task, fence, load_tasks, render_prompt
from realcode.training.config import ConfigError, TrainConfig, save_config

REFERENCE_POLICIES = ("patched", "vulnerable", "canonical")


def training_tasks(cfg: TrainConfig, *, split: str | None = None) -> list[Task]:
    """The tasks a run trains on (or evaluates on, with ``split``)."""
    tasks = load_tasks(cfg.benchmark, split or cfg.split, cfg.data)
    tasks = [t for t in tasks if t.has_tests]
    if cfg.limit is not None:
        tasks = tasks[: cfg.limit]
    if not tasks:
        raise ConfigError(f"no tasks with tests in {cfg.benchmark} split {split or cfg.split}")
    return tasks


def sft_rows(tasks: Sequence[Task], reference: str, template: str = "real") -> list[dict[str, Any]]:
    """Conversational prompt/completion pairs from the tasks' references (``mixed``: patched and vulnerable)."""
    kinds = ("patched", "vulnerable") if reference == "mixed" else (reference,)
    rows = []
    for task in tasks:
        prompt = [{"role": m.role, "content": m.content} for m in render_prompt(task, template)]  # type: ignore[arg-type]
        for kind in kinds:
            code = task.reference(kind) or task.references.canonical  # type: ignore[arg-type]
            if code:
                rows.append({"prompt": prompt, "completion": [{"role": "assistant", "content": fence(code)}]})
    if not rows:
        raise ConfigError(f"the tasks have no {reference} reference to fine-tune on")
    return rows


def reward_spec(cfg: TrainConfig) -> Any:
    """The run's :class:`~realcode.rewards.RewardSpec`, with ``alpha`` applied when the config sets one."""
    from realcode.rewards.presets import load_spec

    spec = load_spec(cfg.reward_preset)
    if cfg.alpha is None:
        return spec
    if spec.quality_alpha is None and not ("functional" in spec.weights and len(spec.weights) > 1):
        raise ConfigError(f"reward preset {cfg.reward_preset!r} has no quality component to weigh with alpha")
    # Validated construction: model_copy would skip the spec's checks of the combination.
    return type(spec).model_validate({**spec.model_dump(), "quality_alpha": cfg.alpha})


def _trl() -> Any:
    """TRL, imported late (it pulls torch) and untyped (its package does not re-export its trainers)."""
    import importlib

    return importlib.import_module("trl")


def _device_args() -> dict[str, Any]:
    import torch

    if torch.cuda.is_available():
        return {"bf16": torch.cuda.is_bf16_supported()}
    return {"use_cpu": True, "bf16": False}


def _report_to(cfg: TrainConfig) -> list[str]:
    if cfg.logging == "none":
        return []
    if cfg.logging == "wandb":
        try:
            import wandb  # noqa: F401
        except ImportError:
            raise ConfigError("logging=wandb needs the wandb package: pip install wandb") from None
        return ["wandb"]
    return ["tensorboard"]


def _peft_config(cfg: TrainConfig) -> Any:
    if not cfg.lora:
        return None
    from peft import LoraConfig

    return LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout, task_type="CAUSAL_LM")


def _last_checkpoint(out: Path) -> str | None:
    ckpts = sorted(out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]) if p.name.split("-")[-1].isdigit() else -1)
    return str(ckpts[-1]) if ckpts else None


def _common_args(cfg: TrainConfig, out: Path, lr: float) -> dict[str, Any]:
    grad_acc = max(1, cfg.train_batch_size // cfg.micro_batch_size)
    args: dict[str, Any] = {
        "output_dir": str(out),
        "learning_rate": lr,
        "per_device_train_batch_size": cfg.micro_batch_size,
        "gradient_accumulation_steps": grad_acc,
        "num_train_epochs": cfg.epochs,
        "logging_steps": 1,
        "save_steps": cfg.save_steps,
        "save_total_limit": 2,
        "seed": cfg.seed,
        "report_to": _report_to(cfg),
        "disable_tqdm": False,
        **_device_args(),
    }
    if cfg.total_steps is not None:
        args["max_steps"] = cfg.total_steps
    return args


def _load(cfg: TrainConfig) -> tuple[Any, Any]:
    from realcode.generation.backend_hf import load_model_and_tokenizer
    from realcode.generation.types import ModelNotAvailableError

    try:
        model, tokenizer = load_model_and_tokenizer(cfg.model)
    except ModelNotAvailableError as exc:
        raise ConfigError(str(exc)) from None
    model.train()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def train_sft(cfg: TrainConfig, out_dir: str | Path, *, tasks: Sequence[Task] | None = None) -> Path:
    """Supervised fine-tuning on reference solutions with TRL's ``SFTTrainer``; returns the final model dir."""
    from datasets import Dataset

    trl = _trl()
    out = Path(out_dir)
    save_config(cfg, out)
    model, tokenizer = _load(cfg)
    rows = sft_rows(tasks if tasks is not None else training_tasks(cfg), cfg.sft_reference)
    args = trl.SFTConfig(
        **_common_args(cfg, out, cfg.sft_lr),
        max_length=cfg.max_prompt_length + cfg.max_response_length,
        lr_scheduler_type="constant",
    )
    trainer = trl.SFTTrainer(
        model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
        peft_config=_peft_config(cfg),
    )
    trainer.train(resume_from_checkpoint=_last_checkpoint(out))
    final = out / "final"
    trainer.save_model(str(final))
    tokenizer.save_pretrained(str(final))
    return final


def _rl_trainer(cfg: TrainConfig, out: Path, algorithm: str, tasks: Sequence[Task]) -> Any:
    from realcode.rewards.trl import reward_funcs, trl_dataset

    model, tokenizer = _load(cfg)
    funcs_typed, weights = reward_funcs(reward_spec(cfg), tasks=tasks)
    funcs: list[Any] = list(funcs_typed)
    trl = _trl()
    common = _common_args(cfg, out, cfg.actor_lr)
    # TRL counts a batch in completions: prompts per step x group size.
    common["per_device_train_batch_size"] = max(cfg.micro_batch_size, cfg.num_generations)
    common["gradient_accumulation_steps"] = max(1, cfg.train_batch_size // common["per_device_train_batch_size"])
    rl_args: dict[str, Any] = {
        "num_generations": cfg.num_generations,
        "max_completion_length": cfg.max_response_length,
        "temperature": cfg.temperature,
        "top_p": cfg.top_p,
        "beta": cfg.kl_coef,
        "reward_weights": weights,
        "use_vllm": cfg.use_vllm,
        "log_completions": False,
    }
    dataset = trl_dataset(tasks)
    if algorithm == "grpo":
        return trl.GRPOTrainer(
            model=model, reward_funcs=funcs, args=trl.GRPOConfig(**common, **rl_args), train_dataset=dataset,
            processing_class=tokenizer, peft_config=_peft_config(cfg),
        ), tokenizer
    return trl.RLOOTrainer(
        model=model, reward_funcs=funcs, args=trl.RLOOConfig(**common, **rl_args), train_dataset=dataset,
        processing_class=tokenizer, peft_config=_peft_config(cfg),
    ), tokenizer


def train_rl(cfg: TrainConfig, out_dir: str | Path, *, tasks: Sequence[Task] | None = None) -> Path:
    """GRPO or RLOO (``cfg.algorithm``) on the hybrid reward with TRL; returns the final model dir."""
    if cfg.algorithm not in ("grpo", "rloo"):
        raise ConfigError(f"train_rl runs grpo or rloo, not {cfg.algorithm!r}")
    out = Path(out_dir)
    save_config(cfg, out)
    trainer, tokenizer = _rl_trainer(cfg, out, cfg.algorithm, list(tasks) if tasks is not None else training_tasks(cfg))
    trainer.train(resume_from_checkpoint=_last_checkpoint(out))
    final = out / "final"
    trainer.save_model(str(final))
    tokenizer.save_pretrained(str(final))
    return final


def text_reward(
    cfg: TrainConfig, tasks: Sequence[Task], prompt_to_task: dict[tuple[int, ...], Task], tokenizer: Any
) -> Callable[[Sequence[list[int]], Sequence[list[int]]], list[float | None]]:
    """A token-id reward for :class:`~realcode.training.ppo.PPOTrainer`: decode, assess, score with the spec."""
    from realcode.assess import assess
    from realcode.rewards.scoring import score

    spec = reward_spec(cfg)

    def reward(prompts: Sequence[list[int]], responses: Sequence[list[int]]) -> list[float | None]:
        batch_tasks = [prompt_to_task[tuple(p)] for p in prompts]
        texts = tokenizer.batch_decode([list(r) for r in responses], skip_special_tokens=True)
        assessments = assess(batch_tasks, texts, checks=spec.required_checks())
        return [score(a, spec).total for a in assessments]

    return reward


def train_ppo(
    cfg: TrainConfig,
    out_dir: str | Path,
    *,
    tasks: Sequence[Task] | None = None,
    on_step: Callable[[dict[str, float]], None] | None = None,
) -> Path:
    """PPO with GAE (our trainer) on the hybrid reward; checkpoints and resumes; returns the final model dir."""
    import torch

    from realcode.training.ppo import PPOConfig, PPOTrainer

    out = Path(out_dir)
    save_config(cfg, out)
    model, tokenizer = _load(cfg)
    task_list = list(tasks) if tasks is not None else training_tasks(cfg)
    encoded: list[list[int]] = []
    prompt_to_task: dict[tuple[int, ...], Task] = {}
    for task in task_list:
        msgs = [{"role": m.role, "content": m.content} for m in render_prompt(task)]
        ids = list(tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, return_dict=True)["input_ids"])
        ids = ids[-cfg.max_prompt_length :]
        encoded.append(ids)
        prompt_to_task[tuple(ids)] = task
    ppo_cfg = PPOConfig(
        gamma=cfg.gamma, lam=cfg.lam, clip_ratio=cfg.clip_ratio, kl_coef=cfg.kl_coef, entropy_coef=cfg.entropy_coef,
        actor_lr=cfg.actor_lr, critic_lr=cfg.critic_lr, ppo_epochs=cfg.ppo_epochs, mini_batch_size=cfg.mini_batch_size,
        max_new_tokens=cfg.max_response_length, temperature=cfg.temperature, top_p=cfg.top_p, seed=cfg.seed,
    )
    trainer = PPOTrainer(
        model, text_reward(cfg, task_list, prompt_to_task, tokenizer), ppo_cfg,
        pad_token_id=int(tokenizer.pad_token_id), eos_token_id=tokenizer.eos_token_id,
    )
    state = out / "ppo-checkpoint"
    if (state / "ppo_state.pt").exists():
        trainer.load(state)
    steps_per_epoch = max(1, math.ceil(len(encoded) / cfg.train_batch_size))
    total = cfg.total_steps or cfg.epochs * steps_per_epoch
    log = _StepLogger(out, cfg)
    rng = torch.Generator().manual_seed(cfg.seed)
    while trainer.step_count < total:
        order = torch.randperm(len(encoded), generator=rng).tolist()
        start = (trainer.step_count % steps_per_epoch) * cfg.train_batch_size
        batch = [encoded[i] for i in order[start : start + cfg.train_batch_size]]
        started = time.perf_counter()
        stats = trainer.step(batch)
        stats["seconds"] = time.perf_counter() - started
        log.write(trainer.step_count, stats)
        if on_step:
            on_step(stats)
        if trainer.step_count % cfg.save_steps == 0 or trainer.step_count >= total:
            trainer.save(state)
    log.close()
    final = out / "final"
    trainer.policy.save_pretrained(str(final))  # type: ignore[operator]
    tokenizer.save_pretrained(str(final))
    return final


class _StepLogger:
    """Per-step statistics to ``metrics.jsonl`` and TensorBoard (when chosen and installed)."""

    def __init__(self, out: Path, cfg: TrainConfig) -> None:
        self.path = out / "train_log.jsonl"
        self.writer: Any = None
        if cfg.logging == "tensorboard":
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(out / "logs"))
            except ImportError:  # tensorboard not installed: the JSONL log still has everything
                self.writer = None

    def write(self, step: int, stats: dict[str, float]) -> None:
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"step": step, **stats}) + "\n")
        if self.writer is not None:
            for k, v in stats.items():
                if isinstance(v, float) and math.isfinite(v):
                    self.writer.add_scalar(f"train/{k}", v, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def train(cfg: TrainConfig, out_dir: str | Path, *, tasks: Sequence[Task] | None = None) -> Path:
    """Run the algorithm the config names; returns the final model directory."""
    if cfg.engine == "verl":
        raise ConfigError("engine=verl runs on a Ray cluster: use realcode.training.verl_launch (realcode train --engine verl)")
    if cfg.algorithm == "sft":
        return train_sft(cfg, out_dir, tasks=tasks)
    if cfg.algorithm in ("grpo", "rloo"):
        return train_rl(cfg, out_dir, tasks=tasks)
    return train_ppo(cfg, out_dir, tasks=tasks)
