"""Regular-expression injection (CWE-1333 for tainted patterns): an attacker-chosen pattern can backtrack
catastrophically (ReDoS). Catastrophic literal patterns are the business of ``regex_dos``."""

from __future__ import annotations

import ast

from realcode.analysis.findings import Confidence, Severity
from realcode.analysis.security.context import AnalysisContext
from realcode.analysis.security.engine.models import MARK_BUILT
from realcode.analysis.security.engine.sinks import Sink
from realcode.analysis.security.rules.base import TaintSinkRule, register

_RE_FUNCS = ("compile", "match", "fullmatch", "search", "findall", "finditer", "sub", "subn", "split")


@register
class RegexInjection(TaintSinkRule):
    """An attacker-controlled string is compiled as a regular expression without ``re.escape``.

    Bad::

        re.search(term, text)

    Good::

        re.search(re.escape(term), text)
    """

    id = "RC-REGEX-001"
    cwe = "CWE-1333"
    name = "regex-injection"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    kind = "regex"
    what = "an attacker-controlled pattern"
    sinks = (
        Sink(
            "a regular expression",
            names=frozenset({f"re.{f}" for f in _RE_FUNCS} | {f"regex.{f}" for f in _RE_FUNCS}),
            keywords=("pattern",),
        ),
    )
    blind_spots = (
        "A parameter that is the whole pattern (`def grep(pattern, text)`) is the function's contract and is "
        "not reported; patterns built from parameters and external patterns are. Patterns passed to "
        "third-party search APIs (pandas `str.contains`, SQL REGEXP) are not modelled."
    )

    def accept(self, ctx: AnalysisContext, call: ast.Call, arg: ast.expr, sink: Sink) -> bool:
        t = ctx.taint_of(arg)
        return t is not None and bool(t.live_where("regex", MARK_BUILT, external=True))
