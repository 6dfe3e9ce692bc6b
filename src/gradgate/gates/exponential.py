"""Powers, exponentials and logarithms beyond e^s and ln s, and the error function.

Element-wise: each Jacobian is diagonal, so J^T g is g times the derivative. The two-input
``logaddexp`` gates share g between their inputs in proportion to each one's weight
e^x / (e^x + e^y), computed without overflow.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Gate, Sample, register
from .elementwise import _binary_samples, _unary_samples

LN2, LN10 = math.log(2.0), math.log(10.0)
TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def _positive(draw):
    return [Sample((draw.positive(3, 4),)), Sample((draw.positive(5),))]


@register
class Exp2(Gate):
    """o = 2^s.   dE/ds = g ⊙ o ln 2."""

    function, methods, numpy = "exp2", ("exp2",), ("exp2",)
    formula, tex = "{out} = 2^{s}", "{out} = 2^{{{s}}}"
    gradients, tex_gradients = ("{out} ln 2 ⊙ {g}",), ("{out} \\ln 2 \\odot {g}",)

    def forward(self, xp, s):
        with np.errstate(over="ignore"):
            return xp.exp2(s)

    def vjp(self, xp, g, o, s):
        return (g * o * LN2,)

    samples = staticmethod(_unary_samples)

    def reference(self, torch, s):
        return torch.exp2(s)


@register
class Expm1(Gate):
    """o = e^s − 1, exact for small |s|.   dE/ds = g ⊙ (o + 1)."""

    function, methods, numpy = "expm1", ("expm1",), ("expm1",)
    formula, tex = "{out} = e^{s} − 1", "{out} = e^{{{s}}} - 1"
    gradients, tex_gradients = ("({out} + 1) ⊙ {g}",), ("({out} + 1) \\odot {g}",)

    def forward(self, xp, s):
        with np.errstate(over="ignore"):
            return xp.expm1(s)

    def vjp(self, xp, g, o, s):
        return (g * (o + 1),)

    samples = staticmethod(_unary_samples)

    def reference(self, torch, s):
        return torch.expm1(s)


@register
class Log2(Gate):
    """o = log₂ s.   dE/ds = g / (s ln 2)."""

    function, methods, numpy = "log2", ("log2",), ("log2",)
    formula, tex = "{out} = log₂ {s}", "{out} = \\log_2 {s}"
    gradients, tex_gradients = ("{g} / ({s} ln 2)",), ("{g} / ({s} \\ln 2)",)

    def forward(self, xp, s):
        return xp.log2(s)

    def vjp(self, xp, g, o, s):
        return (g / (s * LN2),)

    samples = staticmethod(_positive)

    def reference(self, torch, s):
        return torch.log2(s)


@register
class Log10(Gate):
    """o = log₁₀ s.   dE/ds = g / (s ln 10)."""

    function, methods, numpy = "log10", ("log10",), ("log10",)
    formula, tex = "{out} = log₁₀ {s}", "{out} = \\log_{{10}} {s}"
    gradients, tex_gradients = ("{g} / ({s} ln 10)",), ("{g} / ({s} \\ln 10)",)

    def forward(self, xp, s):
        return xp.log10(s)

    def vjp(self, xp, g, o, s):
        return (g / (s * LN10),)

    samples = staticmethod(_positive)

    def reference(self, torch, s):
        return torch.log10(s)


@register
class Log1p(Gate):
    """o = ln(1 + s), exact for small |s|.   dE/ds = g / (1 + s)."""

    function, methods, numpy = "log1p", ("log1p",), ("log1p",)
    formula, tex = "{out} = ln(1 + {s})", "{out} = \\ln(1 + {s})"
    gradients, tex_gradients = ("{g} / (1 + {s})",), ("{g} / (1 + {s})",)

    def forward(self, xp, s):
        return xp.log1p(s)

    def vjp(self, xp, g, o, s):
        return (g / (s + 1),)

    @staticmethod
    def samples(draw):
        return [
            Sample((draw.uniform(3, 4, low=-0.5, high=2.0),)),
            Sample((draw.uniform(5, low=-0.5, high=2.0),)),
        ]

    def reference(self, torch, s):
        return torch.log1p(s)


@register
class Square(Gate):
    """o = s².   dE/ds = 2 s ⊙ g."""

    function, methods, numpy = "square", ("square",), ("square",)
    formula, tex = "{out} = {s}²", "{out} = {s}^2"
    gradients, tex_gradients = ("2 {s} ⊙ {g}",), ("2 {s} \\odot {g}",)

    def forward(self, xp, s):
        with np.errstate(over="ignore"):
            return s * s

    def vjp(self, xp, g, o, s):
        return (g * (s + s),)

    samples = staticmethod(_unary_samples)

    def reference(self, torch, s):
        return torch.square(s)


@register
class Reciprocal(Gate):
    """o = 1 / s.   dE/ds = −g ⊙ o²."""

    function, methods, numpy = "reciprocal", ("reciprocal",), ("reciprocal",)
    formula, tex = "{out} = 1 / {s}", "{out} = 1 / {s}"
    gradients, tex_gradients = ("−{out}² ⊙ {g}",), ("-{out}^2 \\odot {g}",)

    def forward(self, xp, s):
        return 1 / s

    def vjp(self, xp, g, o, s):
        with np.errstate(over="ignore"):
            return (g * -(o * o),)

    @staticmethod
    def samples(draw):
        return [Sample((draw.positive(3, 4),)), Sample((-draw.positive(5),))]

    def reference(self, torch, s):
        return torch.reciprocal(s)


@register
class LogAddExp(Gate):
    """o = ln(e^x + e^y), never overflowing.

    dE/dx = g ⊙ e^x / (e^x + e^y) = g ⊙ σ(x − y),  dE/dy = g ⊙ σ(y − x) (the weights of a
    two-way softmax; exact for equal large x and y, and 1 and 0 for x = ∞, y finite).
    """

    function, methods, numpy = "logaddexp", ("logaddexp",), ("logaddexp",)
    promoted = slice(None)
    formula, tex = "{out} = ln(e^{x} + e^{y})", "{out} = \\ln(e^{{{x}}} + e^{{{y}}})"
    gradients = ("σ({x} − {y}) ⊙ {g}", "σ({y} − {x}) ⊙ {g}")

    def forward(self, xp, x, y):
        return xp.logaddexp(x, y)

    def vjp(self, xp, g, o, x, y, *, needs):
        gx = g * xp.sigmoid(x - y) if needs[0] else None
        gy = g * xp.sigmoid(y - x) if needs[1] else None
        return gx, gy

    samples = staticmethod(_binary_samples)

    def reference(self, torch, x, y):
        return torch.logaddexp(x, y)


@register
class LogAddExp2(Gate):
    """o = log₂(2^x + 2^y), never overflowing.

    dE/dx = g ⊙ 2^x / (2^x + 2^y) = g ⊙ σ((x − y) ln 2),  dE/dy = g ⊙ σ((y − x) ln 2).
    """

    function, methods, numpy = "logaddexp2", ("logaddexp2",), ("logaddexp2",)
    promoted = slice(None)
    formula, tex = "{out} = log₂(2^{x} + 2^{y})", "{out} = \\log_2(2^{{{x}}} + 2^{{{y}}})"
    gradients = ("σ(({x} − {y}) ln 2) ⊙ {g}", "σ(({y} − {x}) ln 2) ⊙ {g}")

    def forward(self, xp, x, y):
        return xp.logaddexp2(x, y)

    def vjp(self, xp, g, o, x, y, *, needs):
        gx = g * xp.sigmoid((x - y) * LN2) if needs[0] else None
        gy = g * xp.sigmoid((y - x) * LN2) if needs[1] else None
        return gx, gy

    samples = staticmethod(_binary_samples)

    def reference(self, torch, x, y):
        return torch.logaddexp2(x, y)


@register
class Erf(Gate):
    """o = erf s = (2/√π) ∫₀^s e^(−t²) dt.   dE/ds = g ⊙ (2/√π) e^(−s²).

    Computed by the C library's erf, element by element (exact to float64; about 0.1 s per
    million elements, a hundred times e^s).
    """

    function, methods, numpy = "erf", ("erf",), ()
    formula, tex = "{out} = erf {s}", "{out} = \\operatorname{{erf}} {s}"
    gradients = ("(2/√π) e^(−{s}²) ⊙ {g}",)
    tex_gradients = ("\\tfrac{{2}}{{\\sqrt{{\\pi}}}} e^{{-{s}^2}} \\odot {g}",)

    def forward(self, xp, s):
        return xp.erf(s)

    def vjp(self, xp, g, o, s):
        return (g * xp.exp(-(s * s)) * TWO_OVER_SQRT_PI,)

    samples = staticmethod(_unary_samples)

    def reference(self, torch, s):
        return torch.erf(s)


@register
class Erfc(Gate):
    """o = erfc s = 1 − erf s, exact where erf s is close to 1.

    dE/ds = −g ⊙ (2/√π) e^(−s²).
    """

    function, methods, numpy = "erfc", ("erfc",), ()
    formula, tex = "{out} = erfc {s}", "{out} = \\operatorname{{erfc}} {s}"
    gradients = ("−(2/√π) e^(−{s}²) ⊙ {g}",)
    tex_gradients = ("-\\tfrac{{2}}{{\\sqrt{{\\pi}}}} e^{{-{s}^2}} \\odot {g}",)

    def forward(self, xp, s):
        return xp.erfc(s)

    def vjp(self, xp, g, o, s):
        return (g * xp.exp(-(s * s)) * -TWO_OVER_SQRT_PI,)

    samples = staticmethod(_unary_samples)

    def reference(self, torch, s):
        return torch.erfc(s)
