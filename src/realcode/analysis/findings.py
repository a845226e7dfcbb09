"""Findings: what every analyzer (security, maintainability) reports, in one shape.

A finding says why: its rule, CWE, location and, for data-flow findings, the source-to-sink trace. Renderers
(text, JSON, SARIF 2.1.0) work on this shape only.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field


class Severity(str, Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def weight(self) -> float:
        """Weight used by severity-weighted rewards (1 - V, exp(-V))."""
        return {"low": 0.25, "medium": 0.5, "high": 1.0, "critical": 1.5}[self.value]


class Confidence(str, Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Location(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str = "<string>"
    line: int = 1  # 1-based
    column: int = 1  # 1-based
    end_line: int | None = None
    end_column: int | None = None


class TraceStep(BaseModel):
    """One step of a source-to-sink trace: where tainted data went and what happened there."""

    model_config = ConfigDict(frozen=True)

    location: Location
    note: str  # e.g. "parameter `name` (source)", "f-string", "argument 1 of sqlite3.Cursor.execute (sink)"


class Finding(BaseModel):
    """One problem found in one piece of code."""

    model_config = ConfigDict(frozen=True)

    rule_id: str  # stable id, e.g. "RC-SQLI-001"; "RC-SYNTAX" for code that does not parse
    cwe: str | None  # "CWE-89"; None for findings that are not weaknesses (style, type errors)
    severity: Severity
    confidence: Confidence
    message: str
    location: Location
    trace: list[TraceStep] = Field(default_factory=list)
    analyzer: str = "security"  # "security", "mypy", "ruff", "annotations", "complexity", ...
    code: str | None = None  # tool-specific code (mypy error code, ruff rule), when there is one

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.location.path, self.location.line, self.location.column, self.rule_id)
