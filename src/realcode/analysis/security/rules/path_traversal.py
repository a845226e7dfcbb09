"""Path traversal (CWE-22): attacker-controlled paths reaching file-system operations without normalization
followed by a containment check (or ``os.path.basename``/``secure_filename``)."""

from __future__ import annotations

import ast
from collections.abc import Iterable

from realcode.analysis.findings import Confidence, Finding, Severity
from realcode.analysis.security.context import AnalysisContext
from realcode.analysis.security.engine.models import MARK_JOINED
from realcode.analysis.security.engine.names import qualify
from realcode.analysis.security.engine.sinks import Sink
from realcode.analysis.security.rules.base import TaintSinkRule, register

_FS_FUNCS = frozenset(
    {
        "open",
        "io.open",
        "codecs.open",
        "os.open",
        "os.remove",
        "os.unlink",
        "os.rmdir",
        "os.removedirs",
        "os.rename",
        "os.replace",
        "os.mkdir",
        "os.makedirs",
        "os.listdir",
        "os.scandir",
        "os.walk",
        "os.chmod",
        "os.chown",
        "os.stat",
        "os.truncate",
        "os.symlink",
        "os.link",
        "os.path.getsize",
        "shutil.copy",
        "shutil.copy2",
        "shutil.copyfile",
        "shutil.copytree",
        "shutil.move",
        "shutil.rmtree",
        "shutil.make_archive",
        "flask.send_file",
        "django.http.FileResponse",
        "fastapi.responses.FileResponse",
        "starlette.responses.FileResponse",
        "aiofiles.open",
        "tarfile.open",
        "zipfile.ZipFile",
        "numpy.load",
        "pandas.read_csv",
    }
)
_PATH_METHODS = frozenset(
    {
        "open",
        "read_text",
        "read_bytes",
        "write_text",
        "write_bytes",
        "unlink",
        "rmdir",
        "mkdir",
        "touch",
        "exists",
        "is_file",
        "is_dir",
        "iterdir",
        "glob",
        "rglob",
        "rename",
        "replace",
        "stat",
        "chmod",
        "symlink_to",
    }
)
_PATH_DERIVING = frozenset({"joinpath", "resolve", "absolute", "with_name", "with_suffix", "parent"})
_PATH_CTORS = frozenset({"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "Path"})


@register
class PathTraversal(TaintSinkRule):
    """An attacker-controlled path reaches a file-system operation, so ``../`` or an absolute path escapes the
    intended directory.

    Bad::

        with open(os.path.join(BASE, name)) as fh: ...
        (UPLOADS / name).unlink()

    Good::

        path = (UPLOADS / name).resolve()
        if not path.is_relative_to(UPLOADS.resolve()):
            raise PermissionError(name)
        path.unlink()
    """

    id = "RC-PATH-001"
    cwe = "CWE-22"
    name = "path-traversal"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    kind = "path"
    what = "an attacker-controlled path"
    sinks = (
        Sink("a file-system call", names=_FS_FUNCS, keywords=("file", "path", "filename")),
        Sink(
            "a file-system call (destination)",
            names=frozenset({"shutil.copy", "shutil.copyfile", "shutil.move", "os.rename"}),
            args=(1,),
        ),
    )
    blind_spots = (
        "A parameter used as a whole path (`def load(path): open(path)`) is the caller's choice, not a "
        "traversal: parameters are reported only once appended to a base directory, while request, input "
        "and network data are reported whole. Containment checks done by a helper in another module are not recognised; `send_from_directory` is "
        "trusted; archive members (zip slip) are covered only when their names flow from a source."
    )

    def accept(self, ctx: AnalysisContext, call: ast.Call, arg: ast.expr, sink: Sink) -> bool:
        t = ctx.taint_of(arg)
        return t is not None and bool(t.live_where("path", MARK_JOINED, external=True))

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        yield from super().check(ctx)
        for call in ctx.calls():
            func = call.func
            if not isinstance(func, ast.Attribute) or func.attr not in _PATH_METHODS:
                continue
            recv = func.value
            if not self._pathlike(ctx, recv, 0):
                continue
            t = ctx.taint_of(recv)
            if t is None or not t.live_where("path", MARK_JOINED, external=True):
                continue
            yield self.finding(
                ctx,
                call,
                f"{self.what} reaches Path.{func.attr}()",
                ctx.trace(t, call, f"Path.{func.attr}() (sink)"),
                confidence=Confidence.MEDIUM
                if func.attr in ("exists", "is_file", "is_dir", "stat")
                else None,
            )

    def _pathlike(self, ctx: AnalysisContext, expr: ast.expr, depth: int) -> bool:
        if depth > 4:
            return False
        if isinstance(expr, ast.Call):
            if qualify(expr.func, ctx.imports) in _PATH_CTORS:
                return True
            return isinstance(expr.func, ast.Attribute) and expr.func.attr in _PATH_DERIVING
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):
            return True
        if isinstance(expr, ast.Name):
            func = ctx.enclosing_function(expr)
            owner = func if func is not None else ctx.tree
            values = ctx.analysis.defs.get(id(owner), {}).get(expr.id)
            if values is None and func is not None:
                values = ctx.analysis.defs.get(id(ctx.tree), {}).get(expr.id)
            if values:
                return any(self._pathlike(ctx, v, depth + 1) for v in values)
            if func is not None:
                for a in (*func.args.args, *func.args.kwonlyargs):
                    if a.arg == expr.id and a.annotation is not None:
                        return qualify(a.annotation, ctx.imports) in _PATH_CTORS
        return False
