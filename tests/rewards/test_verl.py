"""veRL adapter: exported parquet rows carry what ``compute_score`` needs; veRL's reward managers call it.

The reward-manager tests need veRL itself (``pip install 'realcode[verl]'``); veRL 0.9 pins
``transformers<5.11``, so it is not in the default environment and those tests skip without it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from realcode.assess import assess
from realcode.rewards import get_preset, score
from realcode.rewards.verl import compute_score, compute_score_batch
from realcode.tasks import Task, load_tasks


@pytest.fixture(scope="module")
def tasks() -> list[Task]:
    return load_tasks("apps-plus")[:3]


def _export(tmp_path: Path, fmt: str, suffix: str) -> Path:
    import typer

    from realcode.cli.data_export import export

    app = typer.Typer()
    app.command()(export)
    out = tmp_path / f"apps.{suffix}"
    res = CliRunner().invoke(app, ["--benchmark", "apps-plus", "--format", fmt, "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_parquet_rows_feed_compute_score(tmp_path: Path, tasks: list[Task]) -> None:
    rows = pq.read_table(_export(tmp_path, "verl", "parquet")).to_pylist()
    assert len(rows) == len(load_tasks("apps-plus"))
    row = rows[0]
    assert row["data_source"] == "realcode/apps-plus" and row["ability"] == "code"
    assert row["reward_model"] == {"style": "rule", "ground_truth": tasks[0].id}
    assert row["extra_info"]["task_id"] == tasks[0].id and row["extra_info"]["preset"] == "real-apps"
    assert row["prompt"][-1]["role"] == "user"
    answers = [f"```python\n{t.references.canonical}\n```" for t in tasks]
    got = compute_score_batch(
        [r["data_source"] for r in rows[:3]],
        answers,
        [r["reward_model"]["ground_truth"] for r in rows[:3]],
        [r["extra_info"] for r in rows[:3]],
    )
    spec = get_preset("real-apps")
    want = [score(a, spec).total for a in assess(tasks, answers, checks=spec.required_checks(), max_tests=5)]
    assert [g["score"] for g in got] == pytest.approx(want)
    assert all(g["infra_error"] == 0.0 and math.isnan(g["security"]) for g in got)
    one = compute_score(
        rows[0]["data_source"], "no code here", rows[0]["reward_model"]["ground_truth"], rows[0]["extra_info"]
    )
    assert one["score"] == -1.0


def test_jsonl_export_labels(tmp_path: Path) -> None:
    import json

    first = json.loads(_export(tmp_path, "jsonl", "jsonl").read_text().splitlines()[0])
    assert json.loads(first["label"]) == {"task_id": first["task_id"], "benchmark": "apps-plus"}


def test_export_errors(tmp_path: Path) -> None:
    import typer

    from realcode.cli.data_export import export

    app = typer.Typer()
    app.command()(export)
    res = CliRunner().invoke(app, ["--benchmark", "apps", "--format", "csv", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "--format must be verl or jsonl" in res.output
    res = CliRunner().invoke(app, ["--benchmark", "nope", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "unknown benchmark 'nope'" in res.output


def test_unknown_task_scores_nan_with_error_flag() -> None:
    [r] = compute_score_batch(["realcode/apps-plus"], ["```python\nx=1\n```"], ["no-such-task"], [{}])
    assert math.isnan(r["score"]) and r["sample_error"] == 1.0 and r["infra_error"] == 0.0


class _CharTokenizer:
    """Enough of a tokenizer for veRL's reward managers: ids are code points, 0 is padding."""

    def encode(self, text: str) -> list[int]:
        return [ord(c) for c in text]

    def decode(self, ids: Any, skip_special_tokens: bool = True) -> str:
        return "".join(chr(int(i)) for i in ids if int(i) != 0)


def _data_proto(rows: list[dict[str, Any]], prompts: list[str], responses: list[str]) -> Any:
    import numpy as np
    import torch
    from verl import DataProto

    tok = _CharTokenizer()
    plen, rlen = max(map(len, prompts)), max(map(len, responses))
    p = torch.zeros(len(rows), plen, dtype=torch.long)
    r = torch.zeros(len(rows), rlen, dtype=torch.long)
    mask = torch.zeros(len(rows), plen + rlen, dtype=torch.long)
    for i, (ps, rs) in enumerate(zip(prompts, responses, strict=True)):
        pi, ri = tok.encode(ps), tok.encode(rs)
        p[i, plen - len(pi) :] = torch.tensor(pi)  # left-padded prompts, right-padded responses, as veRL does
        r[i, : len(ri)] = torch.tensor(ri)
        mask[i, plen - len(pi) : plen + len(ri)] = 1
    return DataProto.from_dict(
        tensors={"prompts": p, "responses": r, "attention_mask": mask, "input_ids": torch.cat([p, r], dim=1)},
        non_tensors={
            "data_source": np.array([row["data_source"] for row in rows], dtype=object),
            "reward_model": np.array([row["reward_model"] for row in rows], dtype=object),
            "extra_info": np.array([row["extra_info"] for row in rows], dtype=object),
        },
    )


@pytest.mark.parametrize(("manager", "fn"), [("batch", compute_score_batch), ("naive", compute_score)])
def test_verl_reward_manager(tmp_path: Path, tasks: list[Task], manager: str, fn: Any) -> None:
    pytest.importorskip("verl")
    from verl.workers.reward_manager import get_reward_manager_cls

    rows = pq.read_table(_export(tmp_path, "verl", "parquet")).to_pylist()[:3]
    responses = [
        f"```python\n{tasks[0].references.canonical}\n```",
        "no code",
        f"```python\n{tasks[2].references.canonical}\n```",
    ]
    data = _data_proto(rows, ["solve:"] * 3, responses)
    rm = get_reward_manager_cls(manager)(tokenizer=_CharTokenizer(), num_examine=0, compute_score=fn)
    out = rm(data, return_dict=True)
    tensor = out["reward_tensor"]
    spec = get_preset("real-apps")
    want = [
        score(a, spec).total for a in assess(tasks, responses, checks=spec.required_checks(), max_tests=5)
    ]
    for i, resp in enumerate(responses):
        assert float(tensor[i, len(resp) - 1]) == pytest.approx(want[i])  # the reward sits on the last token
        assert float(tensor[i].sum()) == pytest.approx(want[i])
    assert list(out["reward_extra_info"]["score"]) == pytest.approx(want)
    assert "maintainability" in out["reward_extra_info"]
