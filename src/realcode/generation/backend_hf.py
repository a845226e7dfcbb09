"""The Hugging Face transformers back-end: any causal LM checkpoint, on CPU or GPU.

Decoding is a small loop of our own over the model's forward pass with a key/value cache rather than
``model.generate``, for one reason: ``generate`` draws all rows of a batch from one global random stream, so a
sample would change with the prompts it happens to be batched with. Here every sample has its own random
stream (and is drawn with the Gumbel-max trick, which float noise rarely disturbs) (seeded by :func:`realcode.generation.chat.sample_seed`), so sample ``j`` of a prompt is the same
whether the prompt is generated alone, in a batch, or after a resume — up to floating-point differences
between batch shapes, which only matter when a draw lands exactly on a boundary between two tokens.

Batches are left-padded; rows are sorted by prompt length first so that little padding is computed.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from realcode.generation.chat import check_prompts, render_chat, sample_seed, truncate_at_stop
from realcode.generation.types import (
    Completion,
    GenerationError,
    ModelNotAvailableError,
    PromptTooLongError,
    SamplingParams,
    SeededGenerator,
    check_seeds,
)
from realcode.tasks.model import ChatMessage

if TYPE_CHECKING:
    import torch

__all__ = ["HFGenerator", "load_model_and_tokenizer"]


def _offline_hint(model: str) -> str:
    return (
        f"cannot load model {model!r}: it is not a local directory and it is not in the Hugging Face cache "
        f"({os.environ.get('HF_HOME', '~/.cache/huggingface')}), and this machine cannot download it"
        f"{' (HF_HUB_OFFLINE is set)' if os.environ.get('HF_HUB_OFFLINE') else ''}. "
        "Point --model at a local directory that holds config.json, the weights and the tokenizer "
        "(e.g. one saved with save_pretrained, or the offline tiny model: `python -m realcode.training.tiny`)."
    )


def load_model_and_tokenizer(
    model: str | Path,
    *,
    device: str | None = None,
    dtype: str = "auto",
    trust_remote_code: bool = False,
    revision: str | None = None,
    model_kwargs: dict[str, Any] | None = None,
) -> tuple[Any, Any]:
    """Load a causal LM and its tokenizer from a local directory or the local hub cache.

    ``model_kwargs`` go to ``AutoModelForCausalLM.from_pretrained`` (e.g. ``attn_implementation``, or
    ``device_map="auto"`` to spread a large model over several GPUs, in which case ``device`` is not used).
    Raises :class:`ModelNotAvailableError` with instructions when neither has it.
    """
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    name = str(model)
    local = Path(name).expanduser()
    from_hub = not local.exists()
    if not from_hub:
        if not (local / "config.json").is_file():
            raise ModelNotAvailableError(f"{local} is not a model directory: it has no config.json")
        source = str(local)
    elif name.startswith((".", "/", "~")):
        raise ModelNotAvailableError(f"model directory {name} does not exist")
    else:
        source = name
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch_dtype: Any
    if dtype == "auto":
        # float32 on CPU: bf16 matmuls there are slow or unsupported; bf16 on GPUs that have it.
        use_bf16 = device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        torch_dtype = torch.bfloat16 if use_bf16 else torch.float32
    else:
        torch_dtype = getattr(torch, dtype, None)
        if not isinstance(torch_dtype, torch.dtype):
            raise ValueError(f"unknown dtype {dtype!r}: use auto, float32, bfloat16 or float16")
    dtype_kw = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
    common: dict[str, Any] = {"trust_remote_code": trust_remote_code, "revision": revision}
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **common)
        lm: Any = AutoModelForCausalLM.from_pretrained(
            source, **common, **{dtype_kw: torch_dtype, **(model_kwargs or {})}
        )
    except (OSError, ValueError) as exc:  # hub errors (not found, offline, bad id) derive from these
        if from_hub:
            raise ModelNotAvailableError(_offline_hint(name)) from exc
        raise ModelNotAvailableError(f"cannot load model from {source}: {exc}") from exc
    if "device_map" not in (model_kwargs or {}):
        lm.to(device)
    lm.eval()
    return lm, tokenizer


class HFGenerator(SeededGenerator):
    """Generation with a transformers causal LM.

    ``batch_size`` counts sequences (prompt x sample) decoded together. Reproducible for a given seed, model,
    device and dtype; thread-safe (calls are serialised).
    """

    backend = "hf"

    def __init__(
        self,
        model: str | Path,
        *,
        device: str | None = None,
        dtype: str = "auto",
        batch_size: int = 16,
        trust_remote_code: bool = False,
        revision: str | None = None,
        model_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model = str(model)
        self.batch_size = batch_size
        self.lm, self.tokenizer = load_model_and_tokenizer(
            model,
            device=device,
            dtype=dtype,
            trust_remote_code=trust_remote_code,
            revision=revision,
            model_kwargs=model_kwargs,
        )
        self.device = next(self.lm.parameters()).device
        self._lock = threading.Lock()
        self._eos_ids = self._collect_eos_ids()
        pad = self.tokenizer.pad_token_id
        self._pad_id: int = pad if pad is not None else min(self._eos_ids, default=0)
        self._templated = bool(getattr(self.tokenizer, "chat_template", None))
        self._logits_kw = self._find_logits_kw()

    def _collect_eos_ids(self) -> set[int]:
        ids: set[int] = set()
        gen_eos = getattr(getattr(self.lm, "generation_config", None), "eos_token_id", None)
        for source in (gen_eos, self.tokenizer.eos_token_id):
            if isinstance(source, int):
                ids.add(source)
            elif isinstance(source, (list, tuple)):
                ids.update(int(i) for i in source)
        return ids

    def _find_logits_kw(self) -> str | None:
        # Asking for the last position's logits only avoids a (batch x prompt x vocab) tensor: gigabytes for
        # long prompts and 150k-token vocabularies. The keyword was renamed in transformers 4.50.
        import inspect

        params = inspect.signature(self.lm.forward).parameters
        return next((k for k in ("logits_to_keep", "num_logits_to_keep") if k in params), None)

    def render(self, messages: Sequence[ChatMessage]) -> str:
        """The exact text fed to the model for a chat."""
        return render_chat(self.tokenizer if self._templated else None, messages)

    def generate_with_seeds(
        self, prompts: Sequence[list[ChatMessage]], params: SamplingParams, seeds: Sequence[int | None]
    ) -> list[list[Completion]]:
        check_seeds(prompts, seeds)
        if self.lm is None:
            raise GenerationError(f"the generator for {self.model} is closed")
        chats = check_prompts(prompts)
        encoded = [
            self.tokenizer(self.render(c), add_special_tokens=not self._templated)["input_ids"] for c in chats
        ]
        rows = [(p, j) for p in range(len(chats)) for j in range(params.n)]
        sample_seeds = {(p, j): sample_seed(seeds[p], chats[p], j) for p, j in rows}
        rows.sort(key=lambda r: (len(encoded[r[0]]), r))  # similar lengths together: less padding
        results: dict[tuple[int, int], Completion] = {}
        with self._lock:
            for start in range(0, len(rows), self.batch_size):
                chunk = rows[start : start + self.batch_size]
                outputs = self._decode_batch(
                    [encoded[p] for p, _ in chunk], [sample_seeds[r] for r in chunk], params
                )
                for (p, j), completion in zip(chunk, outputs, strict=True):
                    results[(p, j)] = completion.model_copy(update={"index": j})
        return [[results[(p, j)] for j in range(params.n)] for p in range(len(chats))]

    def _decode_batch(
        self, prompt_ids: list[list[int]], seeds: list[int], params: SamplingParams
    ) -> list[Completion]:
        import torch

        started = time.perf_counter()
        batch = len(prompt_ids)
        width = max(len(ids) for ids in prompt_ids)
        max_positions = getattr(self.lm.config, "max_position_embeddings", None)
        if max_positions is not None and width + params.max_new_tokens > max_positions:
            raise PromptTooLongError(
                f"prompt ({width} tokens) + max_new_tokens ({params.max_new_tokens}) exceeds the model's "
                f"context of {max_positions} tokens"
            )
        input_ids = torch.full((batch, width), self._pad_id, dtype=torch.long)
        attention = torch.zeros((batch, width), dtype=torch.long)
        for i, ids in enumerate(prompt_ids):
            if ids:
                input_ids[i, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
                attention[i, width - len(ids) :] = 1
        input_ids, attention = input_ids.to(self.device), attention.to(self.device)
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        rng_device = self.device if self.device.type == "cuda" else torch.device("cpu")
        streams = [torch.Generator(device=rng_device).manual_seed(s) for s in seeds]
        generated: list[list[int]] = [[] for _ in range(batch)]
        reasons: list[str | None] = [None] * batch
        stop_window = 2 * max((len(s) for s in params.stop), default=0) + 4
        extra = {self._logits_kw: 1} if self._logits_kw else {}

        with torch.inference_mode():
            out = self.lm(
                input_ids=input_ids, attention_mask=attention, position_ids=positions, use_cache=True, **extra
            )
            for _ in range(params.max_new_tokens):
                logits = out.logits[:, -1, :].float()
                tokens = self._sample(logits, params, streams)
                for i, tok in enumerate(tokens):
                    if reasons[i] is not None:
                        continue
                    if tok in self._eos_ids:
                        reasons[i] = "stop"
                        continue
                    generated[i].append(tok)
                    if params.stop:
                        tail = self.tokenizer.decode(generated[i][-stop_window:], skip_special_tokens=True)
                        if any(s in tail for s in params.stop):
                            reasons[i] = "stop"
                if all(r is not None for r in reasons):
                    break
                # Finished rows keep decoding padding (cheaper than reshaping the cache); it is discarded.
                feed = torch.tensor(
                    [t if reasons[i] is None else self._pad_id for i, t in enumerate(tokens)],
                    dtype=torch.long,
                ).to(self.device)
                attention = torch.cat([attention, attention.new_ones((batch, 1))], dim=1)
                positions = positions[:, -1:] + 1
                out = self.lm(
                    input_ids=feed[:, None],
                    attention_mask=attention,
                    position_ids=positions,
                    past_key_values=out.past_key_values,
                    use_cache=True,
                )
        latency = time.perf_counter() - started
        completions = []
        for i in range(batch):
            text = self.tokenizer.decode(generated[i], skip_special_tokens=True)
            text, hit = truncate_at_stop(text, params.stop)
            completions.append(
                Completion(
                    text=text,
                    finish_reason="stop" if hit or reasons[i] == "stop" else "length",
                    prompt_tokens=len(prompt_ids[i]),
                    completion_tokens=len(generated[i]) + (1 if reasons[i] == "stop" and not hit else 0),
                    backend=self.backend,
                    model=self.model,
                    latency_s=latency,
                    seed=seeds[i],
                )
            )
        return completions

    @staticmethod
    def _sample(logits: torch.Tensor, params: SamplingParams, streams: list[torch.Generator]) -> list[int]:
        """One token per row: greedy, or the Gumbel-max trick with the row's own noise.

        ``argmax(logits / T + Gumbel noise)`` is an exact draw from the softmax. Unlike an inverse-CDF draw,
        whose outcome flips whenever float noise moves a cumulative sum across a boundary (likely with a flat
        150k-token distribution), it only flips when the two best perturbed scores are within float noise of
        each other, which keeps samples stable across batch shapes.
        """
        import torch

        if params.greedy:
            return [int(t) for t in logits.argmax(dim=-1).tolist()]
        scores = logits / params.temperature
        if params.top_p < 1.0:
            probs = torch.softmax(scores, dim=-1)
            sorted_probs, order = torch.sort(probs, dim=-1, descending=True, stable=True)
            # Drop the tokens outside the smallest prefix whose mass reaches top_p (the top one always stays).
            outside = (sorted_probs.cumsum(dim=-1) - sorted_probs) >= params.top_p
            scores = scores.masked_fill(outside.scatter(-1, order, outside), float("-inf"))
        vocab = scores.shape[-1]
        uniform = torch.stack(
            [torch.rand(vocab, generator=g, device=g.device, dtype=torch.float64) for g in streams]
        ).to(scores.device)
        gumbel = -torch.log(-torch.log(uniform.clamp(min=1e-300, max=1.0 - 1e-16)))
        return [int(t) for t in (scores.double() + gumbel).argmax(dim=-1).tolist()]

    def close(self) -> None:
        self.lm = None
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:  # pragma: no cover - torch is what loaded the model
            pass
