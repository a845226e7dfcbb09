"""AnalysisContext: everything a rule may ask about the module being scanned.

Built once per scan by :func:`realcode.analysis.security.scan_code`; rules receive it in ``Rule.check(ctx)``.

Module facts
    ``source``, ``path``, ``lines`` (source lines, 0-based list), ``tree`` (``ast.Module``), ``entry`` (entry
    function name or None), ``sources`` (enabled source kinds: ``params``, ``input``, ``argv``, ``env``,
    ``files``, ``network``, ``web``), ``imports`` (local name -> qualified name).

Navigation
    ``parent(node)``, ``ancestors(node)``, ``enclosing_statement(node)``, ``enclosing_function(node)`` (None at
    module level), ``functions()`` (every def), ``calls()`` (every call node, in source order),
    ``tainted_calls()`` (calls with a tainted argument), ``calls_in(func)``, ``returns``,
    ``returned_names(func)``, ``nodes_of(ast.Return)`` (breadth-first order).

Names
    ``qualified_name(expr_or_call)`` resolves imports and aliases (``from os import system as s; s(x)`` ->
    ``os.system``); ``call_name(call)`` is the qualified name or ``".method"`` for a method on an unknown
    receiver. ``const_str(expr)`` folds string constants (also through module-level constant names).

Data flow (taint)
    ``taint_of(expr) -> Taint | None``: the attacker-controlled origins an expression may carry, joined over every
    calling context, each with the set of vulnerability kinds it has been cleared for (see
    :mod:`.engine.taint`). ``is_tainted(expr, kind=None)``: tainted at all, or tainted and *not* cleared for
    ``kind`` (``"sql"``, ``"shell"``, ``"path"``, ... see :data:`.engine.models.KINDS`). ``state_at(stmt)``:
    variable -> taint on entry to a statement. ``trace(taint, sink_node, note)``: the source-to-sink trace as
    ``TraceStep`` list for a finding. ``url_origins``: origins that were parsed or joined as URLs.
    ``is_source_function(func)``: whether the function's parameters are sources in this scan.

Control flow
    ``cfg(func)`` (the function's :class:`.engine.cfg.CFG`; ``None`` or the module for module-level code),
    ``dominates(a, b)`` for two statements of the same function, ``guards_for(node)``: the branch conditions
    ``(test, outcome)`` known to hold whenever ``node``'s statement runs (tests of dominating branches), and
    ``refinement(test, outcome)``: what the engine's guard model concludes from such a condition.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cached_property
from typing import TypeVar

from realcode.analysis.findings import Location, TraceStep
from realcode.analysis.security.engine.cfg import CFG
from realcode.analysis.security.engine.dataflow import ATTR_KEYS_MARKER, FunctionNode, ModuleAnalysis
from realcode.analysis.security.engine.guards import Refinement
from realcode.analysis.security.engine.names import method_name, qualify
from realcode.analysis.security.engine.taint import State, Taint

N = TypeVar("N", bound=ast.AST)


class AnalysisContext:
    """What rules see of one scanned module (see module docstring)."""

    def __init__(
        self,
        source: str,
        tree: ast.Module,
        path: str,
        entry: str | None,
        sources: frozenset[str],
        analysis: ModuleAnalysis,
    ) -> None:
        self.source = source
        self.tree = tree
        self.path = path
        self.lines = source.splitlines()
        self.entry = entry
        self.sources = sources
        self.analysis = analysis
        self.imports = analysis.imports
        self._parents = analysis.parents
        self._by_type = analysis.by_type
        self._returned_names: dict[int, frozenset[str]] | None = None
        self._qualified: dict[int, str | None] = {}
        self._source_function_ids = {id(f) for f in analysis.source_functions}
        self._calls_by_function: dict[int, list[ast.Call]] | None = None

    # -- navigation --------------------------------------------------------------------------------------------
    def parent(self, node: ast.AST) -> ast.AST | None:
        return self._parents.get(id(node))

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        cur = self._parents.get(id(node))
        while cur is not None:
            yield cur
            cur = self._parents.get(id(cur))

    def enclosing_statement(self, node: ast.AST) -> ast.stmt | None:
        if isinstance(node, ast.stmt):
            return node
        for a in self.ancestors(node):
            if isinstance(a, ast.stmt):
                return a
        return None

    def enclosing_function(self, node: ast.AST) -> FunctionNode | None:
        for a in self.ancestors(node):
            if isinstance(a, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return a
        return None

    def nodes_of(self, kind: type[N]) -> list[N]:
        """Every node of one AST type, in ``ast.walk`` (breadth-first) order."""
        return self._by_type.get(kind, [])  # type: ignore[return-value]

    def calls(self) -> list[ast.Call]:
        """Every call, in source order."""
        return self._calls

    @cached_property
    def _calls(self) -> list[ast.Call]:
        return sorted(self.nodes_of(ast.Call), key=lambda c: (c.lineno, c.col_offset))

    def tainted_calls(self) -> list[ast.Call]:
        """Calls with at least one tainted argument (where data-flow sinks can fire), in source order."""
        return self._tainted_calls

    @cached_property
    def _tainted_calls(self) -> list[ast.Call]:
        taint = self.analysis.expr_taint
        return [
            c
            for c in self._calls
            if any(id(a) in taint for a in c.args) or any(id(k.value) in taint for k in c.keywords)
        ]

    def functions(self) -> list[FunctionNode]:
        return [*self.nodes_of(ast.FunctionDef), *self.nodes_of(ast.AsyncFunctionDef)]

    # -- names -------------------------------------------------------------------------------------------------
    def qualified_name(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Call):
            node = node.func
        key = id(node)
        if key in self._qualified:
            return self._qualified[key]
        q = qualify(node, self.imports)
        self._qualified[key] = q
        return q

    def call_name(self, call: ast.Call) -> str | None:
        q = qualify(call.func, self.imports)
        if q is not None:
            return q
        m = method_name(call)
        return f".{m}" if m else None

    def const_str(self, expr: ast.expr) -> str | None:
        return self.analysis._const_str(expr)

    # -- data flow ---------------------------------------------------------------------------------------------
    def taint_of(self, expr: ast.AST) -> Taint | None:
        return self.analysis.expr_taint.get(id(expr))

    def is_tainted(self, expr: ast.AST, kind: str | None = None) -> bool:
        t = self.analysis.expr_taint.get(id(expr))
        if t is None:
            return False
        return True if kind is None else t.is_live(kind)

    def state_at(self, stmt: ast.AST) -> State:
        """Variable (or ``obj.attr``) -> taint on entry to ``stmt``; untainted variables are absent."""
        state = self.analysis.stmt_state.get(id(stmt), {})
        return {k: v for k, v in state.items() if k != ATTR_KEYS_MARKER}

    @property
    def url_origins(self) -> set[str]:
        return self.analysis.url_origins

    def is_source_function(self, func: ast.AST) -> bool:
        return id(func) in self._source_function_ids

    def trace(self, taint: Taint | None, sink: ast.AST, note: str) -> list[TraceStep]:
        steps: list[TraceStep] = []
        if taint is not None:
            for line, col, text in taint.trace:
                steps.append(
                    TraceStep(location=Location(path=self.path, line=line, column=col + 1), note=text)
                )
        steps.append(
            TraceStep(
                location=Location(
                    path=self.path,
                    line=getattr(sink, "lineno", 1),
                    column=getattr(sink, "col_offset", 0) + 1,
                ),
                note=note,
            )
        )
        return steps

    # -- control flow ------------------------------------------------------------------------------------------
    def cfg(self, func: ast.AST | None) -> CFG | None:
        owner = self.tree if func is None else func
        return self.analysis.cfgs.get(id(owner))

    def _cfg_for_stmt(self, stmt: ast.AST) -> CFG | None:
        return self.cfg(self.enclosing_function(stmt))

    def dominates(self, a: ast.AST, b: ast.AST) -> bool:
        """Whether statement ``a`` runs before ``b`` on every path to ``b`` (same function)."""
        sa, sb = self.enclosing_statement(a), self.enclosing_statement(b)
        if sa is None or sb is None:
            return False
        cfg = self._cfg_for_stmt(sb)
        return cfg is not None and cfg.dominates(sa, sb)

    def guards_for(self, node: ast.AST) -> list[tuple[ast.expr, bool]]:
        """Branch conditions (test, outcome) that hold whenever ``node``'s statement runs."""
        stmt = self.enclosing_statement(node)
        if stmt is None:
            return []
        cfg = self._cfg_for_stmt(stmt)
        if cfg is None:
            return []
        n = cfg.node_of.get(id(stmt))
        if n is None:
            return []
        dom = cfg.dominators()[n]
        out: list[tuple[ast.expr, bool]] = []
        for d in sorted(dom):
            for j, label in cfg.nodes[d].succs:
                if label is None or label.kind != "cond" or not isinstance(label.test, ast.expr):
                    continue
                others = [
                    k for k, lab in cfg.nodes[d].succs if lab is not None and lab.outcome != label.outcome
                ]
                if (j == n or j in dom) and not any(k == n or k in dom for k in others):
                    out.append((label.test, label.outcome))
        return out

    def refinement(self, test: ast.expr, outcome: bool) -> Refinement:
        return self.analysis.guards.refine(test, outcome)

    @cached_property
    def returns(self) -> list[ast.Return]:
        return self.nodes_of(ast.Return)

    def returned_names(self, func: ast.AST) -> frozenset[str]:
        """Names returned directly (``return x``) by a function."""
        if self._returned_names is None:
            table: dict[int, set[str]] = {}
            for ret in self.returns:
                if isinstance(ret.value, ast.Name):
                    owner = self.enclosing_function(ret)
                    table.setdefault(id(owner), set()).add(ret.value.id)
            self._returned_names = {k: frozenset(v) for k, v in table.items()}
        return self._returned_names.get(id(func), frozenset())

    def calls_in(self, func: ast.AST | None) -> list[ast.Call]:
        """Calls whose nearest enclosing function is ``func`` (None: module level)."""
        if self._calls_by_function is None:
            table: dict[int, list[ast.Call]] = {}
            for call in self._calls:
                owner = self.enclosing_function(call)
                table.setdefault(id(owner) if owner is not None else 0, []).append(call)
            self._calls_by_function = table
        return self._calls_by_function.get(id(func) if func is not None else 0, [])
