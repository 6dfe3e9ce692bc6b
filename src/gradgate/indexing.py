"""NumPy's and PyTorch's vocabulary for selecting, reordering, joining and sorting, as
compositions of gates.

Every function that only *reads* elements (take, gather, index_select, flip, roll,
diagonal, repeat, the splits, sort's values) is one :class:`~gradgate.gates.shape.GetItem`
with an index built for it: its Jacobian is a selection matrix, its transpose GetItem's
scatter-add (repeats summed), checked once for every index, to second order. Joins are
:class:`~gradgate.gates.shape.Concatenate`, ``tile`` a broadcast and a reshape, triangles
a ``where``. Writing into an array (scatter, index_add, put_along_axis) is the
:class:`~gradgate.gates.indexing.IndexPut` gate and padding the ``Pad`` gate. Indices are
constants: integer arrays or tensors, never differentiated.

Where NumPy and PyTorch name one thing differently both names are here (``take_along_axis``
and ``gather``, ``repeat`` and ``repeat_interleave``); where they mean different things by
one name, docs/indexing.md says which meaning gradgate takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import functional as _functional
from .conventions import ValuesIndices  # one for max, sort, topk
from .engine import apply
from .gates import indexing as I
from .gates.base import implements
from .tensor import Tensor
from .tensor import _raw as _data

F: Any = _functional  # its functions are made from the gate registry at import

__all__ = [
    "ValuesIndices",
    "argsort",
    "array_split",
    "column_stack",
    "diag",
    "diagonal",
    "dsplit",
    "flip",
    "gather",
    "hsplit",
    "hstack",
    "index_add",
    "index_put",
    "index_select",
    "masked_fill",
    "moveaxis",
    "movedim",
    "pad",
    "put_along_axis",
    "ravel",
    "repeat",
    "repeat_interleave",
    "roll",
    "scatter",
    "scatter_add",
    "sort",
    "split",
    "take",
    "take_along_axis",
    "tile",
    "topk",
    "torch_pad",
    "tril",
    "triu",
    "vsplit",
    "vstack",
]


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


def _indices(index: Any, what: str) -> np.ndarray:
    """An index argument as an integer array (a tensor's array, a list, an int)."""
    a = np.asarray(_data(index))
    if a.dtype.kind not in "iu":
        if a.size == 0:
            return a.astype(np.intp)
        raise TypeError(f"{what}: indices must be integers, got {a.dtype}")
    return a


def _axis(axis: int, ndim: int, what: str) -> int:
    if not -max(ndim, 1) <= axis < max(ndim, 1):
        raise ValueError(f"{what}: axis {axis} is out of range for a tensor of {ndim} dimensions")
    return axis % max(ndim, 1)


def _along(axis: int, index: Any) -> tuple:
    """An index that picks ``index`` along ``axis`` and everything along the others."""
    return (slice(None),) * axis + (index,)


# --- reading at indices ----------------------------------------------------------------


@implements("take")
def take(a: Any, indices: Any, axis: int | None = None) -> Tensor:
    """a's elements at ``indices`` along ``axis`` (of the flattened a when None), as NumPy."""
    a, index = _tensor(a), _indices(indices, "take")
    if axis is None:
        return F.getitem(F.reshape(a, (-1,)), index)
    return F.getitem(a, _along(_axis(axis, a.ndim, "take"), index))


def index_select(input: Any, dim: int, index: Any) -> Tensor:
    """PyTorch's index_select: the entries ``index`` (one dimension) along ``dim``."""
    index = _indices(index, "index_select")
    if index.ndim != 1:
        raise ValueError(f"index_select: index must have one dimension, got {index.shape}")
    return take(input, index, axis=dim)


def _mesh(shape: tuple[int, ...], axis: int, index: np.ndarray) -> tuple:
    """The full integer index that puts ``index`` along ``axis`` and each position along
    the other axes (an ``arange`` shaped to broadcast)."""
    out = []
    for k, n in enumerate(shape):
        if k == axis:
            out.append(index)
        else:
            view = [1] * len(shape)
            view[k] = n
            out.append(np.arange(n).reshape(view))
    return tuple(out)


@implements("take_along_axis", defaults={"axis": -1})
def take_along_axis(arr: Any, indices: Any, axis: int | None) -> Tensor:
    """NumPy's take_along_axis: out[..., i, ...] = arr[..., indices[..., i, ...], ...];
    ``indices`` has arr's number of dimensions and broadcasts against it."""
    arr, index = _tensor(arr), _indices(indices, "take_along_axis")
    if axis is None:
        return take(arr, index.reshape(-1))
    if index.ndim != arr.ndim:
        raise ValueError(
            f"take_along_axis: indices of {index.ndim} dimensions for an array of {arr.ndim}"
        )
    axis = _axis(axis, arr.ndim, "take_along_axis")
    shape = tuple(1 if k == axis else n for k, n in enumerate(arr.shape))
    return F.getitem(arr, _mesh(shape, axis, index))


def gather(input: Any, dim: int, index: Any) -> Tensor:
    """PyTorch's gather: out[i][j][k] = input[index[i][j][k]][j][k] for dim 0, out of
    index's shape (which may be smaller than input's along the other dims)."""
    input, index = _tensor(input), _indices(index, "gather")
    if index.ndim != input.ndim:
        raise ValueError(f"gather: index of {index.ndim} dimensions for a tensor of {input.ndim}")
    dim = _axis(dim, input.ndim, "gather")
    if any(
        i > n for k, (i, n) in enumerate(zip(index.shape, input.shape, strict=True)) if k != dim
    ):
        raise ValueError(
            f"gather: index of shape {index.shape} is larger than the tensor's "
            f"{input.shape} outside dim {dim}"
        )
    return F.getitem(input, _mesh(index.shape, dim, index))


@implements("flip")
def flip(x: Any, axis: Any = None, *more: int, dims: Any = None) -> Tensor:
    """x reversed along ``axis`` (every axis when None), as NumPy's flip; PyTorch's
    ``x.flip(0, 1)`` and ``flip(x, dims=(0, 1))`` too. A view, as a reversed slice."""
    x = _tensor(x)
    axis = dims if dims is not None else (axis, *more) if more else axis
    axes = (
        range(x.ndim)
        if axis is None
        else [axis]
        if isinstance(axis, (int, np.integer))
        else list(axis)
    )
    index = [slice(None)] * x.ndim
    for a in axes:
        index[_axis(int(a), x.ndim, "flip")] = slice(None, None, -1)
    return F.getitem(x, tuple(index))


@implements("roll")
def roll(x: Any, shift: Any, axis: Any = None, *, dims: Any = None) -> Tensor:
    """x shifted cyclically by ``shift`` along ``axis`` (the flattened x when None), as
    NumPy's and PyTorch's roll; the two slices are joined again, so backward cuts g."""
    x = _tensor(x)
    axis = dims if dims is not None else axis
    if axis is None:
        return F.reshape(roll(F.reshape(x, (-1,)), shift, 0), x.shape)
    shifts = [shift] if isinstance(shift, (int, np.integer)) else list(shift)
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    if len(shifts) == 1 and len(axes) > 1:
        shifts = shifts * len(axes)
    if len(shifts) != len(axes):
        raise ValueError(f"roll: {len(shifts)} shifts for {len(axes)} axes")
    for s, a in zip(shifts, axes, strict=True):
        a = _axis(int(a), x.ndim, "roll")
        n = x.shape[a]
        s = int(s) % n if n else 0
        if s:
            x = F.concatenate(
                [
                    F.getitem(x, _along(a, slice(n - s, None))),
                    F.getitem(x, _along(a, slice(0, n - s))),
                ],
                axis=a,
            )
    return x


@implements("diagonal")
def diagonal(
    a: Any,
    offset: int = 0,
    axis1: int = 0,
    axis2: int = 1,
    *,
    dim1: int | None = None,
    dim2: int | None = None,
) -> Tensor:
    """The diagonal a[..., i, i + offset] of the planes (axis1, axis2), on a last axis, as
    NumPy's and PyTorch's diagonal (``dim1``/``dim2`` are PyTorch's names)."""
    a = _tensor(a)
    axis1, axis2 = axis1 if dim1 is None else dim1, axis2 if dim2 is None else dim2
    if a.ndim < 2:
        raise ValueError(f"diagonal: needs at least two dimensions, got shape {a.shape}")
    i, j = _axis(axis1, a.ndim, "diagonal"), _axis(axis2, a.ndim, "diagonal")
    if i == j:
        raise ValueError("diagonal: axis1 and axis2 must differ")
    rest = tuple(k for k in range(a.ndim) if k not in (i, j))
    moved = F.transpose(a, rest + (i, j)) if rest + (i, j) != tuple(range(a.ndim)) else a
    rows, cols = a.shape[i], a.shape[j]
    start_row, start_col = max(-offset, 0), max(offset, 0)
    count = max(min(rows - start_row, cols - start_col), 0)
    k = np.arange(count)
    return F.getitem(moved, (Ellipsis, k + start_row, k + start_col))


@implements("trace")
def trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """Σ of the diagonal (see :func:`diagonal`), as numpy.trace. It is ``x.trace()`` and
    ``gradgate.functional.trace``; ``gradgate.trace`` is the backward tracer, so at the top
    level the matrix trace is ``gradgate.linalg.trace`` (last two axes, as numpy.linalg)."""
    return F.sum(diagonal(a, offset, axis1, axis2), axis=-1)


@implements("diag")
def diag(v: Any, k: int = 0) -> Tensor:
    """A vector: the square matrix with it on diagonal k. A matrix: its diagonal k."""
    v = _tensor(v)
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        raise ValueError(f"diag: needs a vector or a matrix, got shape {v.shape}")
    n = v.shape[0] + abs(k)
    i = np.arange(v.shape[0])
    return F.scatter_add(v, (i + max(-k, 0), i + max(k, 0)), (n, n))


def _triangle(m: Any, k: int, lower: bool, what: str) -> Tensor:
    m = _tensor(m)
    if m.ndim < 2:
        raise ValueError(f"{what}: needs at least two dimensions, got shape {m.shape}")
    rows, cols = m.shape[-2:]
    keep = np.tri(rows, cols, k, dtype=bool) if lower else ~np.tri(rows, cols, k - 1, dtype=bool)
    return F.where(keep, m, 0.0)


@implements("tril")
def tril(m: Any, k: int = 0) -> Tensor:
    """m with the entries above diagonal k set to 0 (on the last two axes)."""
    return _triangle(m, k, True, "tril")


@implements("triu")
def triu(m: Any, k: int = 0) -> Tensor:
    """m with the entries below diagonal k set to 0 (on the last two axes)."""
    return _triangle(m, k, False, "triu")


@implements("repeat")
def repeat(a: Any, repeats: Any, axis: int | None = None) -> Tensor:
    """NumPy's repeat: each element repeated ``repeats`` times (an int or one count per
    element) along ``axis`` (of the flattened a when None). PyTorch calls it
    ``repeat_interleave``; PyTorch's ``Tensor.repeat`` is :func:`tile`."""
    a = _tensor(a)
    if axis is None:
        a, axis = F.reshape(a, (-1,)), 0
    axis = _axis(axis, a.ndim, "repeat")
    counts = np.asarray(_data(repeats))
    if counts.dtype.kind not in "iu" or (counts.size and counts.min() < 0):
        raise ValueError("repeat: repeats must be non-negative integers")
    try:
        index = np.repeat(np.arange(a.shape[axis]), counts)
    except ValueError:
        raise ValueError(
            f"repeat: {counts.size} repeat counts for an axis of {a.shape[axis]}"
        ) from None
    return F.getitem(a, _along(axis, index))


def repeat_interleave(input: Any, repeats: Any, dim: int | None = None) -> Tensor:
    """PyTorch's name for NumPy's :func:`repeat`."""
    return repeat(input, repeats, dim)


@implements("tile")
def tile(A: Any, reps: Any) -> Tensor:
    """A repeated ``reps`` times along each axis, as NumPy's tile (and PyTorch's tile and
    ``Tensor.repeat``): a broadcast onto new axes and a reshape, so backward sums."""
    A = _tensor(A)
    reps = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: reps {reps} must not be negative")
    ndim = max(A.ndim, len(reps))
    shape = (1,) * (ndim - A.ndim) + A.shape
    reps = (1,) * (ndim - len(reps)) + reps
    spread = tuple(d for n in shape for d in (1, n))  # a size-1 axis before each axis
    stretched = tuple(d for r, n in zip(reps, shape, strict=True) for d in (r, n))
    out = F.broadcast_to(F.reshape(A, spread), stretched)
    return F.reshape(out, tuple(r * n for r, n in zip(reps, shape, strict=True)))


# --- writing at indices ----------------------------------------------------------------


def index_put(x: Any, index: Any, values: Any, accumulate: bool = False) -> Tensor:
    """x with ``values`` written at ``index`` (added, repeats summed, with ``accumulate``);
    a new tensor. Writing one place twice without ``accumulate`` raises."""
    index = F._index(index)  # tensors and lists in the index become arrays
    return apply(I.IndexPut(index, accumulate), x, values)


def _source(src: Any, shape: tuple[int, ...]) -> Any:
    """PyTorch's src for scatter: a number, or a tensor whose leading block (of the index's
    shape) is used."""
    if isinstance(src, (int, float, np.number)):
        return float(src)
    src = _tensor(src)
    if src.shape == shape:
        return src
    if src.ndim != len(shape) or any(s < n for s, n in zip(src.shape, shape, strict=True)):
        raise ValueError(f"scatter: src of shape {src.shape} is smaller than the index's {shape}")
    return F.getitem(src, tuple(slice(0, n) for n in shape))


def _scatter_index(input: Tensor, dim: int, index: Any, what: str) -> tuple:
    index = _indices(index, what)
    if index.ndim != input.ndim:
        raise ValueError(f"{what}: index of {index.ndim} dimensions for a tensor of {input.ndim}")
    return _mesh(index.shape, _axis(dim, input.ndim, what), index)


def scatter(input: Any, dim: int, index: Any, src: Any) -> Tensor:
    """PyTorch's scatter: out[index[i][j][k]][j][k] = src[i][j][k] for dim 0 (the other
    places keep input). A place named twice raises (PyTorch leaves it undefined)."""
    input = _tensor(input)
    mesh = _scatter_index(input, dim, index, "scatter")
    return apply(I.IndexPut(mesh), input, _source(src, _indices(index, "scatter").shape))


def scatter_add(input: Any, dim: Any, index: Any = None, src: Any = None) -> Tensor:
    """PyTorch's scatter_add: out[index[i][j][k]][j][k] += src[i][j][k] for dim 0, repeats
    summed.

    Called as ``scatter_add(g, index, shape)`` (an index tuple, not a dim, second) it is
    the transpose of ``getitem`` that gate rules use: zeros(shape) with g added at index.
    """
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        return F.scatter_into(input, dim, index)
    input = _tensor(input)
    mesh = _scatter_index(input, int(dim), index, "scatter_add")
    return apply(I.IndexPut(mesh, True), input, _source(src, _indices(index, "scatter_add").shape))


def index_add(input: Any, dim: int, index: Any, source: Any, *, alpha: float = 1.0) -> Tensor:
    """PyTorch's index_add: out[..., index[i], ...] += alpha · source[..., i, ...] along
    ``dim``, repeats summed."""
    input = _tensor(input)
    index = _indices(index, "index_add")
    if index.ndim != 1:
        raise ValueError(f"index_add: index must have one dimension, got {index.shape}")
    dim = _axis(dim, input.ndim, "index_add")
    source = source if alpha == 1.0 else F.mul(source, alpha)
    return apply(I.IndexPut(_along(dim, index), True), input, source)


def put_along_axis(arr: Any, indices: Any, values: Any, axis: int | None) -> Tensor:
    """NumPy's put_along_axis, returning the result (NumPy changes arr in place): arr with
    ``values`` written at ``indices`` along ``axis``. A place named twice raises."""
    arr, index = _tensor(arr), _indices(indices, "put_along_axis")
    if axis is None:
        flat = put_along_axis(F.reshape(arr, (-1,)), index.reshape(-1), values, 0)
        return F.reshape(flat, arr.shape)
    if index.ndim != arr.ndim:
        raise ValueError(
            f"put_along_axis: indices of {index.ndim} dimensions for an array of {arr.ndim}"
        )
    axis = _axis(axis, arr.ndim, "put_along_axis")
    shape = tuple(1 if k == axis else n for k, n in enumerate(arr.shape))
    mesh = np.broadcast_arrays(*_mesh(shape, axis, index))
    return apply(I.IndexPut(tuple(mesh)), arr, values)


def masked_fill(x: Any, mask: Any, value: Any) -> Tensor:
    """x with ``value`` where ``mask`` (booleans, broadcast) is true, as PyTorch's."""
    mask = np.asarray(_data(mask))
    if mask.dtype != np.bool_:
        raise TypeError(f"masked_fill: mask must be booleans, got {mask.dtype}")
    return F.where(mask, value, x)


@implements("pad")
def pad(
    array: Any,
    pad_width: Any,
    mode: str = "constant",
    constant_values: float = 0.0,
) -> Tensor:
    """NumPy's pad: ``pad_width`` is an int, (before, after), or one pair per axis; mode
    "constant", "reflect", "edge" or "wrap" (and PyTorch's names "replicate" and
    "circular"). For PyTorch's F.pad form (a flat tuple from the last axis), see
    :func:`torch_pad`."""
    array = _tensor(array)
    try:  # an int, (before, after), ((before, after),) or one pair per axis, as NumPy
        widths = np.broadcast_to(np.asarray(pad_width, dtype=np.intp), (array.ndim, 2))
    except ValueError:
        raise ValueError(
            f"pad: pad_width of shape {np.shape(pad_width)} for a tensor of {array.ndim} dimensions"
        ) from None
    mode = {"replicate": "edge", "circular": "wrap"}.get(mode, mode)
    if np.ndim(constant_values) != 0:
        raise ValueError("pad: constant_values must be one number")
    return apply(I.Pad(tuple(map(tuple, widths.tolist())), mode, float(constant_values)), array)


def torch_pad(
    input: Any,
    pad: Sequence[int],
    mode: str = "constant",
    value: float = 0.0,
) -> Tensor:
    """PyTorch's F.pad: ``pad`` = (left, right) of the last axis, then of the one before,
    ...; mode "constant", "reflect", "replicate" or "circular"."""
    input = _tensor(input)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: {len(pad)} widths do not pair up over the {input.ndim} axes")
    pairs = [(int(pad[2 * k]), int(pad[2 * k + 1])) for k in range(len(pad) // 2)]
    widths = [(0, 0)] * (input.ndim - len(pairs)) + pairs[::-1]
    return globals()["pad"](input, widths, mode, value)


# --- splitting and joining -------------------------------------------------------------


@implements("array_split")
def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """NumPy's array_split: ``sections`` parts as equal as can be (the first ones one
    longer), or the parts between the given indices."""
    ary = _tensor(ary)
    axis = _axis(axis, ary.ndim, "array_split")
    n = ary.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("array_split: the number of sections must be larger than 0")
        size, extra = divmod(n, sections)
        bounds = np.cumsum([0] + [size + 1] * extra + [size] * (sections - extra)).tolist()
    else:
        bounds = [0, *(int(i) for i in indices_or_sections), n]
    return [
        F.getitem(ary, _along(axis, slice(a, max(a, b))))
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]


@implements("split")
def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """NumPy's split: ``sections`` equal parts (ValueError if they cannot be equal), or
    the parts between the given indices. (PyTorch's split takes part sizes instead.)"""
    ary = _tensor(ary)
    if isinstance(indices_or_sections, (int, np.integer)):
        n = ary.shape[_axis(axis, ary.ndim, "split")]
        if indices_or_sections <= 0 or n % indices_or_sections:
            raise ValueError(
                f"split: an axis of {n} does not split into {indices_or_sections} equal parts"
            )
    return array_split(ary, indices_or_sections, axis)


@implements("hsplit")
def hsplit(ary: Any, indices_or_sections: Any) -> list[Tensor]:
    """Split along axis 1 (axis 0 for one dimension)."""
    ary = _tensor(ary)
    return split(ary, indices_or_sections, 1 if ary.ndim > 1 else 0)


@implements("vsplit")
def vsplit(ary: Any, indices_or_sections: Any) -> list[Tensor]:
    """Split along axis 0; needs at least two dimensions."""
    ary = _tensor(ary)
    if ary.ndim < 2:
        raise ValueError("vsplit: needs at least two dimensions")
    return split(ary, indices_or_sections, 0)


@implements("dsplit")
def dsplit(ary: Any, indices_or_sections: Any) -> list[Tensor]:
    """Split along axis 2; needs at least three dimensions."""
    ary = _tensor(ary)
    if ary.ndim < 3:
        raise ValueError("dsplit: needs at least three dimensions")
    return split(ary, indices_or_sections, 2)


def _atleast(x: Any, ndim: int) -> Tensor:
    x = _tensor(x)
    if x.ndim >= ndim:
        return x
    shape = x.shape if x.ndim else ()
    return (
        F.reshape(x, (1,) * (ndim - len(shape)) + shape)
        if ndim < 3 or x.ndim == 0
        else F.reshape(x, (1,) + shape + (1,) * (ndim - 1 - len(shape)))
    )


@implements("hstack")
def hstack(tup: Sequence[Any]) -> Tensor:
    """Joined along axis 1 (axis 0 for vectors), as NumPy's hstack."""
    parts = [_atleast(t, 1) for t in tup]
    return F.concatenate(parts, axis=0 if parts and parts[0].ndim == 1 else 1)


@implements("vstack")
def vstack(tup: Sequence[Any]) -> Tensor:
    """Joined along axis 0, vectors first made rows (1, n), as NumPy's vstack."""
    return F.concatenate([_atleast(t, 2) for t in tup], axis=0)


@implements("column_stack")
def column_stack(tup: Sequence[Any]) -> Tensor:
    """Vectors as columns (n, 1) and matrices joined along axis 1, as NumPy's."""
    parts = [F.reshape(_tensor(t), (-1, 1)) if _tensor(t).ndim < 2 else _tensor(t) for t in tup]
    return F.concatenate(parts, axis=1)


@implements("moveaxis")
def moveaxis(a: Any, source: Any, destination: Any) -> Tensor:
    """a with axes ``source`` moved to ``destination`` (the others keep their order)."""
    a = _tensor(a)
    src = [source] if isinstance(source, (int, np.integer)) else list(source)
    dst = [destination] if isinstance(destination, (int, np.integer)) else list(destination)
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination must name as many axes")
    src = [_axis(int(s), a.ndim, "moveaxis") for s in src]
    dst = [_axis(int(d), a.ndim, "moveaxis") for d in dst]
    rest = [k for k in range(a.ndim) if k not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        rest.insert(int(d), int(s))
    return F.transpose(a, tuple(rest))


def movedim(input: Any, source: Any, destination: Any) -> Tensor:
    """PyTorch's name for :func:`moveaxis`."""
    return moveaxis(input, source, destination)


@implements("ravel")
def ravel(a: Any) -> Tensor:
    """a flattened to one dimension."""
    return F.reshape(a, (-1,))


# --- sorting ---------------------------------------------------------------------------


_UNSET: Any = object()


def _sort_order(x: Tensor, axis: int, descending: bool, stable: bool) -> np.ndarray:
    data = x.numpy()
    if descending:  # reverse an ascending stable sort of the reversed axis: ties keep order
        n = data.shape[axis]
        ascending = np.argsort(np.flip(data, axis), axis=axis, kind="stable")
        return n - 1 - np.flip(ascending, axis)
    return np.argsort(data, axis=axis, kind="stable" if stable else None)


def _stable(kind: Any, stable: bool, order: Any, what: str) -> bool:
    """Whether ties must keep their order: ``stable=True``, or NumPy's ``kind`` "stable"
    or "mergesort" (NumPy reads a kind by its first letter: quick, heap, merge, stable).
    ``order`` (fields of a structured array) is refused: a tensor has no fields."""
    if order is not None:
        raise ValueError(
            f"{what}: order= sorts a structured array by its fields; a tensor holds "
            "numbers and has no fields (leave order= out)"
        )
    if kind is None:
        return bool(stable)
    if not isinstance(kind, str) or kind[:1].lower() not in ("q", "h", "m", "s"):
        raise ValueError(
            f"{what}: kind must be 'quicksort', 'mergesort', 'heapsort' or 'stable', got {kind!r}"
        )
    if stable:
        raise ValueError(f"{what}: give kind= or stable=, not both (as NumPy)")
    return kind[0].lower() in ("m", "s")


@implements("argsort")
def argsort(
    a: Any,
    axis: Any = -1,
    kind: str | None = None,
    order: Any = None,
    *,
    dim: Any = _UNSET,
    descending: bool = False,
    stable: bool = False,
) -> Tensor:
    """The indices that sort a along ``axis`` (the last by default; the flattened a when
    None), as numpy.argsort and torch.argsort: an int64 tensor, a constant (no graph).
    ``kind`` as NumPy's (only "stable"/"mergesort" differ: ties keep their order, as
    ``stable=True``); ``order`` is refused, a tensor has no fields."""
    a = _tensor(a)
    axis = axis if dim is _UNSET else dim
    is_stable = _stable(kind, stable, order, "argsort")
    if axis is None:
        a, axis = F.reshape(a, (-1,)), 0
    axis = _axis(axis, a.ndim, "argsort")
    return Tensor(_sort_order(a, axis, descending, is_stable).astype(np.int64))


@implements("sort", defaults={"axis": -1})
def sort(
    a: Any,
    *args: Any,
    axis: Any = _UNSET,
    kind: str | None = None,
    order: Any = None,
    dim: Any = _UNSET,
    descending: bool = False,
    stable: bool = False,
) -> Any:
    """Sorted along an axis; the values carry the gradient (each back to where it came
    from), the indices are constants.

    Asked PyTorch's way (a dim by position or ``dim=``, or nothing: PyTorch sorts the
    last dim) it returns ``(values, indices)``; asked NumPy's way (``axis=``, None for the
    flattened array; ``np.sort(t)`` is ``axis=-1``) the values alone, as numpy.sort.
    ``kind`` as NumPy's (the values are the same for every kind); ``order`` is refused, a
    tensor has no fields. ``descending`` keeps ties in order.
    """
    if len(args) > 1 or (args and (axis is not _UNSET or dim is not _UNSET)):
        raise TypeError("sort: give the axis once: sort(x, dim), dim= or axis=")
    a = _tensor(a)
    is_stable = _stable(kind, stable, order, "sort")
    pytorch = axis is _UNSET
    axis = args[0] if args else dim if dim is not _UNSET else -1 if axis is _UNSET else axis
    if axis is None:
        a, axis = F.reshape(a, (-1,)), 0
    axis = _axis(axis, a.ndim, "sort")
    order_ = _sort_order(a, axis, descending, is_stable)
    values = take_along_axis(a, order_, axis)
    return ValuesIndices(values, Tensor(order_.astype(np.int64))) if pytorch else values


def topk(
    input: Any,
    k: int,
    dim: int = -1,
    largest: bool = True,
    sorted: bool = True,
) -> ValuesIndices:
    """PyTorch's topk: the k largest (``largest=False``: smallest) entries along ``dim``,
    as (values, indices); the values carry the gradient. Always in sorted order (which
    ``sorted=False`` allows too)."""
    input = _tensor(input)
    dim = _axis(dim, input.ndim, "topk")
    n = input.shape[dim] if input.ndim else 1
    if not 0 <= k <= n:
        raise ValueError(f"topk: k = {k} is out of range for a dim of size {n}")
    order = _sort_order(input, dim, largest, True)
    order = order[_along(dim, slice(0, k))] if input.ndim else order
    return ValuesIndices(take_along_axis(input, order, dim), Tensor(order.astype(np.int64)))
