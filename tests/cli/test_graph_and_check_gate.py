"""`gradgate graph` and `gradgate check-gate`."""

from __future__ import annotations

import sys
import textwrap
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import gradgate as gg
from gradgate import io
from gradgate.cli import main
from gradgate.cli.check_gate import parse_shapes


def gradgate(*argv: str) -> int:
    """The gradgate command line's exit status."""
    return main(list(argv))


def svg_texts(path) -> list[str]:
    root = ET.parse(path).getroot()
    return [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]


def test_graph_of_the_lecture_network(tmp_path, capsys):
    out = tmp_path / "net.svg"
    assert gradgate("graph", "-o", str(out), "--no-graphviz") == 0
    assert "9 nodes, 8 edges" in capsys.readouterr().out
    texts = svg_texts(out)
    for label in (
        "W1 (3, 4)",
        "x (4,)",
        "W2 (2, 3)",
        "t (2,)",
        "s1 (3,)",
        "o2 (2,)",
        "E ()",
        "MatVec",
        "Sigmoid",
        "SqErr",
    ):
        assert label in texts
    assert "grad 1" in texts  # backward ran: dE/dE = 1 is shown at E
    # numbers to read: W1's three rows of values and of gradients (exercise 20.4)
    assert sum(t.startswith("value [") for t in texts) == 8  # every tensor but E, a number
    assert sum(t.startswith("      [") for t in texts) == 3  # W1's rows 2, 3 and W2's row 2
    assert sum(t.startswith("     [") for t in texts) == 3  # and those of their gradients


def test_graph_of_a_wider_lecture_network(tmp_path):
    out = tmp_path / "net.svg"
    assert gradgate("graph", "-o", str(out), "--hidden", "5", "--no-graphviz") == 0
    assert "W1 (5, 4)" in svg_texts(out)


@pytest.mark.parametrize("extension", [".dot", ".html"])
def test_graph_other_formats(tmp_path, extension):
    out = tmp_path / f"net{extension}"
    assert gradgate("graph", "lecture", "-o", str(out), "--hidden", "3") == 0
    text = out.read_text(encoding="utf-8")
    assert ("digraph gradgate" in text) if extension == ".dot" else ("<svg" in text)


def test_graph_png(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "net.png"
    assert gradgate("graph", "-o", str(out), "--hidden", "3", "--no-graphviz") == 0
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_graph_png_without_matplotlib_or_graphviz_fails_with_the_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot
    for name in [m for m in sys.modules if m.split(".")[0] == "matplotlib"] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)
    assert gradgate("graph", "-o", str(tmp_path / "net.png"), "--hidden", "3") == 1
    assert "pip install matplotlib" in capsys.readouterr().err


def test_graph_of_a_checkpoint(tmp_path):
    rng = np.random.default_rng(0)
    state = {
        "0.weight": rng.standard_normal((4, 6)),
        "0.bias": np.zeros(4),
        "1.weight": gg.tensor(rng.standard_normal((3, 4)), requires_grad=True),
    }
    momentum = {"0": np.zeros((4, 6)), "1": np.zeros((4, 6))}  # not part of the chain
    path = tmp_path / "model.ckpt"
    io.save({"model": state, "optimizer": {"momentum": momentum}, "epoch": 3}, path)
    out = tmp_path / "model.svg"
    assert gradgate("graph", str(path), "-o", str(out)) == 0
    texts = svg_texts(out)
    for label in (
        "0.weight (4, 6)",
        "0.bias (4,)",
        "1.weight (3, 4)",
        "x (6,)",
        "t (3,)",
        "Add",
        "E ()",
    ):
        assert label in texts
    assert texts.count("MatVec") == 2 and texts.count("Sigmoid") == 2


def test_graph_of_a_training_checkpoint_follows_its_config(tmp_path):
    rng = np.random.default_rng(1)
    state = {
        "0.weight": rng.standard_normal((5, 4)),
        "0.bias": np.zeros(5),
        "2.weight": rng.standard_normal((3, 5)),
        "2.bias": np.zeros(3),
    }
    path = tmp_path / "run.ckpt"
    io.save({"config": {"activation": "relu", "loss": "cross_entropy"}, "model": state}, path)
    out = tmp_path / "run.svg"
    assert gradgate("graph", str(path), "-o", str(out)) == 0
    texts = svg_texts(out)
    assert texts.count("Relu") == 1 and "Sigmoid" not in texts  # no activation on logits
    assert "CrossEntropy" in texts and "SqErr" not in texts
    io.save({"config": {"activation": "swish", "loss": "sqerr"}, "model": state}, path)
    assert gradgate("graph", str(path), "-o", str(out)) == 2


def test_graph_of_a_checkpoint_without_weights_fails_clearly(tmp_path, capsys):
    path = tmp_path / "empty.ckpt"
    io.save({"epoch": 1, "bias": np.zeros(3)}, path)
    assert gradgate("graph", str(path), "-o", str(tmp_path / "g.svg")) == 2
    err = capsys.readouterr().err
    assert err.startswith("gradgate graph: error:") and "no weight matrices" in err


def test_graph_of_a_script_after_its_backward(tmp_path, capsys):
    script = tmp_path / "model.py"
    script.write_text(
        textwrap.dedent("""
        import gradgate as gg
        w = gg.tensor([0.5, -1.0], requires_grad=True)
        h = gg.sigmoid(w)
        loss = gg.sqerr(h * w, gg.tensor([1.0, 0.0]))
        if __name__ == "__main__":
            loss.backward()  # releases the graph; the command drew it as it ran
    """)
    )
    out = tmp_path / "model.svg"
    assert gradgate("graph", str(script), "-o", str(out)) == 0
    assert "1 fan-out point\n" in capsys.readouterr().out  # not "1 fan-out points"
    texts = svg_texts(out)
    assert {"w (2,)", "h (2,)", "loss ()", "Mul", "Σ of 2 gradients"} <= set(texts)


def test_graph_of_a_script_needs_the_tensor(tmp_path, capsys):
    script = tmp_path / "s.py"
    script.write_text("import gradgate as gg\nz = gg.tensor([1.0], requires_grad=True) * 2\n")
    assert gradgate("graph", str(script), "-o", str(tmp_path / "g.svg")) == 2
    assert "tensors found: z" in capsys.readouterr().err
    assert gradgate("graph", str(script), "--tensor", "z", "-o", str(tmp_path / "g.svg")) == 0


def test_graph_refuses_an_unknown_format(tmp_path, capsys):
    assert gradgate("graph", "-o", str(tmp_path / "g.jpeg")) == 2
    assert "cannot tell the format" in capsys.readouterr().err


def test_check_gate_passes_a_builtin_gate_on_its_samples(capsys):
    assert gradgate("check-gate", "gradgate.gates.linalg:MatVec", "--quiet") == 0
    out = capsys.readouterr().out
    assert out.count(": ok") == 3 and "MatVec: 3 of 3 cases passed" in out


USER_GATES = '''
import numpy as np
from gradgate.gates import Gate


class Cube(Gate):
    """o = s³.   dE/ds = 3 s² ⊙ g."""

    def forward(self, xp, s):
        return s ** 3

    def vjp(self, xp, g, o, s):
        return (3 * s ** 2 * g,)


class WrongCube(Gate):
    """o = s³ with the factor 3 forgotten in backward."""

    def forward(self, xp, s):
        return s ** 3

    def vjp(self, xp, g, o, s):
        return (s ** 2 * g,)


class Scale(Gate):
    """o = k · x · y."""

    def __init__(self, k):
        self.k = k

    def forward(self, xp, x, y):
        return self.k * x * y

    def vjp(self, xp, g, o, x, y):
        return self.k * g * y, self.k * g * x
'''


def test_check_gate_on_a_users_gates(tmp_path, capsys, monkeypatch):
    (tmp_path / "mygates.py").write_text(USER_GATES)
    monkeypatch.chdir(tmp_path)
    assert gradgate("check-gate", "mygates:Cube") == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "backward returned" in out and "finite differences" in out
    assert gradgate("check-gate", "mygates.py:WrongCube") == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "0 of 1 cases passed" in out
    assert (
        gradgate(
            "check-gate",
            "mygates:Scale",
            "--params",
            '{"k": 2.5}',
            "--shapes",
            "2,3;3",
            "--range",
            "0.5,2",
        )
        == 0
    )
    assert "inputs (2, 3), (3,)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "spec, message",
    [
        ("nomodule:Thing", "No module named"),
        ("gradgate.gates.linalg:Nothing", "Nothing"),
        ("gradgate.tensor:Tensor", "not a Gate subclass"),
        ("no-colon", "expected module:GateClass"),
    ],
)
def test_check_gate_explains_a_bad_name(spec, message, capsys):
    assert gradgate("check-gate", spec) == 2
    assert message in capsys.readouterr().err


def test_parse_shapes():
    assert parse_shapes("3,4;4") == [(3, 4), (4,)]
    assert parse_shapes("();2") == [(), (2,)]
    with pytest.raises(ValueError, match="--shapes"):
        parse_shapes("3x4")
