"""Annotation and docstring coverage from Python's ``ast``: no mypy needed, microseconds per snippet.

Annotation coverage counts, over every function and method, the parameters that need an annotation
(all but the first parameter of a method, ``self``/``cls``, which mypy infers) and the return type;
coverage is annotated / needed. A bare ``Any`` annotation is reported because it switches checking off
for that value, but it still counts as annotated, as mypy counts it. Docstring coverage counts the
functions and classes (module docstrings are not asked for: snippets are usually one function) that open
with a string literal.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AnnotationIssue:
    """One missing or weak annotation: where, and what kind."""

    line: int
    column: int  # 1-based
    code: str  # "missing-param-annotation", "missing-return-annotation", "bare-any", "missing-docstring"
    message: str


@dataclass
class AnnotationStats:
    """Counts behind the two coverages, and the issues found."""

    needed: int = 0
    annotated: int = 0
    definitions: int = 0  # functions and classes
    documented: int = 0
    issues: list[AnnotationIssue] = field(default_factory=list)

    @property
    def annotation_coverage(self) -> float:
        """Share of parameters and returns that carry an annotation; 1.0 when nothing needs one."""
        return self.annotated / self.needed if self.needed else 1.0

    @property
    def docstring_coverage(self) -> float:
        """Share of functions and classes with a docstring; 1.0 when there are none."""
        return self.documented / self.definitions if self.definitions else 1.0


def _is_bare_any(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id == "Any"
    if isinstance(node, ast.Attribute):
        return node.attr == "Any" and isinstance(node.value, ast.Name) and node.value.id in {"typing", "t"}
    if isinstance(node, ast.Constant):
        return node.value == "Any"
    return False


class _Visitor(ast.NodeVisitor):
    def __init__(self) -> None:
        self.stats = AnnotationStats()
        self._class_depth: list[bool] = []  # for each enclosing scope: is it a class body?

    def _issue(self, node: ast.AST, code: str, message: str) -> None:
        line = getattr(node, "lineno", 1)
        column = getattr(node, "col_offset", 0) + 1
        self.stats.issues.append(AnnotationIssue(line, column, code, message))

    def _docstring(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, kind: str) -> None:
        self.stats.definitions += 1
        if ast.get_docstring(node, clean=False) is not None:
            self.stats.documented += 1
        else:
            self._issue(node, "missing-docstring", f"{kind} `{node.name}` has no docstring")

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._docstring(node, "class")
        self._class_depth.append(True)
        self.generic_visit(node)
        self._class_depth.pop()

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._docstring(node, "function")
        in_class = bool(self._class_depth) and self._class_depth[-1]
        is_static = any(
            (isinstance(d, ast.Name) and d.id == "staticmethod")
            or (isinstance(d, ast.Attribute) and d.attr == "staticmethod")
            for d in node.decorator_list
        )
        positional = [*node.args.posonlyargs, *node.args.args]
        skip_first = in_class and not is_static and bool(positional)
        params = positional[1:] if skip_first else positional
        params = [*params, *node.args.kwonlyargs]
        if node.args.vararg is not None:
            params.append(node.args.vararg)
        if node.args.kwarg is not None:
            params.append(node.args.kwarg)
        for arg in params:
            self.stats.needed += 1
            if arg.annotation is None:
                self._issue(
                    arg,
                    "missing-param-annotation",
                    f"parameter `{arg.arg}` of `{node.name}` is not annotated",
                )
            else:
                self.stats.annotated += 1
                if _is_bare_any(arg.annotation):
                    self._issue(arg, "bare-any", f"parameter `{arg.arg}` of `{node.name}` is annotated `Any`")
        self.stats.needed += 1
        if node.returns is None:
            self._issue(node, "missing-return-annotation", f"function `{node.name}` has no return annotation")
        else:
            self.stats.annotated += 1
            if _is_bare_any(node.returns):
                self._issue(node.returns, "bare-any", f"function `{node.name}` returns `Any`")
        self._class_depth.append(False)
        self.generic_visit(node)
        self._class_depth.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._function(node)


def annotation_stats(tree: ast.AST) -> AnnotationStats:
    """Annotation and docstring counts for a parsed module."""
    visitor = _Visitor()
    visitor.visit(tree)
    return visitor.stats
