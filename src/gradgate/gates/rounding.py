"""Rounding, signs, remainders, and NaN-ignoring extremes, element-wise.

Rounding is flat between its jumps, so its gradient is zero everywhere (at the jumps too,
as in PyTorch): ``floor``, ``ceil``, ``round``, ``trunc``, ``sign`` and ``floor_divide``
pass a zero gradient. A remainder is its input minus a flat step, so it passes g to x.
"""

from __future__ import annotations

import numpy as np

from .base import Draw, Gate, Sample, register


def _off_grid(draw: Draw, *shape: int, scale: float = 1.0) -> np.ndarray:
    """Values whose fraction lies in (0.15, 0.35) or (0.65, 0.85): away from the integers
    and the halves, where rounding jumps and finite differences would straddle a jump."""
    whole = draw.integers(-3, 3, *shape)
    fraction = draw.uniform(*shape, low=0.15, high=0.35) + 0.5 * draw.integers(0, 2, *shape)
    return (whole + fraction) * scale


def _between_multiples(draw: Draw) -> list[Sample]:
    """(x, y) with x / y away from the integers, where a remainder is smooth."""
    y = draw.positive(3, 4) * np.where(draw.integers(0, 2, 3, 4) == 1, 1.0, -1.0)
    x = y * _off_grid(draw, 3, 4)
    y2 = draw.positive(4)
    return [
        Sample((x, y)),
        Sample((y2 * _off_grid(draw, 2, 4), y2)),
        Sample((_off_grid(draw, 5) * 1.5, np.array(1.5))),
    ]


class _Flat(Gate):
    """A step function: its gradient is zero wherever it exists (as PyTorch gives)."""

    gradients, tex_gradients = ("0",), ("0",)

    def vjp(self, xp, g, o, s):
        return (xp.zeros_like(g),)

    @staticmethod
    def samples(draw):
        return [Sample((_off_grid(draw, 3, 4),)), Sample((_off_grid(draw, 5),))]


@register
class Sign(_Flat):
    """o = sign s (−1, 0 or 1; NaN for NaN, as NumPy: PyTorch gives 0).   dE/ds = 0."""

    function, methods, numpy = "sign", ("sign",), ("sign",)
    formula, tex = "{out} = sign {s}", "{out} = \\operatorname{{sign}} {s}"

    def forward(self, xp, s):
        return xp.sign(s)

    def reference(self, torch, s):
        return torch.where(torch.isnan(s), torch.full_like(s, float("nan")), torch.sign(s))


@register
class Floor(_Flat):
    """o = ⌊s⌋.   dE/ds = 0."""

    function, methods, numpy = "floor", ("floor",), ("floor",)
    formula, tex = "{out} = ⌊{s}⌋", "{out} = \\lfloor {s} \\rfloor"

    def forward(self, xp, s):
        return xp.floor(s)

    def reference(self, torch, s):
        return torch.floor(s)


@register
class Ceil(_Flat):
    """o = ⌈s⌉.   dE/ds = 0."""

    function, methods, numpy = "ceil", ("ceil",), ("ceil",)
    formula, tex = "{out} = ⌈{s}⌉", "{out} = \\lceil {s} \\rceil"

    def forward(self, xp, s):
        return xp.ceil(s)

    def reference(self, torch, s):
        return torch.ceil(s)


@register
class Trunc(_Flat):
    """o = s rounded toward zero.   dE/ds = 0."""

    function, methods, numpy = "trunc", ("trunc",), ("trunc", "fix")
    formula, tex = "{out} = trunc {s}", "{out} = \\operatorname{{trunc}} {s}"

    def forward(self, xp, s):
        return xp.trunc(s)

    def reference(self, torch, s):
        return torch.trunc(s)


@register
class Round(_Flat):
    """o = s rounded to ``decimals`` places, halves to even (NumPy and PyTorch alike).

    dE/ds = 0.
    """

    function, methods, numpy = "round", ("round",), ("round", "around")
    formula, tex = "{out} = round {s}", "{out} = \\operatorname{{round}} {s}"

    def __init__(self, decimals: int = 0):
        self.decimals = int(decimals)

    def forward(self, xp, s):
        return xp.round(s, self.decimals)

    @staticmethod
    def samples(draw):
        return [
            Sample((_off_grid(draw, 3, 4),)),
            Sample((_off_grid(draw, 5, scale=0.1),), {"decimals": 1}),
        ]

    def reference(self, torch, s):
        return torch.round(s, decimals=self.decimals)


@register
class FloorDivide(Gate):
    """o = ⌊x / y⌋ (Python's ``//``).   dE/dx = dE/dy = 0."""

    function, methods, numpy = "floor_divide", ("floor_divide",), ("floor_divide",)
    promoted = slice(None)
    formula, tex = "{out} = ⌊{x} / {y}⌋", "{out} = \\lfloor {x} / {y} \\rfloor"
    gradients = tex_gradients = ("0", "0")

    def forward(self, xp, x, y):
        return xp.floor_divide(x, y)

    def vjp(self, xp, g, o, x, y, *, needs):
        zero = xp.zeros_like(g)
        return (zero if needs[0] else None), (zero if needs[1] else None)

    samples = staticmethod(_between_multiples)

    def reference(self, torch, x, y):
        return torch.div(x, y, rounding_mode="floor")


@register
class Remainder(Gate):
    """o = x − y ⌊x / y⌋, with the sign of y (Python's ``%``, ``np.remainder``).

    dE/dx = g,  dE/dy = −g ⊙ ⌊x / y⌋.
    """

    function, methods, numpy = "remainder", ("remainder", "mod"), ("remainder", "mod")
    promoted = slice(None)
    formula, tex = "{out} = {x} mod {y}", "{out} = {x} \\bmod {y}"
    gradients = ("{g}", "−⌊{x} / {y}⌋ ⊙ {g}")

    def forward(self, xp, x, y):
        return xp.remainder(x, y)

    def vjp(self, xp, g, o, x, y, *, needs):
        gy = -(g * xp.floor_divide(x, y)) if needs[1] else None
        return (g if needs[0] else None), gy

    samples = staticmethod(_between_multiples)

    def reference(self, torch, x, y):
        return torch.remainder(x, y)


@register
class Fmod(Gate):
    """o = x − y trunc(x / y), with the sign of x (C's ``fmod``).

    dE/dx = g,  dE/dy = −g ⊙ trunc(x / y).
    """

    function, methods, numpy = "fmod", ("fmod",), ("fmod",)
    promoted = slice(None)
    formula, tex = "{out} = fmod({x}, {y})", "{out} = \\operatorname{{fmod}}({x}, {y})"
    gradients = ("{g}", "−trunc({x} / {y}) ⊙ {g}")

    def forward(self, xp, x, y):
        return xp.fmod(x, y)

    def vjp(self, xp, g, o, x, y, *, needs):
        gy = -(g * xp.trunc(x / y)) if needs[1] else None
        return (g if needs[0] else None), gy

    samples = staticmethod(_between_multiples)

    def reference(self, torch, x, y):
        return torch.fmod(x, y)


class _NanIgnoring(Gate):
    """fmax/fmin: the extreme of x and y, or the one that is not NaN. The gradient goes to
    x where x wins, ties included, or y is NaN; to y elsewhere (as PyTorch)."""

    promoted = slice(None)

    def vjp(self, xp, g, o, x, y, *, needs):
        to_x = self.wins(x, y) | (y != y)  # y != y: y is NaN
        gx = xp.where(to_x, g, 0) if needs[0] else None
        gy = xp.where(to_x, 0, g) if needs[1] else None
        return gx, gy

    @staticmethod
    def wins(x, y):
        raise NotImplementedError

    @staticmethod
    def samples(draw):
        return [
            Sample((draw.apart(3, 4), draw.apart(3, 4) * 0.7)),
            Sample((draw.apart(2, 3), draw.apart(3))),
        ]


@register
class Fmax(_NanIgnoring):
    """o = max(x, y), ignoring a NaN in one of them."""

    function, methods, numpy = "fmax", ("fmax",), ("fmax",)
    formula, tex = "{out} = fmax({x}, {y})", "{out} = \\operatorname{{fmax}}({x}, {y})"

    def forward(self, xp, x, y):
        return xp.fmax(x, y)

    @staticmethod
    def wins(x, y):
        return x >= y

    def reference(self, torch, x, y):
        return torch.fmax(x, y)


@register
class Fmin(_NanIgnoring):
    """o = min(x, y), ignoring a NaN in one of them."""

    function, methods, numpy = "fmin", ("fmin",), ("fmin",)
    formula, tex = "{out} = fmin({x}, {y})", "{out} = \\operatorname{{fmin}}({x}, {y})"

    def forward(self, xp, x, y):
        return xp.fmin(x, y)

    @staticmethod
    def wins(x, y):
        return x <= y

    def reference(self, torch, x, y):
        return torch.fmin(x, y)
