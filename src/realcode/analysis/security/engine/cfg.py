"""Control-flow graphs over Python's ``ast``, one per function (and one for module-level code).

A node is one simple statement, or the header of a compound statement (the test of an ``if``/``while``, the
iteration of a ``for``, the items of a ``with``), plus a synthetic entry and exit. Edges leaving a test carry
the test expression and the outcome (``True``/``False``) under which they are taken: the taint analysis uses
them to apply barrier guards. Exceptional flow is approximated: every statement of a ``try`` body may jump to
each handler. Dominators are computed on demand (iterative data-flow, fine for function-sized graphs).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Literal

NodeKind = Literal["entry", "exit", "stmt", "test", "for", "with", "assert", "case"]


@dataclass(frozen=True)
class EdgeLabel:
    """Why an edge is taken: a test outcome, leaving a loop normally, or surviving an assertion."""

    kind: Literal["cond", "loop-exit"]
    test: ast.AST  # the test expression (cond) or the ``for`` statement (loop-exit)
    outcome: bool = True


@dataclass
class CFGNode:
    index: int
    kind: NodeKind
    stmt: ast.AST | None  # the statement (or compound header statement) this node stands for
    succs: list[tuple[int, EdgeLabel | None]] = field(default_factory=list)
    preds: list[int] = field(default_factory=list)


class CFG:
    """The control-flow graph of one function body (or of module-level code)."""

    def __init__(self, owner: ast.AST) -> None:
        self.owner = owner
        self.nodes: list[CFGNode] = []
        self.entry = self._new("entry", None)
        self.exit = self._new("exit", None)
        self.node_of: dict[int, int] = {}  # id(stmt) -> node index
        self._dom: list[set[int]] | None = None

    def _new(self, kind: NodeKind, stmt: ast.AST | None) -> int:
        node = CFGNode(len(self.nodes), kind, stmt)
        self.nodes.append(node)
        if stmt is not None and kind != "entry":
            self.node_of.setdefault(id(stmt), node.index)
        return node.index

    def add_edge(self, a: int, b: int, label: EdgeLabel | None = None) -> None:
        self.nodes[a].succs.append((b, label))
        self.nodes[b].preds.append(a)

    # -- dominance --------------------------------------------------------------------------------------------
    def dominators(self) -> list[set[int]]:
        """``dom[n]``: the nodes that dominate ``n`` (every path from entry to ``n`` passes through them)."""
        if self._dom is not None:
            return self._dom
        n = len(self.nodes)
        everything = set(range(n))
        dom: list[set[int]] = [set(everything) for _ in range(n)]
        dom[self.entry] = {self.entry}
        order = self.reverse_postorder()
        reachable = set(order)
        for i in range(n):
            if i not in reachable:
                dom[i] = {i}
        changed = True
        rounds = 0
        while changed and rounds < 50:
            changed = False
            rounds += 1
            for i in order:
                if i == self.entry:
                    continue
                preds = [p for p in self.nodes[i].preds if p in reachable]
                new = set.intersection(*(dom[p] for p in preds)) if preds else set()
                new = new | {i}
                if new != dom[i]:
                    dom[i] = new
                    changed = True
        self._dom = dom
        return dom

    def reverse_postorder(self) -> list[int]:
        seen: set[int] = set()
        post: list[int] = []
        stack: list[tuple[int, int]] = [(self.entry, 0)]
        seen.add(self.entry)
        while stack:
            node, i = stack.pop()
            succs = self.nodes[node].succs
            if i < len(succs):
                stack.append((node, i + 1))
                nxt = succs[i][0]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, 0))
            else:
                post.append(node)
        post.reverse()
        return post

    def dominates(self, a: ast.AST, b: ast.AST) -> bool:
        """Whether statement ``a`` dominates statement ``b`` (both must be statements of this graph)."""
        na, nb = self.node_of.get(id(a)), self.node_of.get(id(b))
        if na is None or nb is None:
            return False
        return na in self.dominators()[nb]


_TERMINAL = (ast.Return, ast.Raise, ast.Continue, ast.Break)


class _Builder:
    def __init__(self, cfg: CFG, max_nodes: int) -> None:
        self.cfg = cfg
        self.loops: list[tuple[int, list[int]]] = []  # (continue target, break sources)
        self.handlers: list[list[int]] = []  # per enclosing try: handler entry nodes
        self.max_nodes = max_nodes

    def build(self, body: list[ast.stmt]) -> None:
        ends = self.seq(body, [(self.cfg.entry, None)])
        for end, label in ends:
            self.cfg.add_edge(end, self.cfg.exit, label)

    def _link(self, preds: list[tuple[int, EdgeLabel | None]], node: int) -> None:
        for p, label in preds:
            self.cfg.add_edge(p, node, label)

    def seq(
        self, body: list[ast.stmt], preds: list[tuple[int, EdgeLabel | None]]
    ) -> list[tuple[int, EdgeLabel | None]]:
        for stmt in body:
            if not preds:
                # unreachable code still gets nodes (so rules can ask about it) but no incoming edges
                preds = []
            preds = self.stmt(stmt, preds)
        return preds

    def _may_raise_to_handlers(self, node: int) -> None:
        if self.handlers:
            for h in self.handlers[-1]:
                self.cfg.add_edge(node, h, None)

    def stmt(
        self, s: ast.stmt, preds: list[tuple[int, EdgeLabel | None]]
    ) -> list[tuple[int, EdgeLabel | None]]:
        cfg = self.cfg
        if len(cfg.nodes) > self.max_nodes:
            # bounded work on pathological input: the rest of the body becomes one opaque straight line
            node = cfg._new("stmt", s)
            self._link(preds, node)
            return [(node, None)]
        out: list[tuple[int, EdgeLabel | None]]
        if isinstance(s, ast.If):
            test = cfg._new("test", s)
            self._link(preds, test)
            self._may_raise_to_handlers(test)
            out = self.seq(s.body, [(test, EdgeLabel("cond", s.test, True))])
            out += (
                self.seq(s.orelse, [(test, EdgeLabel("cond", s.test, False))])
                if s.orelse
                else [(test, EdgeLabel("cond", s.test, False))]
            )
            return out
        if isinstance(s, ast.While):
            test = cfg._new("test", s)
            self._link(preds, test)
            self.loops.append((test, []))
            body_out = self.seq(s.body, [(test, EdgeLabel("cond", s.test, True))])
            for end, label in body_out:
                cfg.add_edge(end, test, label)
            _, breaks = self.loops.pop()
            out = self.seq(s.orelse, [(test, EdgeLabel("cond", s.test, False))])
            return out + [(b, None) for b in breaks]
        if isinstance(s, (ast.For, ast.AsyncFor)):
            head = cfg._new("for", s)
            self._link(preds, head)
            self._may_raise_to_handlers(head)
            self.loops.append((head, []))
            body_out = self.seq(s.body, [(head, None)])
            for end, label in body_out:
                cfg.add_edge(end, head, label)
            _, breaks = self.loops.pop()
            out = self.seq(s.orelse, [(head, EdgeLabel("loop-exit", s, True))])
            return out + [(b, None) for b in breaks]
        if isinstance(s, (ast.With, ast.AsyncWith)):
            head = cfg._new("with", s)
            self._link(preds, head)
            self._may_raise_to_handlers(head)
            return self.seq(s.body, [(head, None)])
        if isinstance(s, ast.Try) or (hasattr(ast, "TryStar") and isinstance(s, ast.TryStar)):
            assert isinstance(s, ast.Try) or hasattr(s, "handlers")
            handler_nodes = [cfg._new("stmt", h) for h in s.handlers]  # type: ignore[attr-defined]
            self.handlers.append(handler_nodes)
            try_head = cfg._new("stmt", s)
            self._link(preds, try_head)
            self._may_raise_to_handlers(try_head)
            body_out = self.seq(s.body, [(try_head, None)])  # type: ignore[attr-defined]
            self.handlers.pop()
            out = self.seq(s.orelse, body_out) if s.orelse else body_out  # type: ignore[attr-defined]
            for h, hnode in zip(s.handlers, handler_nodes, strict=True):  # type: ignore[attr-defined]
                out += self.seq(h.body, [(hnode, None)])
            if s.finalbody:  # type: ignore[attr-defined]
                out = self.seq(s.finalbody, out)  # type: ignore[attr-defined]
            return out
        if isinstance(s, ast.Match):
            head = cfg._new("test", s)
            self._link(preds, head)
            out = []
            for case in s.cases:
                cnode = cfg._new("case", case)
                cfg.add_edge(head, cnode)
                out += self.seq(case.body, [(cnode, None)])
            out.append((head, None))
            return out
        if isinstance(s, ast.Assert):
            node = cfg._new("assert", s)
            self._link(preds, node)
            cfg.add_edge(node, cfg.exit, EdgeLabel("cond", s.test, False))
            return [(node, EdgeLabel("cond", s.test, True))]
        node = cfg._new("stmt", s)
        self._link(preds, node)
        self._may_raise_to_handlers(node)
        if isinstance(s, (ast.Return, ast.Raise)):
            if not (isinstance(s, ast.Raise) and self.handlers):
                cfg.add_edge(node, cfg.exit)
            return []
        if isinstance(s, ast.Continue):
            if self.loops:
                cfg.add_edge(node, self.loops[-1][0])
            return []
        if isinstance(s, ast.Break):
            if self.loops:
                self.loops[-1][1].append(node)
            return []
        return [(node, None)]


def build_cfg(owner: ast.AST, body: list[ast.stmt], max_nodes: int = 5000) -> CFG:
    """The control-flow graph of ``body`` (a function's or a module's statements)."""
    cfg = CFG(owner)
    _Builder(cfg, max_nodes).build(body)
    return cfg


def is_terminal_block(body: list[ast.stmt]) -> bool:
    """Whether a block always leaves by ``raise``/``return``/``continue``/``break`` (used by guard detection)."""
    return bool(body) and isinstance(body[-1], _TERMINAL)
