"""Mass assignment (CWE-915): caller-chosen keys written into an object or record without an allow-list.

Model: the *sensitive operations* write attributes or fields whose names come from caller input:

- ``target.update(mapping)``, ``target.__dict__.update(mapping)``, ``vars(target).update(mapping)`` with a mapping
  from the caller, where ``target`` is an object the function was handed or a module-level record (a fresh local
  dict being built is not an object's state);
- ``setattr(obj, key, value)``, ``target[key] = value`` and ``obj.__dict__[key] = value`` where ``key`` iterates
  over the keys of a caller mapping (``for key, value in changes.items()``).

A key write is *protected* by a dominating test on the key itself (``if key in ALLOWED``, ``if key not in
EDITABLE: continue``, ``if key.startswith("_"): raise``). A whole-mapping update is protected by a dominating
test on some other input (an explicit privilege gate, ``if is_admin: record.update(changes)``) or by filtering
the mapping first (a comprehension with an ``if``).
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
    root_name,
)
from realcode.analysis.security.rules.base import Rule, register

if TYPE_CHECKING:
    from realcode.analysis.security.context import AnalysisContext

#: Django ORM manager methods that write the fields they are given.
ORM_WRITES = frozenset({"create", "update", "get_or_create", "update_or_create", "bulk_create"})


def _is_object_state(node: ast.AST, analysis: Analysis, facts: FunctionFacts) -> bool:
    """Whether writing into ``node`` changes an object's state: a parameter, ``x.__dict__``, ``vars(x)`` or a
    module-level record; not a local container the function is building."""
    if isinstance(node, ast.Attribute) and node.attr == "__dict__":
        return True
    if isinstance(node, ast.Call) and call_name(node) == "vars":
        return True
    # Attributes of objects (``self.cache``, ``m.names``) are containers the object keeps, not its fields.
    if not isinstance(node, ast.Name):
        return False
    if node.id in facts.params:
        return True
    return node.id in analysis.module.stores and node.id not in facts.bindings


#: Attributes and methods of a web framework's request object that hold the client's fields.
REQUEST_MAPPINGS = frozenset(
    {"json", "form", "args", "values", "POST", "GET", "data", "get_json", "query_params"}
)


def _web_mapping(node: ast.AST) -> bool:
    """``request.json`` / ``request.form`` / ``request.get_json()`` / ``request.POST.dict()``."""
    cur = node
    while isinstance(cur, ast.Call) and isinstance(cur.func, ast.Attribute):
        if cur.func.attr in REQUEST_MAPPINGS and isinstance(cur.func.value, ast.Name):
            return cur.func.value.id == "request"
        cur = cur.func.value
    return (
        isinstance(cur, ast.Attribute)
        and cur.attr in REQUEST_MAPPINGS
        and isinstance(cur.value, ast.Name)
        and cur.value.id == "request"
    )


def _is_record(node: ast.AST, analysis: Analysis, facts: FunctionFacts) -> bool:
    """A record whose fields a subscript write sets: a parameter (an entity passed in as a dict) or an object's
    ``__dict__``/``vars()``. A container the object keeps (``self.index[k] = v``), a mapping's own ``self[k]``
    and module-level tables are stores, whose keys are data rather than fields."""
    if isinstance(node, ast.Attribute) and node.attr == "__dict__":
        return True
    if isinstance(node, ast.Call) and call_name(node) == "vars":
        return True
    return isinstance(node, ast.Name) and node.id in facts.params


def _checks_keys(test: ast.AST, mapping: ast.AST, analysis: Analysis, facts: FunctionFacts) -> bool:
    """A test that relates the mapping to a module-level allow-list (``set(data) <= ALLOWED``,
    ``all(k in ALLOWED for k in data)``, ``data.keys() - EDITABLE``)."""
    names = set(names_in(test))
    module_names = {n for n in names if n in analysis.module.stores or n in analysis.module.constants}
    return bool(module_names) and bool(facts.params_of(test) & facts.params_of(mapping))


def _raw_mapping(node: ast.AST, facts: FunctionFacts) -> bool:
    """A caller-supplied mapping that no filter has narrowed (a comprehension with a condition is a filter)."""
    if isinstance(node, ast.DictComp):
        return False
    if _web_mapping(node):
        return True
    if isinstance(node, ast.Name) and any(_web_mapping(v) for v in facts.bindings.get(node.id, [])):
        return True
    if isinstance(node, ast.Name) and node.id not in facts.params:
        values = facts.bindings.get(node.id, [])
        for value in values:
            if isinstance(value, ast.DictComp) and any(gen.ifs for gen in value.generators):
                return False
        # A mapping the function builds itself (``picked = {}`` then filled key by key) is filtered when every
        # key written into it was tested first.
        if values and all(
            (isinstance(v, ast.Dict) and not v.keys)
            or (isinstance(v, ast.Call) and call_name(v) == "dict" and not v.args)
            for v in values
        ):
            return not _filled_with_checked_keys(node.id, facts)
    return bool(facts.params_of(node))


def _filled_with_checked_keys(name: str, facts: FunctionFacts) -> bool:
    """Whether every ``name[key] = ...`` in the function is dominated by a test on ``key``."""
    for node in facts.of_type(ast.Assign):
        assert isinstance(node, ast.Assign)
        for t in node.targets:
            if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id == name:
                keys = set(names_in(t.slice))
                if not any(keys & set(names_in(g.test)) for g in dominating_tests(facts, node)):
                    return False
    return True


def _indexed_by_loop(facts: FunctionFacts, loop: ast.For | ast.comprehension, mapping: str) -> bool:
    """Whether the loop's variable is used to index ``mapping`` (which makes ``mapping`` a mapping)."""
    if not isinstance(loop.target, ast.Name):
        return False
    var = loop.target.id
    return any(
        isinstance(n, ast.Subscript)
        and isinstance(n.value, ast.Name)
        and n.value.id == mapping
        and isinstance(n.slice, ast.Name)
        and n.slice.id == var
        for n in facts.of_type(ast.Subscript)
    )


def _caller_keys(facts: FunctionFacts) -> dict[str, ast.AST]:
    """Loop variables that range over the keys of a caller mapping: name -> the mapping expression."""
    out: dict[str, ast.AST] = {}
    for node in facts.of_type(ast.For, ast.comprehension):
        if not isinstance(node, ast.For | ast.comprehension):
            continue
        it = node.iter
        source: ast.AST | None = None
        if (
            isinstance(it, ast.Call)
            and method_name(it) in {"items", "keys"}
            and isinstance(it.func, ast.Attribute)
        ):
            source = it.func.value
        elif isinstance(it, ast.Name) and _indexed_by_loop(facts, node, it.id):
            source = it  # ``for k in data: ... data[k]``: iterating a mapping's keys
        own_kwargs = facts.node.args.kwarg.arg if facts.node.args.kwarg else None
        if isinstance(source, ast.Name) and source.id == own_kwargs:
            continue  # the caller's own keyword arguments: the call site names each field
        if source is None or not _raw_mapping(source, facts):
            continue
        target = node.target
        if isinstance(target, ast.Tuple) and target.elts and isinstance(target.elts[0], ast.Name):
            out[target.elts[0].id] = source
        elif isinstance(target, ast.Name) and not (isinstance(it, ast.Call) and method_name(it) == "items"):
            out[target.id] = source
    return out


@register
class MassAssignment(Rule):
    """Fields chosen by the caller are written into an object without an allow-list of keys.

    Bad::

        def update_profile(user, changes):
            for key, value in changes.items():
                setattr(user, key, value)

    Good::

        def update_profile(user, changes):
            for key, value in changes.items():
                if key not in EDITABLE_FIELDS:
                    raise PermissionError(key)
                setattr(user, key, value)
    """

    id = "RC-MASS-001"
    cwe = "CWE-915"
    name = "mass-assignment"
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    blind_spots = (
        "Sees writes made in the function itself (not in an ORM's constructor called with **data, or a "
        "serializer's save()); any test on the key counts as an allow-list, even a deny-list that misses fields."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        analysis = analysis_of(ctx)
        if analysis is None:
            return
        for facts in analysis.functions:
            yield from self._bulk_updates(ctx, analysis, facts)
            yield from self._key_writes(ctx, analysis, facts)
            yield from self._keyword_expansion(ctx, analysis, facts)

    def _bulk_updates(
        self, ctx: AnalysisContext, analysis: Analysis, facts: FunctionFacts
    ) -> Iterator[Finding]:
        for node in facts.of_type(ast.Call):
            if not (
                isinstance(node, ast.Call)
                and method_name(node) == "update"
                and isinstance(node.func, ast.Attribute)
                and len(node.args) == 1
            ):
                continue
            target, mapping = node.func.value, node.args[0]
            if isinstance(target, ast.Name) and target.id == "self":
                continue  # a mapping type's own update()
            if (
                isinstance(mapping, ast.Name)
                and facts.node.args.kwarg
                and mapping.id == facts.node.args.kwarg.arg
            ):
                continue  # the caller's own keyword arguments, named in the call
            if not _is_object_state(target, analysis, facts) or not _raw_mapping(mapping, facts):
                continue
            # Writing a store record chosen by caller input is an authorization question (CWE-862/863).
            if isinstance(target, ast.Subscript) and root_name(target) in analysis.module.stores:
                continue
            own = facts.params_of(mapping) | facts.params_of(target)
            guards = dominating_tests(facts, node)
            if any(facts.params_of(g.test) - own for g in guards):
                continue  # a privilege gate on another input
            if any(_checks_keys(g.test, mapping, analysis, facts) for g in guards):
                continue  # ``if not set(data) <= ALLOWED: raise``
            yield self.finding(
                ctx,
                node,
                f"`{facts.node.name}` copies every caller-supplied key into `{ast.unparse(target)}`",
            )

    def _keyword_expansion(
        self, ctx: AnalysisContext, analysis: Analysis, facts: FunctionFacts
    ) -> Iterator[Finding]:
        """``Model(**data)`` / ``Model.objects.create(**data)``: every caller key becomes a field."""
        own_kwargs = facts.node.args.kwarg.arg if facts.node.args.kwarg else None
        for node in facts.of_type(ast.Call):
            assert isinstance(node, ast.Call)
            expanded = [k.value for k in node.keywords if k.arg is None]
            if not expanded:
                continue
            callee = analysis.module.resolve(call_name(node))
            is_model = callee.split(".")[-1] in analysis.module.classes or (
                ".objects." in f".{callee}" and method_name(node) in ORM_WRITES
            )
            if not is_model:
                continue
            for mapping in expanded:
                if isinstance(mapping, ast.Name) and mapping.id == own_kwargs:
                    continue  # the caller's own keyword arguments, named in the call
                if not _raw_mapping(mapping, facts):
                    continue
                if any(
                    set(names_in(g.test)) & facts.params_of(mapping) for g in dominating_tests(facts, node)
                ):
                    continue
                yield self.finding(
                    ctx,
                    node,
                    f"`{facts.node.name}` builds `{call_name(node)}` from every caller-supplied key of "
                    f"`{ast.unparse(mapping)}`",
                )
                break

    def _key_writes(
        self, ctx: AnalysisContext, analysis: Analysis, facts: FunctionFacts
    ) -> Iterator[Finding]:
        keys = _caller_keys(facts)
        if not keys:
            return
        for node in facts.of_type(ast.Call, ast.Assign):
            key: ast.AST | None = None
            target: ast.AST | None = None
            if isinstance(node, ast.Call) and call_name(node) == "setattr" and len(node.args) >= 2:
                target, key = node.args[0], node.args[1]
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Subscript):
                        target, key = t.value, t.slice
            if key is None or target is None or not isinstance(key, ast.Name) or key.id not in keys:
                continue
            if not (isinstance(node, ast.Call) or _is_record(target, analysis, facts)):
                continue
            if any(key.id in set(names_in(g.test)) for g in dominating_tests(facts, node)):
                continue
            yield self.finding(
                ctx,
                node,
                f"`{facts.node.name}` writes caller-chosen field `{key.id}` into `{ast.unparse(target)}` "
                "without an allow-list",
            )
