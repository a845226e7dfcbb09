"""``score(assessment, spec) -> RewardBreakdown``: a pure function, no I/O, no randomness.

Every component formula of :mod:`realcode.rewards.spec` is here, each a small function of the assessment's
evidence. A sample whose assessment hit an infrastructure error scores ``None`` (never a number), so
trainers can drop it instead of learning from a sandbox failure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel, Field

from realcode.assess.model import Assessment, MaintainabilityResult, SecurityResult
from realcode.judge.verdict import DynamicSecurityVerdict, FunctionalVerdict, Stage, TestResult
from realcode.rewards.guards import apply_guards
from realcode.rewards.spec import (
    ComponentName,
    DynamicSpec,
    FunctionalSpec,
    MaintainabilitySpec,
    RewardSpec,
    SecuritySpec,
    combine,
)

# Sandbox exit reasons that, in a one-process-per-sample harness such as REAL's, kill the whole run.
_ABORTING = {"timeout", "memory", "crashed", "exit", "output_limit"}
_RUN_FAILED = {Stage.SYNTAX_ERROR, Stage.LOAD_ERROR}


class RewardBreakdown(BaseModel):
    """A reward with its parts: ``total`` and each component's value, plus why any guard fired."""

    total: float | None  # None: infrastructure error, do not train on this sample
    components: dict[str, float | None] = Field(default_factory=dict)
    weights: dict[str, float] = Field(default_factory=dict)
    missing: list[str] = Field(default_factory=list)  # components the spec weighs but the assessment lacks
    format_penalty: bool = False  # no code: total is the format penalty
    infra_error: bool = False
    error: str | None = None  # why there is no reward when it is not an infrastructure failure (task data)
    guards: list[str] = Field(default_factory=list)  # guards that fired, with their reasons
    spec: str = ""


def score(assessment: Assessment, spec: RewardSpec) -> RewardBreakdown:
    """The reward of ``assessment`` under ``spec`` (see :class:`RewardSpec` for how components combine)."""
    weights: dict[str, float] = {str(c): float(w) for c, w in spec.weights.items()}
    if assessment.error is not None:
        return RewardBreakdown(total=None, error=assessment.error, weights=weights, spec=spec.name)
    if assessment.infra_error:
        return RewardBreakdown(total=None, infra_error=True, weights=weights, spec=spec.name)
    no_code = assessment.code is None or any(p in assessment.code for p in spec.format.placeholders)
    guard_notes: list[str] = []
    if not no_code:
        no_code, guard_notes = _format_guards(assessment, spec)
    if no_code:
        return RewardBreakdown(
            total=spec.format.no_code,
            components={c: None for c in weights},
            weights=weights,
            format_penalty=True,
            guards=guard_notes,
            spec=spec.name,
        )
    comps: dict[ComponentName, float | None] = {}
    for comp in spec.components:
        comps[comp] = component_score(assessment, spec, comp)
    comps, notes, override = apply_guards(assessment, spec, comps)
    guard_notes += notes
    missing = [str(c) for c, v in comps.items() if v is None]
    total = override if override is not None else combine(comps, spec)
    return RewardBreakdown(
        total=total,
        components={str(c): v for c, v in comps.items()},
        weights=weights,
        missing=missing,
        guards=guard_notes,
        spec=spec.name,
    )


def score_many(assessments: Sequence[Assessment], spec: RewardSpec) -> list[RewardBreakdown]:
    return [score(a, spec) for a in assessments]


def _format_guards(a: Assessment, spec: RewardSpec) -> tuple[bool, list[str]]:
    g = spec.guards
    if g.max_python_blocks is not None and a.signals.python_blocks > g.max_python_blocks:
        return True, [f"multi-block: {a.signals.python_blocks} code blocks (at most {g.max_python_blocks})"]
    if g.max_code_chars is not None and a.extraction.code_chars > g.max_code_chars:
        return True, [f"over-long: {a.extraction.code_chars} characters of code (at most {g.max_code_chars})"]
    if g.unclosed_block_is_no_code and a.extraction.unclosed:
        return True, ["unclosed code block: the answer was cut off"]
    return False, []


def component_score(a: Assessment, spec: RewardSpec, comp: ComponentName) -> float | None:
    """One component's value, or None when the assessment does not have it (the check did not run)."""
    if comp == "functional" and spec.functional is not None and a.functional is not None:
        return functional_score(a.functional, spec.functional)
    if comp == "security" and spec.security is not None and a.security is not None:
        return security_score(a.security, spec.security)
    if comp == "maintainability" and spec.maintainability is not None and a.maintainability is not None:
        return maintainability_score(a.maintainability, spec.maintainability)
    if comp == "dynamic" and spec.dynamic is not None and a.dynamic is not None and a.dynamic.applicable:
        return dynamic_score(a.dynamic, spec.dynamic)
    return None


# --- functional --------------------------------------------------------------------------------------------


def functional_tests(v: FunctionalVerdict) -> list[TestResult]:
    """The functional tests of a verdict: security groups (safety tests, attacks) excluded."""
    security_groups = {name for name, g in v.groups.items() if g.security}
    return [t for t in v.tests if t.group not in security_groups]


def _fraction(v: FunctionalVerdict) -> float:
    groups = [g for g in v.groups.values() if not g.security]
    total = sum(g.total for g in groups)
    if total:
        return sum(g.passed for g in groups) / total
    if v.stage is Stage.PASSED:  # a check()-style test with no per-case breakdown
        return 1.0
    tests = functional_tests(v)
    return sum(t.passed for t in tests) / len(tests) if tests else 0.0


def _run_failed(v: FunctionalVerdict, spec: FunctionalSpec) -> bool:
    if v.stage in _RUN_FAILED:
        return True
    return spec.run_failure_on_abort and any(t.status in _ABORTING for t in v.tests)


def functional_score(v: FunctionalVerdict, spec: FunctionalSpec) -> float:
    if spec.run_failure is not None and _run_failed(v, spec):
        return spec.run_failure
    if spec.kind == "binary":
        return 1.0 if v.stage is Stage.PASSED else 0.0
    if spec.kind == "fraction":
        return _fraction(v)
    if spec.kind == "groups":
        num = den = 0.0
        for name, w in spec.group_weights.items():
            g = v.groups.get(name)
            num += w * (g.fraction if g is not None else 0.0)
            den += w
        return num / den
    if spec.kind == "partial_credit":
        if not v.syntax_ok:
            return 0.0
        r = spec.syntax
        if v.ran:
            r += spec.runs
            if v.printed_output:
                r += spec.prints
            r += spec.tests * _fraction(v)
        return r
    # per_test: REAL's leetcode/sql correctness
    tests = functional_tests(v)
    if spec.max_tests is not None:
        tests = tests[: spec.max_tests]
    if not tests:
        # the module never reached the tests (REAL: every test of the run errors)
        return spec.error_score if v.stage is not Stage.PASSED else spec.pass_score
    return sum(_per_test(t, spec) for t in tests) / len(tests)


def _per_test(t: TestResult, spec: FunctionalSpec) -> float:
    if t.passed:
        return spec.pass_score
    if t.status == "timeout":
        return spec.timeout_score
    if t.status == "ok":
        return spec.fail_score
    return spec.error_score


# --- security, maintainability, dynamic --------------------------------------------------------------------


def security_score(s: SecurityResult, spec: SecuritySpec) -> float:
    if s.parse_error:
        return spec.analysis_failure
    findings = s.findings
    if spec.only_cwes is not None:
        wanted = set(spec.only_cwes)
        findings = [f for f in findings if f.cwe in wanted]
    if spec.kind == "binary":
        return 0.0 if findings else 1.0
    if spec.kind == "linear":
        return max(0.0, 1.0 - spec.per_finding * len(findings))
    v = sum(f.severity.weight for f in findings)
    if spec.kind == "severity_linear":
        return max(0.0, 1.0 - v)
    return math.exp(-v)


def maintainability_score(m: MaintainabilityResult, spec: MaintainabilitySpec) -> float:
    if m.mypy_exit is None or m.mypy_exit >= 2:
        return spec.check_failure
    errors = m.mypy_errors if m.mypy_exit == 1 else 0
    if m.mypy_exit == 1:
        errors = max(1, errors)  # REAL: a failed run counts at least one error
    if spec.kind == "binary":
        return 1.0 if errors == 0 else 0.0
    return max(0.0, 1.0 - spec.per_error * errors)


def dynamic_score(d: DynamicSecurityVerdict, spec: DynamicSpec) -> float | None:
    if d.secure is None:
        return None
    if spec.kind == "binary":
        return 1.0 if d.secure else 0.0
    if d.tests:
        return sum(t.passed for t in d.tests) / len(d.tests)
    if d.attacks:
        return sum(not x.exploited for x in d.attacks) / len(d.attacks)
    return 1.0 if d.secure else 0.0
