"""Recording which SQL statements a program sends to sqlite3, from inside the sandbox.

:data:`TRACE_PRELUDE` is prepended to the program under test for attack replay. It makes
``sqlite3.connect`` return a connection whose ``execute``/``executemany``/``executescript`` (and those of its
cursors) append one JSON line per statement to :data:`TRACE_FILE` in the job's working directory: the SQL
text, the number of bound parameters, and the sqlite error it raised, if any. The judge reads the file back
(``capture_files``) and decides on the host. The recorded data is only evidence of what the program did; a
program that tampers with it can at worst hide its own statements, which the database diff still catches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from realcode.judge.harness import split_future_imports

TRACE_FILE = "__realcode_sqltrace__.jsonl"

TRACE_PRELUDE = f"""
def __realcode_install_sql_trace():
    import json, sqlite3
    log = open({TRACE_FILE!r}, "w", buffering=1)

    def record(kind, sql, params, error):
        try:
            n = len(params) if hasattr(params, "__len__") else -1
            log.write(json.dumps({{"kind": kind, "sql": str(sql)[:20000], "nparams": n, "error": error}}) + "\\n")
        except Exception:
            pass

    def traced(kind, run, sql, params):
        try:
            result = run()
        except sqlite3.Error as exc:
            record(kind, sql, params, type(exc).__name__ + ": " + str(exc))
            raise
        record(kind, sql, params, None)
        return result

    class Cursor(sqlite3.Cursor):
        def execute(self, sql, parameters=(), /):
            return traced("execute", lambda: super(Cursor, self).execute(sql, parameters), sql, parameters)

        def executemany(self, sql, seq, /):
            seq = list(seq)
            return traced("executemany", lambda: super(Cursor, self).executemany(sql, seq), sql, seq[:1] and seq[0])

        def executescript(self, script, /):
            return traced("executescript", lambda: super(Cursor, self).executescript(script), script, ())

    class Connection(sqlite3.Connection):
        def cursor(self, factory=Cursor):
            return super().cursor(factory)

        def execute(self, sql, parameters=(), /):
            return self.cursor().execute(sql, parameters)

        def executemany(self, sql, seq, /):
            return self.cursor().executemany(sql, seq)

        def executescript(self, script, /):
            return self.cursor().executescript(script)

    # Runs of one job may share a process: wrap the real connect, never a previous run's wrapper.
    original = getattr(sqlite3, "__realcode_connect__", sqlite3.connect)
    sqlite3.__realcode_connect__ = original

    def connect(*args, **kwargs):
        kwargs.setdefault("factory", Connection)
        return original(*args, **kwargs)

    connect.__doc__ = original.__doc__
    sqlite3.connect = connect
    sqlite3.dbapi2.connect = connect  # a plain reload(sqlite3) re-imports it from here


__realcode_install_sql_trace()
del __realcode_install_sql_trace
"""


@dataclass(frozen=True)
class TracedStatement:
    kind: str  # execute, executemany, executescript
    sql: str
    nparams: int
    error: str | None


def parse_trace(text: str | None) -> list[TracedStatement]:
    """Statements recorded in a trace file's text (malformed lines are skipped: the program may have cut them)."""
    out: list[TracedStatement] = []
    for line in (text or "").splitlines():
        try:
            row = json.loads(line)
            out.append(
                TracedStatement(
                    kind=str(row["kind"]),
                    sql=str(row["sql"]),
                    nparams=int(row["nparams"]),
                    error=None if row["error"] is None else str(row["error"]),
                )
            )
        except (ValueError, KeyError, TypeError):
            continue
    return out


def wrap_program(code: str) -> str:
    """The program with the trace prelude in front (``from __future__`` imports stay first)."""
    head, body = split_future_imports(code)
    return f"{head}{TRACE_PRELUDE}\n{body}"
