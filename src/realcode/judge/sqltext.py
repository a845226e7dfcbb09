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

    Words (keywords and identifiers) are kept, upper-cased; comments become ``COMMENT``; an unterminated
    string becomes ``UNTERMINATED``. A sign directly before a number that follows an operator or keyword is
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
        elif kind in ("word", "qident"):
            out.append(m.group().upper())
        else:
            out.append(m.group())
    return tuple(out)


def _is_word(token: str) -> bool:
    # Keywords such as WHERE or AND precede signed literals; identifiers (columns) do not. Both are words
    # here, so only known value-ending words count as values.
    return token not in _KEYWORDS_BEFORE_VALUES and (token[:1].isalpha() or token[:1] in '_"`[')


_KEYWORDS_BEFORE_VALUES = {
    "WHERE", "AND", "OR", "NOT", "BETWEEN", "IN", "IS", "LIKE", "GLOB", "SET", "VALUES", "SELECT", "LIMIT",
    "OFFSET", "THEN", "ELSE", "WHEN", "CASE", "BY", "HAVING", "ON", "RETURNING",
}  # fmt: skip


def is_stacked(tokens: tuple[str, ...]) -> bool:
    """Whether a shape holds more than one statement (``;`` followed by anything but comments)."""
    if ";" not in tokens:
        return False
    after = tokens[tokens.index(";") + 1 :]
    return any(t not in (";", "COMMENT") for t in after)
