"""``scan_code`` returns on pathological input: deep nesting, 10,000-line files, huge literals, binary junk.

No timing assertions: the generous per-test timeout is the only clock (timing lives in ``realcode bench``).
"""

from __future__ import annotations

import pytest

from realcode.analysis.findings import Finding
from realcode.analysis.security import scan_code

pytestmark = pytest.mark.timeout(120)


def _rules(findings: list[Finding]) -> set[str]:
    return {f.rule_id for f in findings}


def test_deeply_nested_blocks() -> None:
    depth = 90  # CPython's parser limit is 100 nested blocks
    lines = ["def deep(cmd):"]
    for i in range(depth):
        lines.append("    " * (i + 1) + f"if cmd != {i}:")
    lines.append("    " * (depth + 1) + "import os; os.system(cmd)")
    findings = scan_code("\n".join(lines) + "\n")
    assert "RC-SYNTAX" not in _rules(findings)
    assert any(f.cwe in {"CWE-78", "CWE-77"} for f in findings), findings


def test_deeply_nested_expressions_do_not_raise() -> None:
    code = "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n"
    findings = scan_code(code)
    assert _rules(findings) <= {"RC-SYNTAX", "RC-BUDGET"} and findings


def test_ten_thousand_line_file() -> None:
    body = []
    for i in range(2500):
        body += [f"def f{i}(a, b):", f"    c = a + b + {i}", "    return [c, str(c)]", ""]
    body += ["import hashlib", "def pick(name, data):", "    return hashlib.new(name, data)"]
    code = "\n".join(body) + "\n"
    assert code.count("\n") >= 10_000
    findings = scan_code(code, entry="pick")
    # the flow is found, or the scan says it stopped early: never silently dropped
    assert "RC-CRYPTO-006" in _rules(findings) or "RC-BUDGET" in _rules(findings)


def test_huge_literals() -> None:
    big = "x" * 1_000_000
    code = f"import re\nPATTERN = re.compile({big!r})\nDATA = {list(range(20000))!r}\n"
    findings = scan_code(code)
    assert "RC-SYNTAX" not in _rules(findings)
    too_big = "s = '" + "y" * 3_000_000 + "'\n"
    assert _rules(scan_code(too_big)) == {"RC-BUDGET"}


def test_pathological_regex_literal_is_analysed_in_bounded_time() -> None:
    pattern = "(" * 90 + "a+" + ")+" * 90
    findings = scan_code(f"import re\nre.match(r'{pattern}', 'x')\n")
    assert "RC-REDOS-001" in _rules(findings)


@pytest.mark.parametrize(
    "junk",
    ["\x00\x01\x02", "def f(:", "\ufeffprint('bom')\n", "x = '''unterminated", "\t\tindent\n  mixed\n", ""],
)
def test_junk_never_raises(junk: str) -> None:
    findings = scan_code(junk)
    assert all(isinstance(f, Finding) for f in findings)
