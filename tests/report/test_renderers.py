"""Text, JSON and SARIF renderers on findings from real scans; SARIF validated against the OASIS schema."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from realcode.analysis.findings import Confidence, Finding, Location, Severity
from realcode.analysis.report import FORMATS, SARIF_SCHEMA_PATH, ScanReport, render, rule_metadata, to_sarif
from realcode.analysis.security import scan_code
from realcode.analysis.security.rules.base import all_rules

VULNERABLE = """\
import hashlib
import os
import subprocess


def run(cmd: str) -> None:
    subprocess.call(cmd, shell=True)


def digest(algorithm: str, data: bytes) -> bytes:
    return hashlib.new(algorithm, data).digest()


os.chmod("/srv/shared", 0o777)
"""


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SARIF_SCHEMA_PATH.read_text())
    jsonschema.Draft4Validator.check_schema(data)
    return data


@pytest.fixture(scope="module")
def report() -> ScanReport:
    findings = scan_code(VULNERABLE, path="pkg/app.py")
    syntax = scan_code("def broken(:\n", path="pkg/broken.py")
    return ScanReport(findings=[*findings, *syntax], files=["pkg/app.py", "pkg/broken.py"])


def test_scan_has_the_expected_findings(report: ScanReport) -> None:
    rules = {f.rule_id for f in report.findings}
    assert {"RC-CRYPTO-006", "RC-PERM-001", "RC-SYNTAX"} <= rules
    assert any(f.trace for f in report.findings), "a data-flow finding carries a trace"


def test_text_shows_location_rule_cwe_and_indented_trace(report: ScanReport) -> None:
    text = render(report, "text")
    assert "pkg/app.py:14:1: RC-PERM-001 [CWE-732] high/high:" in text
    crypto = next(f for f in report.findings if f.rule_id == "RC-CRYPTO-006")
    line = f"pkg/app.py:{crypto.location.line}:{crypto.location.column}: RC-CRYPTO-006 [CWE-327]"
    assert line in text
    after = text.split(line, 1)[1].splitlines()
    assert after[1] == "  trace:"
    assert after[2].startswith("    pkg/app.py:") and "(source)" in after[2]
    by_severity = ", ".join(f"{k} {v}" for k, v in report.counts().items())
    assert text.endswith(f"{len(report.findings)} findings in 2 files ({by_severity})\n")
    assert by_severity.startswith(("critical", "high"))


def test_text_for_no_findings() -> None:
    assert render(ScanReport(files=["a.py"]), "text") == "no findings in 1 file\n"


def test_json_round_trips_findings(report: ScanReport) -> None:
    data = json.loads(render(report, "json"))
    assert data["summary"]["findings"] == len(report.findings)
    back = [Finding.model_validate(f) for f in data["findings"]]
    assert sorted(back, key=lambda f: f.sort_key) == sorted(report.findings, key=lambda f: f.sort_key)
    assert data["files"] == report.files


def test_sarif_validates_against_the_official_schema(report: ScanReport, schema: dict[str, Any]) -> None:
    doc = json.loads(render(report, "sarif"))
    jsonschema.validate(doc, schema, cls=jsonschema.Draft4Validator)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len(run["results"]) == len(report.findings)
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    crypto = next(r for r in run["results"] if r["ruleId"] == "RC-CRYPTO-006")
    flow = crypto["codeFlows"][0]["threadFlows"][0]["locations"]
    assert flow[0]["location"]["message"]["text"].endswith("(source)")
    assert crypto["properties"]["cwe"] == "CWE-327"
    assert crypto["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "pkg/app.py"


def test_sarif_rule_metadata_has_help_with_examples_and_cwe_tag(report: ScanReport) -> None:
    doc = to_sarif(report)
    rule = next(r for r in doc["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "RC-CRYPTO-006")
    assert "external/cwe/cwe-327" in rule["properties"]["tags"]
    assert rule["defaultConfiguration"]["level"] == "error"
    assert "**Bad**" in rule["help"]["markdown"] and "```python" in rule["help"]["markdown"]
    assert "hashlib.new(algorithm, data)" in rule["help"]["markdown"]
    assert rule["helpUri"].endswith("/327.html")


def test_every_registered_rule_has_valid_metadata(schema: dict[str, Any]) -> None:
    rules = [rule_metadata(r) for r in all_rules()]
    assert len(rules) == len(all_rules()) > 20
    findings = [
        Finding(
            rule_id=r["id"],
            cwe=None,
            severity=Severity.LOW,
            confidence=Confidence.LOW,
            message="m",
            location=Location(path="x.py"),
        )
        for r in rules
    ]
    doc = to_sarif(ScanReport(findings=findings, files=["x.py"]))
    jsonschema.validate(doc, schema, cls=jsonschema.Draft4Validator)
    for meta in doc["runs"][0]["tool"]["driver"]["rules"]:
        assert meta["shortDescription"]["text"].strip(), meta["id"]


def test_sarif_of_an_empty_scan_and_odd_paths_validates(schema: dict[str, Any]) -> None:
    odd = Finding(
        rule_id="mypy-arg-type",
        cwe=None,
        severity=Severity.MEDIUM,
        confidence=Confidence.HIGH,
        message="bad arg",
        location=Location(path="dir with space/é.py", line=3, column=2, end_line=3, end_column=2),
        analyzer="mypy",
        code="arg-type",
    )
    for rep in (
        ScanReport(),
        ScanReport(findings=[odd], files=["dir with space/é.py"], errors=["gone.py: denied"]),
    ):
        doc = to_sarif(rep)
        jsonschema.validate(doc, schema, cls=jsonschema.Draft4Validator)
    assert doc["runs"][0]["artifacts"][0]["location"]["uri"] == "dir%20with%20space/%C3%A9.py"
    assert doc["runs"][0]["invocations"][0]["executionSuccessful"] is False


def test_unknown_format_is_named() -> None:
    assert FORMATS == ("text", "json", "sarif")
    with pytest.raises(ValueError, match="'xml'"):
        render(ScanReport(), "xml")
