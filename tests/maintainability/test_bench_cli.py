"""``realcode bench maintainability``: a small run prints its tables and writes figures that agree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from realcode.tasks.paths import DataError, data_dir


def test_bench_small_run_writes_figures(tmp_path: Path) -> None:
    try:
        data_dir()
    except DataError:
        pytest.skip("benchmark data not available")
    out = tmp_path / "m.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "realcode.cli",
            "bench",
            "maintainability",
            "--batch-sizes",
            "4",
            "--repeats",
            "1",
            "--per-file",
            "1",
            "--agreement",
            "--limit",
            "2",
            "--jobs",
            "1",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**_env(), "COLUMNS": "160"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ms per snippet" in proc.stdout and "identical verdict" in proc.stdout
    figures = json.loads(out.read_text())
    assert [t["batch"] for t in figures["timing"]] == [4, 1]
    assert {(a["corpus"], a["prelude"]) for a in figures["agreement"]} == {
        (c, p) for c in ("apps-plus", "seccodeplt-plus", "own") for p in (False, True)
    }
    assert all(a["share"] == 1.0 for a in figures["agreement"]), figures["mismatches"]


def test_bench_rejects_bad_batch_sizes() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "realcode.cli", "bench", "maintainability", "--batch-sizes", "0,x"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert proc.returncode == 2
    assert "--batch-sizes" in proc.stdout and "Traceback" not in proc.stdout + proc.stderr


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)
