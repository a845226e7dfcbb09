"""`realcode data check`: a real run on a few tasks, and its errors on bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from typer.testing import CliRunner

from realcode.cli import app
from realcode.judge.datacheck import TaskCheck
from realcode.tasks import data_dir

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
    # Two real HumanEval rows, one with its canonical solution broken: the check names it and says why.
    with gzip.open(data_dir() / "humaneval" / "HumanEval.jsonl.gz", "rt") as fh:
        rows = [json.loads(line) for line in fh][:2]
    rows[1]["canonical_solution"] = "    return None\n"
    path = tmp_path / "humaneval-broken.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = runner.invoke(app, ["data", "check", "-b", "humaneval", "--data", str(path)])
    assert result.exit_code == 0, result.output
    assert "exceptions (1 tasks)" in result.output
    assert "HumanEval/1" in result.output and "check(candidate) failed an assertion" in result.output
    assert "HumanEval/0 " not in result.output.split("exceptions")[-1]


def test_vulnerable_references_fail_safety_tests() -> None:
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
    assert "dynamic security: insecure" in result.output and "no exceptions" in result.output


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
