"""Where benchmark data lives, and reading it with errors that name the file and line."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DATA_ENV = "REALCODE_DATA"


class DataError(Exception):
    """Benchmark data is missing or malformed. The message names the path (and line) and how to fix it."""


def _candidates() -> list[Path]:
    here = Path(__file__).resolve()
    out = [Path.cwd() / ".." / "shared" / "data", Path.cwd() / "shared" / "data"]
    # src/realcode/tasks/paths.py -> the repository root is three levels above src/
    if len(here.parents) > 3:
        out.append(here.parents[3] / ".." / "shared" / "data")
    return out


def data_dir(data: str | os.PathLike[str] | None = None) -> Path:
    """The benchmark data directory: ``data`` if given, else ``$REALCODE_DATA``, else ``../shared/data``.

    Raises :class:`DataError` naming every place it looked.
    """
    if data is not None:
        path = Path(data).expanduser()
        if not path.exists():
            raise DataError(f"data path {str(path)!r} does not exist; pass --data PATH or set {DATA_ENV}")
        return path
    env = os.environ.get(DATA_ENV)
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise DataError(f"{DATA_ENV}={env!r} is not a directory; point it at the benchmark data folder")
        return path
    tried = _candidates()
    for path in tried:
        if path.is_dir():
            return path.resolve()
    raise DataError(
        "benchmark data not found; looked in "
        + ", ".join(str(p.resolve()) for p in tried)
        + f". Pass --data PATH or set {DATA_ENV} to the folder holding seccodeplt/, safesql/, apps_plus/, humaneval/"
    )


def data_file(data: str | os.PathLike[str] | None, *parts: str) -> Path:
    """A file inside the data directory; :class:`DataError` naming it when it is missing."""
    root = data_dir(data)
    path = root.joinpath(*parts)
    if not path.is_file():
        raise DataError(f"data file {str(path)!r} is missing; pass --data PATH or set {DATA_ENV}")
    return path


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of a JSON Lines file (``.gz`` too) with their 1-based line numbers.

    A malformed line raises :class:`DataError` naming the file and the line.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"file {str(p)!r} does not exist")
    opener = gzip.open if p.suffix == ".gz" else open
    with opener(p, "rt", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{p}:{lineno}: malformed JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(row, dict):
                raise DataError(f"{p}:{lineno}: expected a JSON object, got {type(row).__name__}")
            yield lineno, row
