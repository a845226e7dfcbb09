"""SQL injection (CWE-89): query text built from attacker data reaching a database API."""

from __future__ import annotations

from realcode.analysis.findings import Confidence, Severity
from realcode.analysis.security.engine.sinks import Sink
from realcode.analysis.security.rules.base import TaintSinkRule, register


@register
class SQLInjection(TaintSinkRule):
    """Query text built from attacker data (f-string, ``+``, ``%``, ``format``) is executed; values must be
    passed as parameters instead.

    Bad::

        cur.execute(f"SELECT * FROM users WHERE name = '{name}'")

    Good::

        cur.execute("SELECT * FROM users WHERE name = ?", (name,))
    """

    id = "RC-SQLI-001"
    cwe = "CWE-89"
    name = "sql-injection"
    severity = Severity.CRITICAL
    confidence = Confidence.HIGH
    kind = "sql"
    what = "query text built from attacker-controlled data"
    sinks = (
        Sink(
            "a SQL execute call",
            methods=frozenset(
                {"execute", "executemany", "executescript", "exec_driver_sql", "raw", "mogrify"}
            ),
            keywords=("sql", "query", "statement", "operation"),
        ),
        Sink(
            "a SQL query API",
            names=frozenset(
                {
                    "sqlalchemy.text",
                    "sqlalchemy.sql.text",
                    "sqlalchemy.sql.expression.text",
                    "pandas.read_sql",
                    "pandas.read_sql_query",
                    "django.db.models.expressions.RawSQL",
                }
            ),
            keywords=("sql",),
        ),
    )
    blind_spots = (
        "Identifiers (table or column names) validated by a helper in another module are still reported; ORM "
        "query builders other than `raw`/`text`/`extra` are trusted."
    )
