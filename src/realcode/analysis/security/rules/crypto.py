"""CWE-327: broken or risky cryptography.

Broken ciphers (DES, RC4, RC2, Blowfish, IDEA, ...), the ECB mode, RSA/DSA keys below 2048 bits and elliptic
curves below 224 bits, SSL/TLS protocol versions older than TLS 1.2, MD5/SHA-1 as the hash of a MAC or a
signature, and a hash algorithm chosen by the caller (``hashlib.new(name)``) without an allow-list of strong
algorithms in front of it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from realcode.analysis.findings import Confidence, Finding, Severity
from realcode.analysis.security.rules._pure_ast import (
    NOT_CONSTANT,
    ModuleFacts,
    argument,
    attacker_flow,
    derived_names,
    dominating_membership_guards,
    facts_of,
)
from realcode.analysis.security.rules.base import Rule, register

if TYPE_CHECKING:
    from realcode.analysis.security.context import AnalysisContext

_CIPHER_LIBS = ("Crypto.Cipher", "Cryptodome.Cipher")
_BROKEN_PYCRYPTO = ("DES", "DES3", "ARC2", "ARC4", "Blowfish", "XOR", "CAST")
_BROKEN_HAZMAT = ("ARC4", "Blowfish", "IDEA", "CAST5", "SEED", "TripleDES")
BROKEN_CIPHER_CALLS: frozenset[str] = frozenset(
    {f"{lib}.{c}.new" for lib in _CIPHER_LIBS for c in _BROKEN_PYCRYPTO}
    | {
        f"cryptography.hazmat.{pkg}.ciphers.algorithms.{c}"
        for pkg in ("primitives", "decrepit")
        for c in _BROKEN_HAZMAT
    }
    | {"pyDes.des", "pyDes.triple_des"}
)

# Hash algorithms that must not protect anything (collisions are practical or close to it).
WEAK_HASH_NAMES: frozenset[str] = frozenset(
    {"md2", "md4", "md5", "sha", "sha1", "md5sha1", "mdc2", "ripemd160"}
)


def normalize_hash_name(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def is_weak_hash_name(name: str) -> bool:
    return normalize_hash_name(name) in WEAK_HASH_NAMES


def weak_hash_reference(facts: ModuleFacts, expr: ast.AST | None, func: Any) -> str | None:
    """The weak algorithm ``expr`` names: a string (``"md5"``), a constructor (``hashlib.sha1``, ``SHA1``)."""
    if expr is None:
        return None
    value = facts.literal(expr, func)
    if isinstance(value, str) and is_weak_hash_name(value):
        return value
    target = expr.func if isinstance(expr, ast.Call) else expr
    name = facts.qualified_name(target)
    if name is None:
        return None
    last = name.rsplit(".", 1)[-1]
    if (
        name.startswith(
            ("hashlib.", "Crypto.Hash.", "Cryptodome.Hash.", "cryptography.hazmat.primitives.hashes.")
        )
        and is_weak_hash_name(last.removesuffix(".new"))
    ) or (name.endswith(".new") and is_weak_hash_name(name.rsplit(".", 2)[-2])):
        return last if not name.endswith(".new") else name.rsplit(".", 2)[-2]
    return None


@register
class BrokenCipher(Rule):
    """A broken or risky block/stream cipher.

    Bad::

        from Crypto.Cipher import DES
        cipher = DES.new(key, DES.MODE_CBC, iv)

    Good::

        from Crypto.Cipher import AES
        cipher = AES.new(key, AES.MODE_GCM)
    """

    id = "RC-CRYPTO-001"
    cwe = "CWE-327"
    name = "broken-cipher"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    blind_spots = "Ciphers reached through wrappers or reflection (getattr on a module) are not seen."

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        facts = facts_of(ctx)
        if not facts.imports_any("Crypto", "Cryptodome", "cryptography", "pyDes"):
            return
        for call, name in facts.calls():
            if name in BROKEN_CIPHER_CALLS:
                algo = name.removesuffix(".new").rsplit(".", 1)[-1]
                yield self.finding(
                    ctx, call, f"`{algo}` is a broken or risky cipher; use AES-GCM or ChaCha20-Poly1305"
                )


@register
class EcbMode(Rule):
    """The ECB block-cipher mode, which leaks patterns of the plaintext.

    Bad::

        cipher = AES.new(key, AES.MODE_ECB)

    Good::

        cipher = AES.new(key, AES.MODE_GCM)
    """

    id = "RC-CRYPTO-002"
    cwe = "CWE-327"
    name = "ecb-mode"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    blind_spots = "A mode passed as a plain integer (AES.new(key, 1)) is not recognised."

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        facts = facts_of(ctx)
        if not facts.imports_any("Crypto", "Cryptodome", "cryptography"):
            return
        for node in facts.nodes:
            if isinstance(node, ast.Call):
                name = facts.call_name(node)
                if name is not None and name.endswith(".modes.ECB") and name.startswith("cryptography."):
                    yield self.finding(
                        ctx, node, "ECB mode encrypts equal blocks to equal ciphertext; use GCM"
                    )
                    continue
                for arg in [*node.args, *(k.value for k in node.keywords)]:
                    ref = facts.qualified_name(arg) if isinstance(arg, ast.Attribute) else None
                    if ref is not None and ref.endswith(".MODE_ECB") and ref.startswith(_CIPHER_LIBS):
                        yield self.finding(
                            ctx, node, "ECB mode encrypts equal blocks to equal ciphertext; use GCM"
                        )
                        break


_RSA_DSA_KEYGEN = {
    "cryptography.hazmat.primitives.asymmetric.rsa.generate_private_key": (1, "key_size"),
    "cryptography.hazmat.primitives.asymmetric.dsa.generate_private_key": (0, "key_size"),
    "Crypto.PublicKey.RSA.generate": (0, "bits"),
    "Crypto.PublicKey.DSA.generate": (0, "bits"),
    "Cryptodome.PublicKey.RSA.generate": (0, "bits"),
    "Cryptodome.PublicKey.DSA.generate": (0, "bits"),
    "rsa.newkeys": (0, "nbits"),
}
_WEAK_CURVES = ("SECP192R1", "SECT163K1", "SECT163R2")


@register
class WeakKeySize(Rule):
    """An RSA or DSA key shorter than 2048 bits, or an elliptic curve weaker than 224 bits.

    Bad::

        key = rsa.generate_private_key(public_exponent=65537, key_size=1024)

    Good::

        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    """

    id = "RC-CRYPTO-003"
    cwe = "CWE-327"
    name = "weak-key-size"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    blind_spots = "Key sizes computed at run time (not constants) are not checked."

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        facts = facts_of(ctx)
        if not facts.imports_any("Crypto", "Cryptodome", "cryptography", "rsa"):
            return
        for call, name in facts.calls():
            spec = _RSA_DSA_KEYGEN.get(name)
            if spec is not None:
                size = facts.literal(argument(call, spec[0], spec[1]), facts.enclosing_function(call))
                if isinstance(size, int) and not isinstance(size, bool) and size < 2048:
                    yield self.finding(
                        ctx, call, f"a {size}-bit key can be factored; use at least 2048 (3072) bits"
                    )
            elif name.startswith("cryptography.hazmat.primitives.asymmetric.ec.") and name.endswith(
                _WEAK_CURVES
            ):
                yield self.finding(
                    ctx, call, f"curve `{name.rsplit('.', 1)[-1]}` is below 224 bits; use SECP256R1"
                )


_OLD_PROTOCOLS = {"PROTOCOL_SSLv2", "PROTOCOL_SSLv3", "PROTOCOL_TLSv1", "PROTOCOL_TLSv1_1"}
_OLD_TLS_VERSIONS = {"SSLv3", "TLSv1", "TLSv1_1"}
_OLD_PYOPENSSL = {"SSLv2_METHOD", "SSLv3_METHOD", "SSLv23_METHOD", "TLSv1_METHOD", "TLSv1_1_METHOD"}


@register
class InsecureTlsVersion(Rule):
    """An SSL/TLS protocol version older than TLS 1.2.

    Bad::

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLSv1)

    Good::

        ctx = ssl.create_default_context()
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    """

    id = "RC-CRYPTO-004"
    cwe = "CWE-327"
    name = "insecure-tls-version"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    blind_spots = "Versions given as integers, or set through OpenSSL option flags, are not checked."

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        facts = facts_of(ctx)
        if not facts.imports_any("ssl", "OpenSSL"):
            return
        for node in facts.nodes:
            if not isinstance(node, ast.Attribute | ast.Name) or not isinstance(node.ctx, ast.Load):
                continue
            if isinstance(facts.parents.get(node), ast.Attribute):
                continue  # judged at the outermost attribute
            name = facts.qualified_name(node)
            if name is None:
                continue
            last = name.rsplit(".", 1)[-1]
            if (
                (name.startswith("ssl.") and last in _OLD_PROTOCOLS)
                or (name.startswith("ssl.TLSVersion.") and last in _OLD_TLS_VERSIONS)
                or (name.startswith("OpenSSL.SSL.") and last in _OLD_PYOPENSSL)
            ):
                yield self.finding(
                    ctx, node, f"`{last}` is an obsolete protocol version; require TLS 1.2 or later"
                )


_MAC_CALLS = {"hmac.new": (2, "digestmod"), "hmac.digest": (2, "digest"), "hmac.HMAC": (2, "digestmod")}


@register
class WeakHashInMac(Rule):
    """MD5 or SHA-1 as the hash of an HMAC or a signature.

    Bad::

        sig = hmac.new(key, message, hashlib.md5).digest()

    Good::

        sig = hmac.new(key, message, hashlib.sha256).digest()
    """

    id = "RC-CRYPTO-005"
    cwe = "CWE-327"
    name = "weak-hash-in-mac-or-signature"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    blind_spots = "Signatures made through libraries other than hmac and cryptography are not checked."

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        facts = facts_of(ctx)
        if not facts.imports_any("hmac", "cryptography"):
            return
        for call, name in facts.calls():
            func = facts.enclosing_function(call)
            weak: str | None = None
            if name in _MAC_CALLS:
                pos, kw = _MAC_CALLS[name]
                weak = weak_hash_reference(facts, argument(call, pos, kw), func)
            elif name == "cryptography.hazmat.primitives.hmac.HMAC":
                weak = weak_hash_reference(facts, argument(call, 1, "algorithm"), func)
            elif isinstance(call.func, ast.Attribute) and call.func.attr in {"sign", "verify"}:
                for arg in [*call.args, *(k.value for k in call.keywords)]:
                    ref = facts.qualified_name(arg.func) if isinstance(arg, ast.Call) else None
                    if (
                        ref
                        and ref.startswith("cryptography.hazmat.primitives.hashes.")
                        and is_weak_hash_name(ref.rsplit(".", 1)[-1])
                    ):
                        weak = ref.rsplit(".", 1)[-1]
            if weak is not None:
                yield self.finding(
                    ctx, call, f"{weak.upper()} is too weak for a MAC or signature; use SHA-256"
                )


# (argument position, keyword) of the algorithm name in each API that picks a hash by name.
ALGORITHM_ARGUMENT: dict[str, tuple[int, str | None]] = {
    "hashlib.new": (0, "name"),
    "hashlib.pbkdf2_hmac": (0, "hash_name"),
    "hashlib.file_digest": (1, "digest"),
    "hmac.new": (2, "digestmod"),
    "hmac.HMAC": (2, "digestmod"),
    "hmac.digest": (2, "digest"),
    "Crypto.Hash.HMAC.new": (2, "digestmod"),
}


@register
class CallerChosenAlgorithm(Rule):
    """A hash algorithm chosen by the caller (``hashlib.new(name)``) with no allow-list of strong algorithms.

    Checking that the name exists (``name in hashlib.algorithms_available``) is not enough: MD5 and SHA-1
    exist. The check that protects is an allow-list of strong algorithms, or a mapping from names to them,
    that every path to the call goes through.

    Bad::

        def digest(algorithm: str, data: bytes) -> bytes:
            return hashlib.new(algorithm, data).digest()

    Good::

        def digest(algorithm: str, data: bytes) -> bytes:
            if algorithm not in {"sha256", "sha512"}:
                raise ValueError(algorithm)
            return hashlib.new(algorithm, data).digest()
    """

    id = "RC-CRYPTO-006"
    cwe = "CWE-327"
    name = "caller-chosen-hash-algorithm"
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    blind_spots = (
        "The allow-list must be checked in the function that makes the call: one checked by a caller, or by a "
        "helper function, is not recognised."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        facts = facts_of(ctx)
        if not facts.imports_any("hashlib", "hmac", "Crypto"):
            return
        for call, name in facts.calls():
            spec = ALGORITHM_ARGUMENT.get(name)
            if spec is None:
                continue
            algo = argument(call, *spec)
            if algo is None:
                continue
            func = facts.enclosing_function(call)
            if func is not None and _constant_choice(facts, algo, func):
                continue
            stmt = facts.statement_of(call)
            if stmt is not None and _allow_listed(facts, stmt, func, derived_names(algo, func)):
                continue
            flow = attacker_flow(ctx, algo, call, f"algorithm argument of {name} (sink)")
            if flow is None:
                continue
            origin, trace = flow
            yield self.finding(
                ctx,
                call,
                f"the hash algorithm of {name} comes from {origin.removesuffix(' (source)')} with no allow-list "
                "of strong algorithms; MD5/SHA-1 can be chosen",
                trace,
            )


def _allow_listed(facts: ModuleFacts, stmt: ast.stmt, func: Any, names: set[str]) -> bool:
    for guard in dominating_membership_guards(facts, stmt, func):
        if not (guard.names & names) or guard.values is NOT_CONSTANT:
            continue
        values = guard.values
        if isinstance(values, dict):
            values = list(values)
        if (
            isinstance(values, list | tuple | set | frozenset)
            and values
            and all(isinstance(v, str) and not is_weak_hash_name(v) for v in values)
        ):
            return True
    return False


def _constant_choice(facts: ModuleFacts, algo: ast.expr, func: Any) -> bool:
    """``algo`` is looked up in a constant mapping of strong algorithms (``HASHES[name]``, ``.get(name)``)."""
    for expr in _definitions(facts, algo, func):
        table: ast.AST | None = None
        if isinstance(expr, ast.Subscript):
            table = expr.value
        elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "get":
            table = expr.func.value
        if table is None:
            continue
        value = facts.literal(table, func)
        if (
            isinstance(value, dict)
            and value
            and all(isinstance(v, str) and not is_weak_hash_name(v) for v in value.values())
        ):
            return True
        bound = facts.binding(table.id, func) if isinstance(table, ast.Name) else None
        if (
            isinstance(bound, ast.Dict)
            and bound.values
            and all(
                weak_hash_reference(facts, v, func) is None
                and (facts.qualified_name(v) or "").startswith(
                    ("hashlib.", "Crypto.Hash.", "Cryptodome.Hash.")
                )
                for v in bound.values
            )
        ):
            return True
    return False


def _definitions(facts: ModuleFacts, expr: ast.expr, func: Any) -> Iterator[ast.expr]:
    yield expr
    if isinstance(expr, ast.Name):
        bound = facts.binding(expr.id, func)
        if bound is not None:
            yield bound


__all__ = [
    "BROKEN_CIPHER_CALLS",
    "WEAK_HASH_NAMES",
    "BrokenCipher",
    "CallerChosenAlgorithm",
    "EcbMode",
    "InsecureTlsVersion",
    "WeakHashInMac",
    "WeakKeySize",
    "is_weak_hash_name",
    "weak_hash_reference",
]
