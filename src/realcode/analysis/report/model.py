"""What a scan produced: the findings, the files read, and the files that could not be read."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from realcode.analysis.findings import Finding


@dataclass
class ScanReport:
    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every file scanned, in order
    errors: list[str] = field(default_factory=list)  # "path: reason" for files that could not be read

    def counts(self) -> dict[str, int]:
        """Findings per severity, highest first, only severities that occur."""
        c = Counter(f.severity.value for f in self.findings)
        return {s: c[s] for s in ("critical", "high", "medium", "low") if c[s]}

    @property
    def sorted_findings(self) -> list[Finding]:
        return sorted(self.findings, key=lambda f: f.sort_key)
