"""Server-side request forgery (CWE-918) and open redirect (CWE-601).

A URL is attacker-controlled when its host can be chosen by the attacker; the ``url`` kind is cleared only by a
host check (allow-list, equality with a trusted host, ``endswith``) on the parsed URL, or by quoting. Besides
request and redirect calls, two return-based rules cover URL *validators* and *builders*: a function that parses
an attacker URL (or joins one into a base) and hands it back without ever checking the host.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import ClassVar

from realcode.analysis.findings import Confidence, Finding, Severity
from realcode.analysis.security.context import AnalysisContext
from realcode.analysis.security.engine.models import URL_PARSERS
from realcode.analysis.security.engine.names import qualify
from realcode.analysis.security.engine.sinks import Sink
from realcode.analysis.security.rules.base import Rule, TaintSinkRule, register

_HTTP_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request", "stream")


@register
class RequestForgery(TaintSinkRule):
    """An outgoing request goes to an attacker-controlled URL (SSRF: internal services, cloud metadata).

    Bad::

        requests.get(url, timeout=5)

    Good::

        if urlparse(url).hostname not in ALLOWED_HOSTS:
            raise ValueError(url)
        requests.get(url, timeout=5)
    """

    id = "RC-SSRF-001"
    cwe = "CWE-918"
    name = "ssrf"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    kind = "url"
    what = "an attacker-controlled URL"
    sinks = (
        Sink(
            "an HTTP request",
            names=frozenset(
                {f"requests.{v}" for v in _HTTP_VERBS}
                | {f"httpx.{v}" for v in _HTTP_VERBS}
                | {"urllib.request.urlopen", "urllib.request.Request", "urllib.request.urlretrieve"}
                | {"aiohttp.request", "http.client.HTTPConnection", "http.client.HTTPSConnection"}
            ),
            keywords=("url",),
        ),
        Sink(
            "an HTTP request",
            methods=frozenset(_HTTP_VERBS) | {"urlopen"},
            receiver_names=frozenset(
                {
                    "requests.Session",
                    "httpx.Client",
                    "httpx.AsyncClient",
                    "urllib3.PoolManager",
                    "aiohttp.ClientSession",
                    "session",
                    "client",
                    "http",
                }
            ),
            keywords=("url",),
        ),
    )
    blind_spots = (
        "A parameter used as the whole URL of a fetch helper is not reported unless the function parses it "
        "(treats it as untrusted). Clients held in attributes or created by factories are recognised only by their module; DNS rebinding "
        "and redirects followed by the client are out of scope."
    )

    def accept(self, ctx: AnalysisContext, call: ast.Call, arg: ast.expr, sink: Sink) -> bool:
        q = qualify(call.func, ctx.imports)
        if q in ("requests.request", "httpx.request") and call.args and arg is call.args[0]:
            return False  # the HTTP method, not the URL
        t = ctx.taint_of(arg)
        if t is None:
            return False
        # A parameter that *is* the URL is the function's contract (`def fetch(url)`); it is attacker data when
        # it comes from outside, or when the function itself parses it as untrusted (a validator) and then
        # fetches it without checking the host.
        return bool(t.live_where("url", external=True)) or any(o in ctx.url_origins for o in t.live("url"))


@register
class OpenRedirect(TaintSinkRule):
    """A redirect goes to an attacker-controlled URL (phishing through a trusted domain).

    Bad::

        return redirect(request.args["next"])

    Good::

        target = request.args.get("next", "/")
        if urlparse(target).netloc not in ("", request.host):
            target = "/"
        return redirect(target)
    """

    id = "RC-REDIR-001"
    cwe = "CWE-601"
    name = "open-redirect"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    kind = "url"
    what = "an attacker-controlled URL"
    sinks = (
        Sink(
            "a redirect",
            names=frozenset(
                {
                    "flask.redirect",
                    "werkzeug.utils.redirect",
                    "django.shortcuts.redirect",
                    "django.http.HttpResponseRedirect",
                    "django.http.HttpResponsePermanentRedirect",
                    "fastapi.responses.RedirectResponse",
                    "starlette.responses.RedirectResponse",
                }
            ),
            keywords=("url", "location", "redirect_to"),
        ),
    )
    blind_spots = (
        "Redirects issued by setting a `Location` header by hand are reported by the header rules only."
    )


def _definition(ctx: AnalysisContext, expr: ast.expr) -> ast.expr:
    for _ in range(4):
        if not isinstance(expr, ast.Name):
            return expr
        func = ctx.enclosing_function(expr)
        owner = func if func is not None else ctx.tree
        values = ctx.analysis.defs.get(id(owner), {}).get(expr.id) or ctx.analysis.defs.get(
            id(ctx.tree), {}
        ).get(expr.id)
        if not values or len(values) != 1:
            return expr
        expr = values[0]
    return expr


def _is_parsed_url(ctx: AnalysisContext, expr: ast.expr) -> bool:
    """``parsed``, ``parsed.geturl()``, ``urlunparse(parsed)`` where ``parsed = urlparse(...)``."""
    expr = _definition(ctx, expr)
    if isinstance(expr, ast.Call):
        q = qualify(expr.func, ctx.imports)
        if q in ("urllib.parse.urlparse", "urllib.parse.urlsplit"):
            return True
        if q in ("urllib.parse.urlunparse", "urllib.parse.urlunsplit") and expr.args:
            return _is_parsed_url(ctx, expr.args[0])
        if isinstance(expr.func, ast.Attribute) and expr.func.attr in ("geturl", "_replace"):
            return _is_parsed_url(ctx, expr.func.value)
    return False


class _ReturnedURL(Rule):
    parsed: ClassVar[bool]

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        if not ctx.url_origins:
            return
        for ret in ctx.returns:
            if ret.value is None:
                continue
            func = ctx.enclosing_function(ret)
            if func is None or not ctx.is_source_function(func):
                continue
            t = ctx.taint_of(ret.value)
            if t is None:
                continue
            live = [o for o in t.live("url") if o in ctx.url_origins]
            if not live:
                continue
            parsed_shape = _is_parsed_url(ctx, ret.value) or _parsed_here(ctx, ret.value, func)
            if parsed_shape != self.parsed:
                continue
            if not self.parsed and not self._built_url(ctx, ret.value):
                continue
            yield self.finding(
                ctx, ret, self.message_text, ctx.trace(t, ret, "returned without a host check")
            )

    message_text: ClassVar[str] = ""

    def _built_url(self, ctx: AnalysisContext, expr: ast.expr) -> bool:
        """A URL assembled here: joined, concatenated or formatted (not merely passed through)."""
        func = ctx.enclosing_function(expr)
        builders = (URL_PARSERS - {"urllib.parse.urlparse", "urllib.parse.urlsplit"}) | {
            "urllib.parse.urlencode"
        }
        if any(qualify(c.func, ctx.imports) in builders for c in ctx.calls_in(func)):
            return True
        # or spelled as text: f"{base}/{path}", base + "?" + query
        shape = _definition(ctx, expr)
        if isinstance(shape, (ast.JoinedStr, ast.BinOp)):
            literal = "".join(
                n.value for n in ast.walk(shape) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            )
            return any(ch in literal for ch in "/?#")
        return False


def _parsed_here(ctx: AnalysisContext, expr: ast.expr, func: ast.AST) -> bool:
    """``return url`` in a function that parsed ``url`` (``urlparse(url)``) to look at it."""
    if not isinstance(expr, ast.Name):
        return False
    for call in ctx.calls_in(func):
        if (
            ctx.qualified_name(call) in ("urllib.parse.urlparse", "urllib.parse.urlsplit")
            and call.args
            and isinstance(call.args[0], ast.Name)
            and call.args[0].id == expr.id
        ):
            return True
    return False


@register
class UncheckedParsedURL(_ReturnedURL):
    """A function parses an attacker-supplied URL and returns it without checking its host, so callers fetch
    whatever host the attacker chose (SSRF through a validator that does not validate).

    Bad::

        def checked_url(url):
            parsed = urlparse(url)
            return parsed.geturl()

    Good::

        def checked_url(url):
            parsed = urlparse(url)
            if parsed.hostname not in ALLOWED_HOSTS:
                raise ValueError(url)
            return parsed.geturl()
    """

    id = "RC-SSRF-002"
    cwe = "CWE-918"
    name = "unchecked-url-returned"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    blind_spots = (
        "Checks done by the caller are not seen; only functions whose parameters are sources are checked."
    )
    parsed = True
    message_text = "an attacker-controlled URL is parsed and returned without checking its host"


@register
class UncheckedBuiltRedirect(_ReturnedURL):
    """A function joins attacker input into a URL (``urljoin``, query strings) and returns it without checking
    the resulting host: ``urljoin(base, "//evil.example")`` points elsewhere (open redirect).

    Bad::

        def next_url(base, target):
            return urljoin(base, target)

    Good::

        def next_url(base, target):
            url = urljoin(base, target)
            if urlparse(url).netloc != urlparse(base).netloc:
                raise ValueError(target)
            return url
    """

    id = "RC-REDIR-002"
    cwe = "CWE-601"
    name = "unchecked-redirect-built"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    blind_spots = (
        "Checks done by the caller are not seen; only functions whose parameters are sources are checked."
    )
    parsed = False
    message_text = "a URL built from attacker input is returned without checking its host"
