"""PPO with GAE for causal language models, in one file (the cleanrl way: read it top to bottom).

TRL removed its PPO trainer in 1.13; REAL trains with PPO (veRL) and SecureCodeRL too. This is a compact,
single-machine PPO on transformers and torch:

1. **Rollout**: sample a response for each prompt from the policy; record the policy's and the frozen reference
   model's log-probabilities of the response tokens and the critic's values.
2. **Reward**: a sequence-level score from the reward function (realcode's hybrid reward in practice). Token
   rewards are ``-kl_coef * KL_t`` on every response token, plus the score on the last one (the InstructGPT
   shaping; with ``kl_in_reward=False`` the KL term is a loss instead, as veRL's ``use_kl_loss``).
3. **GAE**: advantages and returns over the response tokens (REAL: ``gamma = lambda = 1``).
4. **Update**: for ``ppo_epochs`` over mini-batches, the clipped policy loss minus an entropy bonus, and the
   clipped value loss for the critic, each with its own optimizer and learning rate.

The loss functions are pure tensor functions so they can be tested against hand-computed numbers. At cluster
scale, use veRL (``realcode train ppo --engine verl``); this trainer is for one machine and for understanding.
"""

from __future__ import annotations

import copy
import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

# A reward function maps (prompt ids, response ids) pairs to scores; None marks a sample whose reward could
# not be computed (an infrastructure error): it is dropped from the update, never scored as 0.
RewardFn = Callable[[Sequence[list[int]], Sequence[list[int]]], Sequence[float | None]]


@dataclass
class PPOConfig:
    """Every PPO hyperparameter in one place (defaults: REAL's recipe where it has one)."""

    gamma: float = 1.0
    lam: float = 1.0
    clip_ratio: float = 0.2
    value_clip: float = 0.2
    kl_coef: float = 0.001
    kl_in_reward: bool = True
    kl_estimator: str = "k1"  # "k1": log p - log q; "k3": the low-variance unbiased estimator (Schulman)
    entropy_coef: float = 0.001
    actor_lr: float = 1e-6
    critic_lr: float = 1e-5
    ppo_epochs: int = 1
    mini_batch_size: int = 8
    max_new_tokens: int = 64
    temperature: float = 1.0
    top_p: float = 1.0
    whiten_advantages: bool = True
    max_grad_norm: float = 1.0
    vf_coef: float = 0.5
    seed: int = 0


# --- the math (pure functions) --------------------------------------------------------------------------------


def masked_mean(x: Tensor, mask: Tensor, dim: int | None = None) -> Tensor:
    """Mean of ``x`` over positions where ``mask`` is 1."""
    if dim is None:
        return (x * mask).sum() / mask.sum().clamp(min=1)
    return (x * mask).sum(dim) / mask.sum(dim).clamp(min=1)


def masked_whiten(x: Tensor, mask: Tensor, eps: float = 1e-8) -> Tensor:
    """``x`` shifted to mean 0 and scaled to variance 1 over the masked positions."""
    mean = masked_mean(x, mask)
    var = masked_mean((x - mean) ** 2, mask)
    return (x - mean) * torch.rsqrt(var + eps) * mask


def gae(rewards: Tensor, values: Tensor, mask: Tensor, gamma: float, lam: float) -> tuple[Tensor, Tensor]:
    """Generalized advantage estimation over response tokens.

    ``rewards``, ``values``, ``mask``: (batch, T). Positions with mask 0 (padding after the end) contribute
    nothing and get advantage 0. ``delta_t = r_t + gamma * V_{t+1} - V_t`` (``V`` after the last token is 0),
    ``A_t = delta_t + gamma * lam * A_{t+1}``; returns ``A + V``.
    """
    batch, steps = rewards.shape
    advantages = torch.zeros_like(rewards)
    last = torch.zeros(batch, dtype=rewards.dtype, device=rewards.device)
    next_value = torch.zeros(batch, dtype=rewards.dtype, device=rewards.device)
    for t in reversed(range(steps)):
        m = mask[:, t]
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        last = (delta + gamma * lam * last) * m
        advantages[:, t] = last
        # Padding must not leak values backwards: keep the next value of the last real token.
        next_value = values[:, t] * m + next_value * (1 - m)
    returns = (advantages + values) * mask
    return advantages, returns


def policy_loss(
    logprobs: Tensor, old_logprobs: Tensor, advantages: Tensor, mask: Tensor, clip: float
) -> tuple[Tensor, Tensor]:
    """PPO's clipped surrogate loss (to minimise) and the fraction of clipped tokens."""
    ratio = torch.exp(logprobs - old_logprobs)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - clip, 1.0 + clip)
    loss = masked_mean(torch.maximum(unclipped, clipped), mask)
    clipfrac = masked_mean((clipped > unclipped).float(), mask)
    return loss, clipfrac


def value_loss(values: Tensor, old_values: Tensor, returns: Tensor, mask: Tensor, clip: float) -> Tensor:
    """Clipped value loss: ``0.5 * max((V - R)^2, (clip(V, V_old +- c) - R)^2)`` averaged over tokens."""
    clipped = old_values + torch.clamp(values - old_values, -clip, clip)
    loss = torch.maximum((values - returns) ** 2, (clipped - returns) ** 2)
    return 0.5 * masked_mean(loss, mask)


def kl_penalty(logprobs: Tensor, ref_logprobs: Tensor, estimator: str = "k1") -> Tensor:
    """Per-token KL(policy || reference) estimate from the sampled tokens' log-probabilities."""
    log_ratio = logprobs - ref_logprobs
    if estimator == "k1":
        return log_ratio
    if estimator == "k3":
        return torch.exp(-log_ratio) - 1 + log_ratio
    raise ValueError(f"unknown KL estimator {estimator!r}; known: k1, k3")


def entropy_from_logits(logits: Tensor) -> Tensor:
    """Entropy of the next-token distribution at every position."""
    logp = torch.log_softmax(logits, dim=-1)
    return -(logp.exp() * logp).sum(-1)


def token_rewards(scores: Tensor, kl: Tensor, mask: Tensor, kl_coef: float) -> Tensor:
    """``-kl_coef * KL_t`` on every response token plus the sequence score on its last token."""
    rewards = -kl_coef * kl * mask
    last = (mask.sum(1) - 1).clamp(min=0).long()
    rewards[torch.arange(rewards.shape[0]), last] += scores
    return rewards


# --- models --------------------------------------------------------------------------------------------------


class Critic(nn.Module):
    """A value model: a copy of the policy's transformer body with a scalar head on every position."""

    def __init__(self, policy: nn.Module) -> None:
        super().__init__()
        self.body = copy.deepcopy(policy)
        config: Any = getattr(self.body, "config", None)
        hidden = int(config.hidden_size)
        self.head = nn.Linear(hidden, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        out = self.body(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        hidden: Tensor = out.hidden_states[-1]
        values: Tensor = self.head(hidden).squeeze(-1)
        return values


def _response_logprobs(
    model: nn.Module, input_ids: Tensor, attention_mask: Tensor, prompt_len: int, temperature: float
) -> tuple[Tensor, Tensor]:
    """Log-probabilities of the response tokens (positions >= prompt_len) and the logits that predicted them."""
    logits = model(input_ids=input_ids, attention_mask=attention_mask).logits[:, prompt_len - 1 : -1, :]
    logits = logits / max(temperature, 1e-6)
    targets = input_ids[:, prompt_len:]
    logp = torch.log_softmax(logits.float(), dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return logp, logits


# --- the trainer ---------------------------------------------------------------------------------------------


@dataclass
class Rollout:
    input_ids: Tensor
    attention_mask: Tensor
    response_mask: Tensor
    prompt_len: int
    scores: Tensor
    old_logprobs: Tensor
    ref_logprobs: Tensor
    old_values: Tensor
    advantages: Tensor = field(default_factory=lambda: torch.empty(0))
    returns: Tensor = field(default_factory=lambda: torch.empty(0))


class PPOTrainer:
    """PPO on a causal LM with a critic, a frozen reference model and a reward function over token ids."""

    def __init__(
        self,
        policy: nn.Module,
        reward_fn: RewardFn,
        config: PPOConfig | None = None,
        *,
        pad_token_id: int,
        eos_token_id: int | None = None,
        ref_policy: nn.Module | None = None,
        critic: Critic | None = None,
    ) -> None:
        self.config = config or PPOConfig()
        torch.manual_seed(self.config.seed)
        random.seed(self.config.seed)
        self.policy = policy
        self.ref = ref_policy if ref_policy is not None else copy.deepcopy(policy)
        self.ref.eval().requires_grad_(False)
        self.critic = critic if critic is not None else Critic(policy)
        self.reward_fn = reward_fn
        self.pad_id = pad_token_id
        self.eos_id = eos_token_id
        self.actor_opt = torch.optim.AdamW(self.policy.parameters(), lr=self.config.actor_lr)
        self.critic_opt = torch.optim.AdamW(self.critic.parameters(), lr=self.config.critic_lr)
        self.step_count = 0

    # 1. rollout -----------------------------------------------------------------------------------------------

    @torch.no_grad()
    def rollout(self, prompts: Sequence[list[int]]) -> Rollout | None:
        """Sample responses, score them, and record log-probs and values. None when every reward is missing."""
        cfg = self.config
        prompt_len = max(len(p) for p in prompts)
        # Left-pad prompts so that every response starts at the same position.
        ids = torch.tensor([[self.pad_id] * (prompt_len - len(p)) + list(p) for p in prompts])
        attn = (torch.arange(prompt_len)[None, :] >= torch.tensor([prompt_len - len(p) for p in prompts])[:, None]).long()
        self.policy.eval()
        out = self.policy.generate(  # type: ignore[operator]
            input_ids=ids,
            attention_mask=attn,
            do_sample=True,
            temperature=cfg.temperature,
            top_p=cfg.top_p,
            max_new_tokens=cfg.max_new_tokens,
            pad_token_id=self.pad_id,
            eos_token_id=self.eos_id,
        )
        response = out[:, prompt_len:]
        resp_mask = torch.ones_like(response)
        if self.eos_id is not None:
            # Tokens after the first end-of-sequence are padding; the end token itself counts.
            is_eos = (response == self.eos_id).long()
            after = (torch.cumsum(is_eos, 1) - is_eos) > 0
            resp_mask = (~after).long()
        responses = [r[m.bool()].tolist() for r, m in zip(response, resp_mask, strict=True)]
        raw = list(self.reward_fn(prompts, responses))
        keep = [i for i, s in enumerate(raw) if s is not None and math.isfinite(s)]
        if not keep:
            return None
        sel = torch.tensor(keep)
        full = out[sel]
        full_attn = torch.cat([attn[sel], resp_mask[sel]], dim=1)
        resp_mask = resp_mask[sel].float()
        scores = torch.tensor([float(raw[i]) for i in keep])  # type: ignore[arg-type]
        old_logp, _ = _response_logprobs(self.policy, full, full_attn, prompt_len, cfg.temperature)
        ref_logp, _ = _response_logprobs(self.ref, full, full_attn, prompt_len, cfg.temperature)
        values = self.critic(full, full_attn)[:, prompt_len - 1 : -1]
        return Rollout(full, full_attn, resp_mask, prompt_len, scores, old_logp, ref_logp, values * resp_mask)

    # 2-3. rewards and advantages ----------------------------------------------------------------------------

    def advantages(self, ro: Rollout) -> None:
        cfg = self.config
        kl = kl_penalty(ro.old_logprobs, ro.ref_logprobs, cfg.kl_estimator)
        coef = cfg.kl_coef if cfg.kl_in_reward else 0.0
        rewards = token_rewards(ro.scores, kl, ro.response_mask, coef)
        adv, ret = gae(rewards, ro.old_values, ro.response_mask, cfg.gamma, cfg.lam)
        ro.advantages = masked_whiten(adv, ro.response_mask) if cfg.whiten_advantages and adv.shape[0] > 1 else adv
        ro.returns = ret

    # 4. update -------------------------------------------------------------------------------------------------

    def update(self, ro: Rollout) -> dict[str, float]:
        cfg = self.config
        self.policy.train()
        self.critic.train()
        stats: dict[str, list[float]] = {k: [] for k in ("policy_loss", "value_loss", "entropy", "clipfrac", "kl")}
        n = ro.input_ids.shape[0]
        for _ in range(cfg.ppo_epochs):
            order = torch.randperm(n)
            for start in range(0, n, cfg.mini_batch_size):
                idx = order[start : start + cfg.mini_batch_size]
                mask = ro.response_mask[idx]
                logp, logits = _response_logprobs(
                    self.policy, ro.input_ids[idx], ro.attention_mask[idx], ro.prompt_len, cfg.temperature
                )
                pg, clipfrac = policy_loss(logp, ro.old_logprobs[idx], ro.advantages[idx], mask, cfg.clip_ratio)
                ent = masked_mean(entropy_from_logits(logits), mask)
                kl = masked_mean(kl_penalty(logp, ro.ref_logprobs[idx], cfg.kl_estimator), mask)
                actor_loss = pg - cfg.entropy_coef * ent + (0.0 if cfg.kl_in_reward else cfg.kl_coef) * kl
                self.actor_opt.zero_grad()
                actor_loss.backward()  # type: ignore[no-untyped-call]
                nn.utils.clip_grad_norm_(self.policy.parameters(), cfg.max_grad_norm)
                self.actor_opt.step()

                values = self.critic(ro.input_ids[idx], ro.attention_mask[idx])[:, ro.prompt_len - 1 : -1]
                vl = cfg.vf_coef * value_loss(values, ro.old_values[idx], ro.returns[idx], mask, cfg.value_clip)
                self.critic_opt.zero_grad()
                vl.backward()  # type: ignore[no-untyped-call]
                nn.utils.clip_grad_norm_(self.critic.parameters(), cfg.max_grad_norm)
                self.critic_opt.step()
                for k, v in (("policy_loss", pg), ("value_loss", vl), ("entropy", ent), ("clipfrac", clipfrac), ("kl", kl)):
                    stats[k].append(float(v.detach()))
        return {k: sum(v) / len(v) for k, v in stats.items() if v}

    def step(self, prompts: Sequence[list[int]]) -> dict[str, float]:
        """One PPO iteration on a batch of prompts; returns its statistics (``reward_mean`` among them)."""
        ro = self.rollout(prompts)
        self.step_count += 1
        if ro is None:
            return {"step": float(self.step_count), "reward_mean": math.nan, "dropped": float(len(prompts))}
        self.advantages(ro)
        stats = self.update(ro)
        stats["reward_mean"] = float(ro.scores.mean())
        stats["response_len"] = float(ro.response_mask.sum(1).mean())
        stats["dropped"] = float(len(prompts) - ro.input_ids.shape[0])
        stats["step"] = float(self.step_count)
        return stats

    # checkpoints ---------------------------------------------------------------------------------------------

    def save(self, out_dir: str | Path) -> Path:
        """Save policy, critic, optimizers and step so that :meth:`load` resumes exactly here."""
        path = Path(out_dir)
        path.mkdir(parents=True, exist_ok=True)
        torch.save(
            {
                "policy": self.policy.state_dict(),
                "critic": self.critic.state_dict(),
                "actor_opt": self.actor_opt.state_dict(),
                "critic_opt": self.critic_opt.state_dict(),
                "step": self.step_count,
                "rng": torch.get_rng_state(),
            },
            path / "ppo_state.pt",
        )
        (path / "ppo_config.json").write_text(json.dumps(asdict(self.config), indent=2), encoding="utf-8")
        return path

    def load(self, ckpt_dir: str | Path) -> None:
        state: dict[str, Any] = torch.load(Path(ckpt_dir) / "ppo_state.pt", weights_only=False)
        self.policy.load_state_dict(state["policy"])
        self.critic.load_state_dict(state["critic"])
        self.actor_opt.load_state_dict(state["actor_opt"])
        self.critic_opt.load_state_dict(state["critic_opt"])
        self.step_count = int(state["step"])
        torch.set_rng_state(state["rng"])
