"""``make_generator``: one entry point for every back-end, importing only the one asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

from realcode.generation.types import BackendName, Generator

__all__ = ["BACKENDS", "make_generator"]

BACKENDS: tuple[str, ...] = get_args(BackendName)


def make_generator(backend: BackendName | str, model: str | Path, **options: Any) -> Generator:
    """A generator for ``model`` on ``backend`` (``hf``, ``vllm`` or ``openai``).

    ``options`` go to the back-end's constructor: e.g. ``device``/``dtype``/``batch_size`` for ``hf``;
    ``tensor_parallel_size`` for ``vllm``; ``base_url`` (required), ``api_key_env``, ``max_concurrency``,
    ``max_retries``, ``timeout`` for ``openai``. An unknown option is an error naming it.
    """
    try:
        if backend == "hf":
            from realcode.generation.backend_hf import HFGenerator

            return HFGenerator(model, **options)
        if backend == "vllm":
            from realcode.generation.backend_vllm import VLLMGenerator

            return VLLMGenerator(model, **options)
        if backend == "openai":
            from realcode.generation.backend_openai import OpenAIGenerator

            if "base_url" not in options:
                raise ValueError("the openai back-end needs base_url (e.g. http://127.0.0.1:8000/v1)")
            return OpenAIGenerator(str(model), **options)
    except TypeError as exc:
        if "unexpected keyword argument" in str(exc):
            raise ValueError(f"{backend} back-end: {str(exc).split('() ', 1)[-1]}") from None
        raise
    raise ValueError(f"unknown generation back-end {backend!r}; known: {', '.join(BACKENDS)}")
