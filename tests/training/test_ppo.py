"""PPO: the math against hand-computed numbers, and a toy task the trainer must learn on CPU."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from realcode.training.ppo import (  # noqa: E402
    PPOConfig,
    PPOTrainer,
    gae,
    kl_penalty,
    masked_whiten,
    policy_loss,
    token_rewards,
    value_loss,
)


def t(x: list[list[float]]) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float32)


def test_gae_with_gamma_lambda_one_gives_reward_to_go() -> None:
    adv, ret = gae(t([[0, 0, 1]]), t([[0.5, 0.6, 0.7]]), t([[1, 1, 1]]), 1.0, 1.0)
    assert adv.tolist()[0] == pytest.approx([0.5, 0.4, 0.3])
    assert ret.tolist()[0] == pytest.approx([1.0, 1.0, 1.0])


def test_gae_discounted_by_hand() -> None:
    # delta2 = 1 - .7 = .3; delta1 = .9*.7 - .6 = .03; delta0 = .9*.6 - .5 = .04; gamma*lam = .45
    adv, _ = gae(t([[0, 0, 1]]), t([[0.5, 0.6, 0.7]]), t([[1, 1, 1]]), 0.9, 0.5)
    assert adv.tolist()[0] == pytest.approx([0.04 + 0.45 * 0.165, 0.03 + 0.45 * 0.3, 0.3])


def test_gae_ignores_padding() -> None:
    adv, ret = gae(t([[0, 1, 0]]), t([[0.5, 0.6, 0.9]]), t([[1, 1, 0]]), 1.0, 1.0)
    assert adv.tolist()[0] == pytest.approx([0.5, 0.4, 0.0])
    assert ret.tolist()[0] == pytest.approx([1.0, 1.0, 0.0])


def test_clipped_policy_loss_by_hand() -> None:
    logp = torch.log(t([[1.5, 0.5]]))
    loss, clipfrac = policy_loss(logp, torch.zeros(1, 2), t([[1.0, -1.0]]), t([[1, 1]]), 0.2)
    # token 1: max(-1.5, -1.2) = -1.2; token 2: max(0.5, 0.8) = 0.8 -> mean -0.2, both clipped
    assert float(loss) == pytest.approx(-0.2)
    assert float(clipfrac) == pytest.approx(1.0)
    loss, clipfrac = policy_loss(torch.log(t([[1.1]])), torch.zeros(1, 1), t([[1.0]]), t([[1]]), 0.2)
    assert float(loss) == pytest.approx(-1.1) and float(clipfrac) == 0.0


def test_clipped_value_loss_by_hand() -> None:
    # clip(1.0, 0.5 +- 0.2) = 0.7; max((1-2)^2, (0.7-2)^2) = 1.69; times 0.5
    assert float(value_loss(t([[1.0]]), t([[0.5]]), t([[2.0]]), t([[1]]), 0.2)) == pytest.approx(0.845)


def test_kl_estimators_by_hand() -> None:
    assert float(kl_penalty(t([[-1.0]]), t([[-1.5]]), "k1")) == pytest.approx(0.5)
    assert float(kl_penalty(t([[-1.0]]), t([[-1.5]]), "k3")) == pytest.approx(math.exp(-0.5) - 0.5)
    with pytest.raises(ValueError, match="known: k1, k3"):
        kl_penalty(t([[0.0]]), t([[0.0]]), "k2")


def test_token_rewards_put_score_on_last_real_token() -> None:
    r = token_rewards(torch.tensor([2.0]), t([[0.1, 0.2, 0.3]]), t([[1, 1, 0]]), 0.1)
    assert r.tolist()[0] == pytest.approx([-0.01, 1.98, 0.0])


def test_whitening() -> None:
    w = masked_whiten(t([[1.0, 2.0, 3.0, 100.0]]), t([[1, 1, 1, 0]]))
    assert float(w[0, :3].mean()) == pytest.approx(0.0, abs=1e-6)
    assert float(w[0, 3]) == 0.0


TARGET = 3


def _toy_policy(vocab: int = 16) -> torch.nn.Module:
    torch.manual_seed(0)
    cfg = transformers.Qwen2Config(
        vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=2, max_position_embeddings=64, tie_word_embeddings=False,
    )
    return transformers.Qwen2ForCausalLM(cfg)


def _reward(prompts: Sequence[list[int]], responses: Sequence[list[int]]) -> list[float | None]:
    return [sum(tok == TARGET for tok in r) / max(len(r), 1) for r in responses]


def test_ppo_raises_the_mean_reward_of_a_toy_task(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    cfg = PPOConfig(
        actor_lr=3e-3, critic_lr=3e-3, kl_coef=0.0, entropy_coef=0.0, max_new_tokens=6, mini_batch_size=16,
        ppo_epochs=2, seed=0,
    )
    trainer = PPOTrainer(_toy_policy(), _reward, cfg, pad_token_id=0)
    prompts = [[1 + (i % 5), 2, 4 + (i % 3)] for i in range(16)]
    history = [trainer.step(prompts)["reward_mean"] for _ in range(25)]
    first, last = sum(history[:3]) / 3, sum(history[-3:]) / 3
    assert last > first + 0.25, history

    # Checkpoint and resume: the step counter and weights come back.
    trainer.save(tmp_path / "ckpt")
    again = PPOTrainer(_toy_policy(), _reward, cfg, pad_token_id=0)
    again.load(tmp_path / "ckpt")
    assert again.step_count == 25
    for a, b in zip(trainer.policy.parameters(), again.policy.parameters(), strict=True):
        assert torch.equal(a, b)


def test_missing_rewards_are_dropped_not_scored() -> None:
    cfg = PPOConfig(max_new_tokens=3, mini_batch_size=4)
    calls: list[int] = []

    def half_missing(prompts: Sequence[list[int]], responses: Sequence[list[int]]) -> list[float | None]:
        calls.append(len(responses))
        return [None if i % 2 else 1.0 for i in range(len(responses))]

    trainer = PPOTrainer(_toy_policy(), half_missing, cfg, pad_token_id=0)
    stats = trainer.step([[1, 2], [3, 4], [5, 6], [7, 8]])
    assert stats["dropped"] == 2 and stats["reward_mean"] == 1.0
    none = PPOTrainer(_toy_policy(), lambda p, r: [None] * len(r), cfg, pad_token_id=0)
    assert math.isnan(none.step([[1, 2]])["reward_mean"])
