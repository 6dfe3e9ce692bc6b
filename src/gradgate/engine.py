"""Recording gates forward, and running them backward.

Forward, :func:`apply` runs a gate's rule on its inputs' arrays and, when a gradient will
be wanted, records one :class:`Node` for that use of the gate: the rule, the inputs it
saved, which of them need a gradient. Backward, :func:`backward` visits the tensors in
reverse topological order, asks each node's rule for J^T g, sums each contribution back to
its input's shape (:func:`sum_to`) and adds the contributions that fan in to one tensor —
in one line, marked below (lecture 20.2).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from . import backend
from .dtypes import result_dtype
from .gates.base import NEEDS, Gate
from .gates.elementwise import Cast
from .replay import state as capture_state
from .replay.state import ACTIVE as _CAPTURING
from .tensor import DEFAULT_FLOAT, SAVED, STAMP, Tensor, latest_change

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
    previous = _mode.enabled
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

    def begin(self, roots: Sequence[Tensor], seeds: Sequence[Any], accumulate: bool,
              create_graph: bool) -> None:  # fmt: skip
        """A backward starts from ``roots`` with dE/d(root) = ``seeds``; ``accumulate``: the
        leaves' gradients go into ``.grad`` (False for ``gradgate.grad``)."""

    def forward(self, gate: Gate, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        """A gate ran forward (whether or not it was recorded: ``output.node`` says)."""

    def backward(self, node: Tensor, g: Any, contributions: tuple) -> None:
        """node's gate turned dE/d(node) = g into one contribution per input (NumPy's 0-d
        scalars already made 0-d arrays, as they flow on)."""

    def unbroadcast(self, tensor: Tensor, source: Tensor, before: Any, after: Any) -> None:
        """A contribution from ``source``'s gate was summed back to ``tensor``'s shape."""

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


# --- the graph's record ------------------------------------------------------------------


class Released:
    """Why a node's saved values are gone: shared by every node one backward released."""

    __slots__ = ("reason",)

    def __init__(self) -> None:
        self.reason = (
            "the saved values were released by an earlier backward. Pass retain_graph=True "
            "to the first backward() to keep them"
        )


class Node:
    """One use of a gate in a graph, owned by the engine.

    ``gate`` is the rule; ``inputs`` the tensors it saved (None once released); ``needs``
    which of them take a gradient; ``saved`` what the rule's forward kept for its vjp (after
    release: the :class:`Released` record that says why it is gone); ``saved_at`` the
    in-place-change clock when the inputs were saved; ``version`` the output's counter.

    Release keeps the graph's structure: ``parents`` (the leaf tensors, and the nodes behind
    computed inputs) and ``shape``/``dtype`` of the output, so a graph can still be drawn
    after backward. Only what the graph needs is set on the hot path; the rest at release.
    """

    __slots__ = (
        "gate",
        "inputs",
        "needs",
        "saved",
        "saved_at",
        "version",
        "parents",
        "shape",
        "dtype",
        "__weakref__",
    )

    def __init__(
        self,
        gate: Gate,
        inputs: tuple[Tensor, ...],
        needs: tuple[bool, ...],
        saved: Any,
        output: Tensor,
    ):
        self.gate = gate
        self.inputs: tuple[Tensor, ...] | None = inputs
        self.needs = needs
        self.saved = saved
        self.saved_at = latest_change[0]
        for t in inputs:
            t._version[1] += 1  # SAVED
        self.version = version = output._version  # the rule may read the output too
        version[1] += 1

    @property
    def released(self) -> Released | None:
        return self.saved if self.inputs is None else None

    def release(self, output: Tensor, why: Released) -> None:
        """Drop the saved values; keep the structure."""
        inputs = self.inputs
        if inputs is None:
            return
        self.version[SAVED] -= 1
        parents: tuple[Any, ...]
        count = len(inputs)
        if count == 1:  # the common cases spelled out: this runs once per gate
            (a,) = inputs
            a._version[SAVED] -= 1
            parents = (a.node or a,)  # a Node is always truthy
        elif count == 2:
            a, b = inputs
            a._version[SAVED] -= 1
            b._version[SAVED] -= 1
            parents = (a.node or a, b.node or b)
        else:
            for t in inputs:
                t._version[SAVED] -= 1
            parents = tuple([t.node or t for t in inputs])
        self.parents = parents
        data = output._data
        self.shape, self.dtype = data.shape, data.dtype
        self.inputs = None
        self.saved = why

    def __del__(self) -> None:
        """A graph dropped without backward: its inputs are no longer held."""
        inputs = self.inputs
        if inputs is not None:
            for t in inputs:
                t._version[SAVED] -= 1
            self.version[SAVED] -= 1

    def __repr__(self) -> str:
        state = "released" if self.inputs is None else "saved"
        return f"<Node {self.gate!r} {state}>"


def call_forward(gate: Gate, xp: Any, arrays: Sequence[Any]) -> tuple[Any, Any]:
    """Run the rule forward: (output, what it saved for its vjp, or None)."""
    if gate.saves:
        return gate.forward(xp, *arrays)
    return gate.forward(xp, *arrays), None


def call_vjp(
    gate: Gate, xp: Any, g: Any, o: Any, inputs: Sequence[Any], needs: tuple[bool, ...], saved: Any
) -> tuple:
    """Run the rule backward, passing the keywords its vjp names."""
    keywords = gate.vjp_keywords
    if not keywords:
        return gate.vjp(xp, g, o, *inputs)
    if "saved" in keywords:
        if "needs" in keywords:
            return gate.vjp(xp, g, o, *inputs, needs=needs, saved=saved)
        return gate.vjp(xp, g, o, *inputs, saved=saved)
    return gate.vjp(xp, g, o, *inputs, needs=needs)


# --- forward ---------------------------------------------------------------------------

_numpy = backend.numpy_namespace


def _as_tensors(gate: Gate, inputs: Sequence[Any]) -> tuple[Tensor, ...]:
    """Wrap arrays and Python or NumPy numbers; a number takes the dtype of the floating
    tensor it meets (``x * 2.5`` stays float32, as in PyTorch)."""
    reference = None
    for x in inputs:
        if isinstance(x, Tensor) and x._data.dtype.kind in "fc":
            reference = x._data
            break
    else:
        for x in inputs:
            if hasattr(x, "dtype") and x.dtype.kind in "fc" and np.ndim(x):
                reference = x
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
        elif kind is float:  # the common cases first: x * 2.5, x + 1
            out.append(Tensor(xp.asarray(x, dtype=dtype or DEFAULT_FLOAT)))
        elif kind is int:
            out.append(Tensor(xp.asarray(x, dtype=dtype or np.int64)))
        elif isinstance(x, Tensor):
            out.append(x)
        elif isinstance(x, (bool, np.bool_)):
            out.append(Tensor(xp.asarray(x)))
        elif isinstance(x, (float, np.floating)):
            out.append(Tensor(xp.asarray(x, dtype=dtype or DEFAULT_FLOAT)))
        elif isinstance(x, (int, np.integer)):
            out.append(Tensor(xp.asarray(x, dtype=dtype or np.int64)))
        elif isinstance(x, np.ndarray) or backend.device_of_or_none(x) is not None:
            out.append(Tensor(x))
        elif isinstance(x, (list, tuple)):
            out.append(Tensor(np.asarray(x, dtype=dtype)))
        else:
            raise TypeError(f"{gate.name}: cannot take an input of type {type(x).__name__}")
    if _CAPTURING[0]:
        recorder = capture_state.recorder()
        if recorder is not None:  # numbers and lists are constants of the step
            for x, t in zip(inputs, out, strict=True):
                if (
                    t is not x
                    and not isinstance(x, np.ndarray)
                    and not hasattr(x, "__cuda_array_interface__")
                ):
                    recorder.constant(t)
    return tuple(out)


def _promoted(part: slice, tensors: Sequence[Tensor]) -> tuple[Tensor, ...]:
    """The tensors in ``part`` brought to PyTorch's result dtype (the one place that
    promotes, ``gradgate.dtypes.result_dtype``); the cast is a gate, so a gradient flows
    back to a tensor in its own dtype."""
    chosen = list(tensors)
    indices = range(len(chosen))[part]
    dtype = result_dtype([chosen[k]._data for k in indices])
    for k in indices:
        t = chosen[k]
        if t._data.dtype != dtype:
            chosen[k] = apply(Cast(dtype), t)
    return tuple(chosen)


def _shares_buffer(out: Any, source: Any) -> bool:
    """True when ``out`` is ``source`` itself or a view into its memory (NumPy collapses
    view chains to the array that owns the memory)."""
    base = out.base
    return out is source or base is source or (base is not None and base is source.base)


def _described(gate: Gate, tensors: Sequence[Tensor], error: Exception) -> Exception:
    """The forward's error, with the gate's name and the input shapes if it lacks them."""
    message = str(error)
    if message.startswith(gate.name.lower()) or gate.name in message:
        return error
    shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
    try:
        return type(error)(f"{gate.name}: {message} (inputs of shapes {shapes})")
    except TypeError:  # an exception class with another constructor
        return error


def apply(gate: Gate, *inputs: Any) -> Tensor:
    """Run ``gate`` forward on ``inputs`` and, if any of them requires a gradient (and grad
    mode is on), record a :class:`Node` as the output's parent."""
    tensors = inputs
    for x in inputs:
        if type(x) is not Tensor:
            tensors = _as_tensors(gate, inputs)
            break
    arrays: Sequence[Any]
    needs: tuple[bool, ...]
    count = len(tensors)
    if count == 1:  # the common cases spelled out: this runs once per gate
        first = tensors[0]
        arrays, needs = (first._data,), (first.requires_grad,)
        kind = type(arrays[0])
    else:
        if count == 2:
            first, second = tensors
            arrays = (first._data, second._data)
            needs = (first.requires_grad, second.requires_grad)
        else:
            arrays = [t._data for t in tensors]
            needs = tuple([t.requires_grad for t in tensors])
        kind = type(arrays[0])
        dtype, mixed = arrays[0].dtype, False
        for a in arrays:
            if type(a) is not kind:
                devices = ", ".join(backend.device_of(b) for b in arrays)
                raise ValueError(f"{gate.name}: inputs are on different devices ({devices})")
            if a.dtype is not dtype:
                mixed = True
        if mixed and gate.promoted is not None:
            tensors = _promoted(gate.promoted, tensors)
            arrays = [t._data for t in tensors]
    xp = _numpy if kind is np.ndarray else backend.namespace_of(arrays[0])
    try:
        if gate.saves:
            out, saved = gate.forward(xp, *arrays)
        else:
            out, saved = gate.forward(xp, *arrays), None
    except (ValueError, IndexError, TypeError) as error:
        raise _described(gate, tensors, error) from None
    if type(out) is not kind:
        out = xp.asarray(out)
    result = Tensor(out)
    if (  # a view (reshape, transpose, slice) or an input itself: one buffer, one counter
        out.base is not None
        or out is arrays[0]
        or out is arrays[-1]
        or (len(arrays) > 2 and any(out is a for a in arrays))
    ):
        for t, a in zip(tensors, arrays, strict=True):
            if _shares_buffer(out, a):
                result._version = t._version
                break
    mode = _mode
    if mode.enabled and True in needs:
        result.node = Node(gate, tensors, needs, saved, result)
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


_PARENTS_DONE = object()  # on the search's stack, above a tensor whose parents follow


def _topological_order(roots: Sequence[Tensor]) -> list[Tensor]:
    """Every tensor that requires grad and leads to ``roots``, each before its parents.

    Iterative depth-first search (an explicit stack, so a 100,000-gate chain is fine);
    tensors are told apart by identity.
    """
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[Any] = list(roots)
    push, pop, visit, finish = stack.append, stack.pop, seen.add, order.append
    while stack:
        tensor = pop()
        if tensor is _PARENTS_DONE:  # the tensor below it has all its parents in order
            finish(pop())
            continue
        key = id(tensor)
        if key in seen:
            continue
        visit(key)
        push(tensor)
        push(_PARENTS_DONE)
        node = tensor.node
        if node is not None:
            if node.inputs is None:
                raise RuntimeError(
                    f"backward through gate {node.gate.name} a second time: {node.saved.reason}."
                )
            for parent in node.inputs:
                if parent.requires_grad and id(parent) not in seen:
                    push(parent)
    order.reverse()
    return order


def _check_unchanged(node: Node, output: Tensor) -> None:
    """Raise if the node's output or an input changed in place after it was saved."""
    assert node.inputs is not None
    at = node.saved_at
    changed = [f"its output {output.shape}"] if output._version[STAMP] > at else []
    names = node.gate.input_names(len(node.inputs))
    changed += [
        f"input {k} ({names[k]}, shape {t.shape})"
        for k, t in enumerate(node.inputs)
        if t._version[STAMP] > at
    ]
    if changed:
        raise RuntimeError(
            f"{node.gate.name}: {', '.join(changed)} changed in place after the gate saved it "
            "for backward, so its gradient would be wrong. Change tensors only after "
            "backward(), or compute with a copy."
        )


def _differentiable_vjp(node: Node, output: Tensor, g: Tensor) -> tuple:
    """The node's rule run on Tensors, with ``gradgate.functional`` as ``xp``, so that its
    J^T g is itself a graph (``create_graph=True``; imported late: functional uses us)."""
    from . import functional

    assert node.inputs is not None
    return call_vjp(node.gate, functional, g, output, node.inputs, node.needs, node.saved)


def _array(c: Any) -> Any:
    """NumPy gives 0-d results as scalars; the engine keeps arrays."""
    return np.asarray(c) if isinstance(c, (np.generic, float, int)) else c


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
    for observer in observers:
        observer.begin(roots, seeds, wanted is None, create_graph)
    released = Released()
    tensor = None
    previous_mode, _mode.enabled = _mode.enabled, create_graph  # record only for create_graph
    try:
        for tensor in order:
            key = id(tensor)
            g = grads.pop(key, None)  # dE/d(tensor), complete: its consumers came first
            if g is None:
                continue
            if tensor_hooks and key in tensor_hooks:  # dE/d(tensor) is complete here
                g = _run_hooks(tensor, g, create_graph)
            node = tensor.node
            if node is None or tensor.retains_grad:
                for observer in observers:
                    observer.leaf(tensor, g)
                if wanted is None:
                    _accumulate(tensor, g, create_graph, handed_out)
            if wanted is not None and key in wanted:
                found[wanted[key]] = g
            if node is None:
                continue
            if latest_change[0] > node.saved_at:  # something changed in place since
                _check_unchanged(node, tensor)
            inputs = node.inputs
            assert inputs is not None
            if create_graph:
                contributions = _differentiable_vjp(node, tensor, g)
            else:  # the fast path, on arrays
                data = tensor._data
                xp = _numpy if type(data) is np.ndarray else backend.namespace_of(data)
                arrays = (inputs[0]._data,) if len(inputs) == 1 else [t._data for t in inputs]
                gate = node.gate
                keywords = gate.vjp_keywords
                if not keywords:
                    contributions = gate.vjp(xp, g, data, *arrays)
                elif keywords is NEEDS:
                    contributions = gate.vjp(xp, g, data, *arrays, needs=node.needs)
                else:
                    contributions = call_vjp(gate, xp, g, data, arrays, node.needs, node.saved)
            if observers:  # they see the arrays that flow on
                contributions = tuple([_array(c) for c in contributions])
                for observer in observers:
                    observer.backward(tensor, g, contributions)
            for parent, c in zip(inputs, contributions, strict=True):
                if c is None or not parent.requires_grad:
                    continue
                like = parent if create_graph else parent._data
                if type(c) is not type(like) and isinstance(c, (np.generic, float, int)):
                    c = np.asarray(c)  # NumPy's 0-d results
                if c.shape != like.shape or (c.dtype is not like.dtype and c.dtype != like.dtype):
                    raw, c = c, sum_to(c, like)
                    for observer in observers:
                        observer.unbroadcast(parent, tensor, raw, c)
                to = id(parent)
                before = grads.get(to)
                if before is None:
                    grads[to] = c
                    continue
                # fan-out: dE/ds = J1^T g1 + J2^T g2 + ...  (lecture 20.2)
                total = before + c
                if type(total) is not type(c) and isinstance(total, np.generic):
                    total = np.asarray(total)  # NumPy gives a 0-d sum as a scalar
                grads[to] = total
                for observer in observers:
                    observer.summed(parent, before, c, total)
            if not retain_graph:
                node.release(tensor, released)
    except BaseException as error:
        if tensor is not None and tensor.node is not None:
            released.reason = (
                f"an earlier backward failed at gate {tensor.node.gate.name} "
                f"({type(error).__name__}: {error}) after releasing the gates "
                "it had passed"
            )
        raise
    finally:
        _mode.enabled = previous_mode
    return found


# Hooks on tensors' gradients (Tensor.register_hook): id(tensor) → (a weak reference to
# it, {handle id: hook}). Backward looks here only while the table is not empty, so a run
# without hooks pays one truth test per tensor.
tensor_hooks: dict[int, tuple[Any, dict[int, Any]]] = {}


def register_hook(tensor: Tensor, hook: Any) -> Any:
    """Call ``hook(grad)`` when dE/d(tensor) is complete in a backward, before it reaches
    ``.grad`` or the tensor's gate; a Tensor (or array) it returns replaces the gradient.
    Returns a handle whose ``remove()`` takes the hook off."""
    import weakref

    if not tensor.requires_grad:
        raise RuntimeError(
            "register_hook: the tensor does not require grad, so no gradient will reach it"
        )
    key = id(tensor)
    entry = tensor_hooks.get(key)
    if entry is None or entry[0]() is not tensor:  # a new tensor (an old id may be reused)

        def forget(_: Any, key: int = key) -> None:
            tensor_hooks.pop(key, None)

        entry = tensor_hooks[key] = (weakref.ref(tensor, forget), {})
    return _HookHandle(entry[1], hook)


class _HookHandle:
    """What ``Tensor.register_hook`` returns: ``remove()`` takes the hook off."""

    def __init__(self, table: dict[int, Any], hook: Any):
        self._table, self.id = table, id(self)
        table[self.id] = hook

    def remove(self) -> None:
        self._table.pop(self.id, None)


def _run_hooks(tensor: Tensor, g: Any, create_graph: bool) -> Any:
    reference, hooks = tensor_hooks[id(tensor)]
    if reference() is not tensor:
        return g
    for hook in list(hooks.values()):
        result = hook(g if create_graph else Tensor(g))
        if result is not None:
            value = result if create_graph or not isinstance(result, Tensor) else result._data
            if create_graph and not isinstance(value, Tensor):
                value = Tensor(value)
            if tuple(value.shape) != tuple(tensor.shape):
                raise RuntimeError(
                    f"register_hook: a hook returned a gradient of shape "
                    f"{tuple(value.shape)} for a tensor of {tensor.shape}"
                )
            g = value
    return g


def _accumulate(tensor: Tensor, g: Any, create_graph: bool, handed_out: set[int]) -> None:
    """Add g into ``tensor.grad``; a new ``.grad`` never shares its array with another."""
    if create_graph:
        tensor._grad = g if tensor._grad is None else tensor._grad + g
        return
    if tensor._grad is None:
        if (
            id(g) in handed_out
            or not g.flags.c_contiguous
            or g.base is not None
            or not g.flags.writeable
        ):
            g = g.copy()
        handed_out.add(id(g))
        tensor._grad = Tensor(g)
    else:
        tensor._grad = Tensor(_array(tensor._grad._data + g))


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
    seeds = [_seed(o, g, create_graph, "grad") for o, g in zip(outs, grad_outputs, strict=True)]
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
