"""The taint analysis: a worklist fixpoint over each function's CFG, with call summaries for local functions.

Entry points: :class:`ModuleAnalysis` analyzes a whole module once; afterwards ``expr_taint`` holds the taint of
every tainted expression node (joined over all calling contexts) and ``stmt_state`` the variable taints on entry
to every statement. Rules read these through :class:`realcode.analysis.security.context.AnalysisContext`.

Interprocedural analysis is by call-site specialization: a call of a function defined in the same module analyzes
the callee with the taint of the actual arguments (memoized on the taint signature), so the callee's return taint
flows back to the caller and sinks inside the callee are seen with the caller's sources, trace included. Depth,
number of analyses, fixpoint iterations and CPU time are all bounded (see :class:`Budget`).
"""

from __future__ import annotations

import ast
import re
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from realcode.analysis.security.engine.cfg import CFG, EdgeLabel, build_cfg
from realcode.analysis.security.engine.guards import (
    MARK_NO_PARENT,
    MARK_NOT_ABSOLUTE,
    NEED_NORM,
    GuardModel,
    Refinement,
    probe_kinds,
)
from realcode.analysis.security.engine.models import (
    FULL_SANITIZER_PREFIXES,
    FULL_SANITIZERS,
    MARK_BUILT,
    MARK_JOINED,
    MARK_NORMALIZED,
    MUTATORS,
    NETWORK_METHODS,
    NON_PROPAGATING_METHODS,
    NORMALIZER_METHODS,
    NORMALIZERS,
    OPAQUE_RESULTS,
    PATH_JOINERS,
    SANITIZER_METHODS,
    SANITIZERS,
    SOURCE_ATTRS,
    SOURCE_CALLS,
    URL_PARSERS,
)
from realcode.analysis.security.engine.names import build_import_map, dotted, qualify
from realcode.analysis.security.engine.taint import State, Taint, join_all, join_states, states_equal

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
_CRLF = frozenset({"log", "header"})
# Markup: a closing tag, a tag closed right away (<b>, <br/>) or carrying an attribute, an XML declaration or
# a comment. "<Response [200]>"-style reprs are not markup.
_MARKUP_RE = re.compile(
    r"</\s*[A-Za-z][\w:.-]*\s*>|<[A-Za-z][\w:.-]*(?:\s*/?>|\s+[\w:.-]+\s*=)|<\?xml|<!--|<!DOCTYPE", re.I
)
# A literal that pins the host of a URL: "scheme://host/" (a delimiter after the host) or a "/path" (one slash).
_FIXED_HOST = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://[^/?#{}]+[/?#]|/(?![/\\{]))")
_WEB_DECORATORS = frozenset({"route", "get", "post", "put", "delete", "patch", "api_view", "websocket"})


class BudgetExceeded(Exception):
    """Raised internally when a scan runs out of its time or work budget."""


@dataclass
class Budget:
    """Bounds on the work of one scan."""

    cpu_seconds: float = 2.0
    max_analyses: int = 400
    max_depth: int = 4
    max_visits_per_node: int = 30
    started: float = field(default_factory=time.process_time)
    analyses: int = 0
    exhausted: bool = False

    steps: int = 0

    def check(self) -> None:
        if time.process_time() - self.started > self.cpu_seconds:
            self.exhausted = True
            raise BudgetExceeded

    def tick(self) -> None:
        """Count one unit of work; look at the clock every 64 units."""
        self.steps += 1
        if self.steps & 63 == 0:
            self.check()


@dataclass
class Frame:
    """One analysis of one function body in one calling context."""

    func: ast.AST
    cfg: CFG
    record: bool = False
    returns: Taint | None = None
    depth: int = 0


def has_markup(text: str) -> bool:
    """Whether a literal contains HTML/XML markup (a tag, a comment or an XML declaration)."""
    return bool(_MARKUP_RE.search(text))


class ModuleAnalysis:
    """Taint facts of one module (see module docstring)."""

    def __init__(
        self,
        tree: ast.Module,
        imports: dict[str, str] | None,
        sources: frozenset[str],
        entry: str | None,
        budget: Budget | None = None,
    ) -> None:
        self.tree = tree
        # one traversal of the tree serves the engine, the context and the rules
        self.parents: dict[int, ast.AST] = {}
        self.by_type: dict[type[ast.AST], list[ast.AST]] = {}
        stack: deque[ast.AST] = deque([tree])
        parents = self.parents
        by_type = self.by_type
        while stack:
            node = stack.popleft()  # breadth first, the order of ast.walk
            by_type.setdefault(type(node), []).append(node)
            for child in ast.iter_child_nodes(node):
                parents[id(child)] = node
                stack.append(child)
        if imports is None:
            imports = build_import_map(tree, [*by_type.get(ast.Import, []), *by_type.get(ast.ImportFrom, [])])
        self.imports = imports
        self.sources = sources
        self.entry = entry
        self.budget = budget or Budget()
        self.expr_taint: dict[int, Taint] = {}
        self.stmt_state: dict[int, State] = {}
        self.url_origins: set[str] = set()  # origins that flowed into URL parsing/joining
        self.source_functions: list[FunctionNode] = []
        self.cfgs: dict[int, CFG] = {}
        self.functions: dict[str, FunctionNode] = {}
        self.methods: dict[int, dict[str, FunctionNode]] = {}  # id(class) -> name -> def
        self.class_of: dict[int, ast.ClassDef] = {}  # id(method) -> class
        self.locals: dict[int, frozenset[str]] = {}
        self.defs: dict[int, dict[str, list[ast.expr]]] = {}  # id(function or module) -> name -> values
        self.module_state: State = {}
        self.analyzed: set[int] = set()
        self._memo: dict[tuple[object, ...], Taint | None] = {}
        self._in_progress: set[tuple[object, ...]] = set()
        self._refine_cache: dict[tuple[int, bool], Refinement] = {}
        self._effect_cache: dict[int, Refinement] = {}
        self._current_defs: dict[str, list[ast.expr]] = {}
        self._module_consts: dict[str, ast.expr] = {}
        self._exit_state: State = {}
        self._nested_cache: dict[int, list[FunctionNode]] = {}
        self.class_fields: dict[tuple[int, str], Taint] = {}
        self._nested_ready = False
        self._collect()
        self.guards = GuardModel(
            imports, self._def_of, self._is_constant, self._const_str, self._guard_callee
        )

    # -- set-up ------------------------------------------------------------------------------------------------
    def _collect(self) -> None:
        for node in self.tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[node.name] = node
            elif isinstance(node, ast.ClassDef):
                table: dict[str, FunctionNode] = {}
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        table[item.name] = item
                        self.class_of[id(item)] = node
                self.methods[id(node)] = table
        self._index_assignments()
        module_defs = self.defs[id(self.tree)]
        self._alias_callables()
        for name, values in module_defs.items():
            if len(values) == 1:
                self._module_consts[name] = values[0]

    def _guard_callee(self, call: ast.Call) -> FunctionNode | None:
        func = call.func
        if isinstance(func, ast.Name):
            return self.functions.get(func.id)
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in ("self", "cls")
        ):
            for table in self.methods.values():
                if func.attr in table:
                    return table[func.attr]
        return None

    def _alias_callables(self) -> None:
        """``run = os.system`` / ``e = eval``: a name bound once to a module attribute or a builtin is that
        callable everywhere in the module (added to the import map)."""
        for node in self.by_type.get(ast.Assign, []):
            assert isinstance(node, ast.Assign)
            if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
                continue
            name = node.targets[0].id
            if name in self.imports or not isinstance(node.value, (ast.Name, ast.Attribute, ast.Call)):
                continue
            q = qualify(node.value, self.imports)
            if q is None or q == name:
                continue
            owner = self._owner(node)
            values = self.defs.get(id(owner), {}).get(name, []) if owner is not None else []
            if len(values) != 1:
                continue
            if (
                "." in q
                and q.split(".")[0] in {v.split(".")[0] for v in self.imports.values()} | {"builtins"}
            ) or q in _ALIASABLE_BUILTINS:
                self.imports[name] = q

    def _owner(self, node: ast.AST) -> ast.AST | None:
        """The function, class, lambda or module whose scope ``node`` belongs to."""
        cur = self.parents.get(id(node))
        while cur is not None and not isinstance(cur, _SCOPES):
            cur = self.parents.get(id(cur))
        return cur

    def _index_assignments(self) -> None:
        """Name -> assigned values, per function and for the module, in one pass over the binding nodes
        (class bodies and lambdas are scopes of their own and are not indexed)."""
        none = ast.Constant(value=None)
        table: dict[int, dict[str, list[ast.expr]]] = {id(self.tree): {}}

        def add(node: ast.AST, name: str, *values: ast.expr) -> None:
            owner = self._owner(node)
            if owner is None or isinstance(owner, (ast.ClassDef, ast.Lambda)):
                return
            table.setdefault(id(owner), {}).setdefault(name, []).extend(values)

        def names(target: ast.AST) -> list[str]:
            return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]

        bt = self.by_type
        for node in [
            *bt.get(ast.FunctionDef, []),
            *bt.get(ast.AsyncFunctionDef, []),
            *bt.get(ast.ClassDef, []),
        ]:
            add(node, node.name, none)  # type: ignore[attr-defined]
        for node in bt.get(ast.Assign, []):
            assert isinstance(node, ast.Assign)
            for t in node.targets:
                if isinstance(t, ast.Name):
                    add(node, t.id, node.value)
                else:
                    for n in names(t):
                        add(node, n, node.value, node.value)
        for node in [*bt.get(ast.AnnAssign, []), *bt.get(ast.AugAssign, [])]:
            assert isinstance(node, (ast.AnnAssign, ast.AugAssign))
            if isinstance(node.target, ast.Name) and node.value is not None:
                if isinstance(node, ast.AugAssign):
                    add(node, node.target.id, node.value, node.value)
                else:
                    add(node, node.target.id, node.value)
        for node in bt.get(ast.NamedExpr, []):
            assert isinstance(node, ast.NamedExpr)
            add(node, node.target.id, node.value)
        for node in [*bt.get(ast.For, []), *bt.get(ast.AsyncFor, []), *bt.get(ast.comprehension, [])]:
            assert isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension))
            for n in names(node.target):
                add(node, n, node.iter, node.iter)
        for node in [*bt.get(ast.With, []), *bt.get(ast.AsyncWith, [])]:
            assert isinstance(node, (ast.With, ast.AsyncWith))
            for item in node.items:
                if item.optional_vars is not None:
                    for n in names(item.optional_vars):
                        add(node, n, item.context_expr, item.context_expr)
        for node in bt.get(ast.ExceptHandler, []):
            assert isinstance(node, ast.ExceptHandler)
            if node.name:
                add(node, node.name, none, none)
        for node in [*bt.get(ast.Import, []), *bt.get(ast.ImportFrom, [])]:
            assert isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names:
                add(node, (alias.asname or alias.name).split(".")[0], none, none)
        self.defs.update(table)

    def _def_of(self, name: str) -> ast.expr | None:
        values = self._current_defs.get(name)
        if values is None:
            values = self.defs[id(self.tree)].get(name)
        return values[0] if values and len(values) == 1 else None

    def _const_str(self, expr: ast.expr) -> str | None:
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return expr.value
        if isinstance(expr, ast.Constant) and isinstance(expr.value, bytes):
            return expr.value.decode("latin-1")
        if isinstance(expr, ast.Name):
            d = self._def_of(expr.id)
            if isinstance(d, ast.Constant) and isinstance(d.value, (str, bytes)):
                return self._const_str(d)
        return None

    def _is_constant(self, expr: ast.expr) -> bool:
        if isinstance(expr, ast.Constant):
            return True
        if isinstance(expr, (ast.Tuple, ast.List, ast.Set)):
            return all(self._is_constant(e) for e in expr.elts)
        if isinstance(expr, ast.Name):
            if expr.id.isupper():
                return True  # module constants by convention (ALLOWED_HOSTS, DEFAULT)
            d = self._module_consts.get(expr.id)
            return d is not None and self._is_constant(d)
        if isinstance(expr, ast.Attribute):
            return isinstance(expr.value, ast.Name) and expr.attr.isupper()
        return False

    def _source_kind_of_function(self, func: FunctionNode) -> str | None:
        for dec in func.decorator_list:
            target = dec.func if isinstance(dec, ast.Call) else dec
            name = dotted(target) or ""
            if name.split(".")[-1] in _WEB_DECORATORS and "." in name:
                return "web"
        return None

    def _select_source_functions(self) -> list[FunctionNode]:
        chosen: list[FunctionNode] = []
        all_defs = self.all_functions()
        if self.entry is not None:
            name = self.entry.split(".")[-1]
            for f in all_defs:
                if f.name == name:
                    chosen.append(f)
                    break
        if not chosen:
            # no entry, or an entry the code does not define (a renamed function must not hide its flows):
            # every public function and method takes attacker data
            chosen.extend(f for f in self.functions.values() if not f.name.startswith("_"))
            for table in self.methods.values():
                # the constructor first: what it stores in ``self`` is read by the other methods
                chosen.extend(f for n, f in table.items() if n == "__init__")
                chosen.extend(f for n, f in table.items() if not n.startswith("_") or n == "__call__")
        if "web" in self.sources:
            for f in all_defs:
                if f not in chosen and (
                    self._source_kind_of_function(f) == "web" or self._django_request_param(f) is not None
                ):
                    chosen.append(f)
        return chosen

    # -- driver ------------------------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self.module_state = self._analyze_body(self.tree, self.tree.body, {}, depth=0)
            self.source_functions = self._select_source_functions()
            for func in self.source_functions:
                self.analyze_function(func, self._param_taints(func), {}, depth=0)
            for node in sorted(self.all_functions(), key=lambda f: f.lineno):
                if id(node) not in self.analyzed:
                    self.analyze_function(node, {}, {}, depth=0)
        except (BudgetExceeded, RecursionError):
            self.budget.exhausted = True

    def _param_taints(self, func: FunctionNode) -> dict[str, Taint]:
        web = self._source_kind_of_function(func) == "web"
        if not ("params" in self.sources or (web and "web" in self.sources)):
            if "web" in self.sources and self._django_request_param(func) is not None:
                p = self._django_request_param(func)
                assert p is not None
                return {
                    p.arg: Taint.source(
                        f"web:{func.name}.{p.arg}", p.lineno, p.col_offset, "Django request (web source)"
                    )
                }
            return {}
        args = func.args
        params = [*args.posonlyargs, *args.args, *args.kwonlyargs]
        if args.vararg:
            params.append(args.vararg)
        if args.kwarg:
            params.append(args.kwarg)
        is_method = id(func) in self.class_of
        out: dict[str, Taint] = {}
        for i, p in enumerate(params):
            if is_method and i == 0 and p.arg in ("self", "cls"):
                continue
            cleared = frozenset({"nosql"}) if _annotation_is_scalar(p.annotation) else frozenset()
            out[p.arg] = Taint.source(
                f"param:{func.name}.{p.arg}",
                p.lineno,
                p.col_offset,
                f"parameter `{p.arg}` of {func.name}() (source)",
                cleared,
            )
        return out

    def _django_request_param(self, func: FunctionNode) -> ast.arg | None:
        """The ``request`` parameter of a Django view (a module importing django)."""
        if not any(v.startswith("django") for v in self.imports.values()):
            return None
        params = [*func.args.posonlyargs, *func.args.args]
        if params and params[0].arg in ("self", "cls"):
            params = params[1:]
        if params and (
            params[0].arg == "request"
            or qualify(params[0].annotation, self.imports) == "django.http.HttpRequest"
            if params[0].annotation is not None
            else params[0].arg == "request"
        ):
            return params[0]
        return None

    def analyze_function(
        self, func: FunctionNode, params: dict[str, Taint], closure: State, depth: int
    ) -> Taint | None:
        sig = (id(func), _sig(params), _sig(closure))
        if sig in self._memo:
            return self._memo[sig]
        if sig in self._in_progress or depth > self.budget.max_depth:
            # recursion or too deep: assume arguments flow to the result
            return join_all(params.values())
        if self.budget.analyses >= self.budget.max_analyses + 3 * len(self.by_type.get(ast.FunctionDef, ())):
            self.budget.exhausted = True
            return join_all(params.values())
        self.budget.check()
        self.budget.analyses += 1
        self._in_progress.add(sig)
        self.analyzed.add(id(func))
        try:
            init = dict(closure)
            # parameters shadow closure variables
            for a in [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]:
                init.pop(a.arg, None)
            init.update(params)
            result = self._analyze_function_body(func, init, depth)
        finally:
            self._in_progress.discard(sig)
        self._memo[sig] = result
        return result

    def _analyze_function_body(self, func: FunctionNode, init: State, depth: int) -> Taint | None:
        frame = self._run(func, func.body, init, depth)
        return frame.returns

    def _analyze_body(self, owner: ast.AST, body: list[ast.stmt], init: State, depth: int) -> State:
        self._run(owner, body, init, depth)
        return self._exit_state

    def cfg_of(self, owner: ast.AST, body: list[ast.stmt]) -> CFG:
        cfg = self.cfgs.get(id(owner))
        if cfg is None:
            cfg = build_cfg(owner, body)
            self.cfgs[id(owner)] = cfg
            self.defs.setdefault(id(owner), {})
            self.locals[id(owner)] = frozenset(self.defs[id(owner)]) | _param_names(owner)
        return cfg

    def _run(self, owner: ast.AST, body: list[ast.stmt], init: State, depth: int) -> Frame:
        cfg = self.cfg_of(owner, body)
        saved_defs = self._current_defs
        self._current_defs = self.defs[id(owner)] if owner is not self.tree else {}
        try:
            frame = Frame(owner, cfg, depth=depth)
            in_states: list[State | None] = [None] * len(cfg.nodes)
            in_states[cfg.entry] = init
            work: deque[int] = deque([cfg.entry])
            queued = {cfg.entry}
            visits = [0] * len(cfg.nodes)
            while work:
                i = work.popleft()
                queued.discard(i)
                visits[i] += 1
                if visits[i] > self.budget.max_visits_per_node:
                    continue
                self.budget.tick()
                state = in_states[i]
                assert state is not None
                out = self._transfer(cfg.nodes[i].kind, cfg.nodes[i].stmt, dict(state), frame)
                for j, label in cfg.nodes[i].succs:
                    s2 = self._apply_label(label, out) if label is not None else out
                    old = in_states[j]
                    new = s2 if old is None else join_states(old, s2)
                    if old is None or not states_equal(old, new):
                        in_states[j] = new
                        if j not in queued:
                            queued.add(j)
                            work.append(j)
            # recording pass: every reachable node once, with its fixpoint in-state
            frame.record = True
            for node in cfg.nodes:
                state = in_states[node.index]
                if state is None or node.stmt is None:
                    continue
                self.budget.tick()
                key = id(node.stmt)
                prev = self.stmt_state.get(key)
                self.stmt_state[key] = dict(state) if prev is None else join_states(prev, state)
                self._transfer(node.kind, node.stmt, dict(state), frame)
            self._exit_state = in_states[cfg.exit] or {}
            return frame
        finally:
            self._current_defs = saved_defs

    # -- transfer ----------------------------------------------------------------------------------------------
    def _apply_label(self, label: EdgeLabel, state: State) -> State:
        key = (id(label.test), label.outcome)
        ref = self._refine_cache.get(key)
        if ref is None:
            if label.kind == "cond":
                ref = self.guards.refine(label.test, label.outcome)
            else:
                assert isinstance(label.test, (ast.For, ast.AsyncFor))
                ref = self.guards.loop_exit(label.test)
            self._refine_cache[key] = ref
        return apply_refinement(ref, state) if ref else state

    def _transfer(self, kind: str, stmt: ast.AST | None, st: State, fr: Frame) -> State:
        if stmt is None or kind in ("entry", "exit"):
            return st
        if kind == "test":
            if isinstance(stmt, (ast.If, ast.While)):
                self.ev(stmt.test, st, fr)
            elif isinstance(stmt, ast.Match):
                self.ev(stmt.subject, st, fr)
            return st
        if kind == "for":
            assert isinstance(stmt, (ast.For, ast.AsyncFor))
            t = self.ev(stmt.iter, st, fr)
            self.assign(stmt.target, t, st, fr, stmt)
            return st
        if kind == "with":
            assert isinstance(stmt, (ast.With, ast.AsyncWith))
            for item in stmt.items:
                t = self.ev(item.context_expr, st, fr)
                if item.optional_vars is not None:
                    self.assign(item.optional_vars, t, st, fr, stmt)
            return st
        if kind == "assert":
            assert isinstance(stmt, ast.Assert)
            self.ev(stmt.test, st, fr)
            return st
        if kind == "case":
            return st
        return self._simple(stmt, st, fr)

    def _simple(self, s: ast.AST, st: State, fr: Frame) -> State:
        if isinstance(s, ast.Assign):
            t = self.ev(s.value, st, fr)
            for target in s.targets:
                self.assign(target, t, st, fr, s)
        elif isinstance(s, ast.AnnAssign):
            if s.value is not None:
                self.assign(s.target, self.ev(s.value, st, fr), st, fr, s)
        elif isinstance(s, ast.AugAssign):
            t = self.ev(s.value, st, fr)
            cur = self.ev(s.target, st, fr) if isinstance(s.target, (ast.Name, ast.Attribute)) else None
            self.assign(s.target, t.join(cur) if t is not None else cur, st, fr, s, weak=True)
        elif isinstance(s, ast.Expr):
            self.ev(s.value, st, fr)
        elif isinstance(s, ast.Return):
            if s.value is not None:
                t = self.ev(s.value, st, fr)
                if t is not None and fr.record:
                    t = t.step(s.lineno, s.col_offset, "returned")
                    fr.returns = t if fr.returns is None else fr.returns.join(t)
        elif isinstance(s, ast.Raise):
            if s.exc is not None:
                self.ev(s.exc, st, fr)
        elif isinstance(s, ast.Delete):
            for target in s.targets:
                k = dotted(target)
                if k:
                    st.pop(k, None)
        elif isinstance(s, ast.ExceptHandler):
            if s.name:
                st.pop(s.name, None)
        elif isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
            st.pop(s.name, None)
            if fr.record and s is not fr.func:
                # nested function: analyzed with the enclosing variables as its closure
                self.analyze_function(s, {}, st, fr.depth + 1)
        effect = self._effect_cache.get(id(s))
        if effect is None:
            effect = self.guards.statement_effect(s) if isinstance(s, ast.stmt) else {}
            self._effect_cache[id(s)] = effect
        if effect:
            st = apply_refinement(effect, st)
        return st

    def assign(
        self, target: ast.AST, t: Taint | None, st: State, fr: Frame, at: ast.AST, weak: bool = False
    ) -> None:
        if isinstance(target, ast.Name):
            if t is None:
                if not weak:
                    st.pop(target.id, None)
                    _drop_attrs(st, target.id)
            else:
                if not weak:
                    _drop_attrs(st, target.id)
                st[target.id] = t.step(at.lineno, at.col_offset, f"assigned to `{target.id}`")  # type: ignore[attr-defined]
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self.assign(elt, t, st, fr, at, weak)
        elif isinstance(target, ast.Starred):
            self.assign(target.value, t, st, fr, at, weak)
        elif isinstance(target, ast.Attribute):
            self.ev(target.value, st, fr)
            k = dotted(target)
            if k:
                if t is None:
                    if not weak:
                        st.pop(k, None)
                else:
                    st[k] = t
                    st[ATTR_KEYS_MARKER] = _MARKER_TAINT
                    if k.startswith("self.") and k.count(".") == 1:
                        self._store_class_field(fr, target.attr, t)
        elif isinstance(target, ast.Subscript):
            self.ev(target.slice, st, fr)
            k = dotted(target.value)
            if k and t is not None:
                cur = st.get(k)
                st[k] = t if cur is None else cur.join(t)
                if "." in k:
                    st[ATTR_KEYS_MARKER] = _MARKER_TAINT

    # -- expressions -------------------------------------------------------------------------------------------
    def ev(self, e: ast.AST, st: State, fr: Frame) -> Taint | None:
        t = self._ev(e, st, fr)
        if fr.record and t is not None:
            prev = self.expr_taint.get(id(e))
            self.expr_taint[id(e)] = t if prev is None else prev.join(t)
        return t

    def _source(self, kind: str, node: ast.AST, what: str) -> Taint | None:
        if kind not in self.sources:
            return None
        line, col = getattr(node, "lineno", 0), getattr(node, "col_offset", 0)
        return Taint.source(f"{kind}:{what}@{line}:{col}", line, col, f"{what} ({kind} source)")

    def _ev(self, e: ast.AST, st: State, fr: Frame) -> Taint | None:
        if isinstance(e, ast.Constant):
            return None
        if isinstance(e, ast.Name):
            t = st.get(e.id)
            if t is not None:
                return t
            if fr.func is not self.tree and e.id not in self.locals.get(id(fr.func), frozenset()):
                t = self.module_state.get(e.id)
                if t is not None:
                    return t
            q = self.imports.get(e.id)
            if q is not None:
                return self._attr_source(q, e)
            return None
        if isinstance(e, ast.Attribute):
            k = dotted(e)
            if k is not None and k in st:
                return st[k]
            if k is not None and k.startswith("self.") and k.count(".") == 1:
                field = self._class_field(fr, e.attr)
                if field is not None:
                    return field
            q = qualify(e, self.imports)
            if (q is not None and q != k) or (k is not None and k.startswith(("sys.", "os."))):
                src = self._attr_source(q or "", e)
                if src is not None:
                    return src
            return self.ev(e.value, st, fr)
        if isinstance(e, ast.Call):
            return self._call(e, st, fr)
        if isinstance(e, ast.JoinedStr):
            return self._building(e, [self.ev(v, st, fr) for v in e.values], e.values)
        if isinstance(e, ast.FormattedValue):
            t = self.ev(e.value, st, fr)
            if e.format_spec is not None:
                self.ev(e.format_spec, st, fr)
            return t
        if isinstance(e, ast.BinOp):
            lt, rt = self.ev(e.left, st, fr), self.ev(e.right, st, fr)
            if isinstance(e.op, (ast.Add, ast.Mod)):
                return self._building(e, [lt, rt], [e.left, e.right])
            if isinstance(e.op, ast.Div) and (lt is not None or rt is not None):
                joined = rt.clear({MARK_JOINED}) if rt is not None else None
                return lt.join(joined).unclear({MARK_NORMALIZED}) if lt is not None else joined
            return lt.join(rt) if lt is not None else rt
        if isinstance(e, ast.BoolOp):
            return join_all(self.ev(v, st, fr) for v in e.values)
        if isinstance(e, ast.UnaryOp):
            t = self.ev(e.operand, st, fr)
            return None if isinstance(e.op, ast.Not) else t
        if isinstance(e, ast.Compare):
            self.ev(e.left, st, fr)
            for c in e.comparators:
                self.ev(c, st, fr)
            return None
        if isinstance(e, ast.IfExp):
            self.ev(e.test, st, fr)
            body = self.ev(e.body, self._refined(e.test, True, st), fr)
            other = self.ev(e.orelse, self._refined(e.test, False, st), fr)
            return body.join(other) if body is not None else other
        if isinstance(e, (ast.List, ast.Tuple, ast.Set)):
            return join_all([self.ev(x, st, fr) for x in e.elts])
        if isinstance(e, ast.Dict):
            return join_all([self.ev(x, st, fr) for x in (*e.keys, *e.values) if x is not None])
        if isinstance(e, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            return self._comprehension(e, st, fr)
        if isinstance(e, ast.NamedExpr):
            t = self.ev(e.value, st, fr)
            self.assign(e.target, t, st, fr, e)
            return t
        if isinstance(e, (ast.Subscript,)):
            base = self.ev(e.value, st, fr)
            self.ev(e.slice, st, fr)
            return base
        if isinstance(e, ast.Slice):
            for part in (e.lower, e.upper, e.step):
                if part is not None:
                    self.ev(part, st, fr)
            return None
        if isinstance(e, (ast.Starred, ast.Await, ast.YieldFrom)):
            return self.ev(e.value, st, fr)
        if isinstance(e, ast.Yield):
            return self.ev(e.value, st, fr) if e.value is not None else None
        if isinstance(e, ast.Lambda):
            inner = dict(st)
            for a in [*e.args.posonlyargs, *e.args.args, *e.args.kwonlyargs]:
                inner.pop(a.arg, None)
            self.ev(e.body, inner, fr)
            return None
        return None

    def _class_field(self, fr: Frame, attr: str) -> Taint | None:
        cls = self.class_of.get(id(fr.func))
        return self.class_fields.get((id(cls), attr)) if cls is not None else None

    def _store_class_field(self, fr: Frame, attr: str, t: Taint) -> None:
        """Object state is followed flow-insensitively: what any method stores in ``self.attr`` may be read by
        every method of the class."""
        cls = self.class_of.get(id(fr.func))
        if cls is None:
            return
        key = (id(cls), attr)
        prev = self.class_fields.get(key)
        self.class_fields[key] = t if prev is None else prev.join(t)

    def _refined(self, test: ast.expr, outcome: bool, st: State) -> State:
        ref = self.guards.refine(test, outcome)
        return apply_refinement(ref, st) if ref else st

    def _attr_source(self, q: str, node: ast.AST) -> Taint | None:
        for prefix, kind in SOURCE_ATTRS.items():
            if q == prefix or q.startswith(prefix + "."):
                return self._source(kind, node, q)
        return None

    def _building(self, e: ast.AST, parts: list[Taint | None], nodes: Sequence[ast.AST]) -> Taint | None:
        """String building: the join of the parts; placing text into markup consumes its ``html`` kind (the XSS
        rule reports at that point, so later uses of the built string do not report the same flow again)."""
        if all(p is None for p in parts):
            return None
        after_slash = False
        marked: list[Taint | None] = []
        for node, part in zip(nodes, parts, strict=True):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "/" in node.value:
                after_slash = True
            marked.append(part.clear({MARK_JOINED}) if after_slash and part is not None else part)
        prefix = ""
        for node in nodes:
            text = self._const_text(node)
            if text is None:
                break
            prefix += text
        if prefix and _FIXED_HOST.match(prefix):
            # text after "https://host/" or "/path" (literal or constant) cannot change where the URL points
            marked = [p.clear({"url"}) if p is not None else None for p in marked]
        t = join_all(marked)
        assert t is not None
        literal = "".join(n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str))
        if literal:
            t = t.clear({MARK_BUILT})
        if literal and has_markup(literal):
            return t.clear({"html"})
        return t

    def _const_text(self, node: ast.AST, depth: int = 0) -> str | None:
        """Constant folding of string text: literals, constant names, ``+`` and f-strings of those."""
        if depth > 8:
            return None
        if isinstance(node, ast.FormattedValue):
            return self._const_text(node.value, depth + 1) if node.format_spec is None else None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left = self._const_text(node.left, depth + 1)
            right = self._const_text(node.right, depth + 1) if left is not None else None
            return left + right if left is not None and right is not None else None
        if isinstance(node, ast.JoinedStr):
            parts = [self._const_text(v, depth + 1) for v in node.values]
            return "".join(p for p in parts if p is not None) if all(p is not None for p in parts) else None
        if isinstance(node, ast.expr):
            return self._const_str(node)
        return None

    def _comprehension(self, e: ast.AST, st: State, fr: Frame) -> Taint | None:
        inner = dict(st)
        assert isinstance(e, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp))
        for gen in e.generators:
            it = self.ev(gen.iter, inner, fr)
            self.assign(gen.target, it, inner, fr, gen.iter)
            for cond in gen.ifs:
                self.ev(cond, inner, fr)
                inner = self._refined(cond, True, inner)
        if isinstance(e, ast.DictComp):
            k = self.ev(e.key, inner, fr)
            v = self.ev(e.value, inner, fr)
            return k.join(v) if k is not None else v
        return self.ev(e.elt, inner, fr)

    # -- calls -------------------------------------------------------------------------------------------------
    def _call(self, e: ast.Call, st: State, fr: Frame) -> Taint | None:
        func = e.func
        q = qualify(func, self.imports)
        recv: Taint | None = None
        meth: str | None = None
        if isinstance(func, ast.Attribute):
            meth = func.attr
            recv = self.ev(func.value, st, fr)
        elif not isinstance(func, ast.Name):
            recv = self.ev(func, st, fr)
        arg_ts = [self.ev(a, st, fr) for a in e.args]
        kw_ts = {kw.arg: self.ev(kw.value, st, fr) for kw in e.keywords}
        args = join_all([*arg_ts, *kw_ts.values()])

        if q is not None:
            if q in SOURCE_CALLS:
                src = self._source(SOURCE_CALLS[q], e, q + "()")
                if src is not None:
                    return src
            if q in FULL_SANITIZERS or q in OPAQUE_RESULTS or q.startswith(FULL_SANITIZER_PREFIXES):
                return None
            if q in SANITIZERS:
                base = args if args is not None else recv
                return base.clear(SANITIZERS[q]) if base is not None else None
            if q in PATH_JOINERS and arg_ts:
                rest = [t.clear({MARK_JOINED}) for t in arg_ts[1:] if t is not None]
                return join_all([arg_ts[0], *rest])
            if q in NORMALIZERS:
                return args.clear({MARK_NORMALIZED}) if args is not None else None
            if q in URL_PARSERS and args is not None:
                self.url_origins.update(args.live("url"))
            if q in ("open", "io.open", "codecs.open"):
                src = self._source("files", e, "open()")
                return src.join(args) if src is not None else args
            if q == "re.sub" and len(e.args) >= 3:
                return self._re_sub(e, arg_ts)
            local = self._local_target(e, fr)
            if local is not None:
                return self._call_local(local, e, arg_ts, kw_ts, st, fr)
        if meth is not None:
            if meth in NON_PROPAGATING_METHODS:
                return None
            if meth in SANITIZER_METHODS:
                return recv.clear(SANITIZER_METHODS[meth]) if recv is not None else None
            if meth == "joinpath":
                rest = [t.clear({MARK_JOINED}) for t in arg_ts if t is not None]
                return join_all([recv, *rest])
            if meth in NORMALIZER_METHODS:
                return recv.clear({MARK_NORMALIZED}) if recv is not None else None
            if meth in NETWORK_METHODS:
                src = self._source("network", e, f".{meth}()")
                if src is not None:
                    return src
            if meth in MUTATORS and isinstance(func, ast.Attribute):
                k = dotted(func.value)
                if k is not None and args is not None:
                    cur = st.get(k)
                    st[k] = args if cur is None else cur.join(args)
                    if "." in k:
                        st[ATTR_KEYS_MARKER] = _MARKER_TAINT
                return None
            if meth == "replace" and recv is not None and e.args:
                old = e.args[0]
                if isinstance(old, ast.Constant) and isinstance(old.value, (str, bytes)):
                    text = old.value if isinstance(old.value, str) else old.value.decode("latin-1")
                    if "\n" in text or "\r" in text:
                        return recv.clear(_CRLF).join(arg_ts[1] if len(arg_ts) > 1 else None)
                    new = e.args[1] if len(e.args) > 1 else None
                    if text == "<" and isinstance(new, ast.Constant) and "<" not in str(new.value):
                        # without "<" no element can be opened (hand-written escaping)
                        return recv.clear({"html"}).join(arg_ts[1] if len(arg_ts) > 1 else None)
            if meth == "format" and isinstance(func, ast.Attribute):
                fmt = self._format_literal(func.value)
                if fmt is not None and args is not None and _FIXED_HOST.match(fmt):
                    args = args.clear({"url"})
                if args is not None:
                    args = args.clear({MARK_BUILT})
                t = join_all([recv, args])
                if t is not None and fmt is not None and has_markup(fmt):
                    return t.clear({"html"})
                return t
            if meth in ("get", "pop") and isinstance(func, ast.Attribute):
                # mapping lookup: the key selects an entry, it does not flow into it
                return join_all([recv, *arg_ts[1:]])
            if meth == "join" and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Constant):
                return args.clear({MARK_BUILT}) if args is not None else None
        if meth is not None:
            return recv.join(args) if recv is not None else args
        return args

    def _format_literal(self, expr: ast.expr) -> str | None:
        return self._const_str(expr)

    def _re_sub(self, e: ast.Call, arg_ts: list[Taint | None]) -> Taint | None:
        subject = arg_ts[2]
        repl = arg_ts[1]
        if subject is None:
            return repl
        pattern = self._const_str(e.args[0])
        if pattern is not None:
            if "\\n" in pattern or "\n" in pattern or "\\r" in pattern or "\\s" in pattern:
                subject = subject.clear(_CRLF)
            m = re.fullmatch(r"\[\^(.*)\][+*]?", pattern, re.S)
            if m and isinstance(e.args[1], ast.Constant) and e.args[1].value in ("", b""):
                # removing everything outside a character class leaves only that class
                subject = subject.clear(probe_kinds(f"[{m.group(1)}]*", 0))
        return subject.join(repl)

    def _local_target(self, e: ast.Call, fr: Frame) -> FunctionNode | None:
        func = e.func
        if isinstance(func, ast.Name):
            # a nested def of the current function, else a module-level function
            for node in self._current_nested(fr):
                if node.name == func.id:
                    return node
            return self.functions.get(func.id)
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in ("self", "cls")
            and id(fr.func) in self.class_of
        ):
            cls = self.class_of[id(fr.func)]
            return self.methods.get(id(cls), {}).get(func.attr)
        return None

    def all_functions(self) -> list[FunctionNode]:
        return [*self.by_type.get(ast.FunctionDef, []), *self.by_type.get(ast.AsyncFunctionDef, [])]  # type: ignore[list-item]

    def _current_nested(self, fr: Frame) -> list[FunctionNode]:
        if fr.func is self.tree or not isinstance(fr.func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return []
        if not self._nested_ready:
            self._nested_ready = True
            for d in self.all_functions():
                cur = self.parents.get(id(d))
                while cur is not None:
                    if isinstance(cur, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        self._nested_cache.setdefault(id(cur), []).append(d)
                    cur = self.parents.get(id(cur))
        return self._nested_cache.get(id(fr.func), [])

    def _call_local(
        self,
        target: FunctionNode,
        e: ast.Call,
        arg_ts: list[Taint | None],
        kw_ts: dict[str | None, Taint | None],
        st: State,
        fr: Frame,
    ) -> Taint | None:
        params = [*target.args.posonlyargs, *target.args.args]
        if id(target) in self.class_of and params and params[0].arg in ("self", "cls"):
            params = params[1:]
        names = [p.arg for p in params]
        mapping: dict[str, Taint] = {}
        for i, t in enumerate(arg_ts):
            if t is None:
                continue
            if i < len(names):
                name = names[i]
            elif target.args.vararg is not None:
                name = target.args.vararg.arg
            else:
                continue
            note = f"passed to {target.name}() as `{name}`"
            prev = mapping.get(name)
            t2 = t.step(e.lineno, e.col_offset, note)
            mapping[name] = t2 if prev is None else prev.join(t2)
        for kw, t in kw_ts.items():
            if t is None:
                continue
            if kw is not None and (kw in names or any(a.arg == kw for a in target.args.kwonlyargs)):
                receivers = [kw]
            elif target.args.kwarg is not None:
                receivers = [target.args.kwarg.arg]
            elif kw is None:  # f(**mapping): any parameter may receive it
                receivers = names + [a.arg for a in target.args.kwonlyargs]
            else:
                receivers = []
            for receiver in receivers:
                mapping[receiver] = t.step(
                    e.lineno, e.col_offset, f"passed to {target.name}() as `{receiver}`"
                )
        closure = st if self._is_nested(target) else {}
        result = self.analyze_function(target, mapping, closure, fr.depth + 1)
        if result is not None:
            result = result.step(e.lineno, e.col_offset, f"returned by {target.name}()")
        return result

    def _is_nested(self, func: FunctionNode) -> bool:
        return func not in self.functions.values() and id(func) not in self.class_of


def apply_refinement(ref: Refinement, state: State) -> State:
    """The state after a guard proved ``ref``."""
    out = state
    copied = False
    for key, kinds in ref.items():
        keys = [key] if key in state else []
        if ATTR_KEYS_MARKER in state:
            keys += [k for k in state if k.startswith(key + ".")]
        for k in keys:
            t = state[k]
            eff = kinds
            if NEED_NORM in kinds:
                eff = (kinds - {NEED_NORM}) | ({"path"} if t.all_have(MARK_NORMALIZED) else frozenset())
            if not eff:
                continue
            if not copied:
                out = dict(state)
                copied = True
            cleared = t.clear(eff)
            if MARK_NO_PARENT in eff or MARK_NOT_ABSOLUTE in eff:
                # no ".." and not absolute: cannot leave the directory it is joined to
                both = frozenset({MARK_NO_PARENT, MARK_NOT_ABSOLUTE})
                cleared = Taint(
                    {o: (c | {"path"}) if both <= c else c for o, c in cleared.flows.items()}, cleared.trace
                )
            out[k] = cleared
    return out


def _sig(taints: dict[str, Taint]) -> tuple[object, ...]:
    return tuple(sorted((k, frozenset(v.flows.items())) for k, v in taints.items()))


def _drop_attrs(st: State, name: str) -> None:
    if ATTR_KEYS_MARKER not in st:
        return
    prefix = name + "."
    for k in [k for k in st if k.startswith(prefix)]:
        del st[k]


_MARKER_TAINT = Taint({})

# Present in a state once it holds an attribute key ("obj.attr"); lets assignments skip the prefix scan.
ATTR_KEYS_MARKER = "."


def _annotation_is_scalar(ann: ast.expr | None) -> bool:
    return isinstance(ann, ast.Name) and ann.id in ("str", "int", "float", "bool", "bytes")


def _param_names(owner: ast.AST) -> frozenset[str]:
    if isinstance(owner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        a = owner.args
        names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
        if a.vararg:
            names.append(a.vararg.arg)
        if a.kwarg:
            names.append(a.kwarg.arg)
        return frozenset(names)
    return frozenset()


_ALIASABLE_BUILTINS = frozenset({"eval", "exec", "compile", "open", "__import__", "input"})
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.Module)
