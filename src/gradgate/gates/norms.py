"""Vector norms over one or more axes: ‖s‖_p = (Σ |s|^p)^(1/p), with p = ∞, −∞ and 0 too.

Matrix norms (``gradgate.norm`` with two axes) are composed of these and of sums and
extremes of |s| (see ``gradgate.functional.norm``).
"""

from __future__ import annotations

import math

from .base import Sample, register
from .reduce import Reduction, normalize_axis


@register
class VectorNorm(Reduction):
    """o = ‖s‖_p over the axes (every axis by default): (Σ |s|^p)^(1/p); max |s| for
    p = ∞, min |s| for p = −∞, the number of non-zero elements for p = 0.

    dE/ds = g ⊙ sign(s) |s|^(p−1) / o^(p−1) (p = 2: g ⊙ s / o; p = 1: g ⊙ sign s), taken
    as 0 where o = 0 or s = 0; for p = ±∞ g is shared evenly among the elements that attain o; for
    p = 0 it is zero. The same subgradients as ``torch.linalg.vector_norm``.
    """

    function, methods = "vector_norm", ("vector_norm",)
    formula = "{out} = ‖{s}‖_p"
    tex = "{out} = \\lVert {s} \\rVert_p"

    def __init__(self, ord: float = 2, axis=None, keepdims: bool = False):
        super().__init__(axis, keepdims)
        self.ord = 2.0 if ord is None else float(ord)

    def reduce(self, xp, s, axes):
        p, a = self.ord, xp.abs(s)
        keep = self.keepdims
        if p == 2:
            return xp.sqrt(xp.sum(s * s, axis=axes, keepdims=keep))
        if p == math.inf:
            return xp.max(a, axis=axes, keepdims=keep)
        if p == -math.inf:
            return xp.min(a, axis=axes, keepdims=keep)
        if p == 0:
            return xp.sum(s != 0, axis=axes, keepdims=keep).astype(s.dtype)
        if p == 1:
            return xp.sum(a, axis=axes, keepdims=keep)
        return xp.sum(a**p, axis=axes, keepdims=keep) ** (1 / p)

    def vjp(self, xp, g, o, s):
        axes = normalize_axis(self.axis, s.ndim)
        p = self.ord
        g, o = self._expand(xp, g, axes), self._expand(xp, o, axes)
        if p == 0:
            return (xp.zeros_like(s),)
        if p == 1:
            return (g * xp.sign(s),)
        if p in (math.inf, -math.inf):
            hit = xp.abs(s) == o
            count = xp.sum(hit, axis=axes, keepdims=True)
            return (xp.where(hit, g * xp.sign(s) / xp.maximum(count, 1), 0),)
        safe = xp.where(o == 0, 1, o)
        if p == 2:
            return (xp.where(o == 0, 0, g * s / safe),)
        a = xp.abs(s)
        power = xp.where(s == 0, 0, xp.sign(s) * xp.where(s == 0, 1, a) ** (p - 1))
        return (xp.where(o == 0, 0, g * power / safe ** (p - 1)),)

    @staticmethod
    def samples(draw):
        a = draw.apart
        return [
            Sample((draw.normal(3, 4),)),
            Sample((draw.normal(3, 4),), {"axis": 1, "ord": 1}),
            Sample((a(3, 4),), {"axis": 0, "ord": math.inf}),
            Sample((a(3, 4),), {"axis": 1, "ord": -math.inf, "keepdims": True}),
            Sample((draw.normal(2, 3, 4),), {"axis": (0, 2), "ord": 3}),
            Sample((draw.apart(3, 4),), {"axis": 1, "ord": 0.5}),
        ]

    def reference(self, torch, s):
        return torch.linalg.vector_norm(s, self.ord, dim=self._dims(s), keepdim=self.keepdims)
