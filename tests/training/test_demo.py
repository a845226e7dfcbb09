"""`realcode demo` end to end in a micro configuration: every stage runs and the report has both runs.

Whether Quality rises is a property of the full-size demo (measured with `realcode demo`, recorded in
docs/benchmarks.md), not of a two-step run; this test checks the pipeline, its outputs and its resumption.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("trl")

from realcode.training.demo import MINIATURE_NOTE, DemoConfig, run_demo, select_tasks


def test_select_tasks_picks_functional_pairs_that_differ_in_security() -> None:
    tasks = select_tasks(DemoConfig(tasks=3, candidates=40))
    assert len(tasks) == 3 and len({t.id for t in tasks}) == 3
    assert all(t.split == "train" and t.references.patched and t.references.vulnerable for t in tasks)


def test_micro_demo_runs_every_stage_and_resumes(tmp_path: Path) -> None:
    cfg = DemoConfig(
        tasks=2, candidates=30, vocab_size=384, hidden_size=32, sft_epochs=1, rl_steps=1, num_generations=2,
        eval_samples=2, max_new_tokens=24,
    )
    lines: list[str] = []
    summary = run_demo(tmp_path, cfg, log=lines.append)
    assert set(summary["timings_s"]) >= {"select tasks", "build model", "sft", "evaluate before", "grpo", "evaluate after", "total"}
    assert summary["note"] == MINIATURE_NOTE
    for key in ("before", "after"):
        assert set(summary[key]) >= {"function", "quality", "func_qual"}
    report = (tmp_path / "report.md").read_text()
    assert "before RL (SFT)" in report and "after RL (GRPO, hybrid reward)" in report and "miniature" in report
    assert json.loads((tmp_path / "demo.json").read_text())["tasks"] == summary["tasks"]
    # Run again: trained models and finished evaluations are reused, not redone.
    finals = [*(tmp_path / "sft" / "final").rglob("*"), *(tmp_path / "grpo" / "final").rglob("*")]
    stamps = {p: p.stat().st_mtime_ns for p in finals}
    assert stamps
    again = run_demo(tmp_path, cfg, log=lines.append)
    assert again["before"] == summary["before"] and again["after"] == summary["after"]
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
