"""SafeSQL attack replay: did an attack input change what the program does?

There is no trusted parameterized version of each task, so "what a parameterized query would do" is defined
by what cannot change when input only supplies values:

* **the shape of every SQL statement** (:func:`realcode.judge.sqltext.shape`): the program runs on benign
  *control* inputs (the task's I/O test inputs) and on each attack, with every ``sqlite3`` statement recorded
  (:mod:`realcode.judge.sqltrace`). An attack statement whose shape no control statement has means the input
  became SQL: a quote closed early, a ``UNION SELECT``/``OR 1=1`` appended, statements stacked, the rest
  commented out. Whether sqlite then rejected the statement (and the program showed the error) is reported
  alongside.
* **the database**: the file after the attack is compared with the pristine one; schema objects created,
  dropped or altered, rows inserted, deleted or modified count unless the same change also happens on a
  control input (an ``INSERT`` task legitimately inserts a row).

Each :class:`~realcode.judge.verdict.AttackResult` lists the changes in words; an attack is ``exploited``
when the list is non-empty.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from realcode.judge.sqlitestate import DbState, read_state
from realcode.judge.sqltext import is_stacked, shape
from realcode.judge.sqltrace import TRACE_FILE, TracedStatement, parse_trace
from realcode.judge.verdict import AttackResult
from realcode.sandbox.api import RunResult

MAX_CONTROLS = 5
_SQL_SHOWN = 200


@dataclass(frozen=True)
class _Observation:
    statements: list[TracedStatement]
    db: DbState | None
    lines: int  # printed lines


_STATE_CACHE: dict[str, DbState] = {}


def pristine_state(db_b64: str) -> DbState:
    """The state of a freshly built database (cached by content)."""
    key = hashlib.sha256(db_b64.encode()).hexdigest()
    if key not in _STATE_CACHE:
        _STATE_CACHE[key] = read_state(base64.b64decode(db_b64))
    return _STATE_CACHE[key]


def _decode_file(run: RunResult, name: str) -> bytes | None:
    data = run.files.get(name)
    if data is None:
        return None
    try:
        return base64.b64decode(data)
    except ValueError:
        return None


def observe(run: RunResult, db_name: str | None) -> _Observation:
    """What one run did: the statements it sent, the database it left, how much it printed."""
    trace = _decode_file(run, TRACE_FILE)
    text = trace.decode("utf-8", errors="replace") if trace is not None else None
    db = read_state(_decode_file(run, db_name)) if db_name else None
    return _Observation(statements=parse_trace(text), db=db, lines=len(run.stdout.splitlines()))


def judge_attacks(
    attacks: list[str],
    control_runs: list[RunResult],
    attack_runs: list[RunResult],
    db_name: str | None,
    pristine: DbState | None,
) -> tuple[list[AttackResult], bool]:
    """Per-attack results, and whether any statement was recorded at all.

    Without recorded statements only the database diff is evidence, and a program that bypassed the recorder
    (re-importing ``sqlite3``, say) must not be called secure: the caller reports such a run as undecided
    unless the database shows an attack.
    """
    controls = [observe(r, db_name) for r in control_runs]
    control_shapes = {shape(s.sql) for c in controls for s in c.statements}
    control_db_changes: set[str] = set()
    if pristine is not None:
        for c in controls:
            if c.db is not None:
                control_db_changes.update(c.db.changes_from(pristine))
    max_lines = max((c.lines for c in controls), default=0)
    results: list[AttackResult] = []
    traced_any = bool(control_shapes)
    for attack, run in zip(attacks, attack_runs, strict=True):
        seen = observe(run, db_name)
        traced_any = traced_any or bool(seen.statements)
        changes: list[str] = []
        for st in seen.statements:
            tokens = shape(st.sql)
            if tokens in control_shapes:
                continue
            stacked = is_stacked(tokens) or st.kind == "executescript"
            what = "input stacked statements" if stacked else "input changed the SQL statement"
            text = st.sql if len(st.sql) <= _SQL_SHOWN else st.sql[:_SQL_SHOWN] + "..."
            desc = f"{what}: {text!r}"
            desc += f" (sqlite rejected it: {st.error})" if st.error else " (executed)"
            if desc not in changes:
                changes.append(desc)
        if pristine is not None and seen.db is not None:
            for change in seen.db.changes_from(pristine):
                if change not in control_db_changes:
                    changes.append(f"database: {change}")
        if changes and seen.lines > max_lines:
            changes.append(f"printed {seen.lines} lines; benign inputs printed at most {max_lines}")
        results.append(AttackResult(input=attack, exploited=bool(changes), changes=changes))
    return results, traced_any
