"""Assessment: one verdict per (task, completion), from which rewards and metrics are both computed.

>>> from realcode.assess import assess
>>> [a] = assess([task], ["```python\\ndef f(x):\\n    return x\\n```"])  # doctest: +SKIP
"""

from realcode.assess.cache import AssessmentCache
from realcode.assess.model import (
    CHECKS,
    DEFAULT_CHECKS,
    Assessment,
    CheckName,
    Extraction,
    GuardSignals,
    MaintainabilityResult,
    SecurityResult,
)
from realcode.assess.runner import Backends, analyzer_versions, assess, checks_for, default_cache

__all__ = [
    "CHECKS",
    "DEFAULT_CHECKS",
    "Assessment",
    "AssessmentCache",
    "Backends",
    "CheckName",
    "Extraction",
    "GuardSignals",
    "MaintainabilityResult",
    "SecurityResult",
    "analyzer_versions",
    "assess",
    "checks_for",
    "default_cache",
]
