"""Small AST helpers shared by the rules that need no taint engine (crypto, TLS, randomness, files, regex).

These rules look at one call at a time plus a little local context: which module a name was imported from,
which constant a name is bound to, whether an argument derives from a function's parameters, and whether an
allow-list check dominates a statement. Everything here is intra-procedural and syntactic on purpose: cheap
(the analyzer runs as an RL reward) and predictable.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

_Func = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class ModuleFacts:
    """Facts about a module computed once and shared by every pure-AST rule."""

    tree: ast.Module
    imports: dict[str, str] = field(default_factory=dict)  # local name -> dotted name it stands for
    parents: dict[ast.AST, ast.AST] = field(default_factory=dict)
    constants: dict[str, ast.expr] = field(default_factory=dict)  # module-level NAME = <literal>
    nodes: list[ast.AST] = field(default_factory=list)  # every node, in ast.walk order (one walk per module)
    _calls: list[tuple[ast.Call, str]] | None = None

    @classmethod
    def of(cls, tree: ast.Module) -> ModuleFacts:
        facts = cls(tree)
        for node in ast.walk(tree):
            facts.nodes.append(node)
            for child in ast.iter_child_nodes(node):
                facts.parents[child] = node
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        facts.imports[a.asname] = a.name
                    else:
                        head = a.name.split(".")[0]
                        facts.imports.setdefault(head, head)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    if a.name != "*":
                        facts.imports[a.asname or a.name] = f"{node.module}.{a.name}"
        for stmt in tree.body:
            if (
                isinstance(stmt, ast.Assign)
                and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)
            ):
                facts.constants[stmt.targets[0].id] = stmt.value
            elif (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and stmt.value is not None
            ):
                facts.constants[stmt.target.id] = stmt.value
        return facts

    # --- names ------------------------------------------------------------------------------------------

    def imports_any(self, *modules: str) -> bool:
        """Whether the module imports (anywhere) one of ``modules`` or something under it: rules about an
        API skip modules that cannot reach it."""
        return any(
            value == m or value.startswith(m + ".") for value in self.imports.values() for m in modules
        )

    def qualified_name(self, node: ast.AST) -> str | None:
        """``hashlib.new`` for ``hashlib.new``, ``h.new`` (``import hashlib as h``) or ``new`` (``from hashlib
        import new``); None when the expression is not a dotted name."""
        parts: list[str] = []
        cur = node
        while isinstance(cur, ast.Attribute):
            parts.append(cur.attr)
            cur = cur.value
        if not isinstance(cur, ast.Name):
            return None
        head = self.imports.get(cur.id, cur.id)
        return ".".join([head, *reversed(parts)])

    def call_name(self, call: ast.Call) -> str | None:
        return self.qualified_name(call.func)

    def calls(self) -> Iterator[tuple[ast.Call, str]]:
        """Every call whose callee is a dotted name, with that name resolved through the imports."""
        if self._calls is None:
            self._calls = []
            for node in self.nodes:
                if isinstance(node, ast.Call):
                    name = self.call_name(node)
                    if name is not None:
                        self._calls.append((node, name))
        yield from self._calls

    # --- structure --------------------------------------------------------------------------------------

    def enclosing_function(self, node: ast.AST) -> _Func | None:
        cur = self.parents.get(node)
        while cur is not None:
            if isinstance(cur, ast.FunctionDef | ast.AsyncFunctionDef):
                return cur
            cur = self.parents.get(cur)
        return None

    def statement_of(self, node: ast.AST) -> ast.stmt | None:
        cur: ast.AST | None = node
        while cur is not None and not isinstance(cur, ast.stmt):
            cur = self.parents.get(cur)
        return cur

    def literal(self, expr: ast.AST | None, func: _Func | None = None, _depth: int = 0) -> Any:
        """The constant value of ``expr`` (following names bound once to a literal), or ``NotConstant``."""
        if expr is None or _depth > 5:
            return NOT_CONSTANT
        if isinstance(expr, ast.Name):
            bound = self.binding(expr.id, func)
            return self.literal(bound, None, _depth + 1) if bound is not None else NOT_CONSTANT
        try:
            return ast.literal_eval(expr)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return NOT_CONSTANT

    def binding(self, name: str, func: _Func | None) -> ast.expr | None:
        """The value ``name`` is bound to when it is assigned exactly once in ``func`` (else at module level)."""
        if func is not None:
            values = assignments(func).get(name)
            if values is not None:
                return values[0] if len(values) == 1 else None
            if name in parameter_names(func):
                return None
        return self.constants.get(name)


class _NotConstant:
    def __repr__(self) -> str:
        return "NOT_CONSTANT"


NOT_CONSTANT: Any = _NotConstant()


def parameter_names(func: _Func) -> list[str]:
    a = func.args
    names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
    if a.vararg:
        names.append(a.vararg.arg)
    if a.kwarg:
        names.append(a.kwarg.arg)
    return [n for n in names if n not in {"self", "cls"}]


_ASSIGN_CACHE: dict[int, tuple[_Func, dict[str, list[ast.expr]]]] = {}


def assignments(func: _Func) -> dict[str, list[ast.expr]]:
    """Every value assigned to each simple name in ``func`` (for loops count the iterable)."""
    cached = _ASSIGN_CACHE.get(id(func))
    if cached is not None and cached[0] is func:
        return cached[1]
    out: dict[str, list[ast.expr]] = {}

    def bind(target: ast.AST, value: ast.expr) -> None:
        if isinstance(target, ast.Name):
            out.setdefault(target.id, []).append(value)
        elif isinstance(target, ast.Tuple | ast.List):
            for elt in target.elts:
                bind(elt, value)
        elif isinstance(target, ast.Starred):
            bind(target.value, value)

    for node in walk_function(func):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                bind(t, node.value)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.NamedExpr):
            if node.value is not None:
                bind(node.target, node.value)
        elif isinstance(node, ast.For | ast.AsyncFor):
            bind(node.target, node.iter)
        elif isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                if item.optional_vars is not None:
                    bind(item.optional_vars, item.context_expr)
    if len(_ASSIGN_CACHE) > 4096:
        _ASSIGN_CACHE.clear()
    _ASSIGN_CACHE[id(func)] = (func, out)
    return out


def walk_function(func: _Func) -> Iterator[ast.AST]:
    """The nodes of ``func``'s body, not descending into nested functions or classes."""
    stack: list[ast.AST] = list(reversed(func.body))
    while stack:
        node = stack.pop()
        yield node
        for child in reversed(list(ast.iter_child_nodes(node))):
            if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
                stack.append(child)


def names_in(expr: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)}


def parameter_roots(expr: ast.AST, func: _Func | None, limit: int = 64) -> list[str]:
    """The parameters of ``func`` that ``expr`` derives from through local assignments (a cheap def-use walk).

    Names are followed through every assignment in the function, whatever the order: over-approximate, and
    the rules that use it only ask "could this value come from a caller?".
    """
    if func is None:
        return []
    params = set(parameter_names(func))
    binds = assignments(func)
    seen: set[str] = set()
    todo = list(names_in(expr))
    roots: list[str] = []
    while todo and len(seen) < limit:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in params and name not in roots:
            roots.append(name)
        for value in binds.get(name, []):
            todo.extend(names_in(value) - seen)
    return roots


def derived_names(expr: ast.AST, func: _Func | None, limit: int = 64) -> set[str]:
    """Every local name ``expr`` derives from (itself included), through assignments in ``func``."""
    if func is None:
        return names_in(expr)
    binds = assignments(func)
    seen: set[str] = set()
    todo = list(names_in(expr))
    while todo and len(seen) < limit:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for value in binds.get(name, []):
            todo.extend(names_in(value) - seen)
    return seen


def exits(body: Iterable[ast.stmt]) -> bool:
    """Whether a block always leaves the function (its last statement raises or returns)."""
    stmts = list(body)
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, ast.Raise | ast.Return | ast.Continue | ast.Break):
        return True
    if isinstance(last, ast.If):
        return exits(last.body) and exits(last.orelse)
    return False


@dataclass(frozen=True)
class Guard:
    """A membership check on ``names`` against ``values`` that dominates a statement."""

    names: frozenset[str]
    values: Any  # the literal collection checked against, or NOT_CONSTANT
    node: ast.AST


def dominating_membership_guards(facts: ModuleFacts, stmt: ast.stmt, func: _Func | None) -> list[Guard]:
    """Membership checks that must pass before ``stmt`` runs.

    Two shapes: an earlier ``if x not in C: raise/return`` in the same block or an enclosing one, and an
    enclosing ``if x in C:`` whose body holds ``stmt``. ``C`` is resolved to its literal value when it is one.
    """
    out: list[Guard] = []
    child: ast.AST = stmt
    parent = facts.parents.get(child)
    while parent is not None and child is not func:
        for field_name in ("body", "orelse", "finalbody", "handlers"):
            block = getattr(parent, field_name, None)
            if not isinstance(block, list) or child not in block:
                continue
            if isinstance(parent, ast.If) and field_name == "body":
                out.extend(_membership(facts, parent.test, func, positive=True))
            if isinstance(parent, ast.If) and field_name == "orelse":
                out.extend(_membership(facts, parent.test, func, positive=False))
            for earlier in block[: block.index(child)]:
                if isinstance(earlier, ast.If) and exits(earlier.body):
                    out.extend(_membership(facts, earlier.test, func, positive=False))
                elif isinstance(earlier, ast.Assert):
                    out.extend(_membership(facts, earlier.test, func, positive=True))
        if isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef):
            break
        child, parent = parent, facts.parents.get(parent)
    return out


def _membership(facts: ModuleFacts, test: ast.expr, func: _Func | None, *, positive: bool) -> list[Guard]:
    """Guards established when ``test`` is true (``positive``) or false."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _membership(facts, test.operand, func, positive=not positive)
    if isinstance(test, ast.BoolOp):
        # "a and b" true => both hold; "a or b" false => neither holds
        if (isinstance(test.op, ast.And) and positive) or (isinstance(test.op, ast.Or) and not positive):
            return [g for v in test.values for g in _membership(facts, v, func, positive=positive)]
        return []
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        op = test.ops[0]
        holds = (isinstance(op, ast.In) and positive) or (isinstance(op, ast.NotIn) and not positive)
        if holds:
            container = test.comparators[0]
            values = facts.literal(container, func)
            if values is NOT_CONSTANT and isinstance(container, ast.Call):
                # dict.keys() / set(...) of a literal
                inner = container.func.value if isinstance(container.func, ast.Attribute) else None
                if inner is not None:
                    values = facts.literal(inner, func)
            return [Guard(frozenset(names_in(test.left)), values, test)]
        eq = (isinstance(op, ast.Eq) and positive) or (isinstance(op, ast.NotEq) and not positive)
        if eq:
            value = facts.literal(test.comparators[0], func)
            if value is not NOT_CONSTANT:
                return [Guard(frozenset(names_in(test.left)), (value,), test)]
    return []


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def argument(call: ast.Call, position: int, name: str | None = None) -> ast.expr | None:
    """The argument at ``position`` or passed as ``name=``."""
    if name is not None:
        kw = keyword(call, name)
        if kw is not None:
            return kw
    if position < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args[: position + 1]):
        return call.args[position]
    return None


def facts_of(ctx: Any) -> ModuleFacts:
    """The :class:`ModuleFacts` of an analysis context, computed once per context."""
    cached = getattr(ctx, "_pure_ast_facts", None)
    if isinstance(cached, ModuleFacts) and cached.tree is ctx.tree:
        return cached
    facts = ModuleFacts.of(ctx.tree)
    try:
        object.__setattr__(ctx, "_pure_ast_facts", facts)
    except (AttributeError, TypeError):  # a context with __slots__: recompute next time
        pass
    return facts


def attacker_flow(ctx: Any, expr: ast.expr, sink: ast.AST, note: str) -> tuple[str, list[Any]] | None:
    """Whether ``expr`` carries attacker data: (where it comes from, source-to-sink trace), or None.

    Uses the taint engine of the analysis context (entry function, source kinds, call summaries) when the
    context has one; otherwise falls back to the parameters of the enclosing function.
    """
    from realcode.analysis.findings import TraceStep
    from realcode.analysis.security.rules.base import node_location

    taint_of = getattr(ctx, "taint_of", None)
    if taint_of is not None:
        taint = taint_of(expr)
        if taint is None:
            return None
        trace = list(ctx.trace(taint, sink, note))
        origin = trace[0].note if len(trace) > 1 else "attacker-controlled input"
        return origin, trace
    facts = facts_of(ctx)
    func = facts.enclosing_function(sink)
    roots = parameter_roots(expr, func)
    if not roots or func is None:
        return None
    origin = f"parameter `{roots[0]}`"
    trace = [
        TraceStep(location=node_location(ctx.path, func), note=f"{origin} (source)"),
        TraceStep(location=node_location(ctx.path, sink), note=note),
    ]
    return origin, trace
