"""CWE-377: insecure temporary files.

``tempfile.mktemp()`` returns a name that another process can create first (a race between choosing the name
and opening it), and fixed names in shared temporary directories (``/tmp/app.log``,
``os.path.join(tempfile.gettempdir(), "cache")``) can be pre-created or symlinked by any local user.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from realcode.analysis.findings import Confidence, Finding, Severity
from realcode.analysis.security.rules._pure_ast import ModuleFacts, argument, facts_of
from realcode.analysis.security.rules.base import Rule, register

if TYPE_CHECKING:
    from realcode.analysis.security.context import AnalysisContext

SHARED_TMP_DIRS = ("/tmp/", "/var/tmp/", "/dev/shm/")
_MKTEMP = {"tempfile.mktemp", "os.tempnam", "os.tmpnam"}
# calls that create or open a file, and (position, keyword) of that path
_PATH_SINKS: dict[str, tuple[int, str | None]] = {
    "open": (0, "file"),
    "io.open": (0, "file"),
    "os.open": (0, "path"),
    "codecs.open": (0, "filename"),
    "os.mkdir": (0, "path"),
    "os.makedirs": (0, "name"),
    "os.mkfifo": (0, "path"),
    "pathlib.Path": (0, None),
    "pathlib.PurePath": (0, None),
    "shutil.copy": (1, "dst"),
    "shutil.copyfile": (1, "dst"),
    "shutil.copy2": (1, "dst"),
    "shutil.move": (1, "dst"),
    "logging.FileHandler": (0, "filename"),
    "sqlite3.connect": (0, "database"),
}


@register
class Mktemp(Rule):
    """``tempfile.mktemp()``: a temporary name that is not reserved (race between naming and opening).

    Bad::

        path = tempfile.mktemp(suffix=".txt")
        with open(path, "w") as fh: ...

    Good::

        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh: ...
    """

    id = "RC-TMP-001"
    cwe = "CWE-377"
    name = "insecure-mktemp"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    blind_spots = "Hand-rolled unique names (uuid4() joined to /tmp) are not reported."

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        facts = facts_of(ctx)
        if not facts.imports_any("tempfile", "os"):
            return
        for call, name in facts.calls():
            if name in _MKTEMP:
                yield self.finding(
                    ctx, call, f"{name}() returns a name another process can claim first; use mkstemp"
                )


@register
class PredictableTempPath(Rule):
    """A fixed file name in a shared temporary directory, opened or created.

    Bad::

        with open("/tmp/report.csv", "w") as fh: ...

    Good::

        with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as fh: ...
    """

    id = "RC-TMP-002"
    cwe = "CWE-377"
    name = "predictable-temp-path"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    blind_spots = "Paths assembled over several statements or read from configuration are not followed."

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        facts = facts_of(ctx)
        for call, name in facts.calls():
            spec = _PATH_SINKS.get(name)
            if spec is None:
                continue
            func = facts.enclosing_function(call)
            path = argument(call, *spec)
            where = _predictable_tmp(facts, path, func)
            if where is not None:
                yield self.finding(
                    ctx, call, f"{where} is a predictable name in a shared temporary directory; use tempfile"
                )


def _predictable_tmp(facts: ModuleFacts, expr: ast.expr | None, func: Any, depth: int = 0) -> str | None:
    if expr is None or depth > 3:
        return None
    if isinstance(expr, ast.Name):
        bound = facts.binding(expr.id, func)
        return _predictable_tmp(facts, bound, func, depth + 1) if bound is not None else None
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return repr(expr.value) if expr.value.startswith(SHARED_TMP_DIRS) else None
    if isinstance(expr, ast.JoinedStr) and expr.values:
        first = expr.values[0]
        if (
            isinstance(first, ast.Constant)
            and isinstance(first.value, str)
            and first.value.startswith(SHARED_TMP_DIRS)
        ):
            # only the directory is fixed when the rest is interpolated: still predictable unless random
            return f"{first.value!r}..." if not _has_random_part(facts, expr) else None
    if isinstance(expr, ast.Call):
        name = facts.call_name(expr) or ""
        if name in {"os.path.join", "posixpath.join"} and expr.args:
            head = expr.args[0]
            head_name = facts.call_name(head) if isinstance(head, ast.Call) else None
            rest_constant = all(isinstance(a, ast.Constant) for a in expr.args[1:]) and len(expr.args) > 1
            if head_name == "tempfile.gettempdir" and rest_constant:
                return "os.path.join(tempfile.gettempdir(), <constant>)"
            if _predictable_tmp(facts, head, func, depth + 1) and rest_constant:
                return "a fixed path under /tmp"
    return None


def _has_random_part(facts: ModuleFacts, expr: ast.JoinedStr) -> bool:
    for node in ast.walk(expr):
        if isinstance(node, ast.Call):
            name = facts.call_name(node) or ""
            if name.startswith(("uuid.", "secrets.", "os.urandom", "tempfile.")):
                return True
    return False
