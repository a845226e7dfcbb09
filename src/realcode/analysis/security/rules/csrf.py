"""Cross-site request forgery (CWE-352).

Model: a *request* is an input read through the parts of an HTTP request (``req["body"]``, ``req["headers"]``,
``request.form``, ``request.cookies``, ...). Two operations need protection:

- a *state change* (assignment, ``del``, mutating method call on a module-level store) fed by the request: it is
  protected when a dominating test compares a value read from the request that the change itself does not use (a
  token from a header, cookie or form field) with something else, and leaves on failure;
- decoding the request body as JSON (``json.loads(req["body"])``): it is protected when a dominating test reads
  the request's headers (the content type), which is what stops a cross-site form post from passing as JSON.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from realcode.analysis.findings import Confidence, Finding, Severity
from realcode.analysis.security.rules._protection import (
    MUTATING_METHODS,
    Analysis,
    FunctionFacts,
    ModuleFacts,
    analysis_of,
    call_name,
    dominating_tests,
    dotted,
    method_name,
    names_in,
    root_name,
)
from realcode.analysis.security.rules.base import Rule, register

if TYPE_CHECKING:
    from realcode.analysis.security.context import AnalysisContext

#: Parts of an HTTP request, as dict keys (``req["headers"]``) or attributes (``request.headers``).
REQUEST_PARTS = frozenset(
    {
        "body",
        "headers",
        "cookies",
        "form",
        "json",
        "data",
        "args",
        "params",
        "query",
        "POST",
        "GET",
        "META",
        "method",
    }
)
#: The parts that carry the request's payload (what a forged request controls freely).
PAYLOAD_PARTS = frozenset({"body", "json", "data", "args", "params", "query", "POST", "GET"})
#: Parts that carry metadata a cross-site request cannot set (custom headers) or that hold the session token.
META_PARTS = frozenset({"headers", "cookies", "META"})


def _part(node: ast.AST, requests: set[str]) -> str | None:
    """The request part accessed by ``node`` (``req["headers"]``, ``req.get("body")``, ``request.form``)."""
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in requests:
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value in REQUEST_PARTS:
            return key.value
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in requests
        and node.attr in REQUEST_PARTS
    ):
        return node.attr
    if (
        isinstance(node, ast.Call)
        and method_name(node) == "get"
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in requests
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and node.args[0].value in REQUEST_PARTS
    ):
        return str(node.args[0].value)
    return None


def request_inputs(facts: FunctionFacts) -> set[str]:
    """Inputs used as HTTP requests: read through at least one request part."""
    params = set(facts.params)
    out: set[str] = set()
    for node in facts.of_type(ast.Subscript, ast.Attribute, ast.Call):
        if _part(node, params) is not None:
            target = (
                node.func.value
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                else node
            )
            root = root_name(target)
            if root:
                out.add(root)
    return out


def _part_names(facts: FunctionFacts, requests: set[str]) -> dict[str, set[str]]:
    """Local name -> the request parts its value was read from."""
    direct: dict[str, set[str]] = {}
    for name, values in facts.bindings.items():
        for value in values:
            for sub in ast.walk(value):
                part = _part(sub, requests)
                if part is not None:
                    direct.setdefault(name, set()).add(part)
    # Propagate through plain copies (``token = hdrs.get("X-Token")`` where ``hdrs = req["headers"]``).
    for _ in range(3):
        for name, values in facts.bindings.items():
            for value in values:
                for used in names_in(value):
                    if used in direct and used != name:
                        direct.setdefault(name, set()).update(direct[used])
    return direct


def _test_parts(test: ast.expr, requests: set[str], parts: dict[str, set[str]]) -> set[str]:
    out: set[str] = set()
    for sub in ast.walk(test):
        part = _part(sub, requests)
        if part is not None:
            out.add(part)
        if isinstance(sub, ast.Name) and sub.id in parts:
            out |= parts[sub.id]
    return out


def _state_changes(facts: FunctionFacts, module: ModuleFacts) -> Iterator[tuple[ast.AST, set[str]]]:
    """Mutations of module-level stores, with the local names they use."""
    for node in facts.of_type(ast.Assign, ast.AugAssign, ast.Delete, ast.Call):
        targets: list[ast.AST] = []
        used: set[str] = set()
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = list(node.targets) if isinstance(node, ast.Assign) else [node.target]
            used = set(names_in(node.value))
        elif isinstance(node, ast.Delete):
            targets = list(node.targets)
        elif isinstance(node, ast.Call) and method_name(node) in MUTATING_METHODS:
            assert isinstance(node.func, ast.Attribute)
            targets = [node.func.value]
            for a in [*node.args, *(k.value for k in node.keywords)]:
                used |= set(names_in(a))
        for t in targets:
            if isinstance(t, ast.Name) and not isinstance(node, ast.Call):
                continue  # rebinding a local name changes no state
            root = root_name(t)
            if root is None or root not in module.stores or root in facts.bindings or root in facts.params:
                continue
            yield node, used | set(names_in(t)) - {root}


@register
class CrossSiteRequestForgery(Rule):
    """A request changes server state, or is parsed as JSON, without a check that a cross-site request cannot pass.

    Bad::

        def change_email(request):
            USERS[request["body"]["id"]]["email"] = request["body"]["email"]

    Good::

        def change_email(request):
            if request["headers"].get("X-CSRF-Token") != session_token():
                raise PermissionError("CSRF")
            USERS[request["body"]["id"]]["email"] = request["body"]["email"]
    """

    id = "RC-CSRF-001"
    cwe = "CWE-352"
    name = "cross-site-request-forgery"
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    blind_spots = (
        "Recognises requests only by their HTTP parts (body, headers, form, cookies...) and state only in "
        "module-level stores; framework protection (Django's CsrfViewMiddleware, Flask-WTF, SameSite cookies) "
        "and checks in decorators are invisible. Any comparison of a header or cookie value counts as the check."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        analysis = analysis_of(ctx)
        if analysis is None:
            return
        for facts in analysis.functions:
            requests = request_inputs(facts)
            if not requests:
                continue
            parts = _part_names(facts, requests)
            for node, used in _state_changes(facts, analysis.module):
                if not (facts.params_of(node) & requests):
                    continue
                if self._token_checked(facts, node, requests, parts, used):
                    continue
                yield self.finding(
                    ctx,
                    node,
                    f"`{facts.node.name}` changes server state from a request without a CSRF token check",
                )
            for node in facts.of_type(ast.Call):
                if not isinstance(node, ast.Call) or analysis.module.resolve(call_name(node)) not in {
                    "json.loads",
                    "simplejson.loads",
                    "orjson.loads",
                    "ujson.loads",
                }:
                    continue
                if not node.args or not any(
                    _part(sub, requests) in PAYLOAD_PARTS
                    or parts.get(getattr(sub, "id", ""), set()) & PAYLOAD_PARTS
                    for sub in ast.walk(node.args[0])
                ):
                    continue
                if any(
                    _test_parts(g.test, requests, parts) & META_PARTS for g in dominating_tests(facts, node)
                ):
                    continue
                yield self.finding(
                    ctx,
                    node,
                    f"`{facts.node.name}` decodes a request body as JSON without checking its content type",
                )

    @staticmethod
    def _token_checked(
        facts: FunctionFacts, node: ast.AST, requests: set[str], parts: dict[str, set[str]], used: set[str]
    ) -> bool:
        for guard in dominating_tests(facts, node):
            if not any(isinstance(sub, ast.Compare | ast.Call) for sub in ast.walk(guard.test)):
                continue
            from_request = {n for n in names_in(guard.test) if n in parts}
            if from_request - used:
                return True
            if _test_parts(guard.test, requests, parts) & META_PARTS:
                return True
            # ``if not valid_csrf(request): ...``: the whole request goes to a check that can read the token.
            if any(
                isinstance(sub, ast.Call)
                and any(isinstance(a, ast.Name) and a.id in requests for a in sub.args)
                for sub in ast.walk(guard.test)
            ):
                return True
        return False


#: Settings that switch a framework's CSRF protection off when set to False.
CSRF_SETTINGS = frozenset({"WTF_CSRF_ENABLED", "WTF_CSRF_CHECK_DEFAULT", "CSRF_ENABLED"})


def _is_false(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


_DJANGO_CSRF_MIDDLEWARE = "django.middleware.csrf.CsrfViewMiddleware"


@register
class CsrfProtectionDisabled(Rule):
    """A framework's CSRF protection is switched off for a view or for the whole application.

    Bad::

        @csrf_exempt
        def transfer(request):
            ...

        app.config["WTF_CSRF_ENABLED"] = False

    Good::

        def transfer(request):   # Django's CsrfViewMiddleware checks the token
            ...
    """

    id = "RC-CSRF-002"
    cwe = "CWE-352"
    name = "csrf-protection-disabled"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    blind_spots = (
        "Knows Django's csrf_exempt, Flask-WTF's exempt and the WTF_CSRF_* settings; a MIDDLEWARE list without "
        "CsrfViewMiddleware or a framework with no CSRF layer at all is not reported."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        analysis = analysis_of(ctx)
        if analysis is None:
            return
        for fn in analysis.function_defs():
            for deco in fn.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                name = analysis.module.resolve(
                    call_name(deco) if isinstance(deco, ast.Call) else dotted(target)
                )
                if name.endswith("csrf_exempt") or (name.endswith(".exempt") and "csrf" in name.lower()):
                    yield self.finding(ctx, deco, f"view `{fn.name}` is exempt from CSRF protection")
        for node in analysis.nodes_of(ast.Assign):
            assert isinstance(node, ast.Assign)
            if not _is_false(node.value):
                continue
            for t in node.targets:
                key = t.id if isinstance(t, ast.Name) else None
                if isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Constant):
                    key = str(t.slice.value)
                if key in CSRF_SETTINGS:
                    yield self.finding(ctx, node, f"`{key}` is set to False: CSRF protection is off")
        yield from self._django_middleware(ctx, analysis)
        yield from self._form_meta(ctx, analysis)
        for call in analysis.nodes_of(ast.Call):
            assert isinstance(call, ast.Call)
            if method_name(call) == "update":
                for kw in call.keywords:
                    if kw.arg in CSRF_SETTINGS and _is_false(kw.value):
                        yield self.finding(ctx, call, f"`{kw.arg}` is set to False: CSRF protection is off")

    def _django_middleware(self, ctx: AnalysisContext, analysis: Analysis) -> Iterator[Finding]:
        """A Django settings ``MIDDLEWARE`` list of Django middleware without ``CsrfViewMiddleware``."""
        for stmt in analysis.tree.body:
            if not (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.List | ast.Tuple)):
                continue
            if not any(
                isinstance(t, ast.Name) and t.id in {"MIDDLEWARE", "MIDDLEWARE_CLASSES"} for t in stmt.targets
            ):
                continue
            entries = [
                e.value for e in stmt.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
            ]
            if (
                any(e.startswith("django.middleware.") for e in entries)
                and _DJANGO_CSRF_MIDDLEWARE not in entries
            ):
                yield self.finding(
                    ctx, stmt, "Django `MIDDLEWARE` lacks `CsrfViewMiddleware`: no view is CSRF-checked"
                )

    def _form_meta(self, ctx: AnalysisContext, analysis: Analysis) -> Iterator[Finding]:
        """WTForms ``class Meta: csrf = False`` inside a form class."""
        for cls in analysis.module.classes.values():
            for item in cls.body:
                if not (isinstance(item, ast.ClassDef) and item.name == "Meta"):
                    continue
                for stmt in item.body:
                    if (
                        isinstance(stmt, ast.Assign)
                        and _is_false(stmt.value)
                        and any(isinstance(t, ast.Name) and t.id == "csrf" for t in stmt.targets)
                    ):
                        yield self.finding(ctx, stmt, f"form `{cls.name}` switches CSRF protection off")
