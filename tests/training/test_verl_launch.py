"""The veRL engine: REAL's recipe becomes a veRL configuration that veRL's own validation accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("verl")

from realcode.training import verl_launch
from realcode.training.config import ConfigError, load_preset


def test_real_safesql_05b_recipe_passes_verl_validation(small_model: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    cfg = load_preset("real-safesql-0.5b")
    run = verl_launch.prepare(cfg, tmp_path, stand_in_model=small_model)
    text = run.config_file.read_text()
    # REAL's numbers made it into veRL's configuration.
    for expected in ("lr: 1.0e-06", "lr: 1.0e-05", "kl_coef: 0.001", "adv_estimator: gae", "train_batch_size: 256"):
        assert expected in text
    assert "model.path=Qwen/Qwen2.5-Coder-0.5B-Instruct" in run.launch_script.read_text()
    assert str(small_model) not in run.launch_script.read_text()  # the stand-in was for validation only
    rows = pq.read_table(run.train_file).to_pylist()
    assert len(rows) == 339 and rows[0]["extra_info"]["benchmark"] == "safesql"
    assert rows[0]["extra_info"]["preset"] == str(run.spec_file)
    assert len(pq.read_table(run.val_file)) == 85


def test_grpo_recipe_uses_group_sampling_and_kl_loss(small_model: Path, tmp_path: Path) -> None:
    run = verl_launch.prepare(load_preset("realcode-grpo").model_copy(update={"limit": 8}), tmp_path, stand_in_model=small_model)
    import yaml

    config = yaml.safe_load(run.config_file.read_text())
    assert config["algorithm"]["adv_estimator"] == "grpo"
    assert config["actor_rollout_ref"]["actor"]["use_kl_loss"] is True
    assert config["actor_rollout_ref"]["rollout"]["n"] == 8
    assert config["actor_rollout_ref"]["rollout"]["name"] == "vllm"


def test_verl_rejects_a_batch_that_does_not_divide_over_gpus(small_model: Path, tmp_path: Path) -> None:
    bad = load_preset("real-safesql-0.5b").model_copy(update={"train_batch_size": 250, "gpus_per_node": 8})
    with pytest.raises(ConfigError, match="veRL rejects this configuration"):
        verl_launch.prepare(bad, tmp_path, stand_in_model=small_model)


def test_offline_model_without_stand_in_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not available offline"):
        verl_launch.prepare(load_preset("real-safesql-0.5b").model_copy(update={"limit": 2}), tmp_path)


def test_launch_refuses_without_gpus(small_model: Path, tmp_path: Path) -> None:
    run = verl_launch.prepare(load_preset("real-seccodeplt-0.5b").model_copy(update={"limit": 4}), tmp_path, stand_in_model=small_model)
    with pytest.raises(ConfigError, match="needs GPUs"):
        verl_launch.launch(run)
