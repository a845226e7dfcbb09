"""Reports over one or more evaluation runs: Markdown and a self-contained HTML page.

A report reads each run's ``metrics.json`` (written by :mod:`realcode.evaluation.run`), and shows: the main table
(Function, Quality, Func-Qual with intervals, and the secondary rates), per-CWE bars, a function-versus-quality
scatter (one point per run; alpha sweeps show their trade-off), and a paired comparison of runs on the same
tasks (difference with a bootstrap interval).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from realcode.evaluation.charts import grouped_bars, scatter
from realcode.evaluation.stats import paired_difference

MAIN = (("function", "Function"), ("quality", "Quality"), ("func_qual", "Func-Qual"))
SECONDARY = (
    ("dynamic_security", "Dyn. security"),
    ("syntax_valid", "Syntax valid"),
    ("runs", "Runs"),
    ("prints_output", "Prints output"),
    ("format_error", "Format error"),
)


class ReportError(Exception):
    """A run directory cannot be reported (missing or malformed metrics)."""


def load_run(run_dir: str | Path) -> dict[str, Any]:
    """The ``metrics.json`` of a run directory, with ``name`` defaulting to the directory name."""
    path = Path(run_dir)
    metrics = path / "metrics.json" if path.is_dir() else path
    if not metrics.is_file():
        raise ReportError(f"{path}: no metrics.json (run `realcode eval ... --out {path}` first)")
    try:
        data: dict[str, Any] = json.loads(metrics.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReportError(f"{metrics}:{exc.lineno}: malformed metrics.json ({exc.msg})") from None
    if "overall" not in data:
        raise ReportError(f"{metrics}: not a realcode metrics file (no 'overall' section)")
    data.setdefault("name", path.name if path.is_dir() else path.parent.name)
    return data


def rate_cell(metrics: dict[str, Any], key: str, *, interval: bool = True) -> str:
    """``metrics[key]`` (a rate with its bootstrap interval) as a percentage cell; "–" when absent."""
    m = metrics.get(key)
    if not m:
        return "–"
    if interval:
        return f"{100 * m['value']:.1f} [{100 * m['low']:.1f}, {100 * m['high']:.1f}]"
    return f"{100 * m['value']:.1f}"


def _label(run: dict[str, Any]) -> str:
    alpha = run.get("alpha")
    return f"{run['name']} (α={alpha})" if alpha is not None else str(run["name"])


def _comparisons(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Paired differences of every later run against the first run of the same benchmark and split."""
    out: list[dict[str, Any]] = []
    for i, base in enumerate(runs):
        for other in runs[i + 1 :]:
            if (base.get("benchmark"), base.get("split")) != (other.get("benchmark"), other.get("split")):
                continue
            bt, ot = base["overall"].get("per_task", {}), other["overall"].get("per_task", {})
            row: dict[str, Any] = {"base": base["name"], "other": other["name"], "diffs": {}}
            for key, _ in MAIN:
                a = {t: v[key] for t, v in bt.items() if key in v}
                b = {t: v[key] for t, v in ot.items() if key in v}
                if set(a) & set(b):
                    row["diffs"][key] = paired_difference(a, b)
            if row["diffs"]:
                out.append(row)
        break  # compare against the first run only: a report of k runs gets k-1 comparisons
    return out


def render_markdown(runs: Sequence[dict[str, Any]]) -> str:
    """The report as Markdown."""
    lines = ["# realcode evaluation report", ""]
    lines += ["| run | benchmark | split | tasks | samples | " + " | ".join(t for _, t in MAIN) + " |"]
    lines += ["|---" * (5 + len(MAIN)) + "|"]
    for r in runs:
        m = r["overall"]["metrics"]
        cells = " | ".join(rate_cell(m, k) for k, _ in MAIN)
        lines.append(
            f"| {_label(r)} | {r.get('benchmark', '?')} | {r.get('split', '?')} | {r['overall']['n_tasks']} | "
            f"{r['overall']['n_samples']} | {cells} |"
        )
    lines += ["", "Rates in %, with 95% bootstrap intervals over tasks.", ""]
    lines += ["| run | " + " | ".join(t for _, t in SECONDARY) + " | infra errors |"]
    lines += ["|---" * (2 + len(SECONDARY)) + "|"]
    for r in runs:
        m = r["overall"]["metrics"]
        lines.append(
            f"| {_label(r)} | "
            + " | ".join(rate_cell(m, k, interval=False) for k, _ in SECONDARY)
            + f" | {r['overall'].get('infra_errors', 0)} |"
        )
    for r in runs:
        if r.get("per_cwe"):
            lines += ["", f"## Per CWE: {_label(r)}", "", "| CWE | tasks | Function | Quality | Func-Qual |", "|---|---|---|---|---|"]
            for cwe, t in r["per_cwe"].items():
                m = t["metrics"]
                lines.append(
                    f"| {cwe} | {t['n_tasks']} | {rate_cell(m, 'function', interval=False)} | "
                    f"{rate_cell(m, 'quality', interval=False)} | {rate_cell(m, 'func_qual', interval=False)} |"
                )
    comps = _comparisons(runs)
    if comps:
        lines += ["", "## Paired comparisons (same tasks)", "", "| base | other | metric | difference (pp) |", "|---|---|---|---|"]
        for c in comps:
            for key, d in c["diffs"].items():
                lines.append(
                    f"| {c['base']} | {c['other']} | {key} | {100 * d.value:+.1f} [{100 * d.low:+.1f}, {100 * d.high:+.1f}] "
                    f"(n={d.n}) |"
                )
    notes = sorted({n for r in runs for n in r.get("notes", [])})
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f3f3f3}.charts{display:flex;flex-wrap:wrap;gap:16px}
caption{caption-side:bottom;font-size:.85em;color:#666;padding-top:4px}
"""


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, cls: str, caption: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f'<table class="{cls}">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def render_html(runs: Sequence[dict[str, Any]]) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG, no script)."""
    main_rows = [
        [_label(r), str(r.get("benchmark", "?")), str(r.get("split", "?")), str(r["overall"]["n_tasks"])]
        + [rate_cell(r["overall"]["metrics"], k) for k, _ in MAIN]
        for r in runs
    ]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>realcode evaluation report</title>",
        f"<style>{_CSS}</style></head><body><h1>realcode evaluation report</h1>",
        _html_table(
            ["run", "benchmark", "split", "tasks", *[t for _, t in MAIN]],
            main_rows,
            cls="main-metrics",
            caption="Rates in %, with 95% bootstrap intervals over tasks.",
        ),
        _html_table(
            ["run", *[t for _, t in SECONDARY], "infra errors"],
            [
                [_label(r)]
                + [rate_cell(r["overall"]["metrics"], k, interval=False) for k, _ in SECONDARY]
                + [str(r["overall"].get("infra_errors", 0))]
                for r in runs
            ],
            cls="secondary-metrics",
        ),
        "<h2>Plots</h2><div class='charts'>",
    ]
    points = [
        (_label(r), r["overall"]["metrics"]["function"]["value"], r["overall"]["metrics"]["quality"]["value"])
        for r in runs
        if "function" in r["overall"]["metrics"] and "quality" in r["overall"]["metrics"]
    ]
    if points:
        parts.append(scatter("Function vs Quality", points, x_label="Function (%)", y_label="Quality (%)"))
    parts.append(
        grouped_bars(
            "Runs compared",
            [t for _, t in MAIN],
            {_label(r): [r["overall"]["metrics"].get(k, {}).get("value") for k, _ in MAIN] for r in runs},
        )
    )
    for r in runs:
        per_cwe = r.get("per_cwe") or {}
        if per_cwe:
            cwes = list(per_cwe)
            parts.append(
                grouped_bars(
                    f"Per CWE: {_label(r)}",
                    cwes,
                    {t: [per_cwe[c]["metrics"].get(k, {}).get("value") for c in cwes] for k, t in MAIN},
                    width=max(760, 40 * len(cwes) + 80),
                )
            )
    parts.append("</div>")
    comps = _comparisons(runs)
    if comps:
        parts.append("<h2>Paired comparisons</h2>")
        rows = [
            [c["base"], c["other"], key, f"{100 * d.value:+.1f} [{100 * d.low:+.1f}, {100 * d.high:+.1f}]", str(d.n)]
            for c in comps
            for key, d in c["diffs"].items()
        ]
        parts.append(_html_table(["base", "other", "metric", "difference (pp)", "tasks"], rows, cls="paired"))
    notes = sorted({n for r in runs for n in r.get("notes", [])})
    if notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>")
    parts.append("</body></html>")
    return "".join(parts)


def write_report(run_dirs: Sequence[str | Path], out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` for the given runs into ``out_dir``; returns both paths."""
    if not run_dirs:
        raise ReportError("no run directory given")
    runs = [load_run(d) for d in run_dirs]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md, html = out / "report.md", out / "report.html"
    md.write_text(render_markdown(runs), encoding="utf-8")
    html.write_text(render_html(runs), encoding="utf-8")
    return md, html
