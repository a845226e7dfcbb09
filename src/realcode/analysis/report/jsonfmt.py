"""Findings as JSON: the :class:`~realcode.analysis.findings.Finding` model, plus a summary."""

from __future__ import annotations

import json
from typing import Any

from realcode.analysis.report.model import ScanReport

JSON_FORMAT_VERSION = 1


def to_json(report: ScanReport) -> dict[str, Any]:
    import realcode

    return {
        "version": JSON_FORMAT_VERSION,
        "tool": {"name": "realcode", "version": realcode.__version__},
        "files": report.files,
        "errors": report.errors,
        "summary": {"findings": len(report.findings), "by_severity": report.counts()},
        "findings": [f.model_dump(mode="json") for f in report.sorted_findings],
    }


def render_json(report: ScanReport) -> str:
    return json.dumps(to_json(report), indent=2) + "\n"
