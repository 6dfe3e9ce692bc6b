"""Colours and type sizes shared by the SVG, PNG and DOT pictures."""

from __future__ import annotations

# kind → (fill, border)
COLOURS = {
    "gate": ("#dbe9f6", "#4a78a8"),
    "parameter": ("#fff1c2", "#b58900"),
    "input": ("#eeeeee", "#8a8a8a"),
}
FANOUT = "#e8590c"  # where gradients from several consumers are summed
INK = "#222222"
EDGE = "#666666"
BACKGROUND = "#ffffff"

FONT_FAMILY = "DejaVu Sans Mono, Menlo, Consolas, monospace"
FONT_SIZE = 12.0  # px, node labels
LABEL_SIZE = 10.0  # px, edge labels
CHAR_WIDTH = 0.61  # advance of a monospace character, in ems (DejaVu Sans Mono: 0.602)
LINE_HEIGHT = 15.0  # px between label lines
PAD_X, PAD_Y = 8.0, 6.0  # inside a node's box


def legend(fanout: bool) -> list[tuple[str, str, str, float]]:
    """The legend's entries, (label, fill, border, border width); the fan-out entry only on
    a graph that has a fan-out point."""
    items = [(kind, *COLOURS[kind], 1.2) for kind in ("parameter", "input", "gate")]
    if fanout:
        items.append(("Σ fan-out: gradients summed", "#ffffff", FANOUT, 3.0))
    return items
