"""Missing and incorrect authorization (CWE-862, CWE-863).

Model: a *privileged operation* is a read that is returned to the caller, or a mutation (assignment, ``del``,
augmented assignment, mutating method call), of a record in a module-level data store selected by a key that
derives from an input of the function. The *actor* is every input that takes no part in that operation (neither
the key nor the written value). The operation is *protected* when a test that dominates it (an enclosing ``if``,
an ``assert`` or an early ``raise``/``return``) involves an actor input, directly or through values derived from
it (``USERS[actor]["role"] == "admin"``, ``actor == owner``, ``actor in record["staff"]``). An operation that the
function performs on behalf of an actor it never consults is reported.

With a single unconsulted input (the caller's identity) the finding is CWE-862: no authorization decision is made
at all. When the function is handed two or more authorization inputs (identity and role, identity and the owner
of the record) and consults none, the finding is CWE-863: the decision the inputs were given for is not made
correctly.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from realcode.analysis.findings import Confidence, Finding, Severity
from realcode.analysis.security.rules._protection import (
    MUTATING_METHODS,
    FunctionFacts,
    ModuleFacts,
    analysis_of,
    dominating_tests,
    method_name,
    root_name,
    subscript_chain,
)
from realcode.analysis.security.rules.base import Rule, register

if TYPE_CHECKING:
    from realcode.analysis.security.context import AnalysisContext


@dataclass(frozen=True)
class PrivilegedOp:
    """An operation on a store record: where it is, which store, which inputs select and feed it."""

    node: ast.AST
    store: str
    kind: str  # "read", "write", "delete", "call"
    involved: frozenset[str]  # inputs used by the operation (key and value)


def _keyed_store_access(
    node: ast.AST, module: ModuleFacts, facts: FunctionFacts
) -> tuple[str, set[str]] | None:
    """``STORE[...key...]...``: the store and the inputs its subscripts derive from, if any input does."""
    root = root_name(node)
    if root is None or root not in module.stores or root in facts.bindings or root in facts.params:
        return None
    keys: set[str] = set()
    for sub in subscript_chain(node):
        keys |= facts.params_of(sub.slice)
    if not keys:
        return None
    return root, keys


def privileged_ops(facts: FunctionFacts, module: ModuleFacts) -> Iterator[PrivilegedOp]:
    """Reads returned from and mutations of store records selected by an input."""
    for node in facts.of_type(ast.Assign, ast.AugAssign, ast.Delete, ast.Call, ast.Return):
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Subscript | ast.Attribute):
                    hit = _keyed_store_access(t, module, facts)
                    if hit:
                        yield PrivilegedOp(
                            node, hit[0], "write", frozenset(hit[1] | facts.params_of(node.value))
                        )
        elif isinstance(node, ast.Delete):
            for t in node.targets:
                hit = _keyed_store_access(t, module, facts)
                if hit:
                    yield PrivilegedOp(node, hit[0], "delete", frozenset(hit[1]))
        elif isinstance(node, ast.Call) and method_name(node) in MUTATING_METHODS:
            assert isinstance(node.func, ast.Attribute)
            hit = _keyed_store_access(node.func.value, module, facts)
            if hit:
                args: set[str] = set()
                for a in [*node.args, *(k.value for k in node.keywords)]:
                    args |= facts.params_of(a)
                yield PrivilegedOp(node, hit[0], "call", frozenset(hit[1] | args))
        elif isinstance(node, ast.Return) and node.value is not None:
            value = node.value
            # ``record = STORE[key]; return record`` is the same read.
            if isinstance(value, ast.Name) and len(facts.bindings.get(value.id, [])) == 1:
                bound = facts.bindings[value.id][0]
                if isinstance(bound, ast.Subscript) and value.id not in facts.loop_vars:
                    value = bound
            if isinstance(value, ast.Subscript):
                hit = _keyed_store_access(value, module, facts)
                if hit:
                    yield PrivilegedOp(node, hit[0], "read", frozenset(hit[1]))


def unconsulted_actors(facts: FunctionFacts, op: PrivilegedOp, involved: set[str]) -> list[str]:
    """Inputs that take no part in the function's store operations (``involved``) and that no test dominating
    ``op`` consults."""
    actors = [p for p in facts.params if p not in involved and p not in facts.defaulted]
    if not actors:
        return []
    consulted: set[str] = set()
    for guard in dominating_tests(facts, op.node):
        consulted |= facts.params_of(guard.test)
    return [a for a in actors if a not in consulted]


class _AuthorizationRule(Rule):
    """Shared implementation of CWE-862/863; the subclass says which number of unconsulted inputs it reports."""

    many: bool = False

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        analysis = analysis_of(ctx)
        if analysis is None:
            return
        for facts in analysis.functions:
            seen: set[int] = set()
            ops = list(privileged_ops(facts, analysis.module))
            involved: set[str] = set()
            for op in ops:
                involved |= op.involved
            for op in ops:
                line = getattr(op.node, "lineno", 0)
                if line in seen:
                    continue
                missing = unconsulted_actors(facts, op, involved)
                if not missing or (len(missing) >= 2) != self.many:
                    continue
                seen.add(line)
                verb = {
                    "read": "returns a record of",
                    "write": "modifies",
                    "delete": "deletes from",
                    "call": "modifies",
                }
                names = ", ".join(f"`{m}`" for m in missing)
                yield self.finding(
                    ctx,
                    op.node,
                    f"`{facts.node.name}` {verb[op.kind]} `{op.store}` selected by caller input without an "
                    f"authorization check on {names}",
                )


@register
class MissingAuthorization(_AuthorizationRule):
    """A store record is read or changed on behalf of a caller whose identity is never checked.

    Bad::

        def delete_note(actor_id, note_id):
            del NOTES[note_id]

    Good::

        def delete_note(actor_id, note_id):
            if NOTES[note_id]["owner"] != actor_id and USERS[actor_id]["role"] != "admin":
                raise PermissionError(actor_id)
            del NOTES[note_id]
    """

    id = "RC-AUTHZ-001"
    cwe = "CWE-862"
    name = "missing-authorization"
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    many = False
    blind_spots = (
        "Sees only stores bound at module level and actors passed as parameters; checks made by a decorator, a "
        "callee or a framework (login_required, permission classes) are invisible, and a function with no actor "
        "input at all cannot be judged. Any test on the actor counts as a check, even a wrong one."
    )


@register
class IncorrectAuthorization(_AuthorizationRule):
    """A store record is read or changed while the authorization inputs the function receives are ignored.

    Bad::

        def edit_doc(user_id, role, doc_id, content):
            DOCS[doc_id]["content"] = content

    Good::

        def edit_doc(user_id, role, doc_id, content):
            if role != "editor" and DOCS[doc_id]["owner"] != user_id:
                raise PermissionError(user_id)
            DOCS[doc_id]["content"] = content
    """

    id = "RC-AUTHZ-002"
    cwe = "CWE-863"
    name = "incorrect-authorization"
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    many = True
    blind_spots = (
        "Tells 863 from 862 only by the number of unconsulted inputs (two or more: 863); a check that consults "
        "the inputs but decides wrongly (compares the wrong field, uses `or` for `and`) is not recognised."
    )
