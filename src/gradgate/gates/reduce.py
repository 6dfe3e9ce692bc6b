"""Reductions over an axis (or several, or all): sum, mean, max, min, logsumexp, var.

Each takes ``axis`` (None, an int or a tuple) and ``keepdims`` as in NumPy. Backward, the
upstream gradient g has the reduced shape; the rules first put the reduced axes back as
size-1 axes (``_expand``) and then let broadcasting spread g over them.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Gate, Sample, register


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
    """Shared parameters of the reductions: the axes and whether they are kept.

    ``forward`` normalises the axes for the input at hand and calls ``reduce``; rules
    recompute them from the input (a gate keeps nothing of one application).
    """

    def __init__(self, axis=None, keepdims: bool = False):
        self.axis = axis
        self.keepdims = bool(keepdims)

    def forward(self, xp, s):
        return self.reduce(xp, s, normalize_axis(self.axis, s.ndim))

    def reduce(self, xp, s, axes):
        raise NotImplementedError

    def _expand(self, xp, g, axes):
        """g (reduced shape) with the reduced axes back as size 1, ready to broadcast."""
        if self.keepdims or not axes:
            return g
        return xp.expand_dims(g, axes)

    @staticmethod
    def _count(s, axes) -> int:
        n = 1
        for a in axes:
            n *= s.shape[a]
        return n

    @staticmethod
    def samples(draw):
        r = draw.normal
        return [
            Sample((r(3, 4),)),
            Sample((r(3, 4),), {"axis": 0}),
            Sample((r(2, 3, 4),), {"axis": (0, 2), "keepdims": True}),
            Sample((r(2, 3, 4),), {"axis": -1}),
        ]

    def _dims(self, s):
        """The axes as PyTorch's ``dim`` for the reference (every axis when None)."""
        return tuple(range(s.ndim)) if self.axis is None else self.axis


@register
class Sum(Reduction):
    """o = Σ s over the axes.   dE/ds = g, copied along every summed axis."""

    function, methods, numpy = "sum", ("sum",), ("sum",)
    formula, tex = "{out} = Σ {s}", "{out} = \\sum {s}"

    def reduce(self, xp, s, axes):
        return xp.sum(s, axis=axes, keepdims=self.keepdims)

    def vjp(self, xp, g, o, s):
        axes = normalize_axis(self.axis, s.ndim)
        return (xp.broadcast_to(self._expand(xp, g, axes), s.shape),)

    def reference(self, torch, s):
        return torch.sum(s, dim=self._dims(s), keepdim=self.keepdims)


@register
class Mean(Reduction):
    """o = (1/N) Σ s over the axes.   dE/ds = g / N, copied along every averaged axis."""

    function, methods, numpy = "mean", ("mean",), ("mean",)
    formula, tex = "{out} = mean {s}", "{out} = \\tfrac{{1}}{{N}} \\sum {s}"

    def reduce(self, xp, s, axes):
        return xp.mean(s, axis=axes, keepdims=self.keepdims)

    def vjp(self, xp, g, o, s):
        axes = normalize_axis(self.axis, s.ndim)
        return (xp.broadcast_to(self._expand(xp, g, axes) / self._count(s, axes), s.shape),)

    def reference(self, torch, s):
        return torch.mean(s, dim=self._dims(s), keepdim=self.keepdims)


class _Extremum(Reduction):
    """Max or min: the gradient is shared evenly among the elements that attain it
    (ties included), as ``torch.amax``/``torch.amin`` do. A slice whose extremum is NaN
    has no element equal to it; its gradient is NaN, as in PyTorch, not a silent zero."""

    def vjp(self, xp, g, o, s):
        axes = normalize_axis(self.axis, s.ndim)
        hit = s == self._expand(xp, o, axes)
        count = xp.sum(hit, axis=axes, keepdims=True)
        g = xp.where(count == 0, xp.nan, self._expand(xp, g, axes))  # count 0: a NaN slice
        return (xp.where(hit | (count == 0), g / xp.maximum(count, 1), 0),)

    @staticmethod
    def samples(draw):
        a = draw.apart
        return [
            Sample((a(3, 4),)),
            Sample((a(3, 4),), {"axis": 1}),
            Sample((a(2, 3, 4),), {"axis": (0, 2), "keepdims": True}),
        ]


@register
class Max(_Extremum):
    """o = max s over the axes."""

    function, methods, numpy = "amax", ("amax",), ("amax", "max")
    formula, tex = "{out} = max {s}", "{out} = \\max {s}"

    def reduce(self, xp, s, axes):
        return xp.max(s, axis=axes, keepdims=self.keepdims)

    def reference(self, torch, s):
        return torch.amax(s, dim=self._dims(s), keepdim=self.keepdims)


@register
class Min(_Extremum):
    """o = min s over the axes."""

    function, methods, numpy = "amin", ("amin",), ("amin", "min")
    formula, tex = "{out} = min {s}", "{out} = \\min {s}"

    def reduce(self, xp, s, axes):
        return xp.min(s, axis=axes, keepdims=self.keepdims)

    def reference(self, torch, s):
        return torch.amin(s, dim=self._dims(s), keepdim=self.keepdims)


@register
class LogSumExp(Reduction):
    """o = ln Σ e^s over the axes, computed as m + ln Σ e^(s − m) with m = max s.

    dE/ds = g ⊙ e^(s − o) (the softmax of s along the axes).
    """

    function, methods = "logsumexp", ("logsumexp",)
    formula, tex = "{out} = ln Σ e^{s}", "{out} = \\ln \\sum e^{{{s}}}"

    def reduce(self, xp, s, axes):
        m, log_sum = xp.logsumexp_parts(s, axes)
        o = log_sum + m
        return o if self.keepdims else xp.squeeze(o, axis=axes)

    def vjp(self, xp, g, o, s):
        axes = normalize_axis(self.axis, s.ndim)
        return (self._expand(xp, g, axes) * xp.exp(s - self._expand(xp, o, axes)),)

    def reference(self, torch, s):
        return torch.logsumexp(s, dim=self._dims(s), keepdim=self.keepdims)


@register
class Var(Reduction):
    """o = Σ (s − mean s)² / (N − correction) over the axes (unbiased by default, as
    ``torch.var``; ``correction=0`` gives NumPy's ``var``).

    dE/ds = g ⊙ 2 (s − mean s) / (N − correction).
    """

    def __init__(self, axis=None, keepdims: bool = False, correction: int = 1):
        super().__init__(axis, keepdims)
        self.correction = correction

    function, methods, numpy = "var", ("var",), ("var",)
    numpy_keywords = {"ddof": "correction"}
    numpy_defaults = {"correction": 0}
    formula = "{out} = Σ ({s} − mean {s})² / (N − correction)"

    def reduce(self, xp, s, axes):
        return xp.var(s, axis=axes, keepdims=self.keepdims, ddof=self.correction)

    def vjp(self, xp, g, o, s):
        axes = normalize_axis(self.axis, s.ndim)
        d = s - xp.mean(s, axis=axes, keepdims=True)
        dof = self._count(s, axes) - self.correction
        scale = 2 / dof if dof else math.inf  # no degrees of freedom: NaN, as the forward
        return (self._expand(xp, g, axes) * d * scale,)

    @staticmethod
    def samples(draw):
        return Reduction.samples(draw) + [
            Sample((draw.normal(3, 4),), {"axis": 1, "correction": 0})
        ]

    def reference(self, torch, s):
        return torch.var(s, dim=self._dims(s), keepdim=self.keepdims, correction=self.correction)


@register
class Prod(Reduction):
    """o = Π s over the axes.

    dE/ds_k = g ⊙ Π_{j≠k} s_j: g ⊙ o / s_k when no element of s is 0 (as PyTorch), else
    the product of the others computed directly (exclusive products from both ends), so
    that a zero gets the product of the rest and not 0/0.
    """

    function, methods, numpy = "prod", ("prod",), ("prod",)
    formula, tex = "{out} = Π {s}", "{out} = \\prod {s}"

    def reduce(self, xp, s, axes):
        return xp.prod(s, axis=axes, keepdims=self.keepdims)

    def vjp(self, xp, g, o, s):
        axes = normalize_axis(self.axis, s.ndim)
        g = self._expand(xp, g, axes)
        if not xp.any(s == 0):
            return (g * self._expand(xp, o, axes) / s,)
        return (g * _others_product(xp, s, axes),)

    @staticmethod
    def samples(draw):
        u = draw.positive
        return [
            Sample((u(3, 4) * np.where(draw.uniform(3, 4) > 0, 1.0, -1.0),)),
            Sample((u(3, 4),), {"axis": 1}),
            Sample((u(2, 3, 4),), {"axis": (0, 2), "keepdims": True}),
            Sample((u(3, 4) * (draw.uniform(3, 4) > -0.6),), {"axis": 0}),  # some zeros
        ]

    def reference(self, torch, s):
        dims = range(s.ndim) if self.axis is None else normalize_axis(self.axis, s.ndim)
        for d in sorted(dims, reverse=True):
            s = torch.prod(s, dim=d, keepdim=True)
        if not self.keepdims:
            s = s.reshape([n for k, n in enumerate(s.shape) if k not in set(dims)])
        return s


def axes_last(xp, s, axes):
    """s with the ``axes`` moved to the end and flattened into one: (t, order), where t
    has shape (kept sizes..., N) and ``order`` is the permutation applied."""
    kept = [a for a in range(s.ndim) if a not in axes]
    order = tuple(kept + list(axes))
    n = 1
    for a in axes:
        n *= s.shape[a]
    return xp.transpose(s, order).reshape(tuple(s.shape[a] for a in kept) + (n,)), order


def axes_back(xp, t, shape, order):
    """The inverse of :func:`axes_last`: t (kept sizes..., N) back to ``shape``."""
    t = t.reshape(tuple(shape[a] for a in order))
    inverse = [0] * len(order)
    for k, a in enumerate(order):
        inverse[a] = k
    return xp.transpose(t, tuple(inverse))


def _others_product(xp, s, axes):
    """Π_{j≠k} s_j for every element k, the product over ``axes`` of all the others: the
    exclusive running products from the left and from the right, multiplied."""
    t, order = axes_last(xp, s, axes)
    ones = xp.ones_like(t[..., :1])
    left = xp.cumprod(xp.concatenate([ones, t[..., :-1]], axis=-1), axis=-1)
    flipped = t[..., ::-1]
    right = xp.cumprod(xp.concatenate([ones, flipped[..., :-1]], axis=-1), axis=-1)[..., ::-1]
    return axes_back(xp, left * right, s.shape, order)


@register
class Std(Reduction):
    """o = √(Σ (s − mean s)² / (N − correction)) over the axes (unbiased by default, as
    ``torch.std``; ``correction=0``, NumPy's ``ddof=0``, gives NumPy's default).

    dE/ds = g ⊙ (s − mean s) / (o (N − correction)); 0 where o = 0 (a constant slice), as
    PyTorch.
    """

    numpy_keywords = {"ddof": "correction"}
    numpy_defaults = {"correction": 0}

    def __init__(self, axis=None, keepdims: bool = False, correction: int = 1):
        super().__init__(axis, keepdims)
        self.correction = correction

    function, methods, numpy = "std", ("std",), ("std",)
    formula = "{out} = √(Σ ({s} − mean {s})² / (N − correction))"

    def reduce(self, xp, s, axes):
        return xp.std(s, axis=axes, keepdims=self.keepdims, ddof=self.correction)

    def vjp(self, xp, g, o, s):
        axes = normalize_axis(self.axis, s.ndim)
        d = s - xp.mean(s, axis=axes, keepdims=True)
        dof = self._count(s, axes) - self.correction
        scale = 1 / dof if dof else math.inf
        o = self._expand(xp, o, axes)
        g = xp.where(o == 0, 0, self._expand(xp, g, axes) / xp.where(o == 0, 1, o))
        return (g * d * scale,)

    @staticmethod
    def samples(draw):
        return Reduction.samples(draw) + [
            Sample((draw.normal(3, 4),), {"axis": 1, "correction": 0})
        ]

    def reference(self, torch, s):
        return torch.std(s, dim=self._dims(s), keepdim=self.keepdims, correction=self.correction)
