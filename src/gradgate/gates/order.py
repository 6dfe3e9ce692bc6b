"""Order statistics: the median, with NumPy's meaning (the mean of the two middle values of
an even count). PyTorch's ``median(dim)`` and ``mode(dim)`` pick one element and return its
index; ``gradgate.functional`` composes those from the indices and an indexing gate.
"""

from __future__ import annotations

import numpy as np

from .base import Sample, register
from .reduce import Reduction, axes_back, axes_last, normalize_axis


@register
class Median(Reduction):
    """o = the median of s over the axes (every axis by default), as ``numpy.median``: the
    middle value, or the mean of the two middle values when the count is even; NaN for a
    slice that holds a NaN.

    dE/ds = g at the middle element, or g/2 at each of the two middle ones (ties broken
    by position, as a stable sort orders them); 0 elsewhere.
    """

    # functional.median reads NumPy's and PyTorch's calls and applies this gate for NumPy's
    formula, tex = "{out} = median {s}", "{out} = \\operatorname{{median}} {s}"

    def forward(self, xp, s):
        axes = normalize_axis(self.axis, s.ndim)
        if s.size == 0:  # NumPy: NaN and a warning; PyTorch refuses
            raise ValueError(f"median: the tensor is empty (shape {s.shape})")
        t, _ = axes_last(xp, s, axes)  # (kept..., N)
        n = t.shape[-1]
        order = xp.argsort(t, axis=-1, kind="stable")
        picked = order[..., [(n - 1) // 2, n // 2]]  # positions of the two middle ranks
        middle = xp.take_along_axis(t, picked, axis=-1)
        o = (middle[..., 0] + middle[..., 1]) / 2
        o = xp.where(xp.isnan(t).any(axis=-1), xp.nan, o)
        if self.keepdims:
            o = o.reshape(tuple(1 if a in axes else k for a, k in enumerate(s.shape)))
        positions = xp.arange(n)
        weights = (positions == picked[..., :1]) * 0.5 + (positions == picked[..., 1:]) * 0.5
        return o, weights.astype(s.dtype)  # weights: (kept..., N), the share of g

    def vjp(self, xp, g, o, s, *, saved):
        axes = normalize_axis(self.axis, s.ndim)
        kept = tuple(k for a, k in enumerate(s.shape) if a not in axes)
        g = g.reshape(kept + (1,))
        _, order = axes_last(np, np.empty(s.shape, dtype=np.bool_), axes)
        return (axes_back(xp, g * saved, s.shape, order),)

    @staticmethod
    def samples(draw):
        a = draw.apart
        return [
            Sample((a(3, 4),)),
            Sample((a(3, 5),), {"axis": 1}),
            Sample((a(2, 3, 4),), {"axis": (0, 2), "keepdims": True}),
            Sample((a(4, 3),), {"axis": 0}),
        ]

    def reference(self, torch, s):
        dims = normalize_axis(self.axis, s.ndim)
        t = s.permute([a for a in range(s.ndim) if a not in dims] + list(dims))
        t = t.reshape(t.shape[: s.ndim - len(dims)] + (-1,))
        o = torch.quantile(t, 0.5, dim=-1)
        if self.keepdims:
            o = o.reshape([1 if a in dims else k for a, k in enumerate(s.shape)])
        return o
