"""The detector benchmark on a slice of the real SecCodePLT data, with the real tools."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from realcode.cli import app
from realcode.evaluation.detector_bench import (
    Confusion,
    Sample,
    cwe_matches,
    load_samples,
    run_bench,
    score,
)
from realcode.evaluation.detectors_tools import RUFF_TO_CWE, BanditDetector, Detection, Program, RuffDetector
from realcode.tasks.paths import DataError, data_dir

try:
    data_dir()
    HAVE_DATA = True
except DataError:
    HAVE_DATA = False

needs_data = pytest.mark.skipif(not HAVE_DATA, reason="benchmark data (../shared/data) not available")


def test_confusion_metrics() -> None:
    c = Confusion()
    for vulnerable, flagged in [(True, True)] * 3 + [(True, False)] + [(False, True)] + [(False, False)] * 3:
        c.add(vulnerable, flagged)
    assert (c.tp, c.fn, c.fp, c.tn) == (3, 1, 1, 3)
    assert c.precision == pytest.approx(0.75) and c.recall == pytest.approx(0.75)
    assert c.f1 == pytest.approx(0.75) and c.fpr == pytest.approx(0.25)
    assert Confusion().f1 == 0.0


def test_cwe_matching_follows_the_hierarchy() -> None:
    assert (
        cwe_matches("CWE-77", "CWE-78")
        and cwe_matches("CWE-94", "CWE-95")
        and cwe_matches("CWE-74", "CWE-89")
    )
    assert not cwe_matches("CWE-78", "CWE-77") and not cwe_matches("CWE-89", None)


def test_views_and_subsets() -> None:
    samples = [
        Sample("t1", "CWE-327", True, "test", "f", "vulnerable", ""),
        Sample("t1", "CWE-327", True, "test", "f", "patched", ""),
        Sample("t2", "CWE-78", False, "rule", "g", "vulnerable", ""),
        Sample("t2", "CWE-78", False, "rule", "g", "patched", ""),
    ]
    dets = [
        Detection(frozenset({"CWE-327"}), ("A",)),
        Detection(frozenset({"CWE-20"}), ("B",)),  # flagged, but not for the task's CWE
        Detection(frozenset({"CWE-77"}), ("C",)),  # a parent CWE is not the right CWE
        Detection(),
    ]
    tables = score(samples, dets)
    any_t, right_t = tables["tested"]["test"]["any"].overall, tables["tested"]["test"]["right_cwe"].overall
    assert (any_t.tp, any_t.fp) == (1, 1) and (right_t.tp, right_t.fp) == (1, 0)
    rule_right = tables["rule_based"]["all"]["right_cwe"].per_cwe["CWE-78"]
    assert (rule_right.tp, rule_right.fn, rule_right.tn) == (0, 1, 1)
    assert not tables["rule_based"]["test"]["any"].per_cwe  # rule-based rows are in no REAL split


def test_ruff_table_covers_the_bandit_mirrors() -> None:
    assert RUFF_TO_CWE["S608"] == "CWE-89" and RUFF_TO_CWE["S324"] == "CWE-327"
    assert all(
        code.startswith("S") and (cwe is None or cwe.startswith("CWE-")) for code, cwe in RUFF_TO_CWE.items()
    )


def test_bandit_and_ruff_runners_on_known_snippets() -> None:
    programs = [
        Program("import hashlib\nhashlib.md5(b'x')\n"),
        Program("def add(a, b):\n    return a + b\n"),
        Program("def broken(:\n"),
    ]
    bandit = BanditDetector().run(programs).detections
    assert "CWE-327" in bandit[0].cwes and not bandit[1].flagged and bandit[2].error
    if shutil.which("ruff") is None:
        pytest.skip("ruff not installed")
    ruff = RuffDetector().run(programs).detections
    assert "S324" in ruff[0].rules and "CWE-327" in ruff[0].cwes and not ruff[1].flagged


@needs_data
def test_samples_are_the_benchmark_programs() -> None:
    samples = load_samples(limit=30)
    assert len(samples) == 60
    first = samples[0]
    assert first.variant == "vulnerable" and samples[1].variant == "patched"
    assert first.task_id == samples[1].task_id and first.code != samples[1].code
    assert f"def {first.entry}(" in first.code


@needs_data
def test_run_bench_on_a_slice_with_all_tools() -> None:
    result = run_bench(("realcode", "bandit", "ruff"), limit=20, cwes=("327", "338"))
    assert {s.cwe for s in result.samples} <= {"CWE-327", "CWE-338"} and result.samples
    assert [t.name for t in result.tools] == ["realcode", "bandit", "ruff"], result.failed_tools
    d = result.as_dict()
    for name, tool in d["tools"].items():
        overall = tool["results"]["tested"]["all"]["any"]["overall"]
        n = sum(overall[k] for k in ("tp", "fp", "tn", "fn"))
        tested = sum(1 for s in result.samples if s.tested)
        assert n == tested, name
        assert tool["cpu_ms_median"] is not None and tool["cpu_ms_median"] >= 0
    realcode = next(t for t in result.tools if t.name == "realcode")
    # every realcode finding counted as a detection carries the finding's CWE
    assert all(c is None or c.startswith("CWE-") for det in realcode.run.detections for c in det.cwes)
    misses = result.misses("realcode")
    assert all(m["kind"] in {"FP", "FN", "error"} for m in misses)


@needs_data
def test_cli_writes_json_markdown_and_misses(tmp_path: Path) -> None:
    runner = CliRunner()
    out, md, misses = tmp_path / "d.json", tmp_path / "d.md", tmp_path / "m.jsonl"
    result = runner.invoke(
        app,
        [
            "bench",
            "detectors",
            "--tools",
            "realcode,bandit",
            "--limit",
            "12",
            "--json",
            str(out),
            "--markdown",
            str(md),
            "--misses",
            str(misses),
            "--repeats",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert set(data["tools"]) == {"realcode", "bandit"} and data["programs"] == 24
    assert all(len(t["cpu_ms_median_per_run"]) == 2 for t in data["tools"].values())
    text = md.read_text()
    assert "## Summary" in text and "| realcode |" in text and "| bandit |" in text
    for line in misses.read_text().splitlines():
        row = json.loads(line)
        assert row["kind"] in {"FP", "FN", "error"} and row["code"]


def test_cli_rejects_unknown_tool() -> None:
    result = CliRunner().invoke(app, ["bench", "detectors", "--tools", "realcode,semgrep"])
    assert result.exit_code == 2 and "semgrep" in result.output


def test_realcode_findings_feed_detections() -> None:
    from realcode.evaluation.detectors_tools import RealcodeDetector

    run = RealcodeDetector().run([Program("import os\nos.chmod('/x', 0o777)\n"), Program("x = 1\n")])
    assert run.detections[0].cwes == frozenset({"CWE-732"}) and not run.detections[1].flagged
