"""Activation gates beyond the lecture's sigmoid: gelu, silu, elu, selu, softsign, hardtanh
and log-sigmoid.

Each is element-wise, so J is diagonal and J^T g = g ⊙ (the local derivative). A rule's
vjp is written with the operations ``gradgate.functional`` also offers (``exp``, ``where``,
``minimum``, ``tanh``, ``sigmoid``), so second derivatives come for free.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Draw, Gate, Sample, is_array, register

_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _samples(draw: Draw) -> list[Sample]:
    return [
        Sample((draw.normal(3, 4) * 2,)),
        Sample((draw.normal(5),)),
        Sample((draw.normal(2, 3, 2),)),
    ]


def _kinked_samples(draw: Draw) -> list[Sample]:
    return [Sample((draw.apart(3, 4),)), Sample((draw.apart(5),))]


# --- the standard normal CDF Φ, for the exact gelu -------------------------------------


def _erfc_nonnegative(xp, a):
    """erfc(a) for float64 a ≥ 0 (NaN stays NaN), to about 2e-14 relative.

    Below 1.5: 1 − erf(a), erf from the series of positive terms
    erf(a) = 2/√π e^−a² Σ_n 2^n a^(2n+1) / (1·3·…·(2n+1)), which never cancels.
    From 1.5 on: the continued fraction erfc(a) = e^−a²/√π · 1/(a + ½/(a + 1/(a + (3/2)/…))),
    evaluated from its 120th level back; 0 beyond a = 30 (erfc(30) < 1e-300).
    """
    small = a < 1.5
    s = xp.where(small, a, 0.0)
    s2 = s * s
    term = s
    total = s
    for n in range(1, 40):
        term = term * (2.0 * s2 / (2 * n + 1))
        total = total + term
    erf_small = (2.0 / math.sqrt(math.pi)) * xp.exp(-s2) * total
    z = xp.where(small, 1.5, xp.minimum(a, 30.0))
    f = z
    for k in range(120, 0, -1):
        f = z + (k / 2.0) / f
    erfc_large = xp.exp(-z * z) / (math.sqrt(math.pi) * f)
    return xp.where(a > 30.0, 0.0, xp.where(small, 1.0 - erf_small, erfc_large))


def _normal_cdf_array(xp, x):
    """Φ(x) = ½ erfc(−x/√2) on an array, computed in float64 and returned in x's dtype;
    accurate in relative terms in the lower tail, where gelu(x) = x Φ(x) is tiny."""
    z = x.astype(np.float64) * _SQRT_HALF
    upper = 0.5 * _erfc_nonnegative(xp, xp.abs(z))  # Φ(−|x|)
    phi = xp.where(z < 0, upper, 1.0 - upper)
    return xp.where(xp.isnan(z), xp.nan, phi).astype(x.dtype)


class NormalCdf(Gate):
    """o = Φ(x), the standard normal CDF, element-wise: a helper of :class:`Gelu`, not
    registered (gelu's checks cover it).   dE/dx = g ⊙ φ(x), φ(x) = e^(−x²/2) / √(2π)."""

    def forward(self, xp, x):
        return _normal_cdf_array(xp, x)

    def vjp(self, xp, g, o, x):
        return (g * (_INV_SQRT_2PI * xp.exp(-0.5 * (x * x))),)


_NORMAL_CDF = NormalCdf()


def _normal_cdf(xp, x):
    """Φ(x) for an array, or for a Tensor (then differentiable, for create_graph)."""
    if is_array(x):
        return _normal_cdf_array(xp, x)
    from ..engine import apply  # a Tensor: the rule is running under create_graph

    return apply(_NORMAL_CDF, x)


@register
class Gelu(Gate):
    """o = x Φ(x), element-wise, Φ the standard normal CDF (``approximate="none"``); or
    o = ½ x (1 + tanh(u)), u = √(2/π) (x + 0.044715 x³)  (``approximate="tanh"``).

    Exact: do/dx = Φ(x) + x φ(x), φ(x) = e^(−x²/2)/√(2π), so J^T g = g ⊙ (Φ(x) + x φ(x)).
    tanh: do/dx = ½ (1 + t) + ½ x (1 − t²) √(2/π) (1 + 3 · 0.044715 x²), t = tanh(u).
    Φ is computed from erfc without SciPy (see ``_erfc_nonnegative``).
    """

    function = "gelu"
    formula = "{out} = {x} Φ({x})"
    tex = "{out} = {x}\\,\\Phi({x})"
    gradients = ("{g} ⊙ (Φ({x}) + {x} φ({x}))",)

    def __init__(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, xp, x):
        if self.approximate == "tanh":
            with np.errstate(over="ignore", invalid="ignore"):
                t = xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
                return 0.5 * x * (1 + t)
        with np.errstate(invalid="ignore"):
            return x * _normal_cdf_array(xp, x)

    def vjp(self, xp, g, o, x):
        if self.approximate == "tanh":
            x2 = x * x
            t = xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x2 * x))
            slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * (
                _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x2)
            )
            return (g * slope,)
        density = _INV_SQRT_2PI * xp.exp(-0.5 * (x * x))
        return (g * (_normal_cdf(xp, x) + x * density),)

    @staticmethod
    def samples(draw):
        return [
            *_samples(draw),
            Sample((draw.normal(3, 4) * 2,), {"approximate": "tanh"}),
            Sample((draw.normal(6),), {"approximate": "tanh"}),
        ]

    def reference(self, torch, x):
        return torch.nn.functional.gelu(x, approximate=self.approximate)


@register
class Silu(Gate):
    """o = x σ(x), element-wise (also called swish).

    do/dx = σ(x) + x σ(x)(1 − σ(x)) = σ(x)(1 + x(1 − σ(x))).
    """

    function = "silu"
    formula = "{out} = {x} σ({x})"
    gradients = ("{g} ⊙ σ({x})(1 + {x}(1 − σ({x})))",)

    def forward(self, xp, x):
        return x * xp.sigmoid(x)

    def vjp(self, xp, g, o, x):
        s = xp.sigmoid(x)
        return (g * (s * (1 + x * (1 - s))),)

    samples = staticmethod(_samples)

    def reference(self, torch, x):
        return torch.nn.functional.silu(x)


@register
class Elu(Gate):
    """o = x where x > 0, else α (e^x − 1).   do/dx = 1 where x > 0, else α e^x."""

    function = "elu"
    formula = "{out} = {x} if {x} > 0 else α(e^{x} − 1)"
    gradients = ("{g} where {x} > 0, else α e^{x} ⊙ {g}",)

    def __init__(self, alpha: float = 1.0):
        self.alpha = float(alpha)

    def forward(self, xp, x):
        return xp.where(x > 0, x, self.alpha * xp.expm1(xp.minimum(x, 0)))

    def vjp(self, xp, g, o, x):
        return (xp.where(x <= 0, g * (self.alpha * xp.exp(xp.minimum(x, 0))), g),)  # NaN: g

    @staticmethod
    def samples(draw):
        return [*_kinked_samples(draw), Sample((draw.apart(2, 3),), {"alpha": 0.5})]

    def reference(self, torch, x):
        return torch.nn.functional.elu(x, alpha=self.alpha)


@register
class Selu(Gate):
    """o = λ x where x > 0, else λ α (e^x − 1), with Klambauer et al.'s λ ≈ 1.0507 and
    α ≈ 1.6733 (self-normalising).   do/dx = λ where x > 0, else λ α e^x."""

    function = "selu"
    formula = "{out} = λ {x} if {x} > 0 else λα(e^{x} − 1)"
    gradients = ("λ {g} where {x} > 0, else λ α e^{x} ⊙ {g}",)

    def forward(self, xp, x):
        negative = (_SELU_SCALE * _SELU_ALPHA) * xp.expm1(xp.minimum(x, 0))
        return xp.where(x > 0, _SELU_SCALE * x, negative)

    def vjp(self, xp, g, o, x):
        negative = g * ((_SELU_SCALE * _SELU_ALPHA) * xp.exp(xp.minimum(x, 0)))
        return (xp.where(x <= 0, negative, _SELU_SCALE * g),)  # NaN: λ g, as PyTorch

    samples = staticmethod(_kinked_samples)

    def reference(self, torch, x):
        return torch.nn.functional.selu(x)


@register
class Softsign(Gate):
    """o = x / (1 + |x|), element-wise.   do/dx = 1 / (1 + |x|)²."""

    function = "softsign"
    formula = "{out} = {x} / (1 + |{x}|)"
    gradients = ("{g} / (1 + |{x}|)²",)

    def forward(self, xp, x):
        with np.errstate(invalid="ignore"):  # ±inf / inf: NaN, as PyTorch
            return x / (1 + xp.abs(x))

    def vjp(self, xp, g, o, x):
        d = 1 + xp.abs(x)
        return (g / (d * d),)

    samples = staticmethod(_samples)

    def reference(self, torch, x):
        return torch.nn.functional.softsign(x)


@register
class Hardtanh(Gate):
    """o = clip(x, min_val, max_val).   do/dx = 1 strictly inside (min_val, max_val), else 0
    (at the bounds too, as PyTorch)."""

    function = "hardtanh"
    formula = "{out} = clip({x}, min, max)"
    gradients = ("{g} where min < {x} < max, else 0",)

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0):
        if not min_val < max_val:
            raise ValueError(f"hardtanh: min_val ({min_val}) must be below max_val ({max_val})")
        self.min_val, self.max_val = float(min_val), float(max_val)

    def forward(self, xp, x):
        return xp.minimum(xp.maximum(x, self.min_val), self.max_val)

    def vjp(self, xp, g, o, x):
        inside = (x > self.min_val) & (x < self.max_val)  # NaN is outside, as for clip
        return (xp.where(inside, g, 0 * g),)

    @staticmethod
    def samples(draw):
        return [
            Sample((draw.apart(3, 4) * 0.7,)),
            Sample((draw.apart(6) * 2,), {"min_val": -0.6, "max_val": 1.3}),
        ]

    def reference(self, torch, x):
        return torch.nn.functional.hardtanh(x, self.min_val, self.max_val)


@register
class LogSigmoid(Gate):
    """o = ln σ(x) = min(x, 0) − ln(1 + e^−|x|), stable in both tails.

    do/dx = 1 − σ(x) = σ(−x).
    """

    function = "log_sigmoid"
    formula = "{out} = ln σ({x})"
    gradients = ("{g} ⊙ σ(−{x})",)

    def forward(self, xp, x):
        return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))

    def vjp(self, xp, g, o, x):
        return (g * xp.sigmoid(-x),)

    @staticmethod
    def samples(draw):
        return [*_samples(draw), Sample((draw.normal(4) * 30,))]

    def reference(self, torch, x):
        return torch.nn.functional.logsigmoid(x)
