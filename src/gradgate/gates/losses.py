"""Softmax, log-softmax and the loss gates, SqErr (lecture 20.1) among them.

A loss is a gate like any other, so any graph can end in one (the lecture's point about
SqErr being reusable).
"""

from __future__ import annotations

import numpy as np

from .base import Gate, Sample, register


@register
class SqErr(Gate):
    """E = 1/2 · Σ_j (t_j − o_j)², summed over every element  (lecture 20.1).

    dE/do = o − t. The target t gets dE/dt = t − o only when it asks for a gradient; the
    lecture's target never does, and then nothing is computed for it.
    """

    function = "sqerr"
    formula = "{out} = ½ Σ ({t} − {o})²"
    tex = "{out} = \\tfrac{{1}}{{2}} \\sum_j ({t:j} - {o:j})^2"
    gradients = ("({o} − {t}) · {g}", "({t} − {o}) · {g}")
    tex_gradients = ("({o} - {t}) \\cdot {g}", "({t} - {o}) \\cdot {g}")

    def forward(self, xp, o, t):
        if o.shape != t.shape:
            raise ValueError(f"sqerr: output shape {o.shape} and target shape {t.shape} differ")
        d = (o - t).ravel()
        return xp.asarray(xp.dot(d, d) * 0.5)

    def vjp(self, xp, g, E, o, t, *, needs):
        d = o - t
        return (g * d if needs[0] else None), (-(g * d) if needs[1] else None)

    @staticmethod
    def samples(draw):
        r = draw.normal
        return [Sample((r(4), r(4))), Sample((r(3, 4), r(3, 4)))]

    def reference(self, torch, o, t):
        return 0.5 * ((t - o) ** 2).sum()


@register
class Softmax(Gate):
    """o = e^s / Σ e^s along ``axis`` (shifted by max s, so it never overflows).

    J = diag(o) − o oᵀ, so dE/ds = o ⊙ (g − Σ g ⊙ o).
    """

    function, methods = "softmax", ("softmax",)
    formula = "{out} = e^{s} / Σ e^{s}"
    tex = "{out} = e^{{{s}}} / \\textstyle\\sum e^{{{s}}}"
    gradients = ("{out} ⊙ ({g} − Σ {g} ⊙ {out})",)

    def __init__(self, axis: int = -1):
        self.axis = axis

    def forward(self, xp, s):
        return xp.softmax(s, axis=self.axis)

    def vjp(self, xp, g, o, s):
        return (o * (g - xp.sum(g * o, axis=self.axis, keepdims=True)),)

    @staticmethod
    def samples(draw):
        return [Sample((draw.normal(3, 4),)), Sample((draw.normal(3, 4),), {"axis": 0})]

    def reference(self, torch, s):
        return torch.softmax(s, dim=self.axis)


@register
class LogSoftmax(Gate):
    """o = s − logsumexp(s) along ``axis``.   dE/ds = g − e^o ⊙ Σ g."""

    function, methods = "log_softmax", ("log_softmax",)
    formula = "{out} = {s} − ln Σ e^{s}"
    gradients = ("{g} − e^{out} ⊙ Σ {g}",)

    def __init__(self, axis: int = -1):
        self.axis = axis

    def forward(self, xp, s):
        m, log_sum = xp.logsumexp_parts(s, self.axis)
        return (s - m) - log_sum

    def vjp(self, xp, g, o, s):
        return (g - xp.exp(o) * xp.sum(g, axis=self.axis, keepdims=True),)

    samples = Softmax.samples

    def reference(self, torch, s):
        return torch.log_softmax(s, dim=self.axis)


@register
class BCEWithLogits(Gate):
    """ℓ = −[t ln σ(x) + (1 − t) ln(1 − σ(x))], element-wise, from the logits x.

    Computed as max(x, 0) − x t + ln(1 + e^−|x|), stable at any |x|.
    dE/dx = g ⊙ (σ(x) − t);  dE/dt = −g ⊙ x (only when t asks for it).
    """

    formula = "{out} = −[{t} ln σ({x}) + (1 − {t}) ln(1 − σ({x}))]"
    gradients = ("(σ({x}) − {t}) ⊙ {g}", "−{x} ⊙ {g}")

    def forward(self, xp, x, t):
        if x.shape != t.shape:
            raise ValueError(
                f"binary_cross_entropy_with_logits: logits shape {x.shape} and target shape "
                f"{t.shape} differ"
            )
        return xp.maximum(x, 0) - x * t + xp.log1p(xp.exp(-xp.abs(x)))

    def vjp(self, xp, g, loss, x, t, *, needs):
        gx = g * (xp.sigmoid(x) - t) if needs[0] else None
        gt = -(g * x) if needs[1] else None
        return gx, gt

    @staticmethod
    def samples(draw):
        return [
            Sample((draw.normal(3, 4), draw.probabilities(3, 4))),
            Sample((draw.normal(5), draw.probabilities(5))),
        ]

    def reference(self, torch, x, t):
        return torch.nn.functional.binary_cross_entropy_with_logits(x, t, reduction="none")


@register
class CrossEntropy(Gate):
    """ℓ_n = −ln softmax(x_n)[y_n] for logits x (N, C) and integer labels y (N,).

    Fused and stable: ℓ_n = logsumexp(x_n) − x_n[y_n].
    dE/dx_n = g_n (softmax(x_n) − onehot(y_n)); the labels get no gradient.
    """

    formula = "{out} = ln Σ e^{x} − {x}[{y}]"
    gradients = ("{g} (softmax({x}) − onehot({y}))", "")

    def forward(self, xp, x, y):
        if x.ndim != 2 or y.shape != x.shape[:1]:
            raise ValueError(
                f"cross_entropy: logits must be (N, C) and labels (N,), got {x.shape} and {y.shape}"
            )
        if y.dtype.kind not in "iu":
            raise TypeError(f"cross_entropy: labels must be integers, got {y.dtype}")
        if y.size and (y.min() < 0 or y.max() >= x.shape[1]):
            raise ValueError(
                f"cross_entropy: labels must lie in [0, {x.shape[1]}), got "
                f"{int(y.min())}..{int(y.max())}"
            )
        picked = (xp.arange(x.shape[0]), y)
        # ℓ = ln(1 + Σ_{j≠k} e^(x_j − m)) + (m − x_y) for the max m = x_k: the max's own term
        # (1, or NaN at m = ±inf) goes to log1p, so a loss far below the logits keeps float32
        # precision
        top = (picked[0], xp.argmax(x, axis=1))
        m = x[top]
        e = xp.exp(x - m[:, None])
        e[top] -= 1
        return xp.log1p(xp.sum(e, axis=1)) + (m - x[picked])

    def vjp(self, xp, g, loss, x, y):
        picked = (xp.arange(x.shape[0]), y)
        gx = xp.expand_dims(g, 1) * xp.softmax(x, axis=1)
        return gx - xp.scatter_add(g, picked, x.shape), None

    @staticmethod
    def samples(draw):
        return [
            Sample((draw.normal(4, 3), np.array([0, 2, 1, 2]))),
            Sample((draw.normal(1, 5), np.array([4]))),
        ]

    def reference(self, torch, x, y):
        return torch.nn.functional.cross_entropy(x, y, reduction="none")
