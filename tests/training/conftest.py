"""Fixtures for training tests: a small offline model built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


@pytest.fixture(scope="session")
def small_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Qwen2 model with a locally trained tokenizer (smaller than the default: fast on CPU)."""
    pytest.importorskip("transformers")
    from realcode.training.tiny import build_tiny_model

    return build_tiny_model(
        tmp_path_factory.mktemp("small") / "model", vocab_size=512, hidden_size=64, intermediate_size=128, seed=0
    )
