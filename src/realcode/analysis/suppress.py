"""Inline suppressions: ``# realcode: ignore`` and ``# realcode: ignore[RULE, CWE-xx]``.

A suppression comment silences findings that start or end on its line: all of them for a bare
``# realcode: ignore``, or only those whose rule id or CWE is listed in the brackets. Comments are found with
:mod:`tokenize`, so the same text inside a string literal suppresses nothing.

Suppressions are for people running ``realcode scan`` on their own code. ``scan_code`` does not apply them,
and a reward must not either: a model rewarded through them would learn to write ``# realcode: ignore``.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable, Mapping

from realcode.analysis.findings import Finding

_DIRECTIVE = re.compile(r"#\s*realcode:\s*ignore(?:\[(?P<ids>[^\]]*)\])?", re.IGNORECASE)
ALL = frozenset({"*"})  # marker: every finding on the line


def parse_suppressions(source: str) -> dict[int, frozenset[str]]:
    """Line number (1-based) -> upper-cased rule ids/CWEs suppressed there (:data:`ALL` for a bare ignore)."""
    out: dict[int, frozenset[str]] = {}
    for line, comment in _comments(source):
        for m in _DIRECTIVE.finditer(comment):
            ids = m.group("ids")
            if ids is None:
                keys = ALL
            else:
                keys = frozenset(k.strip().upper() for k in ids.split(",") if k.strip()) or ALL
            out[line] = out.get(line, frozenset()) | keys
    return out


def _comments(source: str) -> Iterable[tuple[int, str]]:
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                yield tok.start[0], tok.string
    except (tokenize.TokenError, IndentationError, SyntaxError):
        # Code that does not tokenize (the RC-SYNTAX case): fall back to a line scan, the best we can do.
        for i, text in enumerate(source.splitlines(), start=1):
            if "#" in text:
                yield i, text[text.index("#") :]


def is_suppressed(finding: Finding, suppressions: Mapping[int, frozenset[str]]) -> bool:
    """Whether a suppression on the finding's first or last line covers it."""
    lines = {finding.location.line}
    if finding.location.end_line is not None:
        lines.add(finding.location.end_line)
    keys = {finding.rule_id.upper()}
    if finding.cwe:
        keys.add(finding.cwe.upper())
    for line in lines:
        ids = suppressions.get(line)
        if ids is not None and ("*" in ids or ids & keys):
            return True
    return False


def apply_suppressions(findings: Iterable[Finding], source: str) -> list[Finding]:
    """``findings`` without those silenced by ``# realcode: ignore`` comments in ``source``."""
    found = list(findings)
    if "realcode" not in source.lower():  # the common case: no directive, nothing to parse
        return found
    suppressions = parse_suppressions(source)
    if not suppressions:
        return found
    return [f for f in found if not is_suppressed(f, suppressions)]
