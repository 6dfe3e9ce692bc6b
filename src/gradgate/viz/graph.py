"""The picture of a computation graph: which gates and leaves produced a tensor.

:func:`graph` walks back from a tensor through the gates that computed it and returns a
:class:`Graph`: one :class:`Node` per gate output and per leaf, one :class:`Edge` per input
slot. A tensor that feeds two or more input slots is a *fan-out* point: backward sums the
gradients that come back from its consumers there, dE/ds = J1ᵀ g1 + J2ᵀ g2 (lecture 20.2),
and the pictures mark it.

The graph renders to DOT text (:meth:`Graph.to_dot`), to SVG (:meth:`Graph.to_svg`, with
Graphviz's ``dot`` when it is on PATH and otherwise with the layered layout of
:mod:`gradgate.viz.layout`), to PNG (:meth:`Graph.save_png`) and inline in Jupyter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..gates.base import Gate
from ..tensor import Tensor
from .text import array_lines, array_text, shape_text, to_numpy

# What a leaf is: a parameter is a leaf that asks for dE/d(it); anything else is an input.
GATE, PARAMETER, INPUT = "gate", "parameter", "input"

InputsOf = Callable[[Tensor], "tuple[Gate, tuple[Tensor, ...]] | None"]


class Node:
    """One tensor of the graph: a gate's output, or a leaf.

    ``kind`` is ``"gate"``, ``"parameter"`` (a leaf with ``requires_grad``) or ``"input"``
    (a leaf without: data, targets, constants). ``value`` and ``grad`` are read from the
    tensor when asked, so a graph drawn before ``backward()`` shows the gradients after it;
    both are None for tensors of more than ``max_values`` elements.
    """

    def __init__(
        self,
        id: str,
        name: str,
        tensor: Tensor,
        gate: Gate | None,
        max_values: int,
        grads: Mapping[int, Any] | None,
    ):
        self.id = id
        self.name = name
        self.tensor = tensor
        self.gate = gate.name if gate is not None else None
        self.params = _short_params(gate) if gate is not None else {}
        if gate is not None:
            self.kind = GATE
        else:
            self.kind = PARAMETER if tensor.requires_grad else INPUT
        self.shape: tuple[int, ...] = tuple(tensor.shape)
        self.consumers = 0  # input slots this tensor feeds; set by graph()
        self._max_values = max_values
        self._grads = grads

    @property
    def fanout(self) -> bool:
        """True where backward sums two or more gradient contributions into this tensor."""
        return self.consumers >= 2 and self.tensor.requires_grad

    @property
    def value(self) -> np.ndarray | None:
        """The forward value, for tensors of at most ``max_values`` elements."""
        if self.tensor.size > self._max_values:
            return None
        return self.tensor.numpy()

    @property
    def grad(self) -> np.ndarray | None:
        """dE/d(this tensor) once backward has computed it (small tensors only).

        Leaves (and tensors that retain their grad) keep it in ``.grad``; for the others it
        comes from a :func:`gradgate.trace.trace` that watched the backward pass.
        """
        if self.tensor.size > self._max_values:
            return None
        if self._grads is not None and id(self.tensor) in self._grads:
            return to_numpy(self._grads[id(self.tensor)])
        if self.tensor.grad is not None:
            return self.tensor.grad.numpy()
        return None

    def lines(self) -> list[str]:
        """The label's lines: what it is, its shape, and its small values."""
        if self.kind == GATE:
            out = [str(self.gate), f"{self.name} {shape_text(self.shape)}"]
            params = ", ".join(f"{k}={v}" for k, v in self.params.items())
            if params:
                out.append(params)
        else:
            out = [f"{self.name} {shape_text(self.shape)}", self.kind]
        if self.value is not None:
            out += array_lines("value", self.value)
        if self.grad is not None:
            out += array_lines("grad", self.grad)
        if self.fanout:
            out.append(f"Σ of {self.consumers} gradients")
        return out

    def __repr__(self) -> str:
        what = self.gate if self.kind == GATE else self.kind
        mark = ", fan-out" if self.fanout else ""
        return f"Node({self.id}: {self.name} {what} {shape_text(self.shape)}{mark})"


class Edge:
    """Input slot ``slot`` of the gate that computed ``target`` reads tensor ``source``."""

    def __init__(self, source: str, target: str, slot: int, slot_name: str,
                 shape: tuple[int, ...], fanout: bool):
        self.source = source
        self.target = target
        self.slot = slot
        self.slot_name = slot_name
        self.shape = shape
        self.fanout = fanout  # the source is a fan-out point

    @property
    def label(self) -> str:
        return f"{self.slot_name} {shape_text(self.shape)}"

    def __repr__(self) -> str:
        return f"Edge({self.source} -> {self.target}: {self.label})"


class Graph:
    """Every gate and leaf that produced one tensor (the ``root``), in forward order."""

    def __init__(self, nodes: list[Node], edges: list[Edge], root: str):
        self.nodes = nodes
        self.edges = edges
        self.root = root
        self._by_id = {n.id: n for n in nodes}
        self._by_name: dict[str, Node] = {}
        for n in nodes:
            self._by_name.setdefault(n.name, n)
        self._by_tensor = {id(n.tensor): n for n in nodes}
        self._into: dict[str, list[Edge]] = {n.id: [] for n in nodes}
        self._out_of: dict[str, list[Edge]] = {n.id: [] for n in nodes}
        for e in edges:
            self._into[e.target].append(e)
            self._out_of[e.source].append(e)

    # --- looking things up ----------------------------------------------------------------

    def node(self, key: str | Tensor) -> Node:
        """The node with this name or id, or the node of this tensor."""
        if isinstance(key, Tensor):
            found = self._by_tensor.get(id(key))
        else:
            found = self._by_name.get(key, self._by_id.get(key))
        if found is None:
            raise KeyError(f"no node {key!r} in this graph")
        return found

    def inputs_of(self, node: Node | str) -> list[Node]:
        """The nodes read by a gate node, in slot order."""
        return [self._by_id[e.source] for e in self.edges_into(node)]

    def edges_into(self, node: Node | str) -> list[Edge]:
        """The edges that end at a gate node, in slot order."""
        target = node.id if isinstance(node, Node) else self.node(node).id
        return sorted(self._into[target], key=lambda e: e.slot)

    def consumers_of(self, node: Node | str) -> list[Node]:
        """The gate nodes that read a node (once per input slot)."""
        source = node.id if isinstance(node, Node) else self.node(node).id
        return [self._by_id[e.target] for e in self._out_of[source]]

    @property
    def fanouts(self) -> list[Node]:
        """The nodes where gradients from several consumers are summed."""
        return [n for n in self.nodes if n.fanout]

    # --- text ---------------------------------------------------------------------------

    def to_text(self) -> str:
        """One line per node, in forward order: ``s1 (3,) = MatVec(W1, x)``."""
        lines = []
        for n in self.nodes:
            head = f"{n.name} {shape_text(n.shape)}"
            if n.kind == GATE:
                args = ", ".join(i.name for i in self.inputs_of(n))
                head += f" = {n.gate}({args})"
            else:
                head += f"  {n.kind}"
            if n.fanout:
                head += f"  [fan-out: Σ of {n.consumers} gradients]"
            lines.append(head)
            for label, array in (("value", n.value), ("grad", n.grad)):
                if array is not None:
                    lines.append(f"    {label} {array_text(array)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"<Graph of {self.node(self.root).name}: {len(self.nodes)} nodes, " \
               f"{len(self.edges)} edges, {len(self.fanouts)} fan-out>"

    def to_dot(self) -> str:
        """The graph in Graphviz's DOT language (left to right, inputs first)."""
        from . import style

        out = [
            "digraph gradgate {",
            "  rankdir=LR;",
            '  node [shape=box, style="rounded,filled", fontname="monospace", fontsize=10];',
            '  edge [fontname="monospace", fontsize=9, color="#555555"];',
        ]
        for n in self.nodes:
            fill, border = style.COLOURS[n.kind]
            attrs = [f'label="{_dot_escape(chr(10).join(n.lines()))}"',
                     f'fillcolor="{fill}"', f'color="{border}"', f'tooltip="{n.kind}"']
            if n.fanout:
                attrs += [f'color="{style.FANOUT}"', "penwidth=3",
                          f'xlabel="Σ ×{n.consumers}"', f'fontcolor="{style.INK}"']
            out.append(f"  {n.id} [{', '.join(attrs)}];")
        for e in self.edges:
            attrs = [f'label="{_dot_escape(e.label)}"']
            if e.fanout:
                attrs.append(f'color="{style.FANOUT}"')
            out.append(f"  {e.source} -> {e.target} [{', '.join(attrs)}];")
        out.append("}")
        return "\n".join(out) + "\n"

    # --- pictures -----------------------------------------------------------------------

    def to_svg(self, graphviz: bool | None = None, id_prefix: str = "") -> str:
        """The picture as SVG text.

        With ``graphviz=None`` Graphviz's ``dot`` draws it when it is on PATH, and the
        built-in layered layout otherwise; True or False forces one or the other.
        ``id_prefix`` keeps element ids apart when several pictures share one page.
        """
        if _use_graphviz(graphviz):
            return _run_dot(self.to_dot(), "svg").decode("utf-8")
        from .svg import render_svg

        return render_svg(self, id_prefix=id_prefix)

    def save_svg(self, path: str | os.PathLike[str], graphviz: bool | None = None) -> None:
        """Write the SVG picture to ``path``."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_svg(graphviz))

    def save_png(self, path: str | os.PathLike[str], graphviz: bool | None = None,
                 dpi: int = 144) -> None:
        """Write a PNG picture: with Graphviz when it is there, else with matplotlib.

        Raises ImportError (naming ``pip install matplotlib``) when neither is available.
        """
        if _use_graphviz(graphviz):
            data = _run_dot(self.to_dot(), "png", f"-Gdpi={dpi}")
            with open(path, "wb") as f:
                f.write(data)
            return
        from .png import render_png

        render_png(self, path, dpi=dpi)

    def save(self, path: str | os.PathLike[str], graphviz: bool | None = None) -> None:
        """Write the picture in the format its extension names: .svg, .png, .dot or .gv."""
        extension = os.path.splitext(os.fspath(path))[1].lower()
        if extension == ".svg":
            self.save_svg(path, graphviz)
        elif extension == ".png":
            self.save_png(path, graphviz)
        elif extension in (".dot", ".gv"):
            with open(path, "w", encoding="utf-8") as f:
                f.write(self.to_dot())
        else:
            raise ValueError(f"save: cannot tell the format of {os.fspath(path)!r}; "
                             "use a name ending in .svg, .png, .dot or .gv")

    def _repr_svg_(self) -> str:
        return self.to_svg()


# --- building ----------------------------------------------------------------------------


def graph(
    tensor: Tensor,
    names: Mapping[str, Tensor] | None = None,
    max_values: int = 6,
) -> Graph:
    """The graph of every gate and leaf that produced ``tensor``.

    ``names`` labels tensors (``{"W1": W1, "x": x, "s1": s1}``; ``dict(model.
    named_parameters())`` works); others get a name from their gate (``sigmoid1``) or their
    kind (``param1``, ``input1``). Values and gradients are shown for tensors of at most
    ``max_values`` elements.

    Call it before ``backward()`` (which releases the graph) or after
    ``backward(retain_graph=True)``; a :func:`gradgate.trace.trace` keeps the graph of the
    pass it watched, with every intermediate gradient, as ``tr.graph``.
    """
    return build(tensor, names, max_values)


def build(
    root: Tensor,
    names: Mapping[str, Tensor] | None = None,
    max_values: int = 6,
    inputs_of: InputsOf | None = None,
    grads: Mapping[int, Any] | None = None,
) -> Graph:
    """:func:`graph` with the structure and gradients supplied by a recorder.

    ``inputs_of(t)`` gives (gate, inputs) for a tensor whose gate has been released by
    backward (None when it does not know it); ``grads`` maps id(tensor) to dE/d(tensor).
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"graph: expected a Tensor, got {type(root).__name__}")

    def parents(t: Tensor) -> tuple[Gate | None, tuple[Tensor, ...]]:
        node = t.node
        if node is None:
            return None, ()
        if node.inputs is not None:
            return node.gate, tuple(node.inputs)
        known = inputs_of(t) if inputs_of is not None else None
        if known is None:
            raise RuntimeError(
                f"graph: the {node.gate.name} gate that computed this tensor was released by "
                "backward(). Draw the graph before backward(), call "
                "backward(retain_graph=True), or watch the pass with gradgate.trace.trace() "
                "and draw tr.graph"
            )
        return known

    # forward (topological) order, iteratively: every tensor after its inputs
    order: list[Tensor] = []
    structure: dict[int, tuple[Gate | None, tuple[Tensor, ...]]] = {}
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        if id(t) in structure:
            continue
        structure[id(t)] = parents(t)
        stack.append((t, True))
        # gates' outputs first, then leaves, each in slot order: x, W1, s1, o1, W2, s2, ...
        parents_ = structure[id(t)][1]
        ordered = [p for p in parents_ if p.gate is not None] + [
            p for p in parents_ if p.gate is None]
        for parent in reversed(ordered):
            if id(parent) not in structure:
                stack.append((parent, False))

    given = {id(t): name for name, t in (names or {}).items()}
    counters: dict[str, int] = {}
    nodes: list[Node] = []
    node_of: dict[int, Node] = {}
    for k, t in enumerate(order):
        gate = structure[id(t)][0]
        name = given.get(id(t))
        if name is None:
            stem = gate.name.lower() if gate is not None else (
                "param" if t.requires_grad else "input")
            counters[stem] = counters.get(stem, 0) + 1
            name = f"{stem}{counters[stem]}"
        node = Node(f"n{k}", name, t, gate, max_values, grads)
        nodes.append(node)
        node_of[id(t)] = node

    edges: list[Edge] = []
    for t in order:
        gate, inputs = structure[id(t)]
        for parent in inputs:
            node_of[id(parent)].consumers += 1
    for t in order:
        gate, inputs = structure[id(t)]
        if gate is None:
            continue
        slot_names = gate.input_names(len(inputs))
        for slot, parent in enumerate(inputs):
            source = node_of[id(parent)]
            edges.append(Edge(source.id, node_of[id(t)].id, slot, slot_names[slot],
                              tuple(parent.shape), source.fanout))
    return Graph(nodes, edges, node_of[id(root)].id)


def _short_params(gate: Gate) -> dict[str, str]:
    """The gate's parameters as short strings (long ones, such as index arrays, elided)."""
    out = {}
    for key, value in gate.params().items():
        if key.startswith("_") or value is None or value is False:
            continue  # unset options (axis=None, keepdims=False) say nothing
        text = repr(value)
        out[key] = text if len(text) <= 24 else text[:21] + "…"
    return out


# --- DOT ----------------------------------------------------------------------------------


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


# --- Graphviz ------------------------------------------------------------------------------


def _use_graphviz(graphviz: bool | None) -> bool:
    found = shutil.which("dot") is not None
    if graphviz and not found:
        raise RuntimeError("graphviz=True, but Graphviz's dot is not on PATH "
                           "(apt install graphviz, or leave graphviz=None)")
    return found if graphviz is None else graphviz


def _run_dot(text: str, fmt: str, *options: str) -> bytes:
    dot = shutil.which("dot")
    assert dot is not None
    done = subprocess.run([dot, f"-T{fmt}", *options], input=text.encode("utf-8"),
                          capture_output=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"dot -T{fmt} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout
