"""The array namespace a gate's rule runs on.

A rule is written once against ``xp``. On the fast first-order path ``xp`` is the
namespace of the array library that holds the data (NumPy here; CuPy on a GPU), extended
with the few helpers below that NumPy does not name. When a graph of the gradient itself is
wanted (``create_graph=True``) the engine passes ``gradgate.functional`` instead, which
offers the same names as differentiable operations.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

Array = Any  # a NumPy (or CuPy) ndarray


def _is_basic_index(index: tuple) -> bool:
    """True when ``index`` only holds ints, slices, None and Ellipsis (no repeats possible)."""
    return all(
        isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in index
    )


def make_namespace(module: types.ModuleType) -> types.SimpleNamespace:
    """The module's functions plus the helpers every rule may call by the same name."""
    ns = types.SimpleNamespace(**{k: v for k, v in vars(module).items() if not k.startswith("_")})

    def sigmoid(x: Array) -> Array:
        """σ(x) = (1 + tanh(x/2)) / 2: one transcendental, no overflow at any |x|."""
        o = module.tanh(x * 0.5)
        o *= 0.5
        o += 0.5
        return o

    def softmax(x: Array, axis: int = -1) -> Array:
        e = module.exp(x - x.max(axis=axis, keepdims=True))
        e /= e.sum(axis=axis, keepdims=True)
        return e

    def scatter_add(g: Array, index: tuple, shape: tuple) -> Array:
        """A zero array of ``shape`` with ``g`` added at ``index`` (repeated indices summed)."""
        out = module.zeros(shape, dtype=g.dtype)
        if _is_basic_index(index):
            out[index] = g
        else:
            module.add.at(out, index, g)
        return out

    ns.sigmoid = sigmoid
    ns.softmax = softmax
    ns.scatter_add = scatter_add
    ns.ndarray = module.ndarray
    return ns


numpy_namespace = make_namespace(np)


def namespace_of(array: Array) -> types.SimpleNamespace:
    """The namespace for the library that holds ``array`` (NumPy on the CPU)."""
    if type(array) is np.ndarray or isinstance(array, np.ndarray):
        return numpy_namespace
    raise TypeError(f"unsupported array type {type(array).__name__}")


def device_of(array: Array) -> str:
    """``"cpu"`` for NumPy arrays."""
    if isinstance(array, (np.ndarray, np.generic)):
        return "cpu"
    raise TypeError(f"unsupported array type {type(array).__name__}")
