"""SQL injection (CWE-89): query text built from attacker data reaching a database API."""

from __future__ import annotations

import ast

from realcode.analysis.findings import Confidence, Severity
from realcode.analysis.security.context import AnalysisContext
from realcode.analysis.security.engine.models import MARK_BUILT
from realcode.analysis.security.engine.sinks import Sink
from realcode.analysis.security.rules.base import TaintSinkRule, register

_DB_MODULES = frozenset(
    {
        "sqlite3",
        "psycopg2",
        "psycopg",
        "pymysql",
        "MySQLdb",
        "mysql",
        "sqlalchemy",
        "cx_Oracle",
        "oracledb",
        "pyodbc",
        "django",
        "aiosqlite",
        "asyncpg",
        "aiomysql",
        "duckdb",
        "pandas",
        "snowflake",
        "databases",
        "peewee",
        "records",
        "pymssql",
        "clickhouse_driver",
    }
)


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

    def accept(self, ctx: AnalysisContext, call: ast.Call, arg: ast.expr, sink: Sink) -> bool:
        t = ctx.taint_of(arg)
        # query *text* assembled from a parameter, or any external text; a parameter that is the whole query is
        # the function's contract (`def run(cur, sql): cur.execute(sql)`), and ORM statements are not text
        if t is None or not t.live_where("sql", MARK_BUILT, external=True):
            return False
        if sink.names:
            return True
        # `.execute` is a common method name: require a database API in the module
        return any(v.split(".")[0] in _DB_MODULES for v in ctx.imports.values())

    blind_spots = (
        "`.execute`-style methods count only in modules that import a database API. Identifiers (table or column names) validated by a helper in another module are still reported; ORM "
        "query builders other than `raw`/`text`/`extra` are trusted."
    )
