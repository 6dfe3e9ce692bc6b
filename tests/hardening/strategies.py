"""Hypothesis strategies for random computation graphs over the whole gate registry.

A :class:`Graph` is a small program: leaf arrays, then steps, each one gate applied to
earlier values (a value may feed several gates: fan-out) or to constants (conditions,
labels, targets). Its outputs are the values no step consumed. It replays on gradgate
tensors or on torch tensors, so one drawn graph is checked against finite differences and
against PyTorch.

Every registered gate has a *recipe* in ``RECIPES`` that picks inputs of the right shapes
and parameters, broadcasting where the gate broadcasts. Recipes keep the graph where finite
differences mean something: log, sqrt, pow and div get inputs at least 0.3 from 0 (through
a sigmoid adapter when needed); relu, abs, clip, max, min, maximum and minimum are applied
only where every input is at least ``MARGIN`` from the kink or tie; values grow no larger
than ``BOUND``. Leaf values come from a NumPy generator seeded by a drawn integer, so a graph
is reproducible from hypothesis's choices alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from gradgate.engine import apply, no_grad
from gradgate.gates import REGISTRY, Draw
from gradgate.tensor import Tensor

MARGIN = 0.02  # distance kept from a kink or a tie, far beyond the finite-difference step
BOUND = 1e3  # largest |value| kept, so that differences stay accurate
MAX_DIM = 4


@dataclass(frozen=True)
class Const:
    """A non-differentiable input: a condition, labels, targets, a constant operand."""

    array: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "array", np.asarray(self.array))  # never a NumPy scalar

    def __repr__(self) -> str:
        return f"Const({_py(self.array)})"


@dataclass
class Leaf:
    array: np.ndarray  # float64
    requires_grad: bool


@dataclass
class Step:
    gate: str
    params: dict[str, Any]
    args: tuple[int | Const, ...]  # an int is the index of an earlier node


@dataclass
class Graph:
    """Nodes in the order they were made, each a :class:`Leaf` or a :class:`Step`;
    ``values[k]`` is node k's value as computed when the graph was drawn."""

    nodes: list[Leaf | Step] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)

    @property
    def leaves(self) -> list[Leaf]:
        return [n for n in self.nodes if isinstance(n, Leaf)]

    @property
    def steps(self) -> list[Step]:
        return [n for n in self.nodes if isinstance(n, Step)]

    def outputs(self) -> list[int]:
        """The steps whose value no later step consumed (the last step among them)."""
        used = {a for s in self.steps for a in s.args if isinstance(a, int)}
        return [k for k, n in enumerate(self.nodes) if isinstance(n, Step) and k not in used]

    def run(
        self,
        leaves: list[Any],
        call: Callable[[Step, list[Any]], Any],
        const: Callable[[np.ndarray], Any],
    ) -> tuple[Any, ...]:
        """Replay the graph: ``leaves`` bind the Leaf nodes in order, ``call`` applies a
        step to its arguments, ``const`` wraps a constant."""
        given = iter(leaves)
        values: list[Any] = []
        for node in self.nodes:
            if isinstance(node, Leaf):
                values.append(next(given))
            else:
                args = [const(a.array) if isinstance(a, Const) else values[a] for a in node.args]
                values.append(call(node, args))
        return tuple(values[k] for k in self.outputs())

    def run_gradgate(self, *leaves: Tensor) -> tuple[Tensor, ...]:
        return self.run(
            list(leaves), lambda s, args: apply(REGISTRY[s.gate](**s.params), *args), Tensor
        )

    def __repr__(self) -> str:
        """The graph as the :func:`program` call that rebuilds it (for REGRESSIONS)."""
        lines = []
        for k, n in enumerate(self.nodes):
            if isinstance(n, Leaf):
                node = f"Leaf({_py(n.array)}, {n.requires_grad})"
            else:
                node = f"({n.gate!r}, {_py(n.params)}, {_py(list(n.args))})"
            lines.append(f"    {node},  # v{k}: {self.values[k].shape}")
        return "program(\n" + "\n".join(lines) + "\n)"

    describe = __repr__


def _py(obj: Any) -> str:
    """Python source for a parameter or an array."""
    if isinstance(obj, np.ndarray):
        return f"np.array({obj.tolist()!r})"
    if isinstance(obj, tuple):
        return "(" + "".join(_py(o) + ", " for o in obj).rstrip(" ") + ")" if obj else "()"
    if isinstance(obj, list):
        return "[" + ", ".join(_py(o) for o in obj) + "]"
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{k!r}: {_py(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, slice):
        return f"slice({obj.start!r}, {obj.stop!r}, {obj.step!r})"
    if obj is Ellipsis:
        return "Ellipsis"
    if isinstance(obj, type):
        return f"np.{obj.__name__}"
    return repr(obj)


def program(*nodes: Any) -> Graph:
    """A Graph written out by hand (regression tests). Each node is an array (a leaf that
    requires grad), ``Leaf(array, requires_grad)``, or ``(gate, params, args)``."""
    graph = Graph()
    for node in nodes:
        if isinstance(node, tuple):
            node = Step(node[0], node[1], tuple(node[2]))
        elif not isinstance(node, Leaf):
            node = Leaf(np.asarray(node, dtype=np.float64), True)
        graph.nodes.append(node)
        graph.values.append(node.array if isinstance(node, Leaf) else _forward(graph, node))
    return graph


def _forward(graph: Graph, step: Step) -> np.ndarray:
    arrays = [a.array if isinstance(a, Const) else graph.values[a] for a in step.args]
    with no_grad(), np.errstate(all="ignore"):
        return apply(REGISTRY[step.gate](**step.params), *arrays).numpy()


# --- the builder that recipes use ---------------------------------------------------------


class Builder:
    """Draws leaves and operands, and adds a step when its value is usable."""

    def __init__(self, draw: Callable, chain: bool):
        self.draw = draw
        self.chain = chain  # the first operand is always the newest value: a deep chain
        self.rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="seed"))
        self.graph = Graph()

    # values
    def value(self, k: int) -> np.ndarray:
        return self.graph.values[k]

    def pick(self, ok: Callable[[np.ndarray], bool] = lambda v: True) -> int | None:
        """An earlier value that satisfies ``ok``: the newest one (chains) or any (fan-out)."""
        found = [k for k, v in enumerate(self.graph.values) if ok(v)]
        if not found:
            return None
        if self.chain or self.draw(st.booleans(), label="newest"):
            return found[-1]
        return self.draw(st.sampled_from(found), label="value")

    def first(self, ok: Callable[[np.ndarray], bool] = lambda v: True) -> int | None:
        """The first operand: in a chain the newest value, which must satisfy ``ok``."""
        if self.chain:
            newest = len(self.graph.values) - 1
            return newest if ok(self.value(newest)) else None
        return self.pick(ok)

    def leaf(self, shape: tuple[int, ...], kind: str = "any", grad: bool | None = None) -> int:
        """A new leaf: 'any' in [-2, 2], 'positive' in [0.5, 2], 'prob' in [0.05, 0.95],
        'nonzero' with 0.5 ≤ |x| ≤ 2."""
        r = self.rng
        array = {
            "any": lambda: r.uniform(-2, 2, shape),
            "positive": lambda: r.uniform(0.5, 2, shape),
            "prob": lambda: r.uniform(0.05, 0.95, shape),
            "nonzero": lambda: r.uniform(0.5, 2, shape) * r.choice([-1.0, 1.0], shape),
        }[kind]()
        if grad is None:
            grad = self.draw(st.integers(0, 4), label="requires_grad") > 0  # mostly True
        self.graph.nodes.append(Leaf(np.asarray(array, dtype=np.float64), grad))
        self.graph.values.append(self.graph.nodes[-1].array)
        return len(self.graph.nodes) - 1

    def leaf_from(self, array: np.ndarray, grad: bool | None = None) -> int:
        """A new leaf holding ``array`` (a gate's sample input)."""
        if grad is None:
            grad = self.draw(st.integers(0, 4), label="requires_grad") > 0
        self.graph.nodes.append(Leaf(np.array(array, dtype=np.float64), grad))
        self.graph.values.append(self.graph.nodes[-1].array)
        return len(self.graph.nodes) - 1

    def shape(self, min_ndim: int = 0, max_ndim: int = 3) -> tuple[int, ...]:
        ndim = self.draw(st.integers(min_ndim, max_ndim), label="ndim")
        return tuple(
            self.draw(
                st.lists(st.integers(1, MAX_DIM), min_size=ndim, max_size=ndim), label="shape"
            )
        )

    def broadcastable(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """A shape that broadcasts with ``shape``: leading axes dropped or added, axes set
        to 1, or size-1 axes stretched."""
        draw = self.draw
        out = list(shape)
        if out and draw(st.booleans(), label="drop leading"):
            out = out[draw(st.integers(0, len(out)), label="dropped") :]
        elif len(out) < 3 and draw(st.booleans(), label="add leading"):
            out = [draw(st.integers(1, 3), label="new axis")] + out
        for k, n in enumerate(out):
            if draw(st.integers(0, 3), label="axis kind") == 0:
                out[k] = 1 if n != 1 else draw(st.integers(1, 3), label="stretch")
        return tuple(out)

    def operand(
        self,
        shape: tuple[int, ...],
        kind: str = "any",
        ok: Callable[[np.ndarray], bool] = lambda v: True,
    ) -> int:
        """A second operand that broadcasts with ``shape``: an earlier value, or a new leaf."""

        def fits(v: np.ndarray) -> bool:
            try:
                np.broadcast_shapes(v.shape, shape)
            except ValueError:
                return False
            return ok(v) and _in_domain(v, kind)

        if self.draw(st.booleans(), label="reuse"):
            k = self.pick(fits)
            if k is not None:
                return k
        return self.leaf(self.broadcastable(shape), kind)

    def positive(self, k: int) -> int | None:
        """``k`` itself when it is ≥ 0.3, else sigmoid(k) + 0.5 (in (0.5, 1.5))."""
        if _in_domain(self.value(k), "positive"):
            return k
        s = self.add("Sigmoid", {}, (k,))
        return None if s is None else self.add("Add", {}, (s, Const(np.array(0.5))))

    def add(self, gate: str, params: dict[str, Any], args: tuple) -> int | None:
        """Append the step if its value is finite and within BOUND; return its index."""
        step = Step(gate, params, tuple(args))
        value = _forward(self.graph, step)
        if value.size == 0 or not np.all(np.isfinite(value)) or np.abs(value).max() > BOUND:
            return None
        self.graph.nodes.append(step)
        self.graph.values.append(value)
        return len(self.graph.nodes) - 1


def _in_domain(v: np.ndarray, kind: str) -> bool:
    if kind == "positive":
        return bool(v.min() >= 0.3)
    if kind == "nonzero":
        return bool(np.abs(v).min() >= 0.3)
    if kind == "prob":
        return bool(v.min() >= 0.05 and v.max() <= 0.95)
    return True


def _away(v: np.ndarray, *points: float) -> bool:
    return all(bool(np.abs(v - p).min() > MARGIN) for p in points)


def _axes(b: Builder, ndim: int) -> Any:
    """None, an int (maybe negative) or a tuple of distinct axes."""
    if ndim == 0:
        return b.draw(st.sampled_from([None, 0, -1, ()]), label="axis")
    kind = b.draw(st.integers(0, 2), label="axis kind")
    if kind == 0:
        return None
    if kind == 1:
        return b.draw(st.integers(-ndim, ndim - 1), label="axis")
    return tuple(b.draw(st.sets(st.integers(0, ndim - 1), min_size=1), label="axes"))


def _reduced(v: np.ndarray, axis: Any) -> np.ndarray:
    """v with the reduced axes moved last and flattened: one row per output element."""
    axes = tuple(range(v.ndim)) if axis is None else (axis,) if isinstance(axis, int) else axis
    axes = tuple(a % max(v.ndim, 1) for a in axes) if v.ndim else ()
    kept = [a for a in range(v.ndim) if a not in axes]
    moved = np.transpose(v, kept + list(axes))
    return moved.reshape(-1, max(1, math.prod(v.shape[a] for a in axes)))


# --- one recipe per gate -------------------------------------------------------------------


def _binary(gate: str, kind_x: str = "any", kind_y: str = "any", apart: bool = False):
    def recipe(b: Builder) -> None:
        x = b.first()
        if x is None:
            return
        if kind_x == "positive":
            x = b.positive(x)
            if x is None:
                return
        if b.draw(st.booleans(), label="swap") and kind_x == kind_y and not apart:
            y = b.operand(b.value(x).shape, kind_y)
            b.add(gate, {}, (y, x))
            return
        y = b.operand(b.value(x).shape, kind_y)
        if apart and not _away(np.subtract(b.value(x), b.value(y)), 0.0):
            return
        b.add(gate, {}, (x, y))

    return recipe


def _unary(
    gate: str,
    ok: Callable[[np.ndarray], bool] = lambda v: True,
    params: Callable[[Builder], dict] = lambda b: {},
    positive: bool = False,
):
    def recipe(b: Builder) -> None:
        x = b.first()
        if x is not None and positive:
            x = b.positive(x)
        if x is not None and ok(b.value(x)):
            b.add(gate, params(b), (x,))

    return recipe


def _clip(b: Builder) -> None:
    x = b.first()
    if x is None:
        return
    low = b.draw(st.sampled_from([None, -1.0, -0.5, 0.0, 0.25]), label="low")
    high = b.draw(st.sampled_from([None, 0.5, 1.0, 1.5]), label="high")
    if low is None and high is None:
        high = 0.5
    if _away(b.value(x), *[p for p in (low, high) if p is not None]):
        b.add("Clip", {"low": low, "high": high}, (x,))


def _where(b: Builder) -> None:
    x = b.first()
    if x is None:
        return
    y = b.operand(b.value(x).shape)
    out = np.broadcast_shapes(b.value(x).shape, b.value(y).shape)
    cond = b.rng.random(b.broadcastable(out)) > 0.5
    b.add("Where", {}, (Const(cond), x, y))


def _reduction(gate: str):
    def recipe(b: Builder) -> None:
        x = b.first()
        if x is None:
            return
        v = b.value(x)
        axis = _axes(b, v.ndim)
        params = {"axis": axis, "keepdims": b.draw(st.booleans(), label="keepdims")}
        rows = _reduced(v, axis)
        if gate == "Var":
            params["correction"] = b.draw(st.integers(0, 1), label="correction")
            if rows.shape[1] <= params["correction"]:
                return
        if gate in ("Max", "Min") and rows.shape[1] > 1:
            ordered = np.sort(rows, axis=1)
            top = ordered if gate == "Max" else -ordered[:, ::-1]
            gap = top[:, -1] - top[:, -2]
            if gap.min() <= MARGIN:
                return
        b.add(gate, params, (x,))

    return recipe


def _prime_factors(n: int) -> list[int]:
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


def _reshape(b: Builder) -> None:
    x = b.first()
    if x is None:
        return
    v = b.value(x)
    groups = b.draw(st.integers(1, 3), label="new ndim")
    shape = [1] * groups
    for p in _prime_factors(v.size):
        shape[b.draw(st.integers(0, groups - 1), label="factor goes to")] *= p
    if b.draw(st.booleans(), label="-1"):
        shape[b.draw(st.integers(0, groups - 1), label="-1 at")] = -1
    b.add("Reshape", {"shape": tuple(shape)}, (x,))


def _transpose(b: Builder) -> None:
    x = b.first()
    if x is None:
        return
    ndim = b.value(x).ndim
    axes = b.draw(st.one_of(st.none(), st.permutations(range(ndim)).map(tuple)), label="axes")
    b.add("Transpose", {"axes": axes}, (x,))


def _broadcast_to(b: Builder) -> None:
    x = b.first()
    if x is None:
        return
    shape = list(b.value(x).shape)
    shape = [b.draw(st.integers(1, 3), label="stretch") if n == 1 else n for n in shape]
    if len(shape) < 3 and b.draw(st.booleans(), label="add leading"):
        shape = [b.draw(st.integers(1, 3), label="new axis")] + shape
    b.add("BroadcastTo", {"shape": tuple(shape)}, (x,))


def _getitem(b: Builder) -> None:
    x = b.first(lambda v: v.ndim >= 1)
    if x is None:
        return
    shape = b.value(x).shape
    kind = b.draw(st.integers(0, 2), label="index kind")
    if kind == 0:  # basic: ints, slices (PyTorch has no negative steps), None, Ellipsis
        index: list[Any] = []
        for n in shape[: b.draw(st.integers(1, len(shape)), label="indexed axes")]:
            choice = b.draw(st.integers(0, 2), label="item")
            if choice == 0:
                index.append(b.draw(st.integers(-n, n - 1), label="int"))
            else:
                start = b.draw(st.integers(0, n - 1), label="start")
                index.append(slice(start, None, b.draw(st.integers(1, 2), label="step")))
        if b.draw(st.booleans(), label="None"):
            index.insert(b.draw(st.integers(0, len(index)), label="None at"), None)
        if b.draw(st.booleans(), label="Ellipsis"):
            index.append(Ellipsis)
        params = {"index": tuple(index)}
    elif kind == 1 or len(shape) < 2:  # an integer array on axis 0, repeats included
        picks = b.rng.integers(0, shape[0], b.draw(st.integers(1, 5), label="picks"))
        params = {"index": (picks,)}
    else:  # integer arrays on the first two axes
        count = b.draw(st.integers(1, 4), label="picks")
        params = {"index": (b.rng.integers(0, shape[0], count), b.rng.integers(0, shape[1], count))}
    b.add("GetItem", params, (x,))


def _scatter_add(b: Builder) -> None:
    x = b.first(lambda v: v.ndim >= 1)
    if x is None:
        return
    shape = b.value(x).shape
    if b.draw(st.booleans(), label="index kind"):  # rows sent to places, repeats summed
        rows = shape[0] + b.draw(st.integers(0, 2), label="extra rows")
        params = {"index": (b.rng.integers(0, rows, shape[0]),), "shape": (rows, *shape[1:])}
    else:  # a block placed in a larger zero array
        offsets = [b.draw(st.integers(0, 2), label="offset") for _ in shape]
        params = {
            "index": tuple(slice(o, o + n) for o, n in zip(offsets, shape, strict=True)),
            "shape": tuple(o + n + 1 for o, n in zip(offsets, shape, strict=True)),
        }
    b.add("ScatterAdd", params, (x,))


def _concatenate(b: Builder) -> None:
    x = b.first(lambda v: v.ndim >= 1)
    if x is None:
        return
    shape = b.value(x).shape
    axis = b.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    parts = [x]
    for _ in range(b.draw(st.integers(1, 2), label="more parts")):

        def same_but_axis(v, shape=shape, axis=axis):
            return v.ndim == len(shape) and all(
                m == n
                for k, (m, n) in enumerate(zip(v.shape, shape, strict=True))
                if k != axis % len(shape)
            )

        k = b.pick(same_but_axis) if b.draw(st.booleans(), label="reuse") else None
        if k is None:
            other = list(shape)
            other[axis] = b.draw(st.integers(1, 3), label="length")
            k = b.leaf(tuple(other))
        parts.append(k)
    b.add("Concatenate", {"axis": axis}, tuple(parts))


def _matvec(b: Builder) -> None:
    o = b.first(lambda v: v.ndim >= 1)
    if o is None:
        return
    n = b.value(o).shape[-1]
    W = b.pick(lambda v: v.ndim == 2 and v.shape[1] == n) if b.draw(st.booleans()) else None
    if W is None:
        W = b.leaf((b.draw(st.integers(1, MAX_DIM), label="out"), n))
    b.add("MatVec", {}, (W, o))


def _matmul(b: Builder) -> None:
    A = b.first(lambda v: v.ndim >= 2)
    if A is None:
        return
    shape = b.value(A).shape
    batch = b.broadcastable(shape[:-2]) if len(shape) > 2 else ()
    B = b.leaf((*batch, shape[-1], b.draw(st.integers(1, MAX_DIM), label="columns")))
    b.add("MatMul", {}, (A, B))


def _sqerr(b: Builder) -> None:
    o = b.first()
    if o is None:
        return
    shape = b.value(o).shape
    t = b.pick(lambda v: v.shape == shape) if b.draw(st.booleans(), label="reuse") else None
    b.add("SqErr", {}, (o, b.leaf(shape) if t is None or t == o else t))


def _softmax(gate: str):
    def recipe(b: Builder) -> None:
        x = b.first(lambda v: v.ndim >= 1)
        if x is not None:
            ndim = b.value(x).ndim
            b.add(gate, {"axis": b.draw(st.integers(-ndim, ndim - 1), label="axis")}, (x,))

    return recipe


def _bce(b: Builder) -> None:
    x = b.first()
    if x is None:
        return
    shape = b.value(x).shape
    if b.draw(st.booleans(), label="learned target"):
        t: int | Const = b.leaf(shape, "prob")
    else:
        t = Const(b.rng.uniform(0.05, 0.95, shape))
    b.add("BCEWithLogits", {}, (x, t))


def _cross_entropy(b: Builder) -> None:
    x = b.first(lambda v: v.ndim == 2)
    if x is None:
        return
    n, c = b.value(x).shape
    b.add("CrossEntropy", {}, (x, Const(b.rng.integers(0, c, n))))


def _from_samples(name: str, reuse: bool = True) -> Callable[[Builder], None]:
    """The recipe of a gate with no hand-written one: one of the gate's own sample cases
    (``Gate.samples``), each float input either an earlier value of the same shape that
    lies within the sample's range (so the gate's domain holds) or the sample's array as a
    new leaf (always, without ``reuse``); integer and boolean inputs stay constants."""

    def recipe(b: Builder) -> None:
        cases = REGISTRY[name].samples(Draw(b.rng))
        sample = cases[b.draw(st.integers(0, len(cases) - 1), label="sample")]
        args: list[Any] = []
        for a in sample.inputs:
            if a.dtype.kind != "f":
                args.append(Const(a))
                continue
            low, high = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
            k = b.pick(
                lambda v, a=a, low=low, high=high: (
                    v.shape == a.shape
                    and v.size > 0
                    and bool(v.min() >= low)
                    and bool(v.max() <= high)
                )
            )
            if not reuse or k is None or not b.draw(st.booleans(), label="reuse"):
                k = b.leaf_from(a)
            args.append(k)
        b.add(name, dict(sample.params), tuple(args))

    return recipe


def _fresh(name: str) -> Callable[[Builder], None]:
    """The recipe of a gate with jumps, kinks or singular points inside its samples' range
    (rounding, remainders, order statistics, norms with |s| or max, arctan2 and hypot at the
    origin): one of its sample cases, every float input a new leaf holding the sample's
    values, which are kept away from them."""

    def recipe(b: Builder) -> None:
        cases = REGISTRY[name].samples(Draw(b.rng))
        sample = cases[b.draw(st.integers(0, len(cases) - 1), label="sample")]
        args = tuple(b.leaf_from(a) if a.dtype.kind == "f" else Const(a) for a in sample.inputs)
        b.add(name, dict(sample.params), args)

    return recipe


_KINKED = (
    "Sign",
    "Floor",
    "Ceil",
    "Trunc",
    "Round",
    "FloorDivide",
    "Remainder",
    "Fmod",
    "Fmax",
    "Fmin",
    "Median",
    "VectorNorm",
    "Arctan2",
    "Hypot",
)

RECIPES: dict[str, Callable[[Builder], None]] = {
    "Add": _binary("Add"),
    "Sub": _binary("Sub"),
    "Mul": _binary("Mul"),
    "Div": _binary("Div", kind_y="nonzero"),
    "Pow": _binary("Pow", kind_x="positive"),
    "Maximum": _binary("Maximum", apart=True),
    "Minimum": _binary("Minimum", apart=True),
    "Where": _where,
    "Neg": _unary("Neg"),
    "Exp": _unary("Exp", ok=lambda v: bool(v.max() < 3)),
    "Log": _unary("Log", positive=True),
    "Sqrt": _unary("Sqrt", positive=True),
    "Abs": _unary("Abs", ok=lambda v: _away(v, 0.0)),
    "Tanh": _unary("Tanh"),
    "Sigmoid": _unary("Sigmoid"),
    "Relu": _unary("Relu", ok=lambda v: _away(v, 0.0)),
    "LeakyRelu": _unary(
        "LeakyRelu",
        ok=lambda v: _away(v, 0.0),
        params=lambda b: {"slope": b.draw(st.sampled_from([0.01, 0.2, 0.5]))},
    ),
    "Softplus": _unary("Softplus"),
    "Clip": _clip,
    "Cast": _unary("Cast", params=lambda b: {"dtype": np.float64}),  # float32 is too coarse
    "Sum": _reduction("Sum"),
    "Mean": _reduction("Mean"),
    "Max": _reduction("Max"),
    "Min": _reduction("Min"),
    "LogSumExp": _reduction("LogSumExp"),
    "Var": _reduction("Var"),
    "Reshape": _reshape,
    "Transpose": _transpose,
    "BroadcastTo": _broadcast_to,
    "GetItem": _getitem,
    "ScatterAdd": _scatter_add,
    "ToDevice": _unary("ToDevice", params=lambda b: {"device": "cpu"}),
    "Concatenate": _concatenate,
    "MatVec": _matvec,
    "MatMul": _matmul,
    "SqErr": _sqerr,
    "Softmax": _softmax("Softmax"),
    "LogSoftmax": _softmax("LogSoftmax"),
    "BCEWithLogits": _bce,
    "CrossEntropy": _cross_entropy,
}

RECIPES.update({name: _fresh(name) for name in _KINKED})
# Matrix functions need a matrix in their domain (invertible, positive definite, distinct
# eigenvalues or singular values, full rank): an earlier value of the graph is rarely one,
# and a degenerate one makes backward raise, by design. They take their own samples.
for _name in ("Inv", "Solve", "Det", "SlogDet", "Cholesky", "Eigh", "Svd", "Qr", "Pinv"):
    RECIPES[_name] = _from_samples(_name, reuse=False)

for _name in REGISTRY:  # every registered gate is fuzzed, by hand-written recipe or samples
    RECIPES.setdefault(_name, _from_samples(_name))

GATE_NAMES = sorted(RECIPES)


@st.composite
def graphs(
    draw,
    max_steps: int = 10,
    first: str | None = None,
    chain: bool = False,
    gates: tuple[str, ...] | None = None,
) -> Graph:
    """A random graph of up to ``max_steps`` gates drawn from ``gates`` (default: all).

    ``first`` forces that gate to appear (its recipe is tried on fresh leaves until it
    applies); ``chain`` makes every step consume the newest value.
    """
    b = Builder(draw, chain)
    shape = b.shape(
        min_ndim=2 if first in ("MatMul", "CrossEntropy") else 0,
        max_ndim=2 if first == "CrossEntropy" else 3,
    )
    b.leaf(shape, grad=True)
    if first is not None:
        for _ in range(3):
            before = len(b.graph.steps)
            RECIPES[first](b)
            if any(s.gate == first for s in b.graph.steps[before:]):
                break
            b.leaf(shape, "positive" if first in ("Log", "Sqrt") else "any", grad=True)
        assume(any(s.gate == first for s in b.graph.steps))
    names = list(gates or GATE_NAMES)
    low = max_steps // 2 if chain else 1  # a chain is long by construction
    for _ in range(draw(st.integers(low, max_steps), label="steps")):
        RECIPES[draw(st.sampled_from(names), label="gate")](b)
    assume(b.graph.steps and any(leaf.requires_grad for leaf in b.graph.leaves))
    return b.graph
