"""Hand-made assessments for reward tests: every field set explicitly, nothing computed."""

from __future__ import annotations

from collections.abc import Sequence

from realcode.analysis.findings import Confidence, Finding, Location, Severity
from realcode.assess.model import Assessment, Extraction, GuardSignals, MaintainabilityResult, SecurityResult
from realcode.judge.verdict import (
    DynamicSecurityVerdict,
    FunctionalVerdict,
    GroupResult,
    Stage,
    TestResult,
)


def tests_of(group: str, statuses: Sequence[str]) -> list[TestResult]:
    """One test per status: "pass", "fail" (ran, wrong answer), or a sandbox exit reason (exception, timeout...)."""
    out = []
    for i, s in enumerate(statuses):
        out.append(
            TestResult(
                name=f"{group}/{i}",
                group=group,
                passed=s == "pass",
                status="ok" if s in ("pass", "fail") else s,
            )
        )
    return out


def verdict(
    groups: dict[str, Sequence[str]],
    *,
    stage: Stage | None = None,
    security_groups: Sequence[str] = (),
    ran: bool = True,
    syntax_ok: bool = True,
    printed: bool = False,
) -> FunctionalVerdict:
    tests: list[TestResult] = []
    results: dict[str, GroupResult] = {}
    for name, statuses in groups.items():
        ts = tests_of(name, statuses)
        tests += ts
        results[name] = GroupResult(
            name=name, passed=sum(t.passed for t in ts), total=len(ts), security=name in security_groups
        )
    if stage is None:
        func = [t for t in tests if t.group not in security_groups]
        stage = Stage.PASSED if func and all(t.passed for t in func) else Stage.TESTS_FAILED
    return FunctionalVerdict(
        stage=stage, tests=tests, groups=results, syntax_ok=syntax_ok, ran=ran, printed_output=printed
    )


def finding(cwe: str = "CWE-89", severity: Severity = Severity.HIGH, line: int = 1) -> Finding:
    return Finding(
        rule_id="RC-TEST-001",
        cwe=cwe,
        severity=severity,
        confidence=Confidence.HIGH,
        message="test finding",
        location=Location(line=line),
    )


def assessment(
    *,
    code: str | None = "def f(x):\n    return x\n",
    functional: FunctionalVerdict | None = None,
    findings: Sequence[Finding] | None = None,
    parse_error: bool = False,
    mypy: tuple[int, int] | None = None,
    dynamic: bool | None = None,
    signals: GuardSignals | None = None,
    benchmark: str = "seccodeplt-plus",
    code_chars: int | None = None,
    unclosed: bool = False,
) -> Assessment:
    a = Assessment(
        task_id="t1",
        benchmark=benchmark,
        checks=["functional", "security", "maintainability", "dynamic"],
        extraction=Extraction(
            found=code is not None,
            mode="last",
            blocks=1,
            code_chars=len(code or "") if code_chars is None else code_chars,
            unclosed=unclosed,
        ),
        code=code,
        functional=functional,
        signals=signals or GuardSignals(python_blocks=1),
    )
    if findings is not None or parse_error:
        a.security = SecurityResult(findings=list(findings or []), parse_error=parse_error)
    if mypy is not None:
        a.maintainability = MaintainabilityResult(mypy_exit=mypy[0], mypy_errors=mypy[1])
    if dynamic is not None:
        a.dynamic = DynamicSecurityVerdict(applicable=True, secure=dynamic, kind="safety_tests")
    return a
