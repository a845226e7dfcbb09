"""One parametrized inline-expectation test over every fixture file in ``tests/security/fixtures``.

In a fixture, ``# expect: CWE-89`` (or ``# expect: CWE-78, CWE-77``) on a line means the analyzer must report
exactly those CWEs on that line; ``# ok`` means it must report nothing there; any finding on any other line is
spurious too. A first-line comment ``# entry: fname`` scans with that entry function (default: the parameters of
every public function are sources); ``# sources: params,web`` chooses the source kinds.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from realcode.analysis.security import DEFAULT_SOURCES, scan_code

FIXTURES = Path(__file__).parent / "fixtures"
FILES = sorted(FIXTURES.rglob("*.py"))
_EXPECT = re.compile(r"#\s*expect:\s*([A-Za-z0-9_,\- ]+)")
_OK = re.compile(r"#\s*ok\b")


def parse_expectations(text: str) -> tuple[dict[int, set[str]], set[int]]:
    expected: dict[int, set[str]] = {}
    clean: set[int] = set()
    for i, line in enumerate(text.splitlines(), start=1):
        m = _EXPECT.search(line)
        if m:
            expected[i] = {c.strip().upper() for c in m.group(1).split(",") if c.strip()}
        elif _OK.search(line):
            clean.add(i)
    return expected, clean


def scan_options(text: str) -> tuple[str | None, frozenset[str]]:
    entry: str | None = None
    sources = DEFAULT_SOURCES
    for line in text.splitlines()[:3]:
        m = re.match(r"#\s*entry:\s*(\w+)", line)
        if m:
            entry = m.group(1)
        m = re.match(r"#\s*sources:\s*([\w, ]+)", line)
        if m:
            sources = frozenset(s.strip() for s in m.group(1).split(",") if s.strip())
    return entry, sources


def test_fixtures_exist() -> None:
    assert FILES, f"no fixtures under {FIXTURES}"


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(FIXTURES)) for p in FILES])
def test_fixture(path: Path) -> None:
    text = path.read_text()
    expected, clean = parse_expectations(text)
    assert expected or clean, f"{path.name}: no `# expect:` or `# ok` lines"
    entry, sources = scan_options(text)
    findings = scan_code(text, entry=entry, sources=sources, path=str(path))
    actual: dict[int, set[str]] = {}
    for f in findings:
        actual.setdefault(f.location.line, set()).add(f.cwe or f.rule_id)
    problems: list[str] = []
    lines = text.splitlines()
    for line in sorted(set(expected) | set(actual)):
        want, got = expected.get(line, set()), actual.get(line, set())
        if want != got:
            src = lines[line - 1].strip() if line <= len(lines) else ""
            missing, extra = sorted(want - got), sorted(got - want)
            detail = ", ".join([*(f"missing {c}" for c in missing), *(f"spurious {c}" for c in extra)])
            problems.append(f"  line {line}: {detail}\n      {src}")
    if problems:
        shown = "\n".join(f"    {f.location.line}: {f.rule_id} {f.cwe} {f.message}" for f in findings)
        pytest.fail(f"{path.name}:\n" + "\n".join(problems) + "\n  all findings:\n" + shown)
