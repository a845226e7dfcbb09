"""Barrier guards: what a passed test (or a statement that raises on failure) proves about a variable.

:meth:`GuardModel.refine` turns a branch condition and its outcome into a *refinement*: variable key -> set of
kinds the variable is clean for on that edge. The taint analysis applies refinements on CFG edges, so a guard
protects exactly the code it dominates (``if x not in ALLOWED: raise`` protects what follows; ``if ok: sink``
protects the sink). Modelled guards:

* allow-list membership (``x in ALLOWED``), equality with a constant, ``isinstance(x, int)``;
* validators: ``str.isdigit/isalnum/isalpha/isidentifier/...``, anchored regular expressions (``re.fullmatch``,
  ``re.match('^...$')``, compiled patterns), character allow-lists (``all(c in "0-9+" for c in s)``). A regex or
  character set clears exactly the kinds whose attack probes (:data:`.models.PROBES`) it rejects, so
  ``^[\\w./]+$`` clears shell injection but not path traversal;
* URL host checks: the host (``.netloc``/``.hostname``) of a parsed URL compared with anything (allow-list,
  constant, another URL's host). They clear the ``url`` kind of the parsed URL *and* of the string it was parsed
  from (``parsed = urlparse(u)``; ``if parsed.netloc not in HOSTS: raise`` protects ``u``);
* path containment after normalization: ``p.startswith(base)``/``p.is_relative_to(base)``/``commonpath`` clear
  ``path`` only when ``p`` was normalized (``realpath``/``abspath``/``normpath``/``resolve``) on every path;
  ``p.resolve().relative_to(base)`` as a statement (it raises on failure) does too;
* element-wise checks: ``all(cond(v) for v in L)``, ``not any(...)``, and ``for v in L: if bad(v): raise``
  refine ``L``; walking ``ast.walk(tree)`` with ``isinstance`` checks that can reject clears ``code`` on ``tree``;
* more URL and path shapes: an empty host (``if parsed.netloc: reject`` -> a relative URL), the resolved address
  classified (``ipaddress.ip_address(socket.gethostbyname(host)).is_private`` rejecting), ``commonpath``,
  ``ROOT in p.parents``, ``..``-and-absolute deny-lists (both needed), CR/LF membership checks (header, log);
* HMAC verification: ``compare_digest`` against ``hmac.new(key, msg, ...)`` authenticates ``msg``;
* local helpers: predicates (``def ok(h): return h in HOSTS``; ``if cond: return True ... return False``) at the
  test that calls them, and check procedures (``def check(x): if bad(x): raise``) after the statement calling
  them.

Boolean structure is respected: ``a and b`` passing refines by both; ``a or b`` passing refines only what both
sides prove.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Callable
from functools import lru_cache

from realcode.analysis.security.engine.cfg import is_terminal_block
from realcode.analysis.security.engine.models import ALL, HOST_ATTRS, PROBES, URL_PARSERS
from realcode.analysis.security.engine.names import dotted, qualify

Refinement = dict[str, frozenset[str]]
NEED_NORM = "path?norm"  # "clean for path if the value was normalized": resolved when applied to a state
MARK_NO_PARENT = "+noparent"  # checked to contain no ".."
MARK_NOT_ABSOLUTE = "+notabs"  # checked not to be an absolute path
# A value pinned to known constants is clean for every kind, including the path pseudo-kinds (so that
# ``p == ROOT or ROOT in p.parents`` keeps the containment proof of the second disjunct).
_ANY = ALL | {NEED_NORM, MARK_NO_PARENT, MARK_NOT_ABSOLUTE}

_KEY_METHODS = frozenset({"lower", "upper", "strip", "lstrip", "rstrip", "casefold", "title"})
_NORM_METHODS = frozenset({"resolve", "absolute"})
_VALIDATOR_METHODS = frozenset({"isdigit", "isalnum", "isalpha", "isidentifier", "isnumeric", "isdecimal"})
_SCALAR_TYPES = frozenset({"int", "float", "bool", "complex", "uuid.UUID", "decimal.Decimal"})
_URL_KIND = frozenset({"url"})
_PATH_NORMALIZERS = frozenset({"os.path.realpath", "os.path.abspath", "os.path.normpath"})
_IP_CLASSES = frozenset(
    {"is_private", "is_loopback", "is_link_local", "is_reserved", "is_multicast", "is_unspecified"}
)
_PATH_KIND = frozenset({"path"})
_CODE_KIND = frozenset({"code"})
_REGEX_FLAGS = {
    "I": re.I,
    "IGNORECASE": re.I,
    "M": re.M,
    "MULTILINE": re.M,
    "S": re.S,
    "DOTALL": re.S,
    "X": re.X,
    "VERBOSE": re.X,
    "A": re.A,
    "ASCII": re.A,
}


def _union(a: Refinement, b: Refinement) -> Refinement:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, frozenset()) | v
    return out


def _intersect(a: Refinement, b: Refinement) -> Refinement:
    return {k: a[k] & b[k] for k in a.keys() & b.keys() if a[k] & b[k]}


@lru_cache(maxsize=2048)
def probe_kinds(pattern: str, flags: int) -> frozenset[str]:
    """Kinds for which a full match of ``pattern`` rejects every attack probe."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rx = re.compile(pattern, flags)
    except (re.error, RecursionError, OverflowError, ValueError):
        return frozenset()
    cleared = []
    for kind, probes in PROBES.items():
        try:
            if not any(rx.fullmatch(p) for p in probes):
                cleared.append(kind)
        except RecursionError:
            continue
    return frozenset(cleared)


def charset_kinds(chars: str) -> frozenset[str]:
    """Kinds cleared by a value made only of ``chars``."""
    if not chars:
        return ALL
    return probe_kinds("[" + "".join(re.escape(c) for c in sorted(set(chars))) + "]*", 0)


def key_of(expr: ast.AST) -> str | None:
    """The state key a guard on ``expr`` refines: a name or attribute chain, looking through case/strip
    methods and ``str()``/``os.fspath``/``Path`` wrappers (checking ``x.lower()`` constrains ``x``)."""
    for _ in range(4):
        if isinstance(expr, ast.Call):
            if isinstance(expr.func, ast.Attribute) and expr.func.attr in _KEY_METHODS | _NORM_METHODS:
                expr = expr.func.value
                continue
            if isinstance(expr.func, ast.Name) and expr.func.id in ("str", "bytes") and len(expr.args) == 1:
                expr = expr.args[0]
                continue
            return None
        break
    return dotted(expr)


class GuardModel:
    """Computes refinements for tests; ``defs(name)`` gives a name's unique defining expression, if any."""

    def __init__(
        self,
        imports: dict[str, str],
        defs: Callable[[str], ast.expr | None],
        is_constant: Callable[[ast.expr], bool],
        const_str: Callable[[ast.expr], str | None],
        local_function: Callable[[ast.Call], ast.FunctionDef | ast.AsyncFunctionDef | None] | None = None,
    ) -> None:
        self.local_function = local_function
        self._host_names: frozenset[str] = frozenset()  # callee parameters bound to URL hosts (summaries)
        self._const_names: frozenset[str] = frozenset()  # loop variables over constant collections
        self.imports = imports
        self.defs = defs
        self.is_constant = is_constant
        self.const_str = const_str

    # -- public ------------------------------------------------------------------------------------------------
    def refine(self, test: ast.AST, outcome: bool, depth: int = 0) -> Refinement:
        if depth > 6 or not isinstance(test, ast.expr):
            return {}
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return self.refine(test.operand, not outcome, depth + 1)
        if isinstance(test, ast.BoolOp):
            parts = [self.refine(v, outcome, depth + 1) for v in test.values]
            conj = isinstance(test.op, ast.And) == outcome  # and-true / or-false: every part holds
            result = parts[0]
            for p in parts[1:]:
                result = _union(result, p) if conj else _intersect(result, p)
            return result
        if isinstance(test, ast.NamedExpr):
            return self.refine(test.value, outcome, depth + 1)
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            return self._compare(test, outcome, depth)
        if isinstance(test, ast.Call):
            return self._call(test, outcome, depth)
        if isinstance(test, ast.Attribute) and (
            (test.attr in _IP_CLASSES and not outcome) or (test.attr == "is_global" and outcome)
        ):
            # the resolved address of the host is public: internal services are out of reach
            ip_host = self._resolved_host(test.value)
            if ip_host is not None:
                return ip_host
        if not outcome and isinstance(test, (ast.Attribute, ast.Name)):
            # ``if parsed.netloc: reject`` -> on the other edge the URL has no host (a relative URL)
            host = self._host_refinement(test, ALL)
            if host is not None:
                return host
        if isinstance(test, ast.Name):
            d = self.defs(test.id)
            if d is not None and isinstance(d, (ast.Call, ast.Compare, ast.BoolOp, ast.UnaryOp)):
                return self.refine(d, outcome, depth + 1)
        return {}

    def loop_exit(self, loop: ast.For | ast.AsyncFor) -> Refinement:
        """What leaving ``for v in L: if bad(v): raise`` normally proves about ``L``."""
        if not isinstance(loop.target, ast.Name):
            return {}
        var = loop.target.id
        result: Refinement = {}
        walked = self._walked_tree(loop.iter)
        for stmt in loop.body:
            if isinstance(stmt, ast.If) and is_terminal_block(stmt.body) and not _has_continue(stmt.body):
                if walked is not None and _mentions_isinstance(stmt.test, var):
                    result = _union(result, {walked: _CODE_KIND})
                ref = self.refine(stmt.test, False)
                if var in ref:
                    result = _union(result, self._elementwise(loop.iter, ref[var]))
        return result

    def statement_effect(self, stmt: ast.stmt) -> Refinement:
        """Refinement holding after ``stmt`` completes normally (calls that raise on failure)."""
        value: ast.AST | None = None
        if isinstance(stmt, (ast.Expr, ast.Assign, ast.AnnAssign)):
            value = stmt.value
        if isinstance(value, ast.Call) and self.local_function is not None:
            callee = self.local_function(value)
            if callee is not None:
                return self._raising_checks(callee, value)
        if not isinstance(value, ast.Call) or not isinstance(value.func, ast.Attribute):
            return {}
        if value.func.attr == "relative_to":
            recv = value.func.value
            normalized = (
                isinstance(recv, ast.Call)
                and isinstance(recv.func, ast.Attribute)
                and (recv.func.attr in _NORM_METHODS)
            )
            key = key_of(recv)
            if key:
                return {key: _PATH_KIND if normalized else frozenset({NEED_NORM})}
        return {}

    # -- pieces ------------------------------------------------------------------------------------------------
    def _elementwise(self, iterable: ast.expr, kinds: frozenset[str]) -> Refinement:
        key = key_of(iterable)
        if key is None and isinstance(iterable, ast.Call) and iterable.args:
            # for v in enumerate(L) / sorted(L) / L.split(): constrain the underlying name
            inner = iterable.args[0] if isinstance(iterable.func, ast.Name) else iterable.func
            if isinstance(inner, ast.Attribute):
                inner = inner.value
            key = key_of(inner)
        return {key: kinds} if key else {}

    def _walked_tree(self, iterable: ast.expr) -> str | None:
        if isinstance(iterable, ast.Call) and iterable.args:
            q = qualify(iterable.func, self.imports)
            if q in ("ast.walk", "ast.iter_child_nodes"):
                return key_of(iterable.args[0])
        return None

    def _host_refinement(self, expr: ast.expr, kinds: frozenset[str]) -> Refinement | None:
        """If ``expr`` is the host of a URL, the refinement proving it checked; else None."""
        base: ast.expr | None = None
        out: Refinement = {}
        if isinstance(expr, ast.Attribute) and expr.attr in HOST_ATTRS:
            base = expr.value
            k = dotted(expr)
            if k:
                out[k] = kinds
        elif isinstance(expr, ast.Name) and expr.id in self._host_names:
            return {expr.id: kinds}
        elif isinstance(expr, ast.Name):
            d = self.defs(expr.id)
            if isinstance(d, ast.BoolOp) and d.values:
                d = d.values[0]  # host = parsed.hostname or ""
            if isinstance(d, ast.Attribute) and d.attr in HOST_ATTRS:
                out[expr.id] = kinds
                base = d.value
            elif (
                isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr in _KEY_METHODS
            ):
                inner = d.func.value
                if isinstance(inner, ast.Attribute) and inner.attr in HOST_ATTRS:
                    out[expr.id] = kinds
                    base = inner.value
        elif (
            isinstance(expr, ast.Call)
            and isinstance(expr.func, ast.Attribute)
            and expr.func.attr in _KEY_METHODS
        ):
            return self._host_refinement(expr.func.value, kinds)
        if base is None:
            return None
        for key in self._url_roots(base, 0):
            out[key] = out.get(key, frozenset()) | _URL_KIND
        return out

    def _resolved_host(self, expr: ast.expr) -> Refinement | None:
        """``ipaddress.ip_address(socket.gethostbyname(parsed.hostname))`` -> the URL the host came from."""
        for _ in range(6):
            if isinstance(expr, ast.Name):
                d = self.defs(expr.id)
                if d is None:
                    return None
                expr = d
                continue
            if (
                isinstance(expr, ast.Call)
                and expr.args
                and qualify(expr.func, self.imports)
                in (
                    "ipaddress.ip_address",
                    "ipaddress.IPv4Address",
                    "ipaddress.IPv6Address",
                    "socket.gethostbyname",
                    "socket.getaddrinfo",
                )
            ):
                expr = expr.args[0]
                continue
            if isinstance(expr, ast.Subscript):
                expr = expr.value
                continue
            break
        return self._host_refinement(expr, _URL_KIND)

    def _url_roots(self, expr: ast.expr, depth: int) -> list[str]:
        """The parsed URL and the strings it was parsed from (``p = urlparse(u)`` -> ``p``, ``u``)."""
        if depth > 5:
            return []
        keys: list[str] = []
        if isinstance(expr, ast.Call) and expr.args and qualify(expr.func, self.imports) in URL_PARSERS:
            return self._url_roots(expr.args[-1] if _is_join(expr, self.imports) else expr.args[0], depth + 1)
        k = key_of(expr)
        if k:
            keys.append(k)
        if isinstance(expr, ast.Name):
            d = self.defs(expr.id)
            if isinstance(d, ast.Call) and d.args and qualify(d.func, self.imports) in URL_PARSERS:
                if _is_join(d, self.imports):
                    # a joined URL is checked as a whole: what it was joined from is covered through it
                    return keys
                keys += self._url_roots(d.args[0], depth + 1)
        return keys

    def _compare(self, test: ast.Compare, outcome: bool, depth: int) -> Refinement:
        op, left, right = test.ops[0], test.left, test.comparators[0]
        if isinstance(op, (ast.In, ast.NotIn)):
            holds = outcome == isinstance(op, ast.In)
            if not holds:
                needle = self.const_str(left)
                if needle in ("..", "../", "..\\"):
                    key = key_of(right)
                    return {key: frozenset({MARK_NO_PARENT})} if key else {}
                if needle is not None and ("\n" in needle or "\r" in needle):
                    # no line breaks: clean for header and log lines
                    key = key_of(right)
                    return {key: frozenset({"header", "log"} if "\n" in needle else set())} if key else {}
                return {}
            if isinstance(right, ast.Attribute) and right.attr == "parents":
                # ROOT in p.parents: p lies below ROOT (if p was normalized)
                key = key_of(right.value)
                return {key: frozenset({NEED_NORM})} if key else {}
            if isinstance(right, (ast.JoinedStr, ast.BinOp)):
                return {}
            chars = self.const_str(right)
            if chars is not None:
                key = key_of(left)
                return {key: charset_kinds(chars)} if key else {}
            host = self._host_refinement(left, ALL)
            if host is not None:
                return host
            key = key_of(left)
            return {key: _ANY} if key else {}
        if isinstance(op, (ast.LtE, ast.Lt)) and outcome:
            return self._subset_compare(left, right)
        if isinstance(op, (ast.Eq, ast.NotEq, ast.Is, ast.IsNot)):
            equal = outcome == isinstance(op, (ast.Eq, ast.Is))
            if equal:
                contained = self._common_path(left, right) or self._common_path(right, left)
                if contained:
                    return contained
            if (
                isinstance(right, ast.Constant)
                and right.value is None
                and isinstance(op, (ast.Is, ast.IsNot))
            ):
                # ``m is not None`` -> the truth of ``m``
                return self.refine(left, equal is False, depth + 1)
            if not equal:
                return {}
            out: Refinement = {}
            for a, b in ((left, right), (right, left)):
                host = self._host_refinement(a, ALL)
                if host is not None:
                    out = _union(out, host)
                elif self.is_constant(b) or (isinstance(b, ast.Name) and b.id in self._const_names):
                    key = key_of(a)
                    if key:
                        out[key] = _ANY
            return out
        return {}

    def _call(self, call: ast.Call, outcome: bool, depth: int) -> Refinement:
        q = qualify(call.func, self.imports)
        if q == "bool" and call.args:
            return self.refine(call.args[0], outcome, depth + 1)
        if not outcome and q == "os.path.isabs" and call.args:
            key = key_of(call.args[0])
            return {key: frozenset({MARK_NOT_ABSOLUTE})} if key else {}
        if (
            not outcome
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "startswith"
            and call.args
            and self.const_str(call.args[0]) in ("/", "\\")
        ):
            key = key_of(call.func.value)
            return {key: frozenset({MARK_NOT_ABSOLUTE})} if key else {}
        if q in ("all", "any") and len(call.args) == 1:
            return self._all_any(q, call.args[0], outcome)
        if not outcome:
            return {}
        if q == "isinstance" and len(call.args) == 2:
            types = call.args[1].elts if isinstance(call.args[1], ast.Tuple) else [call.args[1]]
            if all(qualify(t, self.imports) in _SCALAR_TYPES for t in types):
                key = key_of(call.args[0])
                return {key: _ANY} if key else {}
            return {}
        if isinstance(call.func, ast.Attribute):
            meth = call.func.attr
            recv = call.func.value
            if meth in _VALIDATOR_METHODS and not call.args:
                key = key_of(recv)
                return {key: _ANY} if key else {}
            if meth in ("startswith", "is_relative_to") and call.args:
                return self._prefix_check(recv, call.args[0])
            if meth == "endswith" and call.args:
                host = self._host_refinement(recv, ALL)
                return host or {}
            if meth == "issubset" and call.args:
                return self._subset(recv, call.args[0])
            if meth in ("fullmatch", "match", "search") and call.args:
                compiled = self._compiled_pattern(recv)
                if compiled is not None:
                    pattern, flags = compiled
                    return self._regex(pattern, flags, meth, call.args[0])
        if q in ("re.fullmatch", "re.match", "re.search") and len(call.args) >= 2:
            literal = self.const_str(call.args[0])
            if literal is None:
                return {}
            pattern = literal
            flags = self._flags(call.args[2] if len(call.args) > 2 else _kw(call, "flags"))
            return self._regex(pattern, flags, q.split(".")[1], call.args[1])
        if q in ("hmac.compare_digest", "secrets.compare_digest") and len(call.args) == 2:
            return self._authenticated(call.args)
        if q in ("os.path.isabs",) and call.args:
            return {}
        local = self.local_function(call) if self.local_function is not None else None
        if local is not None:
            return self._validator_summary(local, call, depth)
        return {}

    def _authenticated(self, sides: list[ast.expr]) -> Refinement:
        """``compare_digest(sig, hmac.new(key, msg, ...).digest())`` passing authenticates ``msg``."""
        out: Refinement = {}
        for side in sides:
            expr: ast.AST | None = side
            if isinstance(side, ast.Name):
                expr = self.defs(side.id)
            for node in ast.walk(expr) if expr is not None else ():
                if isinstance(node, ast.Call) and qualify(node.func, self.imports) in (
                    "hmac.new",
                    "hmac.digest",
                ):
                    msg = node.args[1] if len(node.args) > 1 else _kw(node, "msg")
                    key = key_of(msg) if msg is not None else None
                    if key:
                        out[key] = ALL
        return out

    def _validator_summary(
        self, func: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call, depth: int
    ) -> Refinement:
        """A local predicate ``def ok(p): return p in ALLOWED`` (or ``if cond: return True ... return False``)
        proves, when it returns true, what its body proves about the argument bound to ``p``."""
        if depth > 3:
            return {}
        params = [a.arg for a in func.args.args]
        if params and params[0] in ("self", "cls"):
            params = params[1:]
        bound = {p: key_of(a) for p, a in zip(params, call.args, strict=False)}
        saved = self._host_names, self._const_names
        self._host_names = frozenset(
            p for p, a in zip(params, call.args, strict=False) if self._host_refinement(a, ALL) is not None
        )
        try:
            ref = self._predicate_body(func, depth)
        finally:
            self._host_names, self._const_names = saved
        out: Refinement = {}
        args = dict(zip(params, call.args, strict=False))
        for key, kinds in ref.items():
            head, _, rest = key.partition(".")
            if not rest and head in args:
                host = self._host_refinement(args[head], kinds)
                if host is not None:
                    out = _union(out, host)
                    continue
            target = bound.get(head)
            if target:
                out[target + ("." + rest if rest else "")] = kinds
        return out

    def _raising_checks(self, func: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call) -> Refinement:
        """``def check(p): if not valid(p): raise ...``: after ``check(x)`` returns, ``x`` is valid."""
        params = [a.arg for a in func.args.args]
        if params and params[0] in ("self", "cls"):
            params = params[1:]
        args = dict(zip(params, call.args, strict=False))
        ref: Refinement = {}
        saved = self._host_names
        self._host_names = frozenset(p for p, a in args.items() if self._host_refinement(a, ALL) is not None)
        try:
            for stmt in func.body:
                if (
                    isinstance(stmt, ast.If)
                    and is_terminal_block(stmt.body)
                    and isinstance(stmt.body[-1], ast.Raise)
                ):
                    ref = _union(ref, self.refine(stmt.test, False, 1))
                elif isinstance(stmt, ast.Assert):
                    ref = _union(ref, self.refine(stmt.test, True, 1))
        finally:
            self._host_names = saved
        out: Refinement = {}
        for key, kinds in ref.items():
            head, _, rest = key.partition(".")
            if head not in args:
                continue
            if not rest:
                host = self._host_refinement(args[head], kinds)
                if host is not None:
                    out = _union(out, host)
                    continue
            target = key_of(args[head])
            if target:
                out[target + ("." + rest if rest else "")] = kinds
        return out

    def _predicate_body(self, func: ast.FunctionDef | ast.AsyncFunctionDef, depth: int) -> Refinement:
        body = [s for s in func.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        ref: Refinement = {}
        if len(body) == 1 and isinstance(body[0], ast.Return) and body[0].value is not None:
            ref = self.refine(body[0].value, True, depth + 1)
        elif (
            body
            and isinstance(body[-1], ast.Return)
            and isinstance(body[-1].value, ast.Constant)
            and body[-1].value.value is False
        ):
            parts = []
            for s in body[:-1]:
                if (
                    isinstance(s, ast.If)
                    and len(s.body) == 1
                    and isinstance(s.body[0], ast.Return)
                    and isinstance(s.body[0].value, ast.Constant)
                    and s.body[0].value.value is True
                ):
                    parts.append(self.refine(s.test, True, depth + 1))
                elif isinstance(s, ast.For) and len(s.body) == 1 and isinstance(s.body[0], ast.If):
                    inner = s.body[0]
                    last = inner.body[-1]
                    if (
                        isinstance(last, ast.Return)
                        and isinstance(last.value, ast.Constant)
                        and last.value.value is True
                    ):
                        loop_var = s.target.id if isinstance(s.target, ast.Name) else None
                        if loop_var and self.is_constant(s.iter):
                            self._const_names = self._const_names | {loop_var}
                        r = self.refine(inner.test, True, depth + 1)
                        parts.append({k: v for k, v in r.items() if k != loop_var})
                else:
                    parts = []
                    break
            if parts:
                ref = parts[0]
                for p in parts[1:]:
                    ref = _intersect(ref, p)
        return ref

    def _all_any(self, fn: str, gen: ast.expr, outcome: bool) -> Refinement:
        if not isinstance(gen, (ast.GeneratorExp, ast.ListComp)) or len(gen.generators) != 1:
            return {}
        comp = gen.generators[0]
        if not isinstance(comp.target, ast.Name):
            return {}
        var = comp.target.id
        if (fn == "any" and outcome) or (fn == "all" and outcome):
            # some/every element passed a check that constrains something else: ``any(host.endswith(d) for d
            # in ALLOWED)`` checks ``host``
            outer = {
                k: v
                for k, v in self.refine(gen.elt, True).items()
                if k != var and not k.startswith(var + ".")
            }
            if fn == "any":
                return outer
        else:
            outer = {}
        # all(c) true, or any(c) false (i.e. all(not c)), says something about every element
        if fn == "all" and outcome:
            elem_outcome = True
        elif fn == "any" and not outcome:
            elem_outcome = False
        else:
            return {}
        result: Refinement = dict(outer)
        walked = self._walked_tree(comp.iter)
        if walked is not None and _mentions_isinstance(gen.elt, var):
            result[walked] = _CODE_KIND
        ref = self.refine(gen.elt, elem_outcome)
        if var in ref:
            result = _union(result, self._elementwise(comp.iter, ref[var]))
        return result

    def _prefix_check(self, recv: ast.expr, prefix: ast.expr) -> Refinement:
        # os.path.realpath(p).startswith(BASE): the check covers p (it names the same file)
        for _ in range(2):
            if (
                isinstance(recv, ast.Call)
                and recv.args
                and qualify(recv.func, self.imports) in _PATH_NORMALIZERS
            ):
                key = key_of(recv.args[0])
                return {key: _PATH_KIND} if key else {}
            if (
                isinstance(recv, ast.Call)
                and isinstance(recv.func, ast.Name)
                and recv.func.id == "str"
                and recv.args
            ):
                recv = recv.args[0]
                continue
            break
        key = key_of(recv)
        if key is None:
            return {}
        const = self.const_str(prefix)
        if const is not None and re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]+/", const):
            # an absolute URL prefix including the host and the slash after it pins the host
            out: Refinement = {key: _URL_KIND}
            for k in self._url_roots(recv, 0):
                out[k] = _URL_KIND
            return out
        normalized_inline = (
            isinstance(recv, ast.Call)
            and isinstance(recv.func, ast.Attribute)
            and (recv.func.attr in _NORM_METHODS)
        )
        if isinstance(recv, ast.Call) and isinstance(recv.func, ast.Name) and recv.args:
            inner = recv.args[0]
            normalized_inline = normalized_inline or (
                isinstance(inner, ast.Call)
                and isinstance(inner.func, ast.Attribute)
                and inner.func.attr in _NORM_METHODS
            )
        return {key: _PATH_KIND if normalized_inline else frozenset({NEED_NORM})}

    def _subset_compare(self, left: ast.expr, right: ast.expr) -> Refinement:
        # set(x) <= set("0123456789+-*/") or set(x) <= ALLOWED_CHARS
        if (
            isinstance(left, ast.Call)
            and qualify(left.func, self.imports) in ("set", "frozenset")
            and left.args
        ):
            return self._subset(left, right)
        return {}

    def _common_path(self, call: ast.expr, other: ast.expr) -> Refinement:
        """``os.path.commonpath([base, p]) == base``: ``p`` is inside ``base`` (if normalized)."""
        if not (
            isinstance(call, ast.Call)
            and qualify(call.func, self.imports) in ("os.path.commonpath", "os.path.commonprefix")
        ):
            return {}
        if not call.args or not isinstance(call.args[0], (ast.List, ast.Tuple)):
            return {}
        other_text = ast.dump(other)
        out: Refinement = {}
        for elt in call.args[0].elts:
            if ast.dump(elt) == other_text:
                continue
            inline_norm = isinstance(elt, ast.Call) and qualify(elt.func, self.imports) in (
                "os.path.realpath",
                "os.path.abspath",
                "os.path.normpath",
            )
            key = key_of(elt.args[0] if inline_norm and isinstance(elt, ast.Call) and elt.args else elt)
            if key:
                out[key] = _PATH_KIND if inline_norm else frozenset({NEED_NORM})
        return out

    def _subset(self, recv: ast.expr, allowed: ast.expr) -> Refinement:
        # set(x).issubset(ALLOWED_CHARS)
        if isinstance(recv, ast.Call) and qualify(recv.func, self.imports) == "set" and recv.args:
            key = key_of(recv.args[0])
            chars = (
                self.const_str(allowed.args[0]) if isinstance(allowed, ast.Call) and allowed.args else None
            )
            if chars is None:
                chars = self.const_str(allowed)
            if key:
                return {key: charset_kinds(chars) if chars is not None else ALL}
        return {}

    def _regex(self, pattern: str, flags: int, mode: str, subject: ast.expr) -> Refinement:
        key = key_of(subject)
        if key is None:
            return {}
        anchored_end = pattern.endswith("$") or pattern.endswith(r"\Z")
        anchored_start = pattern.startswith("^") or pattern.startswith(r"\A")
        if mode == "match" and not anchored_end:
            return {}
        if mode == "search" and not (anchored_end and anchored_start):
            return {}
        return {key: probe_kinds(pattern, flags)}

    def _compiled_pattern(self, expr: ast.expr) -> tuple[str, int] | None:
        call: ast.expr | None = expr
        if isinstance(expr, ast.Name):
            call = self.defs(expr.id)
        elif isinstance(expr, ast.Attribute):
            return None
        if isinstance(call, ast.Call) and qualify(call.func, self.imports) == "re.compile" and call.args:
            pattern = self.const_str(call.args[0])
            if pattern is not None:
                return pattern, self._flags(call.args[1] if len(call.args) > 1 else _kw(call, "flags"))
        return None

    def _flags(self, expr: ast.expr | None) -> int:
        if expr is None:
            return 0
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
            return self._flags(expr.left) | self._flags(expr.right)
        if isinstance(expr, ast.Attribute):
            return _REGEX_FLAGS.get(expr.attr, 0)
        if isinstance(expr, ast.Constant) and isinstance(expr.value, int):
            return expr.value
        return 0


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def _is_join(call: ast.Call, imports: dict[str, str]) -> bool:
    return qualify(call.func, imports) == "urllib.parse.urljoin"


def _has_continue(body: list[ast.stmt]) -> bool:
    return any(isinstance(s, ast.Continue) for s in body)


def _mentions_isinstance(test: ast.AST, var: str) -> bool:
    for node in ast.walk(test):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "isinstance"
            and node.args
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id == var
        ):
            return True
    return False
