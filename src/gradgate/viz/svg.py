"""SVG text for a graph, drawn from the built-in layout: no dependency at all."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from . import style
from .graph import GATE, Graph, Node
from .layout import Box, Layout, Route, layout

ARROW = 7.0  # length of an arrowhead, px


def render_svg(g: Graph, id_prefix: str = "") -> str:
    """The whole picture: edges, their labels, the nodes on top, and a legend."""
    placed = layout(g)
    p = id_prefix
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{placed.width:.0f}" '
        f'height="{placed.height:.0f}" viewBox="0 0 {placed.width:.1f} {placed.height:.1f}" '
        f'font-family={quoteattr(style.FONT_FAMILY)} class="gradgate-graph">',
        f"<title>{escape(_title(g))}</title>",
        "<defs>",
        _marker(f"{p}arrow", style.EDGE),
        _marker(f"{p}arrow-fanout", style.FANOUT),
        "</defs>",
        f'<rect width="100%" height="100%" fill="{style.BACKGROUND}"/>',
        '<g class="edges">',
    ]
    for route in placed.routes:
        out.append(_edge(route, p))
    out.append("</g>")
    out.append('<g class="nodes">')
    for n in g.nodes:
        out.append(_node(n, placed.boxes[n.id], p))
    out.append("</g>")
    out.append(_legend(placed, bool(g.fanouts)))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _title(g: Graph) -> str:
    root = g.node(g.root)
    return f"computation graph of {root.name}: {len(g.nodes)} nodes, {len(g.edges)} edges"


def _marker(id: str, colour: str) -> str:
    return (
        f'<marker id="{id}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="{ARROW}" '
        f'markerHeight="{ARROW}" markerUnits="userSpaceOnUse" orient="auto">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
    )


def _path_data(route: Route) -> str:
    parts = [f"M{route.start[0]:.1f},{route.start[1]:.1f}"]
    for kind, *points in route.segments:
        parts.append(kind + " ".join(f"{x:.1f},{y:.1f}" for x, y in points))
    return " ".join(parts)


def _edge(route: Route, p: str) -> str:
    e = route.edge
    colour = style.FANOUT if e.fanout else style.EDGE
    marker = f"{p}arrow-fanout" if e.fanout else f"{p}arrow"
    x, y = route.label_at
    label = escape(e.label)
    return (
        f'<g class="edge{" fanout" if e.fanout else ""}" id="{p}{e.source}-{e.target}-{e.slot}">'
        f"<title>{escape(e.source)} → {escape(e.target)}: {label}</title>"
        f'<path d="{_path_data(route)}" fill="none" stroke="{colour}" '
        f'stroke-width="{1.8 if e.fanout else 1.2}" marker-end="url(#{marker})"/>'
        f'<text x="{x:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="{style.LABEL_SIZE}" '
        f'fill="{style.INK}" stroke="{style.BACKGROUND}" stroke-width="3" '
        f'paint-order="stroke">{label}</text></g>'
    )


def _node(n: Node, box: Box, p: str) -> str:
    fill, border = style.COLOURS[n.kind]
    classes = f"node {n.kind}" + (" fanout" if n.fanout else "")
    stroke, width = (style.FANOUT, 3.0) if n.fanout else (border, 1.2)
    radius = 8 if n.kind == GATE else 2
    out = [
        f'<g class="{classes}" id="{p}{n.id}" data-name={quoteattr(n.name)}>',
        f"<title>{escape(_tooltip(n))}</title>",
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" height="{box.h:.1f}" '
        f'rx="{radius}" fill="{fill}" stroke="{stroke}" stroke-width="{width}"/>',
    ]
    for i, line in enumerate(box.lines):
        baseline = box.y + style.PAD_Y + (i + 0.8) * style.LINE_HEIGHT
        weight = ' font-weight="bold"' if i == 0 else ""
        out.append(
            f'<text x="{box.x + style.PAD_X:.1f}" y="{baseline:.1f}" font-size="{style.FONT_SIZE}"'
            f'{weight} fill="{style.INK}" xml:space="preserve">{escape(line)}</text>'
        )
    if n.fanout:  # a Σ badge on the side where the gradients come back
        cx, cy = box.x + box.w, box.y
        out.append(
            f'<g class="fanout-mark"><circle cx="{cx:.1f}" cy="{cy:.1f}" r="10" '
            f'fill="{style.FANOUT}"/><text x="{cx:.1f}" y="{cy + 4.5:.1f}" text-anchor="middle" '
            f'font-size="13" font-weight="bold" fill="#ffffff">Σ</text></g>'
        )
    out.append("</g>")
    return "".join(out)


def _tooltip(n: Node) -> str:
    what = f"{n.gate} gate" if n.kind == GATE else n.kind
    text = f"{n.name}: {what}, shape {n.shape}"
    if n.fanout:
        text += (
            f"; feeds {n.consumers} input slots, so backward sums {n.consumers} "
            "gradients here (fan-out)"
        )
    return text


def _legend(placed: Layout, fanout: bool) -> str:
    y = placed.legend_y
    items = style.legend(fanout)
    out = [f'<g class="legend" transform="translate(16,{y:.1f})">']
    x = 0.0
    for label, fill, stroke, width in items:
        out.append(
            f'<rect x="{x:.1f}" y="6" width="18" height="14" rx="3" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{width}"/>'
        )
        out.append(
            f'<text x="{x + 24:.1f}" y="17.5" font-size="{style.LABEL_SIZE + 1}" '
            f'fill="{style.INK}">{escape(label)}</text>'
        )
        x += 24 + len(label) * (style.LABEL_SIZE + 1) * style.CHAR_WIDTH + 22
    out.append("</g>")
    return "".join(out)
