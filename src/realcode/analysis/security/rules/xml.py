"""XML external entities (CWE-611): attacker XML parsed by a parser that resolves entities or loads DTDs."""

from __future__ import annotations

import ast
from collections.abc import Iterable

from realcode.analysis.findings import Confidence, Finding, Severity
from realcode.analysis.security.context import AnalysisContext
from realcode.analysis.security.engine.names import qualify
from realcode.analysis.security.engine.sinks import keyword
from realcode.analysis.security.rules.base import Rule, register

_LXML_PARSE = frozenset(
    {
        "lxml.etree.fromstring",
        "lxml.etree.XML",
        "lxml.etree.parse",
        "lxml.etree.iterparse",
        "lxml.etree.fromstringlist",
    }
)
_LXML_PARSERS = frozenset({"lxml.etree.XMLParser", "lxml.etree.XMLPullParser", "lxml.etree.XMLTreeBuilder"})
_SAX_PARSE = frozenset({"xml.sax.parseString", "xml.sax.parse"})


def _unsafe_parser(ctx: AnalysisContext, expr: ast.expr | None) -> str | None:
    """Why a parser object resolves external entities, or None if it does not (or cannot be seen)."""
    if expr is None:
        return None
    if isinstance(expr, ast.Name):
        func = ctx.enclosing_function(expr)
        owner = func if func is not None else ctx.tree
        values = ctx.analysis.defs.get(id(owner), {}).get(expr.id) or ctx.analysis.defs.get(
            id(ctx.tree), {}
        ).get(expr.id)
        if not values:
            return None
        reasons = [r for r in (_unsafe_parser(ctx, v) for v in values) if r]
        return reasons[0] if reasons else None
    if isinstance(expr, ast.Call) and qualify(expr.func, ctx.imports) in _LXML_PARSERS:
        for kw in expr.keywords:
            value = kw.value
            if kw.arg == "resolve_entities" and not (
                isinstance(value, ast.Constant) and value.value in (False, "internal")
            ):
                return "resolve_entities=True"
            if kw.arg == "no_network" and isinstance(value, ast.Constant) and value.value is False:
                return "no_network=False"
            if (
                kw.arg in ("load_dtd", "dtd_validation")
                and isinstance(value, ast.Constant)
                and value.value is True
            ):
                return f"{kw.arg}=True"
    return None


@register
class XXE(Rule):
    """Attacker XML is parsed with external entity resolution enabled, so ``<!ENTITY x SYSTEM "file:///...">``
    reads local files or reaches internal hosts.

    Bad::

        parser = etree.XMLParser(resolve_entities=True)
        root = etree.fromstring(xml_text, parser=parser)

    Good::

        root = defusedxml.ElementTree.fromstring(xml_text)
    """

    id = "RC-XXE-001"
    cwe = "CWE-611"
    name = "xxe"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    blind_spots = (
        "Parsers configured in another module or through `parser.resolvers` are not seen; the standard library "
        "parsers (no external entities since Python 3.7.1) are not reported."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        for call in ctx.tainted_calls():
            q = qualify(call.func, ctx.imports)
            reason: str | None = None
            confidence = None
            if q in _LXML_PARSE:
                parser = keyword(call, "parser") or (call.args[1] if len(call.args) > 1 else None)
                reason = _unsafe_parser(ctx, parser)
                if parser is None and call.args:
                    # lxml before 5.0 resolves local-file entities with its default parser; report external data
                    t0 = ctx.taint_of(call.args[0])
                    if t0 is not None and t0.live_where("xml", external=True):
                        reason, confidence = (
                            "lxml's default parser (entities resolved before lxml 5)",
                            Confidence.MEDIUM,
                        )
            elif q in _SAX_PARSE or (isinstance(call.func, ast.Attribute) and call.func.attr == "setFeature"):
                if (
                    isinstance(call.func, ast.Attribute)
                    and call.func.attr == "setFeature"
                    and len(call.args) == 2
                ):
                    feat = qualify(call.args[0], ctx.imports) or ""
                    if (
                        feat.endswith("feature_external_ges")
                        and isinstance(call.args[1], ast.Constant)
                        and call.args[1].value
                    ):
                        yield self.finding(ctx, call, "SAX parser configured to resolve external entities")
                continue
            if reason is None or not call.args:
                continue
            t = ctx.taint_of(call.args[0])
            if t is None:
                continue
            yield self.finding(
                ctx,
                call,
                f"attacker-controlled XML is parsed with {reason}",
                ctx.trace(t, call, f"{q} ({reason}) (sink)"),
                confidence=confidence,
            )
