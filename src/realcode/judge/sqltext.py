"""The shape of an SQL statement: its tokens with literal values abstracted away.

An input that only supplies a value (a parameter, or a correctly quoted literal) leaves a statement's shape
unchanged; an injection changes it (a closing quote followed by ``OR 1=1``, a stacked ``; DROP TABLE``, a
trailing ``--`` comment). This is the classic definition of SQL injection (the input changes the parse
structure of the query), and it is what a parameterized query guarantees cannot happen.
"""

from __future__ import annotations

import re

# Order matters: comments before operators, multi-character operators before single characters.
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>--[^\n]*|/\*.*?(?:\*/|$))
  | (?P<blob>[xX]'[0-9a-fA-F]*')
  | (?P<str>'(?:[^']|'')*')
  | (?P<unterminated>'.*)
  | (?P<qident>"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\])
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<param>\?\d*|[:@$][A-Za-z_]\w*)
  | (?P<word>[A-Za-z_][A-Za-z_0-9$]*)
  | (?P<op>\|\||<=|>=|<>|!=|==|<<|>>|.)
    """,
    re.VERBOSE | re.DOTALL,
)

# A token after which a sign starts a new (signed) literal rather than being a binary operator.
_VALUE_TOKENS = {"NUM", "STR", "BLOB", "PARAM", ")"}


def shape(sql: str) -> tuple[str, ...]:
    """Tokens of ``sql`` with literals replaced by their kind (``STR``, ``NUM``, ``BLOB``, ``PARAM``).

    Keywords are kept, upper-cased; identifiers (table and column names, function names) become ``ID``, so
    that a program which lets the user pick a column from a whitelist keeps one shape: swapping one
    identifier for another adds no structure. Comments become ``COMMENT``; an unterminated string becomes
    ``UNTERMINATED``. A sign directly before a number that follows an operator or keyword is
    part of the literal, so ``-5`` and ``5`` have the same shape.
    """
    out: list[str] = []
    for m in _TOKEN.finditer(sql):
        kind = m.lastgroup
        if kind == "ws":
            continue
        if kind == "comment":
            out.append("COMMENT")
        elif kind in ("str", "blob", "num", "param"):
            token = kind.upper()
            if (
                token == "NUM"
                and out
                and out[-1] in ("-", "+")
                and (len(out) < 2 or (out[-2] not in _VALUE_TOKENS and not _is_word(out[-2])))
            ):
                out.pop()
            out.append(token)
        elif kind == "unterminated":
            out.append("UNTERMINATED")
        elif kind == "word" and m.group().upper() in KEYWORDS:
            out.append(m.group().upper())
        elif kind in ("word", "qident"):
            out.append("ID")
        else:
            out.append(m.group())
    return tuple(out)


def _is_word(token: str) -> bool:
    # An identifier ends a value (``price - 5`` is a subtraction); a keyword (``WHERE -5``) does not.
    return token == "ID" or token in (
        "NULL",
        "TRUE",
        "FALSE",
        "CURRENT_DATE",
        "CURRENT_TIME",
        "CURRENT_TIMESTAMP",
    )


# SQLite's keywords (https://www.sqlite.org/lang_keywords.html).
KEYWORDS = frozenset(
    """ABORT ACTION ADD AFTER ALL ALTER ALWAYS ANALYZE AND AS ASC ATTACH AUTOINCREMENT BEFORE BEGIN BETWEEN BY
    CASCADE CASE CAST CHECK COLLATE COLUMN COMMIT CONFLICT CONSTRAINT CREATE CROSS CURRENT CURRENT_DATE
    CURRENT_TIME CURRENT_TIMESTAMP DATABASE DEFAULT DEFERRABLE DEFERRED DELETE DESC DETACH DISTINCT DO DROP
    EACH ELSE END ESCAPE EXCEPT EXCLUDE EXCLUSIVE EXISTS EXPLAIN FAIL FILTER FIRST FOLLOWING FOR FOREIGN FROM
    FULL GENERATED GLOB GROUP GROUPS HAVING IF IGNORE IMMEDIATE IN INDEX INDEXED INITIALLY INNER INSERT INSTEAD
    INTERSECT INTO IS ISNULL JOIN KEY LAST LEFT LIKE LIMIT MATCH MATERIALIZED NATURAL NO NOT NOTHING NOTNULL
    NULL NULLS OF OFFSET ON OR ORDER OTHERS OUTER OVER PARTITION PLAN PRAGMA PRECEDING PRIMARY QUERY RAISE
    RANGE RECURSIVE REFERENCES REGEXP REINDEX RELEASE RENAME REPLACE RESTRICT RETURNING RIGHT ROLLBACK ROW
    ROWS SAVEPOINT SELECT SET TABLE TEMP TEMPORARY THEN TIES TO TRANSACTION TRIGGER UNBOUNDED UNION UNIQUE
    UPDATE USING VACUUM VALUES VIEW VIRTUAL WHEN WHERE WINDOW WITH WITHOUT TRUE FALSE""".split()  # noqa: SIM905
)


def is_stacked(tokens: tuple[str, ...]) -> bool:
    """Whether a shape holds more than one statement (``;`` followed by anything but comments)."""
    if ";" not in tokens:
        return False
    after = tokens[tokens.index(";") + 1 :]
    return any(t not in (";", "COMMENT") for t in after)
