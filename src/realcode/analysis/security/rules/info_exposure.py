"""Exposure of internal state through caller-controlled format strings (CWE-200).

Model: ``template.format(...)`` (also ``format_map`` and ``string.Formatter().format``) with a ``template`` that
derives from caller input lets the caller walk the attributes and items of every argument: ``"{user.password}"``,
``"{order.customer.card}"``, ``"{obj.__class__.__init__.__globals__}"``. The *sensitive operation* is such a
call with an argument that is internal state rather than plain data: a record read from a module-level store, an
element of such a store, an instance of a class defined in the module (also a parameter annotated with one), or
``vars(x)``/``x.__dict__``/``globals()``; a field read out of an object (``user.name``) is plain data. The
*protection* is a mediating proxy — an instance of a class that defines ``__getattr__``/``__getattribute__``
(which can refuse sensitive attributes) — or a dominating test that validates the template.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from realcode.analysis.findings import Confidence, Finding, Severity
from realcode.analysis.security.rules._protection import (
    Analysis,
    FunctionFacts,
    analysis_of,
    call_name,
    dominating_tests,
    dotted,
    is_route_handler,
    method_name,
    root_name,
)
from realcode.analysis.security.rules.base import Rule, register

if TYPE_CHECKING:
    from realcode.analysis.security.context import AnalysisContext

_INTROSPECTION = frozenset({"vars", "globals", "locals"})


def _format_calls(facts: FunctionFacts) -> Iterator[tuple[ast.Call, list[ast.expr]]]:
    """Calls formatting a caller-controlled template, with the arguments the template can reach."""
    for node in facts.of_type(ast.Call):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        args = [*node.args, *(k.value for k in node.keywords)]
        if method_name(node) in {"format", "format_map"} and facts.params_of(node.func.value):
            if not isinstance(node.func.value, ast.Constant):
                yield node, args
        elif method_name(node) in {"format", "vformat"} and node.args and facts.params_of(node.args[0]):
            receiver = node.func.value
            if isinstance(receiver, ast.Call) and call_name(receiver).split(".")[-1] == "Formatter":
                yield node, args[1:]


class _Classifier:
    """Decides whether an expression is internal state, plain data, or mediated by a proxy."""

    def __init__(self, analysis: Analysis, facts: FunctionFacts) -> None:
        self.analysis = analysis
        self.facts = facts
        self.proxies = analysis.module.proxy_classes()

    def internal(self, node: ast.AST, depth: int = 0) -> bool:
        if depth > 6:
            return False
        module = self.analysis.module
        if isinstance(node, ast.Starred):
            return self.internal(node.value, depth + 1)
        if isinstance(node, ast.Attribute):
            # A field of an object is plain data unless it is the object's namespace itself.
            return node.attr == "__dict__"
        if isinstance(node, ast.Dict):
            return any(v is not None and self.internal(v, depth + 1) for v in node.values)
        if isinstance(node, ast.Subscript):
            root = root_name(node)
            if root is not None and root in module.stores and root not in self.facts.bindings:
                return self._store_holds_objects(root)
            return self.internal(node.value, depth + 1)
        if isinstance(node, ast.Call):
            name = call_name(node)
            if name in _INTROSPECTION:
                return True
            cls = name.split(".")[-1]
            return cls in module.classes and cls not in self.proxies
        if isinstance(node, ast.Name):
            if node.id in self.facts.params:
                # An object handed in: internal when annotated with one of the module's classes.
                return self._annotated_object(node.id)
            values = self.facts.bindings.get(node.id)
            if values is None:
                # A module-level object (``config = Settings()``) reached from the function.
                value = module.stores.get(node.id)
                if value is not None:
                    return self._store_holds_objects(node.id)
                return False
            for value in values:
                if isinstance(value, ast.Call) and call_name(value).split(".")[-1] in self.proxies:
                    return False
            if node.id in self.facts.loop_vars:
                return any(self._iterates_store(v) for v in values)
            return any(self.internal(v, depth + 1) for v in values)
        return False

    def _annotated_object(self, param: str) -> bool:
        args = self.facts.node.args
        for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            if a.arg == param and a.annotation is not None:
                name = dotted(a.annotation).split(".")[-1]
                if isinstance(a.annotation, ast.Constant) and isinstance(a.annotation.value, str):
                    name = a.annotation.value.split(".")[-1]  # a string annotation
                return name in self.analysis.module.classes and name not in self.proxies
        return False

    def _iterates_store(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            node = node.func.value  # employees.values(), staff.items()
        root = root_name(node)
        return root is not None and root in self.analysis.module.stores and self._store_holds_objects(root)

    def _store_holds_objects(self, name: str) -> bool:
        """Whether a module-level store keeps objects or records (not only strings and numbers)."""
        value = self.analysis.module.stores.get(name)
        if value is None:
            return False
        elements: list[ast.expr | None] = []
        if isinstance(value, ast.Dict):
            elements = list(value.values)
        elif isinstance(value, ast.List | ast.Set | ast.Tuple):
            elements = list(value.elts)
        if not elements:
            return True  # filled at run time: unknown contents, assume records
        return any(e is not None and not isinstance(e, ast.Constant) for e in elements)


@register
class FormatStringExposure(Rule):
    """A caller-supplied format string is applied to internal objects, exposing any attribute they hold.

    Bad::

        def render(template, user_id):
            return template.format(user=USERS[user_id])     # "{user.password}"

    Good::

        def render(template, user_id):
            user = USERS[user_id]
            return template.format(name=user.name, email=user.email)
    """

    id = "RC-INFO-001"
    cwe = "CWE-200"
    name = "format-string-exposure"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    blind_spots = (
        "Recognises internal objects only when they come from module-level stores, module classes or "
        "introspection in the same function; a proxy class is trusted without checking what its __getattr__ "
        "refuses. Secrets written into logs, exceptions or responses by other means are not modelled."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        analysis = analysis_of(ctx)
        if analysis is None:
            return
        for facts in analysis.functions:
            classifier = _Classifier(analysis, facts)
            for call, args in _format_calls(facts):
                exposed = [a for a in args if classifier.internal(a)]
                if not exposed:
                    continue
                assert isinstance(call.func, ast.Attribute)
                template = call.func.value if method_name(call) in {"format", "format_map"} else call.args[0]
                if any(
                    facts.params_of(g.test) & facts.params_of(template) for g in dominating_tests(facts, call)
                ):
                    continue  # the template is validated first (``if re.search(r"\{\w+\._", template): raise``)
                yield self.finding(
                    ctx,
                    call,
                    f"`{facts.node.name}` formats a caller-controlled template with internal object "
                    f"`{ast.unparse(exposed[0])}`: any of its attributes can be read",
                )


#: Calls that render an exception's details.
_TRACEBACK_CALLS = frozenset({"traceback.format_exc", "traceback.format_exception", "traceback.print_exc"})


@register
class ErrorDetailsInResponse(Rule):
    """A web handler sends an exception's text or traceback back to the client.

    Bad::

        @app.route("/report")
        def report():
            try:
                return build()
            except Exception as exc:
                return {"error": str(exc)}, 500

    Good::

        @app.route("/report")
        def report():
            try:
                return build()
            except Exception:
                app.logger.exception("report failed")
                return {"error": "internal error"}, 500
    """

    id = "RC-INFO-002"
    cwe = "CWE-209"
    name = "error-details-in-response"
    severity = Severity.LOW
    confidence = Confidence.MEDIUM
    blind_spots = (
        "Only handlers registered with a route/error-handler decorator; a response built in a helper, or an "
        "exception message that is safe by construction (a validation error written for the user), is reported "
        "or missed alike."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        analysis = analysis_of(ctx)
        if analysis is None:
            return
        for fn in analysis.function_defs():
            if is_route_handler(fn, extra=("errorhandler", "exception_handler")):
                yield from self._leaks(ctx, analysis, fn)

    def _leaks(
        self, ctx: AnalysisContext, analysis: Analysis, fn: ast.FunctionDef | ast.AsyncFunctionDef
    ) -> Iterator[Finding]:
        caught = {h.name for h in ast.walk(fn) if isinstance(h, ast.ExceptHandler) and h.name}
        for node in ast.walk(fn):
            if not isinstance(node, ast.Return) or node.value is None:
                continue
            for sub in ast.walk(node.value):
                leaked = None
                if isinstance(sub, ast.Call) and analysis.module.resolve(call_name(sub)) in _TRACEBACK_CALLS:
                    leaked = "a traceback"
                elif (
                    isinstance(sub, ast.Call)
                    and call_name(sub) in {"str", "repr"}
                    and sub.args
                    and isinstance(sub.args[0], ast.Name)
                    and sub.args[0].id in caught
                ):
                    leaked = f"exception `{sub.args[0].id}`"
                elif (
                    isinstance(sub, ast.FormattedValue)
                    and isinstance(sub.value, ast.Name)
                    and sub.value.id in caught
                ):
                    leaked = f"exception `{sub.value.id}`"
                if leaked:
                    yield self.finding(
                        ctx, node, f"handler `{fn.name}` returns the text of {leaked} to the client"
                    )
                    break
