"""SARIF 2.1.0 output (what GitHub code scanning and most IDEs read).

One run, ``tool.driver.rules`` describing every rule that produced a result (id, name, short and full
description, help with the rule's bad/good example in Markdown, CWE tag, default level), results with their
location and, for data-flow findings, a ``codeFlow`` that walks the source-to-sink trace.
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

from realcode.analysis.findings import Finding, Location, Severity
from realcode.analysis.report.model import ScanReport

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SARIF_SCHEMA_PATH = Path(__file__).with_name("sarif-2.1.0.json")
INFORMATION_URI = "https://github.com/realcode/realcode"

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
}
# GitHub's "security-severity" property (CVSS-like, 0-10) drives its severity badges.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
}


def _uri(path: str) -> str:
    """A URI reference for a path: ``file://`` for absolute paths, a relative reference otherwise."""
    if not path or path.startswith("<"):
        return quote(path or "<string>", safe="")
    pure = PurePath(path)
    if pure.is_absolute():
        return Path(path).as_uri()
    return quote(pure.as_posix(), safe="/._-~")


def _region(loc: Location) -> dict[str, int]:
    region = {"startLine": max(1, loc.line), "startColumn": max(1, loc.column)}
    if loc.end_line is not None and loc.end_line >= region["startLine"]:
        region["endLine"] = loc.end_line
        if loc.end_column is not None and (loc.end_line > loc.line or loc.end_column > loc.column):
            region["endColumn"] = loc.end_column
    return region


def _physical(loc: Location) -> dict[str, Any]:
    return {"physicalLocation": {"artifactLocation": {"uri": _uri(loc.path)}, "region": _region(loc)}}


def _docstring_markdown(doc: str) -> str:
    """A rule docstring as Markdown: ``Bad::``/``Good::`` literal blocks become fenced Python code."""
    out: list[str] = []
    lines = doc.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::"):
            out.append(f"**{line.strip().rstrip(':')}**")
            out.append("")
            i += 1
            block: list[str] = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
                block.append(lines[i])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            while block and not block[0].strip():
                block.pop(0)
            out.append("```python")
            out.extend(_dedent(block))
            out.append("```")
            out.append("")
            continue
        out.append(line)
        i += 1
    return "\n".join(out).strip()


def _dedent(block: list[str]) -> list[str]:
    indents = [len(x) - len(x.lstrip()) for x in block if x.strip()]
    cut = min(indents) if indents else 0
    return [x[cut:] for x in block]


def rule_metadata(rule: type[Any]) -> dict[str, Any]:
    """The ``reportingDescriptor`` of a registered rule class."""
    doc = inspect.cleandoc(rule.__doc__ or rule.name)
    first = doc.split("\n\n", 1)[0].replace("\n", " ").strip()
    prose = _before_examples(doc)
    blind = getattr(rule, "blind_spots", "") or ""
    full = prose.replace("\n", " ") + (f" Blind spots: {blind}" if blind else "")
    cwe = rule.cwe
    tags = ["security"]
    if cwe:
        tags.append(f"external/cwe/{cwe.lower()}")
    sev: Severity = rule.severity
    markdown = _docstring_markdown(doc) + (f"\n\n**Blind spots.** {blind}" if blind else "")
    meta: dict[str, Any] = {
        "id": rule.id,
        "name": _pascal(rule.name),
        "shortDescription": {"text": first},
        "fullDescription": {"text": full},
        "help": {"text": doc + (f"\n\nBlind spots: {blind}" if blind else ""), "markdown": markdown},
        "defaultConfiguration": {"level": _LEVEL[sev]},
        "properties": {
            "tags": tags,
            "precision": {"high": "high", "medium": "medium", "low": "low"}[rule.confidence.value],
            "security-severity": _SECURITY_SEVERITY[sev],
        },
    }
    if cwe and cwe.upper().startswith("CWE-"):
        num = cwe.split("-", 1)[1]
        meta["helpUri"] = f"https://cwe.mitre.org/data/definitions/{num}.html"
    return meta


def _before_examples(doc: str) -> str:
    """The prose of a rule docstring, up to its ``Bad::``/``Good::`` examples."""
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if line.strip() in {"Bad::", "Good::"}:
            return "\n".join(lines[:i]).strip()
    return doc.strip()


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_\s]+", name) if part) or "Rule"


def _adhoc_rule(f: Finding) -> dict[str, Any]:
    """Descriptor for findings whose rule is not in the security registry (syntax, budget, maintainability)."""
    text = {
        "RC-SYNTAX": "The code does not parse.",
        "RC-BUDGET": "The analysis stopped early; findings may be missing.",
    }.get(f.rule_id, f"{f.analyzer} check {f.code or f.rule_id}")
    meta: dict[str, Any] = {
        "id": f.rule_id,
        "shortDescription": {"text": text},
        "defaultConfiguration": {"level": _LEVEL[f.severity]},
        "properties": {"tags": [f.analyzer]},
    }
    if f.cwe:
        meta["properties"]["tags"].append(f"external/cwe/{f.cwe.lower()}")
    return meta


def _result(f: Finding, rule_index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": _LEVEL[f.severity],
        "message": {"text": f.message},
        "locations": [_physical(f.location)],
        "properties": {
            "severity": f.severity.value,
            "confidence": f.confidence.value,
            "analyzer": f.analyzer,
            **({"cwe": f.cwe} if f.cwe else {}),
            **({"code": f.code} if f.code else {}),
        },
    }
    if f.trace:
        steps = [{"location": {**_physical(s.location), "message": {"text": s.note}}} for s in f.trace]
        result["codeFlows"] = [{"threadFlows": [{"locations": steps}]}]
    return result


def to_sarif(report: ScanReport) -> dict[str, Any]:
    """The SARIF 2.1.0 log of ``report`` as a JSON-ready dict."""
    import realcode
    from realcode.analysis.security.rules.base import all_rules

    registry = {r.id: r for r in all_rules()}
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    for f in report.sorted_findings:
        if f.rule_id not in index:
            index[f.rule_id] = len(rules)
            cls = registry.get(f.rule_id)
            rules.append(rule_metadata(cls) if cls is not None else _adhoc_rule(f))
        results.append(_result(f, index[f.rule_id]))
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "realcode",
                "version": realcode.__version__,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "artifacts": [{"location": {"uri": _uri(p)}} for p in report.files],
        "results": results,
        "invocations": [
            {
                "executionSuccessful": not report.errors,
                "toolExecutionNotifications": [
                    {"level": "error", "message": {"text": e}} for e in report.errors
                ],
            }
        ],
    }
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


def render_sarif(report: ScanReport) -> str:
    return json.dumps(to_sarif(report), indent=2) + "\n"
