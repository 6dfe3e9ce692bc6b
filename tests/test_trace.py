"""Backward traces: the order of the steps, fan-out sums, and the three renderings."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import gradgate as gg
import gradgate.viz
from gradgate.trace import Trace, tex_name, trace
from gradgate.viz.text import array_text


def assert_valid_reverse_order(tr: Trace) -> None:
    """Every gate runs backward only after every gate that reads its output has."""
    g = tr.graph
    ran = {s.node: s.index for s in tr.steps if s.kind == "backward"}
    for node_id, index in ran.items():
        for consumer in g.consumers_of(node_id):
            assert ran[consumer.id] < index, (consumer.name, g.node(node_id).name)
    for s in tr.steps:
        if s.kind == "leaf":  # a leaf is complete after every gate that feeds it back
            for consumer in g.consumers_of(s.node):
                if consumer.id in ran:
                    assert ran[consumer.id] < s.index


def test_two_layer_trace_visits_the_gates_in_reverse_order(make_two_layer):
    E, names = make_two_layer()
    with trace(names) as tr:
        E.backward()
    assert tr.gates == ["SqErr", "Sigmoid", "MatVec", "Sigmoid", "MatVec"]
    assert [s.tensor for s in tr.steps] == ["E", "o2", "s2", "W2", "o1", "s1", "W1"]
    assert [s.kind for s in tr.steps] == ["backward"] * 3 + ["leaf"] + ["backward"] * 2 + ["leaf"]
    assert tr.of_kind("sum") == []
    assert_valid_reverse_order(tr)


def test_each_step_records_the_lectures_numbers(make_two_layer):
    E, n = make_two_layer()
    with trace(n) as tr:
        E.backward()
    o1, o2, t, W2 = (n[k].numpy() for k in ("o1", "o2", "t", "W2"))
    steps = {s.tensor: s for s in tr.steps}
    np.testing.assert_array_equal(steps["E"].g, 1.0)
    sent = {s.input: s.gradient for s in steps["E"].sent}
    np.testing.assert_allclose(sent["o2"], o2 - t)  # dE/do = o − t      (20.1)
    assert sent["t"] is None  # the target asks for no gradient
    dE_ds2 = (o2 - t) * o2 * (1 - o2)  # σ(s)(1 − σ(s)) ⊙ dE/do        (20.2)
    np.testing.assert_allclose(steps["s2"].g, dE_ds2)
    sent = {s.input: s.gradient for s in steps["s2"].sent}
    np.testing.assert_allclose(sent["W2"], np.outer(dE_ds2, o1))  # dE/ds ⊗ o   (20.3b)
    np.testing.assert_allclose(sent["o1"], W2.T @ dE_ds2)  # Wᵀ dE/ds      (20.3a)
    np.testing.assert_array_equal(steps["W2"].g, n["W2"].grad.numpy())
    np.testing.assert_array_equal(steps["W1"].g, n["W1"].grad.numpy())


def test_a_value_that_feeds_two_gates_gets_a_sum_step():
    s = gg.tensor(np.array([-1.0, 0.0, 0.5]), requires_grad=True)
    W = gg.tensor(np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]]))
    with trace({"s": s, "W": W}) as tr:
        a = gg.sigmoid(s)
        b = gg.matvec(W, s)
        E = gg.sqerr(a, gg.tensor(np.zeros(3))) + gg.sqerr(b, gg.tensor(np.ones(2)))
        E.backward()
    (total,) = tr.of_kind("sum")
    assert total.tensor == "s"
    assert sorted((p.gate, p.slot_name) for p in total.parts) == [("MatVec", "o"), ("Sigmoid", "s")]
    np.testing.assert_allclose(sum(p.gradient for p in total.parts), total.g)
    np.testing.assert_allclose(total.g, s.grad.numpy())
    sent = [x.gradient for step in tr.of_kind("backward") for x in step.sent if x.input == "s"]
    assert len(sent) == 2 and all(p.step < total.index for p in total.parts)
    assert tr.steps[-1].kind == "leaf" and tr.steps[-1].tensor == "s"
    assert [n.name for n in tr.graph.fanouts] == ["s"]
    assert_valid_reverse_order(tr)


def test_a_value_used_twice_by_one_gate_and_once_more():
    a = gg.tensor(np.array([1.0, -2.0]), requires_grad=True)
    with trace({"a": a}) as tr:
        L = (a * a + gg.sigmoid(a)).sum()
        L.backward()
    sums = tr.of_kind("sum")
    assert len(sums) == 2  # the 2nd and the 3rd contribution each make a sum
    assert [(p.gate, p.slot_name) for p in sums[0].parts] == [("Mul", "x"), ("Mul", "y")]
    assert len(sums[1].parts) == 3
    np.testing.assert_allclose(sums[0].g, 2 * a.numpy())
    np.testing.assert_allclose(sums[1].g, a.grad.numpy())
    assert "a via x" in tr.to_text() and "a via y" in tr.to_text()


def test_tracing_changes_no_gradient(make_two_layer):
    E, n = make_two_layer()
    E.backward()
    expected = n["W1"].grad.numpy().copy()
    E, n = make_two_layer()
    with trace(n):
        E.backward()
    np.testing.assert_array_equal(n["W1"].grad.numpy(), expected)


def test_the_trace_keeps_the_graph_with_every_gradient(make_two_layer):
    E, n = make_two_layer()
    with trace(n) as tr:
        E.backward()  # releases the saved values: a plain graph has no inner gradients
    assert gradgate.viz.graph(E, names=n).node("s1").grad is None
    g = tr.graph
    assert len(g.nodes) == 9
    o2, t = n["o2"].numpy(), n["t"].numpy()
    np.testing.assert_allclose(g.node("o2").grad, o2 - t)
    np.testing.assert_allclose(g.node("s1").grad, tr.steps[5].g)
    assert "grad" in "\n".join(g.node("s1").lines())


def test_graph_of_a_tensor_built_inside_the_trace(make_two_layer):
    E, n = make_two_layer()
    x = n["x"]
    with trace(n) as tr:
        y = gg.sigmoid(gg.matvec(n["W1"], x))
        L = y.sum()
        L.backward()
    g = tr.graph_of(y)
    assert [node.gate for node in g.nodes if node.gate] == ["MatVec", "Sigmoid"]


def test_the_observer_leaves_with_the_block(make_two_layer):
    E, n = make_two_layer()
    with trace(n) as tr:
        pass
    E.backward()
    assert tr.steps == []
    with pytest.raises(RuntimeError, match="no backward pass"):
        _ = tr.graph
    assert "no backward steps" in tr.to_text()


def test_a_trace_sees_its_own_thread_only(make_two_layer):
    E, n = make_two_layer()
    other, _ = make_two_layer(seed=5)
    worker = threading.Thread(target=other.backward)
    with trace(n) as tr:
        worker.start()
        worker.join()
    assert tr.steps == []


def test_a_trace_cannot_be_entered_twice():
    tr = trace()
    with tr, pytest.raises(RuntimeError, match="already recording"):
        tr.__enter__()


def test_create_graph_backward_is_traced_as_arrays():
    x = gg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with trace({"x": x}) as tr:
        (x * x * x).sum().backward(create_graph=True)
    assert tr.gates == ["Sum", "Mul", "Mul"]
    assert all(isinstance(s.g, np.ndarray) for s in tr.steps)
    np.testing.assert_allclose(tr.steps[-1].g, 3 * x.numpy() ** 2)


def test_text_table_has_the_lectures_formulas(make_two_layer):
    E, n = make_two_layer()
    with trace(n) as tr:
        E.backward()
    text = str(tr)
    lines = text.splitlines()
    assert lines[0].split() == ["#", "event", "formula", "numbers"]
    assert "dE/do2 = o2 − t" in text and "(dE/do2)ᵀ" not in text  # at the root: SqErr's own
    assert "dE/ds2 = (do2/ds2)ᵀ dE/do2 = σ(s2)(1 − σ(s2)) ⊙ dE/do2" in text
    assert "dE/dW2 = (ds2/dW2)ᵀ dE/ds2 = dE/ds2 ⊗ o1" in text
    assert "dE/do1 = (ds2/do1)ᵀ dE/ds2 = W2ᵀ dE/ds2" in text
    assert "dE/dt: not needed" in text and "(3, 4) array" not in text  # W1's 12 numbers
    W1 = n["W1"].grad.numpy()
    assert f"{W1[2, 3]:.4g}" in text
    assert "<Trace: 5 gate steps, 0 fan-out sums, 2 leaves>" == repr(tr)


def test_markdown_has_latex_in_the_lectures_notation(make_two_layer):
    E, n = make_two_layer()
    with trace(n) as tr:
        E.backward()
    md = tr.to_markdown()
    assert md == tr._repr_markdown_()
    assert md.count("$$") % 2 == 0
    for line in md.splitlines():
        assert line.count("{") == line.count("}"), line
    general = (
        "\\frac{\\partial E}{\\partial s_{2}} = \\left(\\frac{\\partial o_{2}}"
        "{\\partial s_{2}}\\right)^{\\!\\top} \\frac{\\partial E}{\\partial o_{2}}"
    )
    assert general + " = \\sigma(s_{2})" in md  # the general rule, then the sigmoid's
    assert "W_{2}^\\top \\frac{\\partial E}{\\partial s_{2}}" in md  # 20.3a
    assert "\\frac{\\partial E}{\\partial s_{1}}\\, x^\\top" in md  # 20.3b, as g xᵀ
    assert "E = \\tfrac{1}{2} \\sum_j (t_j - (o_{2})_j)^2" in md


def test_markdown_shows_a_fan_out_sum_as_a_sum_of_terms():
    a = gg.tensor(np.array([1.0, -2.0]), requires_grad=True)
    with trace({"a": a}) as tr:
        (a * a).sum().backward()
    md = tr.to_markdown()
    assert "\\underbrace" in md and "\\text{from Mul, slot x, step" in md
    assert "\\text{from Mul, slot y, step" in md
    total = [
        line
        for line in md.splitlines()
        if line.startswith("$$ \\frac{\\partial E}{\\partial a} = ")
    ][-1]
    assert total.count("\\left(") == 2 and " + " in total  # J₁ᵀg₁ + J₂ᵀg₂
    assert "= `[1, -2]`" in md and "= `[2, -4]`" in md  # each addend, then the total


def test_a_fan_out_row_shows_each_addend_and_the_total():
    a = gg.tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    L = (a * a + gg.sigmoid(a)).sum()  # a feeds three input slots
    with trace({"a": a, "L": L}) as tr:
        L.backward()
    last = tr.of_kind("sum")[-1]
    lines = tr._lines(last)
    assert len(lines) == len(last.parts) + 1 == 4
    for (formula, numbers), part in zip(lines, last.parts, strict=False):
        assert f"(step {part.step})" in formula
        assert numbers.strip().lstrip("+ ") == array_text(part.gradient)
    assert lines[-1][1] == "= " + array_text(last.g)
    np.testing.assert_allclose(sum(p.gradient for p in last.parts), last.g)
    text = str(tr)
    assert "from Mul → mul1 via x (step" in text and "from Mul → mul1 via y (step" in text


@pytest.mark.parametrize(
    "name, tex",
    [
        ("s1", "s_{1}"),
        ("W2", "W_{2}"),
        ("o", "o"),
        ("sigmoid1", "\\mathrm{sigmoid}_{1}"),
        ("t_a", "t_{a}"),
        ("a_b_c", "\\mathrm{a\\_b\\_c}"),
        ("0.weight", "\\mathrm{0.weight}"),
    ],
)
def test_tex_names(name, tex):
    assert tex_name(name) == tex


def test_save_html_and_markdown(tmp_path, make_two_layer):
    E, n = make_two_layer()
    with trace(n) as tr:
        E.backward()
    tr.save_html(tmp_path / "t.html", title="two <layers>")
    page = (tmp_path / "t.html").read_text(encoding="utf-8")
    assert "<title>two &lt;layers&gt;</title>" in page and page.count("<svg") == 1
    assert "dE/ds2 = (do2/ds2)ᵀ dE/do2" in page
    tr.save_markdown(tmp_path / "t.md")
    assert (tmp_path / "t.md").read_text(encoding="utf-8") == tr.to_markdown()
