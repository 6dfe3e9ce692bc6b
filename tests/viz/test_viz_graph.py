"""The content of graph pictures: nodes, kinds, edges and their shapes, fan-out marks."""

from __future__ import annotations

import os
import stat
import sys

import numpy as np
import pytest

import gradgate as gg
import gradgate.viz
from gradgate.viz.graph import GATE, INPUT, PARAMETER


def test_two_layer_nodes_kinds_and_edges(two_layer):
    E, names = two_layer
    g = gradgate.viz.graph(E, names=names)
    kinds = {n.name: n.kind for n in g.nodes}
    assert kinds == {
        "W1": PARAMETER,
        "W2": PARAMETER,
        "x": INPUT,
        "t": INPUT,
        "s1": GATE,
        "o1": GATE,
        "s2": GATE,
        "o2": GATE,
        "E": GATE,
    }
    assert {n.name: n.gate for n in g.nodes if n.kind == GATE} == {
        "s1": "MatVec",
        "o1": "Sigmoid",
        "s2": "MatVec",
        "o2": "Sigmoid",
        "E": "SqErr",
    }
    assert g.node(g.root).name == "E" and g.node(names["W1"]).name == "W1"
    with pytest.raises(KeyError):
        g.node("W3")
    assert g.node("W1").shape == (3, 4) and g.node("E").shape == ()
    assert [n.name for n in g.inputs_of("s2")] == ["W2", "o1"]
    assert [n.name for n in g.inputs_of("E")] == ["o2", "t"]
    labels = sorted((g.node(e.source).name, g.node(e.target).name, e.label) for e in g.edges)
    assert labels == sorted(
        [
            ("W1", "s1", "W1 (3, 4)"),
            ("x", "s1", "x (4,)"),
            ("s1", "o1", "s1 (3,)"),
            ("W2", "s2", "W2 (2, 3)"),
            ("o1", "s2", "o1 (3,)"),
            ("s2", "o2", "s2 (2,)"),
            ("o2", "E", "o2 (2,)"),
            ("t", "E", "t (2,)"),
        ]
    )
    assert [e.slot_name for e in g.edges_into("s1")] == ["W", "o"]  # the gate's own names
    assert g.fanouts == []
    assert "fan-out" not in g.to_text() and "xlabel" not in g.to_dot()


def test_nodes_come_in_forward_order(two_layer):
    E, names = two_layer
    g = gradgate.viz.graph(E, names=names)
    position = {n.id: k for k, n in enumerate(g.nodes)}
    for e in g.edges:
        assert position[e.source] < position[e.target]
    assert [n.name for n in g.nodes] == ["W1", "x", "s1", "o1", "W2", "s2", "o2", "t", "E"]


def test_a_value_read_three_times_is_marked_as_fan_out(fanout):
    L, names = fanout
    g = gradgate.viz.graph(L, names=names)
    a = g.node("a")
    assert a.fanout and a.consumers == 3
    assert [n.name for n in g.fanouts] == ["a"]
    assert sorted(n.gate for n in g.consumers_of(a)) == ["Mul", "Mul", "Sigmoid"]
    from_a = [e for e in g.edges if e.source == a.id]
    assert len(from_a) == 3 and all(e.fanout for e in from_a)
    assert not any(e.fanout for e in g.edges if e.source != a.id)
    assert "Σ of 3 gradients" in a.lines()
    assert "a (3,)  parameter  [fan-out: Σ of 3 gradients]" in g.to_text()
    dot = g.to_dot()
    assert dot.count("penwidth=3") == 1 and 'xlabel="Σ ×3"' in dot


def test_a_constant_read_twice_is_not_a_fan_out_point():
    w = gg.tensor([1.0, 2.0], requires_grad=True)
    c = gg.tensor([3.0, 4.0])  # no gradient flows into c, so nothing is summed there
    y = (w * c + c).sum()
    g = gradgate.viz.graph(y, names={"c": c, "w": w})
    assert g.node("c").consumers == 2 and not g.node("c").fanout


def test_two_equal_constants_stay_two_nodes():
    w = gg.tensor([1.0, 2.0], requires_grad=True)
    y = w * gg.tensor([2.0, 2.0]) + gg.tensor([2.0, 2.0])
    g = gradgate.viz.graph(y)
    assert sum(n.kind == INPUT for n in g.nodes) == 2
    assert [n.name for n in g.nodes if n.kind == INPUT] == ["input1", "input2"]


def test_default_names_come_from_gates_and_kinds(two_layer):
    E, _ = two_layer
    g = gradgate.viz.graph(E)
    assert [n.name for n in g.nodes] == [
        "param1",
        "input1",
        "matvec1",
        "sigmoid1",
        "param2",
        "matvec2",
        "sigmoid2",
        "input2",
        "sqerr1",
    ]


def test_the_lecture_matrices_show_their_numbers_by_default(two_layer):
    E, names = two_layer
    g = gradgate.viz.graph(E, names=names)
    E.backward()
    np.testing.assert_array_equal(g.node("W1").value, names["W1"].numpy())  # 3 × 4
    np.testing.assert_array_equal(g.node("W1").grad, names["W1"].grad.numpy())
    assert (
        sum(line.startswith("grad [") or line.startswith("     [") for line in g.node("W1").lines())
        >= 3
    )


def test_values_and_gradients_of_small_tensors_only(two_layer):
    E, names = two_layer
    g = gradgate.viz.graph(E, names=names, max_values=6)
    assert g.node("W1").value is None  # 12 elements
    np.testing.assert_array_equal(g.node("W2").value, names["W2"].numpy())
    assert g.node("W2").grad is None
    E.backward()  # the graph was drawn before: it shows the leaves' gradients now
    np.testing.assert_array_equal(g.node("W2").grad, names["W2"].grad.numpy())
    assert g.node("W1").grad is None
    lines = g.node("W2").lines()
    row = lines.index(next(line for line in lines if line.startswith("grad [")))
    assert lines[row + 1].startswith(" " * len("grad ") + "[")  # a matrix: one row a line


def test_a_graph_drawn_after_backward_keeps_structure_leaves_and_held_tensors(two_layer):
    E, names = two_layer
    E.backward()  # releases the saved values, keeps the structure
    g = gradgate.viz.graph(E, names=names)
    before = gradgate.viz.graph(*_fresh(names))
    assert [(n.name, n.kind, n.gate, n.shape) for n in g.nodes] == [
        (n.name, n.kind, n.gate, n.shape) for n in before.nodes
    ]
    assert sorted(e.label for e in g.edges) == sorted(e.label for e in before.edges)
    np.testing.assert_array_equal(g.node("W1").grad, names["W1"].grad.numpy())
    np.testing.assert_array_equal(g.node("x").value, names["x"].numpy())
    np.testing.assert_array_equal(g.node("o1").value, names["o1"].numpy())  # held in names
    assert g.node(names["s2"]).name == "s2"


def test_after_backward_unheld_intermediates_show_their_shape_only(two_layer):
    E, names = two_layer
    E.backward()
    leaves = {k: names[k] for k in ("x", "W1", "W2", "t")}
    g = gradgate.viz.graph(E, names=leaves)
    assert [n.name for n in g.nodes] == [
        "W1",
        "x",
        "matvec1",
        "sigmoid1",
        "W2",
        "matvec2",
        "sigmoid2",
        "t",
        "sqerr1",
    ]
    s1 = g.node("matvec1")
    assert s1.tensor is None and s1.shape == (3,) and s1.value is None and s1.grad is None
    assert s1.lines() == ["MatVec", "matvec1 (3,)"]
    assert g.node("sqerr1").value is not None  # the root is held: it was passed in
    np.testing.assert_array_equal(g.node("W2").grad, names["W2"].grad.numpy())


def test_a_fan_out_is_still_a_fan_out_after_backward(fanout):
    L, names = fanout
    L.backward()
    g = gradgate.viz.graph(L, names={"a": names["a"]})
    assert [n.name for n in g.fanouts] == ["a"] and g.node("a").consumers == 3


def _fresh(names):
    """The same network built again from the same leaves, before any backward."""
    x, W1, W2, t = (names[k] for k in ("x", "W1", "W2", "t"))
    s1 = gg.matvec(W1, x)
    o1 = gg.sigmoid(s1)
    s2 = gg.matvec(W2, o1)
    o2 = gg.sigmoid(s2)
    E = gg.sqerr(o2, t)
    return E, {"x": x, "W1": W1, "s1": s1, "o1": o1, "W2": W2, "s2": s2, "o2": o2, "t": t, "E": E}


def test_a_retained_graph_can_be_drawn_after_backward(two_layer):
    E, names = two_layer
    E.backward(retain_graph=True)
    g = gradgate.viz.graph(E, names=names)
    assert len(g.nodes) == 9
    np.testing.assert_array_equal(g.node("E").value, E.numpy())


def test_gate_parameters_are_shown_and_long_ones_cut():
    x = gg.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    y = x.sum(axis=0)
    z = y[np.arange(40) % 4]
    g = gradgate.viz.graph(z)
    assert g.node("sum1").params["axis"] == "0"
    assert "axis=0" in g.node("sum1").lines()[2]
    index = g.node("getitem1").params["index"]
    assert len(index) <= 24 and index.endswith("…")


def test_a_100000_gate_chain_builds_without_recursion():
    x = gg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = -y
    g = gradgate.viz.graph(y)
    assert len(g.nodes) == 100_001 and len(g.edges) == 100_000


def test_graph_needs_a_tensor():
    with pytest.raises(TypeError, match="expected a Tensor"):
        gradgate.viz.graph(np.ones(3))


def test_save_picks_the_format_from_the_extension(tmp_path, two_layer):
    E, names = two_layer
    g = gradgate.viz.graph(E, names=names)
    g.save(tmp_path / "g.dot")
    assert (tmp_path / "g.dot").read_text().startswith("digraph gradgate {")
    g.save(tmp_path / "g.svg", graphviz=False)
    assert "<svg" in (tmp_path / "g.svg").read_text()
    with pytest.raises(ValueError, match=r"\.svg, \.png"):
        g.save(tmp_path / "g.jpeg")
    assert g._repr_svg_().lstrip().startswith("<?xml")


def test_dot_text_escapes_quotes_and_lists_every_edge(fanout):
    L, names = fanout
    a = names["a"]
    g = gradgate.viz.graph(L, names={'say "a"': a})
    dot = g.to_dot()
    assert 'say \\"a\\" (3,)' in dot
    assert dot.count(" -> ") == len(g.edges) == 6


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script stands in for dot")
def test_graphviz_is_used_when_dot_is_on_path(tmp_path, monkeypatch, fanout):
    L, names = fanout
    fake = tmp_path / "dot"
    received = tmp_path / "received.dot"
    fake.write_text(
        f'#!/bin/sh\necho "$1" > "{tmp_path}/format"\ncat > "{received}"\n'
        'echo "<svg xmlns=\\"http://www.w3.org/2000/svg\\">from dot</svg>"\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    g = gradgate.viz.graph(L, names=names)
    assert "from dot" in g.to_svg()
    assert (tmp_path / "format").read_text().strip() == "-Tsvg"
    assert received.read_text() == g.to_dot()
    assert "from dot" not in g.to_svg(graphviz=False)


def test_graphviz_true_without_dot_is_an_error(monkeypatch, fanout, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no dot there
    L, _ = fanout
    with pytest.raises(RuntimeError, match="dot is not on PATH"):
        gradgate.viz.graph(L).to_svg(graphviz=True)
    assert "<svg" in gradgate.viz.graph(L).to_svg()  # and None falls back quietly
