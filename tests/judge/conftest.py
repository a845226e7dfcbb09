"""A real sandbox shared by the judge tests, and task builders."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from realcode.sandbox import Sandbox


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(workers=2) as sb:
        yield sb
