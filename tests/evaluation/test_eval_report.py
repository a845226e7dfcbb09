"""Reports: Markdown and HTML from real metrics, and the HTML page rendered by headless Chromium."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from realcode.evaluation.metrics import SampleOutcome, breakdown, compute_metrics
from realcode.evaluation.report import ReportError, load_run, render_markdown, write_report

CWES = ("CWE-79", "CWE-89", "CWE-502", "CWE-918")


def _run_dir(root: Path, name: str, p_function: float, p_quality: float, alpha: float | None, seed: int) -> Path:
    rng = random.Random(seed)
    outcomes = [
        SampleOutcome(
            task_id=f"t{i}", function=rng.random() < p_function, quality=rng.random() < p_quality,
            syntax_ok=True, ran=True, cwe=(CWES[i % 4],), split="test",
        )
        for i in range(60)
    ]
    data = {
        "name": name, "benchmark": "seccodeplt-plus", "split": "test", "alpha": alpha,
        "overall": compute_metrics(outcomes, resamples=300).as_dict(with_tasks=True),
        "per_cwe": {k: v.as_dict() for k, v in breakdown(outcomes, lambda o: o.cwe, resamples=100).items()},
        "notes": ["a note about the data"],
    }
    d = root / name
    d.mkdir()
    (d / "metrics.json").write_text(json.dumps(data))
    return d


@pytest.fixture
def runs(tmp_path: Path) -> list[Path]:
    return [
        _run_dir(tmp_path, "alpha-0", 0.8, 0.3, 0.0, 1),
        _run_dir(tmp_path, "alpha-0.5", 0.7, 0.7, 0.5, 2),
        _run_dir(tmp_path, "alpha-1", 0.2, 0.95, 1.0, 3),
    ]


def test_markdown_has_tables_cwe_breakdown_and_paired_comparison(runs: list[Path]) -> None:
    md = render_markdown([load_run(r) for r in runs])
    assert "| alpha-0.5 (α=0.5) | seccodeplt-plus | test | 60 | 60 |" in md
    for cwe in CWES:
        assert f"| {cwe} |" in md
    assert "## Paired comparisons (same tasks)" in md and "| alpha-0 | alpha-1 | function |" in md
    assert "a note about the data" in md


def test_bad_run_directories_are_named(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="no metrics.json"):
        load_run(tmp_path)
    (tmp_path / "metrics.json").write_text("{not json")
    with pytest.raises(ReportError, match=r"metrics\.json:1: malformed"):
        load_run(tmp_path)
    with pytest.raises(ReportError, match="no run directory"):
        write_report([], tmp_path)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium package is not installed (scripts/setup.sh --dev installs it)")
def test_html_report_renders_in_headless_chromium(runs: list[Path], tmp_path: Path) -> None:
    from PIL import Image

    _, html = write_report(runs, tmp_path / "report")
    flags = [
        CHROMIUM or "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
    ]
    url = html.resolve().as_uri()
    dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True)
    # What the page shows: both metric tables, the scatter and the bar charts, every run's row.
    assert dom.stdout.count("<table") == 3  # main, secondary, paired comparisons
    assert dom.stdout.count("<svg") >= 5  # scatter + runs compared + one per-CWE chart per run
    assert dom.stdout.count('class="point"') == 3
    for name in ("alpha-0 (α=0.0)", "alpha-0.5 (α=0.5)", "alpha-1 (α=1.0)"):
        assert name in dom.stdout
    assert "Uncaught" not in dom.stderr and "SyntaxError" not in dom.stderr

    png = tmp_path / "report.png"
    subprocess.run(
        [*flags, f"--screenshot={png}", "--window-size=1200,1600", url], capture_output=True, timeout=120, check=True
    )
    img = Image.open(png).convert("RGB")
    assert img.size == (1200, 1600)
    colors = img.getcolors(maxcolors=1 << 20) or []
    # A blank or error page has a handful of colours; charts and text give many.
    assert len(colors) > 50
    palette_blue = (0x4C, 0x78, 0xA8)
    assert any(c == palette_blue for _, c in colors), "the charts' first series colour is not on the page"
