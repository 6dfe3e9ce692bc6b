"""Element-wise gates: o_k depends on the k-th element of each input only.

Their Jacobians are diagonal, so J^T g is the element-wise product of g with the local
derivative. Inputs broadcast as in NumPy; the engine sums each gradient back to its input's
shape.
"""

from __future__ import annotations

import numpy as np

from .base import Draw, Gate, Sample, is_array, register


def _binary_samples(draw: Draw) -> list[Sample]:
    r = draw.normal
    return [Sample((r(3, 4), r(3, 4))), Sample((r(2, 3, 4), r(4))), Sample((r(3, 1), r(1, 5)))]


def _unary_samples(draw: Draw) -> list[Sample]:
    return [Sample((draw.normal(3, 4),)), Sample((draw.normal(5),)), Sample((draw.normal(),))]


def _kinked_samples(draw: Draw) -> list[Sample]:
    return [Sample((draw.apart(3, 4),)), Sample((draw.apart(5),))]


# ---------------------------------------------------------------------------------------
# binary


@register
class Add(Gate):
    """z = x + y  (lecture 20.0, vector addition).

    J is the identity for both inputs: dE/dx = dE/dy = dE/dz.
    """

    function, methods, numpy = "add", ("add",), ("add",)
    promoted = slice(None)
    formula, tex = "{out} = {x} + {y}", "{out} = {x} + {y}"
    gradients = tex_gradients = ("{g}", "{g}")

    def forward(self, xp, x, y):
        return x + y

    def vjp(self, xp, g, z, x, y):
        return g, g

    samples = staticmethod(_binary_samples)

    def reference(self, torch, x, y):
        return x + y


@register
class Sub(Gate):
    """z = x − y.   dE/dx = g,  dE/dy = −g."""

    function, methods, numpy = "sub", ("sub", "subtract"), ("subtract",)
    promoted = slice(None)
    formula, tex = "{out} = {x} − {y}", "{out} = {x} - {y}"
    gradients, tex_gradients = ("{g}", "−{g}"), ("{g}", "-{g}")

    def forward(self, xp, x, y):
        return x - y

    def vjp(self, xp, g, z, x, y, *, needs):
        return g, (-g if needs[1] else None)

    samples = staticmethod(_binary_samples)

    def reference(self, torch, x, y):
        return x - y


@register
class Mul(Gate):
    """z = x ⊙ y.   dE/dx = g ⊙ y,  dE/dy = g ⊙ x."""

    function, methods, numpy = "mul", ("mul", "multiply"), ("multiply",)
    promoted = slice(None)
    formula, tex = "{out} = {x} ⊙ {y}", "{out} = {x} \\odot {y}"
    gradients = ("{y} ⊙ {g}", "{x} ⊙ {g}")
    tex_gradients = ("{y} \\odot {g}", "{x} \\odot {g}")

    def forward(self, xp, x, y):
        return x * y

    def vjp(self, xp, g, z, x, y, *, needs):
        return (g * y if needs[0] else None), (g * x if needs[1] else None)

    samples = staticmethod(_binary_samples)

    def reference(self, torch, x, y):
        return x * y


@register
class Div(Gate):
    """z = x / y.   dE/dx = g / y,  dE/dy = −g ⊙ z / y."""

    function, methods, numpy = "div", ("div", "divide"), ("divide", "true_divide")
    promoted = slice(None)
    formula, tex = "{out} = {x} / {y}", "{out} = {x} / {y}"
    gradients = ("{g} / {y}", "−{g} ⊙ {out} / {y}")
    tex_gradients = ("{g} / {y}", "-{g} \\odot {out} / {y}")

    def forward(self, xp, x, y):
        return x / y

    def vjp(self, xp, g, z, x, y, *, needs):
        gx = g / y if needs[0] else None
        gy = -(g * z) / y if needs[1] else None
        return gx, gy

    @staticmethod
    def samples(draw):
        return [
            Sample((draw.normal(3, 4), draw.positive(3, 4))),
            Sample((draw.normal(2, 3), draw.positive(3))),
        ]

    def reference(self, torch, x, y):
        return x / y


@register
class Pow(Gate):
    """z = x ** y.

    dE/dx = g ⊙ y x^(y−1), taken as 0 where y = 0 (x^0 = 1 for every x, 0 included);
    dE/dy = g ⊙ z ln x, taken as 0 where x = 0 and NaN where x < 0 (as PyTorch).
    """

    function, methods, numpy = "pow", ("pow",), ("power", "pow")
    promoted = slice(None)
    formula, tex = "{out} = {x} ** {y}", "{out} = {x}^{{{y}}}"
    gradients = ("{y} {x}^({y} − 1) ⊙ {g}", "{out} ln {x} ⊙ {g}")

    def forward(self, xp, x, y):
        with np.errstate(over="ignore"):
            return x**y

    def vjp(self, xp, g, z, x, y, *, needs):
        gx = gy = None
        if needs[0]:
            with np.errstate(divide="ignore", invalid="ignore"):  # 0 ** (y − 1) for y < 1
                gx = xp.where(y == 0, 0, g * y * x ** (y - 1))  # x ** 0 = 1: flat, even at 0
        if needs[1]:
            log_x = xp.log(xp.where(x > 0, x, 1))
            gy = xp.where(x < 0, xp.nan, g * z * log_x)
        return gx, gy

    @staticmethod
    def samples(draw):
        return [
            Sample((draw.positive(3, 4), draw.normal(3, 4))),
            Sample((draw.positive(2, 3), np.array(3.0))),
        ]

    def reference(self, torch, x, y):
        return torch.pow(x, y)


class _Extreme(Gate):
    """Max or min of two inputs: the gradient goes to the winner; a tie splits it in half,
    as in PyTorch."""

    def vjp(self, xp, g, z, x, y, *, needs):
        half = g * 0.5
        first = self.first(x, y)
        gx = xp.where(first, g, xp.where(x == y, half, 0)) if needs[0] else None
        gy = xp.where(self.first(y, x), g, xp.where(x == y, half, 0)) if needs[1] else None
        return gx, gy

    @staticmethod
    def first(a, b):
        raise NotImplementedError

    @staticmethod
    def samples(draw):
        return [
            Sample((draw.apart(3, 4), draw.apart(3, 4) * 0.7)),
            Sample((draw.apart(2, 3), draw.apart(3))),
        ]


@register
class Maximum(_Extreme):
    """z = max(x, y) element-wise; the gradient goes to the larger input."""

    function, methods, numpy = "maximum", ("maximum",), ("maximum",)
    promoted = slice(None)
    formula, tex = "{out} = max({x}, {y})", "{out} = \\max({x}, {y})"

    def forward(self, xp, x, y):
        return xp.maximum(x, y)

    @staticmethod
    def first(a, b):
        return a > b

    def reference(self, torch, x, y):
        return torch.maximum(x, y)


@register
class Minimum(_Extreme):
    """z = min(x, y) element-wise; the gradient goes to the smaller input."""

    function, methods, numpy = "minimum", ("minimum",), ("minimum",)
    promoted = slice(None)
    formula, tex = "{out} = min({x}, {y})", "{out} = \\min({x}, {y})"

    def forward(self, xp, x, y):
        return xp.minimum(x, y)

    @staticmethod
    def first(a, b):
        return a < b

    def reference(self, torch, x, y):
        return torch.minimum(x, y)


@register
class Where(Gate):
    """z = x where cond else y.  cond gets no gradient; dE/dx = g·[cond], dE/dy = g·[¬cond]."""

    promoted = slice(1, None)  # x and y; cond stays boolean
    formula = "{out} = {x} where {cond} else {y}"
    methods = ("masked_fill", "tril", "triu")  # gradgate.indexing composes them of Where
    tex = "{out} = [{cond}]\\,{x} + [\\lnot {cond}]\\,{y}"

    def forward(self, xp, cond, x, y):
        return xp.where(cond, x, y)

    def vjp(self, xp, g, z, cond, x, y, *, needs):
        gx = xp.where(cond, g, 0) if needs[1] else None
        gy = xp.where(cond, 0, g) if needs[2] else None
        return None, gx, gy

    @staticmethod
    def samples(draw):
        r = draw.normal
        return [Sample((r(3, 4) > 0, r(3, 4), r(3, 4))), Sample((r(3, 1) > 0, r(4), r(3, 4)))]

    def reference(self, torch, cond, x, y):
        return torch.where(cond, x, y)


# ---------------------------------------------------------------------------------------
# unary


@register
class Neg(Gate):
    """o = −s.   dE/ds = −g."""

    function, methods, numpy = "neg", ("neg", "negative"), ("negative",)
    formula, tex = "{out} = −{s}", "{out} = -{s}"
    gradients, tex_gradients = ("−{g}",), ("-{g}",)

    def forward(self, xp, s):
        return -s

    def vjp(self, xp, g, o, s):
        return (-g,)

    samples = staticmethod(_unary_samples)

    def reference(self, torch, s):
        return -s


@register
class Exp(Gate):
    """o = e^s.   dE/ds = g ⊙ o.  Overflows quietly to inf, as PyTorch does."""

    function, methods, numpy = "exp", ("exp",), ("exp",)
    formula, tex = "{out} = e^{s}", "{out} = e^{{{s}}}"
    gradients, tex_gradients = ("{out} ⊙ {g}",), ("{out} \\odot {g}",)

    def forward(self, xp, s):
        with np.errstate(over="ignore"):
            return xp.exp(s)

    def vjp(self, xp, g, o, s):
        return (g * o,)

    samples = staticmethod(_unary_samples)

    def reference(self, torch, s):
        return torch.exp(s)


@register
class Log(Gate):
    """o = ln s.   dE/ds = g / s."""

    function, methods, numpy = "log", ("log",), ("log",)
    formula, tex = "{out} = ln {s}", "{out} = \\ln {s}"
    gradients, tex_gradients = ("{g} / {s}",), ("{g} / {s}",)

    def forward(self, xp, s):
        return xp.log(s)

    def vjp(self, xp, g, o, s):
        return (g / s,)

    @staticmethod
    def samples(draw):
        return [Sample((draw.positive(3, 4),)), Sample((draw.positive(5),))]

    def reference(self, torch, s):
        return torch.log(s)


@register
class Sqrt(Gate):
    """o = √s.   dE/ds = g / (2o)."""

    function, methods, numpy = "sqrt", ("sqrt",), ("sqrt",)
    formula, tex = "{out} = √{s}", "{out} = \\sqrt{{{s}}}"
    gradients, tex_gradients = ("{g} / (2 {out})",), ("{g} / (2 {out})",)

    def forward(self, xp, s):
        return xp.sqrt(s)

    def vjp(self, xp, g, o, s):
        return (g / (o * 2),)

    samples = Log.samples

    def reference(self, torch, s):
        return torch.sqrt(s)


@register
class Abs(Gate):
    """o = |s|.   dE/ds = g ⊙ sign(s), with the subgradient 0 at s = 0 (as PyTorch)."""

    function, methods, numpy = "abs", ("abs", "absolute"), ("absolute", "abs", "fabs")
    formula, tex = "{out} = |{s}|", "{out} = |{s}|"
    gradients = ("sign({s}) ⊙ {g}",)
    tex_gradients = ("\\operatorname{{sign}}({s}) \\odot {g}",)

    def forward(self, xp, s):
        return xp.abs(s)

    def vjp(self, xp, g, o, s):
        return (g * xp.sign(s),)

    samples = staticmethod(_kinked_samples)

    def reference(self, torch, s):
        return torch.abs(s)


@register
class Tanh(Gate):
    """o = tanh s.   dE/ds = g ⊙ (1 − o²)."""

    function, methods, numpy = "tanh", ("tanh",), ("tanh",)
    formula, tex = "{out} = tanh {s}", "{out} = \\tanh {s}"
    gradients, tex_gradients = ("(1 − {out}²) ⊙ {g}",), ("(1 - {out}^2) \\odot {g}",)

    def forward(self, xp, s):
        return xp.tanh(s)

    def vjp(self, xp, g, o, s):
        return (g - g * o * o,)  # g (1 − o²), with no scalar operand (cheaper on small arrays)

    samples = staticmethod(_unary_samples)

    def reference(self, torch, s):
        return torch.tanh(s)


@register
class Sigmoid(Gate):
    """o = σ(s) = 1 / (1 + e^−s), element-wise  (lecture 20.2).

    J is diagonal with σ(s)(1 − σ(s)) on it, so dE/ds = J^T g = g ⊙ o ⊙ (1 − o).
    Computed as (1 + tanh(s/2)) / 2, which never overflows.
    """

    function, methods = "sigmoid", ("sigmoid",)
    formula, tex = "{out} = σ({s})", "{out} = \\sigma({s})"
    gradients = ("σ({s})(1 − σ({s})) ⊙ {g}",)
    tex_gradients = ("\\sigma({s})\\,(1 - \\sigma({s})) \\odot {g}",)

    def forward(self, xp, s):
        return xp.sigmoid(s)

    def vjp(self, xp, g, o, s):
        go = g * o
        return (go - go * o,)  # g o (1 − o), with no scalar operand (cheaper on small arrays)

    samples = staticmethod(_unary_samples)

    def reference(self, torch, s):
        return torch.sigmoid(s)


@register
class Relu(Gate):
    """o = max(s, 0).   dE/ds = g where s > 0, else 0 (subgradient 0 at s = 0, as PyTorch)."""

    function, methods = "relu", ("relu",)
    formula, tex = "{out} = max({s}, 0)", "{out} = \\max({s}, 0)"
    gradients, tex_gradients = ("[{s} > 0] ⊙ {g}",), ("[{s} > 0] \\odot {g}",)

    def forward(self, xp, s):
        return xp.maximum(s, 0)

    def vjp(self, xp, g, o, s):
        if is_array(g):  # arrays: the same numbers, without NumPy's branching where
            return (xp.keep(g, s > 0),)
        return (xp.where(s > 0, g, 0),)

    samples = staticmethod(_kinked_samples)

    def reference(self, torch, s):
        return torch.relu(s)


@register
class LeakyRelu(Gate):
    """o = s where s > 0 else slope·s.   dE/ds = g where s > 0, else slope·g."""

    function, methods = "leaky_relu", ("leaky_relu",)
    formula = "{out} = {s} where {s} > 0 else slope·{s}"

    def __init__(self, slope: float = 0.01):
        self.slope = float(slope)

    def forward(self, xp, s):
        return xp.where(s > 0, s, s * self.slope)

    def vjp(self, xp, g, o, s):
        return (xp.where(s > 0, g, g * self.slope),)

    @staticmethod
    def samples(draw):
        return [Sample((draw.apart(3, 4),)), Sample((draw.apart(5),), {"slope": 0.2})]

    def reference(self, torch, s):
        return torch.nn.functional.leaky_relu(s, self.slope)


@register
class Softplus(Gate):
    """o = ln(1 + e^s), computed as logaddexp(0, s).   dE/ds = g ⊙ σ(s)."""

    function, methods = "softplus", ("softplus",)
    formula, tex = "{out} = ln(1 + e^{s})", "{out} = \\ln(1 + e^{{{s}}})"
    gradients, tex_gradients = ("σ({s}) ⊙ {g}",), ("\\sigma({s}) \\odot {g}",)

    def forward(self, xp, s):
        return xp.logaddexp(0, s)

    def vjp(self, xp, g, o, s):
        return (g * xp.sigmoid(s),)

    samples = staticmethod(_unary_samples)

    def reference(self, torch, s):
        return torch.nn.functional.softplus(s)


@register
class Clip(Gate):
    """o = min(max(s, low), high).   dE/ds = g where low ≤ s ≤ high, else 0 (as PyTorch)."""

    function, methods, numpy = "clip", ("clip", "clamp"), ("clip",)
    numpy_keywords = {"a_min": "low", "a_max": "high", "min": "low", "max": "high"}
    formula = "{out} = min(max({s}, low), high)"

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

    @staticmethod
    def samples(draw):
        return [
            Sample((draw.apart(3, 4),), {"low": -0.3, "high": 0.4}),
            Sample((draw.apart(5),), {"low": 0.0}),
            Sample((draw.apart(5),), {"high": 0.0}),
        ]

    def reference(self, torch, s):
        return torch.clamp(s, self.low, self.high)


@register
class Cast(Gate):
    """o = s converted to ``dtype``.   dE/ds = g converted back to s's dtype."""

    formula = "{out} = {s} as dtype"

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        if self.dtype.kind not in "fc":
            raise TypeError(
                f"cast: converting to {self.dtype} cuts the graph, since no "
                "gradient flows through integers; detach() first"
            )

    def forward(self, xp, s):
        return s.astype(self.dtype)

    def vjp(self, xp, g, o, s):
        return (g.astype(s.dtype),)

    @staticmethod
    def samples(draw):
        return [Sample((draw.normal(3, 4),), {"dtype": np.float64})]  # float32 has no room

    def reference(self, torch, s):
        return s.to(getattr(torch, self.dtype.name))
