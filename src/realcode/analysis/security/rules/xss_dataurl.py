"""CWE-79: a URL sanitizer that trusts every ``data:image/...`` URL, SVG included.

HTML sanitizers commonly let ``data:`` URLs through when they carry an image. Deciding "is an image" with a
wildcard MIME subtype (``data:image/.+``, ``url.startswith("data:image/")``) also accepts
``data:image/svg+xml;base64,...``, and SVG documents run script (CVE-2021-43818 in ``lxml.html.clean``, the
same bug in several other sanitizers). The fix excludes the svg/xml subtypes or allow-lists raster ones.

This rule needs no taint: it looks at the pattern literal and at the function (or, for module-level code, the
module) that holds it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from realcode.analysis.findings import Confidence, Finding, Severity
from realcode.analysis.security.rules._pure_ast import NOT_CONSTANT, ModuleFacts, argument, facts_of
from realcode.analysis.security.rules.base import Rule, register
from realcode.analysis.security.rules.regex_dos import analyze, flag_value

if TYPE_CHECKING:
    from realcode.analysis.security.context import AnalysisContext

_Func = ast.FunctionDef | ast.AsyncFunctionDef

# re functions whose first argument is a pattern that decides something (not re.sub/split: they rewrite text)
_RE_CHECKS = frozenset({"re.search", "re.match", "re.fullmatch", "re.findall", "re.finditer", "re.compile"})
# the flags argument of each of those
_RE_FLAGS_AT = {"re.compile": 1}

# a regex that names the data:image/ prefix, escapes allowed (data\:image\/)
_DATA_IMAGE = re.compile(r"data\\?:\s*image\\?/", re.I)
_SVG_XML = re.compile(r"svg|xml", re.I)
_IMAGE = re.compile(r"image", re.I)  # nothing to do in a module that never spells it
# calls that decode a data URL's payload
_B64_DECODERS = frozenset(
    {"base64.b64decode", "base64.urlsafe_b64decode", "base64.standard_b64decode", "base64.decodebytes"}
)
# a concrete raster type (``png``, ``image/jpeg``): compared against, it makes an allow-list
_RASTER = re.compile(
    r"(?:image/)?(?:png|apng|jpe?g|pjpeg|gif|webp|bmp|avif|tiff?|x-icon|vnd\.microsoft\.icon)", re.I
)

# what a sanitizer must refuse, and an arbitrary other subtype (a pattern accepting both has a wildcard subtype)
_SVG_PROBES = (
    "data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+",
    "data:image/svg+xml;charset=utf-8;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+",
    "data:image/svg+xml,%3Csvg%20onload%3Dalert(1)%3E",
    "data:image/svg+xml;utf8,<svg onload=alert(1)>",
)
_OTHER_PROBES = (
    "data:image/qqz;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+",
    "data:image/x-qqz;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+",
    "data:image/qqz,%3Cqqz%3E",
)

# where a data URL sits in the text a pattern is applied to (a CSS url(), an attribute value)
_CONTEXTS = (
    ("", ""),
    ("url(", ")"),
    ('url("', '")'),
    ("url('", "')"),
    ('"', '"'),
    ("'", "'"),
    ('src="', '"'),
)

# calls that test a string against a literal (the literal is then an exclusion when it names svg/xml)
_CHECK_METHODS = frozenset(
    {
        "startswith",
        "endswith",
        "find",
        "rfind",
        "index",
        "rindex",
        "count",
        "search",
        "match",
        "fullmatch",
        "findall",
        "finditer",
        "__contains__",
    }
)
_COMPREHENSIONS = (ast.GeneratorExp, ast.ListComp, ast.SetComp, ast.DictComp)


@lru_cache(maxsize=1024)
def wildcard_image_pattern(pattern: str, flags: int = 0) -> bool:
    """Whether a regex names ``data:image/`` and then accepts any subtype, svg+xml included.

    Decided by matching probes (searched, whatever the call: the question is what the subtype position
    accepts, not where the match is anchored; bare and inside ``url(...)`` or quotes): the pattern must accept
    an SVG data URL *and* one with a made-up subtype. ``data:image/(png|gif)`` accepts neither,
    ``data:image/(?!svg).+`` only the second, ``data:image/svg`` (a deny check) only the first.
    """
    if not _DATA_IMAGE.search(pattern):
        return False
    found = analyze(pattern, flags)
    if found is not None and found.kind == "exponential":
        return False  # not worth running; RC-REDOS-001 reports it
    try:
        compiled = re.compile(pattern, flags)
    except (re.error, RecursionError, OverflowError, ValueError):
        return False

    def accepts(probes: tuple[str, ...]) -> bool:
        return any(compiled.search(f"{a}{p}{b}") for a, b in _CONTEXTS for p in probes)

    return accepts(_SVG_PROBES) and accepts(_OTHER_PROBES)


def _wildcard_prefix(prefix: str) -> bool:
    """``data:image/`` (or ``data:image``) followed by nothing: any subtype passes a ``startswith`` check."""
    return prefix.strip().lower().rstrip("/") == "data:image"


def _strings(value: Any) -> list[str]:
    """The strings of a literal value (a string or a collection of them)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (tuple, list, set, frozenset)):
        return [v for v in value if isinstance(v, str)]
    if isinstance(value, dict):
        return [k for k in value if isinstance(k, str)]
    return []


class _Scope:
    """The function (or module) around a pattern: does it test anything against svg/xml, or against data:?"""

    def __init__(self, facts: ModuleFacts, func: _Func | None, nodes: list[ast.AST]) -> None:
        self.facts = facts
        self.func = func
        self.nodes = nodes
        self._excludes: bool | None = None
        self._data_check: bool | None = None
        self._decodes: bool | None = None

    @classmethod
    def of_function(cls, facts: ModuleFacts, func: _Func) -> _Scope:
        return cls(facts, func, list(ast.walk(func)))

    @classmethod
    def of_module_code(cls, facts: ModuleFacts, stmt: ast.stmt | None) -> _Scope:
        """Module-level code, plus the functions that use a name the statement holding the pattern binds (a
        compiled pattern is applied, and its matches screened, by the functions that use it)."""
        bound: set[str] = set()
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            bound = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        nodes: list[ast.AST] = []
        stack: list[ast.AST] = [facts.tree]
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not (
                bound and any(_name_of(n) in bound for n in ast.walk(node))
            ):
                continue
            nodes.append(node)
            stack.extend(ast.iter_child_nodes(node))
        return cls(facts, None, nodes)

    def _checked_strings(self, *, compared: bool = False) -> Iterator[str]:
        """Every string (literal, or a name bound to a literal) used in a comparison, a membership test, a
        regex call or a string test in this scope (``compared``: in a comparison or membership test only)."""
        for node in self.nodes:
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if _used_in_check(self.facts, node, compared=compared):
                    yield node.value
            elif (
                isinstance(node, ast.Name)
                and isinstance(node.ctx, ast.Load)
                and _used_in_check(self.facts, node, compared=compared)
            ):
                value = self.facts.literal(node, self.func)
                if value is not NOT_CONSTANT:
                    yield from _strings(value)

    @property
    def excludes_svg(self) -> bool:
        """An svg/xml exclusion, or a subtype compared against concrete raster types (an allow-list)."""
        if self._excludes is None:
            self._excludes = any(_SVG_XML.search(s) for s in self._checked_strings()) or any(
                _RASTER.fullmatch(s.strip()) for s in self._checked_strings(compared=True)
            )
        return self._excludes

    @property
    def cleared(self) -> bool:
        """Nothing to report in this scope: svg/xml excluded, raster types allow-listed, or the image decoded."""
        return self.excludes_svg or self.decodes_payload

    @property
    def decodes_payload(self) -> bool:
        """The scope base64-decodes data: it consumes the image (saves, resizes it) rather than passing the
        URL on to a page."""
        if self._decodes is None:
            self._decodes = any(
                isinstance(n, ast.Call) and self.facts.call_name(n) in _B64_DECODERS for n in self.nodes
            )
        return self._decodes

    @property
    def checks_data_url(self) -> bool:
        if self._data_check is None:
            self._data_check = any(s.strip().lower().startswith("data:") for s in self._checked_strings())
        return self._data_check


def _name_of(node: ast.AST) -> str | None:
    """``x`` for ``x`` and for ``self.x``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _used_in_check(facts: ModuleFacts, node: ast.AST, *, compared: bool = False) -> bool:
    """Whether ``node`` is an operand of a comparison / ``in`` test, the pattern of a regex call, the argument of
    a string test (``startswith``, ``find``...), or the collection a comprehension tests each element of
    (``compared``: comparisons, membership tests and comprehension tests only)."""
    cur = node
    parent = facts.parents.get(cur)
    while parent is not None and not isinstance(parent, ast.stmt):
        if isinstance(parent, ast.Compare):
            return True
        if isinstance(parent, ast.Call) and cur is not parent.func and not compared:
            func = parent.func
            if isinstance(func, ast.Attribute) and func.attr in _CHECK_METHODS:
                return True
            name = facts.call_name(parent)
            if name is not None and (name in _RE_CHECKS or name in ("re.sub", "re.subn", "re.split")):
                return True
        if isinstance(parent, _COMPREHENSIONS) and any(isinstance(n, ast.Compare) for n in ast.walk(parent)):
            return True
        cur, parent = parent, facts.parents.get(parent)
    return False


@register
class WildcardImageDataURL(Rule):
    """A URL sanitizer trusts ``data:image/<anything>`` URLs: ``data:image/svg+xml`` passes, and SVG runs
    script (CVE-2021-43818).

    Bad::

        if re.match(r"data:image/.+;base64,", url, re.I):
            return True                                   # data:image/svg+xml;base64,... is "safe"
        if url.lower().startswith("data:image/"):
            return True

    Good::

        if re.match(r"data:image/(png|jpe?g|gif|webp|bmp);base64,", url, re.I):
            return True
        if url.lower().startswith("data:image/") and "svg" not in url.lower():
            return True
        if url.startswith("data:image/") and url[11:].split(";")[0] in {"png", "jpeg", "gif"}:
            return True
    """

    id = "RC-XSS-005"
    cwe = "CWE-79"
    name = "xss-wildcard-image-data-url"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    blind_spots = (
        "Only literal patterns (or names bound once to a literal) are read. An svg/xml exclusion, or a "
        "comparison with concrete raster types, is looked for in the same function (for a module-level pattern: "
        "module-level code and the functions using the name it is bound to): subtypes checked through a "
        "variable assigned at run time or in another function are not seen (the pattern is reported), nor are "
        "allow-lists built at run time. Any literal naming svg or xml used in a test counts as an exclusion, "
        'even one that allows them. ``"data:image/" in url`` substring checks are not read. A function that '
        "base64-decodes is taken to consume the image (save it), not to pass the URL on, and is not reported."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        if not _IMAGE.search(ctx.source):
            return
        facts = facts_of(ctx)
        scopes: dict[int, _Scope] = {}

        def scope_of(node: ast.AST) -> _Scope:
            func = facts.enclosing_function(node)
            if func is not None:
                key = id(func)
                if key not in scopes:
                    scopes[key] = _Scope.of_function(facts, func)
                return scopes[key]
            stmt = facts.statement_of(node)
            key = id(stmt)
            if key not in scopes:
                scopes[key] = _Scope.of_module_code(facts, stmt)
            return scopes[key]

        for node in ctx.nodes_of(ast.Call):
            name = facts.call_name(node)
            is_prefix_check = isinstance(node.func, ast.Attribute) and node.func.attr == "startswith"
            if name not in _RE_CHECKS and not is_prefix_check:
                continue
            func = facts.enclosing_function(node)
            if name in _RE_CHECKS:
                pattern_node = argument(node, 0, "pattern")
                pattern = facts.literal(pattern_node, func)
                if pattern_node is None or not isinstance(pattern, str):
                    continue
                flags = flag_value(facts, argument(node, _RE_FLAGS_AT.get(name or "", 2), "flags"), func)
                if wildcard_image_pattern(pattern, flags) and not scope_of(node).cleared:
                    yield self.finding(
                        ctx,
                        pattern_node,
                        f"regex {pattern!r} accepts any data:image/ subtype, data:image/svg+xml (script) included;"
                        " allow-list raster subtypes or exclude svg/xml",
                    )
            elif node.args:
                prefix_node = node.args[0]
                prefixes = _strings(facts.literal(prefix_node, func))
                if any(_wildcard_prefix(p) for p in prefixes):
                    if not scope_of(node).cleared:
                        yield self.finding(
                            ctx,
                            prefix_node,
                            "startswith('data:image/') accepts data:image/svg+xml (script); allow-list raster "
                            "subtypes or exclude svg/xml",
                        )
                elif any(p.strip().lower().rstrip("/") == "image" for p in prefixes):
                    scope = scope_of(node)
                    if scope.checks_data_url and not scope.cleared:
                        yield self.finding(
                            ctx,
                            prefix_node,
                            "a data: URL is trusted when its MIME type starts with 'image/': image/svg+xml "
                            "(script) passes; allow-list raster subtypes or exclude svg/xml",
                        )
