"""The backprop explorer's data and page, without a browser (tests/viz/test_explore_browser.py
drives it in one)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import gradgate as gg
import gradgate.viz
from gradgate.cli import main as cli
from gradgate.trace import trace
from gradgate.viz.explore import PRESETS, explore, preset


def embedded(page: str) -> dict:
    (text,) = re.findall(r'<script id="data" type="application/json">(.*?)</script>', page, re.S)
    return json.loads(text.replace("<\\/", "</"))


def test_the_page_is_one_self_contained_file(two_layer):
    E, names = two_layer
    page = gradgate.viz.explore(E, names).to_html()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"\b(src|href)\s*=", page)
    assert "<link" not in page and "@import" not in page and "url(http" not in page
    assert set(re.findall(r"https?://[^\s\"'<>\\]+", page)) <= {"http://www.w3.org/2000/svg"}
    assert embedded(page)["title"] == "gradgate: backpropagation, gate by gate"


def test_steps_are_the_gates_forward_then_the_engines_backward(two_layer):
    E, names = two_layer
    page = explore(E, names)
    kinds = [s["kind"] for s in page.steps]
    assert kinds == ["forward"] * 5 + [
        "backward",
        "backward",
        "backward",
        "leaf",
        "backward",
        "backward",
        "leaf",
    ]
    assert [s["tensor"] for s in page.steps[:5]] == ["s1", "o1", "s2", "o2", "E"]
    assert [s["gate"] for s in page.steps if s["kind"] == "backward"] == [
        "SqErr",
        "Sigmoid",
        "MatVec",
        "Sigmoid",
        "MatVec",
    ]
    first = page.steps[0]
    assert first["formula"] == "s1 = W1 x" and [i["name"] for i in first["inputs"]] == ["W1", "x"]
    np.testing.assert_array_equal(first["inputs"][0]["value"]["v"], names["W1"].numpy())
    np.testing.assert_allclose(page.steps[-1]["g"]["v"], names["W1"].grad.numpy())


def test_a_backward_step_carries_J_JTg_what_backward_returned_and_differences(two_layer):
    E, names = two_layer
    page = explore(E, names)
    (step,) = [s for s in page.steps if s["kind"] == "backward" and s["tensor"] == "s2"]
    W2, o1 = step["inputs"]
    assert (W2["name"], o1["name"]) == ("W2", "o1")
    J_W, J_o = gg.check.local_jacobian(gg.gates.linalg.MatVec(), names["W2"], names["o1"])
    np.testing.assert_allclose(o1["J"]["v"], J_o)  # J = W2 (20.3a)
    np.testing.assert_allclose(W2["J"]["v"], J_W)  # I ⊗ o1ᵀ
    g = np.array(step["g"]["v"])
    np.testing.assert_allclose(o1["JTg"]["v"], names["W2"].numpy().T @ g)
    np.testing.assert_allclose(W2["returned"]["v"], names["W2"].grad.numpy())
    np.testing.assert_allclose(W2["fd"]["v"], W2["returned"]["v"], rtol=1e-5, atol=1e-8)
    outer = W2["outer"]  # dE/dW2 = dE/ds2 ⊗ o1 (20.3b), a grid with its two factors
    np.testing.assert_allclose(np.outer(outer["left"]["v"], outer["top"]["v"]), outer["grid"]["v"])
    (sqerr,) = [s for s in page.steps if s["kind"] == "backward" and s["gate"] == "SqErr"]
    assert sqerr["root"] and sqerr["inputs"][1]["returned"] is None  # nothing for t


def test_fan_out_sums_come_with_every_addend():
    page = preset("20.2")
    (fan,) = [s for s in page.steps if s["kind"] == "sum"]
    assert fan["tensor"] == "s" and sorted(p["gate"] for p in fan["parts"]) == ["MatVec", "Sigmoid"]
    total = sum(np.array(p["value"]["v"]) for p in fan["parts"])
    np.testing.assert_allclose(total, fan["total"]["v"])
    assert page.data["nodes"][fan["node"]]["fanout"]


def test_every_exercise_is_a_preset_citing_it():
    assert sorted(PRESETS) == ["20.0", "20.1", "20.2", "20.3", "20.4"]
    for name in PRESETS:
        page = preset(name)
        assert f"exercise {name}" in page.data["text"] and name in page.data["title"]
    assert preset("lecture").data["title"] == preset("20.4").data["title"]
    with pytest.raises(ValueError, match="no exercise '20.9'"):
        preset("20.9")


def test_big_arrays_are_summarised_and_J_left_out():
    W = gg.tensor(np.random.default_rng(0).standard_normal((20, 10)), requires_grad=True)
    x = gg.tensor(np.ones(10))
    page = explore(gg.sigmoid(gg.matvec(W, x)).sum())
    (mv,) = [s for s in page.steps if s["kind"] == "backward" and s["gate"] == "MatVec"]
    returned = mv["inputs"][0]["returned"]
    assert "v" not in returned and returned["shape"] == [20, 10]
    np.testing.assert_allclose(returned["norm"], np.linalg.norm(W.grad.numpy()))
    assert mv["inputs"][0]["J"] is None


def test_explore_after_backward_says_what_to_do(two_layer):
    E, names = two_layer
    E.backward()
    with pytest.raises(RuntimeError, match="before E.backward"):
        explore(E, names)


def test_gradgate_explore_writes_the_page(tmp_path, capsys):
    out = tmp_path / "b.html"
    assert cli(["explore", "20.3", "-o", str(out)]) == 0
    assert "1 gates forward, 1 backward" in capsys.readouterr().out
    assert embedded(out.read_text(encoding="utf-8"))["title"].startswith("Exercise 20.3")
    assert cli(["explore", "20.7", "-o", str(out)]) == 2
    assert "gradgate explore: error: explore: no exercise" in capsys.readouterr().err


def test_gradgate_explore_of_a_script_that_ran_backward_itself(tmp_path):
    script = tmp_path / "net.py"
    script.write_text(
        "import numpy as np\nimport gradgate as gg\n"
        "w = gg.tensor(np.array([0.5, -1.0]), requires_grad=True)\n"
        "h = gg.sigmoid(w)\nloss = (h * h).sum()\nloss.backward()\n",
        encoding="utf-8",
    )
    out = tmp_path / "b.html"
    assert cli(["explore", str(script), "-o", str(out)]) == 0
    data = embedded(out.read_text(encoding="utf-8"))
    assert [s["tensor"] for s in data["steps"] if s["kind"] != "forward"][:2] == ["loss", "mul1"]
    (fan,) = [s for s in data["steps"] if s["kind"] == "sum"]
    assert fan["tensor"] == "h"


def test_a_trace_recorded_elsewhere_is_shown_as_recorded(two_layer):
    E, names = two_layer
    with trace(names) as tr:
        E.backward()
    page = explore(E, names, recorded=tr)
    assert sum(s["kind"] == "backward" for s in page.steps) == len(tr.of_kind("backward"))
