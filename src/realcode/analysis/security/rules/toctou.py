"""Time-of-check to time-of-use races (CWE-367).

Model: a *check* inspects shared state and a *use* acts on the same state under a dominating test that contains
the check, so the state can change in between:

- **files**: ``os.path.exists/isfile/isdir/getsize``, ``os.access``, ``os.stat``, ``Path.exists`` on a path, then
  ``open``, ``os.remove/rename/chmod/...``, ``shutil`` operations or another stat on the same path;
- **shared stores behind a handle** (a database connection): ``if db.user_exists(uid): db.update(uid, ...)``, or
  a loop over ``db.query(...)`` that acts on each row with ``db.execute(...)``.

The *protection* is atomicity: the use happens under a lock (a file handle passed to ``fcntl.flock``/``lockf``
before the use, or a ``with`` block of a ``threading``/``multiprocessing``/``filelock`` lock), inside a
transaction of the same handle (``with db.transaction():``), or is itself atomic (``open`` whose handle is then
locked, ``os.open`` with ``O_EXCL``).
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
    method_name,
    names_in,
)
from realcode.analysis.security.rules.base import Rule, register

if TYPE_CHECKING:
    from realcode.analysis.security.context import AnalysisContext

FILE_CHECKS = frozenset(
    {
        "os.path.exists",
        "os.path.isfile",
        "os.path.isdir",
        "os.path.lexists",
        "os.path.islink",
        "os.path.getsize",
        "os.path.getmtime",
        "os.access",
        "os.stat",
        "os.lstat",
    }
)
FILE_USES = frozenset(
    {
        "open",
        "io.open",
        "os.open",
        "os.remove",
        "os.unlink",
        "os.rename",
        "os.replace",
        "os.rmdir",
        "os.removedirs",
        "os.chmod",
        "os.chown",
        "os.truncate",
        "os.utime",
        "os.link",
        "os.symlink",
        "os.path.getsize",
        "shutil.copy",
        "shutil.copy2",
        "shutil.copyfile",
        "shutil.move",
        "shutil.rmtree",
    }
)
PATH_USE_METHODS = frozenset(
    {
        "open",
        "unlink",
        "rename",
        "replace",
        "chmod",
        "write_text",
        "write_bytes",
        "read_text",
        "read_bytes",
        "rmdir",
    }
)
LOCK_CALLS = frozenset({"fcntl.flock", "fcntl.lockf", "msvcrt.locking", "portalocker.lock"})
LOCK_FACTORIES = frozenset(
    {"Lock", "RLock", "Semaphore", "BoundedSemaphore", "FileLock", "SoftFileLock", "Condition"}
)
TRANSACTION_METHODS = frozenset({"transaction", "atomic", "begin", "begin_nested", "lock"})


def _key(node: ast.AST) -> str:
    return ast.dump(node)


class _Scope:
    """Lock and transaction facts of one function."""

    def __init__(self, analysis: Analysis, facts: FunctionFacts) -> None:
        self.analysis = analysis
        self.facts = facts
        self.locked_handles: set[str] = set()
        for node in facts.of_type(ast.Call):
            if isinstance(node, ast.Call) and self.resolve(node) in LOCK_CALLS and node.args:
                self.locked_handles.update(names_in(node.args[0]))

    def resolve(self, call: ast.Call) -> str:
        return self.analysis.module.resolve(call_name(call))

    def is_lock(self, expr: ast.AST) -> bool:
        if isinstance(expr, ast.Call):
            return call_name(expr).split(".")[-1] in LOCK_FACTORIES
        if isinstance(expr, ast.Name):
            values = self.facts.bindings.get(expr.id) or []
            module_value = self.analysis.module.stores.get(expr.id)
            candidates = [*values, *([module_value] if module_value is not None else [])]
            if not values:
                for stmt in self.analysis.tree.body:
                    if isinstance(stmt, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == expr.id for t in stmt.targets
                    ):
                        candidates.append(stmt.value)
            return any(
                isinstance(v, ast.Call) and call_name(v).split(".")[-1] in LOCK_FACTORIES for v in candidates
            )
        return False

    def atomic(self, node: ast.AST, receiver: str | None = None) -> bool:
        """Whether ``node`` runs under a lock or transaction, or after locking a handle in an enclosing block."""
        for parent, child in self.facts.ancestors(node):
            if isinstance(parent, ast.With | ast.AsyncWith):
                for item in parent.items:
                    expr = item.context_expr
                    if self.is_lock(expr):
                        return True
                    if (
                        isinstance(expr, ast.Call)
                        and method_name(expr) in TRANSACTION_METHODS
                        and (receiver is None or receiver in set(names_in(expr.func)))
                    ):
                        return True
            for name in ("body", "orelse", "finalbody"):
                block = getattr(parent, name, None)
                if isinstance(block, list) and child in block:
                    for prev in block[: block.index(child)]:
                        if any(
                            isinstance(n, ast.Call) and self.resolve(n) in LOCK_CALLS for n in ast.walk(prev)
                        ):
                            return True
        return False

    def locks_its_handle(self, use: ast.Call) -> bool:
        """``open(path)`` whose handle is then locked: the open is how the lock is taken."""
        parent = self.facts.parents.get(use)
        if isinstance(parent, ast.withitem) and parent.optional_vars is not None:
            return bool(set(names_in(parent.optional_vars)) & self.locked_handles)
        if isinstance(parent, ast.Assign):
            return any(set(names_in(t)) & self.locked_handles for t in parent.targets)
        return False


def _path_arg(call: ast.Call) -> ast.AST | None:
    if call.args:
        return call.args[0]
    for kw in call.keywords:
        if kw.arg in {"path", "file", "src"}:
            return kw.value
    return None


def _file_checks(scope: _Scope, test: ast.AST) -> set[str]:
    out: set[str] = set()
    for sub in ast.walk(test):
        if not isinstance(sub, ast.Call):
            continue
        if scope.resolve(sub) in FILE_CHECKS:
            arg = _path_arg(sub)
            if arg is not None:
                out.add(_key(arg))
    return out


def _file_uses(scope: _Scope) -> Iterator[tuple[ast.Call, ast.AST]]:
    for node in scope.facts.of_type(ast.Call):
        if not isinstance(node, ast.Call):
            continue
        name = scope.resolve(node)
        if name in FILE_USES:
            arg = _path_arg(node)
            if arg is not None:
                yield node, arg
        elif (
            method_name(node) in PATH_USE_METHODS
            and isinstance(node.func, ast.Attribute)
            and name not in FILE_USES
        ):
            receiver = node.func.value
            if not (isinstance(receiver, ast.Name) and receiver.id in scope.analysis.module.imports):
                yield node, receiver


def _exclusive_create(call: ast.Call, scope: _Scope) -> bool:
    if scope.resolve(call) != "os.open":
        return False
    return any(
        isinstance(n, ast.Attribute) and n.attr == "O_EXCL" for a in call.args[1:] for n in ast.walk(a)
    )


@register
class CheckThenUse(Rule):
    """Shared state is checked and then acted on as if it could not change in between.

    Bad::

        if os.path.exists(path):
            os.remove(path)

    Good::

        try:
            os.remove(path)
        except FileNotFoundError:
            pass
    """

    id = "RC-RACE-001"
    cwe = "CWE-367"
    name = "check-then-use-race"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    blind_spots = (
        "Matches check and use on the same path expression or the same handle and arguments; paths rebuilt "
        "differently, races across functions, and locks taken in a caller are not seen. Any lock or transaction "
        "counts, even one that other processes do not take."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        analysis = analysis_of(ctx)
        if analysis is None:
            return
        # File races do not depend on who chose the path, so every function is examined, but only in modules
        # that check files at all; handle races are looked for in the functions that serve callers.
        checks_files = any(
            isinstance(n, ast.Call) and analysis.module.resolve(call_name(n)) in FILE_CHECKS
            for n in analysis.nodes_of(ast.Call)
        )
        chosen = {id(f.node) for f in analysis.functions}
        for facts in analysis.all_functions() if checks_files else analysis.functions:
            scope = _Scope(analysis, facts)
            reported: set[int] = set()
            races = [*self._file_races(ctx, scope)] if checks_files else []
            if id(facts.node) in chosen:
                races += self._handle_races(ctx, scope)
            for finding in races:
                if finding.location.line not in reported:
                    reported.add(finding.location.line)
                    yield finding

    def _file_races(self, ctx: AnalysisContext, scope: _Scope) -> Iterator[Finding]:
        for use, path in _file_uses(scope):
            checked: set[str] = set()
            for guard in dominating_tests(scope.facts, use):
                checked |= _file_checks(scope, guard.test)
            if _key(path) not in checked:
                continue
            if scope.locks_its_handle(use) or _exclusive_create(use, scope) or scope.atomic(use):
                continue
            yield self.finding(
                ctx,
                use,
                f"`{ast.unparse(path)}` is checked and then used by `{call_name(use)}`: the file can change in "
                "between",
            )

    def _handle_races(self, ctx: AnalysisContext, scope: _Scope) -> Iterator[Finding]:
        facts = scope.facts
        handles = {
            name
            for name, values in facts.bindings.items()
            if name not in facts.loop_vars and all(isinstance(v, ast.Call) for v in values)
        } | (set(facts.params) - set(facts.bindings))
        if not handles:
            return
        for node in facts.of_type(ast.Call):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in handles
            ):
                continue
            receiver = node.func.value.id
            used = {n for a in [*node.args, *(k.value for k in node.keywords)] for n in names_in(a)}
            if not used:
                continue
            for check in self._checks_on(facts, node, receiver):
                if method_name(check) == method_name(node):
                    continue
                shared = {n for a in check.args for n in names_in(a)} | self._loop_names(facts, node, check)
                if used & shared and not scope.atomic(node, receiver):
                    yield self.finding(
                        ctx,
                        node,
                        f"`{receiver}.{method_name(node)}` acts on the result of `{receiver}.{method_name(check)}` "
                        "outside a transaction or lock",
                    )
                    break

    @staticmethod
    def _checks_on(facts: FunctionFacts, node: ast.AST, receiver: str) -> Iterator[ast.Call]:
        """Calls on ``receiver`` in tests dominating ``node`` or in loops iterating over their results."""
        for guard in dominating_tests(facts, node):
            for sub in ast.walk(guard.test):
                if (
                    isinstance(sub, ast.Call)
                    and isinstance(sub.func, ast.Attribute)
                    and isinstance(sub.func.value, ast.Name)
                    and sub.func.value.id == receiver
                ):
                    yield sub
        for parent, _child in facts.ancestors(node):
            if isinstance(parent, ast.For):
                it = parent.iter
                values = facts.bindings.get(it.id, []) if isinstance(it, ast.Name) else [it]
                for v in values:
                    if (
                        isinstance(v, ast.Call)
                        and isinstance(v.func, ast.Attribute)
                        and isinstance(v.func.value, ast.Name)
                        and v.func.value.id == receiver
                    ):
                        yield v

    @staticmethod
    def _loop_names(facts: FunctionFacts, node: ast.AST, check: ast.Call) -> set[str]:
        """Names bound by loops over ``check``'s result that enclose ``node``."""
        out: set[str] = set()
        for parent, _child in facts.ancestors(node):
            if isinstance(parent, ast.For):
                it = parent.iter
                values = facts.bindings.get(it.id, []) if isinstance(it, ast.Name) else [it]
                if any(v is check for v in values):
                    out |= set(names_in(parent.target))
        return out
