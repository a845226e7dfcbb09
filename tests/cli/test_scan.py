"""``realcode scan``: formats, filters, suppressions and Bandit-style exit codes, through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from realcode.cli import app

runner = CliRunner()

VULNERABLE = """\
import hashlib
import os


def digest(algorithm: str, data: bytes) -> bytes:
    return hashlib.new(algorithm, data).digest()


os.chmod("/srv/shared", 0o777)
"""
CLEAN = "def add(a: int, b: int) -> int:\n    return a + b\n"


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "vuln.py").write_text(VULNERABLE)
    (tmp_path / "pkg" / "clean.py").write_text(CLEAN)
    (tmp_path / "pkg" / "notes.txt").write_text("os.chmod('/x', 0o777)\n")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "skip.py").write_text(VULNERABLE)
    return tmp_path


def test_directory_walk_text_and_exit_1(tree: Path) -> None:
    result = runner.invoke(app, ["scan", str(tree)])
    assert result.exit_code == 1, result.output
    assert f"{tree / 'pkg' / 'vuln.py'}:9:1: RC-PERM-001 [CWE-732]" in result.output
    assert "RC-CRYPTO-006 [CWE-327]" in result.output and "  trace:" in result.output
    assert ".hidden" not in result.output and "notes.txt" not in result.output
    assert "2 findings in 2 files" in result.output


def test_standard_input_and_duplicate_paths(tree: Path) -> None:
    result = runner.invoke(app, ["scan", "-", "-f", "json"], input=VULNERABLE)
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["files"] == ["<stdin>"] and {f["location"]["path"] for f in data["findings"]} == {"<stdin>"}
    twice = runner.invoke(app, ["scan", str(tree / "pkg"), str(tree / "pkg" / "vuln.py"), "-f", "json"])
    assert len(json.loads(twice.output)["files"]) == 2


def test_clean_file_exits_0(tree: Path) -> None:
    result = runner.invoke(app, ["scan", str(tree / "pkg" / "clean.py")])
    assert result.exit_code == 0, result.output
    assert "no findings in 1 file" in result.output


def test_select_and_ignore(tree: Path) -> None:
    only = runner.invoke(app, ["scan", str(tree / "pkg"), "--select", "CWE-732", "--format", "json"])
    assert only.exit_code == 1
    assert [f["rule_id"] for f in json.loads(only.output)["findings"]] == ["RC-PERM-001"]
    none = runner.invoke(app, ["scan", str(tree / "pkg"), "--ignore", "CWE-732,RC-CRYPTO-006"])
    assert none.exit_code == 0, none.output


def test_sources_and_entry(tree: Path) -> None:
    # with only `input()` as a source, the parameter-chosen algorithm is no longer attacker data
    result = runner.invoke(app, ["scan", str(tree / "pkg" / "vuln.py"), "--sources", "input", "-f", "json"])
    assert [f["rule_id"] for f in json.loads(result.output)["findings"]] == ["RC-PERM-001"]
    result = runner.invoke(app, ["scan", str(tree / "pkg" / "vuln.py"), "--entry", "digest", "-f", "json"])
    assert "RC-CRYPTO-006" in {f["rule_id"] for f in json.loads(result.output)["findings"]}


def test_suppression_comment(tmp_path: Path) -> None:
    path = tmp_path / "s.py"
    path.write_text('import os\nos.chmod("/x", 0o777)  # realcode: ignore[CWE-732]\n')
    assert runner.invoke(app, ["scan", str(path)]).exit_code == 0
    result = runner.invoke(app, ["scan", str(path), "--no-suppress"])
    assert result.exit_code == 1 and "RC-PERM-001" in result.output


def test_sarif_output_file(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "report.sarif"
    result = runner.invoke(app, ["scan", str(tree / "pkg"), "--format", "sarif", "--output", str(out)])
    assert result.exit_code == 1
    doc = json.loads(out.read_text())
    assert doc["version"] == "2.1.0"
    assert {r["ruleId"] for r in doc["runs"][0]["results"]} == {"RC-PERM-001", "RC-CRYPTO-006"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["does/not/exist.py"], "no such file or directory: does/not/exist.py"),
        (["{tree}", "--format", "xml"], "unknown format 'xml'"),
        (["{tree}", "--sources", "params,telepathy"], "unknown source kind 'telepathy'"),
        (["{tree}", "--select", "RC-NOPE-999"], "unknown rule id 'RC-NOPE-999'"),
    ],
)
def test_usage_errors_exit_2_and_name_the_culprit(tree: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["scan", *(a.format(tree=tree) for a in args)])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_unreadable_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.py"
    path.write_bytes(b"x = '\xe9'\n")
    result = runner.invoke(app, ["scan", str(path)])
    assert result.exit_code == 2
    assert "latin1.py" in result.output


def test_syntax_error_is_a_finding(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("def f(:\n")
    result = runner.invoke(app, ["scan", str(path)])
    assert result.exit_code == 1 and "RC-SYNTAX" in result.output


def test_maintainability_adds_quality_findings(tmp_path: Path) -> None:
    path = tmp_path / "untyped.py"
    path.write_text("def add(a, b):\n    return a + b\n")
    plain = runner.invoke(app, ["scan", str(path)])
    assert plain.exit_code == 0
    result = runner.invoke(app, ["scan", str(path), "--maintainability", "-f", "json"])
    assert result.exit_code == 1, result.output
    findings = json.loads(result.output)["findings"]
    assert findings and all(f["location"]["path"] == str(path) for f in findings)
    assert {f["analyzer"] for f in findings} - {"security"}


def test_console_script_in_a_subprocess(tree: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from realcode.cli import main; main()",
            "scan",
            str(tree / "pkg"),
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["summary"]["findings"] == 2


def test_sarif_of_every_fixture_validates(tmp_path: Path) -> None:
    import jsonschema

    from realcode.analysis.report import SARIF_SCHEMA_PATH

    fixtures = Path(__file__).parents[1] / "security" / "fixtures"
    out = tmp_path / "all.sarif"
    result = runner.invoke(app, ["scan", str(fixtures), "--format", "sarif", "--output", str(out)])
    assert result.exit_code == 1, result.output
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, json.loads(SARIF_SCHEMA_PATH.read_text()), cls=jsonschema.Draft4Validator)
    run = doc["runs"][0]
    assert len(run["results"]) > 100
    assert any("codeFlows" in r for r in run["results"])
    cwes = {r["properties"].get("cwe") for r in run["results"]}
    assert {"CWE-327", "CWE-338", "CWE-295", "CWE-798", "CWE-377", "CWE-732", "CWE-281", "CWE-1333"} <= cwes
