"""Generic injection (CWE-74): header lines built from attacker text, and allow-lists checked by substring."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable

from realcode.analysis.findings import Confidence, Finding, Severity
from realcode.analysis.security.context import AnalysisContext
from realcode.analysis.security.rules.base import Rule, register
from realcode.analysis.security.rules.xss import building_sites

_KNOWN_HEADERS = frozenset(
    h.lower()
    for h in (
        "Location",
        "Host",
        "Cookie",
        "Set-Cookie",
        "Referer",
        "Authorization",
        "Content-Type",
        "Content-Disposition",
        "Content-Length",
        "User-Agent",
        "Accept",
        "Origin",
        "Link",
        "Refresh",
    )
)
# "Name: " at the end of a literal, right before an interpolation
_HEADER_PREFIX = re.compile(r"(?:^|[\r\n])([A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*):[ \t]*$")
_HEADER_FIELD = re.compile(r"(?:^|[\r\n])([A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*):[ \t]*\{")


def _looks_like_header(name: str) -> bool:
    return "-" in name or name.lower() in _KNOWN_HEADERS


@register
class HeaderLineInjection(Rule):
    """Attacker text is placed after ``Header-Name:`` in a raw header line without removing CR/LF, so it can
    start new headers or a body (CRLF injection).

    Bad::

        return f"X-Custom-Header: {value}"

    Good::

        value = re.sub(r"[\\r\\n]", "", value)
        return f"X-Custom-Header: {value}"
    """

    id = "RC-INJ-003"
    cwe = "CWE-74"
    name = "header-line-injection"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    blind_spots = (
        "Only header lines written as literals are recognised (a header name held in a variable is not); "
        "exception and log messages that happen to look like headers are skipped."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        for node, _literal, _parts in building_sites(ctx):
            if not (_returned(ctx, node) or _written(ctx, node)):
                continue
            for part in self._header_values(ctx, node):
                t = ctx.taint_of(part)
                if t is not None and t.is_live("header"):
                    yield self.finding(
                        ctx,
                        node,
                        "attacker-controlled text with possible CR/LF is written into a header line",
                        ctx.trace(t, node, "header line (sink)"),
                    )
                    break

    def _header_values(self, ctx: AnalysisContext, node: ast.AST) -> list[ast.AST]:
        out: list[ast.AST] = []
        if isinstance(node, ast.JoinedStr):
            prev: ast.AST | None = None
            for v in node.values:
                if (
                    isinstance(v, ast.FormattedValue)
                    and isinstance(prev, ast.Constant)
                    and isinstance(prev.value, str)
                ):
                    m = _HEADER_PREFIX.search(prev.value)
                    if m and _looks_like_header(m.group(1)):
                        out.append(v.value)
                prev = v
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left = node.left
            if isinstance(left, ast.Constant) and isinstance(left.value, str):
                m = _HEADER_PREFIX.search(left.value)
                if m and _looks_like_header(m.group(1)):
                    out.append(node.right)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            literal = ctx.const_str(node.func.value) or ""
            if any(_looks_like_header(m.group(1)) for m in _HEADER_FIELD.finditer(literal)):
                out.extend([*node.args, *(kw.value for kw in node.keywords)])
        return out


@register
class SubstringAllowList(Rule):
    """An allow-list is checked by substring (``any(ok in value for ok in ALLOWED)``), so any value that merely
    *contains* an allowed entry (``"ls; rm -rf /"``) passes and is then used.

    Bad::

        if any(cmd in command for cmd in ALLOWED_COMMANDS):
            return command

    Good::

        if command in ALLOWED_COMMANDS:
            return command
    """

    id = "RC-INJ-004"
    cwe = "CWE-74"
    name = "substring-allow-list"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    blind_spots = "Substring checks written as explicit loops with flags are not recognised."

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        for call in ctx.nodes_of(ast.Call):
            if not (isinstance(call.func, ast.Name) and call.func.id == "any" and len(call.args) == 1):
                continue
            gen = call.args[0]
            if not isinstance(gen, (ast.GeneratorExp, ast.ListComp)) or len(gen.generators) != 1:
                continue
            comp = gen.generators[0]
            elt = gen.elt
            if not (
                isinstance(comp.target, ast.Name)
                and isinstance(elt, ast.Compare)
                and len(elt.ops) == 1
                and isinstance(elt.ops[0], ast.In)
                and isinstance(elt.left, ast.Name)
                and elt.left.id == comp.target.id
            ):
                continue
            if ctx.is_tainted(comp.iter):
                continue  # the list itself is attacker data: not an allow-list
            t = ctx.taint_of(elt.comparators[0])
            if t is None or not self._guards_use(ctx, call):
                continue
            yield self.finding(
                ctx,
                call,
                "allow-list checked by substring: values that contain an allowed entry pass",
                ctx.trace(t, call, "substring allow-list check"),
            )

    def _guards_use(self, ctx: AnalysisContext, call: ast.Call) -> bool:
        parent = ctx.parent(call)
        while isinstance(parent, (ast.UnaryOp, ast.BoolOp)):
            parent = ctx.parent(parent)
        return isinstance(parent, (ast.If, ast.IfExp, ast.While, ast.Assert))


_SHELL_WORDS = frozenset(
    {
        "echo",
        "ls",
        "cat",
        "rm",
        "cp",
        "mv",
        "tar",
        "zip",
        "unzip",
        "gzip",
        "grep",
        "find",
        "curl",
        "wget",
        "ping",
        "sh",
        "bash",
        "chmod",
        "chown",
        "mkdir",
        "touch",
        "git",
        "python",
        "python3",
        "node",
        "ssh",
        "scp",
        "rsync",
        "kill",
        "ps",
        "sed",
        "awk",
        "head",
        "tail",
        "du",
        "df",
        "nslookup",
        "dig",
        "convert",
        "ffmpeg",
        "pandoc",
        "openssl",
        "docker",
        "sudo",
        "nc",
        "xargs",
        "printf",
        "whoami",
        "date",
    }
)


_WRITERS = frozenset({"write", "writelines", "send", "sendall", "sendto", "append"})


def _written(ctx: AnalysisContext, node: ast.AST) -> bool:
    """Whether ``node`` is written out as raw text (a socket, a file, a list of raw header lines)."""
    parent = ctx.parent(node)
    if (
        isinstance(parent, ast.Call)
        and isinstance(parent.func, ast.Attribute)
        and parent.func.attr in _WRITERS
    ):
        return True
    if isinstance(parent, ast.Attribute) and parent.attr == "encode":
        call = ctx.parent(parent)
        return call is not None and _written(ctx, call)
    return False


def _returned(ctx: AnalysisContext, node: ast.AST) -> bool:
    """Whether ``node`` is returned to an outside caller by a function whose parameters are sources."""
    func = ctx.enclosing_function(node)
    if func is None or not ctx.is_source_function(func):
        return False
    parent = ctx.parent(node)
    if isinstance(parent, ast.Return):
        return True
    if (
        isinstance(parent, ast.Assign)
        and len(parent.targets) == 1
        and isinstance(parent.targets[0], ast.Name)
    ):
        return parent.targets[0].id in ctx.returned_names(func)
    return False


@register
class ShellTextBuilding(Rule):
    """A shell command line is assembled from attacker text and handed to the caller (who will run it): the
    text can add commands (``; rm -rf ~``). Commands executed in the same module are reported by RC-CMD-*.

    Bad::

        def greeting_command(name):
            return f"echo Hello, {name}!"

    Good::

        def greeting_command(name):
            return f"echo Hello, {shlex.quote(name)}!"
    """

    id = "RC-INJ-005"
    cwe = "CWE-74"
    name = "shell-text-building"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    blind_spots = (
        "Recognised only when the literal starts with a common command name and the text is returned; command "
        "text stored in objects or files is not followed."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        for node, _literal, parts in building_sites(ctx):
            head = _leading_literal(ctx, node)
            if head is None or head.split(" ", 1)[0] not in _SHELL_WORDS or " " not in head:
                continue
            if not _returned(ctx, node):
                continue
            for part in parts:
                t = ctx.taint_of(part)
                if t is not None and t.is_live("shell"):
                    yield self.finding(
                        ctx,
                        node,
                        "attacker text is spliced into a shell command line without quoting",
                        ctx.trace(t, node, "shell command text (sink)"),
                    )
                    break


def _leading_literal(ctx: AnalysisContext, node: ast.AST) -> str | None:
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value.lstrip()
    if isinstance(node, ast.BinOp):
        left = node.left
        if isinstance(left, ast.Constant) and isinstance(left.value, str):
            return left.value.lstrip()
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        text = ctx.const_str(node.func.value)
        return text.lstrip() if text is not None else None
    return None


def _placeholder_literal(ctx: AnalysisContext, expr: ast.expr) -> bool:
    """``"{{" + key + "}}"``, ``"{{name}}"``, ``f"${{{key}}}"``: a template placeholder."""
    texts: list[str] = []
    for node in ast.walk(expr):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            texts.append(node.value)
    text = "".join(texts)
    return ("{{" in text and "}}" in text) or ("{%" in text) or ("${" in text and "}" in text)


@register
class HandRolledTemplate(Rule):
    """Attacker values are substituted into a template by ``str.replace`` on placeholders (``{{name}}``)
    without escaping: a hand-rolled template engine that lets values inject markup or template syntax.

    Bad::

        for key, value in values.items():
            page = page.replace("{{" + key + "}}", str(value))

    Good::

        for key, value in values.items():
            page = page.replace("{{" + key + "}}", html.escape(str(value)))
    """

    id = "RC-INJ-006"
    cwe = "CWE-74"
    name = "hand-rolled-template"
    severity = Severity.MEDIUM
    confidence = Confidence.LOW
    blind_spots = "Substitution through `re.sub` callbacks or `string.Template` is not recognised."

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        for call in ctx.tainted_calls():
            func = call.func
            if not (isinstance(func, ast.Attribute) and func.attr == "replace" and len(call.args) >= 2):
                continue
            if not _placeholder_literal(ctx, call.args[0]):
                continue
            t = ctx.taint_of(call.args[1])
            if t is None or not t.is_live("html"):
                continue
            yield self.finding(
                ctx,
                call,
                "attacker value substituted into a template placeholder without escaping",
                ctx.trace(t, call, "template placeholder (sink)"),
            )
