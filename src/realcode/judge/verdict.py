"""Verdicts: what the judge concludes from sandbox results. Plain data, JSON round-trippable."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, Field


class Stage(str, Enum):
    """The functional stage ladder, from worst to best. ``INFRA_ERROR`` is outside the ladder."""

    NO_CODE = "no_code"  # the completion held no code
    SYNTAX_ERROR = "syntax_error"
    LOAD_ERROR = "load_error"  # the module raised while loading, or the entry point is missing
    RUNTIME_ERROR = "runtime_error"  # every test errored
    TIMEOUT = "timeout"  # a test hit the CPU limit and none passed
    NO_OUTPUT = "no_output"  # a program printed nothing where output was expected
    TESTS_FAILED = "tests_failed"  # some tests ran and failed
    PASSED = "passed"  # every functional test passed
    INFRA_ERROR = "infra_error"  # the sandbox failed; never a model outcome

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {s: i for i, s in enumerate(Stage)}


class TestResult(BaseModel):
    """One test: what went in, what was expected, what came out."""

    name: str
    group: str
    passed: bool
    status: str  # sandbox exit reason of the call/run: ok, exception, timeout, ...
    input: Any = None  # kwargs / args / stdin, as data (long values cut)
    expected: Any = None
    actual: Any = None
    message: str = ""  # why it failed, in words
    cpu_ms: float = 0.0


class GroupResult(BaseModel):
    name: str
    passed: int
    total: int
    security: bool = False

    @property
    def fraction(self) -> float:
        return self.passed / self.total if self.total else 0.0

    @property
    def all_passed(self) -> bool:
        return self.total > 0 and self.passed == self.total


class FunctionalVerdict(BaseModel):
    """The functional outcome of one candidate on one task."""

    stage: Stage
    tests: list[TestResult] = Field(default_factory=list)
    groups: dict[str, GroupResult] = Field(default_factory=dict)
    syntax_ok: bool = False
    ran: bool = False  # the module loaded without error
    printed_output: bool = False  # the program (or a call) wrote to stdout
    message: str = ""  # load error, infra error, ...
    cpu_ms: float = 0.0
    wall_ms: float = 0.0

    @property
    def infra_error(self) -> bool:
        return self.stage is Stage.INFRA_ERROR


class AttackResult(BaseModel):
    """One replayed attack input (SafeSQL) and what it changed compared with a parameterized query."""

    input: str
    exploited: bool
    changes: list[str] = Field(default_factory=list)  # e.g. "returned 3 extra rows", "table inventory dropped"


class DynamicSecurityVerdict(BaseModel):
    """Dynamic security: SecCodePLT ``safety`` tests or SafeSQL attack replay."""

    applicable: bool = False
    secure: bool | None = None  # None when not applicable or infra error
    kind: str = ""  # "safety_tests" or "sql_attacks"
    tests: list[TestResult] = Field(default_factory=list)
    attacks: list[AttackResult] = Field(default_factory=list)
    message: str = ""
