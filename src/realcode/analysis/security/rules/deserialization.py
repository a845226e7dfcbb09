"""Unsafe deserialization of attacker data (CWE-502)."""

from __future__ import annotations

import ast
from collections.abc import Iterable

from realcode.analysis.findings import Confidence, Finding, Severity
from realcode.analysis.security.context import AnalysisContext
from realcode.analysis.security.engine.names import qualify
from realcode.analysis.security.engine.sinks import Sink, is_true, keyword
from realcode.analysis.security.rules.base import TaintSinkRule, register

_SAFE_LOADERS = frozenset(
    {
        "yaml.SafeLoader",
        "yaml.CSafeLoader",
        "yaml.BaseLoader",
        "yaml.CBaseLoader",
        "SafeLoader",
        "CSafeLoader",
    }
)


def _yaml_unsafe(call: ast.Call, imports: dict[str, str]) -> bool:
    loader = keyword(call, "Loader") or (call.args[1] if len(call.args) > 1 else None)
    if loader is None:
        return (
            True  # PyYAML < 6 defaults to the full loader; 6 requires Loader, so an omission is suspect too
        )
    return qualify(loader, imports) not in _SAFE_LOADERS


def _allow_pickle(call: ast.Call, imports: dict[str, str]) -> bool:
    return is_true(keyword(call, "allow_pickle"))


def _torch_unsafe(call: ast.Call, imports: dict[str, str]) -> bool:
    return not is_true(keyword(call, "weights_only"))


@register
class UnsafeDeserialization(TaintSinkRule):
    """Attacker data is deserialized with a format that can build arbitrary objects (pickle, marshal, unsafe
    YAML, jsonpickle, shelve, dill, ``numpy.load(allow_pickle=True)``, ``torch.load``).

    Bad::

        obj = pickle.loads(request_body)
        cfg = yaml.load(text, Loader=yaml.Loader)

    Good::

        obj = json.loads(request_body)
        cfg = yaml.safe_load(text)
    """

    id = "RC-DESER-001"
    cwe = "CWE-502"
    name = "unsafe-deserialization"
    severity = Severity.CRITICAL
    confidence = Confidence.HIGH
    kind = "deser"
    what = "attacker-controlled data"
    sinks = (
        Sink(
            "pickle deserialization",
            names=frozenset(
                {
                    "pickle.loads",
                    "pickle.load",
                    "pickle.Unpickler",
                    "dill.loads",
                    "dill.load",
                    "cloudpickle.loads",
                    "cloudpickle.load",
                    "joblib.load",
                    "pandas.read_pickle",
                    "jsonpickle.decode",
                    "jsonpickle.loads",
                    "shelve.open",
                    "marshal.loads",
                    "marshal.load",
                }
            ),
        ),
        Sink("yaml.load", names=frozenset({"yaml.load", "yaml.load_all"}), when=_yaml_unsafe),
        Sink(
            "yaml.unsafe_load",
            names=frozenset({"yaml.unsafe_load", "yaml.unsafe_load_all", "yaml.full_load"}),
        ),
        Sink("numpy.load(allow_pickle=True)", names=frozenset({"numpy.load"}), when=_allow_pickle),
        Sink("torch.load", names=frozenset({"torch.load"}), when=_torch_unsafe),
    )
    blind_spots = (
        "Custom `Unpickler` subclasses that restrict `find_class` are not recognised as safe; formats chosen "
        "through dictionaries of loader functions are followed only when the call is direct."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        yield from super().check(ctx)
        yield from self._dispatch(ctx)

    def _dispatch(self, ctx: AnalysisContext) -> Iterable[Finding]:
        """``LOADERS[fmt](data)`` where the table holds an unsafe deserializer and ``fmt`` is attacker data:
        checking ``fmt in LOADERS`` does not help, the attacker simply names the unsafe entry."""
        unsafe = {n for s in self.sinks[:1] for n in s.names}
        for call in ctx.calls():
            func = call.func
            if not (isinstance(func, ast.Subscript) and isinstance(func.value, ast.Name)):
                continue
            owner = ctx.enclosing_function(call)
            values = ctx.analysis.defs.get(id(owner) if owner is not None else id(ctx.tree), {}).get(
                func.value.id
            )
            if not values:
                values = ctx.analysis.defs.get(id(ctx.tree), {}).get(func.value.id)
            table = values[0] if values and len(values) == 1 else None
            if not isinstance(table, ast.Dict):
                continue
            names = {ctx.qualified_name(v) for v in table.values if v is not None}
            chosen = sorted(n for n in names if n in unsafe)
            if not chosen:
                continue
            state = ctx.state_at(ctx.enclosing_statement(call) or call)
            key = func.slice
            t = ctx.taint_of(key)
            if t is None and isinstance(key, ast.Name):
                t = state.get(key.id)
            if t is None:
                continue
            yield self.finding(
                ctx,
                call,
                f"attacker-controlled format selects a deserializer from a table that includes {chosen[0]}",
                ctx.trace(t, call, f"{func.value.id}[...] dispatch (sink)"),
                confidence=Confidence.MEDIUM,
            )
