"""Shared helpers of the "missing protection" rules (CWE 862, 863, 352, 770, 400, 120, 915, 200, 347, 367).

These rules all ask one question: *is a sensitive operation reached on a path where the check that protects it
does not hold?* The helpers here answer its parts on the plain ``ast`` of a module:

- :class:`ModuleFacts`: what the module defines at its top level (data stores, classes, functions, imports);
- :class:`FunctionFacts`: for one function, its nodes by type, parent links, and which of its parameters every
  local name derives from (a small flow-insensitive provenance analysis: the rules need to know *which* input a
  value comes from, e.g. the actor's id versus the resource's id, which a boolean taint bit does not say);
- :func:`dominating_tests`: the conditions known to hold when a node runs, read from the structure of the code:
  enclosing ``if``/``while`` tests (with their polarity), ``assert`` statements and the early exits that precede
  the node in any enclosing block (``if not ok: raise``/``return``/``continue``/``break``). Python's structured
  control flow makes this the dominator relation restricted to tests, without building a CFG; it does not see
  checks made in a callee or through exceptions raised by a helper (said in each rule's ``blind_spots``).

Everything here is pure and linear in the size of the function, so the rules stay well inside the analyzer's
time budget. The facts are computed once per module (:func:`analysis_of`) and shared by all these rules. They
are built on the plain AST rather than on the taint engine's CFG because the rules need per-input provenance and
structural dominance of tests, which the engine's boolean taint does not expose.
"""

from __future__ import annotations

import ast
import bisect
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from realcode.analysis.security.engine.names import dotted as dotted_name

#: Calls that build an empty or literal container at module level: a module-level name bound to one of these is
#: a data store that outlives a single call.
CONTAINER_FACTORIES = frozenset(
    {
        "dict",
        "list",
        "set",
        "defaultdict",
        "OrderedDict",
        "Counter",
        "deque",
        "Queue",
        "LifoQueue",
        "PriorityQueue",
        "SimpleQueue",
        "bytearray",
        "array",
    }
)

#: Buffer types: growth of these is a buffer copy (CWE-120) rather than collection growth (CWE-770).
BUFFER_FACTORIES = frozenset({"bytearray", "array", "memoryview"})

#: Methods that mutate the container they are called on.
MUTATING_METHODS = frozenset(
    {
        "append",
        "appendleft",
        "extend",
        "extendleft",
        "insert",
        "remove",
        "pop",
        "popitem",
        "clear",
        "update",
        "setdefault",
        "add",
        "discard",
        "put",
        "put_nowait",
    }
)

#: Methods that make a container bigger (the subset of :data:`MUTATING_METHODS` that allocates).
GROWING_METHODS = frozenset(
    {"append", "appendleft", "extend", "extendleft", "insert", "add", "put", "put_nowait"}
)


# --------------------------------------------------------------------------------------------------------------
# Small AST utilities


def call_name(call: ast.Call) -> str:
    """Dotted name of a call's callee (``os.path.exists``, ``open``, ``x.append``), or ``""``."""
    return dotted(call.func)


def dotted(node: ast.AST) -> str:
    """Dotted name of a Name/Attribute chain, or ``""`` when the chain has another kind of node."""
    return dotted_name(node) or ""


def method_name(call: ast.Call) -> str:
    """The attribute name of a method call (``append`` in ``x[k].append(v)``), or ``""``."""
    return call.func.attr if isinstance(call.func, ast.Attribute) else ""


def root_name(node: ast.AST) -> str | None:
    """The name at the root of a Subscript/Attribute/Call-receiver chain (``db`` in ``db["users"][k].x``)."""
    cur: ast.AST = node
    while True:
        if isinstance(cur, ast.Subscript | ast.Attribute):
            cur = cur.value
        elif isinstance(cur, ast.Call) and isinstance(cur.func, ast.Attribute):
            cur = cur.func.value
        elif isinstance(cur, ast.Name):
            return cur.id
        else:
            return None


def subscript_chain(node: ast.AST) -> list[ast.Subscript]:
    """The subscripts of a ``a[x][y].z[w]`` chain, outermost first."""
    out: list[ast.Subscript] = []
    cur: ast.AST = node
    while isinstance(cur, ast.Subscript | ast.Attribute):
        if isinstance(cur, ast.Subscript):
            out.append(cur)
        cur = cur.value
    return out


def names_in(node: ast.AST | None) -> Iterator[str]:
    """Every Name read in ``node`` (including inside nested expressions)."""
    if node is None:
        return
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            yield sub.id


_NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
# Children that carry no code of their own (``Load()``, ``Add()``...): shared singletons, skipped in traversals.
_LEAF_MARKERS = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)
_SKIPPED = _NESTED_SCOPES + _LEAF_MARKERS


#: Functions that raise or exit instead of returning.
NORETURN_CALLS = frozenset({"abort", "exit", "_exit", "quit"})


def terminates(body: list[ast.stmt]) -> bool:
    """Whether a block always leaves the enclosing block (raise/return/continue/break, or an if/else of such)."""
    if not body:
        return False
    last = body[-1]
    if isinstance(last, ast.Raise | ast.Return | ast.Continue | ast.Break):
        return True
    if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call):
        # Calls that never return: ``abort(403)`` (Flask/Werkzeug), ``sys.exit()``.
        return dotted(last.value.func).split(".")[-1] in NORETURN_CALLS
    if isinstance(last, ast.If):
        return terminates(last.body) and terminates(last.orelse)
    if isinstance(last, ast.With | ast.AsyncWith | ast.Try):
        return terminates(last.body)
    return False


def is_len_call(node: ast.AST) -> bool:
    """``len(x)`` or a size method such as ``q.qsize()`` / ``x.__len__()``."""
    if not isinstance(node, ast.Call):
        return False
    name = call_name(node)
    return name == "len" or method_name(node) in {"qsize", "__len__", "getbuffer"}


def constant_like(node: ast.AST, module: ModuleFacts | None = None) -> bool:
    """A literal, arithmetic over literals, or a module-level constant name (``MAX``, ``8 * 1024``)."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp):
        return constant_like(node.operand, module)
    if isinstance(node, ast.BinOp):
        return constant_like(node.left, module) and constant_like(node.right, module)
    if isinstance(node, ast.Name):
        return module is not None and node.id in module.constants
    return False


# --------------------------------------------------------------------------------------------------------------
# Module facts


@dataclass
class ModuleFacts:
    """What a module binds at its top level."""

    tree: ast.Module
    stores: dict[str, ast.expr] = field(
        default_factory=dict
    )  # name -> container value (dict/list/... literal)
    constants: dict[str, ast.expr] = field(default_factory=dict)  # name -> scalar constant value
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)  # every class in the module, nested too
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)  # top level
    imports: dict[str, str] = field(default_factory=dict)  # local name -> imported dotted name
    # id(method) -> attributes of ``self`` that its class binds to containers (``self.items = {}``)
    instance_stores: dict[int, dict[str, ast.expr]] = field(default_factory=dict)

    @classmethod
    def of(cls, tree: ast.Module, nodes_of: NodesOf | None = None) -> ModuleFacts:
        """Facts of ``tree``; ``nodes_of`` (type -> nodes of that type) saves a walk when the caller has one."""
        facts = cls(tree=tree)
        find = nodes_of or _walker(tree)
        for node in find(ast.ClassDef):
            assert isinstance(node, ast.ClassDef)
            facts.classes.setdefault(node.name, node)
        for node in find(ast.Import):
            assert isinstance(node, ast.Import)
            for alias in node.names:
                facts.imports[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        for node in find(ast.ImportFrom):
            assert isinstance(node, ast.ImportFrom)
            if node.module:
                for alias in node.names:
                    facts.imports[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        for cls_node in facts.classes.values():
            attrs = _container_attributes(cls_node)
            if attrs:
                for item in cls_node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        facts.instance_stores[id(item)] = attrs
        for stmt in tree.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                facts.functions[stmt.name] = stmt
            targets: list[ast.expr] = []
            value: ast.expr | None = None
            if isinstance(stmt, ast.Assign):
                targets, value = stmt.targets, stmt.value
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                targets, value = [stmt.target], stmt.value
            if value is not None:
                for t in targets:
                    if isinstance(t, ast.Name):
                        if is_container_value(value, facts.resolve):
                            facts.stores[t.id] = value
                        elif constant_like(value):
                            facts.constants[t.id] = value
        return facts

    def resolve(self, name: str) -> str:
        """Dotted name with its first component replaced by what it was imported as (``loads`` -> ``json.loads``)."""
        head, _, rest = name.partition(".")
        full = self.imports.get(head)
        if full is None:
            return name
        return f"{full}.{rest}" if rest else full

    def is_buffer(self, name: str) -> bool:
        value = self.stores.get(name)
        return (
            isinstance(value, ast.Call)
            and self.resolve(dotted(value.func)).split(".")[-1] in BUFFER_FACTORIES
        )

    def proxy_classes(self) -> set[str]:
        """Classes that filter attribute access (define ``__getattr__``/``__getattribute__``/``__slots__`` guards)."""
        out: set[str] = set()
        for name, cls in self.classes.items():
            for item in cls.body:
                if isinstance(item, ast.FunctionDef) and item.name in {"__getattr__", "__getattribute__"}:
                    out.add(name)
        return out


NodesOf = Callable[[type[ast.AST]], Sequence[ast.AST]]


def _walker(tree: ast.AST) -> NodesOf:
    """A ``nodes_of`` over one walk of ``tree``."""
    by_type: dict[type[ast.AST], list[ast.AST]] = {}
    for node in ast.walk(tree):
        by_type.setdefault(type(node), []).append(node)
    return lambda kind: by_type.get(kind, [])


def _container_attributes(cls: ast.ClassDef) -> dict[str, ast.expr]:
    """Attributes a class binds to containers (class-level ``items = {}`` or ``self.items = {}`` in a method),
    with the container value."""
    out: dict[str, ast.expr] = {}
    for item in cls.body:
        if isinstance(item, ast.Assign) and is_container_value(item.value):
            out.update((t.id, item.value) for t in item.targets if isinstance(t, ast.Name))
        elif isinstance(item, ast.FunctionDef):
            for node in ast.walk(item):
                if isinstance(node, ast.Assign) and is_container_value(node.value):
                    for t in node.targets:
                        if (
                            isinstance(t, ast.Attribute)
                            and isinstance(t.value, ast.Name)
                            and t.value.id == "self"
                        ):
                            out[t.attr] = node.value
    return out


def is_container_value(value: ast.expr, resolve: Callable[[str], str] | None = None) -> bool:
    """A container display or a call of a container type (through import aliases when ``resolve`` is given)."""
    if isinstance(value, ast.Dict | ast.List | ast.Set | ast.DictComp | ast.ListComp | ast.SetComp):
        return True
    if isinstance(value, ast.Call):
        name = dotted(value.func)
        if resolve is not None:
            name = resolve(name)
        return name.split(".")[-1] in CONTAINER_FACTORIES
    return False


# --------------------------------------------------------------------------------------------------------------
# Function facts: parents, provenance of local names


@dataclass
class FunctionFacts:
    """One function: its parameters, parent links and the parameters each local name derives from."""

    node: ast.FunctionDef | ast.AsyncFunctionDef
    params: list[str]
    parents: dict[ast.AST, ast.AST]
    deps: dict[str, frozenset[str]]  # local name -> parameters it derives from
    bindings: dict[str, list[ast.expr]]  # local name -> expressions assigned to it (for-loops: the iterable)
    loop_vars: set[str]  # names bound by a for-loop target
    used: set[str]  # every name read in the body
    nodes: list[ast.AST]  # every node of the body (nested functions and classes excluded), in walk order
    defaulted: set[str]  # parameters with a default value (configuration rather than caller identity)
    by_type: dict[type[ast.AST], list[ast.AST]] = field(default_factory=dict)
    _outside: set[str] | None = None
    guard_cache: dict[int, list[Guard]] = field(default_factory=dict)  # id(node) -> its dominating tests
    _exits: dict[int, tuple[dict[int, int], list[tuple[int, list[Guard]]]]] = field(default_factory=dict)

    def block_exits(self, block: list[ast.stmt]) -> tuple[dict[int, int], list[tuple[int, list[Guard]]]]:
        """For a statement list: the position of each statement, and the early exits it contains in order."""
        known = self._exits.get(id(block))
        if known is None:
            positions = {id(stmt): i for i, stmt in enumerate(block)}
            exits = [(i, gs) for i, stmt in enumerate(block) if (gs := list(_exit_guards(stmt)))]
            known = (positions, exits)
            self._exits[id(block)] = known
        return known

    @property
    def used_outside_tests(self) -> set[str]:
        """Parameters read somewhere other than a branch test (``if``/``while``/``assert``/conditional)."""
        if self._outside is None:
            params = set(self.params)
            out: set[str] = set()
            for node in self.by_type.get(ast.Name, []):
                assert isinstance(node, ast.Name)
                if node.id in params and node.id not in out and not self._in_test(node):
                    out.add(node.id)
            self._outside = out
        return self._outside

    def _in_test(self, node: ast.AST) -> bool:
        for parent, child in self.ancestors(node):
            if isinstance(parent, ast.If | ast.While | ast.IfExp | ast.Assert) and child is parent.test:
                return True
            if isinstance(parent, ast.stmt) and not isinstance(parent, ast.If | ast.While | ast.Assert):
                return False
        return False

    def of_type(self, *kinds: type[ast.AST]) -> list[ast.AST]:
        """The nodes of the body of the given AST types, in walk order within each type."""
        if len(kinds) == 1:
            return self.by_type.get(kinds[0], [])
        return [n for k in kinds for n in self.by_type.get(k, [])]

    @classmethod
    def of(cls, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> FunctionFacts:
        args = fn.args
        params = [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
        if args.vararg:
            params.append(args.vararg.arg)
        if args.kwarg:
            params.append(args.kwarg.arg)
        params = [p for p in params if p not in {"self", "cls"}]
        parents: dict[ast.AST, ast.AST] = {stmt: fn for stmt in fn.body}
        bindings: dict[str, list[ast.expr]] = {}
        loop_vars: set[str] = set()
        used: set[str] = set()
        flows: list[tuple[list[str], ast.AST]] = []  # (targets, value) pairs for the provenance fixpoint
        nodes: list[ast.AST] = []
        by_type: dict[type[ast.AST], list[ast.AST]] = {}
        # One pre-order traversal gives the node list and the parent links (this is the hot path of the rules).
        stack: list[ast.AST] = list(reversed(fn.body))
        while stack:
            node = stack.pop()
            nodes.append(node)
            children: list[ast.AST] = []
            for name in node._fields:
                value = getattr(node, name, None)
                if isinstance(value, ast.AST):
                    if not isinstance(value, _SKIPPED):
                        children.append(value)
                elif isinstance(value, list):
                    children.extend(
                        v for v in value if isinstance(v, ast.AST) and not isinstance(v, _SKIPPED)
                    )
            for child in children:
                parents[child] = node
            stack.extend(reversed(children))
            kind = type(node)
            by_type.setdefault(kind, []).append(node)
            if kind is ast.Name:
                if isinstance(node.ctx, ast.Load):  # type: ignore[attr-defined]
                    used.add(node.id)  # type: ignore[attr-defined]
            elif kind is ast.Assign:
                assert isinstance(node, ast.Assign)
                tnames = [n for t in node.targets for n in _target_names(t)]
                flows.append((tnames, node.value))
                for n in tnames:
                    bindings.setdefault(n, []).append(node.value)
                # Subscript/attribute stores taint their root (``d[k] = tainted`` makes ``d`` carry ``tainted``).
                for t in node.targets:
                    if isinstance(t, ast.Subscript | ast.Attribute):
                        r = root_name(t)
                        if r is not None:
                            flows.append(([r], node.value))
            elif kind is ast.AnnAssign:
                assert isinstance(node, ast.AnnAssign)
                if node.value is not None:
                    tnames = list(_target_names(node.target))
                    flows.append((tnames, node.value))
                    for n in tnames:
                        bindings.setdefault(n, []).append(node.value)
            elif kind is ast.AugAssign:
                assert isinstance(node, ast.AugAssign)
                flows.append((list(_target_names(node.target)), node.value))
            elif kind is ast.For or kind is ast.AsyncFor or kind is ast.comprehension:
                assert isinstance(node, ast.For | ast.AsyncFor | ast.comprehension)
                tnames = list(_target_names(node.target))
                flows.append((tnames, node.iter))
                loop_vars.update(tnames)
                for n in tnames:
                    bindings.setdefault(n, []).append(node.iter)
            elif kind is ast.withitem:
                assert isinstance(node, ast.withitem)
                if node.optional_vars is not None:
                    tnames = list(_target_names(node.optional_vars))
                    flows.append((tnames, node.context_expr))
                    for n in tnames:
                        bindings.setdefault(n, []).append(node.context_expr)
            elif kind is ast.NamedExpr:
                assert isinstance(node, ast.NamedExpr)
                flows.append(([node.target.id], node.value))
                bindings.setdefault(node.target.id, []).append(node.value)
        deps: dict[str, frozenset[str]] = {p: frozenset({p}) for p in params}
        flow_names = [(tnames, set(names_in(value))) for tnames, value in flows]
        for _ in range(4):
            changed = False
            for tnames, sources in flow_names:
                src: set[str] = set()
                for n in sources:
                    d = deps.get(n)
                    if d:
                        src |= d
                if not src:
                    continue
                for tname in tnames:
                    old = deps.get(tname, frozenset())
                    if not src <= old:
                        deps[tname] = frozenset(old | src)
                        changed = True
            if not changed:
                break
        positional = [*args.posonlyargs, *args.args]
        defaulted = (
            {a.arg for a in positional[len(positional) - len(args.defaults) :]} if args.defaults else set()
        )
        defaulted |= {a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None}
        return cls(fn, params, parents, deps, bindings, loop_vars, used, nodes, defaulted, by_type)

    def params_of(self, node: ast.AST | None) -> set[str]:
        """Parameters that ``node`` derives from."""
        out: set[str] = set()
        for n in names_in(node):
            out |= self.deps.get(n, frozenset())
        return out

    def ancestors(self, node: ast.AST) -> Iterator[tuple[ast.AST, ast.AST]]:
        """(ancestor, child-on-the-path) pairs from ``node`` up to the function."""
        child = node
        parent = self.parents.get(child)
        while parent is not None:
            yield parent, child
            child = parent
            parent = self.parents.get(child)

    def enclosing_statement(self, node: ast.AST) -> ast.stmt | None:
        cur: ast.AST | None = node
        while cur is not None and not isinstance(cur, ast.stmt):
            cur = self.parents.get(cur)
        return cur


def _target_names(target: ast.AST) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Tuple | ast.List):
        for elt in target.elts:
            yield from _target_names(elt)
    elif isinstance(target, ast.Starred):
        yield from _target_names(target.value)


# --------------------------------------------------------------------------------------------------------------
# Dominating tests


@dataclass(frozen=True)
class Guard:
    """A condition known to hold at a node: ``test`` evaluated to ``holds`` on every path reaching it."""

    test: ast.expr
    holds: bool
    exits: bool  # an early exit (``if bad: raise``) rather than an enclosing block


#: At most this many dominating tests are collected for a node (innermost first): real code has a handful, and
#: the bound keeps generated code with thousands of early exits linear.
MAX_GUARDS = 64


def dominating_tests(facts: FunctionFacts, node: ast.AST) -> list[Guard]:
    """The tests that dominate ``node`` (see the module docstring), innermost first (at most :data:`MAX_GUARDS`)."""
    cached = facts.guard_cache.get(id(node))
    if cached is not None:
        return cached
    out: list[Guard] = []
    for parent, child in facts.ancestors(node):
        if len(out) >= MAX_GUARDS:
            break
        if isinstance(parent, ast.If | ast.While):
            if child is parent.test:
                pass
            elif any(child is s for s in parent.body):
                out.append(Guard(parent.test, True, False))
            elif any(child is s for s in parent.orelse):
                out.append(Guard(parent.test, False, False))
        elif isinstance(parent, ast.IfExp):
            if child is parent.body:
                out.append(Guard(parent.test, True, False))
            elif child is parent.orelse:
                out.append(Guard(parent.test, False, False))
        elif isinstance(parent, ast.BoolOp) and isinstance(parent.op, ast.And):
            for v in parent.values:
                if v is child:
                    break
                out.append(Guard(v, True, False))
        elif isinstance(parent, ast.comprehension) and child is not parent.iter:
            out.extend(Guard(t, True, False) for t in parent.ifs)
        elif isinstance(parent, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            for gen in parent.generators:
                out.extend(Guard(t, True, False) for t in gen.ifs)
        if isinstance(child, ast.stmt):
            for block in _blocks(parent):
                positions, guards = facts.block_exits(block)
                idx = positions.get(id(child))
                if idx is None:
                    continue
                # Early exits before ``child`` in this block, nearest first.
                k = bisect.bisect_left(guards, idx, key=lambda pair: pair[0])
                for _, gs in reversed(guards[:k]):
                    out.extend(gs)
                    if len(out) >= MAX_GUARDS:
                        break
    result = out[:MAX_GUARDS]
    facts.guard_cache[id(node)] = result
    return result


def _blocks(node: ast.AST) -> Iterable[list[ast.stmt]]:
    for name in ("body", "orelse", "finalbody"):
        block = getattr(node, name, None)
        if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
            yield block
    if isinstance(node, ast.Try):
        for handler in node.handlers:
            yield handler.body


def _exit_guards(stmt: ast.stmt) -> Iterator[Guard]:
    if isinstance(stmt, ast.Assert):
        yield Guard(stmt.test, True, True)
    elif isinstance(stmt, ast.If):
        if terminates(stmt.body) and not terminates(stmt.orelse):
            yield Guard(stmt.test, False, True)
        elif terminates(stmt.orelse) and not terminates(stmt.body):
            yield Guard(stmt.test, True, True)
    elif isinstance(stmt, ast.Try | ast.With | ast.AsyncWith):
        # ``try: if bad: raise ...`` and ``with lock: if bad: return`` still exit before what follows.
        for inner in stmt.body:
            yield from _exit_guards(inner)


def comparisons(test: ast.expr) -> Iterator[ast.Compare]:
    """Every comparison inside a test."""
    for node in ast.walk(test):
        if isinstance(node, ast.Compare):
            yield node


def is_size_bound(test: ast.expr) -> bool:
    """A test bounding a size: ``len(x) < N``, ``q.qsize() >= N``."""
    for cmp in comparisons(test):
        if not any(isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE) for op in cmp.ops):
            continue
        for side in [cmp.left, *cmp.comparators]:
            for sub in ast.walk(side):
                if is_len_call(sub):
                    return True
    return False


#: Decorator methods that register a web route or error handler (Flask, FastAPI, Starlette, aiohttp, Sanic).
ROUTE_DECORATORS = frozenset({"route", "get", "post", "put", "patch", "delete", "api_route", "websocket"})


def is_route_handler(fn: ast.FunctionDef | ast.AsyncFunctionDef, extra: Iterable[str] = ()) -> bool:
    """Whether a function is registered as a web handler by a decorator (``@app.route``, ``@router.post``)."""
    names = ROUTE_DECORATORS | set(extra)
    for deco in fn.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if isinstance(target, ast.Attribute) and target.attr in names:
            return True
    return False


def source_functions(tree: ast.Module, entry: str | None) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Functions whose parameters are attacker-controlled: the entry function when one is named, else every
    public top-level function and method (a library's public surface), as the taint engine chooses them."""
    if entry is not None:
        # A later definition replaces an earlier one of the same name: only the last one can be called.
        last = [
            s for s in tree.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef) and s.name == entry
        ]
        yield from last[-1:]
        return
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and not stmt.name.startswith("_"):
            yield stmt
        elif isinstance(stmt, ast.ClassDef):
            for item in stmt.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and (
                    not item.name.startswith("_") or item.name == "__call__"
                ):
                    yield item


# --------------------------------------------------------------------------------------------------------------
# Access to the analysis context, with per-module caching shared by all the protection rules


@dataclass
class Analysis:
    """Module and function facts of one analyzed module, computed once and shared by the protection rules."""

    tree: ast.Module
    entry: str | None
    module: ModuleFacts
    functions: list[FunctionFacts]
    nodes_of: NodesOf
    sources: frozenset[str] | None = None  # the scan's source kinds, when the context says
    memo: dict[str, object] = field(default_factory=dict)  # per-module results rules share (call summaries)
    _all: list[FunctionFacts] | None = None

    def function_defs(self) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
        """Every function definition of the module, nested ones included (plain ones first, then async)."""
        for node in [*self.nodes_of(ast.FunctionDef), *self.nodes_of(ast.AsyncFunctionDef)]:
            assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            yield node

    def all_functions(self) -> list[FunctionFacts]:
        """Facts of every function of the module (for rules that do not depend on attacker input)."""
        if self._all is None:
            chosen = {id(f.node): f for f in self.functions}
            self._all = [chosen.get(id(node)) or FunctionFacts.of(node) for node in self.function_defs()]
        return self._all


#: Attribute under which the facts are kept on the analysis context (one context per scanned module).
_CONTEXT_SLOT = "_protection_analysis"


def analysis_of(ctx: object) -> Analysis | None:
    """Facts of the module behind ``ctx`` (an ``AnalysisContext``), computed once and kept on the context for the
    other protection rules of the same scan."""
    tree = getattr(ctx, "tree", None) or getattr(ctx, "module", None)
    if not isinstance(tree, ast.Module):
        return None
    entry = getattr(ctx, "entry", None)
    if not isinstance(entry, str) or not entry:
        entry = None
    raw_sources = getattr(ctx, "sources", None)
    sources = frozenset(raw_sources) if isinstance(raw_sources, set | frozenset) else None
    cached = getattr(ctx, _CONTEXT_SLOT, None)
    if (
        isinstance(cached, Analysis)
        and cached.tree is tree
        and cached.entry == entry
        and cached.sources == sources
    ):
        return cached
    nodes_of = getattr(ctx, "nodes_of", None)
    find: NodesOf = nodes_of if callable(nodes_of) else _walker(tree)
    module = ModuleFacts.of(tree, find)
    chosen = list(source_functions(tree, entry))
    if entry is not None and not chosen:
        # An entry that the module does not define: fall back to every top-level function.
        chosen = list(source_functions(tree, None))
    if sources is not None and "params" not in sources:
        # Parameters are not attacker data in this scan, except a web route's (its URL and form fields).
        chosen = [fn for fn in chosen if "web" in sources and is_route_handler(fn)]
    result = Analysis(tree, entry, module, [FunctionFacts.of(fn) for fn in chosen], find, sources)
    try:
        setattr(ctx, _CONTEXT_SLOT, result)  # kept with the context, so concurrent scans never share it
    except (AttributeError, TypeError):
        pass  # a context that takes no attributes: the facts are recomputed per rule
    return result
