"""The :class:`Assessment`: everything realcode learned about one completion for one task.

An assessment keeps each component with its evidence (the functional verdict with every test, the security
findings with their traces, mypy's errors, the dynamic security verdict) and its timings. Rewards
(:mod:`realcode.rewards`) and evaluation metrics are both pure functions of it, so they can never disagree
about what "passed" or "secure" means. It round-trips through JSON.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from realcode.analysis.findings import Finding
from realcode.judge.verdict import DynamicSecurityVerdict, FunctionalVerdict, Stage

CheckName = Literal["functional", "security", "maintainability", "dynamic"]
CHECKS: tuple[CheckName, ...] = ("functional", "security", "maintainability", "dynamic")

# What "auto" runs per benchmark: the checks each benchmark's paper scores with.
DEFAULT_CHECKS: dict[str, tuple[CheckName, ...]] = {
    "seccodeplt": ("functional", "security", "dynamic"),
    "seccodeplt-plus": ("functional", "security", "dynamic"),
    "safesql": ("functional", "security", "dynamic"),
    "apps-plus": ("functional", "maintainability"),
    "humaneval": ("functional",),
}

ComponentStatus = Literal["ok", "no_code", "infra_error"]


class Extraction(BaseModel):
    """How the code was taken out of the completion (see :func:`realcode.tasks.extract_code`)."""

    found: bool
    mode: str
    blocks: int  # fenced blocks in the completion
    reason: str = ""
    completion_chars: int = 0
    code_chars: int = 0
    unclosed: bool = False  # the block taken was cut off (the model hit its token limit)


class SecurityResult(BaseModel):
    """Static security analysis of the program (set-up + candidate), with the task's entry parameters as sources."""

    status: ComponentStatus = "ok"
    findings: list[Finding] = Field(default_factory=list)
    parse_error: bool = False  # the analyzer could not parse the code (REAL scores this -0.5)
    message: str = ""
    ms: float = 0.0

    @property
    def weighted_severity(self) -> float:
        """V: the sum of the findings' severity weights."""
        return sum(f.severity.weight for f in self.findings)


class MaintainabilityResult(BaseModel):
    """``mypy --strict`` on the candidate (REAL's type-check reward input) and any other maintainability findings.

    ``mypy_exit`` follows mypy's own convention: 0 clean, 1 type errors, 2 mypy could not check the file
    (a syntax error, for instance).
    """

    status: ComponentStatus = "ok"
    mypy_exit: int | None = None
    mypy_errors: int = 0
    findings: list[Finding] = Field(default_factory=list)
    message: str = ""
    ms: float = 0.0


class GuardSignals(BaseModel):
    """What the reward-hacking guards look at, computed from the code and the task alone (see
    :mod:`realcode.assess.signals`). Policies that act on them live in :mod:`realcode.rewards.guards`."""

    stub: str | None = None  # why the entry point does nothing ("body is `pass`", "returns a constant", ...)
    tampering: list[str] = Field(default_factory=list)  # "line 3: assigns to sys.modules", ...
    hardcoded_examples: list[str] = Field(
        default_factory=list
    )  # "line 5: returns 42 when n == 7 (both in the prompt)"
    python_blocks: int = 0  # python-tagged (or untagged) fenced blocks in the completion


class Assessment(BaseModel):
    """One completion, one task: every component with its evidence and timings."""

    task_id: str
    benchmark: str
    checks: list[CheckName]  # checks that were asked for and apply to this task
    max_tests: int | None = None  # functional groups were cut to their first N tests (training rewards)
    extraction: Extraction
    code: str | None = None
    code_sha256: str | None = None
    functional: FunctionalVerdict | None = None
    security: SecurityResult | None = None
    maintainability: MaintainabilityResult | None = None
    dynamic: DynamicSecurityVerdict | None = None
    signals: GuardSignals = Field(default_factory=GuardSignals)
    timings_ms: dict[str, float] = Field(default_factory=dict)  # per component, for this sample's share
    cached: bool = False
    versions: dict[str, str] = Field(default_factory=dict)
    error: str | None = None  # a problem with this sample itself (unknown task, task without tests, ...)

    @property
    def infra_error(self) -> bool:
        """True when any component hit an infrastructure failure: never score such a sample as good or bad."""
        if self.functional is not None and self.functional.stage is Stage.INFRA_ERROR:
            return True
        if self.security is not None and self.security.status == "infra_error":
            return True
        if self.maintainability is not None and self.maintainability.status == "infra_error":
            return True
        d = self.dynamic
        if d is not None and d.applicable and d.secure is None and self.code is not None:
            return d.message.startswith(("sandbox", "infra")) or "infra" in d.message.lower()
        return False

    @property
    def has_code(self) -> bool:
        return self.code is not None

    @property
    def passed(self) -> bool:
        """Every functional test passed (the ``Function`` metric)."""
        return self.functional is not None and self.functional.stage is Stage.PASSED
