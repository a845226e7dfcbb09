"""Small self-contained SVG charts for reports.

Hand-written SVG keeps the HTML report a single file with no script and no plotting dependency in the core
install; the charts we need (grouped bars, a labelled scatter) are simple enough for that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

PALETTE = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#FF9DA6", "#9D755D")


def _fmt(v: float) -> str:
    return f"{v:.1f}"


def grouped_bars(
    title: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    width: int = 760,
    height: int = 300,
    y_label: str = "%",
) -> str:
    """Grouped vertical bars: one group per category, one bar per series; values in [0, 1] drawn as %."""
    left, right, top, bottom = 48, 12, 28, 80
    plot_w, plot_h = width - left - right, height - top - bottom
    n_cat, n_ser = max(len(categories), 1), max(len(series), 1)
    group_w = plot_w / n_cat
    bar_w = max(group_w * 0.8 / n_ser, 1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>',
        f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for tick in range(0, 101, 25):
        y = top + plot_h * (1 - tick / 100)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{_fmt(y)}" y2="{_fmt(y)}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{_fmt(y + 4)}" text-anchor="end" font-size="10">{tick}</text>')
    parts.append(
        f'<text x="12" y="{top + plot_h / 2}" font-size="10" transform="rotate(-90 12 {top + plot_h / 2})">'
        f"{escape(y_label)}</text>"
    )
    for ci, cat in enumerate(categories):
        gx = left + ci * group_w + group_w * 0.1
        for si, (name, values) in enumerate(series.items()):
            v = values[ci] if ci < len(values) else None
            if v is None:
                continue
            h = plot_h * max(0.0, min(1.0, v))
            x = gx + si * bar_w
            parts.append(
                f'<rect class="bar" x="{_fmt(x)}" y="{_fmt(top + plot_h - h)}" width="{_fmt(bar_w)}" '
                f'height="{_fmt(h)}" fill="{PALETTE[si % len(PALETTE)]}"><title>{escape(name)} / {escape(cat)}: '
                f"{100 * v:.1f}%</title></rect>"
            )
        cx = left + ci * group_w + group_w / 2
        parts.append(
            f'<text x="{_fmt(cx)}" y="{top + plot_h + 12}" font-size="10" text-anchor="end" '
            f'transform="rotate(-40 {_fmt(cx)} {top + plot_h + 12})">{escape(cat)}</text>'
        )
    parts.append(_legend(list(series), left, height - 14))
    parts.append("</svg>")
    return "".join(parts)


def scatter(
    title: str,
    points: Sequence[tuple[str, float, float]],
    *,
    x_label: str,
    y_label: str,
    width: int = 420,
    height: int = 360,
) -> str:
    """Labelled points (label, x, y) with x and y in [0, 1], drawn as %."""
    left, right, top, bottom = 52, 16, 28, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>',
        f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>',
    ]
    for tick in range(0, 101, 25):
        x = left + plot_w * tick / 100
        y = top + plot_h * (1 - tick / 100)
        parts.append(f'<text x="{_fmt(x)}" y="{top + plot_h + 14}" text-anchor="middle" font-size="10">{tick}</text>')
        parts.append(f'<text x="{left - 6}" y="{_fmt(y + 4)}" text-anchor="end" font-size="10">{tick}</text>')
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 8}" text-anchor="middle" font-size="11">{escape(x_label)}</text>'
    )
    parts.append(
        f'<text x="14" y="{top + plot_h / 2}" font-size="11" transform="rotate(-90 14 {top + plot_h / 2})" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    for i, (label, xv, yv) in enumerate(points):
        cx = left + plot_w * max(0.0, min(1.0, xv))
        cy = top + plot_h * (1 - max(0.0, min(1.0, yv)))
        color = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<circle class="point" cx="{_fmt(cx)}" cy="{_fmt(cy)}" r="5" fill="{color}"><title>{escape(label)}: '
            f"{100 * xv:.1f}, {100 * yv:.1f}</title></circle>"
        )
        parts.append(f'<text x="{_fmt(cx + 7)}" y="{_fmt(cy - 6)}" font-size="10">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _legend(names: Sequence[str], x: float, y: float) -> str:
    out = []
    for i, name in enumerate(names):
        xi = x + i * 150
        out.append(f'<rect x="{_fmt(xi)}" y="{_fmt(y - 9)}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>')
        out.append(f'<text x="{_fmt(xi + 14)}" y="{_fmt(y)}" font-size="10">{escape(name[:24])}</text>')
    return "".join(out)
