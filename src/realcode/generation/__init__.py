"""Generation back-ends behind one interface: Hugging Face transformers, vLLM, any OpenAI-compatible endpoint.

>>> from realcode.generation import SamplingParams, make_generator  # doctest: +SKIP
>>> with make_generator("hf", "path/to/model") as gen:  # doctest: +SKIP
...     answers = gen.generate([[ChatMessage(role="user", content="Write fizzbuzz")]], SamplingParams(n=4))

Importing this package is cheap: torch, transformers, vLLM and httpx are imported by the back-end that needs
them, when it is created.
"""

from typing import TYPE_CHECKING, Any

from realcode.generation.factory import BACKENDS, make_generator
from realcode.generation.types import (
    BackendName,
    Completion,
    EndpointError,
    GenerationError,
    Generator,
    ModelNotAvailableError,
    PromptTooLongError,
    SamplingParams,
)

if TYPE_CHECKING:
    from realcode.generation.backend_hf import HFGenerator
    from realcode.generation.backend_openai import OpenAIGenerator
    from realcode.generation.backend_vllm import VLLMGenerator

# Back-end classes load on first use, so that importing the package does not import torch or httpx.
_LAZY = {
    "HFGenerator": "realcode.generation.backend_hf",
    "OpenAIGenerator": "realcode.generation.backend_openai",
    "VLLMGenerator": "realcode.generation.backend_vllm",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'realcode.generation' has no attribute {name!r}")


__all__ = [
    "BACKENDS",
    "BackendName",
    "Completion",
    "EndpointError",
    "GenerationError",
    "Generator",
    "HFGenerator",
    "ModelNotAvailableError",
    "OpenAIGenerator",
    "PromptTooLongError",
    "SamplingParams",
    "VLLMGenerator",
    "make_generator",
]
