"""``realcode bench train``: a real GRPO step on a small model, its timings reach every part (no timing thresholds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from realcode.cli import app


def test_one_grpo_step_is_timed_in_its_parts(small_model: Path, tmp_path: Path) -> None:
    pytest.importorskip("trl")
    import torch

    threads = torch.get_num_threads()
    out = tmp_path / "train.json"
    result = CliRunner().invoke(
        app,
        [
            "bench", "train", "--model", str(small_model), "--repeats", "1", "--no-warmup", "--prompts", "1",
            "--num-generations", "2", "--max-new-tokens", "4", "--threads", "1", "--json", str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert torch.get_num_threads() == threads  # restored after the bench
    assert "generation" in result.output and "whole step" in result.output
    data = json.loads(out.read_text())
    (result_1,) = data["results"]
    assert result_1["threads"] == 1
    run = result_1["repeats"][0]
    # Each wrapped part of TRL's step was reached: a TRL that renamed a method would leave a part at zero.
    for part in ("generation", "reward", "logprob_forwards", "update"):
        assert run[f"{part}_s"] > 0, part
    assert run["generation_s"] + run["reward_s"] + run["logprob_forwards_s"] <= run["step_s"]
    assert run["completion_tokens_mean"] <= 4 and run["reward_mean"] is not None
    assert result_1["median_s"]["step"] == run["step_s"] and data["warmup"] is None
    assert data["settings"]["num_generations"] == 2 and data["machine"]["trl"]
    # The reward functions also scored the task's two references (patched and vulnerable).
    assert data["reference_reward"]["completions"] == 2 and data["reference_reward"]["median_s"] > 0


def test_untimed_algorithm_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "train", "--algorithm", "ppo", "--json", str(tmp_path / "x.json")])
    assert result.exit_code == 2 and "choose from grpo, rloo" in result.output
    assert not (tmp_path / "x.json").exists()
    result = CliRunner().invoke(app, ["bench", "train", "--threads", "1,1", "--json", str(tmp_path / "x.json")])
    assert result.exit_code == 2 and "distinct" in result.output
