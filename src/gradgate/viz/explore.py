"""The backprop explorer: one offline HTML page that steps through a pass gate by gate.

    page = gradgate.viz.explore(E, names={"W1": W1, "x": x, ...})
    page.save("backprop.html")      # or: gradgate explore 20.4

The page shows the graph, then every gate forward (the values flowing), then every step of
backward in the engine's own order: the upstream gradient g = dE/d(output), the gate's
Jacobian J when it is small, Jᵀ g, what the gate's backward returned and a
finite-difference estimate; each fan-out sum as J₁ᵀ g₁ + J₂ᵀ g₂ = total; dE/dW of a
matrix-vector gate as the grid dE/ds ⊗ o (lecture 20.3b). Every number is recorded here,
in Python, by a :func:`gradgate.trace.trace` of the real engine and embedded as JSON; the
page's script only displays them. Scripts and styles are inline: it works from file://
and fetches nothing.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import functional as F
from ..tensor import Tensor
from .graph import GATE, Graph
from .text import to_numpy

SHOWN = 64  # arrays of at most this many elements are shown in full; others by shape, norm
JACOBIAN = 64  # J is shown when it has at most this many entries
CHECKED = 256  # J and finite differences are computed for inputs and outputs this small


@dataclass
class Explorer:
    """The explorer's page, ready to write: ``data`` is everything it shows."""

    data: dict[str, Any]

    def to_html(self) -> str:
        """The page: one self-contained HTML file."""
        from .explore_page import PAGE, SCRIPT, STYLE

        payload = json.dumps(self.data, allow_nan=False, ensure_ascii=False)
        payload = payload.replace("</", "<\\/")  # a "</script>" in a name stays data
        title = _escape(self.data["title"])
        return (
            PAGE.replace("%TITLE%", title)
            .replace("%STYLE%", STYLE)
            .replace("%SCRIPT%", SCRIPT)
            .replace("%DATA%", payload)
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the page to ``path``."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_html())

    @property
    def steps(self) -> list[dict[str, Any]]:
        return self.data["steps"]


def explore(
    tensor: Tensor,
    names: Mapping[str, Tensor] | None = None,
    grad: Any = None,
    title: str = "gradgate: backpropagation, gate by gate",
    text: str = "",
    recorded: Any = None,
) -> Explorer:
    """Run ``tensor.backward(grad)`` under a trace and build the explorer of that pass.

    ``names`` labels tensors as in :func:`gradgate.viz.graph`; ``text`` is shown under the
    title. ``recorded`` is a :class:`gradgate.trace.Trace` that already watched the forward
    and the backward of ``tensor`` (a script that ran its own ``backward()``): its pass is
    shown, and nothing is run again.
    """
    from ..trace import trace

    if not isinstance(tensor, Tensor):
        raise TypeError(f"explore: expected a Tensor, got {type(tensor).__name__}")
    if recorded is not None and recorded.steps:
        tr = recorded
    else:
        if tensor.node is not None and tensor.node.released is not None:
            raise RuntimeError(
                "explore: backward() already ran through this tensor's graph, "
                "so there is no pass left to record. Call explore(E) before "
                "E.backward(); it runs backward itself"
            )
        with trace(dict(names or {})) as tr:
            tensor.backward(grad)
    g = tr.graph
    picture = g.with_max_values(0).to_svg(graphviz=False, id_prefix="g-")
    return Explorer(
        {
            "title": title,
            "text": text,
            "svg": _fit(picture),
            "nodes": {
                n.id: {
                    "name": n.name,
                    "kind": n.kind,
                    "gate": n.gate,
                    "shape": list(n.shape),
                    "fanout": n.fanout,
                }
                for n in g.nodes
            },
            "edges": [
                {"id": f"g-{e.source}-{e.target}-{e.slot}", "source": e.source, "target": e.target}
                for e in g.edges
            ],
            "steps": forward_steps(g) + backward_steps(tr, g),
        }
    )


# --- the steps ------------------------------------------------------------------------------


def forward_steps(g: Graph) -> list[dict[str, Any]]:
    """One step per gate, in forward order: its inputs' values and its output's value."""
    from ..trace import Step, forward_formula

    out = []
    for n in g.nodes:
        if n.kind != GATE or n.tensor is None:
            continue
        inputs = g.inputs_of(n)
        record = n.tensor.node
        rule = type(record.gate) if record is not None else None
        s = Step(
            0,
            "backward",
            n.name,
            n.id,
            0,
            np.zeros(()),
            gate=n.gate,
            inputs=[i.name for i in inputs],
            rule=rule,
        )
        out.append(
            {
                "kind": "forward",
                "node": n.id,
                "tensor": n.name,
                "gate": n.gate,
                "formula": forward_formula(s),
                "inputs": [{"name": i.name, "value": _array(i.tensor)} for i in inputs],
                "value": _array(n.tensor),
            }
        )
    return out


def backward_steps(tr: Any, g: Graph) -> list[dict[str, Any]]:
    """One step per event of the trace's first pass, in the order the engine ran them."""
    from ..trace import forward_formula

    out = []
    for s in tr.steps:
        if s.graph != 0:
            continue
        if s.kind == "leaf":
            out.append(
                {
                    "kind": "leaf",
                    "index": s.index,
                    "node": s.node,
                    "tensor": s.tensor,
                    "g": _array(s.g),
                }
            )
            continue
        if s.kind == "sum":
            rows = tr.rows(s)
            out.append(
                {
                    "kind": "sum",
                    "index": s.index,
                    "node": s.node,
                    "tensor": s.tensor,
                    "parts": [
                        {
                            "gate": p.gate,
                            "output": p.output,
                            "step": p.step,
                            "label": rows[k][0].strip().lstrip("+ "),
                            "value": _array(p.gradient),
                        }
                        for k, p in enumerate(s.parts)
                    ],
                    "total": _array(s.g),
                }
            )
            continue
        rows = tr.rows(s)
        node = g.node(s.node)
        inputs = g.inputs_of(node)
        checked = _checked(node, inputs, s)
        sent = []
        for k, item in enumerate(s.sent):
            part = checked.get(k, {})
            entry = {
                "name": item.input,
                "slot": item.slot_name,
                "rule": rows[1 + k][0],
                "returned": _array(item.gradient),
                "J": part.get("J"),
                "JTg": part.get("JTg"),
                "fd": part.get("fd"),
                "outer": None,
            }
            if (
                s.gate == "MatVec"
                and k == 0
                and item.gradient is not None
                and item.gradient.size <= SHOWN
            ):  # dE/dW = dE/ds ⊗ o (20.3b)
                entry["outer"] = {
                    "left": _array(s.g),
                    "top": _array(inputs[1].tensor),
                    "grid": _array(item.gradient),
                    "left_name": s.tensor,
                    "top_name": inputs[1].name,
                }
            sent.append(entry)
        out.append(
            {
                "kind": "backward",
                "index": s.index,
                "node": s.node,
                "tensor": s.tensor,
                "gate": s.gate,
                "root": s.root,
                "formula": forward_formula(s),
                "g": _array(s.g),
                "inputs": sent,
            }
        )
    return out


def _checked(node: Any, inputs: list[Any], s: Any) -> dict[int, dict[str, Any]]:
    """J, Jᵀ g and the finite-difference estimate of each input that takes a gradient, from
    :func:`gradgate.check.explain_gate` (empty where the tensors are too big to check)."""
    from ..check import explain_gate

    tensors = [i.tensor for i in inputs]
    record = node.tensor.node if node.tensor is not None else None
    wanted = [k for k, item in enumerate(s.sent) if item.gradient is not None]
    if (
        record is None
        or not wanted
        or any(t is None for t in tensors)
        or node.size > CHECKED
        or any(t.size > CHECKED for t in tensors)
    ):
        return {}
    try:
        report = explain_gate(
            record.gate, *[t.numpy() for t in tensors], g=to_numpy(s.g), wrt=wanted
        )
    except (TypeError, ValueError, RuntimeError, FloatingPointError):
        return {}  # a gate explain_gate cannot run on these inputs: the page shows the rest
    out = {}
    for part in report.inputs:
        if not part.needed:
            continue
        small = part.jacobian is not None and part.jacobian.size <= JACOBIAN
        out[part.index] = {
            "J": _array(part.jacobian) if small else None,
            "JTg": _array(part.jtg),
            "fd": _array(part.numeric),
        }
    return out


def _array(a: Any) -> dict[str, Any] | None:
    """An array for the page: its shape and, when small, its numbers (as recorded)."""
    if a is None:
        return None
    a = np.asarray(to_numpy(a))
    out: dict[str, Any] = {"shape": list(a.shape)}
    if a.dtype.kind == "b":
        a = a.astype(np.int64)
    if a.size <= SHOWN and a.dtype.kind in "iuf":
        values = np.where(np.isfinite(a), a, 0.0) if a.dtype.kind == "f" else a
        out["v"] = values.tolist()
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            out["v"] = np.vectorize(_finite_or_text, otypes=[object])(a).tolist()
    else:
        out["norm"] = float(np.linalg.norm(a.astype(np.float64))) if a.size else 0.0
    return out


def _finite_or_text(x: float) -> Any:
    return float(x) if np.isfinite(x) else str(x)


def _fit(svg: str) -> str:
    """The picture without its fixed size, so the page scales it to its box."""
    svg = re.sub(r"^<\?xml[^>]*\?>\s*", "", svg)
    return re.sub(
        r'<svg ([^>]*?)width="[^"]*" height="[^"]*"',
        r'<svg \1width="100%" height="100%" preserveAspectRatio="xMidYMid meet"',
        svg,
        count=1,
    )


def _rename(tr: Any, root: Tensor, names: Mapping[str, Tensor]) -> None:
    """Give a trace's first pass, recorded before the names were known, the user's names."""
    given = {id(t): name for name, t in names.items()}
    rename = {
        n.name: given[id(n.tensor)]
        for n in tr.graphs[0].nodes
        if n.tensor is not None and id(n.tensor) in given
    }
    for s in tr.steps:
        s.tensor = rename.get(s.tensor, s.tensor)
        s.inputs = [rename.get(i, i) for i in s.inputs]
        for item in s.sent:
            item.input = rename.get(item.input, item.input)
        for p in s.parts:
            p.output = rename.get(p.output, p.output)
    tr.names.update(names)
    tr.graphs[0] = tr.graph_of(root)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- the lecture's exercises ------------------------------------------------------------------


Built = tuple[Tensor, dict[str, Tensor], Any]  # the root, the names, dE/d root (None: 1)


def exercise_20_0() -> Built:
    x = Tensor(np.array([0.5, -1.0, 2.0, 0.25]), requires_grad=True)
    y = Tensor(np.array([1.5, 0.5, -0.5, 1.0]), requires_grad=True)
    z = F.add(x, y)
    return z, {"x": x, "y": y, "z": z}, np.array([0.1, -0.2, 0.3, 0.4])


def exercise_20_1() -> Built:
    o1 = Tensor(np.array([0.3, 0.9, 0.5]))
    W2 = Tensor(np.array([[0.2, -0.4, 0.1], [0.7, 0.3, -0.6]]), requires_grad=True)
    t = Tensor(np.array([0.0, 1.0]))
    s2 = F.matvec(W2, o1)
    o2 = F.sigmoid(s2)
    E = F.sqerr(o2, t)
    return E, {"o1": o1, "W2": W2, "s2": s2, "o2": o2, "t": t, "E": E}, None


def exercise_20_2() -> Built:
    s = Tensor(np.array([-1.0, 0.0, 0.5]), requires_grad=True)
    W = Tensor(np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]]))
    t_a = Tensor(np.array([0.0, 1.0, 1.0]))
    t_b = Tensor(np.array([1.0, -1.0]))
    a = F.sigmoid(s)
    b = F.matvec(W, s)
    E_a, E_b = F.sqerr(a, t_a), F.sqerr(b, t_b)
    E = F.add(E_a, E_b)
    return (
        E,
        {"s": s, "W": W, "t_a": t_a, "t_b": t_b, "a": a, "b": b, "E_a": E_a, "E_b": E_b, "E": E},
        None,
    )


def exercise_20_3() -> Built:
    W = Tensor(np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]]), requires_grad=True)
    o = Tensor(np.array([0.5, 1.0, -1.5]), requires_grad=True)
    s = F.matvec(W, o)
    return s, {"W": W, "o": o, "s": s}, np.array([0.2, -0.7])


def exercise_20_4() -> Built:
    rng = np.random.default_rng(20)  # the numbers of examples/lecture20/ex20_4_two_layer.py
    x = Tensor(rng.uniform(0, 1, 4))
    W1 = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    W2 = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    t = Tensor(np.array([1.0, 0.0]))
    s1 = F.matvec(W1, x)
    o1 = F.sigmoid(s1)
    s2 = F.matvec(W2, o1)
    o2 = F.sigmoid(s2)
    E = F.sqerr(o2, t)
    return (
        E,
        {"x": x, "W1": W1, "s1": s1, "o1": o1, "W2": W2, "s2": s2, "o2": o2, "t": t, "E": E},
        None,
    )


# preset → (title, the text that cites the exercise, the builder)
PRESETS: dict[str, tuple[str, str, Callable[[], Built]]] = {
    "20.0": (
        "Exercise 20.0: the vector-addition gate z = x + y",
        "Lecture 20, exercise 20.0. Both Jacobians are the identity, so backward hands "
        "dE/dz = [0.1, −0.2, 0.3, 0.4] to x and to y unchanged.",
        exercise_20_0,
    ),
    "20.1": (
        "Exercise 20.1: the squared-error gate and the output layer",
        "Lecture 20, exercise 20.1. (a) E = ½ Σ_j (t_j − o_j)² gives dE/do = o − t and "
        "nothing for t. (b) With s2 = W2 o1, o2 = σ(s2): dE/dw2_ij = (o2_j − t_j) "
        "o2_j (1 − o2_j) o1_i, the delta rule.",
        exercise_20_1,
    ),
    "20.2": (
        "Exercise 20.2: the sigmoid gate, and a value that feeds two gates",
        "Lecture 20, exercise 20.2. J = diag(σ(s)(1 − σ(s))), so dE/ds = σ(s)(1 − σ(s)) "
        "⊙ dE/da. Here s feeds a = σ(s) and b = W s: backward sums J_aᵀ dE/da + "
        "J_bᵀ dE/db at s (fan-out).",
        exercise_20_2,
    ),
    "20.3": (
        "Exercise 20.3: the matrix-vector gate s = W o",
        "Lecture 20, exercise 20.3. (a) dE/do = Wᵀ dE/ds, J being W itself. (b) dE/dW = "
        "dE/ds ⊗ o, the outer product: dE/dw_ij = dE/ds_j · o_i.",
        exercise_20_3,
    ),
    "20.4": (
        "Exercise 20.4: backpropagation through the two-layer network",
        "Lecture 20, exercise 20.4. s1 = W1 x, o1 = σ(s1), s2 = W2 o1, o2 = σ(s2), "
        "E = SqErr(o2, t). Backward runs SqErr, σ, W2, σ, W1: each gate turns dE/d(its "
        "output) into Jᵀ g for its inputs.",
        exercise_20_4,
    ),
}
LECTURE = "lecture"  # the lecture's network: exercise 20.4's


def preset(name: str) -> Explorer:
    """The explorer of one of the lecture's exercises, ``"20.0"`` … ``"20.4"``."""
    key = "20.4" if name == LECTURE else name
    if key not in PRESETS:
        raise ValueError(
            f"explore: no exercise {name!r}; choose lecture or one of " + ", ".join(PRESETS)
        )
    title, text, build = PRESETS[key]
    root, names, grad = build()
    return explore(root, names, grad=grad, title=title, text=text)


def write_explorer(target: str, out: str, tensor: str | None = None) -> str:
    """Write the explorer of ``target`` to ``out``; a line saying what was written.

    ``target`` is ``lecture``, an exercise (``20.0`` … ``20.4``), a script ending in
    ``.py`` (run as ``__main__``; ``tensor`` names the variable to explore, E or loss by
    default; its backward is recorded whether or not the script runs it), or a checkpoint
    (its weight matrices as the lecture's network, as ``gradgate graph`` draws it).
    """
    from ..trace import trace
    from ..training.drawable import _run_script, checkpoint_network

    if target == LECTURE or re.fullmatch(r"\d+\.\d+", target):
        page = preset(target)
    elif target.endswith(".py"):
        with trace() as tr:
            root, names = _run_script(target, tensor)
            if tr.steps:  # the script ran backward itself: name what it recorded
                _rename(tr, root, names)
            page = explore(
                root,
                names,
                title=f"gradgate explore {os.path.basename(target)}",
                recorded=tr if tr.steps else None,
            )
    else:
        root, names = checkpoint_network(target)
        page = explore(
            root,
            names,
            title=f"gradgate explore {os.path.basename(target)}",
            text="The checkpoint's weight matrices as the lecture's network, on a random input.",
        )
    page.save(out)
    backward = sum(s["kind"] == "backward" for s in page.steps)
    forward = sum(s["kind"] == "forward" for s in page.steps)
    sums = sum(s["kind"] == "sum" for s in page.steps)
    return (
        f"wrote {out}: {forward} gates forward, {backward} backward, {sums} fan-out sums "
        f"(open it in a browser; arrow keys step)"
    )
