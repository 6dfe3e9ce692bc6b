"""Reductions over an axis (or several, or all): sum, mean, max, min, logsumexp, var.

Each takes ``axis`` (None, an int or a tuple) and ``keepdims`` as in NumPy. Backward, the
upstream gradient g has the reduced shape; the rules first put the reduced axes back as
size-1 axes (``_expand``) and then let broadcasting spread g over them.
"""

from __future__ import annotations

import math

from .base import Gate, register


def normalize_axis(axis, ndim: int) -> tuple[int, ...]:
    """``axis`` as a sorted tuple of non-negative ints; None means every axis."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -max(ndim, 1) <= a < max(ndim, 1):  # a 0-d tensor takes axis 0 or -1 (PyTorch)
            raise ValueError(f"axis {a} is out of range for a tensor of {ndim} dimensions")
        out.append(a % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"axis {axis} repeats an axis")
    return tuple(sorted(out)) if ndim else ()  # reducing a 0-d tensor leaves it as it is


class Reduction(Gate):
    """Shared parameters of the reductions: the axes and whether they are kept."""

    def __init__(self, axis=None, keepdims: bool = False):
        self.axis = axis
        self.keepdims = bool(keepdims)

    def forward(self, xp, s):
        self.axes = normalize_axis(self.axis, s.ndim)
        return self.reduce(xp, s)

    def reduce(self, xp, s):
        raise NotImplementedError

    def _expand(self, xp, g):
        """g (reduced shape) with the reduced axes back as size 1, ready to broadcast."""
        if self.keepdims or not self.axes:
            return g
        return xp.expand_dims(g, self.axes)

    def _count(self, s) -> int:
        n = 1
        for a in self.axes:
            n *= s.shape[a]
        return n


@register
class Sum(Reduction):
    """o = Σ s over the axes.   dE/ds = g, copied along every summed axis."""

    def reduce(self, xp, s):
        return xp.sum(s, axis=self.axes, keepdims=self.keepdims)

    def vjp(self, xp, g, o, s):
        return (xp.broadcast_to(self._expand(xp, g), s.shape),)


@register
class Mean(Reduction):
    """o = (1/N) Σ s over the axes.   dE/ds = g / N, copied along every averaged axis."""

    def reduce(self, xp, s):
        return xp.mean(s, axis=self.axes, keepdims=self.keepdims)

    def vjp(self, xp, g, o, s):
        return (xp.broadcast_to(self._expand(xp, g) / self._count(s), s.shape),)


class _Extremum(Reduction):
    """Max or min: the gradient is shared evenly among the elements that attain it
    (ties included), as ``torch.amax``/``torch.amin`` do. A slice whose extremum is NaN
    has no element equal to it; its gradient is NaN, as in PyTorch, not a silent zero."""

    def vjp(self, xp, g, o, s):
        hit = s == self._expand(xp, o)
        count = xp.sum(hit, axis=self.axes, keepdims=True)
        g = xp.where(count == 0, xp.nan, self._expand(xp, g))  # count 0: a NaN slice
        return (xp.where(hit | (count == 0), g / xp.maximum(count, 1), 0),)


@register
class Max(_Extremum):
    """o = max s over the axes."""

    def reduce(self, xp, s):
        return xp.max(s, axis=self.axes, keepdims=self.keepdims)


@register
class Min(_Extremum):
    """o = min s over the axes."""

    def reduce(self, xp, s):
        return xp.min(s, axis=self.axes, keepdims=self.keepdims)


@register
class LogSumExp(Reduction):
    """o = ln Σ e^s over the axes, computed as m + ln Σ e^(s − m) with m = max s.

    dE/ds = g ⊙ e^(s − o) (the softmax of s along the axes).
    """

    def reduce(self, xp, s):
        m = xp.max(s, axis=self.axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        o = xp.log(xp.sum(xp.exp(s - m), axis=self.axes, keepdims=True)) + m
        return o if self.keepdims else xp.squeeze(o, axis=self.axes)

    def vjp(self, xp, g, o, s):
        return (self._expand(xp, g) * xp.exp(s - self._expand(xp, o)),)


@register
class Var(Reduction):
    """o = Σ (s − mean s)² / (N − correction) over the axes (unbiased by default, as
    ``torch.var``; ``correction=0`` gives NumPy's ``var``).

    dE/ds = g ⊙ 2 (s − mean s) / (N − correction).
    """

    def __init__(self, axis=None, keepdims: bool = False, correction: int = 1):
        super().__init__(axis, keepdims)
        self.correction = correction

    def reduce(self, xp, s):
        return xp.var(s, axis=self.axes, keepdims=self.keepdims, ddof=self.correction)

    def vjp(self, xp, g, o, s):
        d = s - xp.mean(s, axis=self.axes, keepdims=True)
        dof = self._count(s) - self.correction
        scale = 2 / dof if dof else math.inf  # no degrees of freedom: NaN, as the forward
        return (self._expand(xp, g) * d * scale,)
