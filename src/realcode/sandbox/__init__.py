"""realcode.sandbox: run untrusted Python under limits and isolation, get plain data back.

>>> from realcode.sandbox import Sandbox, Job, Call
>>> with Sandbox(workers=2) as sandbox:                       # doctest: +SKIP
...     result = sandbox.run(Job(code="def f(x): return x * 2", calls=[Call(function="f", args=[21])]))
>>> result.calls[0].value                                      # doctest: +SKIP
42

The sandbox never compares anything: the judge decodes values with :func:`serialize.decode` and decides.
"""

from __future__ import annotations

from realcode.sandbox.api import Call, CallResult, ExitReason, Job, JobResult, Limits, RunResult
from realcode.sandbox.isolation import IsolationReport, SandboxUnavailable
from realcode.sandbox.pool import Sandbox, get_default_sandbox, prepare

__all__ = [
    "Call",
    "CallResult",
    "ExitReason",
    "IsolationReport",
    "Job",
    "JobResult",
    "Limits",
    "RunResult",
    "Sandbox",
    "SandboxUnavailable",
    "get_default_sandbox",
    "prepare",
]
