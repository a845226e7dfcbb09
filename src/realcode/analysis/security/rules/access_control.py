"""Missing and incorrect authorization (CWE-862, CWE-863).

Model: a *privileged operation* is a read that is returned to the caller, or a mutation (assignment, ``del``,
augmented assignment, mutating method call), of a record in a module-level data store selected by a key that
derives from an input of the function. The *actor* is every input that takes no part in that operation (neither
the key nor the written value). The operation is *protected* when a test that dominates it (an enclosing ``if``,
an ``assert`` or an early ``raise``/``return``) involves an actor input, directly or through values derived from
it (``USERS[actor]["role"] == "admin"``, ``actor == owner``, ``actor in record["staff"]``). An operation that the
function performs on behalf of an actor it never consults is reported.

With a single unconsulted input (the caller's identity) the finding is CWE-862: no authorization decision is made
at all. When the function is handed two or more authorization inputs (identity and role, identity and the owner
of the record) and consults none of them, the finding is CWE-863: the decision the inputs were given for is not
made. (A check that consults some inputs and ignores another is reported by the count of ignored ones: an input
tested against a constant may select the operation as well as state a role, so it cannot mark a partial check.)
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from realcode.analysis.findings import Confidence, Finding, Severity
from realcode.analysis.security.rules._protection import (
    MUTATING_METHODS,
    Analysis,
    FunctionFacts,
    ModuleFacts,
    analysis_of,
    call_name,
    dominating_tests,
    dotted,
    is_route_handler,
    method_name,
    names_in,
    root_name,
    subscript_chain,
)
from realcode.analysis.security.rules.base import Rule, register

if TYPE_CHECKING:
    from realcode.analysis.security.context import AnalysisContext


@dataclass(frozen=True)
class PrivilegedOp:
    """An operation on a store record: where it is, which store, which inputs select and feed it."""

    node: ast.AST
    store: str
    kind: str  # "read", "write", "delete", "call"
    involved: frozenset[str]  # inputs used by the operation (key and value)


def _keyed_store_access(
    node: ast.AST, module: ModuleFacts, facts: FunctionFacts
) -> tuple[str, set[str]] | None:
    """``STORE[...key...]...``: the store and the inputs its subscripts derive from, if any input does."""
    root = root_name(node)
    if root is None or root in facts.bindings or root in facts.params:
        return None
    if root == "self":
        # ``self.accounts[key]`` in a method: a store when the class keeps a container in that attribute.
        chain = node
        while isinstance(chain, ast.Subscript | ast.Attribute) and not (
            isinstance(chain, ast.Attribute) and isinstance(chain.value, ast.Name)
        ):
            chain = chain.value
        if not isinstance(chain, ast.Attribute) or chain.attr not in module.instance_stores.get(
            id(facts.node), ()
        ):
            return None
        root = f"self.{chain.attr}"
    elif root not in module.stores:
        return None
    keys: set[str] = set()
    for sub in subscript_chain(node):
        keys |= facts.params_of(sub.slice)
    if not keys:
        return None
    return root, keys


def _holds_records(store: str, module: ModuleFacts, facts: FunctionFacts) -> bool:
    """Whether a store's values are records (dicts, objects, lists), as far as its literal shows."""
    if store.startswith("self."):
        value = module.instance_stores.get(id(facts.node), {}).get(store[len("self.") :])
    else:
        value = module.stores.get(store)
    if not isinstance(value, ast.Dict) or not value.values:
        return True  # filled at run time, or an instance container: unknown contents
    return any(not isinstance(v, ast.Constant) for v in value.values)


#: Methods of a store that take the key of the record they act on as their first argument.
KEYED_METHODS = frozenset({"pop", "remove", "discard", "setdefault"})


def _store_key_call(call: ast.Call, module: ModuleFacts, facts: FunctionFacts) -> tuple[str, set[str]] | None:
    """``STORE.pop(key)`` / ``STORE.get(key)``: the store and the inputs the key derives from."""
    assert isinstance(call.func, ast.Attribute)
    receiver = call.func.value
    if not isinstance(receiver, ast.Name) or receiver.id not in module.stores:
        return None
    if receiver.id in facts.bindings or receiver.id in facts.params:
        return None
    keys = facts.params_of(call.args[0])
    return (receiver.id, keys) if keys else None


def privileged_ops(facts: FunctionFacts, module: ModuleFacts) -> Iterator[PrivilegedOp]:
    """Reads returned from and mutations of store records selected by an input."""
    for node in facts.of_type(ast.Assign, ast.AugAssign, ast.Delete, ast.Call, ast.Return):
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                # ``STORE[k] = v`` adds an entry (growth, CWE-770); changing a field of a record is privileged.
                if (
                    isinstance(node, ast.Assign)
                    and isinstance(t, ast.Subscript)
                    and not subscript_chain(t.value)
                ):
                    continue
                if isinstance(t, ast.Subscript | ast.Attribute):
                    hit = _keyed_store_access(t, module, facts)
                    if hit:
                        yield PrivilegedOp(
                            node, hit[0], "write", frozenset(hit[1] | facts.params_of(node.value))
                        )
        elif isinstance(node, ast.Delete):
            for t in node.targets:
                hit = _keyed_store_access(t, module, facts)
                if hit:
                    yield PrivilegedOp(node, hit[0], "delete", frozenset(hit[1]))
        elif isinstance(node, ast.Call) and method_name(node) in MUTATING_METHODS:
            assert isinstance(node.func, ast.Attribute)
            hit = _keyed_store_access(node.func.value, module, facts)
            if hit is None and method_name(node) in KEYED_METHODS and node.args:
                # ``STORE.pop(key)``: the key is the argument.
                hit = _store_key_call(node, module, facts)
            if hit:
                args: set[str] = set()
                for a in [*node.args, *(k.value for k in node.keywords)]:
                    args |= facts.params_of(a)
                yield PrivilegedOp(node, hit[0], "call", frozenset(hit[1] | args))
        elif isinstance(node, ast.Return) and node.value is not None:
            value = node.value
            # ``record = STORE[key]; return record`` is the same read.
            if isinstance(value, ast.Name) and len(facts.bindings.get(value.id, [])) == 1:
                bound = facts.bindings[value.id][0]
                if isinstance(bound, ast.Subscript) and value.id not in facts.loop_vars:
                    value = bound
            if isinstance(value, ast.Name) and len(facts.bindings.get(value.id, [])) == 1:
                bound = facts.bindings[value.id][0]
                if isinstance(bound, ast.Call) and value.id not in facts.loop_vars:
                    value = bound
            hit = None
            if isinstance(value, ast.Subscript):
                hit = _keyed_store_access(value, module, facts)
            elif isinstance(value, ast.Call) and method_name(value) == "get" and value.args:
                hit = _store_key_call(value, module, facts)  # ``return STORE.get(key)``
            # A lookup table of plain values (names, flags, counters) holds no resource to protect.
            if hit and _holds_records(hit[0], module, facts):
                yield PrivilegedOp(node, hit[0], "read", frozenset(hit[1]))


def _accessors(analysis: Analysis) -> dict[str, tuple[str, list[int]]]:
    """Module-level helpers that read or change a store record chosen by one of their parameters: name ->
    (kind, positions of the key parameters). A one-level call summary, computed once per module."""
    cached = analysis.memo.get("authz.accessors")
    if isinstance(cached, dict):
        return cached
    chosen = {id(f.node) for f in analysis.functions}
    out: dict[str, tuple[str, list[int]]] = {}
    for name, fn in analysis.module.functions.items():
        if id(fn) in chosen:
            continue
        facts = FunctionFacts.of(fn)
        positional = [a.arg for a in [*fn.args.posonlyargs, *fn.args.args]]
        for op in privileged_ops(facts, analysis.module):
            keys = [i for i, p in enumerate(positional) if p in op.involved and p in _op_keys(op, facts)]
            if keys:
                kind = "read" if op.kind == "read" else "write"
                out[name] = (kind, keys) if name not in out or kind == "write" else out[name]
    analysis.memo["authz.accessors"] = out
    return out


def _op_keys(op: PrivilegedOp, facts: FunctionFacts) -> set[str]:
    """The inputs that select the record an operation acts on."""
    node = op.node
    targets: list[ast.AST] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AugAssign):
        targets = [node.target]
    elif isinstance(node, ast.Delete):
        targets = list(node.targets)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        targets = [node.func.value]
        if not subscript_chain(node.func.value) and node.args:
            return facts.params_of(node.args[0])  # ``STORE.pop(key)``
    elif isinstance(node, ast.Return) and node.value is not None:
        targets = [node.value]
        if isinstance(node.value, ast.Name):
            targets = list(facts.bindings.get(node.value.id, []))
    keys: set[str] = set()
    for t in targets:
        if isinstance(t, ast.Call) and method_name(t) == "get" and t.args:
            keys |= facts.params_of(t.args[0])
        for sub in subscript_chain(t):
            keys |= facts.params_of(sub.slice)
    return keys


def accessor_calls(facts: FunctionFacts, analysis: Analysis) -> list[PrivilegedOp]:
    """Calls of store-accessing helpers with a key derived from an input (``delete_record(doc_id)``)."""
    helpers = analysis.module.functions
    if not any(
        isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id in helpers
        for c in facts.of_type(ast.Call)
    ):
        return []
    accessors = _accessors(analysis)
    if not accessors:
        return []
    out: list[PrivilegedOp] = []
    for node in facts.of_type(ast.Call):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in accessors):
            continue
        kind, positions = accessors[node.func.id]
        keys: set[str] = set()
        for i in positions:
            if i < len(node.args):
                keys |= facts.params_of(node.args[i])
        if not keys:
            continue
        involved: set[str] = set()
        for a in [*node.args, *(k.value for k in node.keywords)]:
            involved |= facts.params_of(a)
        if kind == "read" and not isinstance(facts.parents.get(node), ast.Return):
            continue  # a read only matters when its record is handed back
        out.append(
            PrivilegedOp(node, node.func.id, "call" if kind == "write" else "read", frozenset(involved))
        )
    return out


def actor_inputs(facts: FunctionFacts, op: PrivilegedOp, involved: set[str]) -> tuple[list[str], list[str]]:
    """The actor inputs — inputs that take no part in the function's store operations (``involved``) — split
    into those a test dominating ``op`` consults and those none does."""
    # An input used for something else (computed with, logged, passed on) is not an ignored identity.
    actors = [
        p
        for p in facts.params
        if p not in involved and p not in facts.defaulted and p not in facts.used_outside_tests
    ]
    if not actors:
        return [], []
    seen: set[str] = set()
    for guard in dominating_tests(facts, op.node):
        seen |= facts.params_of(guard.test)
    return [a for a in actors if a in seen], [a for a in actors if a not in seen]


def authorization_cwe(consulted: list[str], missing: list[str]) -> str | None:
    """CWE-862 when the only authorization input is ignored, CWE-863 when two or more are; None when every
    input is consulted. A consulted input does not make a partial check CWE-863: an input tested against a
    constant may as well select the operation (``if action == "add"``) as state a role."""
    del consulted  # kept in the signature: the split is what a finer model would use
    if not missing:
        return None
    return "CWE-863" if len(missing) >= 2 else "CWE-862"


class _AuthorizationRule(Rule):
    """Shared implementation of CWE-862/863 (see :func:`authorization_cwe` for which one a finding is)."""

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        analysis = analysis_of(ctx)
        if analysis is None:
            return
        for facts in analysis.functions:
            seen: set[int] = set()
            ops = list(privileged_ops(facts, analysis.module))
            ops += accessor_calls(facts, analysis)
            involved: set[str] = set()
            for op in ops:
                involved |= op.involved
            for op in ops:
                line = getattr(op.node, "lineno", 0)
                if line in seen:
                    continue
                consulted, missing = actor_inputs(facts, op, involved)
                if authorization_cwe(consulted, missing) != self.cwe:
                    continue
                seen.add(line)
                verb = {
                    "read": "returns a record of",
                    "write": "modifies",
                    "delete": "deletes from",
                    "call": "modifies",
                }
                names = ", ".join(f"`{m}`" for m in missing)
                yield self.finding(
                    ctx,
                    op.node,
                    f"`{facts.node.name}` {verb[op.kind]} `{op.store}` selected by caller input without an "
                    f"authorization check on {names}",
                )


@register
class MissingAuthorization(_AuthorizationRule):
    """A store record is read or changed on behalf of a caller whose identity is never checked.

    Bad::

        def delete_note(actor_id, note_id):
            del NOTES[note_id]

    Good::

        def delete_note(actor_id, note_id):
            if NOTES[note_id]["owner"] != actor_id and USERS[actor_id]["role"] != "admin":
                raise PermissionError(actor_id)
            del NOTES[note_id]
    """

    id = "RC-AUTHZ-001"
    cwe = "CWE-862"
    name = "missing-authorization"
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    blind_spots = (
        "Sees only stores bound at module level and actors passed as parameters; checks made by a decorator, a "
        "callee or a framework (login_required, permission classes) are invisible, and a function with no actor "
        "input at all cannot be judged. Any test on the actor counts as a check, even a wrong one."
    )


@register
class IncorrectAuthorization(_AuthorizationRule):
    """A store record is read or changed while the authorization inputs the function receives are ignored.

    Bad::

        def edit_doc(user_id, role, doc_id, content):
            DOCS[doc_id]["content"] = content

    Good::

        def edit_doc(user_id, role, doc_id, content):
            if role != "editor" and DOCS[doc_id]["owner"] != user_id:
                raise PermissionError(user_id)
            DOCS[doc_id]["content"] = content
    """

    id = "RC-AUTHZ-002"
    cwe = "CWE-863"
    name = "incorrect-authorization"
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    blind_spots = (
        "Tells 863 from 862 only by the number of unconsulted inputs (two or more: 863); a check that consults "
        "every input but decides wrongly (compares the wrong field, uses `or` for `and`) is not recognised."
    )


#: Words in a decorator's name that make it an authorization (not just authentication) check.
AUTHZ_DECORATOR_WORDS = (
    "permission",
    "role",
    "admin",
    "staff",
    "superuser",
    "user_passes_test",
    "owner",
    "authoriz",
)
#: Expressions that stand for the signed-in actor in web frameworks.
ACTOR_REFERENCES = frozenset(
    {
        "current_user",
        "flask_login.current_user",
        "g.user",
        "request.user",
        "session",
        "flask.session",
        "current_identity",
    }
)
ACTOR_CALLS = frozenset({"get_jwt_identity", "flask_jwt_extended.get_jwt_identity", "get_current_user"})
#: Calls that delete an object handed to them (``db.session.delete(obj)``).
DELETING_CALLS = ("session.delete", "db.delete")
#: Methods that persist or delete the object they are called on (ORMs).
OBJECT_WRITES = frozenset({"delete", "save", "update", "remove"})


def _authz_decorated(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for deco in fn.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        name = dotted(target).lower()
        if any(word in name for word in AUTHZ_DECORATOR_WORDS):
            return True
    return False


def _depends_params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """FastAPI parameters filled by a dependency (``user = Depends(get_user)``): resolved by the server."""
    args = fn.args
    positional = [*args.posonlyargs, *args.args]
    pairs = list(zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True))
    pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None]
    return {
        a.arg
        for a, d in pairs
        if isinstance(d, ast.Call) and dotted(d.func).split(".")[-1] in {"Depends", "Security"}
    }


#: Attributes of a Django ``HttpRequest`` that identify a view's first parameter as the request.
DJANGO_REQUEST_ATTRIBUTES = frozenset(
    {"user", "POST", "GET", "method", "META", "FILES", "COOKIES", "session"}
)


def _django_request(facts: FunctionFacts, module: ModuleFacts) -> str | None:
    """The request parameter of a Django function view: a first parameter read as an ``HttpRequest``, or the
    first parameter of a function wrapped in one of Django's view decorators."""
    args = [*facts.node.args.posonlyargs, *facts.node.args.args]
    if not args or args[0].arg in {"self", "cls"}:
        return None
    first = args[0].arg
    for deco in facts.node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if module.resolve(dotted(target)).startswith("django."):
            return first
    for node in facts.of_type(ast.Attribute):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == first
            and node.attr in DJANGO_REQUEST_ATTRIBUTES
        ):
            return first
    return None


def _mentions_actor(test: ast.AST, actors: set[str]) -> bool:
    """Whether a test reads the signed-in actor: a framework reference, or one of ``actors`` (dotted names; a
    reference matches an actor or anything below it, ``req.user.id`` for ``req.user``)."""
    for sub in ast.walk(test):
        if isinstance(sub, ast.Name | ast.Attribute):
            name = dotted(sub)
            if name in ACTOR_REFERENCES or any(name == a or name.startswith(a + ".") for a in actors):
                return True
        if isinstance(sub, ast.Call) and dotted(sub.func) in ACTOR_CALLS:
            return True
    return False


@register
class RouteWithoutObjectAuthorization(Rule):
    """A web route deletes or changes the object its URL names without checking who is asking.

    Bad::

        @app.route("/posts/<int:post_id>/delete", methods=["POST"])
        @login_required
        def delete_post(post_id):
            post = Post.query.get_or_404(post_id)
            db.session.delete(post)
            db.session.commit()

    Good::

        @app.route("/posts/<int:post_id>/delete", methods=["POST"])
        @login_required
        def delete_post(post_id):
            post = Post.query.get_or_404(post_id)
            if post.author_id != current_user.id:
                abort(403)
            db.session.delete(post)
            db.session.commit()
    """

    id = "RC-AUTHZ-003"
    cwe = "CWE-862"
    name = "route-without-object-authorization"
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    blind_spots = (
        "Knows route decorators of Flask/FastAPI-style frameworks and Django function views, ORM deletes and saves "
        "of objects looked up from a URL parameter, and actors as current_user/g.user/request.user/session/JWT "
        "identity/Depends parameters; Django class-based views are not seen. "
        "Checks in a query filter (filter_by(owner=current_user)), in a callee or in middleware are not seen; "
        "login_required alone is authentication and does not count."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        analysis = analysis_of(ctx)
        if analysis is None:
            return
        for facts in analysis.functions:
            fn = facts.node
            if _authz_decorated(fn):
                continue
            request = _django_request(facts, analysis.module)
            if request is not None:
                # A Django view: its other parameters come from the URL, the actor is ``request.user``.
                actors = {f"{request}.user", f"{request}.session"}
                url_params = set(facts.params) - {request}
            elif is_route_handler(fn):
                actors = _depends_params(fn)
                url_params = set(facts.params) - actors
            else:
                continue
            if not url_params:
                continue
            commits = any(
                method_name(c) in {"commit", "save"}
                for c in facts.of_type(ast.Call)
                if isinstance(c, ast.Call)
            )
            for node in self._writes(facts, url_params, commits):
                if any(_mentions_actor(g.test, actors) for g in dominating_tests(facts, node)):
                    continue
                # ``Post.query.filter_by(id=pid, author=current_user).first_or_404()``: the lookup is the check.
                if any(_mentions_actor(v, actors) for n in names_in(node) for v in facts.bindings.get(n, [])):
                    continue
                yield self.finding(
                    ctx,
                    node,
                    f"route `{fn.name}` changes an object chosen by the URL without an authorization check",
                )
                break

    @staticmethod
    def _writes(facts: FunctionFacts, url_params: set[str], commits: bool) -> Iterator[ast.AST]:
        for node in facts.of_type(ast.Call, ast.Assign):
            if isinstance(node, ast.Call):
                name = call_name(node)
                if (
                    name.endswith(DELETING_CALLS) and node.args and facts.params_of(node.args[0]) & url_params
                ) or (
                    method_name(node) in OBJECT_WRITES
                    and isinstance(node.func, ast.Attribute)
                    and facts.params_of(node.func.value) & url_params
                ):
                    yield node
            elif commits and isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Attribute) and facts.params_of(t.value) & url_params:
                        yield node
