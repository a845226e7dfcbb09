"""realcode.analysis.security: a taint analyzer for Python with one rule module per CWE family.

``scan_code(code, entry=..., sources=...)`` returns findings; rules see the module through
:class:`~realcode.analysis.security.context.AnalysisContext` and register in
:mod:`realcode.analysis.security.rules`.
"""

from realcode.analysis.security.api import check_sources, scan_code
from realcode.analysis.security.context import AnalysisContext
from realcode.analysis.security.engine.models import DEFAULT_SOURCES, KINDS, SOURCE_KINDS
from realcode.analysis.security.engine.taint import Taint

__all__ = [
    "DEFAULT_SOURCES",
    "KINDS",
    "SOURCE_KINDS",
    "AnalysisContext",
    "Taint",
    "check_sources",
    "scan_code",
]
