"""realcode.judge: the trusted side. Builds sandbox jobs from test groups and turns results into verdicts.

```python
from realcode.judge import judge_many, dynamic_security_many
verdicts = judge_many(tasks, codes)                 # FunctionalVerdict per (task, code); code None = no code
security = dynamic_security_many(tasks, codes)      # SecCodePLT safety tests, SafeSQL attack replay
```
"""

from realcode.judge.compare import exception_matches, stdout_equal, values_equal
from realcode.judge.dynamic import (
    applicable as dynamic_security_applicable,
)
from realcode.judge.dynamic import (
    dynamic_security,
    dynamic_security_many,
    security_from_functional,
)
from realcode.judge.functional import judge, judge_many, selected_groups
from realcode.judge.verdict import (
    AttackResult,
    DynamicSecurityVerdict,
    FunctionalVerdict,
    GroupResult,
    Stage,
    TestResult,
)

__all__ = [
    "AttackResult",
    "DynamicSecurityVerdict",
    "FunctionalVerdict",
    "GroupResult",
    "Stage",
    "TestResult",
    "dynamic_security",
    "dynamic_security_applicable",
    "dynamic_security_many",
    "exception_matches",
    "judge",
    "judge_many",
    "security_from_functional",
    "selected_groups",
    "stdout_equal",
    "values_equal",
]
