"""Code injection: attacker text evaluated (CWE-95) or executed/compiled (CWE-94) as Python."""

from __future__ import annotations

from realcode.analysis.findings import Confidence, Severity
from realcode.analysis.security.engine.sinks import Sink
from realcode.analysis.security.rules.base import TaintSinkRule, register


@register
class EvalInjection(TaintSinkRule):
    """Attacker text reaches ``eval`` (even with restricted globals, which do not make eval safe).

    Bad::

        result = eval(expression)

    Good::

        result = ast.literal_eval(expression)     # or: parse with ast and allow only arithmetic nodes
    """

    id = "RC-CODE-001"
    cwe = "CWE-95"
    name = "eval-injection"
    severity = Severity.CRITICAL
    confidence = Confidence.HIGH
    kind = "code"
    what = "attacker-controlled text"
    sinks = (Sink("eval()", names=frozenset({"eval", "builtins.eval"})),)
    blind_spots = (
        "Evaluation through third-party expression engines (numexpr, pandas.eval, sympy.sympify) is not "
        "modelled; a validator in another module is not recognised."
    )


@register
class CodeExecution(TaintSinkRule):
    """Attacker text is executed or compiled as Python code (``exec``, ``compile``, ``code.interact``...).

    Bad::

        exec(snippet)

    Good::

        tree = ast.parse(snippet)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.Call, ast.Attribute)):
                raise ValueError("not allowed")
        exec(compile(tree, "<snippet>", "exec"))
    """

    id = "RC-CODE-002"
    cwe = "CWE-94"
    name = "code-injection"
    severity = Severity.CRITICAL
    confidence = Confidence.HIGH
    kind = "code"
    what = "attacker-controlled code"
    sinks = (
        Sink("exec()", names=frozenset({"exec", "builtins.exec"})),
        Sink("code.InteractiveInterpreter.runsource", methods=frozenset({"runsource", "runcode"})),
        Sink("importlib.import_module", names=frozenset({"importlib.import_module", "__import__"})),
    )
    blind_spots = (
        "Dynamic imports through plugin registries and `getattr` on modules are not modelled; `compile()` "
        "alone is not a sink (the code object is reported where it is executed)."
    )
