"""TRL adapter: weighted component rewards equal ``score``; a few real GRPO steps on the tiny offline model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from realcode.assess import assess
from realcode.judge.verdict import FunctionalVerdict, Stage
from realcode.rewards import get_preset, score
from realcode.rewards.trl import ComponentReward, reward_funcs, trl_dataset
from realcode.tasks import Task, load_tasks


@pytest.fixture(scope="module")
def tasks() -> list[Task]:
    scp = [t for t in load_tasks("seccodeplt-plus", "test") if t.references.patched][:2]
    return scp + load_tasks("apps-plus")[:2]


def _answers(tasks: list[Task]) -> list[str]:
    out = []
    for i, t in enumerate(tasks):
        code = t.references.patched or t.references.canonical or ""
        out.append(f"```python\n{code}\n```" if i % 2 == 0 else f"Answer:\n```python\n{code}\n```\nDone.")
    out[-1] = "I will not write code."
    return out


@pytest.mark.parametrize("preset", ["real-seccodeplt", "real-apps", "securecoderl", "realcode-default"])
def test_weighted_components_equal_the_total(tasks: list[Task], preset: str) -> None:
    funcs, weights = reward_funcs(preset, tasks=tasks)
    spec = get_preset(preset)
    assert [f.__name__ for f in funcs] == [f"realcode_{c}" for c in spec.components]
    completions = _answers(tasks)
    kwargs: dict[str, Any] = {
        "task_id": [t.id for t in tasks],
        "benchmark": [t.benchmark.value for t in tasks],
    }
    columns = [f(prompts=[""] * len(tasks), completions=completions, **kwargs) for f in funcs]
    assessments = assess(tasks, completions, checks=sorted(set(spec.required_checks()) | {"functional"}))
    for i, a in enumerate(assessments):
        if spec.functional is not None and spec.functional.max_tests is not None:
            a = assess([tasks[i]], [completions[i]], checks=a.checks, max_tests=spec.functional.max_tests)[0]
        total = score(a, spec).total
        assert total is not None
        trl_sum = sum(w * col[i] for w, col in zip(weights, columns, strict=True) if col[i] is not None)
        assert trl_sum == pytest.approx(total), (preset, i)
    assert all(
        col[-1] == spec.format.no_code for col in columns
    )  # no code: every component carries the penalty


def test_conversational_completions_and_missing_columns(tasks: list[Task]) -> None:
    [func], _ = reward_funcs(
        get_preset("real-seccodeplt").model_copy(update={"weights": {"functional": 1.0}}), tasks=tasks
    )
    code = tasks[0].references.patched or ""
    conv = [[{"role": "assistant", "content": f"```python\n{code}\n```"}]]
    assert func(prompts=[[]], completions=conv, task_id=[tasks[0].id], benchmark=["seccodeplt-plus"]) == [1.0]
    with pytest.raises(KeyError, match="no 'task_id' column"):
        func(prompts=[""], completions=["x"], benchmark=["seccodeplt-plus"])


def test_infra_error_gives_none(tasks: list[Task], monkeypatch: pytest.MonkeyPatch) -> None:
    import realcode.judge as judge

    def broken(ts: Any, codes: Any, **kw: Any) -> list[FunctionalVerdict]:
        return [FunctionalVerdict(stage=Stage.INFRA_ERROR, message="sandbox unavailable") for _ in ts]

    monkeypatch.setattr(judge, "judge_many", broken)
    funcs, _ = reward_funcs("real-apps", tasks=tasks, cache=False)
    t = tasks[2]
    out = [
        f(
            prompts=[""],
            completions=["```python\ndef f():\n    return 1\n```"],
            task_id=[t.id],
            benchmark=["apps-plus"],
        )
        for f in funcs
    ]
    assert out == [[None], [None]]


@pytest.mark.slow
@pytest.mark.parametrize("trainer_name", ["GRPO", "RLOO"])
def test_trainer_steps_on_tiny_model(tasks: list[Task], tmp_path: Path, trainer_name: str) -> None:
    trl = pytest.importorskip("trl")
    config_cls = getattr(trl, f"{trainer_name}Config")
    trainer_cls = getattr(trl, f"{trainer_name}Trainer")

    from realcode.training.tiny import build_tiny_model

    model_dir = build_tiny_model(tmp_path / "tiny")
    funcs, weights = reward_funcs("real-apps")
    calls: list[int] = []
    inner = funcs[0].scorer.values

    def counting(completions: Any, kwargs: dict[str, Any]) -> Any:
        calls.append(len(completions))
        return inner(completions, kwargs)

    funcs[0].scorer.values = counting  # type: ignore[method-assign]
    apps = load_tasks("apps-plus")[:4]
    args = config_cls(
        output_dir=str(tmp_path / "out"),
        use_cpu=True,
        bf16=False,
        per_device_train_batch_size=4,
        num_generations=2,
        max_completion_length=12,
        max_steps=2,
        logging_steps=1,
        learning_rate=1e-4,
        reward_weights=weights,
        report_to=[],
        save_strategy="no",
        seed=0,
    )
    trainer = trainer_cls(
        model=str(model_dir), reward_funcs=funcs, args=args, train_dataset=trl_dataset(apps)
    )
    trainer.train()
    logged = [h for h in trainer.state.log_history if "rewards/realcode_functional/mean" in h]
    assert len(logged) == 2
    for h in logged:
        assert "rewards/realcode_maintainability/mean" in h
        # a 12-token answer from an untrained model holds no code block: REAL's format penalty, -1
        assert h["rewards/realcode_functional/mean"] == pytest.approx(-1.0)
        assert h["reward"] == pytest.approx(-1.0)
    assert calls and all(n == 4 for n in calls)
    assert isinstance(funcs[1], ComponentReward)
