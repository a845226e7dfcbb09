"""CWE-798: hard-coded credentials.

A string literal given to an API *where that API takes a credential*: the ``password=``/``passwd=`` keyword of
database, HTTP, mail and directory clients, the password argument of ``login()``, the key of ``hmac.new``, of
``jwt.encode``/``jwt.decode`` and of symmetric ciphers, Flask's ``secret_key``, and connection URLs that carry
a password (``postgresql://app:hunter2@db/app``). The parameter of the API decides, never the name of the
variable the literal is stored in.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from realcode.analysis.findings import Confidence, Finding, Severity
from realcode.analysis.security.rules._pure_ast import ModuleFacts, argument, facts_of
from realcode.analysis.security.rules.base import Rule, register

if TYPE_CHECKING:
    from realcode.analysis.security.context import AnalysisContext

# keyword parameters that carry a secret in widely used client APIs (DB-API drivers, SQLAlchemy URL objects,
# requests/httpx auth helpers, smtplib/ldap3/paramiko/redis/boto3 clients)
CREDENTIAL_KEYWORDS = frozenset(
    {
        "password",
        "passwd",
        "aws_secret_access_key",
        "aws_session_token",
        "client_secret",
        "api_key",
        "secret_key",
    }
)
# (position, keyword) of the key/secret argument, per API
KEY_ARGUMENTS: dict[str, tuple[int, str | None]] = {
    "hmac.new": (0, "key"),
    "hmac.digest": (0, "key"),
    "hmac.HMAC": (0, "key"),
    "jwt.encode": (1, "key"),
    "jwt.decode": (1, "key"),
    "cryptography.fernet.Fernet": (0, "key"),
    "requests.auth.HTTPBasicAuth": (1, "password"),
    "requests.auth.HTTPDigestAuth": (1, "password"),
    "httpx.BasicAuth": (1, "password"),
    "httpx.DigestAuth": (1, "password"),
    "aiohttp.BasicAuth": (1, "password"),
}
_CIPHER_PREFIXES = ("Crypto.Cipher.", "Cryptodome.Cipher.")
_LOGIN_METHODS = {"login": 1, "pass_": 0, "simple_bind_s": 1, "bind_s": 1}
# a connection URL with a password in it: scheme://user:password@host (placeholders like {pw}, $PW, %s skipped)
_URL_WITH_PASSWORD = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:(?P<pw>[^/\s@]+)@[^\s]")


def _secret_literal(facts: ModuleFacts, expr: ast.expr | None) -> str | None:
    """The literal when ``expr`` is a non-empty str/bytes constant written in place."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str | bytes) and len(expr.value) > 0:
        return "<literal>"
    return None


@register
class HardcodedCredential(Rule):
    """A password, API secret or signing key written into the code.

    Bad::

        conn = psycopg2.connect(host=host, user="app", password="hunter2")
        token = jwt.encode(claims, "my-signing-key", algorithm="HS256")

    Good::

        conn = psycopg2.connect(host=host, user="app", password=os.environ["DB_PASSWORD"])
        token = jwt.encode(claims, settings.signing_key, algorithm="HS256")
    """

    id = "RC-CRED-001"
    cwe = "CWE-798"
    name = "hardcoded-credential"
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    blind_spots = (
        "Only literals written at the call are seen: a literal first stored in a variable or a module "
        "constant and passed later is not followed; key=value DSN strings are not parsed (URLs with a password are)."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        facts = facts_of(ctx)
        for node in facts.nodes:
            if isinstance(node, ast.Call):
                yield from self._call(ctx, facts, node)
            elif isinstance(node, ast.Assign):
                yield from self._assign(ctx, facts, node)

    def _call(self, ctx: AnalysisContext, facts: ModuleFacts, call: ast.Call) -> Iterator[Finding]:
        for kw in call.keywords:
            if kw.arg in CREDENTIAL_KEYWORDS and _secret_literal(facts, kw.value):
                yield self.finding(
                    ctx, kw.value, f"hard-coded secret passed as `{kw.arg}=`; read it from the environment"
                )
                return
        name = facts.call_name(call)
        if name in KEY_ARGUMENTS:
            arg = argument(call, *KEY_ARGUMENTS[name])
            if _secret_literal(facts, arg) and arg is not None:
                yield self.finding(ctx, arg, f"hard-coded key given to {name}; load it from a secret store")
                return
        if name is not None and name.startswith(_CIPHER_PREFIXES) and name.endswith(".new"):
            arg = argument(call, 0, "key")
            if _secret_literal(facts, arg) and arg is not None:
                yield self.finding(ctx, arg, f"hard-coded encryption key given to {name}")
                return
        if isinstance(call.func, ast.Attribute) and call.func.attr in _LOGIN_METHODS:
            arg = argument(call, _LOGIN_METHODS[call.func.attr], "password")
            if _secret_literal(facts, arg) and arg is not None:
                yield self.finding(ctx, arg, f"hard-coded password given to {call.func.attr}()")
        for arg in [*call.args, *(k.value for k in call.keywords)]:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                m = _URL_WITH_PASSWORD.match(arg.value)
                if m and not m.group("pw").startswith(("{", "$", "%", "<", "*")):
                    yield self.finding(ctx, arg, "connection URL with a hard-coded password")
                    return
        for kw in call.keywords:
            if kw.arg == "auth" and isinstance(kw.value, ast.Tuple) and len(kw.value.elts) == 2:
                secret = kw.value.elts[1]
                if _secret_literal(facts, secret):
                    yield self.finding(ctx, secret, "hard-coded password in auth=(user, password)")

    def _assign(self, ctx: AnalysisContext, facts: ModuleFacts, node: ast.Assign) -> Iterator[Finding]:
        if not _secret_literal(facts, node.value):
            return
        for target in node.targets:
            # Flask/Django-style application secrets: app.secret_key = "...", app.config["SECRET_KEY"] = "..."
            if isinstance(target, ast.Attribute) and target.attr == "secret_key":
                yield self.finding(ctx, node.value, "hard-coded application secret_key")
            elif (
                isinstance(target, ast.Subscript)
                and isinstance(target.value, ast.Attribute)
                and target.value.attr == "config"
                and isinstance(target.slice, ast.Constant)
                and target.slice.value in {"SECRET_KEY", "JWT_SECRET_KEY"}
            ):
                yield self.finding(ctx, node.value, f"hard-coded {target.slice.value} in the app config")
