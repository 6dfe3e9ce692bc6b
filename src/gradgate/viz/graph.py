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

import copy
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

# The lecture's matrices (W1 of exercise 20.4 is 3 × 4) show their numbers by default.
MAX_VALUES = 12


class Node:
    """One tensor of the graph: a gate's output, or a leaf.

    ``kind`` is ``"gate"``, ``"parameter"`` (a leaf with ``requires_grad``) or ``"input"``
    (a leaf without: data, targets, constants). ``value`` and ``grad`` are read from the
    tensor when asked, so a graph drawn before ``backward()`` shows the gradients after it;
    both are None for tensors of more than ``max_values`` elements, and for intermediate
    tensors of a released graph that nobody holds any more (``tensor`` is None there: only
    the shape is known).
    """

    def __init__(
        self,
        id: str,
        name: str,
        tensor: Tensor | None,
        gate: Gate | None,
        max_values: int,
        grads: Mapping[int, Any] | None,
        shape: tuple[int, ...] | None = None,
    ):
        self.id = id
        self.name = name
        self.tensor = tensor
        self.gate = gate.name if gate is not None else None
        self.params = _short_params(gate) if gate is not None else {}
        # a computed tensor is recorded only when a gradient flows through it
        self.requires_grad = tensor.requires_grad if tensor is not None else True
        if gate is not None:
            self.kind = GATE
        else:
            self.kind = PARAMETER if self.requires_grad else INPUT
        self.shape: tuple[int, ...] = (
            tuple(tensor.shape) if tensor is not None else tuple(shape or ())
        )
        self.size = int(np.prod(self.shape, dtype=np.int64))
        self.consumers = 0  # input slots this tensor feeds; set by graph()
        self.record: int | None = None  # id of the engine's Node that computed it; by graph()
        self._max_values = max_values
        self._grads = grads

    @property
    def fanout(self) -> bool:
        """True where backward sums two or more gradient contributions into this tensor."""
        return self.consumers >= 2 and self.requires_grad

    @property
    def value(self) -> np.ndarray | None:
        """The forward value, for tensors of at most ``max_values`` elements."""
        if self.tensor is None or self.size > self._max_values:
            return None
        return self.tensor.numpy()

    @property
    def grad(self) -> np.ndarray | None:
        """dE/d(this tensor) once backward has computed it (small tensors only).

        Leaves (and tensors that retain their grad) keep it in ``.grad``; for the others it
        comes from a :func:`gradgate.trace.trace` that watched the backward pass.
        """
        if self.tensor is None or self.size > self._max_values:
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
    """Input slot ``slot`` (named ``slot_name`` in the gate's forward) of the gate that
    computed ``target`` reads tensor ``source``, whose name is ``name``."""

    def __init__(
        self,
        source: str,
        target: str,
        slot: int,
        slot_name: str,
        shape: tuple[int, ...],
        fanout: bool,
        name: str = "",
    ):
        self.source = source
        self.target = target
        self.slot = slot
        self.slot_name = slot_name
        self.shape = shape
        self.fanout = fanout  # the source is a fan-out point
        self.name = name or slot_name

    @property
    def label(self) -> str:
        """The tensor flowing along the edge, as the user named it: ``W1 (3, 4)``."""
        return f"{self.name} {shape_text(self.shape)}"

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
        self._by_tensor = {id(n.tensor): n for n in nodes if n.tensor is not None}
        # the engine's record of a gate's use, for tensors the graph reached through it
        self._by_record = {n.record: n for n in nodes if n.record is not None}
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
            if found is None and key.node is not None:  # drawn after backward released it
                found = self._by_record.get(id(key.node))
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

    def with_max_values(self, max_values: int) -> Graph:
        """The same graph, node ids and all, showing numbers for tensors of at most
        ``max_values`` elements (0: the structure alone, names and shapes)."""
        nodes = [copy.copy(n) for n in self.nodes]
        for n in nodes:
            n._max_values = max_values
        return Graph(nodes, self.edges, self.root)

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
        return (
            f"<Graph of {self.node(self.root).name}: {len(self.nodes)} nodes, "
            f"{len(self.edges)} edges, {len(self.fanouts)} fan-out>"
        )

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
            attrs = [
                f'label="{_dot_escape(chr(10).join(n.lines()))}"',
                f'fillcolor="{fill}"',
                f'color="{border}"',
                f'tooltip="{n.kind}"',
            ]
            if n.fanout:
                attrs += [
                    f'color="{style.FANOUT}"',
                    "penwidth=3",
                    f'xlabel="Σ ×{n.consumers}"',
                    f'fontcolor="{style.INK}"',
                ]
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

    def save_png(
        self, path: str | os.PathLike[str], graphviz: bool | None = None, dpi: int = 144
    ) -> None:
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
            raise ValueError(
                f"save: cannot tell the format of {os.fspath(path)!r}; "
                "use a name ending in .svg, .png, .dot or .gv"
            )

    def _repr_svg_(self) -> str:
        return self.to_svg()


# --- building ----------------------------------------------------------------------------


def graph(
    tensor: Tensor,
    names: Mapping[str, Tensor] | None = None,
    max_values: int = MAX_VALUES,
) -> Graph:
    """The graph of every gate and leaf that produced ``tensor``.

    ``names`` labels tensors (``{"W1": W1, "x": x, "s1": s1}``; ``dict(model.
    named_parameters())`` works); others get a name from their gate (``sigmoid1``) or their
    kind (``param1``, ``input1``). Values and gradients are shown for tensors of at most
    ``max_values`` elements.

    It can be called before or after ``backward()``. Backward frees the values a graph
    saved but keeps its structure, so a graph drawn after it has every gate, every shape,
    the leaves' values and gradients, and the values of the intermediate tensors still
    held (by ``names``, say); a :func:`gradgate.trace.trace` also keeps every intermediate
    gradient of the pass it watched (``tr.graph``).
    """
    return build(tensor, names, max_values)


# What the walk visits: a tensor, or the engine's record of a gate's use whose output tensor
# the graph no longer holds (a released graph keeps only records of its inner gates).
_Item = Any


def build(
    root: Tensor,
    names: Mapping[str, Tensor] | None = None,
    max_values: int = MAX_VALUES,
    inputs_of: InputsOf | None = None,
    grads: Mapping[int, Any] | None = None,
) -> Graph:
    """:func:`graph` with the structure and gradients supplied by a recorder.

    ``inputs_of(t)`` gives (gate, inputs) for a tensor whose gate has been released by
    backward (None when it does not know it; the structure the engine kept is used then);
    ``grads`` maps id(tensor) to dE/d(tensor).
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"graph: expected a Tensor, got {type(root).__name__}")

    # one key per tensor: its engine record's id when it was computed, so that a tensor
    # and the record reached through a released consumer are one node
    tensor_of: dict[int, Tensor] = {}

    def key(item: _Item) -> int:
        if isinstance(item, Tensor):
            record = item.node
            k = id(record) if record is not None else id(item)
            tensor_of.setdefault(k, item)
            return k
        return id(item)

    for t in (names or {}).values():
        if isinstance(t, Tensor):
            key(t)
    key(root)

    def parents(item: _Item) -> tuple[Gate | None, tuple[_Item, ...]]:
        record = item.node if isinstance(item, Tensor) else item
        if record is None:
            return None, ()
        if record.inputs is not None:
            return record.gate, tuple(record.inputs)
        t = tensor_of.get(id(record))
        known = inputs_of(t) if inputs_of is not None and t is not None else None
        if known is not None:
            return known
        return record.gate, record.parents  # released: leaves, and records of gates

    # forward (topological) order, iteratively: every tensor after its inputs
    order: list[int] = []
    items: dict[int, _Item] = {}
    structure: dict[int, tuple[Gate | None, tuple[int, ...]]] = {}
    stack: list[tuple[_Item, bool]] = [(root, False)]
    while stack:
        item, done = stack.pop()
        k = key(item)
        if done:
            order.append(k)
            continue
        if k in structure:
            continue
        gate, inputs = parents(item)
        structure[k] = (gate, tuple(key(p) for p in inputs))
        items[k] = item
        for p in inputs:
            items.setdefault(key(p), p)
        stack.append((item, True))
        # gates' outputs first, then leaves, each in slot order: x, W1, s1, o1, W2, s2, ...
        computed = [p for p in inputs if not _is_leaf(p)]
        ordered = computed + [p for p in inputs if _is_leaf(p)]
        for p in reversed(ordered):
            if key(p) not in structure:
                stack.append((p, False))

    given = {id(t): name for name, t in (names or {}).items()}
    counters: dict[str, int] = {}
    nodes: list[Node] = []
    node_of: dict[int, Node] = {}
    for n, k in enumerate(order):
        gate = structure[k][0]
        held = tensor_of.get(k)
        name = given.get(id(held)) if held is not None else None
        if name is None:
            stem = (
                gate.name.lower()
                if gate is not None
                else ("param" if held is not None and held.requires_grad else "input")
            )
            counters[stem] = counters.get(stem, 0) + 1
            name = f"{stem}{counters[stem]}"
        record = items[k] if not isinstance(items[k], Tensor) else items[k].node
        node = Node(
            f"n{n}",
            name,
            held,
            gate,
            max_values,
            grads,
            shape=getattr(record, "shape", None) if held is None else None,
        )
        node.record = id(record) if record is not None else None
        nodes.append(node)
        node_of[k] = node

    edges: list[Edge] = []
    for k in order:
        for parent in structure[k][1]:
            node_of[parent].consumers += 1
    for k in order:
        gate, inputs = structure[k]
        if gate is None:
            continue
        slot_names = gate.input_names(len(inputs))
        for slot, parent in enumerate(inputs):
            source = node_of[parent]
            edges.append(
                Edge(
                    source.id,
                    node_of[k].id,
                    slot,
                    slot_names[slot],
                    source.shape,
                    source.fanout,
                    name=source.name,
                )
            )
    return Graph(nodes, edges, node_of[key(root)].id)


def _is_leaf(item: _Item) -> bool:
    return isinstance(item, Tensor) and item.node is None


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
        raise RuntimeError(
            "graphviz=True, but Graphviz's dot is not on PATH "
            "(apt install graphviz, or leave graphviz=None)"
        )
    return found if graphviz is None else graphviz


def _run_dot(text: str, fmt: str, *options: str) -> bytes:
    dot = shutil.which("dot")
    assert dot is not None
    done = subprocess.run(
        [dot, f"-T{fmt}", *options], input=text.encode("utf-8"), capture_output=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"dot -T{fmt} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout
