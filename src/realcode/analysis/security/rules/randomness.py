"""CWE-338: the ``random`` module (a Mersenne Twister, predictable from 624 outputs) used for secrets.

Whether a random value is a secret is decided from what the *code does with it*, never from identifier names:

1. **It reaches a security sink**: an HMAC or cipher key, an IV or nonce, a KDF salt, a cookie value, a
   ``compare_digest`` operand, a JWT signing key.
2. **It is a random string over a character alphabet**: ``random.choice``/``choices``/``sample`` drawing from
   ``string.ascii_letters``/``digits``/``hexdigits``/``punctuation`` (or a literal alphabet of 16+ characters)
   joined into a string. Code that assembles random characters into a string is minting an identifier: a
   token, a password, a key, a session or reset code.
3. **It is random bits turned into bytes or hex**: ``getrandbits(n).to_bytes(...)``, ``randbytes(n)``,
   ``hex(getrandbits(n))``, ``'%x' % getrandbits(n)``: the shape of key material and tokens.

Blind spots: random numbers used as secrets without any of these shapes (a 6-digit PIN from
``randint(0, 999999)`` returned as an int) are not flagged, and random strings built for non-secret purposes
(test fixtures, temporary names) are flagged. ``random.SystemRandom`` is secure and never flagged.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from realcode.analysis.findings import Confidence, Finding, Severity, TraceStep
from realcode.analysis.security.rules._pure_ast import (
    ModuleFacts,
    argument,
    assignments,
    derived_names,
    facts_of,
    names_in,
    walk_function,
)
from realcode.analysis.security.rules.base import Rule, node_location, register

if TYPE_CHECKING:
    from realcode.analysis.security.context import AnalysisContext

_RANDOM_FUNCS = frozenset(
    {
        "random",
        "randint",
        "randrange",
        "choice",
        "choices",
        "sample",
        "getrandbits",
        "randbytes",
        "uniform",
        "shuffle",
    }
)
_DRAW_FROM = frozenset({"choice", "choices", "sample"})
_BITS = frozenset({"getrandbits", "randbytes"})
_ALPHABETS = frozenset(
    {
        "ascii_letters",
        "ascii_lowercase",
        "ascii_uppercase",
        "digits",
        "hexdigits",
        "octdigits",
        "punctuation",
        "printable",
        "letters",
        "lowercase",
        "uppercase",
    }
)

# (position, keyword) of arguments that must be unpredictable, per API.
SECRET_ARGUMENTS: dict[str, tuple[tuple[int, str | None], ...]] = {
    "hmac.new": ((0, "key"),),
    "hmac.digest": ((0, "key"),),
    "hashlib.pbkdf2_hmac": ((2, "salt"),),
    "hashlib.scrypt": ((-1, "salt"),),
    "secrets.compare_digest": ((0, None), (1, None)),
    "hmac.compare_digest": ((0, None), (1, None)),
    "jwt.encode": ((1, "key"),),
    "uuid.UUID": ((-1, "int"), (-1, "bytes")),
}
_CIPHER_PREFIXES = ("Crypto.Cipher.", "Cryptodome.Cipher.")


def random_function(facts: ModuleFacts, call: ast.Call) -> str | None:
    """``choice`` for ``random.choice(...)`` (or ``from random import choice``); None for other calls.

    Methods of a ``random.Random(seed)`` instance count; ``random.SystemRandom`` does not.
    """
    name = facts.call_name(call)
    if name is not None:
        for prefix in ("random.", "numpy.random."):
            if name.startswith(prefix) and name[len(prefix) :] in _RANDOM_FUNCS:
                return name[len(prefix) :]
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in _RANDOM_FUNCS:
        recv = func.value
        if isinstance(recv, ast.Call) and facts.call_name(recv) == "random.Random":
            return func.attr
    return None


@register
class PredictableSecret(Rule):
    """A secret (token, password, key, salt) made with the ``random`` module.

    Bad::

        alphabet = string.ascii_letters + string.digits
        token = "".join(random.choice(alphabet) for _ in range(32))

    Good::

        token = "".join(secrets.choice(alphabet) for _ in range(32))  # or secrets.token_urlsafe(32)
    """

    id = "RC-RAND-001"
    cwe = "CWE-338"
    name = "predictable-random-secret"
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    blind_spots = (
        "Random numbers used as secrets without a token shape or a secret sink (a PIN returned as an int) are "
        "missed; random strings over an alphabet made for non-secret uses (test data, temp names) are flagged."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        facts = facts_of(ctx)
        if not facts.imports_any("random", "numpy"):
            return
        reported: set[int] = set()
        for node in facts.nodes:
            if not isinstance(node, ast.Call):
                continue
            kind = random_function(facts, node)
            if kind is None:
                continue
            func = facts.enclosing_function(node)
            why = self._shape(facts, node, kind, func) or self._sink(facts, node, func)
            if why is not None and id(node) not in reported:
                reported.add(id(node))
                trace = [TraceStep(location=node_location(ctx.path, node), note=f"random.{kind}() (source)")]
                yield self.finding(
                    ctx, node, f"random.{kind}() is predictable and {why}; use the secrets module", trace
                )

    def _shape(self, facts: ModuleFacts, call: ast.Call, kind: str, func: Any) -> str | None:
        if kind in _DRAW_FROM:
            population = argument(call, 0, "population" if kind != "choice" else "seq")
            if (
                population is not None
                and _is_alphabet(facts, population, func)
                and _joined(facts, call, func)
            ):
                return "builds a random string over a character alphabet (a token or password)"
        if kind in _BITS:
            parent = facts.parents.get(call)
            if kind == "randbytes":
                return "produces random bytes (key material)"
            if isinstance(parent, ast.Attribute) and parent.attr in {"to_bytes", "hex"}:
                return "is turned into bytes (key material)"
            if isinstance(parent, ast.Call) and facts.call_name(parent) in {
                "hex",
                "bytes",
                "format",
                "bytearray",
            }:
                return "is turned into hex or bytes (a token or key)"
            if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Mod):
                return "is formatted into a token"
            if isinstance(parent, ast.FormattedValue):
                return "is formatted into a token"
        return None

    def _sink(self, facts: ModuleFacts, call: ast.Call, func: Any, depth: int = 0) -> str | None:
        """The value of ``call`` flows (through local assignments, and through the return value of the
        enclosing function into its callers, two levels deep) into an argument that must be secret."""
        tainted = _names_holding(facts, call, func)
        scope: Any = func if func is not None else facts.tree
        nodes = list(walk_function(scope) if func is not None else ast.walk(scope))
        for node in nodes:
            if not isinstance(node, ast.Call):
                continue
            name = facts.call_name(node)
            for arg in _secret_arguments(facts, node, name):
                if _carries(arg, call, tainted):
                    return f"reaches {name or 'set_cookie'}, which needs an unpredictable value"
        if depth >= 2 or not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            return None
        returned = any(
            isinstance(node, ast.Return) and node.value is not None and _carries(node.value, call, tainted)
            for node in nodes
        )
        if not returned:
            return None
        for caller in facts.nodes:
            if (
                isinstance(caller, ast.Call)
                and isinstance(caller.func, ast.Name)
                and caller.func.id == func.name
                and caller is not call
            ):
                why = self._sink(facts, caller, facts.enclosing_function(caller), depth + 1)
                if why is not None:
                    return f"is returned by {func.name}() and {why.removeprefix('is returned by ')}"
        return None


def _carries(expr: ast.expr, call: ast.Call, tainted: set[str]) -> bool:
    return any(node is call for node in ast.walk(expr)) or bool(names_in(expr) & tainted)


def _secret_arguments(facts: ModuleFacts, node: ast.Call, name: str | None) -> list[ast.expr]:
    """The arguments of ``node`` that must hold an unpredictable value."""
    args: list[ast.expr] = []
    if name in SECRET_ARGUMENTS:
        for pos, kw in SECRET_ARGUMENTS[name]:
            arg = argument(node, pos, kw) if pos >= 0 else argument(node, 99, kw)
            if arg is not None:
                args.append(arg)
    elif name is not None and name.startswith(_CIPHER_PREFIXES) and name.endswith(".new"):
        args = [*node.args[:1], *(k.value for k in node.keywords if k.arg in {"key", "iv", "nonce"})]
        args += [a for i, a in enumerate(node.args) if i >= 2]
    elif isinstance(node.func, ast.Attribute) and node.func.attr == "set_cookie":
        args = [*node.args[1:2], *(k.value for k in node.keywords if k.arg == "value")]
    return args


def _names_holding(facts: ModuleFacts, call: ast.Call, func: Any) -> set[str]:
    """Local names whose value derives from ``call`` (forward closure over assignments)."""
    if func is None:
        return set()
    binds = assignments(func)
    holding: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, values in binds.items():
            if name in holding:
                continue
            for value in values:
                if call in set(ast.walk(value)) or names_in(value) & holding:
                    holding.add(name)
                    changed = True
                    break
    return holding


def _is_alphabet(facts: ModuleFacts, expr: ast.expr, func: Any) -> bool:
    exprs: list[ast.AST] = [expr]
    for name in derived_names(expr, func):
        bound = facts.binding(name, func)
        if bound is not None:
            exprs.append(bound)
    for e in exprs:
        for node in ast.walk(e):
            if isinstance(node, ast.Attribute) and node.attr in _ALPHABETS:
                if (facts.qualified_name(node) or "").startswith("string."):
                    return True
            elif isinstance(node, ast.Name) and facts.imports.get(node.id, "").startswith("string."):
                if facts.imports[node.id].rsplit(".", 1)[-1] in _ALPHABETS:
                    return True
            elif (
                isinstance(node, ast.Constant) and isinstance(node.value, str) and len(set(node.value)) >= 16
            ):
                return True
    return False


def _joined(facts: ModuleFacts, call: ast.Call, func: Any) -> bool:
    """``call`` feeds a ``str.join`` directly or through a local name."""
    cur: ast.AST | None = facts.parents.get(call)
    while cur is not None and not isinstance(cur, ast.stmt):
        if isinstance(cur, ast.Call) and isinstance(cur.func, ast.Attribute) and cur.func.attr == "join":
            return True
        cur = facts.parents.get(cur)
    holding = _names_holding(facts, call, func)
    if not holding or func is None:
        return False
    for node in walk_function(func):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "join"
            and any(names_in(a) & holding for a in node.args)
        ):
            return True
    return False
