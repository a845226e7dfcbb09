"""The assessment cache: identical (task, code, checks, analyzer versions) are assessed once.

Keys hash the task's content (not just its id, so an edited dataset never hits a stale entry), the code,
the checks and the versions of every analyzer. Values are the code-dependent part of an
:class:`~realcode.assess.model.Assessment` as JSON. The cache lives in memory and, when given a directory,
also in an sqlite file there (safe to share between processes: sqlite serialises the writers).
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

_SCHEMA = "CREATE TABLE IF NOT EXISTS assessments (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


def cache_key(task_fingerprint: str, code: str, checks: tuple[str, ...], versions: dict[str, str]) -> str:
    h = hashlib.sha256()
    for part in (task_fingerprint, code, ",".join(checks), repr(sorted(versions.items()))):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


class AssessmentCache:
    """An LRU map of key -> JSON in memory, backed by ``<directory>/assess.sqlite`` when a directory is given.

    ``max_entries`` bounds the memory part (an assessment with every test's input and output can weigh tens
    of kilobytes); the sqlite part keeps everything.
    """

    def __init__(self, directory: str | Path | None = None, *, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._memory: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.path: Path | None = None
        if directory is not None:
            root = Path(directory).expanduser()
            root.mkdir(parents=True, exist_ok=True)
            self.path = root / "assess.sqlite"
            with self._connect() as db:
                db.execute(_SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        assert self.path is not None
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            with db:  # commits on success
                yield db
        finally:
            db.close()

    def get(self, key: str) -> str | None:
        with self._lock:
            value = self._memory.get(key)
            if value is not None:
                self._memory.move_to_end(key)
                self.hits += 1
                return value
        if self.path is not None:
            with self._connect() as db:
                row = db.execute("SELECT value FROM assessments WHERE key = ?", (key,)).fetchone()
            if row is not None:
                self._remember(key, row[0])
                with self._lock:
                    self.hits += 1
                return str(row[0])
        with self._lock:
            self.misses += 1
        return None

    def put_many(self, items: dict[str, str]) -> None:
        for key, value in items.items():
            self._remember(key, value)
        if self.path is not None and items:
            with self._connect() as db:
                db.executemany(
                    "INSERT OR REPLACE INTO assessments (key, value) VALUES (?, ?)", list(items.items())
                )

    def _remember(self, key: str, value: str) -> None:
        with self._lock:
            self._memory[key] = value
            self._memory.move_to_end(key)
            while len(self._memory) > self.max_entries:
                self._memory.popitem(last=False)

    def __len__(self) -> int:
        return len(self._memory)

    def clear(self) -> None:
        with self._lock:
            self._memory.clear()
