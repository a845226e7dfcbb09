"""Tests of the "missing protection" helpers and rules (CWE 862, 863, 352, 770, 400, 120, 915, 200, 347, 367)."""

from __future__ import annotations

import ast
import json
import textwrap
import warnings
from collections import Counter
from pathlib import Path

import pytest

from realcode.analysis.security import scan_code
from realcode.analysis.security.rules._protection import (
    MAX_GUARDS,
    FunctionFacts,
    ModuleFacts,
    dominating_tests,
    source_functions,
)
from realcode.tasks.paths import data_dir

PROTECTION_CWES = (
    "CWE-862",
    "CWE-863",
    "CWE-352",
    "CWE-770",
    "CWE-400",
    "CWE-120",
    "CWE-915",
    "CWE-200",
    "CWE-347",
    "CWE-367",
)


def _function(code: str) -> tuple[ast.Module, FunctionFacts]:
    tree = ast.parse(textwrap.dedent(code))
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
    return tree, FunctionFacts.of(fn)


def _call(facts: FunctionFacts, name: str) -> ast.Call:
    for node in facts.of_type(ast.Call):
        assert isinstance(node, ast.Call)
        if ast.unparse(node.func).endswith(name):
            return node
    raise AssertionError(f"no call to {name}")


def _cwes(code: str, entry: str | None = None) -> list[tuple[int, str]]:
    findings = scan_code(textwrap.dedent(code), entry=entry, select=PROTECTION_CWES)
    return sorted((f.location.line, f.cwe or "") for f in findings)


# -- helpers -------------------------------------------------------------------------------------------------


def test_provenance_follows_assignments_loops_and_unpacking() -> None:
    _, facts = _function(
        """
        def f(req, other):
            body = req["body"]
            uid, email = body["id"], body["email"]
            for k, v in other.items():
                pair = (k, v)
            total = 0
            total += len(email)
            return uid
        """
    )
    assert facts.deps["uid"] == {"req"}
    assert facts.deps["email"] == {"req"}
    assert facts.deps["pair"] == {"other"}
    assert facts.deps["total"] == {"req"}
    assert "k" in facts.loop_vars and "v" in facts.loop_vars


def test_dominating_tests_see_enclosing_ifs_early_exits_and_asserts() -> None:
    _, facts = _function(
        """
        def f(a, b, c):
            assert c
            if not a:
                raise ValueError(a)
            try:
                if b > 3:
                    return None
            except KeyError:
                pass
            if a == b:
                sink()
            else:
                other()
        """
    )
    tests = {(ast.unparse(g.test), g.holds) for g in dominating_tests(facts, _call(facts, "sink"))}
    assert tests == {("a == b", True), ("not a", False), ("b > 3", False), ("c", True)}
    other = {(ast.unparse(g.test), g.holds) for g in dominating_tests(facts, _call(facts, "other"))}
    assert ("a == b", False) in other


def test_a_test_after_the_operation_does_not_dominate_it() -> None:
    _, facts = _function(
        """
        def f(a):
            sink()
            if not a:
                raise ValueError(a)
        """
    )
    assert dominating_tests(facts, _call(facts, "sink")) == []


def test_dominating_tests_are_bounded_and_nearest_first() -> None:
    exits = "".join(f"    if a == {i}:\n        return {i}\n" for i in range(3 * MAX_GUARDS))
    _, facts = _function(f"def f(a):\n{exits}    sink()\n")
    guards = dominating_tests(facts, _call(facts, "sink"))
    assert len(guards) == MAX_GUARDS
    assert ast.unparse(guards[0].test) == f"a == {3 * MAX_GUARDS - 1}"
    assert dominating_tests(facts, _call(facts, "sink")) is guards  # memoized per node


def test_module_facts_know_stores_classes_and_imports() -> None:
    tree = ast.parse(
        textwrap.dedent(
            """
            from queue import Queue as Q
            import os.path
            STORE = {}
            LOG = []
            JOBS = Q()
            BUF = bytearray(16)
            LIMIT = 10
            class Proxy:
                def __getattr__(self, name):
                    raise AttributeError(name)
            """
        )
    )
    facts = ModuleFacts.of(tree)
    assert set(facts.stores) == {"STORE", "LOG", "JOBS", "BUF"}
    assert "LIMIT" in facts.constants
    assert facts.is_buffer("BUF") and not facts.is_buffer("LOG")
    assert facts.proxy_classes() == {"Proxy"}
    assert facts.resolve("Q") == "queue.Queue"
    assert facts.resolve("os.path.exists") == "os.path.exists"


def test_the_last_definition_of_the_entry_is_the_one_analysed() -> None:
    tree = ast.parse("def f(a):\n    return 1\n\ndef f(a, b):\n    return 2\n")
    (fn,) = source_functions(tree, "f")
    assert [a.arg for a in fn.args.args] == ["a", "b"]


# -- rules ---------------------------------------------------------------------------------------------------


def test_authorization_distinguishes_missing_from_incorrect() -> None:
    code = """
    NOTES = {1: {"owner": "a", "text": ""}}

    def read_note(actor, note_id):
        return NOTES[note_id]

    def edit_note(actor, role, note_id, text):
        NOTES[note_id]["text"] = text
    """
    assert _cwes(code) == [(5, "CWE-862"), (8, "CWE-863")]


def test_an_operation_selector_does_not_count_as_an_authorization_input() -> None:
    code = """
    TEAMS = {1: {"members": []}}

    def change_team(actor, team_id, action, member):
        if action == "add":
            TEAMS[team_id]["members"].append(member)
        elif action == "remove":
            TEAMS[team_id]["members"].remove(member)
    """
    assert [c for _, c in _cwes(code) if c.startswith("CWE-86")] == ["CWE-862", "CWE-862"]


def test_authorization_accepts_a_check_through_derived_values() -> None:
    code = """
    NOTES = {1: {"owner": "a", "text": ""}}
    PEOPLE = {"a": {"role": "admin"}}

    def read_note(actor, note_id):
        person = PEOPLE[actor]
        level = person["role"]
        if level != "admin":
            return None
        return NOTES[note_id]
    """
    assert _cwes(code) == []


def test_authorization_ignores_configuration_parameters_and_local_stores() -> None:
    code = """
    CACHE = {}

    def lookup(key, default=None):
        return CACHE[key]

    def local(key, extra):
        table = {1: 2}
        table[key] = 3
        return table[key]
    """
    assert _cwes(code) == []


def test_csrf_needs_a_check_on_a_value_the_change_does_not_use() -> None:
    unchecked = """
    USERS = {"1": {"email": ""}}

    def change(request):
        uid = request["body"]["uid"]
        if uid in USERS:
            USERS[uid]["email"] = request["body"]["email"]
    """
    checked = unchecked.replace(
        'uid = request["body"]["uid"]',
        'uid = request["body"]["uid"]\n        if request["headers"].get("X-Token") != "t":\n            return False',
    )
    assert _cwes(unchecked) == [(7, "CWE-352")]
    assert _cwes(checked) == []


def test_growth_bounded_by_length_or_membership() -> None:
    code = """
    ROOMS = {}

    def post(room, text):
        if room not in ROOMS:
            ROOMS[room] = []
        ROOMS[room].append(text)

    def post_bounded(room, text):
        if room not in ROOMS:
            ROOMS[room] = []
        if len(ROOMS[room]) < 100 and len(text) < 500:
            ROOMS[room].append(text)
    """
    assert _cwes(code) == [(7, "CWE-770")]


def test_read_loop_needs_a_running_total_compared_in_the_loop() -> None:
    code = """
    def drain(stream):
        seen = 0
        while True:
            data = stream.read(1024)
            if not data:
                break
            seen += 1

    def drain_capped(stream):
        total = 0
        while True:
            data = stream.read(1024)
            if not data:
                break
            total += len(data)
            if total > 10_000:
                raise ValueError("too big")
    """
    assert _cwes(code) == [(4, "CWE-400")]


def test_mass_assignment_respects_an_allow_list_and_a_privilege_gate() -> None:
    code = """
    ALLOWED = {"name"}

    def edit(obj, data, admin):
        if admin:
            obj.__dict__.update(data)
        for key, value in data.items():
            if key in ALLOWED:
                setattr(obj, key, value)
        for key in data:
            obj[key] = data[key]
    """
    assert _cwes(code) == [(11, "CWE-915")]


def test_format_exposure_only_for_internal_objects() -> None:
    code = """
    class User:
        def __init__(self, name, password):
            self.name, self.password = name, password

    USERS = {"a": User("a", "pw")}
    LABELS = {"a": "Alice"}

    def card(uid, template):
        return template.format(user=USERS[uid])

    def label(uid, template):
        return template.format(label=LABELS[uid], name=USERS[uid].name)
    """
    assert _cwes(code) == [(10, "CWE-200")]


def test_signature_registry_model_needs_an_unread_input() -> None:
    code = """
    KNOWN = {"a.bin": "9f86d081884c7d659a2feaa0c55ad015"}

    def load(name, signature):
        return open(name, "rb").read()

    def load_checked(name, signature):
        if KNOWN.get(name) != signature:
            raise ValueError(name)
        return open(name, "rb").read()
    """
    cwes = [c for _, c in _cwes(code, entry="load")]
    assert cwes.count("CWE-347") == 1
    assert "CWE-347" not in [c for _, c in _cwes(code, entry="load_checked")]


def test_toctou_on_files_and_on_handles() -> None:
    code = """
    import os

    def _cleanup(path):
        if os.path.isfile(path):
            os.unlink(path)

    def rename(db, key, value):
        if db.exists(key):
            db.set(key, value)
    """
    assert _cwes(code) == [(6, "CWE-367"), (10, "CWE-367")]


def test_parameters_are_sources_only_when_the_scan_says_so() -> None:
    code = textwrap.dedent(
        """
        NOTES = {1: {"text": ""}}

        def drop(actor, note_id):
            del NOTES[note_id]

        @app.route("/notes/<int:note_id>", methods=["DELETE"])
        def drop_route(note_id):
            Note.query.filter_by(id=note_id).delete()
        """
    )
    everything = {(f.location.line, f.rule_id) for f in scan_code(code, select=PROTECTION_CWES)}
    web_only = {
        (f.location.line, f.rule_id) for f in scan_code(code, sources=("web",), select=PROTECTION_CWES)
    }
    assert everything == {(5, "RC-AUTHZ-001"), (9, "RC-AUTHZ-003")}
    assert web_only == {(9, "RC-AUTHZ-003")}


def test_rules_do_not_fail_on_odd_code() -> None:
    code = """
    async def f(*args, **kwargs):
        async with lock() as (a, b):
            [x async for x in a]
        lambda: (yield)
        return {**kwargs}

    class C:
        def __call__(self, request):
            del request["body"][0]
    """
    findings = scan_code(textwrap.dedent(code), select=PROTECTION_CWES)
    assert all(f.cwe in PROTECTION_CWES for f in findings)


# -- the benchmark the rules were designed against (skipped without the data) ----------------------------------


def _seccodeplt_rows() -> list[dict[str, object]]:
    path = data_dir() / "seccodeplt" / "full_1345.jsonl"
    if not Path(path).exists():
        pytest.skip(f"SecCodePLT data not found at {path}")
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def test_seccodeplt_pairs_of_the_protection_cwes() -> None:
    """Every CWE keeps recall >= 0.97 on vulnerable code (right CWE) and these rules stay silent on the patched
    programs of every CWE, except for the few documented disagreements (docs/bench/security-protection.md)."""
    rows = _seccodeplt_rows()
    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    false_alarms = 0
    for row in rows:
        cwe = f"CWE-{row['CWE_ID']}"
        truth = row["ground_truth"]
        assert isinstance(truth, dict)
        setup = row["unittest"]["setup"]  # type: ignore[index]
        entry = row["task_description"]["function_name"]  # type: ignore[index]
        for variant in ("vulnerable_code", "patched_code"):
            program = f"{setup}\n{truth['code_before']}{truth[variant]}{truth['code_after']}"
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # the data's own invalid escape sequences
                    ast.parse(program)
            except SyntaxError:
                continue  # a few rows of the data set do not parse; nothing to analyse
            found = {f.cwe for f in scan_code(program, entry=entry, select=PROTECTION_CWES)}
            if variant == "vulnerable_code" and cwe in PROTECTION_CWES:
                totals[cwe] += 1
                hits[cwe] += cwe in found
            elif variant == "patched_code" and found:
                false_alarms += 1
    for cwe in PROTECTION_CWES:
        floor = 0.79 if cwe == "CWE-120" else 0.97  # CWE-120: text (not bytes) inputs are out of the model
        assert hits[cwe] / totals[cwe] >= floor, (cwe, hits[cwe], totals[cwe])
    assert false_alarms <= 3
