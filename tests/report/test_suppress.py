"""``# realcode: ignore`` suppressions applied to real scans."""

from __future__ import annotations

from realcode.analysis.security import scan_code
from realcode.analysis.suppress import apply_suppressions, parse_suppressions

CODE = """\
import os

os.chmod("/srv/a", 0o777)
os.chmod("/srv/b", 0o777)  # realcode: ignore
os.chmod("/srv/c", 0o777)  # realcode: ignore[RC-PERM-001]
os.chmod("/srv/d", 0o777)  # realcode: ignore[cwe-732]
os.chmod("/srv/e", 0o777)  # realcode: ignore[RC-SQLI-001]
os.chmod("/srv/f", 0o777)  # noqa  # realcode: ignore[CWE-89, RC-PERM-001]
text = "# realcode: ignore"; os.chmod("/srv/g", 0o777)
os.chmod(
    "/srv/h", 0o777
)  # realcode: ignore
"""


def _lines(code: str) -> list[int]:
    return sorted(f.location.line for f in apply_suppressions(scan_code(code), code))


def test_bare_and_targeted_suppressions() -> None:
    everything = sorted(f.location.line for f in scan_code(CODE))
    assert everything == [3, 4, 5, 6, 7, 8, 9, 10]
    # 4 bare, 5 by rule id, 6 by CWE (case-insensitive), 8 in a list; 7 names another rule; 9's marker is
    # inside a string; 10's statement ends on the commented line 12.
    assert _lines(CODE) == [3, 7, 9]


def test_parse_suppressions() -> None:
    parsed = parse_suppressions(CODE)
    assert parsed[4] == frozenset({"*"})
    assert parsed[5] == frozenset({"RC-PERM-001"})
    assert parsed[8] == frozenset({"CWE-89", "RC-PERM-001"})
    assert 9 not in parsed


def test_code_that_does_not_tokenize_still_honours_comments() -> None:
    code = 'def f(:\n    pass  # realcode: ignore\n"""unterminated\n'
    assert parse_suppressions(code) == {2: frozenset({"*"})}
    findings = scan_code(code)
    assert [f.rule_id for f in findings] == ["RC-SYNTAX"]
    assert apply_suppressions(findings, code) == findings


def test_no_directive_returns_findings_unchanged() -> None:
    code = 'import os\nos.chmod("/x", 0o777)\n'
    findings = scan_code(code)
    assert apply_suppressions(findings, code) == findings
