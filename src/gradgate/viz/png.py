"""PNG pictures without Graphviz: the built-in layout drawn with matplotlib.

matplotlib is optional (``pip install matplotlib``, or the ``[plot]`` extra). The
figure is made with matplotlib's object API and its Agg canvas, so no global state (pyplot,
the chosen backend) is touched.
"""

from __future__ import annotations

import os

from . import style
from .graph import GATE, Graph
from .layout import layout

MISSING = (
    "save_png needs Graphviz's dot on PATH or matplotlib to draw a PNG: "
    "pip install matplotlib  (or the [plot] extra); save_svg needs neither"
)


def render_png(g: Graph, path: str | os.PathLike[str], dpi: int = 144) -> None:
    """Draw ``g`` as a PNG file at ``path``; ``dpi`` sets the pixels per 100 layout units."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Circle, FancyBboxPatch, PathPatch, Polygon
        from matplotlib.path import Path
    except ImportError as error:
        raise ImportError(MISSING) from error

    placed = layout(g)
    points_per_px = 72.0 / 100.0  # one layout pixel is 1/100 inch
    figure = Figure(figsize=(placed.width / 100.0, placed.height / 100.0), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    axes.set_xlim(0, placed.width)
    axes.set_ylim(placed.height, 0)  # y points down, as in the SVG
    axes.set_axis_off()
    figure.patch.set_facecolor(style.BACKGROUND)
    family = ["DejaVu Sans Mono", "monospace"]

    for route in placed.routes:
        colour = style.FANOUT if route.edge.fanout else style.EDGE
        vertices = [route.start]
        codes = [Path.MOVETO]
        for kind, *points in route.segments:
            vertices += points
            codes += [Path.LINETO] if kind == "L" else [Path.CURVE4] * 3
        axes.add_patch(
            PathPatch(
                Path(vertices, codes),
                fill=False,
                edgecolor=colour,
                linewidth=(1.8 if route.edge.fanout else 1.2) * points_per_px,
            )
        )
        x, y = route.end  # every route arrives horizontally, from the left
        axes.add_patch(
            Polygon(
                [(x, y), (x - 7, y - 3.5), (x - 7, y + 3.5)],
                closed=True,
                facecolor=colour,
                edgecolor="none",
            )
        )
        lx, ly = route.label_at
        axes.text(
            lx,
            ly - 4,
            route.edge.label,
            ha="center",
            va="baseline",
            color=style.INK,
            fontsize=style.LABEL_SIZE * points_per_px,
            family=family,
            bbox={"facecolor": style.BACKGROUND, "edgecolor": "none", "pad": 0.5},
        )

    for n in g.nodes:
        box = placed.boxes[n.id]
        fill, border = style.COLOURS[n.kind]
        stroke, width = (style.FANOUT, 3.0) if n.fanout else (border, 1.2)
        radius = 8 if n.kind == GATE else 2
        axes.add_patch(
            FancyBboxPatch(
                (box.x, box.y),
                box.w,
                box.h,
                boxstyle=f"round,pad=0,rounding_size={radius}",
                facecolor=fill,
                edgecolor=stroke,
                linewidth=width * points_per_px,
            )
        )
        for i, line in enumerate(box.lines):
            baseline = box.y + style.PAD_Y + (i + 0.8) * style.LINE_HEIGHT
            axes.text(
                box.x + style.PAD_X,
                baseline,
                line,
                ha="left",
                va="baseline",
                color=style.INK,
                fontsize=style.FONT_SIZE * points_per_px,
                family=family,
                weight="bold" if i == 0 else "normal",
            )
        if n.fanout:
            cx, cy = box.x + box.w, box.y
            axes.add_patch(Circle((cx, cy), 10, facecolor=style.FANOUT, edgecolor="none"))
            axes.text(
                cx,
                cy,
                "Σ",
                ha="center",
                va="center",
                color="#ffffff",
                fontsize=13 * points_per_px,
                weight="bold",
                family=family,
            )

    x = 16.0
    y = placed.legend_y
    for label, fill, stroke, width in style.legend(bool(g.fanouts)):
        axes.add_patch(
            FancyBboxPatch(
                (x, y + 6),
                18,
                14,
                boxstyle="round,pad=0,rounding_size=3",
                facecolor=fill,
                edgecolor=stroke,
                linewidth=width * points_per_px,
            )
        )
        axes.text(
            x + 24,
            y + 17.5,
            label,
            ha="left",
            va="baseline",
            color=style.INK,
            fontsize=(style.LABEL_SIZE + 1) * points_per_px,
            family=family,
        )
        x += 24 + len(label) * (style.LABEL_SIZE + 1) * style.CHAR_WIDTH + 22

    figure.savefig(os.fspath(path), format="png", dpi=dpi, facecolor=style.BACKGROUND)
