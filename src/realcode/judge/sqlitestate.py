"""What an sqlite database file holds, read on the host from bytes a sandbox captured.

The file comes from untrusted code, so it is handled as data: copied to a private temporary file, opened
read-only with ``trusted_schema`` off, and only plain tables are read (never views, so no SQL stored in the
file is evaluated beyond what SQLite does to read rows).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TableState:
    rows: int
    digest: str  # hash of the sorted rows' reprs


@dataclass(frozen=True)
class DbState:
    """Schema objects (``type name`` -> SQL) and per-table row counts and content hashes."""

    schema: dict[str, str] = field(default_factory=dict)
    tables: dict[str, TableState] = field(default_factory=dict)
    error: str | None = None  # the file was missing or unreadable

    def changes_from(self, before: DbState) -> list[str]:
        """What changed from ``before`` to this state, in words."""
        if self.error or before.error:
            return [] if self.error == before.error else [f"database file: {self.error or 'readable again'}"]
        out: list[str] = []
        for key in sorted(before.schema.keys() - self.schema.keys()):
            out.append(f"{key} dropped")
        for key in sorted(self.schema.keys() - before.schema.keys()):
            out.append(f"{key} created")
        altered = {k for k in before.schema.keys() & self.schema.keys() if before.schema[k] != self.schema[k]}
        out.extend(f"{key} altered" for key in sorted(altered))
        for name in sorted(before.tables.keys() & self.tables.keys()):
            old, new = before.tables[name], self.tables[name]
            if new.rows > old.rows:
                out.append(f"table {name}: {new.rows - old.rows} rows inserted")
            elif new.rows < old.rows:
                out.append(f"table {name}: {old.rows - new.rows} rows deleted")
            elif new.digest != old.digest and f"table {name}" not in altered:  # new column: rows differ
                out.append(f"table {name}: rows modified")
        return out


MAX_ROWS = 100_000


def read_state(data: bytes | None) -> DbState:
    """The state of the sqlite database whose file content is ``data`` (None: the file did not exist)."""
    if data is None:
        return DbState(error="missing")
    fd, path = tempfile.mkstemp(suffix=".sqlite", prefix="realcode-judge-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return _read(path)
    finally:
        os.unlink(path)


def _read(path: str) -> DbState:
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return DbState(error=f"unreadable ({exc})")
    try:
        con.execute("PRAGMA trusted_schema = OFF")
        objects = con.execute(
            "SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        ).fetchall()
        schema = {f"{t} {n}": s for t, n, s in objects}
        tables: dict[str, TableState] = {}
        for t, n, _ in objects:
            if t != "table":
                continue
            quoted = '"' + str(n).replace('"', '""') + '"'
            rows = con.execute(f"SELECT * FROM {quoted} LIMIT {MAX_ROWS}").fetchall()
            digest = hashlib.sha256("\n".join(sorted(repr(r) for r in rows)).encode()).hexdigest()[:16]
            tables[str(n)] = TableState(rows=len(rows), digest=digest)
        return DbState(schema=schema, tables=tables)
    except sqlite3.Error as exc:
        return DbState(error=f"unreadable ({exc})")
    finally:
        con.close()
