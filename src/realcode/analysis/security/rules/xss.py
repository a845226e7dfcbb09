"""Cross-site scripting (CWE-79) and markup/template injection (CWE-74).

The engine consumes the ``html`` kind of attacker text at the point where it is placed into a literal that
contains markup (f-string, ``+``, ``%``, ``str.format`` of a markup template): that building expression is where
these rules report, whatever happens to the string afterwards. HTML markup (known HTML tags) is CWE-79; other
XML-like markup is CWE-74 (XML injection).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator

from realcode.analysis.findings import Confidence, Finding, Severity
from realcode.analysis.security.context import AnalysisContext
from realcode.analysis.security.engine.dataflow import has_markup
from realcode.analysis.security.engine.sinks import Sink
from realcode.analysis.security.engine.taint import Taint
from realcode.analysis.security.rules.base import Rule, TaintSinkRule, register

_HTML_TAGS = (
    "html|head|body|title|div|span|p|a|ul|ol|li|table|thead|tbody|tr|td|th|b|i|u|em|strong|small|script|img|form|"
    "input|button|select|option|textarea|label|br|hr|h[1-6]|section|article|header|footer|nav|main|aside|pre|code|"
    "blockquote|style|link|meta|iframe|svg|canvas|video|audio|source|dl|dt|dd|figure|figcaption|mark|sup|sub|abbr|"
    "cite|time|details|summary|noscript|object|embed"
)
_HTML_RE = re.compile(rf"<\s*/?\s*(?:{_HTML_TAGS})\b", re.I)


def is_html(literal: str) -> bool:
    return bool(_HTML_RE.search(literal))


def building_sites(ctx: AnalysisContext) -> Iterator[tuple[ast.AST, str, list[ast.AST]]]:
    """String-building expressions: (node, literal text, interpolated parts)."""
    for node in ctx.nodes_of(ast.JoinedStr):
        literal = "".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
        yield node, literal, [v.value for v in node.values if isinstance(v, ast.FormattedValue)]
    for binop in ctx.nodes_of(ast.BinOp):
        if isinstance(binop.op, (ast.Add, ast.Mod)):
            sides: list[ast.AST] = [binop.left, binop.right]
            literal = "".join(
                p.value for p in sides if isinstance(p, ast.Constant) and isinstance(p.value, str)
            )
            parts: list[ast.AST]
            if isinstance(binop.op, ast.Mod) and isinstance(binop.left, ast.Constant):
                right = binop.right
                parts = list(right.elts) if isinstance(right, ast.Tuple) else [right]
                if isinstance(right, ast.Dict):
                    parts = [v for v in right.values if v is not None]
            else:
                parts = [p for p in sides if not isinstance(p, ast.Constant)]
            yield binop, literal, parts
    for call in ctx.nodes_of(ast.Call):
        if isinstance(call.func, ast.Attribute) and call.func.attr == "format":
            template = ctx.const_str(call.func.value)
            if template is not None:
                yield call, template, [*call.args, *(kw.value for kw in call.keywords)]


def _live_part(ctx: AnalysisContext, parts: list[ast.AST], kind: str) -> Taint | None:
    for part in parts:
        t = ctx.taint_of(part)
        if t is not None and t.is_live(kind):
            return t
    return None


@register
class MarkupXSS(Rule):
    """Attacker text is placed into HTML without escaping (reflected/stored XSS).

    Bad::

        return f"<p>{comment}</p>"
        return PAGE.format(title=title)              # PAGE = "<h1>{title}</h1>"

    Good::

        return f"<p>{html.escape(comment)}</p>"
    """

    id = "RC-XSS-001"
    cwe = "CWE-79"
    name = "xss-html-building"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    blind_spots = (
        "Templates rendered from files (render_template) are trusted to autoescape; HTML assembled by DOM "
        "builders (lxml.html, BeautifulSoup) is not modelled; escaping done by a custom function is not "
        "recognised unless it calls a known escaper."
    )
    html = True

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        for node, literal, parts in building_sites(ctx):
            if not literal or not has_markup(literal) or is_html(literal) != self.html:
                continue
            t = _live_part(ctx, parts, "html")
            if t is None:
                continue
            yield self.finding(
                ctx,
                node,
                "attacker-controlled text is inserted into markup without escaping",
                ctx.trace(t, node, "placed into markup (sink)"),
            )


@register
class XMLInjection(MarkupXSS):
    """Attacker text is placed into XML markup without escaping (XML injection, a kind of CWE-74).

    Bad::

        return f"<order><note>{note}</note></order>"

    Good::

        return f"<order><note>{xml.sax.saxutils.escape(note)}</note></order>"
    """

    id = "RC-INJ-001"
    cwe = "CWE-74"
    name = "xml-injection"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    html = False


@register
class UnsafeMarkupSink(TaintSinkRule):
    """Attacker text is declared safe HTML (``Markup``, ``mark_safe``) or written as an HTML response.

    Bad::

        return Markup(bio)
        return HttpResponse("Hello " + name)

    Good::

        return Markup.escape(bio)
        return render(request, "hello.html", {"name": name})
    """

    id = "RC-XSS-002"
    cwe = "CWE-79"
    name = "xss-unsafe-markup"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    kind = "html"
    what = "attacker-controlled text"
    sinks = (
        Sink(
            "Markup()/mark_safe()",
            names=frozenset(
                {
                    "markupsafe.Markup",
                    "flask.Markup",
                    "jinja2.Markup",
                    "django.utils.safestring.mark_safe",
                    "django.utils.html.format_html",
                }
            ),
        ),
        Sink(
            "an HTML response",
            names=frozenset(
                {"django.http.HttpResponse", "flask.make_response", "flask.Response", "werkzeug.Response"}
            ),
        ),
        Sink(
            "fastapi.responses.HTMLResponse",
            names=frozenset({"fastapi.responses.HTMLResponse", "starlette.responses.HTMLResponse"}),
        ),
    )
    blind_spots = "Responses whose content type is set to non-HTML after construction are still reported."


@register
class TemplateInjection(TaintSinkRule):
    """Attacker text is used as template *source* (server-side template injection).

    Bad::

        return render_template_string("<p>Hi " + name + "</p>")
        jinja2.Template(user_template).render()

    Good::

        return render_template_string("<p>Hi {{ name }}</p>", name=name)
    """

    id = "RC-INJ-002"
    cwe = "CWE-74"
    name = "template-injection"
    severity = Severity.CRITICAL
    confidence = Confidence.HIGH
    kind = "template"
    what = "attacker-controlled template source"
    sinks = (
        Sink(
            "template source",
            names=frozenset(
                {
                    "flask.render_template_string",
                    "jinja2.Template",
                    "mako.template.Template",
                    "django.template.Template",
                }
            ),
        ),
        Sink("Environment.from_string", methods=frozenset({"from_string"})),
    )
    blind_spots = (
        "Templates loaded from attacker-chosen file names are covered by the path-traversal rule only."
    )


_JINJA_TEMPLATES = frozenset({"jinja2.Template", "jinja2.environment.Template"})


@register
class UnescapedJinjaTemplate(Rule):
    """Attacker values rendered into an HTML ``jinja2.Template`` built directly (autoescaping is off unless an
    ``Environment(autoescape=True)`` made it).

    Bad::

        Template("<h1>Hello {{ name }}</h1>").render(name=name)

    Good::

        Environment(autoescape=True).from_string("<h1>Hello {{ name }}</h1>").render(name=name)
    """

    id = "RC-XSS-003"
    cwe = "CWE-79"
    name = "xss-jinja-no-autoescape"
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    blind_spots = "Templates built from an Environment created elsewhere are assumed to autoescape."

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        for call in ctx.tainted_calls():
            func = call.func
            if not (isinstance(func, ast.Attribute) and func.attr in ("render", "generate", "stream")):
                continue
            template = func.value
            if isinstance(template, ast.Name):
                owner = ctx.enclosing_function(template)
                values = ctx.analysis.defs.get(id(owner if owner is not None else ctx.tree), {}).get(
                    template.id
                )
                template = values[0] if values and len(values) == 1 else template
            if not (isinstance(template, ast.Call) and ctx.qualified_name(template) in _JINJA_TEMPLATES):
                continue
            if any(
                kw.arg == "autoescape" and not (isinstance(kw.value, ast.Constant) and not kw.value.value)
                for kw in template.keywords
            ):
                continue
            source = ctx.const_str(template.args[0]) if template.args else None
            if source is None or not is_html(source):
                continue
            t = _live_part(ctx, [*call.args, *(kw.value for kw in call.keywords)], "html")
            if t is not None:
                yield self.finding(
                    ctx,
                    call,
                    "attacker text rendered by a jinja2 Template without autoescaping",
                    ctx.trace(t, call, "Template.render (sink)"),
                )


@register
class ReflectedRouteText(Rule):
    """A Flask/Bottle route returns request text as its response body: the framework serves it as
    ``text/html``, so markup in the request is rendered (reflected XSS).

    Bad::

        @app.route("/hello")
        def hello():
            return "Hello " + request.args["name"]

    Good::

        @app.route("/hello")
        def hello():
            return "Hello " + escape(request.args["name"])
    """

    id = "RC-XSS-004"
    cwe = "CWE-79"
    name = "xss-reflected-route"
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    blind_spots = (
        "Only Flask and Bottle routes (their string responses are HTML); responses whose mimetype is set "
        "elsewhere are still reported; FastAPI routes (JSON by default) are not checked."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        if not any(v.split(".")[0] in ("flask", "bottle") for v in ctx.imports.values()):
            return
        for ret in ctx.returns:
            if ret.value is None or isinstance(ret.value, (ast.JoinedStr, ast.BinOp)):
                continue  # string building is reported where the text meets markup, or is plain text
            func = ctx.enclosing_function(ret)
            if func is None or not _is_route(func):
                continue
            t = ctx.taint_of(ret.value)
            if t is None or not t.live_where("html", external=True):
                continue
            yield self.finding(
                ctx,
                ret,
                "request text is returned as an HTML response",
                ctx.trace(t, ret, "response body (sink)"),
            )


def _is_route(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for dec in func.decorator_list:
        target = dec.func if isinstance(dec, ast.Call) else dec
        if isinstance(target, ast.Attribute) and target.attr in (
            "route",
            "get",
            "post",
            "put",
            "patch",
            "delete",
        ):
            return True
    return False
