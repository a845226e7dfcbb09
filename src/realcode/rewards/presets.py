"""Reward presets: the papers' formulas, number for number, and realcode's recommendation.

Where each number comes from (REAL = "Training Language Models to Generate Quality Code with Program
Analysis Feedback", NeurIPS 2025, released code at github.com/yaof20/ReaL, files under
``verl/utils/reward_score/`` and launch scripts under ``run/``):

``real-seccodeplt``
    ``run/seccodeplt/hybrid-*.sh`` sets ``scpd_ratio=0.5, ut_ratio=0.5, safety_ratio=0`` (detector 0.5 + unit
    tests 0.5, capability tests only). ``seccodeplt.py``: no ```` ```python ```` block, an empty one or one
    still holding ``YOUR_CODE_HERE`` -> -1 for the whole reward; unit-test reward = fraction of capability
    tests passed, or -0.5 when the test run failed (the code does not load, or a test kills the single
    ``python -c`` process: timeout, crash, exit); detector reward = ``max(0, 1 - 0.3 * findings)``, or -0.5 when
    the detector fails (it ``ast.parse``\\ s the code, so a syntax error).
``real-safesql`` / ``real-safesql-0.3``
    ``run/safesql/hybrid-*.sh``: ``['sql-security-static','sql-correctness']`` with weights ``[0.1, 0.9]``;
    the paper's ablation uses 0.3/0.7. ``sql_utils.compute_score_correctness``: per test pass 1, fail 0,
    error -0.5 (the program raised, timed out or exited non-zero), averaged; ``sql_injection``: static
    reward 1 without an SQL-injection finding, else 0 (a syntax error is a finding). No code -> -1 in every
    component. REAL averages over 5 tests sampled at random during training; realcode takes the first 5
    (``functional.max_tests``), so that the reward is deterministic; assessments for these presets run only
    those tests (evaluation runs every test).
``real-apps``
    ``run/apps-code/hybrid-*.sh``: ``['mypy-typecheck','leetcode-correctness']`` with weights ``[0.5, 0.5]``.
    ``mypy_utils.py``: ``mypy --strict`` with ``from typing import *`` prepended: exit 0 -> 1, exit 1 ->
    ``max(0, 1 - 0.5 * errors)``, otherwise -0.5. ``leetcode_utils.py``: the first 5 tests, each pass 1,
    timeout 0.1 ("skip"), wrong answer 0, error -0.5, averaged. No code -> -1.
``securecoderl``
    SecureCodeRL (Sijwali and Saha, arXiv 2601.01184): ``R = alpha * R_func + beta * R_sec`` with alpha 0.6,
    beta 0.4; ``R_func`` the partial-credit ladder (syntax error 0, valid syntax 0.2, +0.2 runs, +0.2 prints
    output, +0.4 x fraction of tests passed); ``R_sec`` severity-weighted ``max(0, 1 - V)`` over the static
    findings (the paper uses Bandit; realcode uses its own analyzer with the same severity scale). A
    completion without code has no valid syntax: 0.
``realcode-default``
    realcode's recommendation for training: ``0.3 * quality + 0.7 * function``, function = fraction of
    functional tests passed, quality = mean of the checks that apply to the task (security ``exp(-V)``,
    maintainability REAL's ``max(0, 1 - 0.5 * errors)``, dynamic security binary), no code -1, and every
    guard on (see :mod:`realcode.rewards.guards`).

Scores are computed by :func:`realcode.rewards.scoring.score`. REAL's combination divides by the sum of the
weights, as realcode always does; with weights summing to 1 that is the plain weighted sum.
"""

from __future__ import annotations

from realcode.rewards.spec import (
    DynamicSpec,
    FormatSpec,
    FunctionalSpec,
    GuardSpec,
    MaintainabilitySpec,
    RewardSpec,
    SecuritySpec,
    SpecError,
)

_REAL = "REAL (NeurIPS 2025), github.com/yaof20/ReaL"


def _real_safesql(name: str, description: str, source: str, *, security_weight: float) -> RewardSpec:
    """REAL's SafeSQL reward (first 5 I/O tests, static SQL-injection check) at one of its weightings."""
    return RewardSpec(
        name=name,
        description=description,
        source=source,
        functional=FunctionalSpec(
            kind="per_test", pass_score=1.0, fail_score=0.0, error_score=-0.5, timeout_score=-0.5, max_tests=5
        ),
        security=SecuritySpec(kind="binary", only_cwes=["CWE-89"], analysis_failure=0.0),
        weights={"functional": round(1.0 - security_weight, 10), "security": security_weight},
        format=FormatSpec(no_code=-1.0),
    )


PRESETS: dict[str, RewardSpec] = {
    "real-seccodeplt": RewardSpec(
        name="real-seccodeplt",
        description="REAL on SecCodePLT+: 0.5 detector + 0.5 capability unit tests",
        source=f"{_REAL}: run/seccodeplt/hybrid-*.sh, verl/utils/reward_score/seccodeplt.py",
        functional=FunctionalSpec(
            kind="groups", group_weights={"capability": 1.0}, run_failure=-0.5, run_failure_on_abort=True
        ),
        security=SecuritySpec(kind="linear", per_finding=0.3, analysis_failure=-0.5),
        weights={"functional": 0.5, "security": 0.5},
        format=FormatSpec(no_code=-1.0, placeholders=["YOUR_CODE_HERE"]),
    ),
    "real-safesql": _real_safesql(
        "real-safesql",
        "REAL on SafeSQL: 0.1 static SQL-injection check + 0.9 correctness",
        f"{_REAL}: run/safesql/hybrid-*.sh, verl/utils/reward_score/sql_utils.py and sql_injection/",
        security_weight=0.1,
    ),
    "real-safesql-0.3": _real_safesql(
        "real-safesql-0.3",
        "REAL on SafeSQL, ablation weights: 0.3 static SQL-injection check + 0.7 correctness",
        f"{_REAL}: SafeSQL weight ablation; formulas as real-safesql",
        security_weight=0.3,
    ),
    "real-apps": RewardSpec(
        name="real-apps",
        description="REAL on APPS+: 0.5 mypy --strict + 0.5 correctness (first 5 tests)",
        source=f"{_REAL}: run/apps-code/hybrid-*.sh, verl/utils/reward_score/mypy_utils.py and leetcode_utils.py",
        functional=FunctionalSpec(
            kind="per_test", pass_score=1.0, fail_score=0.0, error_score=-0.5, timeout_score=0.1, max_tests=5
        ),
        maintainability=MaintainabilitySpec(kind="linear", per_error=0.5, check_failure=-0.5),
        weights={"functional": 0.5, "maintainability": 0.5},
        format=FormatSpec(no_code=-1.0),
    ),
    "securecoderl": RewardSpec(
        name="securecoderl",
        description="SecureCodeRL: 0.6 x partial-credit function + 0.4 x severity-weighted security",
        source="SecureCodeRL (Sijwali and Saha, arXiv 2601.01184)",
        functional=FunctionalSpec(kind="partial_credit", syntax=0.2, runs=0.2, prints=0.2, tests=0.4),
        security=SecuritySpec(kind="severity_linear"),
        weights={"functional": 0.6, "security": 0.4},
        format=FormatSpec(no_code=0.0),
    ),
    "realcode-default": RewardSpec(
        name="realcode-default",
        description="realcode's recommendation: 0.3 x quality + 0.7 x function, every guard on",
        source="realcode",
        functional=FunctionalSpec(kind="fraction"),
        security=SecuritySpec(kind="severity_exp"),
        maintainability=MaintainabilitySpec(kind="linear", per_error=0.5, check_failure=0.0),
        dynamic=DynamicSpec(kind="binary"),
        weights={"functional": 1.0, "security": 1.0, "maintainability": 1.0, "dynamic": 1.0},
        quality_alpha=0.3,
        format=FormatSpec(no_code=-1.0),
        guards=GuardSpec(
            quality_requires_function=True,
            tampering=True,
            tampering_reward=-1.0,
            hardcoded_examples=True,
            max_code_chars=20_000,
            unclosed_block_is_no_code=True,
        ),
    ),
}

# Which preset suits a benchmark when the user names none.
BENCHMARK_PRESETS: dict[str, str] = {
    "seccodeplt": "real-seccodeplt",
    "seccodeplt-plus": "real-seccodeplt",
    "safesql": "real-safesql",
    "apps-plus": "real-apps",
    "humaneval": "realcode-default",
}


def get_preset(name: str) -> RewardSpec:
    """The preset called ``name``; a :class:`SpecError` listing the known presets otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise SpecError(f"unknown reward preset {name!r}; known: {', '.join(PRESETS)}") from None


def preset_for(benchmark: str) -> RewardSpec:
    """The paper preset of ``benchmark`` (``realcode-default`` for benchmarks without one)."""
    return PRESETS[BENCHMARK_PRESETS.get(benchmark, "realcode-default")]


def load_spec(source: str) -> RewardSpec:
    """A preset name, or a path to a YAML/JSON file holding a :class:`RewardSpec` (errors name the file)."""
    if source in PRESETS:
        return PRESETS[source]
    from pathlib import Path

    path = Path(source)
    if not path.is_file():
        raise SpecError(f"unknown reward preset {source!r} (and no such file); known: {', '.join(PRESETS)}")
    import yaml
    from pydantic import ValidationError

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML/JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: a reward spec must be a mapping, got {type(data).__name__}")
    try:
        return RewardSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(f"{path}: invalid reward spec: {explain(exc)}") from None


def explain(exc: Exception) -> str:
    """A pydantic validation error as ``field: message`` clauses, without pydantic's boilerplate."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return str(exc)
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)
