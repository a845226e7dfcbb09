"""``realcode demo``: the whole pipeline in miniature, on CPU, with nothing downloaded.

1. Pick a few SecCodePLT+ training tasks whose patched reference passes its tests and is clean, and whose
   vulnerable reference passes its tests and is flagged (so both answers are *functional*, one is *secure*).
2. Build a tiny Qwen2-architecture model offline, with a tokenizer trained on those tasks' text.
3. SFT it on a 50/50 mix of vulnerable and patched solutions: the model learns to write working code, insecure
   about half of the time, which is where REAL's base models start.
4. Evaluate it with the evaluation harness (sampling, the sandbox, the judge, the analyzer).
5. RL (GRPO on TRL) with REAL's hybrid reward, 0.5 x detector + 0.5 x unit tests.
6. Evaluate again with the same harness and settings, and write the before/after report.

Quality should rise while Function holds, on the tasks it trained on. It is a miniature: a model of a million
parameters that memorises a handful of tasks shows the *mechanism* of the hybrid reward, not the paper's result.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from realcode.tasks import Task, load_tasks, render_prompt

MINIATURE_NOTE = (
    "This is a miniature: a ~1M-parameter model, built offline, trained on a handful of SecCodePLT+ tasks on CPU. "
    "It shows the mechanism of the hybrid reward (quality rises, function holds, on the tasks it trained on); "
    "it is not the paper's result and says nothing about generalisation to unseen tasks."
)


@dataclass
class DemoConfig:
    """Sizes of the miniature; the defaults fit in about ten minutes on two CPU cores."""

    tasks: int = 6
    candidates: int = 80  # shortest tasks screened for the demo's selection
    vocab_size: int = 1024
    hidden_size: int = 128
    layers: int = 2
    sft_epochs: int = 40
    sft_lr: float = 3e-3
    rl_steps: int = 60
    rl_lr: float = 5e-4
    num_generations: int = 6
    eval_samples: int = 12
    temperature: float = 1.0
    max_new_tokens: int = 160
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def select_tasks(cfg: DemoConfig) -> list[Task]:
    """Tasks whose patched answer passes and is clean, and whose vulnerable answer passes and is flagged."""
    from realcode.assess import assess
    from realcode.evaluation.run import policy_completion

    pool = [t for t in load_tasks("seccodeplt-plus", "train") if t.references.patched and t.references.vulnerable]
    pool.sort(key=lambda t: (len(t.references.patched or "") + len(t.references.vulnerable or ""), t.id))
    pool = pool[: cfg.candidates]
    checks = ["functional", "security"]
    patched = assess(pool, [policy_completion(t, "patched") for t in pool], checks=checks)  # type: ignore[arg-type]
    vulnerable = assess(pool, [policy_completion(t, "vulnerable") for t in pool], checks=checks)  # type: ignore[arg-type]
    chosen: list[Task] = []
    seen_cwe: dict[str, int] = {}
    for task, p, v in zip(pool, patched, vulnerable, strict=True):
        clean_p = p.security is not None and not p.security.findings
        clean_v = v.security is not None and not v.security.findings
        if not (p.passed and clean_p and v.passed and not clean_v):
            continue
        # Prefer variety: at most half of the tasks from one CWE.
        cwe = task.cwe[0] if task.cwe else ""
        if seen_cwe.get(cwe, 0) >= max(1, cfg.tasks // 2):
            continue
        seen_cwe[cwe] = seen_cwe.get(cwe, 0) + 1
        chosen.append(task)
        if len(chosen) == cfg.tasks:
            break
    if len(chosen) < cfg.tasks:
        raise RuntimeError(f"only {len(chosen)} SecCodePLT+ tasks qualify for the demo (asked for {cfg.tasks})")
    return chosen


def _corpus(tasks: Sequence[Task]) -> list[str]:
    from realcode.evaluation.run import policy_completion

    texts = []
    for t in tasks:
        texts += [m.content for m in render_prompt(t)]
        texts += [policy_completion(t, "patched"), policy_completion(t, "vulnerable")]
    return texts


def _evaluate(out: Path, model: Path, tasks: Sequence[Task], cfg: DemoConfig, name: str) -> dict[str, Any]:
    from realcode.evaluation.run import EvalConfig, EvalRun

    config = EvalConfig(
        benchmark="seccodeplt-plus",
        split="train",
        backend="hf",
        model=str(model),
        n=cfg.eval_samples,
        seeds=[cfg.seed],
        temperature=cfg.temperature,
        max_new_tokens=cfg.max_new_tokens,
        task_ids=[t.id for t in tasks],
        name=name,
    )
    return EvalRun(out, config).run(batch_size=len(tasks))


def run_demo(
    out_dir: str | Path, cfg: DemoConfig | None = None, *, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Run the miniature end to end into ``out_dir``; returns the summary (also written as ``demo.json``)."""
    from realcode.evaluation.report import write_report
    from realcode.training.config import TrainConfig
    from realcode.training.tiny import build_tiny_model
    from realcode.training.trl_train import train

    cfg = cfg or DemoConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def stage(name: str, t0: float) -> None:
        timings[name] = round(time.perf_counter() - t0, 1)
        log(f"[demo] {name}: {timings[name]} s")

    t0 = time.perf_counter()
    tasks = select_tasks(cfg)
    stage("select tasks", t0)
    log(f"[demo] tasks: {', '.join(f'{t.id} ({t.cwe[0]})' for t in tasks)}")

    t0 = time.perf_counter()
    model_dir = out / "tiny-model"
    if not (model_dir / "config.json").exists():
        build_tiny_model(
            model_dir, corpus=_corpus(tasks), vocab_size=cfg.vocab_size, hidden_size=cfg.hidden_size,
            num_layers=cfg.layers, intermediate_size=4 * cfg.hidden_size, seed=cfg.seed,
        )
    stage("build model", t0)

    common = {
        "model": str(model_dir), "benchmark": "seccodeplt-plus", "seed": cfg.seed, "logging": "tensorboard",
        "max_prompt_length": 1024, "max_response_length": cfg.max_new_tokens, "save_steps": 1000,
    }
    t0 = time.perf_counter()
    sft_dir = out / "sft"
    sft_final = sft_dir / "final"
    if not (sft_final / "config.json").exists():
        sft_cfg = TrainConfig.model_validate(
            {**common, "algorithm": "sft", "sft_reference": "mixed", "sft_lr": cfg.sft_lr, "epochs": cfg.sft_epochs,
             "train_batch_size": 4, "micro_batch_size": 4}
        )
        train(sft_cfg, sft_dir, tasks=tasks)
    stage("sft", t0)

    t0 = time.perf_counter()
    before = _evaluate(out / "eval-before", sft_final, tasks, cfg, "before RL (SFT)")
    stage("evaluate before", t0)

    t0 = time.perf_counter()
    rl_dir = out / "grpo"
    rl_final = rl_dir / "final"
    if not (rl_final / "config.json").exists():
        rl_cfg = TrainConfig.model_validate(
            {**common, "model": str(sft_final), "algorithm": "grpo", "reward_preset": "real-seccodeplt",
             "actor_lr": cfg.rl_lr, "kl_coef": 0.0, "num_generations": cfg.num_generations,
             "train_batch_size": cfg.num_generations * len(tasks), "micro_batch_size": cfg.num_generations,
             "total_steps": cfg.rl_steps, "temperature": cfg.temperature, "save_steps": cfg.rl_steps}
        )
        train(rl_cfg, rl_dir, tasks=tasks)
    stage("grpo", t0)

    t0 = time.perf_counter()
    after = _evaluate(out / "eval-after", rl_final, tasks, cfg, "after RL (GRPO, hybrid reward)")
    stage("evaluate after", t0)

    for path in (out / "eval-before", out / "eval-after"):
        data = json.loads((path / "metrics.json").read_text())
        data.setdefault("notes", []).append(MINIATURE_NOTE)
        (path / "metrics.json").write_text(json.dumps(data, indent=2))
    md, html = write_report([out / "eval-before", out / "eval-after"], out)
    timings["total"] = round(time.perf_counter() - started, 1)

    def pick(m: dict[str, Any]) -> dict[str, Any]:
        return {k: m["overall"]["metrics"][k] for k in ("function", "quality", "func_qual") if k in m["overall"]["metrics"]}

    summary = {
        "tasks": [{"id": t.id, "cwe": t.cwe} for t in tasks],
        "before": pick(before),
        "after": pick(after),
        "timings_s": timings,
        "config": asdict(cfg),
        "report": {"markdown": str(md), "html": str(html)},
        "note": MINIATURE_NOTE,
    }
    (out / "demo.json").write_text(json.dumps(summary, indent=2))
    return summary
