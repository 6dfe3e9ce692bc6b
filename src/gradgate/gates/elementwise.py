"""Element-wise gates: o_k depends on the k-th element of each input only.

Their Jacobians are diagonal, so J^T g is the element-wise product of g with the local
derivative. Inputs broadcast as in NumPy; the engine sums each gradient back to its input's
shape.
"""

from __future__ import annotations

import numpy as np

from .base import Gate, register

# ---------------------------------------------------------------------------------------
# binary


@register
class Add(Gate):
    """z = x + y  (lecture 20.0, vector addition).

    J is the identity for both inputs: dE/dx = dE/dy = dE/dz.
    """

    def forward(self, xp, x, y):
        return x + y

    def vjp(self, xp, g, z, x, y):
        return g, g


@register
class Sub(Gate):
    """z = x − y.   dE/dx = g,  dE/dy = −g."""

    def forward(self, xp, x, y):
        return x - y

    def vjp(self, xp, g, z, x, y):
        return g, (-g if self.needs[1] else None)


@register
class Mul(Gate):
    """z = x ⊙ y.   dE/dx = g ⊙ y,  dE/dy = g ⊙ x."""

    def forward(self, xp, x, y):
        return x * y

    def vjp(self, xp, g, z, x, y):
        return (g * y if self.needs[0] else None), (g * x if self.needs[1] else None)


@register
class Div(Gate):
    """z = x / y.   dE/dx = g / y,  dE/dy = −g ⊙ z / y."""

    def forward(self, xp, x, y):
        return x / y

    def vjp(self, xp, g, z, x, y):
        gx = g / y if self.needs[0] else None
        gy = -(g * z) / y if self.needs[1] else None
        return gx, gy


@register
class Pow(Gate):
    """z = x ** y.

    dE/dx = g ⊙ y x^(y−1), taken as 0 where y = 0 (x^0 = 1 for every x, 0 included);
    dE/dy = g ⊙ z ln x, taken as 0 where x = 0 and NaN where x < 0 (as PyTorch).
    """

    def forward(self, xp, x, y):
        with np.errstate(over="ignore"):
            return x**y

    def vjp(self, xp, g, z, x, y):
        gx = gy = None
        if self.needs[0]:
            with np.errstate(divide="ignore", invalid="ignore"):  # 0 ** (y − 1) for y < 1
                gx = xp.where(y == 0, 0, g * y * x ** (y - 1))  # x ** 0 = 1: flat, even at 0
        if self.needs[1]:
            log_x = xp.log(xp.where(x > 0, x, 1))
            gy = xp.where(x < 0, xp.nan, g * z * log_x)
        return gx, gy


@register
class Maximum(Gate):
    """z = max(x, y) element-wise.

    The gradient goes to the larger input; at a tie it is split in half, as in PyTorch.
    """

    def forward(self, xp, x, y):
        return xp.maximum(x, y)

    def vjp(self, xp, g, z, x, y):
        half = g * 0.5
        gx = xp.where(x > y, g, xp.where(x == y, half, 0)) if self.needs[0] else None
        gy = xp.where(y > x, g, xp.where(x == y, half, 0)) if self.needs[1] else None
        return gx, gy


@register
class Minimum(Gate):
    """z = min(x, y) element-wise; ties split the gradient in half, as in PyTorch."""

    def forward(self, xp, x, y):
        return xp.minimum(x, y)

    def vjp(self, xp, g, z, x, y):
        half = g * 0.5
        gx = xp.where(x < y, g, xp.where(x == y, half, 0)) if self.needs[0] else None
        gy = xp.where(y < x, g, xp.where(x == y, half, 0)) if self.needs[1] else None
        return gx, gy


@register
class Where(Gate):
    """z = x where cond else y.  cond gets no gradient; dE/dx = g·[cond], dE/dy = g·[¬cond]."""

    def forward(self, xp, cond, x, y):
        return xp.where(cond, x, y)

    def vjp(self, xp, g, z, cond, x, y):
        gx = xp.where(cond, g, 0) if self.needs[1] else None
        gy = xp.where(cond, 0, g) if self.needs[2] else None
        return None, gx, gy


# ---------------------------------------------------------------------------------------
# unary


@register
class Neg(Gate):
    """o = −s.   dE/ds = −g."""

    def forward(self, xp, s):
        return -s

    def vjp(self, xp, g, o, s):
        return (-g,)


@register
class Exp(Gate):
    """o = e^s.   dE/ds = g ⊙ o.  Overflows quietly to inf, as PyTorch does."""

    def forward(self, xp, s):
        with np.errstate(over="ignore"):
            return xp.exp(s)

    def vjp(self, xp, g, o, s):
        return (g * o,)


@register
class Log(Gate):
    """o = ln s.   dE/ds = g / s."""

    def forward(self, xp, s):
        return xp.log(s)

    def vjp(self, xp, g, o, s):
        return (g / s,)


@register
class Sqrt(Gate):
    """o = √s.   dE/ds = g / (2o)."""

    def forward(self, xp, s):
        return xp.sqrt(s)

    def vjp(self, xp, g, o, s):
        return (g / (o * 2),)


@register
class Abs(Gate):
    """o = |s|.   dE/ds = g ⊙ sign(s), with the subgradient 0 at s = 0 (as PyTorch)."""

    def forward(self, xp, s):
        return xp.abs(s)

    def vjp(self, xp, g, o, s):
        return (g * xp.sign(s),)


@register
class Tanh(Gate):
    """o = tanh s.   dE/ds = g ⊙ (1 − o²)."""

    def forward(self, xp, s):
        return xp.tanh(s)

    def vjp(self, xp, g, o, s):
        return (g - g * o * o,)  # g (1 − o²), with no scalar operand (cheaper on small arrays)


@register
class Sigmoid(Gate):
    """o = σ(s) = 1 / (1 + e^−s), element-wise  (lecture 20.2).

    J is diagonal with σ(s)(1 − σ(s)) on it, so dE/ds = J^T g = g ⊙ o ⊙ (1 − o).
    Computed as (1 + tanh(s/2)) / 2, which never overflows.
    """

    def forward(self, xp, s):
        return xp.sigmoid(s)

    def vjp(self, xp, g, o, s):
        go = g * o
        return (go - go * o,)  # g o (1 − o), with no scalar operand (cheaper on small arrays)


@register
class Relu(Gate):
    """o = max(s, 0).   dE/ds = g where s > 0, else 0 (subgradient 0 at s = 0, as PyTorch)."""

    def forward(self, xp, s):
        return xp.maximum(s, 0)

    def vjp(self, xp, g, o, s):
        return (xp.where(s > 0, g, 0),)


@register
class LeakyRelu(Gate):
    """o = s where s > 0 else slope·s.   dE/ds = g where s > 0, else slope·g."""

    def __init__(self, slope: float = 0.01):
        self.slope = float(slope)

    def forward(self, xp, s):
        return xp.where(s > 0, s, s * self.slope)

    def vjp(self, xp, g, o, s):
        return (xp.where(s > 0, g, g * self.slope),)


@register
class Softplus(Gate):
    """o = ln(1 + e^s), computed as logaddexp(0, s).   dE/ds = g ⊙ σ(s)."""

    def forward(self, xp, s):
        return xp.logaddexp(0, s)

    def vjp(self, xp, g, o, s):
        return (g * xp.sigmoid(s),)


@register
class Clip(Gate):
    """o = min(max(s, low), high).   dE/ds = g where low ≤ s ≤ high, else 0 (as PyTorch)."""

    def __init__(self, low: float | None = None, high: float | None = None):
        if low is None and high is None:
            raise ValueError("clip: give low, high or both")
        if low is not None and high is not None and low > high:
            raise ValueError(f"clip: low {low} is greater than high {high}")
        self.low = low
        self.high = high

    def forward(self, xp, s):
        return xp.clip(s, self.low, self.high)

    def vjp(self, xp, g, o, s):
        if self.low is not None:
            g = xp.where(s >= self.low, g, 0)
        if self.high is not None:
            g = xp.where(s <= self.high, g, 0)
        return (g,)


@register
class Cast(Gate):
    """o = s converted to ``dtype``.   dE/ds = g converted back to s's dtype."""

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)

    def forward(self, xp, s):
        return s.astype(self.dtype)

    def vjp(self, xp, g, o, s):
        return (g.astype(s.dtype),)
