"""The vLLM back-end (GPUs; the optional ``vllm`` extra).

It renders chats with the model's tokenizer exactly as the ``hf`` back-end does, then calls vLLM's offline
``LLM.generate`` with one ``vllm.SamplingParams`` per prompt, so that each prompt carries its own seed
(derived as in :func:`realcode.generation.chat.sample_seed`). vLLM then samples the prompt's ``n`` outputs
from that seed, which makes a prompt's samples independent of its batch, though not identical to ``hf``'s.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from realcode.generation.chat import check_prompts, render_chat, sample_seed, truncate_at_stop
from realcode.generation.types import (
    Completion,
    GenerationError,
    SamplingParams,
    SeededGenerator,
    check_seeds,
)
from realcode.tasks.model import ChatMessage

__all__ = ["VLLMGenerator"]

INSTALL_HINT = (
    "the vllm back-end needs vLLM, which is not installed: pip install 'realcode[vllm]' (GPU machines)"
)


class VLLMGenerator(SeededGenerator):
    """Generation with ``vllm.LLM``. Extra keyword arguments go to the ``LLM`` constructor."""

    backend = "vllm"

    def __init__(
        self,
        model: str | Path,
        *,
        tensor_parallel_size: int = 1,
        dtype: str = "auto",
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        trust_remote_code: bool = False,
        **llm_options: Any,
    ) -> None:
        try:
            import vllm
        except ImportError as exc:
            raise GenerationError(INSTALL_HINT) from exc
        self.model = str(model)
        self._vllm = vllm
        try:
            self.llm = vllm.LLM(
                model=self.model,
                tensor_parallel_size=tensor_parallel_size,
                dtype=dtype,
                gpu_memory_utilization=gpu_memory_utilization,
                max_model_len=max_model_len,
                trust_remote_code=trust_remote_code,
                **llm_options,
            )
        except (OSError, ValueError) as exc:
            raise GenerationError(
                f"vLLM cannot load {self.model!r}: {exc}. Offline, point --model at a local model directory."
            ) from exc
        self.tokenizer = self.llm.get_tokenizer()
        self._templated = bool(getattr(self.tokenizer, "chat_template", None))

    def generate_with_seeds(
        self, prompts: Sequence[list[ChatMessage]], params: SamplingParams, seeds: Sequence[int | None]
    ) -> list[list[Completion]]:
        check_seeds(prompts, seeds)
        chats = check_prompts(prompts)
        if not chats:
            return []
        texts = [render_chat(self.tokenizer if self._templated else None, c) for c in chats]
        # Tokenised here, as the hf back-end does: vLLM would add special tokens to text prompts, doubling
        # the BOS token that chat templates already write.
        token_prompts = [
            {"prompt_token_ids": self.tokenizer(t, add_special_tokens=not self._templated)["input_ids"]}
            for t in texts
        ]
        request_seeds = [sample_seed(seed, chat, 0) for seed, chat in zip(seeds, chats, strict=True)]
        per_prompt = [
            self._vllm.SamplingParams(
                n=params.n,
                temperature=params.temperature,
                top_p=params.top_p,
                max_tokens=params.max_new_tokens,
                seed=seed,
                stop=list(params.stop) or None,
            )
            for seed in request_seeds
        ]
        started = time.perf_counter()
        outputs = self.llm.generate(token_prompts, sampling_params=per_prompt, use_tqdm=False)
        latency = time.perf_counter() - started
        results = []
        for request, prompt, seed in zip(outputs, token_prompts, request_seeds, strict=True):
            prompt_tokens = len(prompt["prompt_token_ids"])
            samples = []
            for out in sorted(request.outputs, key=lambda o: o.index):
                # vLLM already stops before a stop string; truncating again is a no-op kept for safety.
                text, hit = truncate_at_stop(out.text, params.stop)
                samples.append(
                    Completion(
                        text=text,
                        finish_reason="stop" if hit else str(out.finish_reason or "unknown"),
                        prompt_tokens=prompt_tokens,
                        completion_tokens=len(out.token_ids),
                        backend=self.backend,
                        model=self.model,
                        latency_s=latency,
                        index=out.index,
                        seed=seed,
                    )
                )
            results.append(samples)
        return results

    def close(self) -> None:
        self.llm = None
