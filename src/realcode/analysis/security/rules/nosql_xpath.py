"""NoSQL injection (CWE-943) and XPath injection (CWE-643)."""

from __future__ import annotations

import ast
from collections.abc import Iterable

from realcode.analysis.findings import Confidence, Finding, Severity
from realcode.analysis.security.context import AnalysisContext
from realcode.analysis.security.engine.names import qualify
from realcode.analysis.security.engine.sinks import Sink
from realcode.analysis.security.rules.base import Rule, TaintSinkRule, register

_MONGO_METHODS = frozenset(
    {
        "find",
        "find_one",
        "find_one_and_update",
        "find_one_and_delete",
        "find_one_and_replace",
        "update_one",
        "update_many",
        "delete_one",
        "delete_many",
        "replace_one",
        "count_documents",
        "aggregate",
        "distinct",
        "count",
        "remove",
    }
)
_MONGO_MODULES = ("pymongo", "motor", "mongomock", "mongoengine")


@register
class NoSQLInjection(Rule):
    """An attacker-controlled value becomes a MongoDB filter or operator: a whole filter document from the
    request, a field value that may be an operator dict (``{"$ne": null}``), or JavaScript in ``$where``.

    Bad::

        users.find_one({"name": name, "password": password})     # password may be {"$ne": ""}
        users.find(json.loads(query))

    Good::

        users.find_one({"name": str(name), "password": str(password)})
    """

    id = "RC-NOSQL-001"
    cwe = "CWE-943"
    name = "nosql-injection"
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    blind_spots = (
        "Only pymongo-style APIs in modules importing a MongoDB driver; field values taken from function "
        "parameters are trusted to be scalars (only external data is assumed to smuggle operator documents); "
        "ODM query builders are trusted."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        if not any(v.split(".")[0] in _MONGO_MODULES for v in ctx.imports.values()):
            return
        for call in ctx.tainted_calls():
            func = call.func
            if not isinstance(func, ast.Attribute) or func.attr not in _MONGO_METHODS or not call.args:
                continue
            flt = call.args[0]
            if isinstance(flt, ast.Dict):
                for k, v in zip(flt.keys, flt.values, strict=True):
                    t = ctx.taint_of(v)
                    if t is None:
                        continue
                    key = ctx.const_str(k) if k is not None else None
                    kind = "code" if key == "$where" else "nosql"
                    # a field value is an operator document only when it comes from parsed external input
                    # (JSON bodies, query strings); `$where` code is dangerous from anywhere
                    live = t.live_where(kind, external=True) if kind == "nosql" else t.live(kind)
                    if live:
                        yield self.finding(
                            ctx,
                            call,
                            "attacker-controlled value used in a MongoDB filter"
                            + (" ($where)" if kind == "code" else ""),
                            ctx.trace(t, call, f".{func.attr}() filter (sink)"),
                        )
                        break
            else:
                t = ctx.taint_of(flt)
                if t is not None and t.is_live("nosql"):
                    yield self.finding(
                        ctx,
                        call,
                        "attacker-controlled MongoDB filter document",
                        ctx.trace(t, call, f".{func.attr}() (sink)"),
                    )


@register
class XPathInjection(TaintSinkRule):
    """An XPath expression is built from attacker text; use XPath variables instead.

    Bad::

        tree.xpath(f"//user[@name='{name}']")

    Good::

        tree.xpath("//user[@name=$name]", name=name)
    """

    id = "RC-XPATH-001"
    cwe = "CWE-643"
    name = "xpath-injection"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    kind = "xpath"
    what = "an XPath expression built from attacker-controlled text"
    sinks = (
        Sink("an XPath query", methods=frozenset({"xpath"})),
        Sink("an XPath query", names=frozenset({"lxml.etree.XPath", "lxml.etree.ETXPath"})),
        Sink(
            "an ElementPath query",
            methods=frozenset({"findall", "find", "iterfind", "findtext"}),
            receiver_names=frozenset({"xml.etree.ElementTree", "lxml.etree", "defusedxml.ElementTree"}),
        ),
    )
    blind_spots = (
        "ElementTree `find`/`findall` on element objects are reported only when called on the module."
    )

    def accept(self, ctx: AnalysisContext, call: ast.Call, arg: ast.expr, sink: Sink) -> bool:
        return qualify(call.func, ctx.imports) != "re.findall"
