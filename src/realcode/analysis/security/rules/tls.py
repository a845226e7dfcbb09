"""CWE-295: TLS without certificate validation.

Explicitly switched off (``verify=False``, ``CERT_NONE``, ``check_hostname = False``, unverified contexts,
SSH clients that accept any host key) and, less known, switched off by a library's default: ``smtplib``,
``imaplib``, ``poplib`` and ``ftplib`` build an *unverified* context when none is passed, and ``ldap3``'s
``Tls`` validates nothing unless asked to.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from realcode.analysis.findings import Confidence, Finding, Severity
from realcode.analysis.security.rules._pure_ast import ModuleFacts, argument, facts_of, keyword
from realcode.analysis.security.rules.base import Rule, register

if TYPE_CHECKING:
    from realcode.analysis.security.context import AnalysisContext


def _is_false(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def _is_cert_none(facts: ModuleFacts, node: ast.AST | None) -> bool:
    if node is None:
        return False
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.lower() in {"none", "cert_none"}
    name = facts.qualified_name(node)
    return name in {"ssl.CERT_NONE", "ssl.VerifyMode.CERT_NONE"}


@register
class VerificationDisabled(Rule):
    """Certificate verification switched off explicitly.

    Bad::

        requests.get(url, verify=False)
        ctx = ssl._create_unverified_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE

    Good::

        requests.get(url)  # verify=True is the default
        ctx = ssl.create_default_context()
    """

    id = "RC-TLS-001"
    cwe = "CWE-295"
    name = "tls-verification-disabled"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    blind_spots = "Flags set through variables or configuration files are not followed."

    _UNVERIFIED = frozenset({"ssl._create_unverified_context", "ssl._create_stdlib_context"})

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        facts = facts_of(ctx)
        aiohttp = facts.imports_any("aiohttp")  # where ssl=False means "do not verify"
        for node in facts.nodes:
            if isinstance(node, ast.Call):
                name = facts.call_name(node)
                if name in self._UNVERIFIED:
                    yield self.finding(ctx, node, f"{name}() makes a context that accepts any certificate")
                    continue
                verify = keyword(node, "verify")
                if _is_false(verify):
                    yield self.finding(ctx, node, "verify=False accepts any certificate (man-in-the-middle)")
                    continue
                if aiohttp and (_is_false(keyword(node, "ssl")) or _is_false(keyword(node, "verify_ssl"))):
                    yield self.finding(ctx, node, "aiohttp with ssl=False accepts any certificate")
                    continue
                for kw in ("cert_reqs", "ssl_cert_reqs", "verify_mode"):
                    if _is_cert_none(facts, keyword(node, kw)):
                        yield self.finding(ctx, node, f"{kw}=CERT_NONE accepts any certificate")
                        break
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if not isinstance(target, ast.Attribute):
                        continue
                    if target.attr == "check_hostname" and _is_false(node.value):
                        yield self.finding(
                            ctx, node, "check_hostname = False accepts certificates for any host"
                        )
                    elif target.attr == "verify_mode" and _is_cert_none(facts, node.value):
                        yield self.finding(ctx, node, "verify_mode = CERT_NONE accepts any certificate")
                    elif target.attr == "verify" and _is_false(node.value):
                        yield self.finding(ctx, node, "session.verify = False accepts any certificate")


# Client classes whose ``context`` defaults to ssl._create_stdlib_context(), which verifies nothing.
# ``context`` is keyword-only since Python 3.12 (and after keyfile/certfile before), so only the keyword counts.
_UNVERIFIED_BY_DEFAULT = frozenset(
    {"smtplib.SMTP_SSL", "imaplib.IMAP4_SSL", "poplib.POP3_SSL", "ftplib.FTP_TLS"}
)
_PLAIN_CLIENTS = {"smtplib.SMTP", "smtplib.LMTP", "imaplib.IMAP4", "poplib.POP3"}
_STARTTLS = {"starttls": 1, "stls": 0}


@register
class UnverifiedByDefault(Rule):
    """A TLS client whose library default does not verify certificates, used without a verifying context.

    ``smtplib``, ``imaplib``, ``poplib`` and ``ftplib`` (``SMTP_SSL``, ``starttls()``, ``FTP_TLS``, ...) fall back
    to ``ssl._create_stdlib_context()`` -- no certificate or host-name check -- when no ``context`` is passed.
    ``ldap3.Server(use_ssl=True)`` without ``tls=`` and ``ldap3.Tls()`` without ``validate=`` do the same.

    Bad::

        server = smtplib.SMTP(host, 587)
        server.starttls()

    Good::

        server = smtplib.SMTP(host, 587)
        server.starttls(context=ssl.create_default_context())
    """

    id = "RC-TLS-002"
    cwe = "CWE-295"
    name = "tls-unverified-by-default"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    blind_spots = (
        "The client object must be created in the same function (assignment or with-statement) for "
        "``starttls()`` to be recognised; clients passed in as arguments are not typed."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        facts = facts_of(ctx)
        if not facts.imports_any("smtplib", "imaplib", "poplib", "ftplib", "ldap3"):
            return
        for call, name in facts.calls():
            if name in _UNVERIFIED_BY_DEFAULT:
                if keyword(call, "context") is None and not _ssl_kwargs(call):
                    yield self.finding(
                        ctx, call, f"{name} without context= does not verify the server certificate"
                    )
            elif name == "ldap3.Server":
                if _truthy(keyword(call, "use_ssl")) and keyword(call, "tls") is None:
                    yield self.finding(
                        ctx, call, "ldap3 Server(use_ssl=True) without tls= validates no certificate"
                    )
            elif name == "ldap3.Tls":
                validate = keyword(call, "validate")
                if validate is None and len(call.args) < 3:
                    yield self.finding(ctx, call, "ldap3 Tls() defaults to validate=CERT_NONE")
            elif isinstance(call.func, ast.Attribute) and call.func.attr in _STARTTLS:
                if argument(call, _STARTTLS[call.func.attr], "context") is not None:
                    continue
                client = _client_class(facts, call.func.value, call)
                if client in _PLAIN_CLIENTS:
                    yield self.finding(
                        ctx,
                        call,
                        f"{call.func.attr}() without context= does not verify the server certificate",
                    )


def _ssl_kwargs(call: ast.Call) -> bool:
    # Python < 3.12 still accepted keyfile/certfile, which build a context of their own (also unverified,
    # but deliberate client-certificate set-ups are out of this rule's scope).
    return keyword(call, "keyfile") is not None or keyword(call, "certfile") is not None


def _truthy(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and bool(node.value)


def _client_class(facts: ModuleFacts, receiver: ast.expr, at: ast.AST) -> str | None:
    """The class a receiver was constructed from, when it is a local name bound to a constructor call."""
    if isinstance(receiver, ast.Call):
        return facts.call_name(receiver)
    if not isinstance(receiver, ast.Name):
        return None
    scope: Any = facts.enclosing_function(at) or facts.tree
    for node in ast.walk(scope):
        value: ast.expr | None = None
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == receiver.id for t in node.targets
        ):
            value = node.value
        elif (
            isinstance(node, ast.withitem)
            and isinstance(node.optional_vars, ast.Name)
            and node.optional_vars.id == receiver.id
        ):
            value = node.context_expr
        if isinstance(value, ast.Call):
            name = facts.call_name(value)
            if name is not None:
                return name
    return None


@register
class AcceptAnyHostKey(Rule):
    """An SSH client that trusts unknown host keys (paramiko ``AutoAddPolicy``/``WarningPolicy``).

    Bad::

        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())

    Good::

        client.load_system_host_keys()
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
    """

    id = "RC-TLS-003"
    cwe = "CWE-295"
    name = "ssh-accepts-any-host-key"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    blind_spots = "Custom MissingHostKeyPolicy subclasses that accept everything are not recognised."

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        facts = facts_of(ctx)
        if not facts.imports_any("paramiko"):
            return
        for node in facts.nodes:
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "set_missing_host_key_policy"
                and node.args
            ):
                policy = node.args[0]
                target = policy.func if isinstance(policy, ast.Call) else policy
                name = facts.qualified_name(target) or ""
                if name in {"paramiko.AutoAddPolicy", "paramiko.WarningPolicy"} or name.endswith(
                    ("client.AutoAddPolicy", "client.WarningPolicy")
                ):
                    yield self.finding(
                        ctx, node, f"{name.rsplit('.', 1)[-1]} trusts any unknown SSH host key"
                    )
