"""CWE-732 (permissions granted too widely) and CWE-281 (permissions changed without the owner's say).

732: ``chmod``/``mkdir``/``os.open`` with modes that let every local user write, ``os.umask(0)``.
281: a mode chosen by the caller applied with ``chmod`` when nothing checks that the file belongs to the
running user (``st_uid == os.getuid()``) or that the mode is one of an allowed set.
"""

from __future__ import annotations

import ast
import stat
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from realcode.analysis.findings import Confidence, Finding, Severity
from realcode.analysis.security.rules._pure_ast import (
    ModuleFacts,
    argument,
    assignments,
    attacker_flow,
    derived_names,
    dominating_membership_guards,
    facts_of,
)
from realcode.analysis.security.rules.base import Rule, register

if TYPE_CHECKING:
    from realcode.analysis.security.context import AnalysisContext

# (position, keyword) of the mode argument
MODE_ARGUMENT: dict[str, tuple[int, str | None]] = {
    "os.chmod": (1, "mode"),
    "os.lchmod": (1, "mode"),
    "os.fchmod": (1, "mode"),
    "os.mkdir": (1, "mode"),
    "os.makedirs": (1, "mode"),
    "os.open": (2, "mode"),
    "os.mkfifo": (1, "mode"),
}
_METHOD_MODE = {"chmod": (0, "mode"), "lchmod": (0, "mode"), "mkdir": (0, "mode"), "touch": (0, "mode")}


def mode_value(facts: ModuleFacts, expr: ast.AST | None, func: Any) -> int | None:
    """An integer mode from a literal, ``stat.S_I*`` names and ``|`` combinations of them."""
    if expr is None:
        return None
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr | ast.Add):
        left, right = mode_value(facts, expr.left, func), mode_value(facts, expr.right, func)
        return None if left is None or right is None else left | right
    name = facts.qualified_name(expr) if isinstance(expr, ast.Attribute | ast.Name) else None
    if name is not None and name.startswith("stat.S_"):
        value = getattr(stat, name.rsplit(".", 1)[-1], None)
        return value if isinstance(value, int) else None
    value = facts.literal(expr, func)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _mode_call(facts: ModuleFacts, call: ast.Call, name: str | None) -> tuple[str, ast.expr | None] | None:
    if name in MODE_ARGUMENT:
        return name, argument(call, *MODE_ARGUMENT[name])
    if isinstance(call.func, ast.Attribute) and call.func.attr in _METHOD_MODE and name not in {"os.mkdir"}:
        recv = facts.qualified_name(call.func.value) or ""
        if recv.startswith("os"):  # os.mkdir handled above; anything else is a Path-like object
            return None
        return f".{call.func.attr}", argument(call, *_METHOD_MODE[call.func.attr])
    return None


@register
class WorldWritable(Rule):
    """A file or directory made writable by every local user, or a umask that allows it.

    Bad::

        os.chmod(path, 0o777)
        os.umask(0)

    Good::

        os.chmod(path, 0o600)
        os.umask(0o077)
    """

    id = "RC-PERM-001"
    cwe = "CWE-732"
    name = "world-writable-permissions"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    blind_spots = (
        "Modes computed at run time are not evaluated; world-readable secrets (0o644) are not reported."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        facts = facts_of(ctx)
        for call, name in facts.calls():
            func = facts.enclosing_function(call)
            if name == "os.umask":
                mask = mode_value(facts, argument(call, 0, "mask"), func)
                if mask is not None and not mask & stat.S_IWOTH:
                    yield self.finding(
                        ctx, call, f"umask {mask:#o} lets every user write new files; use 0o077/0o022"
                    )
                continue
            spec = _mode_call(facts, call, name)
            if spec is None:
                continue
            mode = mode_value(facts, spec[1], func)
            if mode is not None and mode & stat.S_IWOTH:
                yield self.finding(ctx, call, f"mode {mode:#o} lets every local user write; drop the o+w bit")


@register
class CallerChosenPermissions(Rule):
    """Permissions taken from the caller and applied without checking who owns the file.

    Bad::

        def set_mode(path: Path, mode: int) -> None:
            path.chmod(mode)

    Good::

        def set_mode(path: Path, mode: int) -> None:
            if path.stat().st_uid != os.getuid():
                raise PermissionError(path)
            path.chmod(mode)
    """

    id = "RC-PERM-002"
    cwe = "CWE-281"
    name = "unchecked-permission-change"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    blind_spots = (
        "An ownership check is recognised when it compares ``st_uid`` with ``os.getuid()``/``geteuid()`` on a "
        "path dominating the call in the same function; checks done by callers are not seen."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        facts = facts_of(ctx)
        for call, name in facts.calls():
            if name not in {"os.chmod", "os.lchmod", "os.fchmod"} and not (
                isinstance(call.func, ast.Attribute)
                and call.func.attr in {"chmod", "lchmod"}
                and name != "os.chmod"
            ):
                continue
            mode_arg = argument(call, 1, "mode") if name in MODE_ARGUMENT else argument(call, 0, "mode")
            func = facts.enclosing_function(call)
            if mode_arg is None or func is None:
                continue
            stmt = facts.statement_of(call)
            if stmt is None or _owner_checked(facts, stmt, func):
                continue
            names = derived_names(mode_arg, func)
            if any(g.names & names for g in dominating_membership_guards(facts, stmt, func)):
                continue
            if _from_existing_mode(mode_arg, names, func):
                continue
            flow = attacker_flow(ctx, mode_arg, call, "mode argument of chmod (sink)")
            if flow is None:
                continue
            origin, trace = flow
            yield self.finding(
                ctx,
                call,
                f"chmod with a mode from {origin.removesuffix(' (source)')} and no check that the file is ours",
                trace,
            )


def _from_existing_mode(mode: ast.expr, names: set[str], func: Any) -> bool:
    """The mode is computed from a file's current mode (``st_mode``, ``S_IMODE``): permissions preserved or
    adjusted, not chosen by the caller."""
    exprs: list[ast.AST] = [mode, *(v for n in names for v in assignments(func).get(n, []))]
    for e in exprs:
        for node in ast.walk(e):
            if isinstance(node, ast.Attribute) and node.attr in {"st_mode", "S_IMODE"}:
                return True
    return False


def _owner_checked(facts: ModuleFacts, stmt: ast.stmt, func: Any) -> bool:
    """An ``if`` on the path to ``stmt`` compares an ``st_uid`` with the current user id."""
    child: ast.AST = stmt
    parent = facts.parents.get(child)
    while parent is not None and child is not func:
        tests: list[ast.expr] = []
        if isinstance(parent, ast.If | ast.While):
            tests.append(parent.test)
        for field_name in ("body", "orelse"):
            block = getattr(parent, field_name, None)
            if isinstance(block, list) and child in block:
                tests.extend(
                    s.test for s in block[: block.index(child)] if isinstance(s, ast.If | ast.Assert)
                )
        for test in tests:
            if _compares_owner(facts, test):
                return True
        child, parent = parent, facts.parents.get(parent)
    return False


def _compares_owner(facts: ModuleFacts, test: ast.expr) -> bool:
    has_uid = any(isinstance(n, ast.Attribute) and n.attr == "st_uid" for n in ast.walk(test))
    has_me = any(
        isinstance(n, ast.Call) and facts.call_name(n) in {"os.getuid", "os.geteuid"} for n in ast.walk(test)
    )
    return has_uid and has_me
