"""Running sums and products along an axis: o_k depends on s_1 … s_k.

``axis=None`` runs over the flattened input, as in NumPy (PyTorch needs a dim). J is
lower triangular along the axis, so J^T g sums g from the end backwards.
"""

from __future__ import annotations

from .base import Gate, Sample, register


def _reversed_cumsum(xp, g, axis):
    """Σ_{j ≥ k} g_j along ``axis``: the transpose of a running sum."""
    index = (slice(None),) * (axis % g.ndim) + (slice(None, None, -1),)
    return xp.cumsum(g[index], axis=axis)[index]


class _Scan(Gate):
    """A running operation along ``axis`` (None: over the flattened input)."""

    def __init__(self, axis: int | None = None):
        self.axis = axis

    def _check(self, s):
        if s.ndim == 0 and self.axis not in (None, 0, -1):
            raise IndexError(
                f"{self.name.lower()}: axis {self.axis} is out of range for a 0-d tensor"
            )
        return s

    def _flat(self, s):
        """The input as the rule sees it: flattened when axis is None, or when it is 0-d
        (the output of a 0-d input keeps its shape, as PyTorch's, unless axis is None)."""
        return s.reshape((-1,)) if self.axis is None or s.ndim == 0 else s

    def _shaped(self, o, s):
        return o.reshape(()) if s.ndim == 0 and self.axis is not None else o

    def _axis_for(self, s) -> int:
        return 0 if self.axis is None or s.ndim == 0 else self.axis

    @staticmethod
    def samples(draw):
        r = draw.normal
        return [
            Sample((r(3, 4),), {"axis": 1}),
            Sample((r(2, 3, 4),), {"axis": 0}),
            Sample((r(3, 4),)),
            Sample((r(5),), {"axis": -1}),
        ]

    def _dim(self, s):
        return (s.reshape(-1), 0) if self.axis is None else (s, self.axis)


@register
class Cumsum(_Scan):
    """o_k = Σ_{j ≤ k} s_j along the axis.   dE/ds_k = Σ_{j ≥ k} g_j."""

    function, methods, numpy = "cumsum", ("cumsum",), ("cumsum",)
    formula, tex = "{out}_k = Σ_(j≤k) {s}_j", "{out}_k = \\sum_{{j \\le k}} {s}_j"
    gradients, tex_gradients = ("Σ_(j≥k) {g}_j",), ("\\sum_{{j \\ge k}} {g}_j",)

    def forward(self, xp, s):
        return self._shaped(xp.cumsum(self._flat(self._check(s)), axis=self._axis_for(s)), s)

    def vjp(self, xp, g, o, s):
        return (_reversed_cumsum(xp, self._flat(g), self._axis_for(s)).reshape(s.shape),)

    def reference(self, torch, s):
        return torch.cumsum(*self._dim(s))


@register
class Cumprod(_Scan):
    """o_k = Π_{j ≤ k} s_j along the axis.

    dE/ds_k = Σ_{j ≥ k} g_j o_j / s_k where s has no zero (as PyTorch); with zeros, the
    products Π_{i<k} s_i · R_k, R_k = g_k + s_{k+1} R_{k+1}, computed from the end, so that
    a zero gets its true gradient and not 0/0.
    """

    function, methods, numpy = "cumprod", ("cumprod",), ("cumprod",)
    formula, tex = "{out}_k = Π_(j≤k) {s}_j", "{out}_k = \\prod_{{j \\le k}} {s}_j"
    gradients = ("Σ_(j≥k) {g}_j {out}_j / {s}_k",)

    def forward(self, xp, s):
        return self._shaped(xp.cumprod(self._flat(self._check(s)), axis=self._axis_for(s)), s)

    def vjp(self, xp, g, o, s):
        t, axis = self._flat(s), self._axis_for(s)
        g, o = self._flat(g), self._flat(o)
        if not xp.any(t == 0):
            return ((_reversed_cumsum(xp, g * o, axis) / t).reshape(s.shape),)
        return (_cumprod_with_zeros(xp, g, t, axis).reshape(s.shape),)

    @staticmethod
    def samples(draw):
        u = draw.positive
        zeros = u(3, 4) * (draw.uniform(3, 4) > -0.5)
        return [
            Sample((u(3, 4),), {"axis": 1}),
            Sample((-u(2, 3, 4),), {"axis": 0}),
            Sample((u(5),)),
            Sample((zeros,), {"axis": 1}),
        ]

    def reference(self, torch, s):
        return torch.cumprod(*self._dim(s))


def _cumprod_with_zeros(xp, g, s, axis):
    """dE/ds for o = cumprod(s) along ``axis``, exact where s holds zeros:
    dE/ds_k = (Π_{i<k} s_i) · R_k with R_k = g_k + s_{k+1} R_{k+1} (R_n = g_n)."""
    axis = axis % s.ndim
    n = s.shape[axis]

    def at(a, k):
        return a[(slice(None),) * axis + (slice(k, k + 1),)]

    before = [xp.ones_like(at(s, 0))]  # Π_{i<k} s_i
    for k in range(1, n):
        before.append(before[-1] * at(s, k - 1))
    r = at(g, n - 1)
    grads = [before[n - 1] * r]
    for k in range(n - 2, -1, -1):
        r = at(g, k) + at(s, k + 1) * r
        grads.append(before[k] * r)
    return xp.concatenate(grads[::-1], axis=axis)
