"""SQL statement shapes and sqlite state diffs (host side, real sqlite files)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from realcode.judge.sqlitestate import read_state
from realcode.judge.sqltext import is_stacked, shape
from realcode.judge.sqltrace import parse_trace, wrap_program


def test_values_do_not_change_the_shape() -> None:
    base = shape("SELECT * FROM t WHERE name = 'Tool' AND qty > 5")
    assert shape("select *  from t where NAME = 'O''Brien' and qty > -7.5") == base
    assert shape("SELECT * FROM t WHERE name = ? AND qty > ?") != base  # params are their own kind
    assert shape("SELECT * FROM t WHERE a = ? AND b = :b") == shape("SELECT * FROM t WHERE a = ?1 AND b = @x")
    # a whitelisted column choice swaps one identifier for another: no new structure
    assert shape("SELECT * FROM t WHERE email LIKE ?") == shape("SELECT * FROM t WHERE username LIKE ?")
    assert shape("SELECT price - 5 FROM t") != shape("SELECT price 5 FROM t")


def test_injections_change_the_shape() -> None:
    base = shape("SELECT * FROM t WHERE name = 'Tool'")
    injected = [
        "SELECT * FROM t WHERE name = 'x' OR '1'='1'",
        "SELECT * FROM t WHERE name = 'Tool'; DROP TABLE t; --'",
        "SELECT * FROM t WHERE name = 'Tool' --'",
        "SELECT * FROM t WHERE name = 'a' UNION SELECT sql, 1 FROM sqlite_master --'",
        "SELECT * FROM t WHERE name = 'unterminated",
        "SELECT * FROM t WHERE name = name",  # a tautology: the value became a column
    ]
    for sql in injected:
        assert shape(sql) != base, sql
    assert is_stacked(shape(injected[1]))
    assert not is_stacked(shape("SELECT 1;"))
    assert not is_stacked(shape("SELECT 1; -- done"))


def _db(path: Path, script: str) -> bytes:
    con = sqlite3.connect(path)
    con.executescript(script)
    con.commit()
    con.close()
    return path.read_bytes()


def test_state_diff(tmp_path: Path) -> None:
    setup = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b');"
    pristine = read_state(_db(tmp_path / "a.db", setup))
    assert pristine.tables["t"].rows == 2
    assert pristine.changes_from(pristine) == []
    dropped = read_state(_db(tmp_path / "b.db", setup + "DROP TABLE t; CREATE TABLE hacked (x);"))
    assert dropped.changes_from(pristine) == ["table t dropped", "table hacked created"]
    inserted = read_state(_db(tmp_path / "c.db", setup + "INSERT INTO t VALUES (3, 'c');"))
    assert inserted.changes_from(pristine) == ["table t: 1 rows inserted"]
    updated = read_state(_db(tmp_path / "d.db", setup + "UPDATE t SET name = 'z' WHERE id = 1;"))
    assert updated.changes_from(pristine) == ["table t: rows modified"]
    altered = read_state(_db(tmp_path / "e.db", setup + "ALTER TABLE t ADD COLUMN price INTEGER;"))
    assert altered.changes_from(pristine) == ["table t altered"]
    assert read_state(None).error == "missing"
    assert read_state(b"not a database at all" * 100).error is not None


def test_trace_parsing_skips_garbage() -> None:
    text = '{"kind": "execute", "sql": "SELECT 1", "nparams": 0, "error": null}\nnot json\n{"kind": 1}\n'
    statements = parse_trace(text)
    assert len(statements) == 1 and statements[0].sql == "SELECT 1"
    assert parse_trace(None) == []


def test_wrap_program_keeps_future_imports_first() -> None:
    code = '"""doc"""\nfrom __future__ import annotations\nimport sqlite3\n'
    wrapped = wrap_program(code)
    compile(wrapped, "<w>", "exec")  # a misplaced __future__ import would be a SyntaxError
    assert wrapped.index("from __future__") < wrapped.index("__realcode_install_sql_trace")
