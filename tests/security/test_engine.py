"""Tests of the taint engine, AnalysisContext and scan_code (robustness, propagation, guards, summaries)."""

from __future__ import annotations

import ast
import string
import textwrap
from pathlib import Path

import pytest

from realcode.analysis.findings import Finding
from realcode.analysis.security import DEFAULT_SOURCES, AnalysisContext, check_sources, scan_code
from realcode.analysis.security.engine.cfg import build_cfg
from realcode.analysis.security.engine.dataflow import Budget, ModuleAnalysis
from realcode.analysis.security.engine.guards import charset_kinds, probe_kinds


def cwes(code: str, **kw: object) -> set[tuple[int, str]]:
    findings = scan_code(textwrap.dedent(code), **kw)  # type: ignore[arg-type]
    return {(f.location.line, f.cwe or f.rule_id) for f in findings}


def context(
    code: str, entry: str | None = None, sources: frozenset[str] = DEFAULT_SOURCES
) -> AnalysisContext:
    code = textwrap.dedent(code)
    tree = ast.parse(code)
    analysis = ModuleAnalysis(tree, None, sources, entry, Budget())
    analysis.run()
    return AnalysisContext(code, tree, "<t>", entry, sources, analysis)


# -- never raises, bounded ------------------------------------------------------------------------------------
def test_syntax_error_is_a_finding() -> None:
    findings = scan_code("def f(:\n    pass\n")
    assert [f.rule_id for f in findings] == ["RC-SYNTAX"]
    assert findings[0].cwe is None and findings[0].location.line == 1


@pytest.mark.parametrize("bad", [None, 42, b"import os"])
def test_non_text_input_is_a_finding(bad: object) -> None:
    findings = scan_code(bad)  # type: ignore[arg-type]
    assert [f.rule_id for f in findings] == ["RC-SYNTAX"]


def test_sources_as_comma_separated_text() -> None:
    assert check_sources("params, web") == {"params", "web"}


def test_unknown_source_kind_is_named() -> None:
    with pytest.raises(ValueError, match="'cookies'"):
        check_sources(["params", "cookies"])
    findings = scan_code("x = 1\n", sources=["cookies"])
    assert findings[0].rule_id == "RC-SYNTAX" and "cookies" in findings[0].message


def test_deeply_nested_expression_does_not_raise() -> None:
    code = "def f(x):\n    return " + "(" * 500 + "x" + ")" * 500 + "\n"
    assert isinstance(scan_code(code), list)
    code = "def f(x):\n    return " + "[" * 3000 + "x" + "]" * 3000 + "\n"
    assert isinstance(scan_code(code), list)


def test_deeply_nested_blocks_are_analyzed() -> None:
    body = ""
    for depth in range(60):
        body += "    " * (depth + 1) + f"if x{depth}:\n"
    body += "    " * 61 + "eval(x)\n"
    code = "def f(x, " + ", ".join(f"x{i}" for i in range(60)) + "):\n" + body
    assert (62, "CWE-95") in cwes(code)


def test_ten_thousand_lines() -> None:
    lines = ["import os"]
    for i in range(2_500):
        lines += [f"def f{i}(a):", "    v = 'ls ' + a", "    w = v.strip()", "    return w"]
    lines += ["def g(a):", "    os.system('ls ' + a)"]
    assert cwes("\n".join(lines) + "\n") == {(10_003, "CWE-78")}


def test_ten_thousand_line_function_is_cut_short_with_a_note() -> None:
    lines = ["import os", "def f(a):"]
    lines += [f"    v{i} = a + '{i}'" for i in range(10_000)]
    lines += ["    os.system('ls ' + v9999)"]
    found = cwes("\n".join(lines) + "\n", cpu_budget=0.5)
    assert found <= {(10_003, "CWE-78"), (1, "RC-BUDGET")} and found


def test_huge_literal() -> None:
    code = "def f(x):\n    s = '" + "a" * 1_000_000 + "'\n    return eval(x + s)\n"
    assert (3, "CWE-95") in cwes(code)


def test_oversized_source_is_reported_not_scanned() -> None:
    findings = scan_code("x = 1\n" * 400_000)
    assert [f.rule_id for f in findings] == ["RC-BUDGET"]


def test_standard_library_modules_scan_without_errors() -> None:
    """Real, varied code (match statements, nested scopes, generators, decorators) never raises."""
    lib = Path(ast.__file__).parent
    files = sorted(lib.glob("*.py"))[::12][:25]
    assert len(files) >= 10
    for f in files:
        findings = scan_code(f.read_text(errors="ignore"), path=str(f))
        assert all(isinstance(x, Finding) for x in findings)
        assert not any(x.rule_id == "RC-SYNTAX" for x in findings), f


def test_recursive_functions_terminate() -> None:
    code = """
    def f(x, n):
        if n:
            return g(x, n - 1)
        return x
    def g(x, n):
        return f(x + "!", n)
    def h(x):
        eval(f(x, 3))
    """
    assert (9, "CWE-95") in cwes(code)


# -- sources -----------------------------------------------------------------------------------------------------
def test_entry_limits_parameter_sources() -> None:
    code = """
    import os
    def entry(a):
        os.system("ls " + a)
    def other(b):
        os.system("ls " + b)
    """
    assert cwes(code, entry="entry") == {(4, "CWE-78")}
    assert cwes(code) == {(4, "CWE-78"), (6, "CWE-78")}


def test_missing_entry_falls_back_to_all_public_functions() -> None:
    code = "import os\ndef renamed(a):\n    os.system('ls ' + a)\n"
    assert cwes(code, entry="expected_name") == {(3, "CWE-78")}


@pytest.mark.parametrize(
    ("expr", "kind"),
    [("input()", "input"), ("sys.argv[1]", "argv"), ("os.environ['X']", "env"), ("os.getenv('X')", "env")],
)
def test_source_kinds(expr: str, kind: str) -> None:
    code = f"import os, sys\nv = {expr}\nos.system('ls ' + v)\n"
    assert (3, "CWE-78") in cwes(code, sources=[kind])
    assert cwes(code, sources=["params"]) == set()


def test_flask_request_is_a_web_source() -> None:
    code = """
    from flask import request
    def view():
        return eval(request.args["q"])
    """
    assert (4, "CWE-95") in cwes(code, sources=["web"])
    assert cwes(code, sources=["params"]) == set()


def test_files_source() -> None:
    code = "import pickle\nwith open('cache.bin', 'rb') as fh:\n    obj = pickle.loads(fh.read())\n"
    assert (3, "CWE-502") in cwes(code, sources=["files"])
    assert cwes(code, sources=["params"]) == set()


# -- propagation -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "build",
    [
        "q = 'ls ' + a",
        "q = f'ls {a}'",
        "q = 'ls %s' % a",
        "q = 'ls {}'.format(a)",
        "q = ' '.join(['ls', a])",
        "x, y = a, 1\n    q = 'ls ' + x",
        "q = 'ls '\n    q += a",
        "parts = ['ls']\n    parts.append(a)\n    q = ' '.join(parts)",
        "d = {}\n    d['k'] = a\n    q = 'ls ' + d['k']",
        "q = 'ls ' + a.strip().lower()",
        "q = 'ls ' + str(a)",
        "q = 'ls ' + [v for v in [a]][0]",
        "if (q := 'ls ' + a):\n        pass",
        "q = 'ls ' + (a if a else 'x')",
        "q = 'ls ' + os.path.join('/tmp', a)",
    ],
)
def test_propagation(build: str) -> None:
    code = f"import os\ndef f(a):\n    {build}\n    os.system(q)\n"
    found = cwes(code)
    assert any(cwe in ("CWE-78", "CWE-77") for _, cwe in found), found


@pytest.mark.parametrize(
    "clean",
    [
        "q = 'ls ' + shlex.quote(a)",
        "q = 'ls ' + str(int(a))",
        "q = 'ls ' + str(len(a))",
        "q = 'ls /tmp'",
        "a = 'x'\n    q = 'ls ' + a",
    ],
)
def test_sanitizers_and_overwrites(clean: str) -> None:
    code = f"import os, shlex\ndef f(a):\n    {clean}\n    os.system(q)\n"
    assert cwes(code) == set()


def test_call_summary_return_flow() -> None:
    code = """
    import os
    def wrap(s):
        return "echo " + s
    def f(a):
        os.system(wrap(a))
    """
    assert (6, "CWE-78") in cwes(code, entry="f")


def test_call_summary_sink_inside_callee_has_trace() -> None:
    code = """
    def run(expr):
        return eval(expr)
    def f(a):
        return run(a.strip())
    """
    findings = scan_code(textwrap.dedent(code), entry="f")
    assert [(x.location.line, x.cwe) for x in findings] == [(3, "CWE-95")]
    notes = [s.note for s in findings[0].trace]
    assert notes[0].startswith("parameter `a` of f()")
    assert any("passed to run()" in n for n in notes) and notes[-1] == "`eval` (sink)"


def test_method_summaries_via_self() -> None:
    code = """
    import subprocess
    class Runner:
        def _line(self, arg):
            return "grep " + arg
        def run(self, arg):
            return subprocess.check_output(self._line(arg), shell=True)
    """
    assert (7, "CWE-78") in cwes(code)


def test_closure_and_lambda() -> None:
    code = """
    def f(cond):
        check = lambda rec: eval(cond, rec)
        def inner():
            return eval(cond)
        return check, inner
    """
    assert {(3, "CWE-95"), (5, "CWE-95")} <= cwes(code)


# -- guards ------------------------------------------------------------------------------------------------------
ALLOW = "ALLOWED = {'ls', 'date'}\n"


@pytest.mark.parametrize(
    "guard",
    [
        "if a not in ALLOWED:\n        raise ValueError(a)",
        "if a != 'ls':\n        return None",
        "if not a.isalnum():\n        raise ValueError(a)",
        "if not re.fullmatch(r'[a-z]+', a):\n        raise ValueError(a)",
        "if re.match(r'^[a-z]+$', a) is None:\n        raise ValueError(a)",
        "if not all(c in 'abcdef' for c in a):\n        raise ValueError(a)",
        "if any(c not in 'abcdef' for c in a):\n        raise ValueError(a)",
        "assert a in ALLOWED",
        "m = re.fullmatch(r'\\w+', a)\n    if not m:\n        raise ValueError(a)",
        "if not (a in ALLOWED and len(a) < 5):\n        raise ValueError(a)",
    ],
)
def test_barrier_guards(guard: str) -> None:
    code = f"import os, re\n{ALLOW}def f(a):\n    {guard}\n    os.system('ls ' + a)\n"
    assert cwes(code) == set(), code


@pytest.mark.parametrize(
    "weak",
    [
        "if a in ALLOWED:\n        print(a)",  # does not dominate the sink
        "if ';' in a:\n        raise ValueError(a)",  # deny-list, not allow-list
        "if not re.match(r'[a-z]+', a):\n        raise ValueError(a)",  # prefix match only
        "if not re.fullmatch(r'[a-z;|&$ ]+', a):\n        raise ValueError(a)",  # admits shell metacharacters
        "if a in ALLOWED or a.startswith('x'):\n        pass\n    else:\n        raise ValueError(a)",
        "b = a.split()[0]\n    if b not in ALLOWED:\n        raise ValueError(a)",  # checks a part, uses the whole
    ],
)
def test_weak_or_misplaced_guards_do_not_protect(weak: str) -> None:
    code = f"import os, re\n{ALLOW}def f(a):\n    {weak}\n    os.system('ls ' + a)\n"
    assert any(cwe == "CWE-78" for _, cwe in cwes(code)), code


def test_positive_guard_form() -> None:
    code = f"import os\n{ALLOW}def f(a):\n    if a in ALLOWED:\n        os.system('ls ' + a)\n    os.system('ls ' + a)\n"
    assert cwes(code) == {(6, "CWE-78")}


def test_probe_kinds_are_per_attack() -> None:
    assert "shell" in probe_kinds(r"[\w./]+", 0)
    assert "path" not in probe_kinds(r"[\w./]+", 0)
    assert "code" in probe_kinds(r"[0-9+\-*/(). ]+", 0)
    assert "sql" not in charset_kinds(string.ascii_letters + string.digits + "' =")
    assert "sql" in charset_kinds(string.ascii_letters)
    assert probe_kinds("(", 0) == frozenset()


# -- context API -------------------------------------------------------------------------------------------------
def test_qualified_names_resolve_aliases() -> None:
    ctx = context("from os import system as s\nimport subprocess as sp\ns('x')\nsp.run('y')\n")
    names = [ctx.qualified_name(c) for c in ctx.calls()]
    assert names == ["os.system", "subprocess.run"]


def test_taint_of_and_state_at() -> None:
    ctx = context("def f(a, b):\n    x = a + 'k'\n    y = b\n    y = 'c'\n    return x, y\n", entry="f")
    ret = ctx.nodes_of(ast.Return)[0]
    assert ret.value is not None
    x_node, y_node = ret.value.elts  # type: ignore[attr-defined]
    assert ctx.is_tainted(x_node) and not ctx.is_tainted(y_node)
    taint = ctx.taint_of(x_node)
    assert taint is not None and taint.origins == {"param:f.a"}
    assert set(ctx.state_at(ret)) == {"a", "b", "x"}


def test_dominance_and_guards_for() -> None:
    code = """
    def f(a):
        if a not in ("x", "y"):
            raise ValueError(a)
        first = 1
        if a == "x":
            second = 2
        return first
    """
    ctx = context(code, entry="f")
    assigns = {s.targets[0].id: s for s in ctx.nodes_of(ast.Assign)}  # type: ignore[attr-defined]
    ret = ctx.nodes_of(ast.Return)[0]
    assert ctx.dominates(assigns["first"], ret)
    assert not ctx.dominates(assigns["second"], ret)
    tests = [(ast.unparse(t), outcome) for t, outcome in ctx.guards_for(assigns["second"])]
    assert tests == [("a not in ('x', 'y')", False), ("a == 'x'", True)]
    assert ctx.refinement(*ctx.guards_for(ret)[0]) == {"a": ctx.refinement(*ctx.guards_for(ret)[0])["a"]}


def test_cfg_shapes() -> None:
    tree = ast.parse("for i in x:\n    if i:\n        break\n    continue\nelse:\n    y = 1\nz = 2\n")
    cfg = build_cfg(tree, tree.body)
    z = tree.body[1]
    y = tree.body[0].orelse[0]  # type: ignore[attr-defined]
    assert cfg.dominates(tree.body[0], z)
    assert not cfg.dominates(y, z)  # break skips the else


def test_select_and_ignore() -> None:
    code = "import os\ndef f(a):\n    os.system('ls ' + a)\n    eval(a)\n"
    assert {c for _, c in cwes(code, select=["CWE-95"])} == {"CWE-95"}
    assert {c for _, c in cwes(code, ignore=["RC-CODE-001"])} == {"CWE-78"}


def test_findings_are_deterministic() -> None:
    code = "import os\ndef f(a, b):\n    os.system('ls ' + a + b)\n    eval(b)\n"
    assert scan_code(code) == scan_code(code)
