"""A layered (Sugiyama-style) left-to-right layout, so pictures need no Graphviz.

1. Ranks: a gate sits one column right of its rightmost input; a leaf sits just left of
   its first consumer.
2. An edge that spans several columns gets a virtual point in each column it crosses.
3. Within each column, nodes are ordered by the mean position of their neighbours
   (barycentre sweeps), keeping the order with the fewest crossings.
4. Vertical positions: each node is pulled towards its neighbours, and the positions that
   keep the column's order and spacing and move the nodes least are found exactly by
   isotonic regression (pool-adjacent-violators).
5. Edges leave a node's right side and enter the next one's left side at spread-out ports,
   as cubic Béziers with horizontal tangents, straight through the columns they cross.

Coordinates are pixels, y pointing down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from . import style
from .graph import Edge, Graph

Point = tuple[float, float]

MARGIN = 16.0
MIN_GAP_X = 56.0  # between columns
GAP_Y = 18.0  # between boxes in a column
VIRTUAL_HEIGHT = 12.0  # the room an edge passing through a column takes
LEGEND_HEIGHT = 34.0


@dataclass
class Box:
    """A node's box: top-left corner, size, and the lines of its label."""

    id: str
    x: float
    y: float
    w: float
    h: float
    lines: list[str]


@dataclass
class Route:
    """An edge's path: a start point, then ("L", p) lines and ("C", c1, c2, p) curves."""

    edge: Edge
    start: Point
    segments: list[tuple] = field(default_factory=list)
    label_at: Point = (0.0, 0.0)

    @property
    def end(self) -> Point:
        return self.segments[-1][-1]


@dataclass
class Layout:
    boxes: dict[str, Box]
    routes: list[Route]
    width: float
    height: float
    legend_y: float  # top of the legend row


def text_width(text: str, size: float = style.FONT_SIZE) -> float:
    return len(text) * size * style.CHAR_WIDTH


def layout(g: Graph) -> Layout:
    """Positions for every node and a path for every edge of ``g``."""
    boxes = {}
    for n in g.nodes:
        lines = n.lines()
        w = max(text_width(line) for line in lines) + 2 * style.PAD_X
        h = len(lines) * style.LINE_HEIGHT + 2 * style.PAD_Y
        boxes[n.id] = Box(n.id, 0.0, 0.0, w, h, lines)

    # 1. ranks
    rank: dict[str, int] = {}
    inputs: dict[str, list[str]] = {n.id: [] for n in g.nodes}
    outputs: dict[str, list[str]] = {n.id: [] for n in g.nodes}
    for e in g.edges:
        inputs[e.target].append(e.source)
        outputs[e.source].append(e.target)
    for n in g.nodes:  # forward order: inputs come first
        rank[n.id] = 1 + max((rank[i] for i in inputs[n.id]), default=-1)
    for n in reversed(g.nodes):  # pull every node without inputs next to its first consumer
        if not inputs[n.id] and outputs[n.id]:
            rank[n.id] = min(rank[o] for o in outputs[n.id]) - 1
    low = min(rank.values())
    for k in rank:
        rank[k] -= low
    columns = max(rank.values()) + 1

    # 2. virtual points: every link joins adjacent columns
    heights = {key: b.h for key, b in boxes.items()}
    links: list[tuple[str, str]] = []
    chains: list[list[str]] = []  # per edge: the ids it passes through, ends included
    for number, e in enumerate(g.edges):
        chain = [e.source]
        for r in range(rank[e.source] + 1, rank[e.target]):
            v = f"v{number}.{r}"
            rank[v] = r
            heights[v] = VIRTUAL_HEIGHT
            chain.append(v)
        chain.append(e.target)
        chains.append(chain)
        links += list(pairwise(chain))
    layers: list[list[str]] = [[] for _ in range(columns)]
    for n in g.nodes:
        layers[rank[n.id]].append(n.id)
    for chain in chains:
        for v in chain[1:-1]:
            layers[rank[v]].append(v)
    before: dict[str, list[str]] = {k: [] for k in rank}
    after: dict[str, list[str]] = {k: [] for k in rank}
    for a, b in links:
        after[a].append(b)
        before[b].append(a)

    # 3. order within columns
    layers = _order(layers, before, after)

    # 4. vertical positions (centres)
    y = _place(layers, heights, before, after)

    # columns' x: widest box, then a gap wide enough for the labels entering the next one
    column_width = [max((boxes[k].w for k in layer if k in boxes), default=0.0) for layer in layers]
    label_room = [0.0] * columns
    for e in g.edges:
        room = text_width(e.label, style.LABEL_SIZE) + 24
        label_room[rank[e.target]] = max(label_room[rank[e.target]], room)
    left = []
    x = MARGIN
    for r in range(columns):
        if r:
            x += max(MIN_GAP_X, label_room[r])
        left.append(x)
        x += column_width[r]
    width = x + MARGIN

    for key, box in boxes.items():
        r = rank[key]
        box.x = left[r] + (column_width[r] - box.w) / 2
        box.y = y[key] - box.h / 2
    top = min([b.y for b in boxes.values()] + [y[v] - VIRTUAL_HEIGHT / 2 for v in y])
    shift = MARGIN - top
    for box in boxes.values():
        box.y += shift
    for key in y:
        y[key] += shift
    bottom = max(b.y + b.h for b in boxes.values())

    # 5. routes
    edges = list(zip(g.edges, chains, strict=True))
    out_port = _ports(boxes, [(c[0], c[1], e.slot) for e, c in edges], y)
    in_port = _ports(boxes, [(c[-1], c[-2], e.slot) for e, c in edges], y)
    routes = []
    for number, (e, chain) in enumerate(edges):
        source, target = boxes[e.source], boxes[e.target]
        start = (source.x + source.w, out_port[number])
        route = Route(e, start)
        here = start
        for v in chain[1:-1]:
            r = rank[v]
            entry = (left[r], y[v])
            route.segments.append(_curve(here, entry))
            here = (left[r] + column_width[r], y[v])
            route.segments.append(("L", here))
        end = (target.x, in_port[number])
        route.segments.append(_curve(here, end))
        route.label_at = ((here[0] + end[0]) / 2, (here[1] + end[1]) / 2)
        routes.append(route)
    legend_y = bottom + 12
    return Layout(boxes, routes, max(width, 560.0), legend_y + LEGEND_HEIGHT, legend_y)


def _curve(a: Point, b: Point) -> tuple:
    """A cubic from a to b leaving and arriving horizontally."""
    dx = (b[0] - a[0]) / 2
    return ("C", (a[0] + dx, a[1]), (b[0] - dx, b[1]), b)


def _ports(
    boxes: dict[str, Box], ends: list[tuple[str, str, int]], y: dict[str, float]
) -> list[float]:
    """Where each edge meets a box's side, ``ends[k]`` = (box, other end, slot) for edge k:
    spread evenly along the side, in the order of the other ends (then of the slots)."""
    by_box: dict[str, list[int]] = {}
    for k, (box_id, _, _) in enumerate(ends):
        by_box.setdefault(box_id, []).append(k)
    ports = [0.0] * len(ends)
    for box_id, edges in by_box.items():
        edges.sort(key=lambda k: (y[ends[k][1]], ends[k][2]))
        box = boxes[box_id]
        for i, k in enumerate(edges):
            ports[k] = box.y + box.h * (i + 1) / (len(edges) + 1)
    return ports


def _crossings(layers: list[list[str]], after: dict[str, list[str]]) -> int:
    total = 0
    for r in range(len(layers) - 1):
        below = {k: i for i, k in enumerate(layers[r + 1])}
        pairs = [(i, below[b]) for i, a in enumerate(layers[r]) for b in after[a]]
        for m, (a1, b1) in enumerate(pairs):
            for a2, b2 in pairs[m + 1 :]:
                if (a1 - a2) * (b1 - b2) < 0:
                    total += 1
    return total


def _order(
    layers: list[list[str]],
    before: dict[str, list[str]],
    after: dict[str, list[str]],
    sweeps: int = 8,
) -> list[list[str]]:
    """Barycentre sweeps left-to-right and right-to-left; keep the best ordering found."""
    size = sum(len(layer) for layer in layers)
    if size > 2000:  # too large to picture usefully; keep the forward order
        return layers
    best = [list(layer) for layer in layers]
    best_crossings = _crossings(best, after)
    current = [list(layer) for layer in layers]
    for sweep in range(sweeps):
        forward = sweep % 2 == 0
        sequence = range(1, len(current)) if forward else range(len(current) - 2, -1, -1)
        for r in sequence:
            fixed = {k: i for i, k in enumerate(current[r - 1 if forward else r + 1])}
            side = before if forward else after
            keys = {}
            for i, k in enumerate(current[r]):
                ends = [fixed[o] for o in side[k] if o in fixed]
                keys[k] = sum(ends) / len(ends) if ends else float(i)
            current[r].sort(key=keys.__getitem__)
        crossings = _crossings(current, after)
        if crossings < best_crossings:
            best, best_crossings = [list(layer) for layer in current], crossings
        if best_crossings == 0:
            break
    return best


def _place(
    layers: list[list[str]],
    heights: dict[str, float],
    before: dict[str, list[str]],
    after: dict[str, list[str]],
    sweeps: int = 10,
) -> dict[str, float]:
    """Centres y: stacked, then pulled towards the neighbours while keeping order and gaps."""
    y: dict[str, float] = {}
    for layer in layers:
        position = 0.0
        for i, k in enumerate(layer):
            if i:
                position += _gap(layer[i - 1], k, heights)
            y[k] = position
        for k in layer:  # centre each column on 0
            y[k] -= position / 2
    for sweep in range(sweeps):
        forward = sweep % 2 == 0
        order = layers if forward else layers[::-1]
        for layer in order:
            desired = []
            for k in layer:
                if sweep >= sweeps - 2:
                    ends = before[k] + after[k]
                else:
                    ends = before[k] if forward else after[k]
                desired.append(sum(y[o] for o in ends) / len(ends) if ends else y[k])
            for k, value in zip(layer, _spaced(layer, desired, heights), strict=True):
                y[k] = value
    return y


def _gap(a: str, b: str, heights: dict[str, float]) -> float:
    virtual = a.startswith("v") and b.startswith("v")
    return (heights[a] + heights[b]) / 2 + (4.0 if virtual else GAP_Y)


def _spaced(layer: list[str], desired: list[float], heights: dict[str, float]) -> list[float]:
    """The positions closest to ``desired`` (least squares) with each at least its gap below
    the one before: isotonic regression of desired − offset, by pool-adjacent-violators."""
    offsets = [0.0]
    for i in range(1, len(layer)):
        offsets.append(offsets[-1] + _gap(layer[i - 1], layer[i], heights))
    targets = [d - o for d, o in zip(desired, offsets, strict=True)]
    blocks: list[list[float]] = []  # [mean, count]
    for t in targets:
        blocks.append([t, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, count = blocks.pop()
            blocks[-1][0] = (blocks[-1][0] * blocks[-1][1] + mean * count) / (blocks[-1][1] + count)
            blocks[-1][1] += count
    fitted = [mean for mean, count in blocks for _ in range(int(count))]
    return [z + o for z, o in zip(fitted, offsets, strict=True)]
