"""The functional API: ``gg.<name>(...)`` for every gate, plus a few operations composed of
gates (stack, outer, mse, ...).

Names and signatures follow NumPy, so this module is also the ``xp`` namespace that gate
rules run on when the engine builds a differentiable graph of a gradient
(``create_graph=True``): a rule that calls ``xp.sum`` or ``xp.where`` gets NumPy's on the
fast path and these on that one.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import backend
from .engine import apply
from .gates import REGISTRY
from .gates import elementwise as E
from .gates import linalg as L
from .gates import losses as C
from .gates import reduce as R
from .gates import shape as S
from .gates.base import functional_form
from .tensor import Tensor
from .tensor import _raw as _data  # the array of a Tensor, anything else as it is

nan = float("nan")

# --- the gates' own functional forms ----------------------------------------------------


def _install() -> None:
    """``add``, ``sigmoid``, ``sum``, ...: one function for every gate that names one
    (``Gate.function``), made from the registry."""
    for cls in REGISTRY.values():
        if cls.function is not None:
            globals()[cls.function] = functional_form(cls)


_install()

if TYPE_CHECKING:  # the functions made from the registry, for the type checker

    def __getattr__(name: str) -> Any: ...


def clamp(x, low=None, high=None) -> Tensor:
    """PyTorch's name for :func:`clip`."""
    return apply(E.Clip(low, high), x)


def where(cond, x, y) -> Tensor:
    """x where cond is true, else y; cond (booleans) gets no gradient."""
    cond = _data(cond)
    if isinstance(cond, np.generic):  # comparing 0-d tensors gives a NumPy scalar
        cond = np.asarray(cond)
    return apply(E.Where(), cond, x, y)


def astype(x, dtype) -> Tensor:
    """x converted to ``dtype``; the gradient is converted back. Converting to an integer
    or boolean dtype cuts the graph (no gradient flows through integers, as in PyTorch)."""
    x = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
    dtype = np.dtype(dtype)
    if dtype == x.dtype:
        return x
    if dtype.kind not in "fc":
        return Tensor(x._data.astype(dtype))
    return apply(E.Cast(dtype), x)


def to_device(x, device) -> Tensor:
    """x on ``device`` ("cpu", "cuda", "cuda:N"); gradients flow back to x's device."""
    x = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
    device = backend.parse_device(device)
    if backend.device_of(x._data) == device:
        return x
    return apply(S.ToDevice(device), x)


def sign(x) -> Tensor:
    """sign(x), a constant: its derivative is zero wherever it exists."""
    s = np.sign(_data(x))
    return Tensor(np.asarray(s) if isinstance(s, np.generic) else s)  # 0-d: not a scalar


# --- shape -----------------------------------------------------------------------------


def reshape(x, shape) -> Tensor:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return apply(S.Reshape(shape), x)


def transpose(x, axes=None) -> Tensor:
    """Axes permuted (reversed when ``axes`` is None), as ``numpy.transpose``."""
    return apply(S.Transpose(axes), x)


permute = transpose


def swapaxes(x, axis1: int, axis2: int) -> Tensor:
    ndim = _ndim(x)
    axes = list(range(ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return apply(S.Transpose(tuple(axes)), x)


def expand_dims(x, axis) -> Tensor:
    """x with new size-1 axes at ``axis`` (an int or a tuple), as NumPy."""
    return reshape(x, np.expand_dims(np.empty(_shape(x), dtype=np.bool_), axis).shape)


def squeeze(x, axis=None) -> Tensor:
    return reshape(x, np.squeeze(np.empty(_shape(x), dtype=np.bool_), axis).shape)


def flatten(x) -> Tensor:
    return reshape(x, (-1,))


def getitem(x, index) -> Tensor:
    """x[index]; ``index`` may hold ints, slices, None, Ellipsis and integer arrays."""
    return apply(S.GetItem(_index(index)), x)


def scatter_into(g, index, shape) -> Tensor:
    """zeros(shape) with g added at index (repeats summed): the transpose of getitem.
    Rules call it as ``xp.scatter_add(g, index, shape)`` (see ``indexing.scatter_add``)."""
    return apply(S.ScatterAdd(_index(index), shape), g)


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    if len(tensors) == 0:
        raise ValueError("concatenate: needs at least one tensor")
    return apply(S.Concatenate(axis), *tensors)


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Tensors of one shape joined along a new axis."""
    if len(tensors) == 0:
        raise ValueError("stack: needs at least one tensor")
    shapes = {_shape(t) for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: tensors must have one shape, got {sorted(shapes)}")
    return concatenate([expand_dims(t, axis) for t in tensors], axis=axis)


# --- linear algebra --------------------------------------------------------------------


_MATVEC = L.MatVec()
_MUL = E.Mul()


def matmul(a, b) -> Tensor:
    """a @ b with NumPy's rules: vectors are promoted, batch axes broadcast.

    ``x @ W.T`` with a matrix W (how a layer is written, as PyTorch's ``F.linear``) is the
    lecture's s = W x: it runs as :func:`matvec` on W itself, so dE/dW comes out as the
    outer product (20.3b) in W's own layout, not as the transpose of a transposed product.
    """
    if isinstance(b, Tensor) and b.node is not None and not b.retains_grad:
        node = b.node
        if type(node.gate) is S.Transpose and node.gate.axes is None and b.ndim == 2 \
                and node.inputs is not None and _ndim(a) >= 1:
            return apply(_MATVEC, node.inputs[0], a)
    a_vec, b_vec = _ndim(a) == 1, _ndim(b) == 1
    if _ndim(a) == 0 or _ndim(b) == 0:
        raise ValueError(f"matmul: scalars cannot be multiplied, got shapes {_shape(a)} "
                         f"and {_shape(b)}; use *")
    if a_vec:
        a = reshape(a, (1, -1))
    if b_vec:
        b = reshape(b, (-1, 1))
    c = apply(L.MatMul(), a, b)
    if a_vec or b_vec:
        shape = c.shape[:-2] + ((c.shape[-2],) if not a_vec else ()) + (
            (c.shape[-1],) if not b_vec else ()
        )
        c = reshape(c, shape)
    return c


def einsum(subscripts: str, *operands, optimize: Any = None) -> Tensor:
    """Einstein summation, as ``numpy.einsum`` (see :class:`~gradgate.gates.linalg.Einsum`):
    any subscripts, ``...`` and repeated letters included, contracted pairwise in NumPy's
    greedy order (``optimize`` is accepted for NumPy's signature; the order is always
    optimised)."""
    if not isinstance(subscripts, str):
        raise TypeError("einsum: the subscripts come first, as a string ('ij,jk->ik')")
    return apply(L.Einsum(subscripts), *operands)


def tensordot(a, b, axes: Any = 2) -> Tensor:
    """Σ over the last ``axes`` axes of a and the first of b (an int), or over the axes
    paired in ``axes = (a_axes, b_axes)``, as ``numpy.tensordot``: an einsum."""
    na, nb = _ndim(a), _ndim(b)
    if isinstance(axes, (int, np.integer)):
        if not 0 <= axes <= builtins.min(na, nb):  # min, max: gates here
            raise ValueError(f"tensordot: axes={axes} for tensors of {na} and {nb} dimensions")
        pairs = [(na - int(axes) + k, k) for k in range(int(axes))]
    else:
        left, right = axes
        left = [left] if isinstance(left, (int, np.integer)) else list(left)
        right = [right] if isinstance(right, (int, np.integer)) else list(right)
        if len(left) != len(right):
            raise ValueError("tensordot: axes must pair as many axes of a as of b")
        pairs = [(int(i) % builtins.max(na, 1), int(j) % builtins.max(nb, 1))
                 for i, j in zip(left, right, strict=True)]
    letters = L._LETTERS
    if na + nb > len(letters):
        raise ValueError("tensordot: too many dimensions")
    sa = list(letters[:na])
    sb = list(letters[na:na + nb])
    for i, j in pairs:
        sb[j] = sa[i]
    summed = {sa[i] for i, _ in pairs}
    out = [c for c in sa if c not in summed] + [c for c in sb if c not in summed]
    return einsum("".join(sa) + "," + "".join(sb) + "->" + "".join(out), a, b)


def dot(a, b) -> Tensor:
    """NumPy's dot: a * b for a scalar; the inner product of vectors; matmul of matrices;
    Σ over the last axis of a and b's only axis for a vector b; otherwise Σ over the last
    axis of a and the second-to-last of b (``dot(a, b)[i, j, k, m] = Σ a[i, j, :]
    b[k, :, m]``)."""
    na, nb = _ndim(a), _ndim(b)
    if na == 0 or nb == 0:
        return apply(_MUL, a, b)
    if na <= 2 and nb <= 2:
        return matmul(a, b)
    if nb == 1:
        return tensordot(a, b, axes=([-1], [0]))
    return tensordot(a, b, axes=([-1], [-2]))


def inner(a, b) -> Tensor:
    """NumPy's inner: a * b for a scalar, else Σ over the last axes of a and b."""
    if _ndim(a) == 0 or _ndim(b) == 0:
        return apply(_MUL, a, b)
    return tensordot(a, b, axes=([-1], [-1]))


def vdot(a, b) -> Tensor:
    """Σ a ⊙ b over the flattened arrays (real tensors: no conjugate)."""
    return dot(reshape(a, (-1,)), reshape(b, (-1,)))


def kron(a, b) -> Tensor:
    """The Kronecker product: blocks a[i, j] · b, as ``numpy.kron`` (the lower-dimensional
    input gets leading size-1 axes): an outer product broadcast and reshaped."""
    a = a if isinstance(a, Tensor) else Tensor(np.asarray(a))
    b = b if isinstance(b, Tensor) else Tensor(np.asarray(b))
    ndim = builtins.max(a.ndim, b.ndim)
    sa = (1,) * (ndim - a.ndim) + a.shape
    sb = (1,) * (ndim - b.ndim) + b.shape
    left = reshape(a, tuple(d for n in sa for d in (n, 1)))
    right = reshape(b, tuple(d for n in sb for d in (1, n)))
    return reshape(apply(_MUL, left, right), tuple(m * n for m, n in zip(sa, sb, strict=True)))


def cross(a, b, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """The cross product of 3-vectors along ``axis`` (PyTorch's ``dim``), batches
    broadcast: c = (a₁b₂ − a₂b₁, a₂b₀ − a₀b₂, a₀b₁ − a₁b₀)."""
    axis = axis if dim is None else dim
    a = a if isinstance(a, Tensor) else Tensor(np.asarray(a))
    b = b if isinstance(b, Tensor) else Tensor(np.asarray(b))
    if a.ndim == 0 or b.ndim == 0 or a.shape[axis] != 3 or b.shape[axis] != 3:
        raise ValueError(f"cross: needs vectors of 3 along axis {axis}, got shapes {a.shape} "
                         f"and {b.shape}")
    a, b = swapaxes(a, axis, -1), swapaxes(b, axis, -1)
    nxt, prv = np.array([1, 2, 0]), np.array([2, 0, 1])
    c = a[..., nxt] * b[..., prv] - a[..., prv] * b[..., nxt]
    return swapaxes(c, -1, axis)


def outer(a, b) -> Tensor:
    """a ⊗ b = a bᵀ for vectors a (m,), b (n,): the shape of dE/dW (lecture 20.3b)."""
    return apply(_MUL, reshape(a, (-1, 1)), reshape(b, (1, -1)))


# --- losses ----------------------------------------------------------------------------


def _reduce(loss: Tensor, reduction: str, what: str) -> Tensor:
    if reduction == "mean":
        return apply(R.Mean(), loss)
    if reduction == "sum":
        return apply(R.Sum(), loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{what}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def mse(o, t, reduction: str = "mean") -> Tensor:
    """Mean squared error (t − o)², averaged (or summed) over every element."""
    if _shape(o) != _shape(t):
        raise ValueError(f"mse: output shape {_shape(o)} and target shape {_shape(t)} differ")
    d = apply(E.Sub(), o, t)
    return _reduce(apply(_MUL, d, d), reduction, "mse")


def binary_cross_entropy_with_logits(x, t, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of targets t ∈ [0, 1] given logits x (stable for any |x|)."""
    return _reduce(apply(C.BCEWithLogits(), x, t), reduction, "binary_cross_entropy_with_logits")


def cross_entropy(x, labels, reduction: str = "mean") -> Tensor:
    """Cross-entropy of logits x (N, C) against integer class labels (N,)."""
    return _reduce(apply(C.CrossEntropy(), x, labels), reduction, "cross_entropy")


# --- helpers ---------------------------------------------------------------------------


def arange(*args: Any, **kwargs: Any) -> Tensor:
    """NumPy's ``arange`` as a constant tensor (rules call ``xp.arange`` for indices)."""
    return Tensor(np.arange(*args, **kwargs))


def eye(n: int, m: int | None = None, k: int = 0, dtype: Any = float) -> Tensor:
    """NumPy's ``eye`` as a constant tensor (rules call ``xp.eye``)."""
    return Tensor(np.eye(n, m, k, dtype=dtype))


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(np.shape(_data(x)))


def _ndim(x: Any) -> int:
    return len(_shape(x))


def _index(index: Any) -> Any:
    """Tensors inside an index become their arrays; lists become integer arrays."""
    if isinstance(index, tuple):
        return tuple(_index(i) for i in index)
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, list):
        return np.asarray(index)
    return index


# compositions built on the functions above; ``linalg`` is what rules reach as xp.linalg
from . import linalg  # noqa: E402, F401  (xp.linalg for rules)
from .indexing import *  # noqa: E402, F403
from .indexing import __all__ as _indexing_names  # noqa: E402
from .indexing import trace  # noqa: E402, F401  (not gradgate.trace: that is the tracer)

__all__ = [*_indexing_names] + [name for name, value in globals().items()
           if not name.startswith("_") and callable(value) and name not in (
               "apply", "functional_form", "arange", "eye", "scatter_into")
           and getattr(value, "__module__", "") == __name__]
