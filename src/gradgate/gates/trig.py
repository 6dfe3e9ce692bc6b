"""Trigonometric and hyperbolic gates, and their inverses, element-wise.

Each Jacobian is diagonal, so J^T g is g times the derivative at each element. Inputs
outside a function's domain (arcsin of 2) give NaN, as in NumPy and PyTorch.
"""

from __future__ import annotations

import math

from .base import Draw, Gate, Sample, register
from .elementwise import _binary_samples, _unary_samples


def _inside(draw: Draw) -> list[Sample]:
    """Values inside (−1, 1), away from its ends, where arcsin and arctanh are smooth."""
    return [
        Sample((draw.uniform(3, 4, low=-0.9, high=0.9),)),
        Sample((draw.uniform(5, low=-0.9, high=0.9),)),
    ]


@register
class Sin(Gate):
    """o = sin s.   dE/ds = g ⊙ cos s."""

    function, methods, numpy = "sin", ("sin",), ("sin",)
    formula, tex = "{out} = sin {s}", "{out} = \\sin {s}"
    gradients, tex_gradients = ("cos {s} ⊙ {g}",), ("\\cos {s} \\odot {g}",)

    def forward(self, xp, s):
        return xp.sin(s)

    def vjp(self, xp, g, o, s):
        return (g * xp.cos(s),)

    samples = staticmethod(_unary_samples)

    def reference(self, torch, s):
        return torch.sin(s)


@register
class Cos(Gate):
    """o = cos s.   dE/ds = −g ⊙ sin s."""

    function, methods, numpy = "cos", ("cos",), ("cos",)
    formula, tex = "{out} = cos {s}", "{out} = \\cos {s}"
    gradients, tex_gradients = ("−sin {s} ⊙ {g}",), ("-\\sin {s} \\odot {g}",)

    def forward(self, xp, s):
        return xp.cos(s)

    def vjp(self, xp, g, o, s):
        return (-(g * xp.sin(s)),)

    samples = staticmethod(_unary_samples)

    def reference(self, torch, s):
        return torch.cos(s)


@register
class Tan(Gate):
    """o = tan s.   dE/ds = g ⊙ (1 + o²)."""

    function, methods, numpy = "tan", ("tan",), ("tan",)
    formula, tex = "{out} = tan {s}", "{out} = \\tan {s}"
    gradients, tex_gradients = ("(1 + {out}²) ⊙ {g}",), ("(1 + {out}^2) \\odot {g}",)

    def forward(self, xp, s):
        return xp.tan(s)

    def vjp(self, xp, g, o, s):
        return (g * (o * o + 1),)

    @staticmethod
    def samples(draw):
        return [
            Sample((draw.uniform(3, 4, low=-1.2, high=1.2),)),
            Sample((draw.uniform(5, low=-1.2, high=1.2),)),
        ]

    def reference(self, torch, s):
        return torch.tan(s)


@register
class Arcsin(Gate):
    """o = arcsin s, for −1 ≤ s ≤ 1.   dE/ds = g / √(1 − s²)."""

    function, methods, numpy = "arcsin", ("arcsin", "asin"), ("arcsin",)
    formula, tex = "{out} = arcsin {s}", "{out} = \\arcsin {s}"
    gradients, tex_gradients = ("{g} / √(1 − {s}²)",), ("{g} / \\sqrt{{1 - {s}^2}}",)

    def forward(self, xp, s):
        return xp.arcsin(s)

    def vjp(self, xp, g, o, s):
        return (g / xp.sqrt(1 - s * s),)

    samples = staticmethod(_inside)

    def reference(self, torch, s):
        return torch.asin(s)


@register
class Arccos(Gate):
    """o = arccos s, for −1 ≤ s ≤ 1.   dE/ds = −g / √(1 − s²)."""

    function, methods, numpy = "arccos", ("arccos", "acos"), ("arccos",)
    formula, tex = "{out} = arccos {s}", "{out} = \\arccos {s}"
    gradients, tex_gradients = ("−{g} / √(1 − {s}²)",), ("-{g} / \\sqrt{{1 - {s}^2}}",)

    def forward(self, xp, s):
        return xp.arccos(s)

    def vjp(self, xp, g, o, s):
        return (-g / xp.sqrt(1 - s * s),)

    samples = staticmethod(_inside)

    def reference(self, torch, s):
        return torch.acos(s)


@register
class Arctan(Gate):
    """o = arctan s.   dE/ds = g / (1 + s²)."""

    function, methods, numpy = "arctan", ("arctan", "atan"), ("arctan",)
    formula, tex = "{out} = arctan {s}", "{out} = \\arctan {s}"
    gradients, tex_gradients = ("{g} / (1 + {s}²)",), ("{g} / (1 + {s}^2)",)

    def forward(self, xp, s):
        return xp.arctan(s)

    def vjp(self, xp, g, o, s):
        return (g / (s * s + 1),)

    samples = staticmethod(_unary_samples)

    def reference(self, torch, s):
        return torch.atan(s)


@register
class Sinh(Gate):
    """o = sinh s.   dE/ds = g ⊙ cosh s."""

    function, methods, numpy = "sinh", ("sinh",), ("sinh",)
    formula, tex = "{out} = sinh {s}", "{out} = \\sinh {s}"
    gradients, tex_gradients = ("cosh {s} ⊙ {g}",), ("\\cosh {s} \\odot {g}",)

    def forward(self, xp, s):
        return xp.sinh(s)

    def vjp(self, xp, g, o, s):
        return (g * xp.cosh(s),)

    samples = staticmethod(_unary_samples)

    def reference(self, torch, s):
        return torch.sinh(s)


@register
class Cosh(Gate):
    """o = cosh s.   dE/ds = g ⊙ sinh s."""

    function, methods, numpy = "cosh", ("cosh",), ("cosh",)
    formula, tex = "{out} = cosh {s}", "{out} = \\cosh {s}"
    gradients, tex_gradients = ("sinh {s} ⊙ {g}",), ("\\sinh {s} \\odot {g}",)

    def forward(self, xp, s):
        return xp.cosh(s)

    def vjp(self, xp, g, o, s):
        return (g * xp.sinh(s),)

    samples = staticmethod(_unary_samples)

    def reference(self, torch, s):
        return torch.cosh(s)


@register
class Arcsinh(Gate):
    """o = arsinh s.   dE/ds = g / √(s² + 1)."""

    function, methods, numpy = "arcsinh", ("arcsinh", "asinh"), ("arcsinh",)
    formula, tex = "{out} = arsinh {s}", "{out} = \\operatorname{{arsinh}} {s}"
    gradients, tex_gradients = ("{g} / √({s}² + 1)",), ("{g} / \\sqrt{{{s}^2 + 1}}",)

    def forward(self, xp, s):
        return xp.arcsinh(s)

    def vjp(self, xp, g, o, s):
        return (g / xp.sqrt(s * s + 1),)

    samples = staticmethod(_unary_samples)

    def reference(self, torch, s):
        return torch.asinh(s)


@register
class Arccosh(Gate):
    """o = arcosh s, for s ≥ 1.   dE/ds = g / √(s² − 1)."""

    function, methods, numpy = "arccosh", ("arccosh", "acosh"), ("arccosh",)
    formula, tex = "{out} = arcosh {s}", "{out} = \\operatorname{{arcosh}} {s}"
    gradients, tex_gradients = ("{g} / √({s}² − 1)",), ("{g} / \\sqrt{{{s}^2 - 1}}",)

    def forward(self, xp, s):
        return xp.arccosh(s)

    def vjp(self, xp, g, o, s):
        return (g / xp.sqrt(s * s - 1),)

    @staticmethod
    def samples(draw):
        return [
            Sample((draw.positive(3, 4, low=1.2, high=3.0),)),
            Sample((draw.positive(5, low=1.2, high=3.0),)),
        ]

    def reference(self, torch, s):
        return torch.acosh(s)


@register
class Arctanh(Gate):
    """o = artanh s, for −1 < s < 1.   dE/ds = g / (1 − s²)."""

    function, methods, numpy = "arctanh", ("arctanh", "atanh"), ("arctanh",)
    formula, tex = "{out} = artanh {s}", "{out} = \\operatorname{{artanh}} {s}"
    gradients, tex_gradients = ("{g} / (1 − {s}²)",), ("{g} / (1 - {s}^2)",)

    def forward(self, xp, s):
        return xp.arctanh(s)

    def vjp(self, xp, g, o, s):
        return (g / (1 - s * s),)

    samples = staticmethod(_inside)

    def reference(self, torch, s):
        return torch.atanh(s)


@register
class Arctan2(Gate):
    """o = arctan2(y, x), the angle of the point (x, y).

    dE/dy = g ⊙ x / (x² + y²),  dE/dx = −g ⊙ y / (x² + y²); 0 where x² + y² is 0 (at the
    origin, or where the squares underflow), as PyTorch.
    """

    function, methods, numpy = "arctan2", ("arctan2", "atan2"), ("arctan2",)
    promoted = slice(None)
    formula, tex = "{out} = arctan2({y}, {x})", "{out} = \\operatorname{{atan2}}({y}, {x})"
    gradients = ("{x} / ({x}² + {y}²) ⊙ {g}", "−{y} / ({x}² + {y}²) ⊙ {g}")

    def forward(self, xp, y, x):
        return xp.arctan2(y, x)

    def vjp(self, xp, g, o, y, x, *, needs):
        d = y * y + x * x
        r = xp.where(d == 0, 0, 1 / xp.where(d == 0, 1, d))
        return (g * x * r if needs[0] else None), (g * -y * r if needs[1] else None)

    samples = staticmethod(_binary_samples)

    def reference(self, torch, y, x):
        return torch.atan2(y, x)


@register
class Hypot(Gate):
    """o = √(x² + y²), without overflow for large x, y.   dE/dx = g ⊙ x / o,  dE/dy = g ⊙ y / o."""

    function, methods, numpy = "hypot", ("hypot",), ("hypot",)
    promoted = slice(None)
    formula, tex = "{out} = √({x}² + {y}²)", "{out} = \\sqrt{{{x}^2 + {y}^2}}"
    gradients = ("{x} / {out} ⊙ {g}", "{y} / {out} ⊙ {g}")

    def forward(self, xp, x, y):
        return xp.hypot(x, y)

    def vjp(self, xp, g, o, x, y, *, needs):
        return (g * x / o if needs[0] else None), (g * y / o if needs[1] else None)

    samples = staticmethod(_binary_samples)

    def reference(self, torch, x, y):
        return torch.hypot(x, y)


@register
class Deg2rad(Gate):
    """o = s · π/180 (degrees to radians).   dE/ds = g · π/180."""

    function, methods, numpy = "deg2rad", ("deg2rad",), ("deg2rad", "radians")
    formula, tex = "{out} = {s} π/180", "{out} = {s}\\,\\pi/180"
    gradients, tex_gradients = ("{g} π/180",), ("{g}\\,\\pi/180",)

    def forward(self, xp, s):
        return xp.deg2rad(s)

    def vjp(self, xp, g, o, s):
        return (g * (math.pi / 180),)

    samples = staticmethod(_unary_samples)

    def reference(self, torch, s):
        return torch.deg2rad(s)


@register
class Rad2deg(Gate):
    """o = s · 180/π (radians to degrees).   dE/ds = g · 180/π."""

    function, methods, numpy = "rad2deg", ("rad2deg",), ("rad2deg", "degrees")
    formula, tex = "{out} = {s} 180/π", "{out} = {s}\\,180/\\pi"
    gradients, tex_gradients = ("{g} 180/π",), ("{g}\\,180/\\pi",)

    def forward(self, xp, s):
        return xp.rad2deg(s)

    def vjp(self, xp, g, o, s):
        return (g * (180 / math.pi),)

    samples = staticmethod(_unary_samples)

    def reference(self, torch, s):
        return torch.rad2deg(s)
