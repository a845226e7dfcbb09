"""Lint with ruff: one ruff process over a whole batch, each snippet its own file.

Rule selection (``LINT_SELECT``), and why:

* ``E`` and ``W`` (pycodestyle), ``F`` (pyflakes): undefined names, unused imports and variables, invalid
  escapes, comparisons to ``None`` with ``==``: the defects every Python linter agrees on.
* ``B`` (bugbear): likely bugs, e.g. mutable default arguments, ``except:`` that hides ``KeyboardInterrupt``.
* ``SIM``, ``C4``: needlessly complex code (nested ifs, ``dict([...])``), which is what maintainability means.
* ``UP`` (pyupgrade), with the running interpreter as target: outdated idioms (``typing.List``).

Ignored (``LINT_IGNORE``): ``E501`` (line length is a house style, not a defect), ``W291``/``W292``/``W293``
(trailing whitespace and a missing final newline are artefacts of extracting code from a completion), and
``F403``/``F405`` (``from typing import *`` is REAL's own prelude convention). Complexity is measured with
radon (``complexity.py``), so mccabe's ``C90`` is not repeated here. ruff runs ``--isolated``: no
configuration file of the caller's may change the result.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_RULE_CODE = re.compile(r"[A-Z]+[0-9]+")
LINT_SELECT = ("E", "W", "F", "B", "SIM", "C4", "UP")
LINT_IGNORE = ("E501", "W291", "W292", "W293", "F403", "F405")


@dataclass(frozen=True)
class LintIssue:
    """One ruff diagnostic in one snippet."""

    line: int
    column: int  # 1-based
    code: str  # ruff rule code, e.g. "F841"; "syntax" for parse errors
    message: str
    end_line: int | None = None
    end_column: int | None = None


class LintUnavailable(RuntimeError):
    """ruff could not be run."""


def ruff_binary() -> str:
    """Path of the ruff executable shipped with the ``ruff`` package, or found on PATH."""
    try:
        from ruff.__main__ import find_ruff_bin

        return str(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("ruff")
        if found is None:
            raise LintUnavailable("ruff is not installed (pip install ruff)") from None
        return found


def _rule_code(code: object) -> str:
    # ruff reports parse errors without a rule code (or as "invalid-syntax", depending on version).
    if isinstance(code, str) and _RULE_CODE.fullmatch(code):
        return code
    return "syntax"


def _target_version() -> str:
    return f"py{sys.version_info[0]}{sys.version_info[1]}"


def run_lint(
    codes: Sequence[str], *, select: Sequence[str] = LINT_SELECT, ignore: Sequence[str] = LINT_IGNORE
) -> list[list[LintIssue]]:
    """Lint each snippet independently, in one ruff run; issues per snippet, in input order."""
    if not codes:
        return []
    with tempfile.TemporaryDirectory(prefix="rc-lint-") as tmp:
        paths = []
        for i, code in enumerate(codes):
            path = Path(tmp) / f"snippet_{i:05d}.py"
            path.write_bytes(code.encode("utf-8", "surrogatepass"))
            paths.append(path)
        cmd = [
            ruff_binary(),
            "check",
            "--isolated",
            "--no-cache",
            "--exit-zero",
            "--output-format",
            "json",
            "--target-version",
            _target_version(),
            "--select",
            ",".join(select),
        ]
        if ignore:
            cmd += ["--ignore", ",".join(ignore)]
        proc = subprocess.run([*cmd, tmp], capture_output=True, text=True, cwd=tmp, timeout=600)
        if proc.returncode != 0:
            raise LintUnavailable(f"ruff failed (status {proc.returncode}): {proc.stderr.strip()[-500:]}")
        index = {os.path.realpath(p): i for i, p in enumerate(paths)}
        out: list[list[LintIssue]] = [[] for _ in codes]
        for item in json.loads(proc.stdout or "[]"):
            where = index.get(os.path.realpath(item["filename"]))
            if where is None:
                continue
            loc = item.get("location") or {}
            end = item.get("end_location") or {}
            out[where].append(
                LintIssue(
                    line=int(loc.get("row", 1)),
                    column=int(loc.get("column", 1)),
                    code=_rule_code(item.get("code")),
                    message=str(item.get("message", "")),
                    end_line=end.get("row"),
                    end_column=end.get("column"),
                )
            )
    for issues in out:
        issues.sort(key=lambda x: (x.line, x.column, x.code))
    return out
