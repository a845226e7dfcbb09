"""What every generation back-end takes and returns: :class:`SamplingParams`, :class:`Completion`, :class:`Generator`.

These types import nothing heavy, so evaluation code can read and write completions without torch.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from types import TracebackType
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from realcode.tasks.model import ChatMessage

__all__ = [
    "BackendName",
    "Completion",
    "EndpointError",
    "FinishReason",
    "GenerationError",
    "Generator",
    "ModelNotAvailableError",
    "PromptTooLongError",
    "SamplingParams",
    "SeededGenerator",
    "check_seeds",
]

BackendName = Literal["hf", "vllm", "openai"]
# "stop": the model ended (end-of-sequence token) or a stop sequence was met; "length": max_new_tokens ran out.
# Other strings an endpoint reports (e.g. "content_filter") are passed through unchanged.
FinishReason = str


class GenerationError(RuntimeError):
    """Generation failed for a reason other than the model's output (bad model, bad endpoint, bad reply)."""


class ModelNotAvailableError(GenerationError):
    """The model cannot be loaded here: not a local directory and not in the local cache."""


class PromptTooLongError(GenerationError, ValueError):
    """A prompt plus the tokens to generate do not fit in the model's context."""


class EndpointError(GenerationError):
    """An HTTP endpoint was unreachable, refused the request or answered with something unusable."""


class SamplingParams(BaseModel):
    """How to sample: the same meaning on every back-end.

    ``temperature=0`` is greedy decoding. ``seed`` makes sampling reproducible: sample ``j`` of a prompt is
    drawn with a seed derived from ``seed``, the prompt's text and ``j`` (see
    :func:`realcode.generation.chat.sample_seed`), so it does not depend on the other prompts of the batch
    (on the local back-ends; an HTTP endpoint honours seeds as far as its server does). ``stop`` sequences end
    a completion; the returned text stops before the first of them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    n: int = Field(default=1, ge=1, le=1024, description="samples per prompt")
    temperature: float = Field(default=1.0, ge=0.0, le=10.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_new_tokens: int = Field(default=512, ge=1)
    seed: int | None = Field(default=None, ge=0, description="None: fresh randomness on every call")
    stop: tuple[str, ...] = Field(default=(), description="stop sequences")

    @field_validator("stop", mode="before")
    @classmethod
    def _stop_as_tuple(cls, value: object) -> object:
        if isinstance(value, str):
            return (value,)
        return tuple(value) if isinstance(value, list) else value

    @model_validator(mode="after")
    def _no_empty_stop(self) -> SamplingParams:
        if any(s == "" for s in self.stop):
            raise ValueError("stop sequences must be non-empty strings")
        return self

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


class Completion(BaseModel):
    """One sampled answer to one prompt."""

    model_config = ConfigDict(frozen=True)

    text: str
    finish_reason: FinishReason
    prompt_tokens: int | None = Field(default=None, description="tokens of the rendered prompt, when known")
    completion_tokens: int | None = Field(
        default=None, description="tokens generated for this sample, when known"
    )
    backend: str
    model: str
    latency_s: float = Field(description="wall time of the request or batch that produced this sample")
    index: int = Field(default=0, description="which of the prompt's n samples this is")
    seed: int | None = Field(
        default=None, description="the seed this sample was drawn with, when the back-end used one"
    )

    @property
    def empty(self) -> bool:
        """True when the model said nothing but white space (a common failure worth counting)."""
        return not self.text.strip()


def check_seeds(prompts: Sequence[object], seeds: Sequence[int | None]) -> None:
    """One seed per prompt, or a ValueError."""
    if len(seeds) != len(prompts):
        raise ValueError(f"{len(prompts)} prompts but {len(seeds)} seeds")


class Generator(abc.ABC):
    """A model that answers chat prompts. Back-ends: ``hf``, ``vllm``, ``openai`` (see :func:`make_generator`).

    Use it as a context manager (or call :meth:`close`) to release the model or the HTTP connections.
    """

    backend: str
    model: str

    @abc.abstractmethod
    def generate(
        self, prompts: Sequence[list[ChatMessage]], params: SamplingParams
    ) -> list[list[Completion]]:
        """``params.n`` completions for each prompt, in the order of ``prompts``."""

    def generate_with_seeds(
        self, prompts: Sequence[list[ChatMessage]], params: SamplingParams, seeds: Sequence[int | None]
    ) -> list[list[Completion]]:
        """Like :meth:`generate`, but prompt ``i`` is sampled with base seed ``seeds[i]`` (``params.seed`` is
        ignored). A server uses it to batch requests that each carry their own seed.

        This default groups the prompts by seed; back-ends that seed per sample override it to batch them all.
        """
        check_seeds(prompts, seeds)
        results: list[list[Completion]] = [[] for _ in prompts]
        for seed in dict.fromkeys(seeds):
            picked = [i for i, s in enumerate(seeds) if s == seed]
            answers = self.generate([prompts[i] for i in picked], params.model_copy(update={"seed": seed}))
            for i, answer in zip(picked, answers, strict=True):
                results[i] = answer
        return results

    def close(self) -> None:  # noqa: B027 - back-ends without resources need not override it
        """Release what the back-end holds (model memory, connections)."""

    def __enter__(self) -> Generator:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r})"


class SeededGenerator(Generator):
    """A back-end that seeds every sample itself (``hf``, ``vllm``): :meth:`generate` is
    :meth:`generate_with_seeds` with ``params.seed`` for every prompt, so any mix of seeds is one batch."""

    def generate(
        self, prompts: Sequence[list[ChatMessage]], params: SamplingParams
    ) -> list[list[Completion]]:
        return self.generate_with_seeds(prompts, params, [params.seed] * len(prompts))

    @abc.abstractmethod
    def generate_with_seeds(
        self, prompts: Sequence[list[ChatMessage]], params: SamplingParams, seeds: Sequence[int | None]
    ) -> list[list[Completion]]:
        """``params.n`` completions for each prompt, prompt ``i`` sampled with base seed ``seeds[i]``."""
