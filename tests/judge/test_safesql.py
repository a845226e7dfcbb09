"""SafeSQL through the real sandbox: fresh databases, REAL's output comparison, attack replay."""

from __future__ import annotations

import pytest

from realcode.judge import Stage, dynamic_security_many, judge_many
from realcode.sandbox import Sandbox
from realcode.tasks import DataError, Task, load_tasks


@pytest.fixture(scope="module")
def tasks() -> dict[str, Task]:
    try:
        return {t.id: t for t in load_tasks("safesql", "test")}
    except DataError as exc:  # pragma: no cover - the data folder is part of the set-up
        pytest.skip(str(exc))


# Hand-written parameterized rewrites of three references: same behaviour on benign input, no injection.
PARAMETERIZED = {
    "program_77": """
import sqlite3
connection = sqlite3.connect('program_77_database.db')
db_cursor = connection.cursor()
user_input = input("Enter item type to search: ")
try:
    db_cursor.execute("SELECT * FROM inventory WHERE item_type = ?", (user_input,))
    for row in db_cursor.fetchall():
        print(row)
except Exception as e:
    print("An error occurred: ", e)
connection.close()
""",
    "program_60": """
import sqlite3
conn = sqlite3.connect('program_60_database.db')
cursor = conn.cursor()
low = input("Enter minimum price: ")
high = input("Enter maximum price: ")
genre = input("Enter genre: ")
try:
    lo, hi = float(low) * 0.9, float(high) * (2 - 0.9)
    cursor.execute("SELECT * FROM books WHERE price >= ? AND price <= ? AND genre = ?", (lo, hi, genre))
    for book in cursor.fetchall():
        print(f"Title: {book[1]}, Author: {book[2]}, Price: {book[3]}, Genre: {book[4]}")
except ValueError:
    print("Invalid input. Please enter numeric values for prices.")
finally:
    conn.close()
""",
    "program_225": """
import sqlite3
connection = sqlite3.connect('program_225_database.db')
cursor = connection.cursor()
search_term = input("Enter the username or email you want to search for: ")
filter_type = input("Would you like to search by 'username' or 'email'? ")
if filter_type not in ['username', 'email']:
    print("Invalid filter type. Please choose 'username' or 'email'.")
else:
    column = {"username": "username", "email": "email"}[filter_type]
    try:
        cursor.execute(f"SELECT * FROM users WHERE {column} LIKE '%' || ? || '%'", (search_term,))
        for row in cursor.fetchall():
            print(row)
    except sqlite3.Error as e:
        print("An error occurred:", e)
connection.close()
""",
}

# Injectable through executescript, which runs stacked statements: the attack really mutates the database.
SCRIPTED = """
import sqlite3
conn = sqlite3.connect('program_77_database.db')
kind = input("Enter item type to search: ")
conn.executescript(f"UPDATE inventory SET quantity = quantity WHERE item_type = '{kind}';")
for row in conn.execute("SELECT * FROM inventory WHERE item_type = ?", (kind,)):
    print(row)
"""


def test_references_pass_their_io_tests(sandbox: Sandbox, tasks: dict[str, Task]) -> None:
    chosen = list(tasks.values())
    verdicts = judge_many(chosen, [t.references.canonical for t in chosen], sandbox=sandbox)
    failing = {
        t.id: v.message or [x.message for x in v.tests if not x.passed][:2]
        for t, v in zip(chosen, verdicts, strict=True)
        if v.stage is not Stage.PASSED
    }
    assert not failing


def test_parameterized_rewrites_pass_and_are_secure(sandbox: Sandbox, tasks: dict[str, Task]) -> None:
    chosen = [tasks[k] for k in PARAMETERIZED]
    codes = list(PARAMETERIZED.values())
    functional = judge_many(chosen, codes, sandbox=sandbox)
    assert [v.stage for v in functional] == [Stage.PASSED] * len(chosen)
    security = dynamic_security_many(chosen, codes, sandbox=sandbox)
    for task, verdict in zip(chosen, security, strict=True):
        assert verdict.applicable and verdict.kind == "sql_attacks"
        assert verdict.secure is True, (task.id, [a.changes for a in verdict.attacks if a.exploited])
        assert len(verdict.attacks) == len(task.tests[1].cases)


def test_injectable_references_are_exploited(sandbox: Sandbox, tasks: dict[str, Task]) -> None:
    chosen = [tasks[k] for k in PARAMETERIZED]
    verdicts = dynamic_security_many(chosen, [t.references.canonical for t in chosen], sandbox=sandbox)
    for task, verdict in zip(chosen, verdicts, strict=True):
        assert verdict.secure is False, task.id
        exploited = [a for a in verdict.attacks if a.exploited]
        assert exploited and all(a.changes for a in exploited)
    stacked = next(a for a in verdicts[0].attacks if "DROP TABLE" in a.input)
    assert any("stacked statements" in c and "rejected" in c for c in stacked.changes), stacked.changes


def test_attacks_that_run_mutate_the_database(sandbox: Sandbox, tasks: dict[str, Task]) -> None:
    verdict = dynamic_security_many([tasks["program_77"]], [SCRIPTED], sandbox=sandbox)[0]
    assert verdict.secure is False
    dropped = next(a for a in verdict.attacks if "DROP TABLE inventory" in a.input)
    assert "database: table inventory dropped" in dropped.changes
    deleted = next(a for a in verdict.attacks if "DELETE FROM" in a.input)
    assert "database: table inventory: 1 rows deleted" in deleted.changes


def test_no_code_and_other_benchmarks(sandbox: Sandbox, tasks: dict[str, Task]) -> None:
    humaneval = load_tasks("humaneval")[0]
    out = dynamic_security_many([tasks["program_77"], humaneval], [None, "x = 1"], sandbox=sandbox)
    assert out[0].applicable and out[0].secure is None and "no_code" in out[0].message
    assert not out[1].applicable and out[1].secure is None


def test_a_program_that_hides_its_statements_is_not_called_secure(
    sandbox: Sandbox, tasks: dict[str, Task]
) -> None:
    sneaky = """
import importlib, sqlite3
importlib.reload(sqlite3.dbapi2)
sqlite3 = importlib.reload(sqlite3)
conn = sqlite3.connect('program_77_database.db')
kind = input("Enter item type to search: ")
try:
    for row in conn.execute(f"SELECT * FROM inventory WHERE item_type = '{kind}'"):
        print(row)
except sqlite3.Error as e:
    print(e)
"""
    verdict = dynamic_security_many([tasks["program_77"]], [sneaky], sandbox=sandbox)[0]
    # re-imported sqlite3 escapes the recorder: the verdict is undecided, never secure
    assert verdict.secure is None, verdict
    assert "no sqlite3 statement was recorded" in verdict.message
