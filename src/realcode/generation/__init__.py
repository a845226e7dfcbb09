"""Generation back-ends behind one interface: Hugging Face transformers, vLLM, any OpenAI-compatible endpoint.

>>> from realcode.generation import SamplingParams, make_generator  # doctest: +SKIP
>>> with make_generator("hf", "path/to/model") as gen:  # doctest: +SKIP
...     answers = gen.generate([[ChatMessage(role="user", content="Write fizzbuzz")]], SamplingParams(n=4))

Importing this package is cheap: torch, transformers, vLLM and httpx are imported by the back-end that needs
them, when it is created.
"""

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

__all__ = [
    "BACKENDS",
    "BackendName",
    "Completion",
    "EndpointError",
    "GenerationError",
    "Generator",
    "ModelNotAvailableError",
    "PromptTooLongError",
    "SamplingParams",
    "make_generator",
]
