"""Per-benchmark harness conventions, kept in one place so that each is visible and documented.

These reproduce what the benchmarks' own evaluation harnesses (REAL's ``verl/utils/reward_score``) do around
a candidate, not anything about individual tasks.
"""

from __future__ import annotations

import ast
import warnings

from realcode.judge.compare import StdoutMode
from realcode.tasks.model import Benchmark, Task

# REAL's APPS+ harness (``leetcode_utils.run_template_*``) runs every candidate after these imports, so
# LeetCode-style solutions that use ``List`` or ``Counter`` without importing them pass there.
APPS_PRELUDE = (
    "from typing import *\n"
    "import collections\n"
    "import math\n"
    "import heapq\n"
    "from collections import Counter\n"
    "from math import ceil\n"
)

# REAL's SafeSQL harness (``sql_utils.add_imports``) adds ``import sqlite3`` to programs that lack it.
SAFESQL_PRELUDE = "import sqlite3\n"

_PRELUDES: dict[Benchmark, str] = {Benchmark.APPS_PLUS: APPS_PRELUDE, Benchmark.SAFESQL: SAFESQL_PRELUDE}

# REAL's SafeSQL harness compares printed rows case-insensitively with spaces and newlines removed.
_STDOUT_MODES: dict[Benchmark, StdoutMode] = {Benchmark.SAFESQL: "fuzzy"}


def prelude(task: Task) -> str:
    """Code the benchmark's harness runs before the task's set-up and the candidate."""
    return _PRELUDES.get(task.benchmark, "")


def stdout_mode(task: Task) -> StdoutMode:
    """How the benchmark's harness compares program output."""
    return _STDOUT_MODES.get(task.benchmark, "tokens")


def module_source(task: Task, code: str) -> str:
    """The module the sandbox runs: harness prelude, task set-up, candidate.

    The candidate's ``from __future__`` imports (and a docstring before them) move to the top, where Python
    requires them; REAL's harnesses put their imports first and break such programs, which says nothing
    about the program.
    """
    head, body = split_future_imports(code)
    return head + prelude(task) + task.program(body)


def split_future_imports(code: str) -> tuple[str, str]:
    """``code`` as (leading docstring and ``from __future__`` imports, the rest); ("", code) without them."""
    tree = _parse(code)
    if tree is None:
        return "", code
    last = 0
    for i, node in enumerate(tree.body):
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            last = node.end_lineno or node.lineno
        elif not (i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            break
    if last == 0:
        return "", code
    lines = code.splitlines(keepends=True)
    head = "".join(lines[:last])
    return (head if head.endswith("\n") else head + "\n"), "".join(lines[last:])


def input_prompts(code: str) -> list[str]:
    """The literal prompts of ``input("...")`` calls in ``code``, in source order.

    ``input(prompt)`` echoes the prompt to stdout; expected outputs were recorded without prompts, so REAL's
    harness removes them before comparing. The AST is used rather than REAL's regular expression so that
    escapes and concatenated literals are read as Python reads them.
    """
    tree = _parse(code)
    if tree is None:
        return []
    found: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "input"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.col_offset, node.args[0].value))
    return [p for _, _, p in sorted(found)]


def _parse(code: str) -> ast.Module | None:
    """The candidate's AST, without its own warnings (invalid escapes) leaking into ours."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
