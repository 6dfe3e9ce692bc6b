"""Gates that move elements without changing them: reshape, transpose, broadcast, index,
concatenate. Their Jacobians are permutation (or selection) matrices, so J^T g puts each
element of g back where it came from.
"""

from __future__ import annotations

import numpy as np

from ..backend import device_of, to_device
from .base import Gate, Sample, register


def _torch_index(torch, index):
    return tuple(torch.as_tensor(i) if isinstance(i, np.ndarray) else i for i in index)


@register
class Reshape(Gate):
    """o = s with a new shape (same elements, same order).   dE/ds = g reshaped back."""

    formula = "{out} = {s} reshaped"

    def __init__(self, shape: tuple[int, ...]):
        self.shape = tuple(shape)

    def forward(self, xp, s):
        try:
            return s.reshape(self.shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {s.shape} ({s.size} elements) "
                f"into shape {self.shape}"
            ) from None

    def vjp(self, xp, g, o, s):
        return (g.reshape(s.shape),)

    @staticmethod
    def samples(draw):
        return [
            Sample((draw.normal(3, 4),), {"shape": (2, 6)}),
            Sample((draw.normal(2, 3, 4),), {"shape": (-1,)}),
        ]

    def reference(self, torch, s):
        return s.reshape(self.shape)


def permutation(axes: tuple[int, ...] | None, shape: tuple[int, ...]) -> tuple[int, ...]:
    """``axes`` as a permutation of a tensor's axes (reversed when None), checked."""
    ndim = len(shape)
    if axes is None:
        return tuple(range(ndim))[::-1]
    normal = tuple(a % max(ndim, 1) for a in axes) if ndim else tuple(axes)
    if len(axes) != ndim or sorted(normal) != list(range(ndim)):
        raise ValueError(
            f"transpose: axes {axes} are not a permutation of the {ndim} axes of a tensor "
            f"of shape {shape}"
        )
    return normal


@register
class Transpose(Gate):
    """o = s with its axes permuted: o.shape[k] = s.shape[axes[k]] (reversed by default).

    dE/ds = g permuted by the inverse permutation.
    """

    formula, tex = "{out} = {s}ᵀ", "{out} = {s}^\\top"

    def __init__(self, axes: tuple[int, ...] | None = None):
        self.axes = None if axes is None else tuple(axes)

    def forward(self, xp, s):
        return xp.transpose(s, permutation(self.axes, s.shape))

    def vjp(self, xp, g, o, s):
        axes = permutation(self.axes, s.shape)
        return (xp.transpose(g, tuple(int(k) for k in np.argsort(axes))),)

    @staticmethod
    def samples(draw):
        return [Sample((draw.normal(3, 4),)), Sample((draw.normal(2, 3, 4),), {"axes": (1, 2, 0)})]

    def reference(self, torch, s):
        return s.permute(permutation(self.axes, tuple(s.shape)))


@register
class BroadcastTo(Gate):
    """o = s repeated along new or size-1 axes to ``shape``, as NumPy broadcasts.

    dE/ds is g summed over the repeated axes; that sum is the engine's own
    un-broadcasting step, so the rule returns g as it is.
    """

    function = "broadcast_to"
    methods = ("broadcast_to", "tile")  # tile: a broadcast onto new axes, then a reshape
    formula = "{out} = {s} broadcast"

    def __init__(self, shape: tuple[int, ...]):
        self.shape = tuple(shape)

    def forward(self, xp, s):
        try:
            return xp.broadcast_to(s, self.shape)
        except ValueError:
            raise ValueError(
                f"broadcast_to: cannot broadcast shape {s.shape} to {self.shape}"
            ) from None

    def vjp(self, xp, g, o, s):
        return (g,)

    @staticmethod
    def samples(draw):
        return [
            Sample((draw.normal(4),), {"shape": (3, 4)}),
            Sample((draw.normal(3, 1),), {"shape": (2, 3, 5)}),
        ]

    def reference(self, torch, s):
        return s.broadcast_to(self.shape)


@register
class GetItem(Gate):
    """o = s[index], NumPy indexing (basic and integer-array).

    dE/ds is zero except at the selected places, where g is added (scatter-add: an element
    selected twice gets both contributions).
    """

    formula, tex = "{out} = {s}[index]", "{out} = {s}[\\,\\mathrm{{index}}\\,]"
    # gradgate.indexing composes these of GetItem, each with an index built for it
    methods = (
        "take",
        "take_along_axis",
        "gather",
        "index_select",
        "flip",
        "roll",
        "diagonal",
        "trace",
        "repeat_interleave",
        "sort",
        "argsort",
        "topk",
        "moveaxis",
        "movedim",
        "ravel",
    )

    def __init__(self, index):
        self.index = index if isinstance(index, tuple) else (index,)

    def forward(self, xp, s):
        try:
            return s[self.index]
        except IndexError as e:
            raise IndexError(f"getitem: {e} (tensor of shape {s.shape})") from None

    def vjp(self, xp, g, o, s):
        return (xp.scatter_add(g, self.index, s.shape),)

    @staticmethod
    def samples(draw):
        r = draw.normal
        return [
            Sample((r(4, 5),), {"index": (slice(1, 3), slice(None, None, 2))}),
            Sample((r(4, 5),), {"index": (np.array([0, 2, 2, 3]),)}),
            Sample((r(4, 5),), {"index": (np.array([1, 1]), np.array([0, 4]))}),
            Sample((r(4, 5),), {"index": (Ellipsis, None, 2)}),
        ]

    def reference(self, torch, s):
        return s[_torch_index(torch, self.index)]


@register
class ScatterAdd(Gate):
    """o = zeros(shape) with g added at index: the transpose of :class:`GetItem`.

    dE/dg = (dE/do)[index].
    """

    formula = "{out} = zeros with {g} added at index"

    def __init__(self, index, shape: tuple[int, ...]):
        self.index = index if isinstance(index, tuple) else (index,)
        self.shape = tuple(shape)

    def forward(self, xp, g):
        return xp.scatter_add(g, self.index, self.shape)

    def vjp(self, xp, gout, o, g):
        return (gout[self.index],)

    @staticmethod
    def samples(draw):
        r = draw.normal
        return [
            Sample((r(4, 5),), {"index": (np.array([0, 2, 2, 1]),), "shape": (3, 5)}),
            Sample((r(2, 3),), {"index": (slice(1, 3), slice(0, 3)), "shape": (4, 4)}),
        ]

    def reference(self, torch, g):
        index = _torch_index(torch, self.index)
        out = torch.zeros(self.shape, dtype=g.dtype)
        if all(isinstance(i, torch.Tensor) for i in index):
            return out.index_put(index, g, accumulate=True)
        out = out.clone()
        out[index] = out[index] + g  # basic index: every place is selected once
        return out


@register
class Concatenate(Gate):
    """o = [s_1, s_2, ...] joined along ``axis``.   dE/ds_k = the slice of g that s_k filled."""

    promoted = slice(None)
    formula = "{out} = [x0, x1, …] joined"

    def __init__(self, axis: int = 0):
        self.axis = axis

    def forward(self, xp, *parts):
        try:
            return xp.concatenate(parts, axis=self.axis)
        except ValueError as e:
            shapes = ", ".join(str(p.shape) for p in parts)
            raise ValueError(f"concatenate: shapes {shapes} along axis {self.axis}: {e}") from None

    def vjp(self, xp, g, o, *parts, needs):
        axis = self.axis % o.ndim
        grads, start = [], 0
        for part, need in zip(parts, needs, strict=True):
            stop = start + part.shape[axis]
            index = (slice(None),) * axis + (slice(start, stop),)
            grads.append(g[index] if need else None)
            start = stop
        return tuple(grads)

    @staticmethod
    def samples(draw):
        r = draw.normal
        return [Sample((r(2, 3), r(4, 3))), Sample((r(2, 3), r(2, 1), r(2, 2)), {"axis": 1})]

    def reference(self, torch, *parts):
        return torch.cat(parts, dim=self.axis)


@register
class ToDevice(Gate):
    """o = s copied to another device (CPU ↔ GPU); the values are unchanged.

    dE/ds = g copied back to s's device.
    """

    formula = "{out} = {s} on device"

    def __init__(self, device: str):
        self.device = device

    def forward(self, xp, s):
        return to_device(s, self.device)

    def vjp(self, xp, g, o, s):
        return (xp.to_device(g, device_of(s)),)

    @staticmethod
    def samples(draw):
        return [Sample((draw.normal(3, 4),), {"device": "cpu"})]  # the GPU tests cover cuda

    def reference(self, torch, s):
        return s.to(self.device)
