"""Gates that move elements without changing them: reshape, transpose, broadcast, index,
concatenate. Their Jacobians are permutation (or selection) matrices, so J^T g puts each
element of g back where it came from.
"""

from __future__ import annotations

from ..backend import device_of, to_device
from .base import Gate, register


@register
class Reshape(Gate):
    """o = s with a new shape (same elements, same order).   dE/ds = g reshaped back."""

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


@register
class Transpose(Gate):
    """o = s with its axes permuted: o.shape[k] = s.shape[axes[k]].

    dE/ds = g permuted by the inverse permutation.
    """

    def __init__(self, axes: tuple[int, ...] | None = None):
        self.axes = None if axes is None else tuple(axes)

    def forward(self, xp, s):
        if self.axes is None:
            self.axes = tuple(range(s.ndim))[::-1]
        if sorted(a % max(s.ndim, 1) for a in self.axes) != list(range(s.ndim)):
            raise ValueError(
                f"transpose: axes {self.axes} are not a permutation of the {s.ndim} axes "
                f"of a tensor of shape {s.shape}"
            )
        return xp.transpose(s, self.axes)

    def vjp(self, xp, g, o, s):
        inverse = [0] * len(self.axes)
        for k, a in enumerate(self.axes):
            inverse[a % len(self.axes)] = k
        return (xp.transpose(g, tuple(inverse)),)


@register
class BroadcastTo(Gate):
    """o = s repeated along new or size-1 axes to ``shape``, as NumPy broadcasts.

    dE/ds is g summed over the repeated axes; that sum is the engine's own
    un-broadcasting step, so the rule returns g as it is.
    """

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


@register
class GetItem(Gate):
    """o = s[index], NumPy indexing (basic and integer-array).

    dE/ds is zero except at the selected places, where g is added (scatter-add: an element
    selected twice gets both contributions).
    """

    def __init__(self, index):
        self.index = index if isinstance(index, tuple) else (index,)

    def forward(self, xp, s):
        try:
            return s[self.index]
        except IndexError as e:
            raise IndexError(f"getitem: {e} (tensor of shape {s.shape})") from None

    def vjp(self, xp, g, o, s):
        return (xp.scatter_add(g, self.index, s.shape),)


@register
class ScatterAdd(Gate):
    """o = zeros(shape) with g added at index: the transpose of :class:`GetItem`.

    dE/dg = (dE/do)[index].
    """

    def __init__(self, index, shape: tuple[int, ...]):
        self.index = index if isinstance(index, tuple) else (index,)
        self.shape = tuple(shape)

    def forward(self, xp, g):
        return xp.scatter_add(g, self.index, self.shape)

    def vjp(self, xp, gout, o, g):
        return (gout[self.index],)


@register
class Concatenate(Gate):
    """o = [s_1, s_2, ...] joined along ``axis``.   dE/ds_k = the slice of g that s_k filled."""

    def __init__(self, axis: int = 0):
        self.axis = axis

    def forward(self, xp, *parts):
        try:
            return xp.concatenate(parts, axis=self.axis)
        except ValueError as e:
            shapes = ", ".join(str(p.shape) for p in parts)
            raise ValueError(f"concatenate: shapes {shapes} along axis {self.axis}: {e}") from None

    def vjp(self, xp, g, o, *parts):
        axis = self.axis % o.ndim
        grads, start = [], 0
        for part, need in zip(parts, self.needs, strict=True):
            stop = start + part.shape[axis]
            index = (slice(None),) * axis + (slice(start, stop),)
            grads.append(g[index] if need else None)
            start = stop
        return tuple(grads)


@register
class ToDevice(Gate):
    """o = s copied to another device (CPU ↔ GPU); the values are unchanged.

    dE/ds = g copied back to s's device.
    """

    def __init__(self, device: str):
        self.device = device

    def forward(self, xp, s):
        self.source = device_of(s)
        return to_device(s, self.device)

    def vjp(self, xp, g, o, s):
        return (xp.to_device(g, self.source),)
