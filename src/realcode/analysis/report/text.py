"""Plain-text findings, one per line in the ``path:line:col`` form editors understand, traces indented."""

from __future__ import annotations

from realcode.analysis.findings import Finding
from realcode.analysis.report.model import ScanReport


def format_finding(f: Finding) -> str:
    loc = f.location
    cwe = f" [{f.cwe}]" if f.cwe else ""
    head = f"{loc.path}:{loc.line}:{loc.column}: {f.rule_id}{cwe} {f.severity.value}/{f.confidence.value}: {f.message}"
    if not f.trace:
        return head
    steps = [f"    {s.location.path}:{s.location.line}:{s.location.column}: {s.note}" for s in f.trace]
    return "\n".join([head, "  trace:", *steps])


def render_text(report: ScanReport) -> str:
    lines = [format_finding(f) for f in report.sorted_findings]
    lines += [f"error: {e}" for e in report.errors]
    n = len(report.findings)
    files = len(report.files)
    if n:
        by_sev = ", ".join(f"{k} {v}" for k, v in report.counts().items())
        lines.append(
            f"{n} finding{'s' if n != 1 else ''} in {files} file{'s' if files != 1 else ''} ({by_sev})"
        )
    else:
        lines.append(f"no findings in {files} file{'s' if files != 1 else ''}")
    return "\n".join(lines) + "\n"
