"""Cyclomatic complexity and maintainability index, from radon.

Complexity is measured per function and method (classes are not blocks of control flow). The maintainability
index is radon's multi-line-string-as-comment variant, on 0..100 (above 20 is radon's "A", easy to maintain).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from radon.complexity import cc_rank, cc_visit
from radon.metrics import mi_visit
from radon.visitors import Function

COMPLEXITY_LIMIT = 10  # McCabe's own threshold, also ruff's C901 default


@dataclass(frozen=True)
class ComplexBlock:
    """A function whose cyclomatic complexity passes ``COMPLEXITY_LIMIT``."""

    name: str
    line: int
    column: int  # 1-based
    complexity: int
    rank: str  # radon's letter, A (simple) .. F (unmaintainable)


@dataclass
class ComplexityStats:
    """Complexity figures for one snippet."""

    max_complexity: int = 0
    mean_complexity: float = 0.0
    functions: int = 0
    maintainability_index: float = 100.0
    too_complex: list[ComplexBlock] = field(default_factory=list)

    @property
    def complexity_score(self) -> float:
        """1.0 up to the limit, falling linearly to 0 at three times the limit."""
        over = self.max_complexity - COMPLEXITY_LIMIT
        if over <= 0:
            return 1.0
        return max(0.0, 1.0 - over / (2 * COMPLEXITY_LIMIT))


def complexity_stats(code: str) -> ComplexityStats:
    """radon's figures for code that parses (radon raises SyntaxError otherwise)."""
    blocks = [b for b in cc_visit(code) if isinstance(b, Function)]
    stats = ComplexityStats(maintainability_index=float(mi_visit(code, multi=True)))
    if blocks:
        values = [b.complexity for b in blocks]
        stats.functions = len(blocks)
        stats.max_complexity = max(values)
        stats.mean_complexity = sum(values) / len(values)
        stats.too_complex = [
            ComplexBlock(b.fullname, b.lineno, b.col_offset + 1, b.complexity, cc_rank(b.complexity))
            for b in blocks
            if b.complexity > COMPLEXITY_LIMIT
        ]
    return stats
