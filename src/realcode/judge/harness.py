"""Per-benchmark harness conventions, kept in one place so that each is visible and documented.

These reproduce what the benchmarks' own evaluation harnesses (REAL's ``verl/utils/reward_score``) do around
a candidate, not anything about individual tasks.
"""

from __future__ import annotations

import ast

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

_PRELUDES: dict[Benchmark, str] = {Benchmark.APPS_PLUS: APPS_PRELUDE}

# REAL's SafeSQL harness compares printed rows case-insensitively with spaces and newlines removed.
_STDOUT_MODES: dict[Benchmark, StdoutMode] = {Benchmark.SAFESQL: "fuzzy"}


def prelude(task: Task) -> str:
    """Code the benchmark's harness runs before the task's set-up and the candidate."""
    return _PRELUDES.get(task.benchmark, "")


def stdout_mode(task: Task) -> StdoutMode:
    """How the benchmark's harness compares program output."""
    return _STDOUT_MODES.get(task.benchmark, "tokens")


def module_source(task: Task, code: str) -> str:
    """The module the sandbox runs: harness prelude, task set-up, candidate."""
    return prelude(task) + task.program(code)


def input_prompts(code: str) -> list[str]:
    """The literal prompts of ``input("...")`` calls in ``code``, in source order.

    ``input(prompt)`` echoes the prompt to stdout; expected outputs were recorded without prompts, so REAL's
    harness removes them before comparing. The AST is used rather than REAL's regular expression so that
    escapes and concatenated literals are read as Python reads them.
    """
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
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
