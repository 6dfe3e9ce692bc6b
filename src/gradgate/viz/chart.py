"""Line charts as SVG, drawn by gradgate itself: the loss and accuracy curves of a run.

    svg = line_charts([Panel("loss", "epoch", "loss per example", {"train": (xs, ys)})])

No dependency at all, so the curves of ``gradgate train`` are drawn on any machine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from . import style

WIDTH, HEIGHT = 460.0, 320.0  # one panel, px
MARGIN = {"left": 64.0, "right": 16.0, "top": 34.0, "bottom": 46.0}
SERIES_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")
TITLE_SIZE = 14.0


@dataclass
class Panel:
    """One chart: its title, axis labels and named series of (x, y) points."""

    title: str
    x_label: str
    y_label: str
    series: dict[str, tuple[Sequence[float], Sequence[float]]] = field(default_factory=dict)


def line_charts(panels: Sequence[Panel], title: str = "") -> str:
    """The panels side by side as one SVG document, under ``title``."""
    top = TITLE_SIZE * 2 if title else 0.0
    width, height = WIDTH * len(panels), HEIGHT + top
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{style.FONT_FAMILY}" '
        f'font-size="{style.LABEL_SIZE:g}" class="gradgate-chart">',
        f'<rect width="100%" height="100%" fill="{style.BACKGROUND}"/>',
    ]
    if title:
        out.append(_text(width / 2, TITLE_SIZE * 1.4, title, size=TITLE_SIZE, anchor="middle"))
    for k, panel in enumerate(panels):
        out.append(f'<g transform="translate({k * WIDTH:g},{top:g})">')
        out += _panel(panel)
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round values (1, 2 or 5 times a power of ten apart) from low to high."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low] if math.isfinite(low) else []
    raw = (high - low) / count
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw / 1.5)
    first = math.ceil(low / step - 1e-9) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _panel(panel: Panel) -> list[str]:
    """The axes, grid, curves and legend of one panel, in the panel's own coordinates."""
    left, right = MARGIN["left"], WIDTH - MARGIN["right"]
    top, bottom = MARGIN["top"], HEIGHT - MARGIN["bottom"]
    xs = [x for px, _ in panel.series.values() for x in px if math.isfinite(x)]
    ys = [y for _, py in panel.series.values() for y in py if math.isfinite(y)]
    x0, x1 = _span(xs)
    y0, y1 = _span(ys)

    def at(x: float, y: float) -> tuple[float, float]:
        return (left + (x - x0) / (x1 - x0) * (right - left),
                bottom - (y - y0) / (y1 - y0) * (bottom - top))  # fmt: skip

    out = [_text(left, top - 12, panel.title, size=style.FONT_SIZE)]
    for y in ticks(y0, y1):
        _, v = at(x0, y)
        out.append(f'<line x1="{left:.1f}" y1="{v:.1f}" x2="{right:.1f}" y2="{v:.1f}" '
                   'stroke="#dddddd"/>')  # fmt: skip
        out.append(_text(left - 6, v + 3, f"{y:g}", anchor="end"))
    for x in ticks(x0, x1):
        u, _ = at(x, y0)
        out.append(_text(u, bottom + 14, f"{x:g}", anchor="middle"))
    out.append(f'<rect x="{left:.1f}" y="{top:.1f}" width="{right - left:.1f}" '
               f'height="{bottom - top:.1f}" fill="none" stroke="{style.EDGE}"/>')  # fmt: skip
    out.append(_text((left + right) / 2, HEIGHT - 12, panel.x_label, anchor="middle"))
    out.append(_text(16, (top + bottom) / 2, panel.y_label, anchor="middle",
                     rotate=-90))  # fmt: skip
    for k, (name, (px, py)) in enumerate(panel.series.items()):
        colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
        points = " ".join(f"{u:.1f},{v:.1f}" for u, v in
                          (at(x, y) for x, y in zip(px, py, strict=True))
                          if math.isfinite(u) and math.isfinite(v))  # fmt: skip
        out.append(f'<polyline class="series" data-name="{escape(name)}" points="{points}" '
                   f'fill="none" stroke="{colour}" stroke-width="1.8"/>')  # fmt: skip
        legend_x = right - 64 * (len(panel.series) - k)  # in a row, right of the title
        out.append(f'<line x1="{legend_x:.1f}" y1="{top - 15:.1f}" x2="{legend_x + 16:.1f}" '
                   f'y2="{top - 15:.1f}" stroke="{colour}" stroke-width="1.8"/>')  # fmt: skip
        out.append(_text(legend_x + 20, top - 12, name))
    return out


def _span(values: list[float]) -> tuple[float, float]:
    """The range a set of values is drawn in; a single value gets room around it."""
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    pad = (
        0.04 * (high - low)
        if high - low > 1e-12 * max(1.0, abs(high))
        else max(abs(high) * 0.05, 0.5)
    )
    return low - pad, high + pad


def _text(x: float, y: float, text: str, size: float | None = None, anchor: str = "start",
          rotate: float | None = None) -> str:  # fmt: skip
    attributes = f'x="{x:.1f}" y="{y:.1f}" fill="{style.INK}" text-anchor="{anchor}"'
    if size is not None:
        attributes += f' font-size="{size:g}"'
    if rotate is not None:
        attributes += f' transform="rotate({rotate:g} {x:.1f} {y:.1f})"'
    return f"<text {attributes}>{escape(text)}</text>"
