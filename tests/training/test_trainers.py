"""SFT, GRPO and PPO runs on a tiny offline model: real TRL and torch steps on CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("trl")

from realcode.tasks import load_tasks
from realcode.training.config import ConfigError, TrainConfig, read_config
from realcode.training.trl_train import reward_spec, sft_rows, train


@pytest.fixture(scope="module")
def tasks() -> list:  # type: ignore[type-arg]
    return load_tasks("seccodeplt-plus", "train")[:2]


def _cfg(model: Path, algorithm: str, **kw: object) -> TrainConfig:
    base = dict(
        algorithm=algorithm, model=str(model), benchmark="seccodeplt-plus", train_batch_size=2, micro_batch_size=2,
        mini_batch_size=2, num_generations=2, max_prompt_length=384, max_response_length=8, total_steps=1,
        save_steps=1, reward_preset="real-seccodeplt", logging="tensorboard",
    )
    base.update(kw)
    return TrainConfig.model_validate(base)


def test_sft_saves_config_checkpoint_and_final_model_and_resumes(small_model: Path, tasks: list, tmp_path: Path) -> None:  # type: ignore[type-arg]
    from transformers import AutoModelForCausalLM

    cfg = _cfg(small_model, "sft", sft_reference="mixed", max_prompt_length=2048, max_response_length=512)
    final = train(cfg, tmp_path, tasks=tasks)
    assert read_config(tmp_path) == cfg
    assert (tmp_path / "checkpoint-1").is_dir()
    AutoModelForCausalLM.from_pretrained(final)
    # Started again with more steps, it resumes from checkpoint-1 instead of starting over.
    train(cfg.model_copy(update={"total_steps": 2}), tmp_path, tasks=tasks)
    state = json.loads((tmp_path / "checkpoint-2" / "trainer_state.json").read_text())
    assert state["global_step"] == 2
    assert list((tmp_path / "logs").rglob("events.out.tfevents*")) or list(tmp_path.rglob("events.out.tfevents*"))


def test_sft_rows_mixed_has_both_references(tasks: list) -> None:  # type: ignore[type-arg]
    rows = sft_rows(tasks, "mixed")
    assert len(rows) == 4
    assert rows[0]["prompt"] == rows[1]["prompt"] and rows[0]["completion"] != rows[1]["completion"]


def test_grpo_step_logs_every_reward_component(small_model: Path, tasks: list, tmp_path: Path) -> None:  # type: ignore[type-arg]
    final = train(_cfg(small_model, "grpo"), tmp_path, tasks=tasks)
    assert (final / "config.json").is_file()
    state = json.loads((tmp_path / "checkpoint-1" / "trainer_state.json").read_text())
    logged = state["log_history"][0]
    assert "rewards/realcode_functional/mean" in logged and "rewards/realcode_security/mean" in logged


def test_ppo_step_writes_log_and_resumable_state(small_model: Path, tasks: list, tmp_path: Path) -> None:  # type: ignore[type-arg]
    cfg = _cfg(small_model, "ppo")
    train(cfg, tmp_path, tasks=tasks)
    log = [json.loads(x) for x in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1]
    assert "reward_mean" in log[0] and "value_loss" in log[0]
    train(cfg.model_copy(update={"total_steps": 2}), tmp_path, tasks=tasks)
    log = [json.loads(x) for x in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2]  # resumed at step 2, not restarted


def test_alpha_reweights_the_hybrid_reward() -> None:
    spec = reward_spec(TrainConfig(reward_preset="real-seccodeplt", alpha=0.8))
    assert spec.quality_alpha == 0.8


def test_model_that_cannot_load_offline_says_how_to_fix(tmp_path: Path, tasks: list) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError, match="local directory"):
        train(_cfg(Path("Qwen/Qwen2.5-Coder-0.5B-Instruct"), "sft"), tmp_path, tasks=tasks)


def test_lora_sft_trains_only_adapters(small_model: Path, tasks: list, tmp_path: Path) -> None:  # type: ignore[type-arg]
    cfg = _cfg(small_model, "sft", lora=True, lora_r=4, lora_alpha=8, max_prompt_length=2048, max_response_length=512)
    final = train(cfg, tmp_path, tasks=tasks)
    assert (final / "adapter_config.json").is_file()  # PEFT saved an adapter, not a full model
    assert json.loads((final / "adapter_config.json").read_text())["r"] == 4
