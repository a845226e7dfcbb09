"""`realcode eval` end to end on built-in data, including a SIGKILL in the middle and a resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from realcode.evaluation.records import read_records
from realcode.evaluation.run import EvalConfig, EvalError, EvalRun, policy_completion
from realcode.tasks import extract_code, load_tasks


def _eval(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "realcode.cli", "eval", "--out", str(out), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def _metrics_without_time(path: Path) -> dict[str, object]:
    data = json.loads((path / "metrics.json").read_text())
    data.pop("written_at")
    data.pop("name")
    return data


def test_kill_in_the_middle_then_resume_gives_identical_metrics(tmp_path: Path) -> None:
    args = ["--benchmark", "seccodeplt-plus", "--split", "test", "--policy", "vulnerable", "--limit", "30", "--batch-size", "3"]
    clean = tmp_path / "clean"
    assert _eval(clean, *args).returncode == 0

    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "realcode.cli", "eval", "--out", str(killed), *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    assessments = killed / "assessments.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if assessments.exists() and assessments.read_text().count("\n") >= 6:
            break
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = len(read_records(assessments))
    assert 0 < partial < 30, "the kill did not land in the middle of the run"
    assert not (killed / "metrics.json").exists()

    resumed = _eval(killed, *args)
    assert resumed.returncode == 0, resumed.stderr
    lines = [json.loads(x)["key"] for x in assessments.read_text().splitlines() if x.strip()]
    assert len(lines) == len(set(lines)) == 30  # no duplicates, nothing missing
    completions = [json.loads(x)["key"] for x in (killed / "completions.jsonl").read_text().splitlines() if x.strip()]
    assert len(completions) == len(set(completions)) == 30
    assert _metrics_without_time(killed) == _metrics_without_time(clean)


def test_a_directory_of_another_config_is_refused_and_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "run"
    EvalRun(out, EvalConfig(benchmark="humaneval", policy="canonical", limit=3)).run()
    before = (out / "assessments.jsonl").read_bytes()
    with pytest.raises(EvalError, match="another config.*benchmark: 'humaneval' there, 'safesql' now"):
        EvalRun(out, EvalConfig(benchmark="safesql", policy="canonical", limit=3)).run()
    assert (out / "assessments.jsonl").read_bytes() == before
    cli = _eval(out, "--benchmark", "apps-plus", "--policy", "canonical")
    assert cli.returncode == 2 and "another config" in cli.stderr


def test_reference_policies_answer_with_one_code_block() -> None:
    task = load_tasks("seccodeplt-plus", "test")[0]
    patched = extract_code(policy_completion(task, "patched")).code
    assert patched is not None and patched.strip() == (task.references.patched or "").strip()
    empty = extract_code(policy_completion(task, "empty")).code
    assert empty == f"def {task.entry.name}({', '.join(task.entry.parameters)}):\n    pass\n"
    with pytest.raises(EvalError, match="known: patched, vulnerable, canonical, empty"):
        policy_completion(task, "secure")


def test_completions_file_with_unknown_task_is_named(tmp_path: Path) -> None:
    comp = tmp_path / "c.jsonl"
    comp.write_text(json.dumps({"task_id": "HumanEval/0", "completion": "x"}) + "\n" + json.dumps({"task_id": "nope", "completion": "y"}) + "\n")
    with pytest.raises(EvalError, match=r"c\.jsonl:2: unknown task id 'nope'"):
        EvalRun(tmp_path / "r", EvalConfig(benchmark="humaneval", completions_file=str(comp))).run()


def test_completions_file_runs_alone(tmp_path: Path) -> None:
    comp = tmp_path / "c.jsonl"
    rows = [
        {"task_id": "HumanEval/0", "completion": "no code here"},
        {"task_id": "HumanEval/1", "completion": "```python\ndef separate_paren_groups(s):\n    return []\n```"},
    ]
    comp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    metrics = EvalRun(tmp_path / "r", EvalConfig(benchmark="humaneval", completions_file=str(comp), limit=2)).run()
    m = metrics["overall"]["metrics"]
    assert m["format_error"]["value"] == 0.5 and m["function"]["value"] == 0.0
