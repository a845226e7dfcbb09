"""``RewardSpec``: what a reward is made of, as data (YAML/JSON-able), validated on construction.

A spec names, per component, the formula and its constants, the weights that combine the components, the
format penalty and the reward-hacking guards. :func:`realcode.rewards.scoring.score` applies a spec to an
:class:`~realcode.assess.Assessment`; the presets of :mod:`realcode.rewards.presets` are specs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ComponentName = Literal["functional", "security", "maintainability", "dynamic"]
COMPONENTS: tuple[ComponentName, ...] = ("functional", "security", "maintainability", "dynamic")


class SpecError(ValueError):
    """A reward spec that makes no sense; the message names the field."""


def _finite(value: float, field: str, *, nonnegative: bool = False) -> None:
    if not isinstance(value, (int, float)) or math.isnan(value) or math.isinf(value):
        raise SpecError(f"{field} must be a finite number, got {value!r}")
    if nonnegative and value < 0:
        raise SpecError(f"{field} must not be negative, got {value!r}")


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FunctionalSpec(_Part):
    """How tests become a functional reward.

    * ``binary``: 1 when every functional test passed, else 0.
    * ``fraction``: the fraction of functional tests passed.
    * ``groups``: ``sum(w_g * fraction_g) / sum(w_g)`` over ``group_weights`` (e.g. capability/safety).
    * ``partial_credit`` (SecureCodeRL): syntax error 0; valid syntax ``syntax``; +``runs`` when the module
      runs; +``prints`` when it wrote output; + ``tests`` x fraction of tests passed.
    * ``per_test`` (REAL's APPS+/SafeSQL correctness): each test scores ``pass_score``, ``fail_score``,
      ``error_score`` (it raised or crashed) or ``timeout_score``; the reward is their mean over the first
      ``max_tests`` tests (all when None).

    ``run_failure``: the reward when the program could not be run at all (syntax error, failed to load, or,
    with ``run_failure_on_abort``, a test that killed the whole run: timeout, crash, exit). None keeps the
    formula's own value (0 for most).
    """

    kind: Literal["binary", "fraction", "groups", "partial_credit", "per_test"] = "fraction"
    group_weights: dict[str, float] = Field(default_factory=dict)
    pass_score: float = 1.0
    fail_score: float = 0.0
    error_score: float = -0.5
    timeout_score: float = 0.1
    max_tests: int | None = None
    syntax: float = 0.2
    runs: float = 0.2
    prints: float = 0.2
    tests: float = 0.4
    run_failure: float | None = None
    run_failure_on_abort: bool = False

    @model_validator(mode="after")
    def _check(self) -> FunctionalSpec:
        for name in (
            "pass_score",
            "fail_score",
            "error_score",
            "timeout_score",
            "syntax",
            "runs",
            "prints",
            "tests",
        ):
            _finite(getattr(self, name), f"functional.{name}")
        if self.run_failure is not None:
            _finite(self.run_failure, "functional.run_failure")
        for g, w in self.group_weights.items():
            _finite(w, f"functional.group_weights[{g!r}]", nonnegative=True)
        if self.kind == "groups":
            if not self.group_weights:
                raise SpecError(
                    "functional.group_weights must name at least one test group when kind is 'groups'"
                )
            if sum(self.group_weights.values()) <= 0:
                raise SpecError("functional.group_weights are all zero: no group would count")
        if self.max_tests is not None and self.max_tests < 1:
            raise SpecError(f"functional.max_tests must be at least 1, got {self.max_tests}")
        return self


class SecuritySpec(_Part):
    """How static security findings become a reward.

    * ``binary``: 1 when there is no finding, else 0.
    * ``linear`` (REAL's detector reward): ``max(0, 1 - per_finding * n)``.
    * ``severity_linear``: ``max(0, 1 - V)`` with V the sum of severity weights
      (:attr:`realcode.analysis.findings.Severity.weight`), capped below at 0.
    * ``severity_exp``: ``exp(-V)``.

    ``only_cwes`` restricts the findings counted (REAL's SafeSQL detector looks only for SQL injection).
    ``analysis_failure``: the reward when the analyzer cannot parse the code (REAL: -0.5).
    """

    kind: Literal["binary", "linear", "severity_linear", "severity_exp"] = "severity_exp"
    per_finding: float = 0.3
    only_cwes: list[str] | None = None
    analysis_failure: float = 0.0

    @model_validator(mode="after")
    def _check(self) -> SecuritySpec:
        _finite(self.per_finding, "security.per_finding", nonnegative=True)
        _finite(self.analysis_failure, "security.analysis_failure")
        return self


class MaintainabilitySpec(_Part):
    """How ``mypy --strict`` becomes a reward: ``binary`` (clean or not) or ``linear`` (REAL:
    ``max(0, 1 - per_error * errors)``); ``check_failure`` when mypy cannot check the file (REAL: -0.5)."""

    kind: Literal["binary", "linear"] = "linear"
    per_error: float = 0.5
    check_failure: float = -0.5

    @model_validator(mode="after")
    def _check(self) -> MaintainabilitySpec:
        _finite(self.per_error, "maintainability.per_error", nonnegative=True)
        _finite(self.check_failure, "maintainability.check_failure")
        return self


class DynamicSpec(_Part):
    """Dynamic security (SecCodePLT safety tests, SafeSQL attack replay): ``binary`` secure or not, or
    ``fraction`` of safety tests passed / attacks resisted."""

    kind: Literal["binary", "fraction"] = "binary"


class FormatSpec(_Part):
    """The reward when no code can be taken from the completion (REAL: -1), and markers that make a code
    block count as no code (REAL treats a block still holding the template's placeholder as none)."""

    no_code: float = -1.0
    placeholders: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> FormatSpec:
        _finite(self.no_code, "format.no_code")
        return self


class GuardSpec(_Part):
    """Reward-hacking guards (see :mod:`realcode.rewards.guards` for each rule)."""

    quality_requires_function: bool = False
    tampering: bool = False
    tampering_reward: float = -1.0
    hardcoded_examples: bool = False
    max_python_blocks: int | None = None
    max_code_chars: int | None = None
    unclosed_block_is_no_code: bool = False

    @model_validator(mode="after")
    def _check(self) -> GuardSpec:
        _finite(self.tampering_reward, "guards.tampering_reward")
        if self.max_python_blocks is not None and self.max_python_blocks < 1:
            raise SpecError(f"guards.max_python_blocks must be at least 1, got {self.max_python_blocks}")
        if self.max_code_chars is not None and self.max_code_chars < 1:
            raise SpecError(f"guards.max_code_chars must be at least 1, got {self.max_code_chars}")
        return self


def _functional_only() -> dict[ComponentName, float]:
    return {"functional": 1.0}


class RewardSpec(_Part):
    """A complete reward.

    ``weights`` name the components that count and their weights. The total is
    ``sum(w_c * r_c) / sum(w_c)`` over the components the sample has (REAL divides by the sum of weights the
    same way; with weights summing to 1 this is ``alpha * R_func + beta * R_sec``). With ``quality_alpha`` set,
    the total is ``alpha * quality + (1 - alpha) * functional`` where quality is the weighted mean of the
    non-functional components.
    """

    name: str = "custom"
    description: str = ""
    source: str = ""  # where the numbers come from
    functional: FunctionalSpec | None = Field(default_factory=FunctionalSpec)
    security: SecuritySpec | None = None
    maintainability: MaintainabilitySpec | None = None
    dynamic: DynamicSpec | None = None
    weights: dict[ComponentName, float] = Field(default_factory=_functional_only)
    quality_alpha: float | None = None
    format: FormatSpec = Field(default_factory=FormatSpec)
    guards: GuardSpec = Field(default_factory=GuardSpec)

    @model_validator(mode="after")
    def _check(self) -> RewardSpec:
        if not self.weights:
            raise SpecError("weights must name at least one component")
        for comp, w in self.weights.items():
            _finite(w, f"weights[{comp!r}]", nonnegative=True)
            if getattr(self, comp) is None:
                raise SpecError(f"weights[{comp!r}] is set but the spec has no {comp!r} component")
        if self.quality_alpha is None and sum(self.weights.values()) <= 0:
            raise SpecError("weights are all zero: the reward would always be undefined")
        if self.quality_alpha is not None:
            _finite(self.quality_alpha, "quality_alpha")
            if not 0.0 <= self.quality_alpha <= 1.0:
                raise SpecError(f"quality_alpha must be between 0 and 1, got {self.quality_alpha}")
            if "functional" not in self.weights:
                raise SpecError("quality_alpha needs a 'functional' entry in weights")
            quality = [c for c in self.weights if c != "functional"]
            if not quality or sum(self.weights[c] for c in quality) <= 0:
                raise SpecError("quality_alpha needs a quality component with a positive weight in weights")
        return self

    @property
    def components(self) -> list[ComponentName]:
        """Components that count in the total."""
        return [c for c in COMPONENTS if c in self.weights]

    def required_checks(self) -> list[str]:
        """The assessment checks this spec reads."""
        return list(self.components)


def combine(comps: Mapping[ComponentName, float | None], spec: RewardSpec) -> float | None:
    """Weighted mean over the components present; ``quality_alpha`` mixes quality and function."""
    present = {c: v for c, v in comps.items() if v is not None}
    if spec.quality_alpha is None:
        wsum = sum(spec.weights[c] for c in present)
        if wsum <= 0:
            return None
        return sum(spec.weights[c] * v for c, v in present.items()) / wsum
    func = present.get("functional")
    quality = {c: v for c, v in present.items() if c != "functional"}
    qw = sum(spec.weights[c] for c in quality)
    if func is None:
        return None
    if qw <= 0:
        return func  # no quality check applies to this task: function alone
    q = sum(spec.weights[c] * v for c, v in quality.items()) / qw
    return spec.quality_alpha * q + (1.0 - spec.quality_alpha) * func
