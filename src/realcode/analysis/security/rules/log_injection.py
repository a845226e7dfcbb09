"""Log injection (CWE-117): a log message built from attacker text that may contain CR/LF."""

from __future__ import annotations

import ast
from collections.abc import Iterable

from realcode.analysis.findings import Confidence, Finding, Severity
from realcode.analysis.security.context import AnalysisContext
from realcode.analysis.security.engine.names import dotted, qualify
from realcode.analysis.security.rules.base import Rule, register

_LEVELS = frozenset({"debug", "info", "warning", "warn", "error", "critical", "exception", "fatal", "log"})


def _is_logger(ctx: AnalysisContext, recv: ast.expr) -> bool:
    q = qualify(recv, ctx.imports)
    if q == "logging":
        return True
    name = dotted(recv) or ""
    if name.endswith(".logger") or (name == "logger" and "logging" in ctx.imports.values()):
        return True
    if isinstance(recv, ast.Name):
        for owner in (ctx.enclosing_function(recv), None):
            values = (
                ctx.analysis.defs.get(id(owner if owner is not None else ctx.tree), {}).get(recv.id) or []
            )
            for v in values:
                if isinstance(v, ast.Call) and qualify(v.func, ctx.imports) in (
                    "logging.getLogger",
                    "structlog.get_logger",
                ):
                    return True
    return False


@register
class LogInjection(Rule):
    """A log message is *built* from attacker text (f-string, ``+``, ``%``, ``format``) without removing CR/LF,
    so the attacker can forge log lines. (Lazy ``%s`` arguments are left to the logging configuration.)

    Bad::

        logger.info(f"login failed for {username}")

    Good::

        logger.info("login failed for %r", username)
    """

    id = "RC-LOG-001"
    cwe = "CWE-117"
    name = "log-injection"
    severity = Severity.LOW
    confidence = Confidence.MEDIUM
    blind_spots = (
        "Only external data (input, request, network, environment, files) counts: function parameters are "
        "not treated as raw request text here. Arguments passed lazily (`logger.info('%s', x)`) are not reported because formatters decide how they "
        "are rendered; structured logging with JSON output is safe but not recognised."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        for call in ctx.tainted_calls():
            func = call.func
            if not isinstance(func, ast.Attribute) or func.attr not in _LEVELS or not call.args:
                continue
            msg = call.args[1] if func.attr == "log" and len(call.args) > 1 else call.args[0]
            if not isinstance(msg, (ast.JoinedStr, ast.BinOp, ast.Call)):
                continue
            if isinstance(msg, ast.Call) and not (
                isinstance(msg.func, ast.Attribute) and msg.func.attr == "format"
            ):
                continue
            if not _is_logger(ctx, func.value):
                continue
            t = ctx.taint_of(msg)
            if t is None or not t.live_where("log", external=True):
                continue
            yield self.finding(
                ctx,
                call,
                "log message built from attacker-controlled text (CR/LF not removed)",
                ctx.trace(t, call, "log record (sink)"),
            )
