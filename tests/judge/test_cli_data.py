"""`realcode data check`: a real run on a few tasks, and its errors on bad input."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from realcode.cli import app
from realcode.judge.datacheck import TaskCheck

runner = CliRunner(env={"COLUMNS": "200"})  # no wrapping inside paths


def test_check_writes_one_verdict_per_task(tmp_path: Path) -> None:
    out = tmp_path / "verdicts.jsonl"
    result = runner.invoke(
        app, ["data", "check", "--benchmark", "humaneval", "--limit", "3", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "stage passed" in result.output and "no exceptions" in result.output
    checks = [TaskCheck.model_validate(json.loads(line)) for line in out.read_text().splitlines()]
    assert [c.task_id for c in checks] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    assert all(c.ok and c.verdict is not None and c.verdict.stage.value == "passed" for c in checks)


def test_exceptions_are_listed_by_task(tmp_path: Path) -> None:
    # SecCodePLT's vulnerable references fail safety tests by design: the patched promise names them.
    args = [
        "data",
        "check",
        "-b",
        "seccodeplt-plus",
        "--split",
        "test",
        "--limit",
        "2",
        "--reference",
        "vulnerable",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "no exceptions" in result.output  # vulnerable: capability passes, a safety test fails


def test_unknown_benchmark_lists_the_known_ones() -> None:
    result = runner.invoke(app, ["data", "check", "--benchmark", "mbpp"])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "unknown benchmark 'mbpp'" in text and "seccodeplt-plus" in text and "humaneval" in text


def test_missing_data_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-data-here"
    result = runner.invoke(app, ["data", "check", "--benchmark", "safesql", "--data", str(missing)])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "no-data-here" in text and "--data" in text


def test_unknown_reference() -> None:
    result = runner.invoke(app, ["data", "check", "--benchmark", "humaneval", "--reference", "best"])
    assert result.exit_code == 2 and "unknown reference" in result.output
