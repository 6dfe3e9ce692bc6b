"""The built-in layout's SVG: valid XML, one element per node and edge, labels, no overlap."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import numpy as np

import gradgate as gg
import gradgate.viz
from gradgate.viz import style
from gradgate.viz.layout import layout

SVG = "{http://www.w3.org/2000/svg}"


def parse(text: str) -> ET.Element:
    return ET.fromstring(text.encode("utf-8"))


def groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}g") if cls in e.get("class", "").split()]


def node_text(group: ET.Element) -> list[str]:
    return [t.text or "" for t in group.iter(f"{SVG}text")]


def test_svg_is_valid_xml_with_a_group_per_node_and_edge(two_layer):
    E, names = two_layer
    g = gradgate.viz.graph(E, names=names)
    root = parse(g.to_svg(graphviz=False))
    assert root.tag == f"{SVG}svg"
    assert float(root.get("width")) > 100 and float(root.get("height")) > 50
    nodes = groups(root, "node")
    assert len(nodes) == len(g.nodes) == 9
    assert len(groups(root, "edge")) == len(g.edges) == 8
    first_lines = {node_text(n)[0] for n in nodes}
    assert first_lines == {
        "W1 (3, 4)",
        "x (4,)",
        "W2 (2, 3)",
        "t (2,)",
        "MatVec",
        "Sigmoid",
        "SqErr",
    }
    labels = {line for n in nodes for line in node_text(n)}
    assert {"s1 (3,)", "o1 (3,)", "s2 (2,)", "o2 (2,)", "E ()", "parameter", "input"} <= labels
    edge_labels = sorted(node_text(e)[0] for e in groups(root, "edge"))
    assert edge_labels == sorted(e.label for e in g.edges)
    for e in groups(root, "edge"):
        (path,) = e.iter(f"{SVG}path")
        assert path.get("d").startswith("M") and path.get("marker-end") == "url(#arrow)"
    assert {n.get("class") for n in groups(root, "parameter")} == {"node parameter"}
    assert not groups(root, "fanout")
    (legend,) = groups(root, "legend")
    assert node_text(legend) == ["parameter", "input", "gate"]  # no Σ without a fan-out


def test_fan_out_points_are_marked_in_the_svg(fanout):
    L, names = fanout
    g = gradgate.viz.graph(L, names=names)
    root = parse(g.to_svg(graphviz=False))
    (marked,) = [n for n in groups(root, "node") if "fanout" in n.get("class")]
    assert marked.get("data-name") == "a"
    (rect,) = marked.iter(f"{SVG}rect")
    assert rect.get("stroke") == style.FANOUT and float(rect.get("stroke-width")) >= 3
    assert "Σ" in node_text(marked) and len(list(marked.iter(f"{SVG}circle"))) == 1
    assert "backward sums 3 gradients" in marked.find(f"{SVG}title").text
    fan_edges = [e for e in groups(root, "edge") if "fanout" in e.get("class")]
    assert len(fan_edges) == 3
    for e in fan_edges:
        (path,) = e.iter(f"{SVG}path")
        assert path.get("stroke") == style.FANOUT
    (legend,) = groups(root, "legend")
    assert node_text(legend)[-1] == "Σ fan-out: gradients summed"


def test_names_are_escaped(fanout):
    L, names = fanout
    g = gradgate.viz.graph(L, names={"a<&>b": names["a"]})
    root = parse(g.to_svg(graphviz=False))
    assert any(node_text(n)[0] == "a<&>b (3,)" for n in groups(root, "node"))


def test_id_prefix_keeps_two_pictures_apart(fanout):
    L, _ = fanout
    root = parse(gradgate.viz.graph(L).to_svg(graphviz=False, id_prefix="p1-"))
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert ids and all(i.startswith("p1-") for i in ids)
    assert len(ids) == len(set(ids))


def test_boxes_do_not_overlap_and_edges_join_their_boxes(two_layer, fanout):
    for E, names in (two_layer, fanout):
        g = gradgate.viz.graph(E, names=names)
        placed = layout(g)
        boxes = list(placed.boxes.values())
        for a, b in itertools.combinations(boxes, 2):
            apart = a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y
            assert apart, (a.lines[0], b.lines[0])
        for box in boxes:
            assert box.x >= 0 and box.y >= 0
            assert box.x + box.w <= placed.width and box.y + box.h <= placed.legend_y
        for route in placed.routes:
            source, target = placed.boxes[route.edge.source], placed.boxes[route.edge.target]
            assert abs(route.start[0] - (source.x + source.w)) < 1e-6
            assert source.y < route.start[1] < source.y + source.h
            assert abs(route.end[0] - target.x) < 1e-6
            assert target.y < route.end[1] < target.y + target.h


def test_a_long_edge_passes_between_the_columns_it_crosses():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = gg.tanh(gg.exp(gg.sigmoid(x))) + x  # x also feeds the last gate, three columns on
    g = gradgate.viz.graph(y, names={"x": x})
    placed = layout(g)
    (long,) = [r for r in placed.routes if r.edge.slot == 1 and r.edge.target == g.root]
    # it crosses the columns of sigmoid, exp and tanh: a curve into each, a line through it
    assert [kind for kind, *_ in long.segments] == ["C", "L", "C", "L", "C", "L", "C"]
    for box in placed.boxes.values():
        for kind, *points in long.segments:
            if kind == "L":
                ((px, py),) = points
                inside = box.x < px < box.x + box.w and box.y < py < box.y + box.h
                assert not inside


def test_a_big_graph_renders():
    x = gg.tensor(np.arange(4.0), requires_grad=True)
    y = x
    for k in range(150):
        y = gg.sigmoid(y) + x if k % 10 == 0 else gg.tanh(y)
    root = parse(gradgate.viz.graph(y.sum()).to_svg(graphviz=False))
    assert len(groups(root, "node")) > 150
