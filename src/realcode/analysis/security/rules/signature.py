"""Improper verification of cryptographic signatures (CWE-347).

Three models of "signed data trusted without the verification that protects it":

- **Verification switched off.** ``jwt.decode(token, options={"verify_signature": False})``, ``verify=False``,
  ``algorithms=["none"]``, python-jose's ``jwt.get_unverified_claims``: the claims are used without their
  signature being checked.
- **Verification result discarded.** ``hmac.compare_digest(expected, given)`` as a bare statement: the comparison
  runs but nothing depends on it.
- **Signature supplied but never checked.** The module keeps a registry of known signatures or digests (a
  module-level mapping whose values are all digest-like strings), the function is handed an input it never reads,
  and it never consults the registry: whatever it fetches or accepts is trusted without comparing the supplied
  signature with the expected one.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from realcode.analysis.findings import Confidence, Finding, Severity
from realcode.analysis.security.rules._protection import (
    Analysis,
    FunctionFacts,
    analysis_of,
    call_name,
    method_name,
)
from realcode.analysis.security.rules.base import Rule, register

if TYPE_CHECKING:
    from realcode.analysis.security.context import AnalysisContext

#: A digest or signature written as text: 16+ characters of letters and digits (hex, base32/64url) with both.
_DIGEST = re.compile(r"^(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_\-+/=]{16,}$")
_UNVERIFIED_CALLS = frozenset(
    {"jwt.get_unverified_claims", "jose.jwt.get_unverified_claims", "jwt.api_jwt.decode_complete_unverified"}
)


def _registries(analysis: Analysis) -> set[str]:
    """Module-level mappings whose values are all digest-like strings."""
    out: set[str] = set()
    for name, value in analysis.module.stores.items():
        if not isinstance(value, ast.Dict) or not value.values:
            continue
        if all(
            isinstance(v, ast.Constant) and isinstance(v.value, str) and _DIGEST.match(v.value)
            for v in value.values
        ):
            out.add(name)
    return out


def _is_false(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def _dict_names(analysis: Analysis) -> dict[str, ast.Dict]:
    """Names bound to exactly one dict display in the module (options built before the call)."""
    seen: dict[str, list[ast.expr]] = {}
    for node in analysis.nodes_of(ast.Assign):
        assert isinstance(node, ast.Assign)
        for t in node.targets:
            if isinstance(t, ast.Name):
                seen.setdefault(t.id, []).append(node.value)
    return {k: v[0] for k, v in seen.items() if len(v) == 1 and isinstance(v[0], ast.Dict)}


def _verification_disabled(call: ast.Call, analysis: Analysis, dicts: dict[str, ast.Dict]) -> str | None:
    name = analysis.module.resolve(call_name(call))
    if method_name(call) == "loads_unsafe":
        return "`loads_unsafe` returns the payload even when its signature does not match (itsdangerous)"
    if name in _UNVERIFIED_CALLS:
        return f"`{call_name(call)}` returns claims whose signature was not verified"
    if not name.endswith("jwt.decode") and name not in {
        "jwt.decode",
        "jose.jwt.decode",
        "jwt.api_jwt.decode",
    }:
        return None
    for kw in call.keywords:
        if kw.arg == "verify" and _is_false(kw.value):
            return "`jwt.decode` is called with `verify=False`"
        options = kw.value
        if isinstance(options, ast.Name) and isinstance(dicts.get(options.id), ast.Dict):
            options = dicts[options.id]  # ``opts = {...}; jwt.decode(..., options=opts)``
        if kw.arg == "options" and isinstance(options, ast.Dict):
            for k, v in zip(options.keys, options.values, strict=True):
                if (
                    isinstance(k, ast.Constant)
                    and k.value in {"verify_signature", "verify_aud", "verify_exp"}
                    and _is_false(v)
                ):
                    return f"`jwt.decode` is called with `{k.value}` switched off"
        if kw.arg == "algorithms" and isinstance(kw.value, ast.List | ast.Tuple):
            for elt in kw.value.elts:
                if (
                    isinstance(elt, ast.Constant)
                    and isinstance(elt.value, str)
                    and elt.value.lower() == "none"
                ):
                    return "`jwt.decode` accepts the `none` algorithm (unsigned tokens)"
    has_key = len(call.args) >= 2 or any(kw.arg == "key" for kw in call.keywords)
    if has_key and not any(kw.arg == "algorithms" for kw in call.keywords):
        # Without a pinned list the token's own header picks the algorithm (PyJWT 1.x: "none", or HMAC keyed
        # with an RSA public key).
        return "`jwt.decode` does not pin `algorithms`: the token chooses how it is verified"
    return None


@register
class UnverifiedSignature(Rule):
    """Signed data is used without verifying its signature.

    Bad::

        claims = jwt.decode(token, options={"verify_signature": False})

    Good::

        claims = jwt.decode(token, key, algorithms=["HS256"])
    """

    id = "RC-SIG-001"
    cwe = "CWE-347"
    name = "unverified-signature"
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    blind_spots = (
        "Knows PyJWT/python-jose and hmac.compare_digest by name; other libraries' verify switches are not "
        "modelled. The registry model needs the expected signatures in a module-level mapping and the supplied "
        "one as an input the function never reads; a signature that is read but compared wrongly is not seen."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        analysis = analysis_of(ctx)
        if analysis is None:
            return
        dicts: dict[str, ast.Dict] | None = None
        for node in analysis.nodes_of(ast.Call):
            assert isinstance(node, ast.Call)
            if not analysis.module.resolve(call_name(node)).endswith(
                ("decode", "get_unverified_claims", "decode_complete_unverified", "loads_unsafe")
            ):
                continue
            if dicts is None:
                dicts = _dict_names(analysis)
            why = _verification_disabled(node, analysis, dicts)
            if why:
                yield self.finding(ctx, node, why)
        for node in analysis.nodes_of(ast.Expr):
            if (
                isinstance(node, ast.Expr)
                and isinstance(node.value, ast.Call)
                and analysis.module.resolve(call_name(node.value)) == "hmac.compare_digest"
            ):
                yield self.finding(ctx, node, "the result of `hmac.compare_digest` is discarded")
        registries = _registries(analysis)
        if registries:
            for facts in analysis.functions:
                yield from self._unchecked_signature(ctx, facts, registries)

    def _unchecked_signature(
        self, ctx: AnalysisContext, facts: FunctionFacts, registries: set[str]
    ) -> Iterator[Finding]:
        if facts.used & registries:
            return
        unused = [p for p in facts.params if p not in facts.used]
        if not unused:
            return
        yield self.finding(
            ctx,
            facts.node,
            f"`{facts.node.name}` never checks `{unused[0]}` against the known signatures in "
            f"`{sorted(registries)[0]}` before trusting the data",
        )
