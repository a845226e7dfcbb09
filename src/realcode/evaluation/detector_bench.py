"""The detector benchmark: realcode, Bandit and ``ruff --select S`` on SecCodePLT's vulnerable/patched pairs.

Every SecCodePLT task ships a vulnerable and a patched solution. Each becomes one program, exactly as the
benchmark runs it: ``unittest.setup`` followed by ``code_before + body + code_after``. A detector should flag the
vulnerable program and stay quiet on the patched one. Two views:

* **any finding** (what a reward sees): a program is "flagged" when the detector reports anything at all;
  TP = flagged vulnerable, FN = unflagged vulnerable, FP = flagged patched, TN = unflagged patched.
* **right CWE**: only findings of the task's CWE count (or of a CWE below it in MITRE's hierarchy, see
  :data:`CWE_CHILDREN`); the headline is the macro-F1 over CWEs.

Figures are given for all rows and for REAL's test split, separately for the 17 tested CWEs (rows with unit
tests, ``use_rule`` false) and the 10 rule-based ones.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from realcode.evaluation.detectors_tools import DETECTORS, Detection, Program, ToolRun

if TYPE_CHECKING:
    from realcode.tasks.model import Task

Variant = Literal["vulnerable", "patched"]
VIEWS = ("any", "right_cwe")
SUBSETS = ("tested", "rule_based")
SPLITS = ("all", "test")

# Descendants of a CWE in MITRE's research view (CWE-1000), limited to the CWEs these detectors report. A
# finding of a descendant is a finding of its ancestor's weakness (an OS command injection is an injection).
# CWE-117 (log neutralization) sits under CWE-116, not CWE-74, and CWE-95 under CWE-94, not CWE-77.
CWE_CHILDREN: dict[str, frozenset[str]] = {
    "CWE-74": frozenset(
        {
            "CWE-77",
            "CWE-78",
            "CWE-79",
            "CWE-88",
            "CWE-89",
            "CWE-91",
            "CWE-94",
            "CWE-95",
            "CWE-113",
            "CWE-643",
            "CWE-917",
            "CWE-943",
            "CWE-1236",
        }
    ),
    "CWE-77": frozenset({"CWE-78", "CWE-88"}),
    "CWE-94": frozenset({"CWE-95"}),
    "CWE-327": frozenset({"CWE-328"}),
    "CWE-400": frozenset({"CWE-770", "CWE-1333"}),
    "CWE-732": frozenset({"CWE-281"}),
    "CWE-22": frozenset({"CWE-23", "CWE-36"}),
    "CWE-200": frozenset({"CWE-209", "CWE-532", "CWE-497"}),
    "CWE-330": frozenset({"CWE-338"}),
    "CWE-295": frozenset({"CWE-297"}),
}


def cwe_matches(task_cwe: str, found: str | None) -> bool:
    """Whether a finding of CWE ``found`` is a finding of the task's weakness ``task_cwe``."""
    return found is not None and (found == task_cwe or found in CWE_CHILDREN.get(task_cwe, frozenset()))


@dataclass(frozen=True)
class Sample:
    """One program of the benchmark: a task's vulnerable or patched solution, with its set-up."""

    task_id: str
    cwe: str  # "CWE-327"
    tested: bool  # the row has unit tests (one of the 17 tested CWEs); else it is rule-based
    split: str  # REAL's split ("train"/"test"), or "rule" for rule-based rows
    entry: str
    variant: Variant
    code: str

    @property
    def vulnerable(self) -> bool:
        return self.variant == "vulnerable"


def load_samples(
    data: str | Path | None = None, limit: int | None = None, cwes: Iterable[str] = ()
) -> list[Sample]:
    """The 2 x 1,345 SecCodePLT programs; ``cwes``: only tasks of these CWEs (``"327"`` or ``"CWE-327"``),
    ``limit``: only the first N of those tasks, for a quick look."""
    wanted = {c.upper() if c.upper().startswith("CWE-") else f"CWE-{c}" for c in cwes}
    tasks = list(_seccodeplt_tasks(str(data) if data is not None else None))
    if wanted:
        tasks = [t for t in tasks if t.cwe and t.cwe[0] in wanted]
    if limit is not None:
        tasks = tasks[:limit]
    out: list[Sample] = []
    for task in tasks:
        tested = not bool(task.metadata.get("use_rule"))
        for variant in ("vulnerable", "patched"):
            body = task.reference(variant)  # type: ignore[arg-type]
            if body is None:
                continue
            setup = task.setup if not task.setup or task.setup.endswith("\n") else task.setup + "\n"
            out.append(
                Sample(
                    task_id=task.id,
                    cwe=task.cwe[0] if task.cwe else "CWE-unknown",
                    tested=tested,
                    split=task.split,
                    entry=task.entry.name or "",
                    variant=variant,  # type: ignore[arg-type]
                    code=setup + body,
                )
            )
    return out


@lru_cache(maxsize=2)
def _seccodeplt_tasks(data: str | None) -> tuple[Task, ...]:
    """All SecCodePLT tasks, read once per process (the benchmark and its tests slice them repeatedly)."""
    from realcode.tasks.loaders import load_tasks

    return tuple(load_tasks("seccodeplt", data=data))


@dataclass
class Confusion:
    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0

    def add(self, vulnerable: bool, flagged: bool) -> None:
        if vulnerable:
            if flagged:
                self.tp += 1
            else:
                self.fn += 1
        elif flagged:
            self.fp += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def fpr(self) -> float:
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "tn": self.tn,
            "fn": self.fn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "fpr": round(self.fpr, 4),
        }


@dataclass
class ViewResult:
    overall: Confusion = field(default_factory=Confusion)
    per_cwe: dict[str, Confusion] = field(default_factory=dict)

    @property
    def macro_f1(self) -> float:
        return statistics.fmean(c.f1 for c in self.per_cwe.values()) if self.per_cwe else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall.as_dict(),
            "macro_f1": round(self.macro_f1, 4),
            "per_cwe": {k: self.per_cwe[k].as_dict() for k in sorted(self.per_cwe, key=_cwe_key)},
        }


def _cwe_key(cwe: str) -> tuple[int, str]:
    num = cwe.removeprefix("CWE-")
    return (int(num), cwe) if num.isdigit() else (10**9, cwe)


def flagged(sample: Sample, det: Detection, view: str) -> bool:
    """Whether ``det`` counts as flagging ``sample`` in ``view``."""
    if view == "any":
        return det.flagged
    return any(cwe_matches(sample.cwe, c) for c in det.cwes)


def score(
    samples: Sequence[Sample], detections: Sequence[Detection]
) -> dict[str, dict[str, dict[str, ViewResult]]]:
    """Confusion tables indexed ``[subset][split][view]``."""
    out: dict[str, dict[str, dict[str, ViewResult]]] = {
        sub: {sp: {v: ViewResult() for v in VIEWS} for sp in SPLITS} for sub in SUBSETS
    }
    for sample, det in zip(samples, detections, strict=True):
        sub = "tested" if sample.tested else "rule_based"
        splits = ["all"] + (["test"] if sample.split == "test" else [])
        for sp in splits:
            for view in VIEWS:
                res = out[sub][sp][view]
                hit = flagged(sample, det, view)
                res.overall.add(sample.vulnerable, hit)
                res.per_cwe.setdefault(sample.cwe, Confusion()).add(sample.vulnerable, hit)
    return out


@dataclass
class ToolReport:
    name: str
    run: ToolRun
    tables: dict[str, dict[str, dict[str, ViewResult]]]
    repeat_medians: list[float] = field(default_factory=list)  # median CPU ms of each repeated run

    @staticmethod
    def median_of(run: ToolRun) -> float | None:
        times = [d.cpu_ms for d in run.detections if d.cpu_ms is not None]
        return statistics.median(times) if times else None

    @property
    def cpu_ms_median(self) -> float | None:
        """Median CPU ms per snippet; with repeated runs, the median of the runs' medians."""
        if self.repeat_medians:
            return statistics.median(self.repeat_medians)
        return self.median_of(self.run)

    @property
    def cpu_ms_p95(self) -> float | None:
        times = sorted(d.cpu_ms for d in self.run.detections if d.cpu_ms is not None)
        return times[min(len(times) - 1, int(0.95 * len(times)))] if times else None

    @property
    def errors(self) -> int:
        return sum(1 for d in self.run.detections if d.error)

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.run.version,
            "timing": self.run.timing,
            "cpu_ms_median": _round(self.cpu_ms_median),
            "cpu_ms_median_per_run": [_round(m) for m in self.repeat_medians]
            or [_round(self.median_of(self.run))],
            "cpu_ms_p95": _round(self.cpu_ms_p95),
            "batch_cpu_ms": _round(self.run.batch_cpu_ms),
            "errors": self.errors,
            "notes": self.run.notes,
            "results": {
                sub: {sp: {v: self.tables[sub][sp][v].as_dict() for v in VIEWS} for sp in SPLITS}
                for sub in SUBSETS
            },
        }


def _round(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(x, nd)


@dataclass
class BenchResult:
    samples: list[Sample]
    tools: list[ToolReport]
    failed_tools: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        n_tasks = len({s.task_id for s in self.samples})
        return {
            "benchmark": "seccodeplt vulnerable/patched pairs",
            "tasks": n_tasks,
            "programs": len(self.samples),
            "program": "unittest.setup + code_before + vulnerable_code|patched_code + code_after",
            "views": {
                "any": "a program is flagged when the tool reports any finding",
                "right_cwe": "only findings of the task's CWE (or a child CWE, see cwe_children) count",
            },
            "cwe_children": {k: sorted(v, key=_cwe_key) for k, v in CWE_CHILDREN.items()},
            "tools": {t.name: t.as_dict() for t in self.tools},
            "failed_tools": self.failed_tools,
        }

    def misses(self, tool: str) -> list[dict[str, Any]]:
        """The programs ``tool`` got wrong in the any-finding view (for iterating on rules)."""
        report = next(t for t in self.tools if t.name == tool)
        out = []
        for sample, det in zip(self.samples, report.run.detections, strict=True):
            if sample.vulnerable != det.flagged or det.error:
                out.append(
                    {
                        "task_id": sample.task_id,
                        "cwe": sample.cwe,
                        "variant": sample.variant,
                        "split": sample.split,
                        "kind": "error" if det.error else ("FN" if sample.vulnerable else "FP"),
                        "rules": list(det.rules),
                        "cwes": sorted(c or "-" for c in det.cwes),
                        "error": det.error,
                        "entry": sample.entry,
                        "code": sample.code,
                    }
                )
        return out


def run_bench(
    tools: Iterable[str] = ("realcode", "bandit", "ruff"),
    *,
    data: str | Path | None = None,
    limit: int | None = None,
    cwes: Iterable[str] = (),
    repeats: int = 1,
) -> BenchResult:
    """Run the detectors on the SecCodePLT pairs and score them. A tool that fails is recorded, not raised.

    ``repeats`` > 1 runs each tool that many times (the machine is shared and noisy): the findings are those of
    the first run, the CPU figure is the median of the runs' medians.
    """
    samples = load_samples(data, limit, cwes)
    programs = [Program(s.code, s.entry) for s in samples]
    reports: list[ToolReport] = []
    failed: dict[str, str] = {}
    for name in tools:
        if name not in DETECTORS:
            raise ValueError(f"unknown tool {name!r}; choose from {', '.join(DETECTORS)}")
        try:
            run = DETECTORS[name]().run(programs)
            medians = [ToolReport.median_of(run)]
            for _ in range(repeats - 1):
                medians.append(ToolReport.median_of(DETECTORS[name]().run(programs)))
        except Exception as exc:  # a missing tool should not sink the other tools' figures
            failed[name] = f"{type(exc).__name__}: {exc}"
            continue
        kept = [m for m in medians if m is not None] if repeats > 1 else []
        reports.append(ToolReport(name, run, score(samples, run.detections), kept))
    return BenchResult(samples, reports, failed)


# --- Markdown -----------------------------------------------------------------------------------------------

_SUBSET_TITLE = {"tested": "17 tested CWEs (unit-tested rows)", "rule_based": "10 rule-based CWEs"}
_SPLIT_TITLE = {"all": "all rows", "test": "REAL's test split"}


def to_markdown(result: BenchResult, command: str = "realcode bench detectors") -> str:
    lines: list[str] = []
    d = result.as_dict()
    lines.append(f"Command: `{command}`  ")
    lines.append(f"{d['tasks']} tasks, {d['programs']} programs ({d['program']}).")
    lines.append("")
    lines.append("## Summary")
    lines.append("")
    lines.append("| tool | subset | rows | view | P | R | F1 | FPR | macro-F1 |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for t in result.tools:
        for sub in SUBSETS:
            for sp in SPLITS:
                for view in VIEWS:
                    r = t.tables[sub][sp][view]
                    if not r.per_cwe:
                        continue
                    o = r.overall
                    lines.append(
                        f"| {t.name} | {sub} | {sp} | {view} | {o.precision:.3f} | {o.recall:.3f} | {o.f1:.3f} "
                        f"| {o.fpr:.3f} | {r.macro_f1:.3f} |"
                    )
    lines.append("")
    lines.append("## Speed (CPU per snippet)")
    lines.append("")
    lines.append(
        "| tool | version | median ms | runs' medians | p95 ms (first run) | errors | how measured |"
    )
    lines.append("|---|---|---|---|---|---|---|")
    for t in result.tools:
        med, p95 = t.cpu_ms_median, t.cpu_ms_p95
        per_run = " / ".join(f"{m:.3f}" for m in t.repeat_medians) or "-"
        lines.append(
            f"| {t.name} | {t.run.version} | {med:.3f} | {per_run} | {p95:.3f} | {t.errors} | {t.run.timing} |"
            if med is not None and p95 is not None
            else f"| {t.name} | {t.run.version} | - | - | - | {t.errors} | {t.run.timing} |"
        )
    for name, err in result.failed_tools.items():
        lines.append(f"| {name} | - | - | - | - | failed: {err} |")
    for sub in SUBSETS:
        for sp in SPLITS:
            for view in VIEWS:
                cwes = sorted(
                    {c for t in result.tools for c in t.tables[sub][sp][view].per_cwe}, key=_cwe_key
                )
                if not cwes:
                    continue
                lines.append("")
                lines.append(f"## {_SUBSET_TITLE[sub]}, {_SPLIT_TITLE[sp]}, view: {view}")
                lines.append("")
                header = "| CWE | n |" + "".join(
                    f" {t.name} TP/FP/TN/FN | {t.name} R | {t.name} FPR | {t.name} F1 |" for t in result.tools
                )
                lines.append(header)
                lines.append("|---|---|" + "---|---|---|---|" * len(result.tools))
                for cwe in [*cwes, "overall"]:
                    cells = []
                    n = 0
                    for t in result.tools:
                        r = t.tables[sub][sp][view]
                        c = r.overall if cwe == "overall" else r.per_cwe.get(cwe, Confusion())
                        n = c.tp + c.fp + c.tn + c.fn
                        cells.append(
                            f" {c.tp}/{c.fp}/{c.tn}/{c.fn} | {c.recall:.3f} | {c.fpr:.3f} | {c.f1:.3f} |"
                        )
                    label = "**overall**" if cwe == "overall" else cwe
                    lines.append(f"| {label} | {n} |" + "".join(cells))
                if view == "right_cwe":
                    lines.append(
                        "| macro-F1 | |"
                        + "".join(f" | | | {t.tables[sub][sp][view].macro_f1:.3f} |" for t in result.tools)
                    )
    lines.append("")
    return "\n".join(lines)
