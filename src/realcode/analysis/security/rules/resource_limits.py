"""Resources sized by input without a bound (CWE-770, CWE-400, CWE-120).

Three models of "a sensitive operation reached without the check that protects it":

- **CWE-770, allocation without limits.** A module-level collection (it outlives the call) grows by caller input
  (``append``/``put``/``add``/``extend``/``insert``, or a store under a caller-chosen key), or a list whose length
  is chosen by the input (``re.findall``/``split`` over it) is handed back, without a dominating size bound: a
  comparison involving ``len(...)``/``qsize()`` on the path (``if len(LOG) < N and len(msg) < M:``). A
  membership test on the same collection (``if key not in STORE:``) also bounds a keyed store, since each key is
  stored once.
- **CWE-400, uncontrolled resource consumption.** A loop that keeps reading a caller-supplied stream or a network
  response (``while True: chunk = stream.read(n)``, ``for chunk in resp.iter_content(n)``) with no bound on the
  amount read: no comparison inside the loop involving a running total (a name updated with ``+=`` in the loop).
  Also a rate-window counter (a function that reads a clock and stores ``count + 1`` per caller key) whose count
  is never compared with a limit.
- **CWE-120, buffer copy without checking the size of input.** A module-level buffer (``bytearray``) extended with
  caller input, or raw caller bytes parsed (``find``/``split``/``decode``/``partition``) without a dominating
  ``len(input)`` comparison.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from realcode.analysis.findings import Confidence, Finding, Severity
from realcode.analysis.security.rules._protection import (
    GROWING_METHODS,
    Analysis,
    FunctionFacts,
    ModuleFacts,
    analysis_of,
    call_name,
    dominating_tests,
    dotted,
    is_len_call,
    is_size_bound,
    method_name,
    names_in,
    root_name,
)
from realcode.analysis.security.rules.base import Rule, register

if TYPE_CHECKING:
    from realcode.analysis.security.context import AnalysisContext

#: Calls whose result is a list as long as the input allows.
SPLITTING_CALLS = frozenset({"re.findall", "re.split"})
#: Stream reads: a method call that returns the next piece of a stream.
STREAM_READS = frozenset({"read", "recv", "read1", "recv_into", "readinto"})
#: Iterators over a network response's body.
STREAM_ITERATORS = frozenset(
    {"iter_content", "iter_lines", "iter_chunked", "iter_any", "iter_raw", "iter_bytes"}
)
#: Clock reads that mark a rate window.
CLOCK_CALLS = frozenset(
    {"time.time", "time.monotonic", "time", "monotonic", "datetime.now", "datetime.datetime.now"}
)
#: Methods that parse raw bytes/text received from outside.
PARSING_METHODS = frozenset(
    {"find", "split", "decode", "partition", "index", "splitlines", "rfind", "rsplit"}
)


def _store_root(node: ast.AST, module: ModuleFacts, facts: FunctionFacts) -> str | None:
    root = root_name(node)
    if root is None or root not in module.stores or root in facts.bindings or root in facts.params:
        return None
    return root


def _capped_store(module: ModuleFacts, store: str) -> bool:
    """A container created with a capacity: ``deque(maxlen=N)``, ``Queue(maxsize=N)`` / ``Queue(N)``."""
    value = module.stores.get(store)
    if not isinstance(value, ast.Call):
        return False
    kind = dotted(value.func).split(".")[-1]
    if any(kw.arg in {"maxlen", "maxsize"} for kw in value.keywords):
        return True
    return kind in {"Queue", "LifoQueue", "PriorityQueue"} and bool(value.args)


def _evicts(facts: FunctionFacts, store: str) -> bool:
    """The function compares the store's size somewhere (an eviction ``if len(S) >= N: S.pop(0)`` or a check)."""
    for cmp in facts.of_type(ast.Compare):
        for sub in ast.walk(cmp):
            if not (isinstance(sub, ast.Call) and is_len_call(sub)):
                continue
            sized = [*sub.args, sub.func.value] if isinstance(sub.func, ast.Attribute) else list(sub.args)
            if any(root_name(a) == store for a in sized):
                return True
    return False


def _bounded(facts: FunctionFacts, node: ast.AST, store: str | None = None) -> bool:
    """A dominating size bound, or (for keyed stores) a membership test on the same store."""
    for guard in dominating_tests(facts, node):
        if is_size_bound(guard.test):
            return True
        if store is None:
            continue
        for sub in ast.walk(guard.test):
            if (
                isinstance(sub, ast.Compare)
                and any(isinstance(op, ast.NotIn | ast.In) for op in sub.ops)
                and any(root_name(c) == store for c in sub.comparators)
            ):
                return True
    return False


def growth_sites(analysis: Analysis, facts: FunctionFacts, *, buffers: bool) -> Iterator[tuple[ast.AST, str]]:
    """Unbounded growth of module-level collections (or buffers) by caller input: (node, store)."""
    module = analysis.module
    for node in facts.of_type(ast.Call, ast.Assign, ast.AugAssign):
        store: str | None = None
        if isinstance(node, ast.Call) and method_name(node) in GROWING_METHODS:
            assert isinstance(node.func, ast.Attribute)
            store = _store_root(node.func.value, module, facts)
            if store is None or not any(facts.params_of(a) for a in node.args):
                continue
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if (
                    isinstance(t, ast.Subscript)
                    and facts.params_of(t.slice)
                    and not isinstance(t.slice, ast.Slice)
                ):
                    store = _store_root(t, module, facts)
                    if store is not None:
                        break
            if store is None:
                continue
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add) and facts.params_of(node.value):
            store = _store_root(node.target, module, facts)
            if store is None or not module.is_buffer(store):
                continue
        else:
            continue
        if module.is_buffer(store) != buffers:
            continue
        if _capped_store(module, store) or _evicts(facts, store):
            continue
        if _bounded(facts, node, None if buffers else store):
            continue
        yield node, store


@register
class UnboundedAllocation(Rule):
    """A long-lived collection grows, or an input-sized list is returned, without a size limit.

    Bad::

        def log_event(user, text):
            EVENTS.append({"user": user, "text": text})

    Good::

        def log_event(user, text):
            if len(EVENTS) >= 10_000 or len(text) > 500:
                raise ValueError("log full or message too long")
            EVENTS.append({"user": user, "text": text})
    """

    id = "RC-RES-001"
    cwe = "CWE-770"
    name = "allocation-without-limits"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    blind_spots = (
        "Sees only module-level collections (not attributes of long-lived objects, caches in closures or "
        "databases) and bounds written as a comparison involving len()/qsize() on the path; eviction after the "
        "insert (popping the oldest entry) or a bounded container (deque(maxlen=...)) is not recognised."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        analysis = analysis_of(ctx)
        if analysis is None:
            return
        for facts in analysis.functions:
            for node, store in growth_sites(analysis, facts, buffers=False):
                yield self.finding(
                    ctx,
                    node,
                    f"`{store}` grows with caller input in `{facts.node.name}` without a size limit",
                )
            yield from self._unbounded_lists(ctx, analysis, facts)

    def _unbounded_lists(
        self, ctx: AnalysisContext, analysis: Analysis, facts: FunctionFacts
    ) -> Iterator[Finding]:
        sized: dict[str, ast.Call] = {}
        for name, values in facts.bindings.items():
            for value in values:
                if (
                    isinstance(value, ast.Call)
                    and analysis.module.resolve(call_name(value)) in SPLITTING_CALLS
                    and any(facts.params_of(a) for a in value.args[1:])
                ):
                    sized[name] = value
        for node in facts.of_type(ast.Return):
            if not isinstance(node, ast.Return) or not isinstance(node.value, ast.Name):
                continue
            call = sized.get(node.value.id)
            if call is None:
                continue
            if _bounded(facts, node) or any(
                is_size_bound(g.test) for g in dominating_tests(facts, call) if g is not None
            ):
                continue
            yield self.finding(
                ctx,
                node,
                f"`{facts.node.name}` returns a list whose length the caller chooses (`{call_name(call)}`) "
                "without a limit",
            )


#: Methods that read a stream to its end when called without a size.
WHOLE_READS = frozenset({"read", "readlines", "recv_all"})


def _unsized(call: ast.Call) -> bool:
    """``read()`` / ``read(-1)`` / ``read(None)``: no bound on how much is read."""
    if not call.args and not call.keywords:
        return True
    size = call.args[0] if call.args else call.keywords[0].value
    return isinstance(size, ast.Constant) and (size.value is None or size.value == -1)


def _caller_stream(facts: FunctionFacts, receiver: ast.AST) -> bool:
    """A stream the caller handed in: a parameter, or a local bound to one (not the object's own state)."""
    root = root_name(receiver)
    if root is None or root == "self":
        return False
    if root in facts.params:
        return True
    return any(isinstance(v, ast.Name) and v.id in facts.params for v in facts.bindings.get(root, []))


def _stream_loops(analysis: Analysis, facts: FunctionFacts) -> Iterator[ast.While | ast.For]:
    """Loops that keep reading caller-controlled or network input."""
    for node in facts.of_type(ast.For, ast.While):
        if isinstance(node, ast.For):
            it = node.iter
            if isinstance(it, ast.Call) and method_name(it) in STREAM_ITERATORS:
                yield node
        elif isinstance(node, ast.While):
            for sub in ast.walk(node):
                if (
                    isinstance(sub, ast.Call)
                    and method_name(sub) in STREAM_READS
                    and isinstance(sub.func, ast.Attribute)
                    and _caller_stream(facts, sub.func.value)
                ):
                    yield node
                    break


def _loop_bounded(loop: ast.While | ast.For) -> bool:
    """A comparison in the loop involving a running total (a name the loop increases with ``+=``)."""
    counters: set[str] = set()
    for sub in ast.walk(loop):
        if isinstance(sub, ast.AugAssign) and isinstance(sub.target, ast.Name):
            counters.add(sub.target.id)
    if not counters:
        return False
    return any(isinstance(sub, ast.Compare) and bool(set(names_in(sub)) & counters) for sub in ast.walk(loop))


@register
class UncontrolledConsumption(Rule):
    """Input is consumed without a bound on how much: an endless read loop, or a rate counter never enforced.

    Bad::

        def save_upload(stream, path):
            with open(path, "wb") as out:
                while chunk := stream.read(8192):
                    out.write(chunk)

    Good::

        def save_upload(stream, path):
            total = 0
            with open(path, "wb") as out:
                while chunk := stream.read(8192):
                    total += len(chunk)
                    if total > MAX_UPLOAD:
                        raise ValueError("upload too large")
                    out.write(chunk)
    """

    id = "RC-RES-002"
    cwe = "CWE-400"
    name = "uncontrolled-resource-consumption"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    blind_spots = (
        "Recognises streams by their read methods (read/recv/iter_content...) on inputs and the bound only as a "
        "running total compared inside the loop; limits enforced by the server (request size limits), by "
        "timeouts or by a callee are invisible. Rate limiting is recognised only as a clock-stamped per-key "
        "counter."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        analysis = analysis_of(ctx)
        if analysis is None:
            return
        for facts in analysis.functions:
            for loop in _stream_loops(analysis, facts):
                if not _loop_bounded(loop):
                    yield self.finding(
                        ctx,
                        loop,
                        f"`{facts.node.name}` reads input in a loop without a limit on the total size",
                    )
            for call in facts.of_type(ast.Call):
                if (
                    isinstance(call, ast.Call)
                    and method_name(call) in WHOLE_READS
                    and isinstance(call.func, ast.Attribute)
                    and _unsized(call)
                    and _caller_stream(facts, call.func.value)
                ):
                    yield self.finding(
                        ctx,
                        call,
                        f"`{facts.node.name}` reads a caller's stream to the end with no limit on its size",
                    )
            yield from self._unenforced_counters(ctx, analysis, facts)

    def _unenforced_counters(
        self, ctx: AnalysisContext, analysis: Analysis, facts: FunctionFacts
    ) -> Iterator[Finding]:
        clock = any(
            isinstance(n, ast.Call) and analysis.module.resolve(call_name(n)) in CLOCK_CALLS
            for n in facts.of_type(ast.Call)
        )
        if not clock:
            return
        compared: set[str] = set()
        for n in facts.of_type(ast.Compare):
            compared |= set(names_in(n))
        for n in facts.of_type(ast.Assign):
            if (
                not isinstance(n, ast.Assign)
                or len(n.targets) != 1
                or not isinstance(n.targets[0], ast.Subscript)
            ):
                continue
            target = n.targets[0]
            if not facts.params_of(target.slice):
                continue
            for sub in ast.walk(n.value):
                if (
                    isinstance(sub, ast.BinOp)
                    and isinstance(sub.op, ast.Add)
                    and isinstance(sub.left, ast.Name)
                    and isinstance(sub.right, ast.Constant)
                    and sub.left.id not in compared
                    and self._read_from(facts, sub.left.id, target)
                ):
                    yield self.finding(
                        ctx,
                        n,
                        f"`{facts.node.name}` counts requests per caller in `{sub.left.id}` but never compares "
                        "the count with a limit",
                    )
                    break

    @staticmethod
    def _read_from(facts: FunctionFacts, name: str, target: ast.Subscript) -> bool:
        """Whether ``name`` was read out of the same keyed entry that ``target`` writes."""
        root = root_name(target)
        for value in facts.bindings.get(name, []):
            if isinstance(value, ast.Subscript | ast.Call) and root_name(value) == root:
                return True
        return False


@register
class UncheckedBufferInput(Rule):
    """Raw input is copied into a buffer or parsed without checking its length first.

    Bad::

        def handle_header(data: bytes):
            lines = data.split(b"\\r\\n")
            ...

    Good::

        def handle_header(data: bytes):
            if len(data) > 8192:
                raise ValueError("header too long")
            lines = data.split(b"\\r\\n")
    """

    id = "RC-RES-003"
    cwe = "CWE-120"
    name = "unchecked-input-size"
    severity = Severity.MEDIUM
    confidence = Confidence.LOW
    blind_spots = (
        "Python buffers do not overflow: the rule reports the missing length check that protocol parsers need "
        "against oversized input. It sees only module-level bytearray buffers and parsing of inputs known to be "
        "raw bytes (annotated `bytes`/`bytearray` or handled with bytes literals)."
    )

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        analysis = analysis_of(ctx)
        if analysis is None:
            return
        for facts in analysis.functions:
            for node, store in growth_sites(analysis, facts, buffers=True):
                yield self.finding(
                    ctx, node, f"caller input is copied into buffer `{store}` without checking its length"
                )
            raw = self._raw_inputs(facts)
            reported: set[str] = set()
            for node in facts.of_type(ast.Call):
                if (
                    isinstance(node, ast.Call)
                    and method_name(node) in PARSING_METHODS
                    and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id in raw
                    and node.func.value.id not in reported
                ):
                    name = node.func.value.id
                    if self._length_checked(facts, node, name):
                        continue
                    reported.add(name)
                    yield self.finding(
                        ctx, node, f"raw input `{name}` is parsed without checking its length first"
                    )

    @staticmethod
    def _raw_inputs(facts: FunctionFacts) -> set[str]:
        raw: set[str] = set()
        args = facts.node.args
        for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            ann = a.annotation
            if isinstance(ann, ast.Name) and ann.id in {"bytes", "bytearray", "memoryview"}:
                raw.add(a.arg)
        params = set(facts.params)
        for node in facts.of_type(ast.Call):
            if (
                isinstance(node, ast.Call)
                and method_name(node) in PARSING_METHODS
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in params
                and any(isinstance(a, ast.Constant) and isinstance(a.value, bytes) for a in node.args)
            ):
                raw.add(node.func.value.id)
        return raw

    @staticmethod
    def _length_checked(facts: FunctionFacts, node: ast.AST, name: str) -> bool:
        for guard in dominating_tests(facts, node):
            for sub in ast.walk(guard.test):
                if (
                    isinstance(sub, ast.Compare)
                    and any(isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE) for op in sub.ops)
                    and any(
                        is_len_call(s) and any(n == name for n in names_in(s))
                        for side in [sub.left, *sub.comparators]
                        for s in ast.walk(side)
                    )
                ):
                    return True
        return False
