"""HTTP response header injection (CWE-113): attacker text with CR/LF written into a response header."""

from __future__ import annotations

import ast
from collections.abc import Iterable

from realcode.analysis.findings import Confidence, Finding, Severity
from realcode.analysis.security.context import AnalysisContext
from realcode.analysis.security.engine.sinks import Sink
from realcode.analysis.security.rules.base import TaintSinkRule, register


@register
class HeaderInjection(TaintSinkRule):
    """Attacker text reaches a response header without CR/LF removal (response splitting).

    Bad::

        response.headers["X-User"] = name

    Good::

        response.headers["X-User"] = name.replace("\\r", "").replace("\\n", "")
    """

    id = "RC-HDR-001"
    cwe = "CWE-113"
    name = "http-header-injection"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    kind = "header"
    what = "attacker-controlled text"
    sinks = (
        Sink(
            "a response header",
            methods=frozenset({"set_header", "add_header", "send_header", "putheader"}),
            args=(1,),
        ),
    )
    blind_spots = (
        "Frameworks that reject CR/LF in header values (recent Werkzeug, Django) still get a report; headers set "
        "through dictionaries passed to response constructors are not followed."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        yield from super().check(ctx)
        for node in ctx.nodes_of(ast.Assign):
            for target in node.targets:
                if (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Attribute)
                    and target.value.attr == "headers"
                ):
                    t = ctx.taint_of(node.value)
                    if t is not None and t.is_live("header"):
                        yield self.finding(
                            ctx,
                            node,
                            "attacker-controlled text is written into a response header",
                            ctx.trace(t, node, "response header (sink)"),
                        )
