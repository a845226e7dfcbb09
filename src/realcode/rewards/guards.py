"""Reward-hacking guards: policies over the signals an :class:`~realcode.assess.Assessment` carries.

Each guard is switched on in the spec's :class:`~realcode.rewards.spec.GuardSpec` (all on in
``realcode-default``, all off in the paper presets, which reproduce the papers as published):

* ``quality_requires_function``: security, maintainability and dynamic-security credit only for code that runs
  and does the task, i.e. at least one functional test passed and the entry point is not a stub (``pass``,
  ``...``, ``raise NotImplementedError``, a constant return) unless the stub passes every test. REAL's own
  runs produced such stubs when trained on the detector alone: empty code is perfectly "secure".
  Without credit, a quality component is ``min(value, 0)``: penalties stay, bonuses go.
* ``tampering``: code that reaches into the interpreter, its tests or its clock (``sys.modules``,
  ``builtins``, ``gc``, frames, ``sys.settrace``, ``os._exit``, ``signal``, monkey-patching a module such
  as ``time``; see :func:`realcode.assess.signals.find_tampering`) gets ``tampering_reward`` as its total,
  whatever its tests said.
* ``hardcoded_examples``: a completion that maps the prompt's visible example inputs to their outputs
  (:func:`realcode.assess.signals.find_hardcoded_examples`) gets no credit: its total is ``min(total, 0)``.
* Multi-block and over-long answers (applied before scoring, in :mod:`realcode.rewards.scoring`): the code
  scored is the *last* python block (REAL's rule, :func:`realcode.tasks.extract_code`); with
  ``max_python_blocks`` set, an answer with more python blocks than that scores as no code (the format
  penalty), as does one whose code is longer than ``max_code_chars``, or (``unclosed_block_is_no_code``)
  one whose code block was cut off by the token limit.
"""

from __future__ import annotations

from realcode.assess.model import Assessment
from realcode.judge.verdict import Stage
from realcode.rewards.spec import ComponentName, RewardSpec, combine

_QUALITY: tuple[ComponentName, ...] = ("security", "maintainability", "dynamic")


def does_the_task(a: Assessment) -> tuple[bool, str]:
    """Whether the code runs and does (some of) the task, and why not."""
    v = a.functional
    if v is None:
        return True, ""  # no functional check ran: nothing to require
    if v.stage is Stage.PASSED:
        return True, ""
    groups = [g for g in v.groups.values() if not g.security]
    passed = sum(g.passed for g in groups) if groups else sum(t.passed for t in v.tests)
    if passed == 0:
        return False, f"no functional test passed (stage {v.stage.value})"
    if a.signals.stub:
        return False, f"stub: {a.signals.stub}"
    return True, ""


def apply_guards(
    a: Assessment, spec: RewardSpec, comps: dict[ComponentName, float | None]
) -> tuple[dict[ComponentName, float | None], list[str], float | None]:
    """Apply the spec's guards: new component values, the reasons guards fired, and a total override."""
    g = spec.guards
    notes: list[str] = []
    out = dict(comps)
    override: float | None = None
    if g.quality_requires_function:
        ok, why = does_the_task(a)
        if not ok:
            stripped = [c for c in _QUALITY if out.get(c) is not None and (out[c] or 0.0) > 0]
            for c in _QUALITY:
                value = out.get(c)
                if value is not None:
                    out[c] = min(value, 0.0)
            if stripped:
                notes.append(f"no quality credit ({', '.join(stripped)}): {why}")
    if g.hardcoded_examples and a.signals.hardcoded_examples:
        notes.append("hard-coded examples: " + "; ".join(a.signals.hardcoded_examples[:3]))
        total = combine(out, spec)
        override = min(total, 0.0) if total is not None else None
    if g.tampering and a.signals.tampering:
        notes.append("tampering: " + "; ".join(a.signals.tampering[:3]))
        override = g.tampering_reward
    return out, notes, override
