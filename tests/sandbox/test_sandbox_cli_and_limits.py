"""Limits that are per call, third-party imports, and the two commands: ``realcode doctor`` and
``realcode bench sandbox``."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from realcode.cli import app
from realcode.sandbox import Call, Job, Limits, Sandbox
from realcode.sandbox.serialize import decode

BURN = "import time\ndef burn(seconds):\n    start = time.process_time()\n    while time.process_time() - start < seconds:\n        pass\n    return 'done'\n"


def test_each_call_has_its_own_cpu_budget(sandbox: Sandbox) -> None:
    # Three calls of 0.25 s CPU each fit a 0.5 s budget per call, though not a shared one.
    limits = Limits(cpu_seconds=0.5, wall_seconds=60)
    job = Job(
        code=BURN,
        calls=[Call(function="burn", args=[0.25])] * 3 + [Call(function="burn", args=[5])],
        limits=limits,
    )
    result = sandbox.run(job)
    assert [c.status for c in result.calls] == ["ok", "ok", "ok", "timeout"]
    assert all(c.cpu_ms >= 250 for c in result.calls[:3])


def test_cpu_time_not_wall_time_decides(sandbox: Sandbox) -> None:
    job = Job(
        code="import time\ntime.sleep(0.3)\nprint('woke')",
        mode="program",
        stdin_runs=[""],
        limits=Limits(cpu_seconds=0.1, wall_seconds=30),
    )
    run = sandbox.run(job).runs[0]
    assert run.status == "ok" and run.stdout == "woke\n"


@pytest.mark.skipif(importlib.util.find_spec("numpy") is None, reason="numpy is not installed")
def test_host_site_packages_are_importable(sandbox: Sandbox) -> None:
    job = Job(
        code="import numpy as np\ndef f():\n    return np.arange(4).sum(), np.float64(0.5)",
        calls=[Call(function="f")],
    )
    result = sandbox.run(job)
    assert result.status == "ok", result.load_exc_message
    assert decode(result.calls[0].value) == (6, 0.5)


def test_doctor_reports_a_working_sandbox() -> None:
    outcome = CliRunner().invoke(app, ["doctor"])
    assert outcome.exit_code == 0, outcome.output
    assert "isolation" in outcome.output and "smoke job" in outcome.output and "ok" in outcome.output


def test_doctor_names_an_unknown_level() -> None:
    outcome = CliRunner().invoke(app, ["doctor", "--isolation", "chroot"])
    assert outcome.exit_code == 1
    assert "chroot" in outcome.output


def test_bench_sandbox_writes_figures(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    outcome = CliRunner().invoke(
        app,
        [
            "bench",
            "sandbox",
            "--jobs",
            "4",
            "--repeats",
            "1",
            "--baseline-jobs",
            "1",
            "--workers",
            "1",
            "--json",
            str(out),
        ],
    )
    assert outcome.exit_code == 0, outcome.output
    figures = json.loads(out.read_text())
    assert [row["workload"] for row in figures["rows"]] == ["calls", "program", "sql"]
    for row in figures["rows"]:
        assert row["failures"] == 0
        assert row["pool_cpu_ms"] > 0 and row["baseline_cpu_ms"] > 0
