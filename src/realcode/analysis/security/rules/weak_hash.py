"""CWE-328: MD5, SHA-1 and other broken hashes used where a hash must resist collisions or preimages.

Python marks the non-security uses itself: ``hashlib.md5(data, usedforsecurity=False)`` says "this is a
checksum or a cache key". Everything else (``hashlib.md5(...)``, ``hashlib.new("sha1", ...)``, PyCryptodome's
``MD5.new``, cryptography's ``hashes.MD5()``) is treated as a security use.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import TYPE_CHECKING

from realcode.analysis.findings import Confidence, Finding, Severity
from realcode.analysis.security.rules._pure_ast import argument, facts_of, keyword
from realcode.analysis.security.rules.base import Rule, register
from realcode.analysis.security.rules.crypto import is_weak_hash_name

if TYPE_CHECKING:
    from realcode.analysis.security.context import AnalysisContext

_HASH_LIBS = ("Crypto.Hash.", "Cryptodome.Hash.")


@register
class WeakHash(Rule):
    """A broken hash function (MD5, SHA-1, MD4, ...) used without ``usedforsecurity=False``.

    Bad::

        digest = hashlib.md5(password.encode()).hexdigest()

    Good::

        digest = hashlib.sha256(data).hexdigest()
        etag = hashlib.md5(body, usedforsecurity=False).hexdigest()  # declared non-security use
    """

    id = "RC-HASH-001"
    cwe = "CWE-328"
    name = "weak-hash"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    blind_spots = (
        "Which uses are security uses is taken from ``usedforsecurity`` only: an MD5 used as a cache key "
        "without the flag is reported; MD5 reached through a variable algorithm name is left to RC-CRYPTO-006. "
        "HMAC and signatures with weak hashes are reported as CWE-327 (RC-CRYPTO-005), not here."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        facts = facts_of(ctx)
        if not facts.imports_any("hashlib", "Crypto", "Cryptodome", "cryptography"):
            return
        for call, name in facts.calls():
            func = facts.enclosing_function(call)
            weak: str | None = None
            if name.startswith("hashlib.") and is_weak_hash_name(name.rsplit(".", 1)[-1]):
                weak = name.rsplit(".", 1)[-1]
            elif name == "hashlib.new":
                algo = facts.literal(argument(call, 0, "name"), func)
                if isinstance(algo, str) and is_weak_hash_name(algo):
                    weak = algo
            elif name.startswith(_HASH_LIBS) and name.endswith(".new"):
                module = name.rsplit(".", 2)[-2]
                if is_weak_hash_name(module):
                    weak = module
            elif name.startswith("cryptography.hazmat.primitives.hashes.") and is_weak_hash_name(
                name.rsplit(".", 1)[-1]
            ):
                parent = facts.parents.get(call)
                # as the hash of a signature or HMAC it is CWE-327's business (RC-CRYPTO-005)
                if not (isinstance(parent, ast.Call) and _signs(parent)):
                    weak = name.rsplit(".", 1)[-1]
            if weak is None:
                continue
            flag = keyword(call, "usedforsecurity")
            if isinstance(flag, ast.Constant) and flag.value is False:
                continue
            yield self.finding(
                ctx,
                call,
                f"{weak.upper()} is broken for security uses; use SHA-256 (or a password KDF for passwords)",
            )


def _signs(call: ast.Call) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name in {"sign", "verify", "HMAC"}
