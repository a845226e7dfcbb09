"""Resolving names: imports and aliases to fully qualified names (``from os import system as s`` -> ``os.system``)."""

from __future__ import annotations

import ast
from collections.abc import Iterable

# Old or alternative module names that mean the same API.
_MODULE_ALIASES = {
    "urlparse": "urllib.parse",
    "cPickle": "pickle",
    "_pickle": "pickle",
    "urllib2": "urllib.request",
    "xml.etree.cElementTree": "xml.etree.ElementTree",
    "defusedxml.cElementTree": "defusedxml.ElementTree",
}


def _normalize(name: str) -> str:
    for old, new in _MODULE_ALIASES.items():
        if name == old or name.startswith(old + "."):
            return new + name[len(old) :]
    return name


def build_import_map(tree: ast.AST, nodes: Iterable[ast.AST] | None = None) -> dict[str, str]:
    """Local name -> qualified name for every import in the module (imports inside functions included);
    ``nodes`` may give the module's import statements when the caller already has them."""
    imports: dict[str, str] = {}
    for node in nodes if nodes is not None else ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    imports[alias.asname] = _normalize(alias.name)
                else:
                    head = alias.name.split(".")[0]
                    imports.setdefault(head, _normalize(head))
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            for alias in node.names:
                if alias.name != "*":
                    imports[alias.asname or alias.name] = _normalize(f"{node.module}.{alias.name}")
    return imports


def dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of attributes on a name, else None."""
    parts: list[str] = []
    depth = 0
    while isinstance(node, ast.Attribute) and depth < 32:
        parts.append(node.attr)
        node = node.value
        depth += 1
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _dynamic_base(node: ast.AST, imports: dict[str, str]) -> str | None:
    """Dynamic spellings of a module or attribute: ``__import__("os")``, ``importlib.import_module("os")``,
    ``getattr(os, "system")`` (so that ``__import__("os").system(x)`` is a call of ``os.system``)."""
    if not isinstance(node, ast.Call) or not node.args:
        return None
    first = node.args[0]
    func = dotted(node.func)
    if func in ("__import__", "importlib.import_module") or (
        func is not None
        and imports.get(func.split(".")[0], "").startswith("importlib")
        and func.endswith("import_module")
    ):
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return _normalize(first.value)
        return None
    if func == "getattr" and len(node.args) >= 2:
        attr = node.args[1]
        base = qualify(first, imports)
        if base is not None and isinstance(attr, ast.Constant) and isinstance(attr.value, str):
            return f"{base}.{attr.value}"
    return None


def qualify(node: ast.AST, imports: dict[str, str]) -> str | None:
    """The qualified name of a name/attribute chain, resolving imported aliases; None for other expressions."""
    name = dotted(node)
    if name is None:
        parts: list[str] = []
        cur = node
        while isinstance(cur, ast.Attribute) and len(parts) < 32:
            parts.append(cur.attr)
            cur = cur.value
        base = _dynamic_base(cur, imports)
        if base is None:
            return None
        return ".".join([base, *reversed(parts)])
    head, _, rest = name.partition(".")
    if head in imports:
        base = imports[head]
        return _normalize(f"{base}.{rest}" if rest else base)
    return name


def method_name(call: ast.Call) -> str | None:
    """The attribute name of a method call ``<expr>.name(...)``, else None."""
    return call.func.attr if isinstance(call.func, ast.Attribute) else None
