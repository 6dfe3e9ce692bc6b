"""The functional API: ``gg.<name>(...)`` for every gate, plus a few operations composed of
gates (stack, outer, mse, ...).

Names and signatures follow NumPy, so this module is also the ``xp`` namespace that gate
rules run on when the engine builds a differentiable graph of a gradient
(``create_graph=True``): a rule that calls ``xp.sum`` or ``xp.where`` gets NumPy's on the
fast path and these on that one.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import backend, contraction
from .conventions import ValuesIndices, reduction_call, torch_keywords
from .engine import apply
from .factories import meshgrid, ones_like, zeros_like  # noqa: F401  (xp.zeros_like, np.meshgrid)
from .gates import REGISTRY
from .gates import conv as K
from .gates import elementwise as E
from .gates import linalg as L
from .gates import losses as C
from .gates import norms as N
from .gates import order as O
from .gates import pool as P
from .gates import reduce as R
from .gates import shape as S
from .gates.base import functional_form, implements
from .replay import state as capture_state
from .replay.state import ACTIVE as _CAPTURING
from .tensor import Tensor, computed
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
    from typing import Protocol

    class _Function(Protocol):
        def __call__(self, *args: Any, **kwargs: Any) -> Tensor: ...

    def __getattr__(name: str) -> _Function: ...


def clamp(x, min=None, max=None) -> Tensor:
    """PyTorch's name for :func:`clip`: ``clamp(x, min=0)``, ``clamp(x, -1, 1)``."""
    return apply(E.Clip(min, max), x)


@implements("where")
def where(cond, x, y) -> Tensor:
    """x where cond is true, else y; cond (booleans) gets no gradient."""
    cond = _data(cond)
    if isinstance(cond, np.generic):  # comparing 0-d tensors gives a NumPy scalar
        cond = np.asarray(cond)
    return apply(E.Where(), cond, x, y)


def lerp(start, end, weight) -> Tensor:
    """start + weight (end − start), as ``torch.lerp``: composed of three gates, so every
    input, the weight too, gets its gradient from theirs."""
    return apply(E.Add(), start, apply(_MUL, weight, apply(E.Sub(), end, start)))


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


# --- shape -----------------------------------------------------------------------------


@implements("reshape", keywords={"newshape": "shape"})
def reshape(x, shape) -> Tensor:
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return apply(S.Reshape(shape), x)


@implements("transpose", "permute_dims")
def transpose(x, axes=None) -> Tensor:
    """Axes permuted (reversed when ``axes`` is None), as ``numpy.transpose``. (The method
    ``t.transpose(a, b)`` swaps two dims, as PyTorch's; see docs/numpy-and-pytorch.md.)"""
    return apply(S.Transpose(None if axes is None else tuple(axes)), x)


def permute(x, dims) -> Tensor:
    """PyTorch's name for :func:`transpose` with a permutation."""
    return apply(S.Transpose(tuple(dims)), x)


@implements("swapaxes")
def swapaxes(x, axis1: int, axis2: int) -> Tensor:
    ndim = _ndim(x)
    for axis in (axis1, axis2):
        if not -builtins.max(ndim, 1) <= axis < builtins.max(ndim, 1):
            raise ValueError(
                f"swapaxes: axis {axis} is out of range for a tensor of shape {_shape(x)}"
            )
    axes = list(range(ndim))
    if ndim:
        axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return apply(S.Transpose(tuple(axes)), x)


@implements("expand_dims")
def expand_dims(x, axis) -> Tensor:
    """x with new size-1 axes at ``axis`` (an int or a tuple), as NumPy."""
    return reshape(x, _shape_after("expand_dims", np.expand_dims, x, axis))


def unsqueeze(x, dim: int) -> Tensor:
    """x with a new size-1 axis at ``dim``, as PyTorch."""
    return expand_dims(x, dim)


@implements("squeeze")
def squeeze(x, axis=None) -> Tensor:
    """x without its size-1 axes (or only ``axis``, which must have size 1, as NumPy)."""
    return reshape(x, _shape_after("squeeze", np.squeeze, x, axis))


def _shape_after(name: str, shaping: Any, x: Any, axis: Any) -> tuple[int, ...]:
    """The shape NumPy's ``shaping`` gives x with ``axis``; its error, named."""
    try:
        return shaping(np.empty(_shape(x), dtype=np.bool_), axis).shape
    except (ValueError, IndexError) as error:  # AxisError is both
        raise ValueError(
            f"{name}: axis {axis} for a tensor of shape {_shape(x)}: {error}"
        ) from None


def flatten(x, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """x with dims ``start_dim`` to ``end_dim`` (inclusive) merged into one, as PyTorch."""
    shape = _shape(x)
    if not shape:
        return reshape(x, (1,))
    start, end = start_dim % len(shape), end_dim % len(shape)
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    return reshape(x, shape[:start] + (-1,) + shape[end + 1 :])


def unflatten(x, dim: int, sizes) -> Tensor:
    """x with dim ``dim`` split into ``sizes`` (one may be −1), as PyTorch."""
    shape = _shape(x)
    dim = dim % len(shape)
    return reshape(x, shape[:dim] + tuple(sizes) + shape[dim + 1 :])


def getitem(x, index) -> Tensor:
    """x[index]; ``index`` may hold ints, slices, None, Ellipsis and integer arrays."""
    return apply(S.GetItem(_index(index)), x)


def scatter_into(g, index, shape) -> Tensor:
    """zeros(shape) with g added at index (repeats summed): the transpose of getitem.
    Rules call it as ``xp.scatter_add(g, index, shape)`` (see ``indexing.scatter_add``)."""
    return apply(S.ScatterAdd(_index(index), shape), g)


@implements("concatenate", "concat")
def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    if len(tensors) == 0:
        raise ValueError("concatenate: needs at least one tensor")
    return apply(S.Concatenate(axis), *tensors)


def cat(tensors: Sequence[Any], dim: int = 0) -> Tensor:
    """PyTorch's name for :func:`concatenate`."""
    return concatenate(tensors, axis=dim)


@implements("stack")
def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Tensors of one shape joined along a new axis."""
    if len(tensors) == 0:
        raise ValueError("stack: needs at least one tensor")
    shapes = {_shape(t) for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: tensors must have one shape, got {sorted(shapes)}")
    return concatenate([expand_dims(t, axis) for t in tensors], axis=axis)


def chunk(x, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """x cut along ``dim`` into pieces of ceil(n / chunks) (the last may be smaller, and
    there may be fewer than ``chunks``), as ``torch.chunk``; each piece is a view gate."""
    if chunks < 1:
        raise ValueError(f"chunk: chunks must be at least 1, got {chunks}")
    n = _shape(x)[dim]
    size = -(-n // chunks) or 1
    lead = (slice(None),) * (dim % _ndim(x))
    return tuple(getitem(x, lead + (slice(k, k + size),)) for k in range(0, n, size))


def unbind(x, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices of x along ``dim``, that dim removed, as ``torch.unbind``."""
    lead = (slice(None),) * (dim % _ndim(x))
    return tuple(getitem(x, lead + (k,)) for k in range(_shape(x)[dim]))


def expand(x, *sizes) -> Tensor:
    """x broadcast to ``sizes``, −1 keeping a dim's size, as ``torch.Tensor.expand``."""
    sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
    shape = _shape(x)
    lead = len(sizes) - len(shape)
    if lead < 0:
        raise ValueError(f"expand: {len(sizes)} sizes for a tensor of {len(shape)} dims")
    full = tuple(shape[k - lead] if n == -1 and k >= lead else n for k, n in enumerate(sizes))
    return apply(S.BroadcastTo(full), x)


# --- reductions that PyTorch also answers with indices ------------------------------------


def _values_at(x, indices: np.ndarray, axis: int, keepdims: bool) -> ValuesIndices:
    """(x at ``indices`` along ``axis``, the indices), indices given with the axis kept
    as size 1: the values are an indexing gate, so the gradient goes to those elements."""
    shape = _shape(x)
    if not shape:
        return ValuesIndices(getitem(x, ()), Tensor(np.zeros((), dtype=np.int64)))
    axis = axis % len(shape)
    index = tuple(
        indices if a == axis else np.arange(n).reshape((n,) + (1,) * (len(shape) - a - 1))
        for a, n in enumerate(shape)
    )
    values = getitem(x, index)
    indices = indices.astype(np.int64)
    if not keepdims:
        values, indices = squeeze(values, axis), np.squeeze(indices, axis)
    return ValuesIndices(values, Tensor(indices))


def _extreme(what: str, x, args: tuple, kwargs: dict, pick: Any, reduce: Any, pair: Any):
    """max or min, called either way: ``reduce`` and ``pair`` are the gate classes."""
    if len(args) == 1 and not kwargs and isinstance(args[0], (Tensor, np.ndarray)):
        return apply(pair(), x, args[0])  # torch.max(a, b): the element-wise extreme
    call = reduction_call(what, args, kwargs)
    if not call.pytorch:
        return apply(reduce(call.axis, call.keepdims), x)
    data = _data(x)
    if data.ndim and data.shape[call.axis] == 0:
        raise IndexError(f"{what}: dim {call.axis} of shape {data.shape} is empty")
    indices = (
        pick(data, axis=call.axis % (data.ndim or 1), keepdims=True)
        if data.ndim
        else np.zeros((), dtype=np.int64)
    )
    return _values_at(x, indices, call.axis, call.keepdims)


def max(x, *args, **kwargs):
    """The largest elements, NumPy's way or PyTorch's (``gradgate.conventions``):

    ``max(x)``, ``max(x, axis=1)``: the values (``amax``; tied elements share g);
    ``max(x, 1)``, ``max(x, dim=1)``: ``(values, indices)``, the gradient to the index;
    ``max(x, y)``: the element-wise ``maximum``.
    """
    return _extreme("max", x, args, kwargs, np.argmax, R.Max, E.Maximum)


def min(x, *args, **kwargs):
    """The smallest elements; called as :func:`max` is."""
    return _extreme("min", x, args, kwargs, np.argmin, R.Min, E.Minimum)


@implements("median")
def median(x, *args, **kwargs):
    """NumPy's median with ``axis=`` (or none): the mean of the two middle values of an
    even count. With a ``dim`` (``median(x, 1)``, ``dim=1``), PyTorch's: ``(values,
    indices)`` of the lower middle value, the index of its first occurrence (NaN, and its
    index, where a slice holds one)."""
    call = reduction_call("median", args, kwargs)
    if not call.pytorch:
        return apply(O.Median(call.axis, call.keepdims), x)
    return _values_at(x, _lower_median_index(_data(x), call.axis), call.axis, call.keepdims)


def _lower_median_index(a: np.ndarray, axis: int) -> np.ndarray:
    if a.ndim == 0:
        return np.zeros((), dtype=np.int64)
    n = a.shape[axis]
    if n == 0:
        raise IndexError(f"median: dim {axis} of shape {a.shape} is empty")
    middle = np.take(np.sort(a, axis=axis), [(n - 1) // 2], axis=axis)
    nan = np.isnan(a).any(axis=axis, keepdims=True)
    match = np.where(nan, np.isnan(a), a == middle)
    return np.argmax(match, axis=axis, keepdims=True)


def mode(x, dim: int = -1, keepdim: bool = False) -> ValuesIndices:
    """The most frequent value along ``dim`` (the smallest of equally frequent ones) and
    the index of its last occurrence, as ``torch.mode``; the gradient goes to that index."""
    a = _data(x)
    if a.ndim == 0:
        return _values_at(x, np.zeros((), dtype=np.int64), 0, keepdim)
    t = np.moveaxis(a, dim, -1)  # (..., n)
    n = t.shape[-1]
    if n == 0:
        raise IndexError(f"mode: dim {dim} of shape {a.shape} is empty")
    counts = (t[..., :, None] == t[..., None, :]).sum(axis=-1)
    frequent = counts == counts.max(axis=-1, keepdims=True)
    value = np.where(frequent, t, np.inf).min(axis=-1, keepdims=True)
    last = n - 1 - np.argmax((t == value)[..., ::-1], axis=-1, keepdims=True)
    return _values_at(x, np.moveaxis(last, -1, dim), dim, keepdim)


def _index_reduction(what: str, reduce: Any, x, args: tuple, kwargs: dict) -> Tensor:
    kwargs = torch_keywords(what, kwargs)
    return computed(reduce, x, *args, **kwargs)


@implements("argmax")
def argmax(x, *args, **kwargs) -> Tensor:
    """Indices of the largest elements (the first of ties), NumPy's ``argmax``; ``dim=``
    and ``keepdim=`` as PyTorch's. Indices carry no gradient."""
    return _index_reduction("argmax", np.argmax, x, args, kwargs)


@implements("argmin")
def argmin(x, *args, **kwargs) -> Tensor:
    """Indices of the smallest elements; see :func:`argmax`."""
    return _index_reduction("argmin", np.argmin, x, args, kwargs)


@implements("any")
def any(x, *args, **kwargs) -> Tensor:
    """Whether any element is true (non-zero), over ``axis``/``dim``; no gradient."""
    return _index_reduction("any", np.any, x, args, kwargs)


@implements("all")
def all(x, *args, **kwargs) -> Tensor:
    """Whether every element is true (non-zero), over ``axis``/``dim``; no gradient."""
    return _index_reduction("all", np.all, x, args, kwargs)


@implements("linalg.norm")
def norm(x, ord=None, axis=None, keepdims: bool = False) -> Tensor:
    """``numpy.linalg.norm``: with ``axis`` None the 2-norm of every element (or, with
    ``ord``, the vector norm of a 1-D or the matrix norm of a 2-D x); an int axis gives
    vector norms (:class:`~gradgate.gates.norms.VectorNorm`), two axes matrix norms:
    ``'fro'``, and ±1 / ±inf (the largest or smallest column / row sum of |x|), composed
    of gates. Matrix ``ord`` 2, −2 and ``'nuc'`` need singular values and are refused."""
    ndim = _ndim(x)
    if axis is None:
        if ord is None:
            return apply(N.VectorNorm(2, None, keepdims), x)
        if ndim not in (1, 2):
            raise ValueError(f"norm: ord={ord!r} needs a 1-D or 2-D tensor, got {ndim}-D")
        axis = tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if len(axes) == 1:
        if isinstance(ord, str):
            raise ValueError(f"norm: ord={ord!r} is a matrix norm; give two axes")
        return apply(N.VectorNorm(ord, axes[0], keepdims), x)
    if len(axes) != 2:
        raise ValueError(f"norm: axis must be an int or two ints, got {axis}")
    row, col = (a % ndim for a in axes)
    if ord in (None, "fro"):
        return apply(N.VectorNorm(2, (row, col), keepdims), x)
    if ord in (1, -1, math.inf, -math.inf):
        along, across = (row, col) if ord in (1, -1) else (col, row)
        sums = apply(R.Sum(along, True), apply(E.Abs(), x))
        out = apply((R.Max if ord > 0 else R.Min)(across, True), sums)
        return out if keepdims else squeeze(out, (row, col))
    if ord in (2, -2, "nuc"):  # from the singular values
        from . import linalg

        return linalg.norm(x, ord, (row, col), keepdims)
    raise ValueError(f"norm: ord={ord!r} is not a matrix norm (None, 'fro', 'nuc', ±1, ±2, ±inf)")


# --- comparisons (no gradient) ------------------------------------------------------------


def eq(a, b) -> Tensor:
    """a == b element-wise, a boolean tensor with no gradient (also ne, lt, le, gt, ge)."""
    return computed(np.equal, a, b)


def ne(a, b) -> Tensor:
    return computed(np.not_equal, a, b)


def lt(a, b) -> Tensor:
    return computed(np.less, a, b)


def le(a, b) -> Tensor:
    return computed(np.less_equal, a, b)


def gt(a, b) -> Tensor:
    return computed(np.greater, a, b)


def ge(a, b) -> Tensor:
    return computed(np.greater_equal, a, b)


def isnan(x) -> Tensor:
    """Where x is NaN; no gradient (rules call it as ``xp.isnan``)."""
    return computed(np.isnan, x)


# --- linear algebra --------------------------------------------------------------------


_MATVEC = L.MatVec()
_MUL = E.Mul()


@implements("matmul")
def matmul(a, b) -> Tensor:
    """a @ b with NumPy's rules: vectors are promoted, batch axes broadcast.

    ``x @ W.T`` with a matrix W (how a layer is written, as PyTorch's ``F.linear``) is the
    lecture's s = W x: it runs as :func:`matvec` on W itself, so dE/dW comes out as the
    outer product (20.3b) in W's own layout, not as the transpose of a transposed product.
    """
    if isinstance(b, Tensor) and b.node is not None and not b.retains_grad:
        node = b.node
        if (
            type(node.gate) is S.Transpose
            and node.gate.axes is None
            and b.ndim == 2
            and node.inputs is not None
            and _ndim(a) >= 1
        ):
            return apply(_MATVEC, node.inputs[0], a)
    a_vec, b_vec = _ndim(a) == 1, _ndim(b) == 1
    if _ndim(a) == 0 or _ndim(b) == 0:
        raise ValueError(
            f"matmul: scalars cannot be multiplied, got shapes {_shape(a)} and {_shape(b)}; use *"
        )
    if a_vec:
        a = reshape(a, (1, -1))
    if b_vec:
        b = reshape(b, (-1, 1))
    c = apply(L.MatMul(), a, b)
    if a_vec or b_vec:
        shape = (
            c.shape[:-2]
            + ((c.shape[-2],) if not a_vec else ())
            + ((c.shape[-1],) if not b_vec else ())
        )
        c = reshape(c, shape)
    return c


@implements("einsum")
def einsum(subscripts: str, *operands, optimize: Any = None) -> Tensor:
    """Einstein summation, as ``numpy.einsum`` (see :class:`~gradgate.gates.linalg.Einsum`):
    any subscripts, ``...`` and repeated letters included, contracted pairwise in NumPy's
    greedy order (``optimize`` is accepted for NumPy's signature; the order is always
    optimised).

    Three or more operands are recorded as the contraction's pairwise steps, one
    ``Einsum`` gate of two operands each, so that backward reuses the products the forward
    made: two pairwise contractions per step, the cost of two forwards. One gate for the
    whole would have to contract g with all the other operands for each one, redoing
    those products."""
    if not isinstance(subscripts, str):
        raise TypeError("einsum: the subscripts come first, as a string ('ij,jk->ik')")
    if len(operands) < 3:
        return apply(L.Einsum(subscripts), *operands)
    shapes = tuple(tuple(np.shape(x)) for x in operands)
    explicit = L.explicit_subscripts(subscripts, shapes)
    plan = contraction.plan(explicit, shapes)
    x = plan.fold(operands, lambda step, a, b: apply(L.Einsum(step.subscripts), a, b))
    if plan.axes is not None:
        x = apply(L.Einsum(plan.letters + "->" + explicit.partition("->")[2]), x)
    return x


@implements("tensordot")
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
        pairs = [
            (int(i) % builtins.max(na, 1), int(j) % builtins.max(nb, 1))
            for i, j in zip(left, right, strict=True)
        ]
    letters = L._LETTERS
    if na + nb > len(letters):
        raise ValueError("tensordot: too many dimensions")
    sa = list(letters[:na])
    sb = list(letters[na : na + nb])
    for i, j in pairs:
        sb[j] = sa[i]
    summed = {sa[i] for i, _ in pairs}
    out = [c for c in sa if c not in summed] + [c for c in sb if c not in summed]
    return einsum("".join(sa) + "," + "".join(sb) + "->" + "".join(out), a, b)


@implements("dot")
def dot(a, b) -> Tensor:
    """NumPy's dot: a * b for a scalar; the inner product of vectors; matmul of matrices;
    Σ over the last axis of a and b's only axis for a vector b; otherwise Σ over the last
    axis of a and the second-to-last of b (``dot(a, b)[i, j, k, m] = Σ a[i, j, :]
    b[k, :, m]``)."""
    na, nb = _ndim(a), _ndim(b)
    if na == 0 or nb == 0:
        return apply(_MUL, a, b)
    inner_b = _shape(b)[0] if nb == 1 else _shape(b)[-2]
    if _shape(a)[-1] != inner_b:
        raise ValueError(
            f"dot: shapes {_shape(a)} and {_shape(b)} are not aligned: {_shape(a)[-1]} != {inner_b}"
        )
    if na <= 2 and nb <= 2:
        return matmul(a, b)
    if nb == 1:
        return tensordot(a, b, axes=([-1], [0]))
    return tensordot(a, b, axes=([-1], [-2]))


@implements("inner")
def inner(a, b) -> Tensor:
    """NumPy's inner: a * b for a scalar, else Σ over the last axes of a and b."""
    if _ndim(a) == 0 or _ndim(b) == 0:
        return apply(_MUL, a, b)
    return tensordot(a, b, axes=([-1], [-1]))


@implements("vdot")
def vdot(a, b) -> Tensor:
    """Σ a ⊙ b over the flattened arrays (real tensors: no conjugate)."""
    return dot(reshape(a, (-1,)), reshape(b, (-1,)))


@implements("kron")
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


@implements("cross")
def cross(a, b, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """The cross product of 3-vectors along ``axis`` (PyTorch's ``dim``), batches
    broadcast: c = (a₁b₂ − a₂b₁, a₂b₀ − a₀b₂, a₀b₁ − a₁b₀)."""
    axis = axis if dim is None else dim
    a = a if isinstance(a, Tensor) else Tensor(np.asarray(a))
    b = b if isinstance(b, Tensor) else Tensor(np.asarray(b))
    if a.ndim == 0 or b.ndim == 0 or a.shape[axis] != 3 or b.shape[axis] != 3:
        raise ValueError(
            f"cross: needs vectors of 3 along axis {axis}, got shapes {a.shape} and {b.shape}"
        )
    a, b = swapaxes(a, axis, -1), swapaxes(b, axis, -1)
    nxt, prv = np.array([1, 2, 0]), np.array([2, 0, 1])
    c = a[..., nxt] * b[..., prv] - a[..., prv] * b[..., nxt]
    return swapaxes(c, -1, axis)


@implements("outer")
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


def cross_entropy(
    x,
    target,
    reduction: str = "mean",
    *,
    weight=None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of logits x (N, C) — or (N, C, d1, ...) — against integer class labels
    (N,) — or (N, d1, ...) — or against class probabilities of x's shape, as PyTorch's.

    ``weight`` (C,) weighs each class; labels equal to ``ignore_index`` add nothing (a mean is
    taken over the weights of the others); ``label_smoothing`` ε mixes the target with the
    uniform distribution: ℓ = (1 − ε) ℓ_label + ε/C · Σ_c w_c (−ln softmax(x)_c). Plain labels
    on (N, C) logits run as the fused :class:`CrossEntropy` gate; the options compose
    log_softmax with :func:`nll_loss` (and, for soft targets, a weighted sum).
    """
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(
            f"cross_entropy: label_smoothing must lie in [0, 1], got {label_smoothing!r}"
        )
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(
            f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}"
        )
    labels = _data(target)
    if not hasattr(labels, "dtype"):
        labels = np.asarray(labels)
    shape = _shape(x)
    if labels.dtype.kind == "f":
        return _soft_cross_entropy(x, target, weight, reduction, label_smoothing)
    if (
        weight is None
        and label_smoothing == 0.0
        and len(shape) == 2
        and labels.ndim == 1
        and not capture_state.checked(_holds, labels, ignore_index)
    ):
        return _reduce(apply(C.CrossEntropy(), x, labels), reduction, "cross_entropy")
    if len(shape) < 1:
        raise ValueError(f"cross_entropy: logits need a class axis, got shape {shape}")
    class_axis = 0 if len(shape) == 1 else 1
    logp = apply(C.LogSoftmax(class_axis), x)
    loss = nll_loss(logp, labels, weight=weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing == 0.0:
        return loss
    n_classes = shape[class_axis]
    w = None if weight is None else _class_weights(weight, shape, class_axis)
    smooth = -apply(R.Sum(axis=class_axis), logp if w is None else logp * w)
    valid = computed(np.not_equal, labels, ignore_index)
    smooth = where(valid, smooth, 0.0)
    if reduction == "mean":
        total = computed(_smoothing_total, labels, ignore_index, weight, _data(logp).dtype)
        smooth = _weighted_mean(apply(R.Sum(), smooth), total)
    elif reduction == "sum":
        smooth = apply(R.Sum(), smooth)
    return loss * (1.0 - label_smoothing) + smooth * (label_smoothing / n_classes)


def _smoothing_total(labels: Any, ignore_index: int, weights: Any, dtype: Any) -> Any:
    """What label smoothing's mean divides by: the labels kept (their weights' sum)."""
    valid = labels != ignore_index
    if weights is None:
        return np.asarray(np.sum(valid), dtype=dtype)
    kept = np.asarray(_data(weights))[np.where(valid, labels, 0)] * valid
    return np.asarray(float(np.sum(kept)), dtype=dtype)


def _holds(labels: Any, value: int) -> bool:
    """Whether any label equals ``value``."""
    return bool((labels == value).any())


def _class_weights(weight, shape: tuple[int, ...], class_axis: int) -> Any:
    """The class weights (C,), shaped to broadcast along the class axis (a tensor, so that
    a captured step reads the weights' tensor at each replay)."""
    if _shape(weight) != (shape[class_axis],):
        raise ValueError(
            f"cross_entropy: weight must be ({shape[class_axis]},), one per class, "
            f"got {_shape(weight)}"
        )
    w = weight if isinstance(weight, Tensor) else Tensor(np.asarray(weight))
    return reshape(w, (-1,) + (1,) * (len(shape) - class_axis - 1))


def _soft_cross_entropy(x, target, weight, reduction: str, label_smoothing: float) -> Tensor:
    """ℓ_n = −Σ_c w_c t_nc ln softmax(x_n)_c for class probabilities t of x's shape; the mean
    is over the examples (N · d1 · ...), as PyTorch's."""
    shape = _shape(x)
    if _shape(target) != shape:
        raise ValueError(
            f"cross_entropy: probability targets must have the logits' shape "
            f"{shape}, got {_shape(target)}"
        )
    class_axis = 0 if len(shape) == 1 else 1
    n_classes = shape[class_axis]
    logp = apply(C.LogSoftmax(class_axis), x)
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + label_smoothing / n_classes
    product = logp * target
    if weight is not None:
        product = product * _class_weights(weight, shape, class_axis)
    if reduction == "none":
        return -apply(R.Sum(axis=class_axis), product)
    total = -apply(R.Sum(), product)
    if reduction == "mean":
        examples = int(np.prod(shape)) // n_classes if n_classes else 0
        return total / float(examples)  # max() here is the gate: this module shadows it
    return total


def nll_loss(
    logp, target, reduction: str = "mean", *, weight=None, ignore_index: int = -100
) -> Tensor:
    """ℓ_n = −w[y_n] logp_n[y_n] for log-probabilities logp (N, C) — or (C,), or
    (N, C, d1, ...) — and integer labels y (N,) (or (), or (N, d1, ...)).

    Labels equal to ``ignore_index`` add nothing; the mean divides by the sum of the weights
    w[y_n] of the others (by their number without ``weight``), as PyTorch. The pick is a
    getitem, so dE/dlogp is −g w[y_n] at (n, y_n) and zero elsewhere.
    """
    labels = np.asarray(_data(target))
    shape = _shape(logp)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: labels must be integers, got {labels.dtype}")
    class_axis = 0 if len(shape) == 1 else 1
    if len(shape) < 1 or labels.shape != shape[:class_axis] + shape[class_axis + 1 :]:
        raise ValueError(
            f"nll_loss: log-probabilities {shape} and labels {labels.shape} do not "
            "fit: the labels have the shape without the class axis (axis 1)"
        )
    n_classes = shape[class_axis]
    if weight is not None and _shape(weight) != (n_classes,):
        raise ValueError(
            f"nll_loss: weight must be ({n_classes},), one per class, got {_shape(weight)}"
        )
    # what follows from the labels' values is computed by `computed` and `checked`, which a
    # captured step repeats at each replay (gradgate.replay)
    dtype = _data(logp).dtype
    safe, w = computed(_picked_labels, labels, n_classes, ignore_index, weight, dtype)
    if len(shape) == 1:
        index: tuple = (safe._data,)
    else:  # (n, y[n, i, ...], i, ...) for every place of the labels
        grids = [
            _constant_array(np.arange(n).reshape([-1 if a == k else 1 for a in range(labels.ndim)]))
            for k, n in enumerate(labels.shape)
        ]
        index = (grids[0], safe._data, *grids[1:])
    picked = getitem(logp, index)  # (N, d1, ...)
    loss = -(picked * w)
    if reduction == "mean":
        return _weighted_mean(apply(R.Sum(), loss), w.sum())
    return _reduce(loss, reduction, "nll_loss")


def _picked_labels(
    labels: Any, n_classes: int, ignore_index: int, weights: Any, dtype: Any
) -> tuple[Any, Any]:
    """The labels with ``ignore_index`` made 0 (a class to pick), and each place's weight:
    w[y] (1 without weights), 0 where the label is ignored. Raises for a label outside
    [0, n_classes)."""
    valid = labels != ignore_index
    safe = np.where(valid, labels, 0)
    if safe.size and (safe.min() < 0 or safe.max() >= n_classes):
        raise ValueError(
            f"nll_loss: labels must lie in [0, {n_classes}) or equal ignore_index "
            f"({ignore_index}), got {int(safe.min())}..{int(safe.max())}"
        )
    if weights is None:
        return safe, valid.astype(dtype)
    return safe, (np.asarray(_data(weights))[safe] * valid).astype(dtype)


def _weighted_mean(total: Tensor, weight: Tensor) -> Tensor:
    """total / weight (a 0-d tensor); with nothing to weigh (every label ignored) NaN, as
    PyTorch, whose gradient is zero (every place has weight 0) rather than 0/0. Chosen by
    ``where``, so a captured step chooses again at each replay."""
    some = weight != 0
    return where(some, total / where(some, weight, 1.0), nan)


# --- convolution and pooling (PyTorch's torch.nn.functional names and signatures) -------


def _batched(x, d: int, what: str) -> tuple[Any, bool]:
    """x as (N, C, *spatial) with d spatial axes, and whether a batch axis was added to an
    unbatched (C, *spatial) input (taken off again by :func:`_unbatched`)."""
    ndim = _ndim(x)
    if ndim == d + 1:
        return reshape(x, (1, *_shape(x))), True
    if ndim != d + 2:
        raise ValueError(
            f"{what}: needs an input (N, C, {'L' if d == 1 else 'H, W'}) or "
            f"(C, {'L' if d == 1 else 'H, W'}), got shape {_shape(x)}"
        )
    return x, False


def _unbatched(y: Tensor, added: bool) -> Tensor:
    return reshape(y, y.shape[1:]) if added else y


def _with_bias(y: Tensor, bias, d: int) -> Tensor:
    if bias is None:
        return y
    if _shape(bias) != (y.shape[1],):
        raise ValueError(
            f"conv: bias of shape {_shape(bias)} does not fit {y.shape[1]} output channels"
        )
    return y + reshape(bias, (y.shape[1],) + (1,) * d)


def _conv(x, weight, bias, d: int, what: str, **params: Any) -> Tensor:
    x, added = _batched(x, d, what)
    if _ndim(weight) != d + 2:
        raise ValueError(
            f"{what}: needs a weight (out, in/groups, *kernel) of {d + 2} axes, "
            f"got shape {_shape(weight)}"
        )
    return _unbatched(_with_bias(apply(K.Conv(**params), x, weight), bias, d), added)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """y = x ⋆ W + b over one spatial axis: x (N, C, L), W (O, C/groups, k), b (O,)."""
    return _conv(
        input,
        weight,
        bias,
        1,
        "conv1d",
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
    )


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """y = x ⋆ W + b over two spatial axes: x (N, C, H, W), W (O, C/groups, kh, kw), b (O,).

    ``padding`` is an int, a pair, "valid" or "same" (stride 1; an odd total puts the
    extra zero after, as PyTorch does). See the ``Conv`` gate for the gradients.
    """
    return _conv(
        input,
        weight,
        bias,
        2,
        "conv2d",
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
    )


def _conv_transpose(x, weight, bias, d: int, what: str, **params: Any) -> Tensor:
    x, added = _batched(x, d, what)
    if _ndim(weight) != d + 2:
        raise ValueError(
            f"{what}: needs a weight (in, out/groups, *kernel) of {d + 2} axes, "
            f"got shape {_shape(weight)}"
        )
    return _unbatched(_with_bias(apply(K.ConvTranspose(**params), x, weight), bias, d), added)


def conv_transpose1d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> Tensor:
    """The transpose of conv1d in its input: x (N, C, L), W (C, O/groups, k), b (O,)."""
    return _conv_transpose(
        input,
        weight,
        bias,
        1,
        "conv_transpose1d",
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
        groups=groups,
    )


def conv_transpose2d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> Tensor:
    """The transpose of conv2d in its input: x (N, C, H, W), W (C, O/groups, kh, kw),
    b (O,); PyTorch's argument order (groups before dilation)."""
    return _conv_transpose(
        input,
        weight,
        bias,
        2,
        "conv_transpose2d",
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
        groups=groups,
    )


def _pool(x, d: int, what: str, gate: Any) -> Tensor:
    x, added = _batched(x, d, what)
    return _unbatched(apply(gate, x), added)


def _kernel(value, d: int, what: str) -> tuple[int, ...]:
    return K.ints(value, d, "kernel_size", what)


def max_pool1d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
) -> Any:
    """The largest element of each window of k along L: x (N, C, L) or (C, L)."""
    return _max_pool(
        input, 1, "max_pool1d", kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool2d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
) -> Any:
    """The largest element of each kh × kw window (padding counts as −∞): x (N, C, H, W)
    or (C, H, W). ``stride`` defaults to the kernel; ``return_indices=True`` also gives
    each maximum's flat position in its H × W plane (as PyTorch's indices)."""
    return _max_pool(
        input, 2, "max_pool2d", kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def _max_pool(x, d, what, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    gate = P.MaxPool(_kernel(kernel_size, d, what), stride, padding, dilation, ceil_mode)
    y = _pool(x, d, what, gate)
    if not return_indices:
        return y
    with_batch, added = _batched(x, d, what)
    _, index = gate.forward(backend.namespace_of(_data(with_batch)), _data(with_batch))
    plane = int(np.prod(_shape(with_batch)[2:]))
    index = index % plane  # within each (n, c) plane, as PyTorch numbers them
    return y, Tensor(index[0] if added else index)


def avg_pool1d(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
) -> Tensor:
    """The mean of each window of k along L: x (N, C, L) or (C, L)."""
    kernel = _kernel(kernel_size, 1, "avg_pool1d")
    return _pool(
        input, 1, "avg_pool1d", P.AvgPool(kernel, stride, padding, count_include_pad, ceil_mode)
    )


def avg_pool2d(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
) -> Tensor:
    """The mean of each kh × kw window: x (N, C, H, W) or (C, H, W). Padded zeros count
    in the mean unless ``count_include_pad=False``; ``ceil_mode=True`` keeps a last,
    partial window at the end of an axis (as PyTorch: one that starts inside the input or
    its left padding), its mean over the elements it holds."""
    kernel = _kernel(kernel_size, 2, "avg_pool2d")
    return _pool(
        input, 2, "avg_pool2d", P.AvgPool(kernel, stride, padding, count_include_pad, ceil_mode)
    )


def adaptive_avg_pool1d(input, output_size) -> Tensor:
    """The mean of each of ``output_size`` bins along L (PyTorch's bins)."""
    size = (output_size,) if not isinstance(output_size, (tuple, list)) else output_size
    return _pool(input, 1, "adaptive_avg_pool1d", P.AdaptiveAvgPool(tuple(size)))


def adaptive_avg_pool2d(input, output_size) -> Tensor:
    """The mean of each of oh × ow bins (an int for both, None keeps that axis):
    ``adaptive_avg_pool2d(x, 1)`` is global average pooling."""
    size = (output_size,) * 2 if not isinstance(output_size, (tuple, list)) else output_size
    return _pool(input, 2, "adaptive_avg_pool2d", P.AdaptiveAvgPool(tuple(size)))


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
        return _constant_array(np.asarray(index))
    return index


def _constant_array(a: Any) -> Any:
    """``a``, made from Python values: a constant to a captured step."""
    if _CAPTURING[0]:
        recorder = capture_state.recorder()
        if recorder is not None:
            recorder.constant_array(a)
    return a


# compositions built on the functions above; ``linalg`` is what rules reach as xp.linalg
from . import linalg  # noqa: E402, F401  (xp.linalg for rules)
from .indexing import *  # noqa: E402, F403
from .indexing import __all__ as _indexing_names  # noqa: E402
from .indexing import trace  # noqa: E402, F401  (not gradgate.trace: that is the tracer)

__all__ = [*_indexing_names] + [
    name
    for name, value in globals().items()
    if not name.startswith("_")
    and callable(value)
    and name not in ("apply", "functional_form", "arange", "eye", "scatter_into")
    and getattr(value, "__module__", "") == __name__
]
