from __future__ import annotations

import pytest

from realcode.evaluation.metrics import SampleOutcome, breakdown, compute_metrics


def _o(task: str, function: bool, quality: bool | None, **kw: object) -> SampleOutcome:
    return SampleOutcome(task_id=task, function=function, quality=quality, **kw)  # type: ignore[arg-type]


def test_func_qual_is_the_joint_rate_not_the_product() -> None:
    outcomes = [_o("a", True, False), _o("b", False, True), _o("c", True, True), _o("d", False, False)]
    table = compute_metrics(outcomes)
    assert table.metrics["function"].value == 0.5
    assert table.metrics["quality"].value == 0.5
    assert table.metrics["func_qual"].value == 0.25


def test_tasks_weigh_equally_whatever_their_sample_count() -> None:
    outcomes = [_o("a", True, None, sample=i) for i in range(4)] + [_o("b", False, None)]
    table = compute_metrics(outcomes, ks=(1,))
    assert table.metrics["function"].value == 0.5  # not 4/5
    assert "quality" not in table.metrics and "func_qual" not in table.metrics


def test_infra_errors_are_left_out_and_counted() -> None:
    outcomes = [_o("a", True, True), _o("b", False, False, infra_error=True)]
    table = compute_metrics(outcomes)
    assert table.infra_errors == 1 and table.n_tasks == 1
    assert table.metrics["function"].value == 1.0


def test_pass_at_k_over_samples() -> None:
    outcomes = [_o("a", i < 2, True, sample=i) for i in range(5)] + [_o("b", False, True, sample=i) for i in range(5)]
    table = compute_metrics(outcomes, ks=(1, 5))
    assert table.pass_at["function@1"] == pytest.approx((2 / 5 + 0) / 2)
    assert table.pass_at["function@5"] == pytest.approx(0.5)


def test_breakdown_by_cwe() -> None:
    outcomes = [_o("a", True, True, cwe=("CWE-79",)), _o("b", True, False, cwe=("CWE-89",))]
    per = breakdown(outcomes, lambda o: o.cwe)
    assert set(per) == {"CWE-79", "CWE-89"}
    assert per["CWE-89"].metrics["func_qual"].value == 0.0
