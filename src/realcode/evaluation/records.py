"""Append-only JSONL record files that survive being killed mid-write.

A run directory holds ``completions.jsonl`` and ``assessments.jsonl``. Each line is one record with a unique
``key``. Writers append whole lines and fsync after each batch; readers drop a torn last line (the process was
killed while writing it) and keep the first record of each key, so a resumed run never duplicates records.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


class RecordError(Exception):
    """A record file is malformed in a way that is not a torn last line. The message names file and line."""


def read_records(path: Path, *, repair: bool = False) -> dict[str, dict[str, Any]]:
    """Records of ``path`` by key (first occurrence wins). A missing file has no records.

    A torn last line (no newline at the end and not valid JSON) is ignored; with ``repair`` the file is cut back
    to its last complete line so that appends continue cleanly. A malformed line elsewhere raises
    :class:`RecordError` naming the file and line.
    """
    if not path.exists():
        return {}
    raw = path.read_bytes()
    records: dict[str, dict[str, Any]] = {}
    good_end = 0
    offset = 0
    lines = raw.split(b"\n")
    for lineno, line in enumerate(lines, 1):
        is_last = lineno == len(lines)
        end = offset + len(line) + (0 if is_last else 1)
        if not line.strip():
            offset = end
            if not is_last:
                good_end = end
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            if is_last:  # torn write: the process died before the newline
                break
            raise RecordError(f"{path}:{lineno}: malformed record ({exc.msg})") from None
        if not isinstance(rec, dict) or "key" not in rec:
            raise RecordError(f"{path}:{lineno}: record without a 'key'")
        if is_last:
            # A complete JSON object without its newline: keep it, and end the line on repair.
            records.setdefault(str(rec["key"]), rec)
            good_end = end
            if repair:
                with path.open("ab") as fh:
                    fh.write(b"\n")
            break
        records.setdefault(str(rec["key"]), rec)
        good_end = end
        offset = end
    if repair and good_end < len(raw) and raw[good_end:].strip() != b"":
        with path.open("r+b") as fh:
            fh.truncate(good_end)
    return records


def append_records(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """Append records as JSON lines and fsync; returns how many were written."""
    lines = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records]
    if not lines:
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write("".join(lines))
        fh.flush()
        os.fsync(fh.fileno())
    return len(lines)


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for a user-supplied JSONL file; malformed lines raise naming file and line."""
    from realcode.tasks.paths import DataError, read_jsonl

    try:
        yield from read_jsonl(path)
    except DataError as exc:
        raise RecordError(str(exc)) from None
