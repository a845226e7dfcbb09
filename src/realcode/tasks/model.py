"""The one task model shared by every benchmark.

A :class:`Task` says what a model is asked (``prompt``), how its answer is entered (``entry``), how it is
tested (``tests``: named groups of cases), what code runs before it (``setup``) and which reference solutions the
benchmark ships. Loaders in :mod:`realcode.tasks.loaders` build tasks from the raw rows and keep the row itself
in ``original`` so that nothing of the source data is lost.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Benchmark(str, Enum):
    """Benchmarks realcode knows how to load."""

    SECCODEPLT = "seccodeplt"  # all 1,345 SecCodePLT Python rows (tested and rule-based)
    SECCODEPLT_PLUS = "seccodeplt-plus"  # REAL's 819 tested rows with its 655/164 split
    SAFESQL = "safesql"
    APPS_PLUS = "apps-plus"
    HUMANEVAL = "humaneval"


class EntryKind(str, Enum):
    """How a candidate program is exercised by its tests."""

    FUNCTION = "function"  # call a module-level function by name
    METHOD = "method"  # call ``Solution().name`` (LeetCode style)
    PROGRAM = "program"  # run the module as a program with stdin, compare stdout
    CHECK = "check"  # run the benchmark's ``check(candidate)`` on the entry function


class Entry(BaseModel):
    """The entry point of a task: what the tests call."""

    model_config = ConfigDict(frozen=True)

    kind: EntryKind
    name: str | None = None  # function or method name; None for programs
    class_name: str | None = None  # "Solution" for METHOD entries
    parameters: list[str] = Field(default_factory=list)  # declared parameter names, when known


class ChatMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str


class TestCase(BaseModel):
    """One test. Inputs are plain data where the data allows it, else Python source.

    * ``args``/``kwargs``: plain-data call inputs.
    * ``input_source``: a Python expression that evaluates, after the set-up and the group's ``preamble``, to
      the keyword-argument dict (used when inputs are objects, not data). It never contains expected values.
    * ``stdin``: input of a PROGRAM run.
    * ``expected``: plain-data expected return value, when known without running anything.
    * ``expected_source``: a Python expression for the expected value (may name an exception class, e.g.
      ``ValueError``, or compute a value, e.g. ``hashlib.sha256(b"x").digest()``). The judge evaluates it on
      the trusted side, never inside a candidate's sandbox.
    * ``expected_stdout``: expected output of a PROGRAM run.
    """

    name: str
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    input_source: str | None = None
    stdin: str | None = None
    expected: Any = None
    expected_source: str | None = None
    expected_stdout: str | None = None


class TestGroup(BaseModel):
    """A named group of tests (``capability``, ``safety``, ``io``, ``attacks``, ``calls``, ``check``).

    ``preamble`` holds statements the group's expressions need (SecCodePLT test modules define helpers before
    ``testcases = {...}``). ``check_source`` holds HumanEval-style test code defining ``check(candidate)``.
    ``security`` marks groups that test secure behaviour rather than function (SecCodePLT ``safety``,
    SafeSQL ``attacks``).
    """

    name: str
    cases: list[TestCase] = Field(default_factory=list)
    preamble: str = ""
    check_source: str | None = None
    security: bool = False


class References(BaseModel):
    """Reference solutions shipped with the benchmark, as complete programs."""

    patched: str | None = None  # secure solution (SecCodePLT)
    vulnerable: str | None = None  # insecure solution (SecCodePLT; SafeSQL's oracle is injectable too)
    canonical: str | None = None  # functional reference (APPS+, HumanEval, SafeSQL)
    solutions: list[str] = Field(default_factory=list)  # all known solutions (APPS+)


ReferenceKind = Literal["patched", "vulnerable", "canonical"]


class Task(BaseModel):
    """One benchmark task, whatever the benchmark."""

    id: str
    benchmark: Benchmark
    split: str  # "train", "test" or "all"
    prompt: list[ChatMessage]
    entry: Entry
    tests: list[TestGroup] = Field(default_factory=list)
    setup: str = ""  # code run before the candidate in the same module (SecCodePLT ``setup``)
    db_setup: str | None = None  # SafeSQL ``construct_db``: builds the sqlite file the program opens
    code_before: str = ""  # SecCodePLT scaffolding around a reference body
    code_after: str = ""
    references: References = Field(default_factory=References)
    cwe: list[str] = Field(default_factory=list)  # "CWE-89" style ids
    description: str = ""  # the task in prose, without formatting instructions
    metadata: dict[str, Any] = Field(default_factory=dict)  # difficulty, url, install_requires, rule, ...
    original: dict[str, Any] = Field(default_factory=dict, repr=False)

    def group(self, name: str) -> TestGroup | None:
        """The test group called ``name``, if the task has one."""
        return next((g for g in self.tests if g.name == name), None)

    @property
    def has_tests(self) -> bool:
        return any(g.cases or g.check_source for g in self.tests)

    def reference(self, kind: ReferenceKind) -> str | None:
        """A reference solution as the code a model would answer (without the task's set-up)."""
        return getattr(self.references, kind)  # type: ignore[no-any-return]

    def program(self, code: str) -> str:
        """The module the sandbox runs for candidate ``code``: set-up first, then the candidate."""
        return f"{self.setup}\n{code}\n" if self.setup else code
