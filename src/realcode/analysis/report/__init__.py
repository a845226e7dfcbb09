"""Renderers of findings: plain text (with traces), JSON, and SARIF 2.1.0.

Every renderer takes a :class:`ScanReport` (the findings plus what was scanned) and returns a string; the
SARIF one also has :func:`to_sarif` for the document as a dict. ``sarif-2.1.0.json`` beside this module is the
official OASIS schema (errata 01), used by the tests to validate the output.
"""

from __future__ import annotations

from realcode.analysis.report.jsonfmt import render_json, to_json
from realcode.analysis.report.model import ScanReport
from realcode.analysis.report.sarif import SARIF_SCHEMA_PATH, render_sarif, rule_metadata, to_sarif
from realcode.analysis.report.text import render_text

FORMATS = ("text", "json", "sarif")


def render(report: ScanReport, fmt: str) -> str:
    """``report`` in format ``fmt`` (one of :data:`FORMATS`); raises ValueError naming an unknown format."""
    if fmt == "text":
        return render_text(report)
    if fmt == "json":
        return render_json(report)
    if fmt == "sarif":
        return render_sarif(report)
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")


__all__ = [
    "FORMATS",
    "SARIF_SCHEMA_PATH",
    "ScanReport",
    "render",
    "render_json",
    "render_sarif",
    "render_text",
    "rule_metadata",
    "to_json",
    "to_sarif",
]
