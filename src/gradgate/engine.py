"""Recording gates forward, and running them backward.

Forward, :func:`apply` runs a gate on its inputs' arrays and, when a gradient will be
wanted, records the gate and its inputs on the output tensor. Backward, :func:`backward`
visits the tensors in reverse topological order, asks each gate for J^T g, sums each
contribution back to its input's shape (:func:`sum_to`) and adds the contributions that fan
in to one tensor — in one line, marked below (lecture 20.2).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from . import backend
from .gates.base import Gate
from .tensor import DEFAULT_FLOAT, Tensor, latest_change

# --- grad mode -------------------------------------------------------------------------

class _Mode(threading.local):
    """Per-thread state: whether the graph is recorded, and who is watching."""

    enabled = True
    observers: tuple[Observer, ...] = ()


_mode = _Mode()


def is_grad_enabled() -> bool:
    return _mode.enabled


@contextmanager
def _grad_mode(enabled: bool) -> Iterator[None]:
    previous = is_grad_enabled()
    _mode.enabled = enabled
    try:
        yield
    finally:
        _mode.enabled = previous


def no_grad() -> Any:
    """Context manager (and decorator) in which no graph is recorded; per thread."""
    return _grad_mode(False)


def enable_grad() -> Any:
    """Context manager that records the graph again inside a ``no_grad`` block."""
    return _grad_mode(True)


class Observer:
    """Something that watches the engine work (a backward trace, anomaly detection).

    Subclass it, override the events you need, and install it with :func:`observe`.
    """

    def forward(self, gate: Gate, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        """A gate ran forward (whether or not it was recorded)."""

    def backward(self, node: Tensor, g: Any, contributions: tuple) -> None:
        """node's gate turned dE/d(node) = g into one contribution per input."""

    def summed(self, tensor: Tensor, before: Any, contribution: Any, total: Any) -> None:
        """A second (or later) contribution to dE/d(tensor) was added (fan-out)."""

    def leaf(self, tensor: Tensor, g: Any) -> None:
        """dE/d(tensor) is complete for a leaf (or a tensor that retains its grad)."""


@contextmanager
def observe(observer: Observer) -> Iterator[Observer]:
    """Install ``observer`` for the current thread while the block runs."""
    previous = _mode.observers
    _mode.observers = previous + (observer,)
    try:
        yield observer
    finally:
        _mode.observers = previous


# --- forward ---------------------------------------------------------------------------

_numpy = backend.numpy_namespace


def _as_tensors(gate: Gate, inputs: Sequence[Any]) -> tuple[Tensor, ...]:
    """Wrap arrays and Python numbers; a number takes the dtype of the tensors it meets
    (``x * 2.5`` stays float32, as in PyTorch)."""
    reference = None
    for x in inputs:
        data = x._data if isinstance(x, Tensor) else x
        if hasattr(data, "dtype") and data.dtype.kind == "f":
            reference = data
            break
    dtype = None if reference is None else reference.dtype
    if reference is None or type(reference) is np.ndarray:
        xp = _numpy
    else:
        xp = backend.namespace_of(reference)  # numbers go where the tensors are
    out = []
    for x in inputs:
        kind = type(x)
        if kind is Tensor:
            out.append(x)
        elif kind is float:
            out.append(Tensor(xp.asarray(x, dtype=dtype or DEFAULT_FLOAT)))
        elif kind is int:
            out.append(Tensor(xp.asarray(x, dtype=dtype or np.int64)))
        elif kind is bool:
            out.append(Tensor(xp.asarray(x)))
        elif isinstance(x, (np.ndarray, np.generic)):
            out.append(Tensor(np.asarray(x)))
        elif isinstance(x, (list, tuple)):
            out.append(Tensor(np.asarray(x, dtype=dtype)))
        elif isinstance(x, Tensor):
            out.append(x)
        else:
            raise TypeError(f"{gate.name}: cannot take an input of type {type(x).__name__}")
    return tuple(out)


def apply(gate: Gate, *inputs: Any) -> Tensor:
    """Run ``gate`` forward on ``inputs`` and, if any of them requires a gradient (and grad
    mode is on), record the gate as the output's parent."""
    tensors = inputs
    for x in inputs:
        if type(x) is not Tensor:
            tensors = _as_tensors(gate, inputs)
            break
    arrays = [t._data for t in tensors]
    kind = type(arrays[0])
    if len(arrays) > 1:
        for a in arrays:
            if type(a) is not kind:
                devices = ", ".join(backend.device_of(b) for b in arrays)
                raise ValueError(f"{gate.name}: inputs are on different devices ({devices})")
    xp = _numpy if kind is np.ndarray else backend.namespace_of(arrays[0])
    out = gate.forward(xp, *arrays)
    if type(out) is not kind:
        out = xp.asarray(out)
    result = Tensor(out)
    mode = _mode
    if mode.enabled:
        needs = tuple([t.requires_grad for t in tensors])
        if True in needs:
            for t in tensors:
                t._saved += 1  # undone at release, or by Gate.__del__ if never released
            result._saved = 1  # the rule may read the output too
            gate.inputs = tensors
            gate.needs = needs
            gate.saved_at = latest_change[0]
            result.gate = gate
            result.requires_grad = True
    if mode.observers:
        for observer in mode.observers:
            observer.forward(gate, tensors, result)
    return result


# --- backward --------------------------------------------------------------------------


def sum_to(g: Any, like: Any) -> Any:
    """g summed over the axes that broadcasting added or stretched, so that it has the shape
    of ``like`` (an array or a tensor), and cast to its dtype. The one place that
    un-broadcasts."""
    shape = like.shape
    if g.shape != shape:
        lead = g.ndim - len(shape)
        stretched = tuple(
            lead + k for k, n in enumerate(shape) if n == 1 and g.shape[lead + k] != 1
        )
        if lead or stretched:
            g = g.sum(axis=tuple(range(lead)) + stretched, keepdims=True)
            g = g.reshape(shape)
        if g.shape != shape:
            raise RuntimeError(f"gradient of shape {g.shape} does not fit a tensor of {shape}")
    if g.dtype != like.dtype:
        g = g.astype(like.dtype)
    return g


def _topological_order(roots: Sequence[Tensor]) -> list[Tensor]:
    """Every tensor that requires grad and leads to ``roots``, each before its parents.

    Iterative depth-first search (an explicit stack, so a 100,000-gate chain is fine);
    tensors are told apart by identity.
    """
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(r, False) for r in roots]
    push, pop, visit, finish = stack.append, stack.pop, seen.add, order.append
    while stack:
        node, parents_done = pop()
        if parents_done:
            finish(node)
            continue
        key = id(node)
        if key in seen:
            continue
        visit(key)
        push((node, True))
        gate = node.gate
        if gate is not None:
            if gate.inputs is None:
                raise RuntimeError(
                    f"backward through the graph a second time: the saved values of gate "
                    f"{gate.name} were released by the first backward. Pass "
                    "retain_graph=True to the first backward() to keep them."
                )
            for parent in gate.inputs:
                if parent.requires_grad and id(parent) not in seen:
                    push((parent, False))
    order.reverse()
    return order


def _run(
    roots: Sequence[Tensor],
    seeds: Sequence[Any],
    retain_graph: bool,
    create_graph: bool,
    wanted: dict[int, int] | None = None,
) -> dict[int, Any]:
    """Propagate ``seeds`` (dE/d root) back through the graph.

    With ``wanted`` (id of tensor → position) the gradients of those tensors are returned
    and no ``.grad`` is touched; otherwise leaves accumulate into ``.grad``.
    """
    order = _topological_order(roots)
    grads: dict[int, Any] = {}
    for root, seed in zip(roots, seeds, strict=True):
        key = id(root)
        grads[key] = seed if key not in grads else grads[key] + seed
    found: dict[int, Any] = {}
    handed_out: set[int] = {id(s) for s in seeds}  # arrays a leaf's .grad must not share
    observers = _mode.observers
    if create_graph:  # rules then run on the differentiable ops (imported late: they use us)
        from . import functional as differentiable
    previous_mode, _mode.enabled = _mode.enabled, create_graph  # record only for create_graph
    try:
        for node in order:
            key = id(node)
            g = grads.pop(key, None)  # dE/d(node), complete: all consumers came first
            if g is None:
                continue
            if type(g) is not np.ndarray and isinstance(g, np.generic):
                g = np.asarray(g)  # NumPy turns 0-d sums into scalars
            gate = node.gate
            if gate is None or node.retains_grad:
                for observer in observers:
                    observer.leaf(node, g)
                if wanted is None:
                    _accumulate(node, g, create_graph, handed_out)
            if wanted is not None and key in wanted:
                found[wanted[key]] = g
            if gate is None:
                continue
            inputs = gate.inputs
            if latest_change[0] > gate.saved_at:  # something changed in place since
                _check_unchanged(gate, node)
            if create_graph:
                contributions = gate.vjp(differentiable, g, node, *inputs)
            else:
                data = node._data
                xp = _numpy if type(data) is np.ndarray else backend.namespace_of(data)
                contributions = gate.vjp(xp, g, data, *[t._data for t in inputs])
            if observers:
                for observer in observers:
                    observer.backward(node, g, contributions)
            for parent, contribution in zip(inputs, contributions, strict=True):
                if contribution is None or not parent.requires_grad:
                    continue
                like = parent if create_graph else parent._data
                if type(contribution) is not type(like) and isinstance(
                    contribution, (np.generic, float, int)
                ):
                    contribution = np.asarray(contribution)  # NumPy's 0-d results
                if contribution.shape != like.shape or contribution.dtype != like.dtype:
                    contribution = sum_to(contribution, like)
                key = id(parent)
                before = grads.get(key)
                # fan-out: dE/ds = J1^T g1 + J2^T g2 + ...  (lecture 20.2)
                grads[key] = contribution if before is None else before + contribution
                if before is not None and observers:
                    for observer in observers:
                        observer.summed(parent, before, contribution, grads[key])
            if not retain_graph:
                for t in inputs:
                    t._saved -= 1
                node._saved -= 1
                gate.inputs = None
    finally:
        _mode.enabled = previous_mode
    return found


def _check_unchanged(gate: Gate, node: Tensor) -> None:
    """Raise if the gate's output or an input changed in place after the gate saved it."""
    assert gate.inputs is not None
    changed = [f"its output {node.shape}"] if node._version > gate.saved_at else []
    changed += [
        f"input {k} {t.shape}" for k, t in enumerate(gate.inputs) if t._version > gate.saved_at
    ]
    if changed:
        raise RuntimeError(
            f"{gate.name}: {', '.join(changed)} changed in place after the gate saved it for "
            "backward, so its gradient would be wrong. Change tensors only after backward(), "
            "or compute with a copy."
        )


def _accumulate(node: Tensor, g: Any, create_graph: bool, handed_out: set[int]) -> None:
    """Add g into ``node.grad``; a new ``.grad`` never shares its array with another."""
    if create_graph:
        node.grad = g if node.grad is None else node.grad + g
        return
    if node.grad is None:
        if id(g) in handed_out or g.base is not None or not getattr(g.flags, "writeable", 1):
            g = g.copy()
        handed_out.add(id(g))
        node.grad = Tensor(g)
    else:
        total = node.grad._data + g
        node.grad = Tensor(np.asarray(total) if isinstance(total, np.generic) else total)


def _seed(root: Tensor, grad: Any, create_graph: bool, what: str) -> Any:
    if grad is None:
        if root.size != 1:
            raise RuntimeError(
                f"{what}: the output has shape {root.shape}; a gradient can be implied only "
                "for a scalar output, so pass grad (dE/d output) explicitly"
            )
        grad = backend.namespace_of(root._data).ones(root.shape, dtype=root.dtype)
    elif isinstance(grad, Tensor):
        grad = grad if create_graph else grad._data
    else:
        grad = backend.namespace_of(root._data).asarray(grad, dtype=root.dtype)
    if create_graph and not isinstance(grad, Tensor):
        grad = Tensor(grad)
    if grad.shape != root.shape:
        raise ValueError(f"{what}: grad has shape {grad.shape} but the output has {root.shape}")
    return grad


def backward(
    root: Tensor, grad: Any = None, retain_graph: bool | None = None, create_graph: bool = False
) -> None:
    """dE/d(leaf) into ``leaf.grad`` for every leaf behind ``root`` that requires it."""
    if not root.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad: no tensor it was computed from has "
            "requires_grad=True, or it was computed under no_grad()"
        )
    seed = _seed(root, grad, create_graph, "backward")
    retain = create_graph if retain_graph is None else retain_graph
    _run([root], [seed], retain, create_graph)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """The gradients of ``outputs`` with respect to ``inputs``, as new tensors.

    No ``.grad`` is touched. With ``create_graph=True`` the results are themselves
    differentiable (for second derivatives).
    """
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = [grad_outputs] * len(outs) if len(outs) == 1 else grad_outputs
    if grad_outputs is None:
        grad_outputs = [None] * len(outs)
    for t in outs:
        if not t.requires_grad:
            raise RuntimeError("grad: an output does not require grad")
    for t in ins:
        if not t.requires_grad:
            raise RuntimeError("grad: an input does not require grad")
    seeds = [
        _seed(o, g, create_graph, "grad") for o, g in zip(outs, grad_outputs, strict=True)
    ]
    retain = create_graph if retain_graph is None else retain_graph
    found = _run(outs, seeds, retain, create_graph, wanted={id(t): k for k, t in enumerate(ins)})
    result: list[Tensor | None] = []
    for k, t in enumerate(ins):
        g = found.get(k)
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: input {k} (shape {t.shape}) was not used to compute the outputs; "
                    "pass allow_unused=True to get None for it"
                )
            result.append(None)
        else:
            result.append(g if isinstance(g, Tensor) else Tensor(g))
    return tuple(result)
