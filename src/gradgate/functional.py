"""The functional API: ``gg.<name>(...)`` for every gate, plus a few operations composed of
gates (stack, outer, mse, ...).

Names and signatures follow NumPy, so this module is also the ``xp`` namespace that gate
rules run on when the engine builds a differentiable graph of a gradient
(``create_graph=True``): a rule that calls ``xp.sum`` or ``xp.where`` gets NumPy's on the
fast path and these on that one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import backend
from .engine import apply
from .gates import REGISTRY
from .gates import conv as K
from .gates import elementwise as E
from .gates import linalg as L
from .gates import losses as C
from .gates import pool as P
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
    from typing import Protocol

    class _Function(Protocol):
        def __call__(self, *args: Any, **kwargs: Any) -> Tensor: ...

    def __getattr__(name: str) -> _Function: ...


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


def scatter_add(g, index, shape) -> Tensor:
    """zeros(shape) with g added at index (repeats summed): the transpose of getitem."""
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


def dot(a, b) -> Tensor:
    """Inner product of two vectors."""
    if _ndim(a) != 1 or _ndim(b) != 1:
        raise ValueError(f"dot: needs two vectors, got shapes {_shape(a)} and {_shape(b)}")
    return matmul(a, b)


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


# --- convolution and pooling (PyTorch's torch.nn.functional names and signatures) -------


def _batched(x, d: int, what: str) -> tuple[Any, bool]:
    """x as (N, C, *spatial) with d spatial axes, and whether a batch axis was added to an
    unbatched (C, *spatial) input (taken off again by :func:`_unbatched`)."""
    ndim = _ndim(x)
    if ndim == d + 1:
        return reshape(x, (1, *_shape(x))), True
    if ndim != d + 2:
        raise ValueError(f"{what}: needs an input (N, C, {'L' if d == 1 else 'H, W'}) or "
                         f"(C, {'L' if d == 1 else 'H, W'}), got shape {_shape(x)}")
    return x, False


def _unbatched(y: Tensor, added: bool) -> Tensor:
    return reshape(y, y.shape[1:]) if added else y


def _with_bias(y: Tensor, bias, d: int) -> Tensor:
    if bias is None:
        return y
    if _shape(bias) != (y.shape[1],):
        raise ValueError(f"conv: bias of shape {_shape(bias)} does not fit {y.shape[1]} "
                         "output channels")
    return y + reshape(bias, (y.shape[1],) + (1,) * d)


def _conv(x, weight, bias, d: int, what: str, **params: Any) -> Tensor:
    x, added = _batched(x, d, what)
    if _ndim(weight) != d + 2:
        raise ValueError(f"{what}: needs a weight (out, in/groups, *kernel) of {d + 2} axes, "
                         f"got shape {_shape(weight)}")
    return _unbatched(_with_bias(apply(K.Conv(**params), x, weight), bias, d), added)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """y = x ⋆ W + b over one spatial axis: x (N, C, L), W (O, C/groups, k), b (O,)."""
    return _conv(input, weight, bias, 1, "conv1d", stride=stride, padding=padding,
                 dilation=dilation, groups=groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """y = x ⋆ W + b over two spatial axes: x (N, C, H, W), W (O, C/groups, kh, kw), b (O,).

    ``padding`` is an int, a pair, "valid" or "same" (stride 1; an odd total puts the
    extra zero after, as PyTorch does). See the ``Conv`` gate for the gradients.
    """
    return _conv(input, weight, bias, 2, "conv2d", stride=stride, padding=padding,
                 dilation=dilation, groups=groups)


def _conv_transpose(x, weight, bias, d: int, what: str, **params: Any) -> Tensor:
    x, added = _batched(x, d, what)
    if _ndim(weight) != d + 2:
        raise ValueError(f"{what}: needs a weight (in, out/groups, *kernel) of {d + 2} axes, "
                         f"got shape {_shape(weight)}")
    return _unbatched(_with_bias(apply(K.ConvTranspose(**params), x, weight), bias, d), added)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1) -> Tensor:
    """The transpose of conv1d in its input: x (N, C, L), W (C, O/groups, k), b (O,)."""
    return _conv_transpose(input, weight, bias, 1, "conv_transpose1d", stride=stride,
                           padding=padding, output_padding=output_padding, dilation=dilation,
                           groups=groups)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1) -> Tensor:
    """The transpose of conv2d in its input: x (N, C, H, W), W (C, O/groups, kh, kw),
    b (O,); PyTorch's argument order (groups before dilation)."""
    return _conv_transpose(input, weight, bias, 2, "conv_transpose2d", stride=stride,
                           padding=padding, output_padding=output_padding, dilation=dilation,
                           groups=groups)


def _pool(x, d: int, what: str, gate: Any) -> Tensor:
    x, added = _batched(x, d, what)
    return _unbatched(apply(gate, x), added)


def _no_ceil(ceil_mode: bool, what: str) -> None:
    if ceil_mode:
        raise ValueError(f"{what}: ceil_mode=True is not supported; pad the input instead")


def _kernel(value, d: int, what: str) -> tuple[int, ...]:
    return K.ints(value, d, "kernel_size", what)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False) -> Any:
    """The largest element of each window of k along L: x (N, C, L) or (C, L)."""
    return _max_pool(input, 1, "max_pool1d", kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False) -> Any:
    """The largest element of each kh × kw window (padding counts as −∞): x (N, C, H, W)
    or (C, H, W). ``stride`` defaults to the kernel; ``return_indices=True`` also gives
    each maximum's flat position in its H × W plane (as PyTorch's indices)."""
    return _max_pool(input, 2, "max_pool2d", kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices)


def _max_pool(x, d, what, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    _no_ceil(ceil_mode, what)
    gate = P.MaxPool(_kernel(kernel_size, d, what), stride, padding, dilation)
    y = _pool(x, d, what, gate)
    if not return_indices:
        return y
    with_batch, added = _batched(x, d, what)
    _, index = gate.forward(backend.namespace_of(_data(with_batch)), _data(with_batch))
    plane = int(np.prod(_shape(with_batch)[2:]))
    index = index % plane  # within each (n, c) plane, as PyTorch numbers them
    return y, Tensor(index[0] if added else index)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True) -> Tensor:
    """The mean of each window of k along L: x (N, C, L) or (C, L)."""
    _no_ceil(ceil_mode, "avg_pool1d")
    return _pool(input, 1, "avg_pool1d", P.AvgPool(_kernel(kernel_size, 1, "avg_pool1d"),
                                                   stride, padding, count_include_pad))


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True) -> Tensor:
    """The mean of each kh × kw window: x (N, C, H, W) or (C, H, W). Padded zeros count
    in the mean unless ``count_include_pad=False``."""
    _no_ceil(ceil_mode, "avg_pool2d")
    return _pool(input, 2, "avg_pool2d", P.AvgPool(_kernel(kernel_size, 2, "avg_pool2d"),
                                                   stride, padding, count_include_pad))


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


__all__ = [name for name, value in globals().items()
           if not name.startswith("_") and callable(value) and name not in (
               "apply", "functional_form", "arange")
           and getattr(value, "__module__", "") == __name__]
