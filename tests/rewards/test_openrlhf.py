"""OpenRLHF file mode: ``reward_func(queries, prompts, labels)`` loaded from its file, as OpenRLHF does."""

from __future__ import annotations

import importlib.util
import json
import math

import pytest

torch = pytest.importorskip("torch")

import realcode.rewards.openrlhf as openrlhf_module  # noqa: E402
from realcode.rewards import get_preset  # noqa: E402
from realcode.tasks import load_tasks  # noqa: E402


def _load_from_file():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("openrlhf_reward", openrlhf_module.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.reward_func


def test_file_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REALCODE_PRESET", "real-apps")
    reward_func = _load_from_file()
    apps = load_tasks("apps-plus")[:2]
    prompt = "<|im_start|>user\nSolve it.<|im_end|>\n<|im_start|>assistant\n"
    queries = [prompt + f"```python\n{t.references.canonical}\n```" for t in apps] + [prompt + "no code"]
    labels = [json.dumps({"task_id": t.id, "benchmark": "apps-plus"}) for t in apps] + [
        json.dumps({"task_id": apps[0].id, "benchmark": "apps-plus"})
    ]
    out = reward_func(queries, [prompt] * 3, labels)
    assert set(out) == {"rewards", "scores", "extra_logs"}
    rewards = out["rewards"].tolist()
    assert rewards[2] == -1.0
    assert all(-1.0 <= r <= 1.0 for r in rewards)
    logs = out["extra_logs"]
    assert logs["realcode/infra_errors"] == 0.0
    assert "realcode/maintainability" in logs and "realcode/functional" in logs
    # the same numbers as scoring directly
    from realcode.assess import assess
    from realcode.rewards import score

    spec = get_preset("real-apps")
    direct = [
        score(a, spec).total for a in assess(apps, queries[:2], checks=spec.required_checks(), max_tests=5)
    ]
    assert rewards[:2] == pytest.approx(direct)


def test_bad_labels_give_nan_not_a_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REALCODE_PRESET", raising=False)
    reward_func = _load_from_file()
    out = reward_func(["p x", "p y"], ["p", "p"], ["{broken", json.dumps({"benchmark": "apps-plus"})])
    assert all(math.isnan(r) for r in out["rewards"].tolist())
    assert out["extra_logs"]["realcode/sample_errors"] == 2.0
    assert out["extra_logs"]["realcode/infra_errors"] == 0.0
