"""A real sandbox pool shared by the sandbox tests (starting one costs a few hundred milliseconds)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from realcode.sandbox import Sandbox


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(workers=2) as pool:
        yield pool
