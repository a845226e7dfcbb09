"""Alpha sweeps: the trade-off table from hand-made metrics, bad input, and a real two-alpha sweep on CPU."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from realcode.cli import app
from realcode.training.config import TrainConfig
from realcode.training.sweep import (
    SweepError,
    SweepEval,
    alpha_label,
    best_alpha,
    parse_alphas,
    render_markdown,
    run_sweep,
    sweep_json,
    tradeoff_rows,
    write_tables,
)

# -- alpha values -------------------------------------------------------------------------------------------------


def test_parse_alphas_keeps_order_and_labels_compactly() -> None:
    assert parse_alphas("0, 0.3,0.5,0.7,1") == [0.0, 0.3, 0.5, 0.7, 1.0]
    assert parse_alphas([1, "0.25"]) == [1.0, 0.25]
    assert [alpha_label(v) for v in (0.0, 0.3, 1.0, 0.125)] == ["0", "0.3", "1", "0.125"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ("", "at least one alpha"),
        ("0,,1", "empty item"),
        ("0,abc", "'abc' is not a number"),
        ("0,1.5", "1.5 is outside [0, 1]"),
        ("-0.1", "outside [0, 1]"),
        ("nan", "outside [0, 1]"),
        ("0.5,0.50", "0.50 is given twice"),
        ("0.1234567,0.1234568", "too close"),
    ],
)
def test_bad_alpha_values_are_named(values: str, message: str) -> None:
    with pytest.raises(SweepError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_alphas(values)


# -- the table from hand-made metrics ------------------------------------------------------------------------------


def _run(alpha: Any, func: float, qual: float, fq: float, *, name: str = "", bench: str = "safesql") -> dict[str, Any]:
    def m(v: float) -> dict[str, float]:
        return {"value": v, "low": max(0.0, v - 0.1), "high": min(1.0, v + 0.1), "n": 10}

    return {
        "name": name or f"alpha-{alpha}",
        "benchmark": bench,
        "split": "test",
        "alpha": alpha,
        "overall": {"n_tasks": 10, "n_samples": 20, "metrics": {"function": m(func), "quality": m(qual), "func_qual": m(fq)}},
    }


def test_rows_are_sorted_by_alpha_and_keep_values_and_intervals() -> None:
    rows = tradeoff_rows([_run(1, 0.2, 0.9, 0.15), _run(0, 0.6, 0.3, 0.2), _run(0.5, 0.55, 0.7, 0.45)])
    assert [r.alpha for r in rows] == [0.0, 0.5, 1.0]
    assert rows[1].metrics["quality"] == {"value": 0.7, "low": pytest.approx(0.6), "high": pytest.approx(0.8)}
    assert (rows[0].n_tasks, rows[0].n_samples) == (10, 20)
    assert best_alpha(rows) == 0.5


def test_markdown_table_shows_percentages_with_intervals_and_bolds_best_func_qual() -> None:
    rows = tradeoff_rows([_run(0, 0.6, 0.3, 0.2), _run(0.5, 0.55, 0.7, 0.45)])
    md = render_markdown(rows, context="grpo on safesql")
    assert "| alpha | tasks | samples | Function | Quality | Func-Qual |" in md
    assert "| 0 | 10 | 20 | 60.0 [50.0, 70.0] | 30.0 [20.0, 40.0] | 20.0 [10.0, 30.0] |" in md
    assert "| 0.5 | 10 | 20 | 55.0 [45.0, 65.0] | 70.0 [60.0, 80.0] | **45.0 [35.0, 55.0]** |" in md
    assert "grpo on safesql" in md


def test_best_func_qual_tie_goes_to_the_smaller_alpha_and_nan_prints_a_dash() -> None:
    rows = tradeoff_rows([_run(0.7, 0.5, 0.5, 0.4), _run(0.3, 0.5, 0.5, 0.4)])
    assert best_alpha(rows) == 0.3
    nan_run = _run(0, 0.5, 0.5, 0.5)
    nan_run["overall"]["metrics"]["quality"] = {"value": math.nan, "low": math.nan, "high": math.nan}
    assert "| 0 | 10 | 20 | 50.0 [40.0, 60.0] | – |" in render_markdown(tradeoff_rows([nan_run]))


def test_json_and_markdown_files(tmp_path: Path) -> None:
    rows = tradeoff_rows([_run(0, 0.6, 0.3, 0.2), _run(1, 0.1, 0.9, 0.05)])
    md, js = write_tables(rows, tmp_path, context="ctx", evaluation={"split": "test"})
    data = json.loads(js.read_text())
    assert data == json.loads(json.dumps(sweep_json(rows, evaluation={"split": "test"})))
    assert data["best_func_qual_alpha"] == 0.0 and [r["alpha"] for r in data["rows"]] == [0.0, 1.0]
    assert data["rows"][1]["quality"]["value"] == 0.9 and data["evaluation"] == {"split": "test"}
    assert md.read_text().startswith("# Alpha sweep")


@pytest.mark.parametrize(
    ("runs", "message"),
    [
        ([], "no evaluation run"),
        ([_run(None, 0.1, 0.1, 0.1, name="x")], "run 'x' has no numeric 'alpha'"),
        ([_run(True, 0.1, 0.1, 0.1, name="x")], "run 'x' has no numeric 'alpha'"),
        ([_run(0.5, 0.1, 0.1, 0.1), _run(0.5, 0.2, 0.2, 0.2, name="y")], "alpha 0.5 appears in two runs"),
        ([_run(0, 0.1, 0.1, 0.1), _run(1, 0.1, 0.1, 0.1, bench="apps-plus")], "different benchmarks or splits"),
    ],
)
def test_table_input_errors_are_named(runs: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(SweepError, match=message):
        tradeoff_rows(runs)


def test_a_run_without_an_interval_is_refused() -> None:
    run = _run(0.3, 0.1, 0.1, 0.1, name="r")
    del run["overall"]["metrics"]["func_qual"]["low"]
    with pytest.raises(SweepError, match=r"run 'r' \(alpha 0.3\) has no Func-Qual value with an interval"):
        tradeoff_rows([run])


# -- bad configurations: refused before anything is trained ----------------------------------------------------------


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ({"algorithm": "sft"}, "not sft"),
        ({"engine": "verl"}, "engine=local"),
    ],
)
def test_configs_that_cannot_be_swept_are_refused_early(tmp_path: Path, update: dict[str, Any], message: str) -> None:
    with pytest.raises(SweepError, match=message):
        run_sweep(TrainConfig.model_validate(update), [0.0, 1.0], tmp_path)
    assert not list(tmp_path.iterdir())


def test_eval_settings_are_checked() -> None:
    with pytest.raises(SweepError, match="at least 1"):
        SweepEval(limit=0)
    with pytest.raises(SweepError, match="seed"):
        SweepEval(seeds=())


def test_cli_bad_values_exit_2_with_the_culprit(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["sweep", "alpha", "--values", "0,2", "--out", str(tmp_path / "s")])
    assert result.exit_code == 2
    assert "alpha 2 is outside" in result.output
    assert not (tmp_path / "s").exists()


# -- a real sweep: two alphas, one GRPO step each, three eval tasks, on CPU ----------------------------------------------


def _sweep_args(model: Path, out: Path, *extra: str) -> list[str]:
    sets = {
        "benchmark": "seccodeplt-plus", "reward_preset": "real-seccodeplt", "limit": "2", "total_steps": "1",
        "train_batch_size": "2", "micro_batch_size": "2", "num_generations": "2", "max_prompt_length": "384",
        "max_response_length": "8", "save_steps": "1", "logging": "none",
    }
    args = ["sweep", "alpha", "--values", "0,1", "--algorithm", "grpo", "--model", str(model), "--eval-limit", "3"]
    for k, v in sets.items():
        args += ["--set", f"{k}={v}"]
    return [*args, *extra, "--out", str(out)]


def test_real_sweep_trains_evaluates_tabulates_and_resumes(small_model: Path, tmp_path: Path) -> None:
    pytest.importorskip("trl")
    out = tmp_path / "sweep"
    result = CliRunner().invoke(app, _sweep_args(small_model, out))
    assert result.exit_code == 0, result.output

    for alpha, label in ((0.0, "0"), (1.0, "1")):
        run = out / f"alpha-{label}"
        # Each alpha trained with its own reward weight, and its eval run knows it.
        assert f"alpha: {alpha}" in (run / "train" / "train_config.yaml").read_text()
        assert (run / "train" / "final" / "config.json").is_file()
        metrics = json.loads((run / "eval" / "metrics.json").read_text())
        assert metrics["alpha"] == alpha and metrics["overall"]["n_tasks"] == 3
        assert metrics["config"]["model"] == str((run / "train" / "final").resolve())
        assert metrics["split"] == "test"

    table = json.loads((out / "sweep.json").read_text())
    assert [r["alpha"] for r in table["rows"]] == [0.0, 1.0]
    assert table["evaluation"]["limit"] == 3 and table["base_config"]["reward_preset"] == "real-seccodeplt"
    for row, label in zip(table["rows"], ("0", "1"), strict=True):
        metrics = json.loads((out / f"alpha-{label}" / "eval" / "metrics.json").read_text())["overall"]["metrics"]
        for key in ("function", "quality", "func_qual"):
            assert row[key]["value"] == metrics[key]["value"] and 0.0 <= row[key]["low"] <= row[key]["high"] <= 1.0
    md = (out / "sweep.md").read_text()
    assert "| 0 | 3 | 3 |" in md and "| 1 | 3 | 3 |" in md
    html = (out / "report.html").read_text()
    assert "Function vs Quality" in html and "(α=0.0)" in html and "(α=1.0)" in html and "<svg" in html

    # Started again: nothing is retrained, evaluation resumes with nothing to do, the table is the same.
    final = out / "alpha-0" / "train" / "final"
    stamps = {p.name: p.stat().st_mtime_ns for p in final.iterdir()}
    completions = (out / "alpha-0" / "eval" / "completions.jsonl").read_text()
    again = CliRunner().invoke(app, _sweep_args(small_model, out))
    assert again.exit_code == 0, again.output
    assert again.output.count("trained already") == 2 and "training grpo" not in again.output
    assert {p.name: p.stat().st_mtime_ns for p in final.iterdir()} == stamps
    assert (out / "alpha-0" / "eval" / "completions.jsonl").read_text() == completions
    assert json.loads((out / "sweep.json").read_text())["rows"] == table["rows"]

    # Killed after its last checkpoint but before the final model was saved: that alpha resumes from the checkpoint
    # (no new step), the other is left alone.
    ckpt = out / "alpha-1" / "train" / "checkpoint-1" / "trainer_state.json"
    ckpt_stamp = ckpt.stat().st_mtime_ns
    shutil.rmtree(out / "alpha-1" / "train" / "final")
    (out / "alpha-1" / "trained.json").unlink()
    resumed = CliRunner().invoke(app, _sweep_args(small_model, out))
    assert resumed.exit_code == 0, resumed.output
    assert resumed.output.count("trained already") == 1 and resumed.output.count("training grpo") == 1
    assert (out / "alpha-1" / "train" / "final" / "config.json").is_file()
    assert ckpt.stat().st_mtime_ns == ckpt_stamp  # loaded, not trained over from step 0

    # The same directory with another training config is refused, naming the difference, and left as it was.
    other = CliRunner().invoke(app, _sweep_args(small_model, out, "--set", "total_steps=3"))
    assert other.exit_code == 2
    assert "another config" in other.output and "total_steps" in other.output
    assert {p.name: p.stat().st_mtime_ns for p in final.iterdir()} == stamps
