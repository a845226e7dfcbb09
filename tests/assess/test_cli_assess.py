"""``realcode assess`` on real files: good input, malformed JSONL, unknown ids, unknown presets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from realcode.cli import app
from realcode.tasks import load_tasks

runner = CliRunner()


@pytest.fixture(scope="module")
def apps_ids() -> list[tuple[str, str]]:
    return [(t.id, t.references.canonical or "") for t in load_tasks("apps-plus")[:2]]


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_scores_a_file(tmp_path: Path, apps_ids: list[tuple[str, str]]) -> None:
    rows: list[object] = [
        {"task_id": tid, "completion": f"```python\n{code}\n```", "sample": i}
        for i, (tid, code) in enumerate(apps_ids)
    ]
    rows.append({"task_id": apps_ids[0][0], "completion": "I don't know.", "sample": 9})
    src = _write(tmp_path / "c.jsonl", rows)
    out = tmp_path / "out.jsonl"
    res = runner.invoke(
        app, ["assess", "-b", "apps-plus", "-c", str(src), "-o", str(out), "--preset", "real-apps"]
    )
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["sample"] for x in lines] == [0, 1, 9]
    assert lines[2]["reward"] == -1.0
    for x in lines[:2]:
        a = x["assessment"]
        mypy_r = {0: 1.0, 1: max(0.0, 1 - 0.5 * a["maintainability"]["mypy_errors"])}.get(
            a["maintainability"]["mypy_exit"], -0.5
        )
        assert x["components"]["maintainability"] == mypy_r
        assert x["reward"] == pytest.approx(0.5 * x["components"]["functional"] + 0.5 * mypy_r)


def test_malformed_jsonl_names_file_and_line(tmp_path: Path, apps_ids: list[tuple[str, str]]) -> None:
    src = _write(tmp_path / "bad.jsonl", [{"task_id": apps_ids[0][0], "completion": "x"}, '{"task_id": 3,'])
    res = runner.invoke(app, ["assess", "-b", "apps-plus", "-c", str(src), "-o", str(tmp_path / "o.jsonl")])
    assert res.exit_code == 2
    assert "bad.jsonl:2: not valid JSON" in res.output.replace("\n", "")


def test_missing_fields_and_unknown_ids(tmp_path: Path) -> None:
    src = _write(tmp_path / "m.jsonl", [{"completion": "x"}])
    res = runner.invoke(app, ["assess", "-b", "apps-plus", "-c", str(src), "-o", str(tmp_path / "o.jsonl")])
    assert res.exit_code == 2 and "m.jsonl:1: missing 'task_id'" in res.output.replace("\n", "")
    src = _write(tmp_path / "u.jsonl", [{"task_id": "no-such-task", "completion": "x"}])
    res = runner.invoke(app, ["assess", "-b", "apps-plus", "-c", str(src), "-o", str(tmp_path / "o.jsonl")])
    assert (
        res.exit_code == 2
        and "u.jsonl:1: unknown task id 'no-such-task' in apps-plus" in res.output.replace("\n", "")
    )


def test_unknown_preset_lists_known(tmp_path: Path, apps_ids: list[tuple[str, str]]) -> None:
    src = _write(tmp_path / "c.jsonl", [{"task_id": apps_ids[0][0], "completion": "x"}])
    res = runner.invoke(
        app,
        ["assess", "-b", "apps-plus", "-c", str(src), "-o", str(tmp_path / "o.jsonl"), "--preset", "real"],
    )
    assert res.exit_code == 2
    assert "unknown reward preset 'real'" in res.output and "real-apps" in res.output
