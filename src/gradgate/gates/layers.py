"""Gates behind the layers of ``gradgate.nn``: normalisation and embedding lookup (the
recurrent layers' gates are in ``recurrent.py``).

Each is one gate with a fused backward because that is where a composition would be slow
or would keep many intermediate arrays alive: normalising takes five reductions and
broadcasts as a composition. Everything around them (affine parameters, matrix products)
is composed from the general gates.
"""

from __future__ import annotations

import numpy as np

from .base import Gate, Sample, register
from .reduce import normalize_axis


@register
class Normalize(Gate):
    """o = (x − μ) / √(σ² + ε), with μ and σ² (biased) the mean and variance of x over
    ``axes``: the core of batch, layer and group normalisation.

    Backward (N = number of elements averaged, r = 1/√(σ² + ε), o = (x − μ) r):
    do_i/dx_j = r (δ_ij − 1/N − o_i o_j / N), since dμ/dx_j = 1/N and
    d(σ²)/dx_j = 2 (x_j − μ)/N. The matrix is symmetric, so
    J^T g = r (g − mean(g) − o ⊙ mean(g ⊙ o)), the means taken over ``axes``: three
    reductions instead of a Jacobian.
    """

    function = "normalize"
    formula = "{out} = ({x} − μ) / √(σ² + ε)"
    tex = "{out} = ({x} - \\mu) / \\sqrt{{\\sigma^2 + \\varepsilon}}"
    gradients = ("r ({g} − mean {g} − {out} ⊙ mean({g} ⊙ {out}))",)

    def __init__(self, axes=-1, eps: float = 1e-5):
        self.axes = axes
        self.eps = float(eps)

    def forward(self, xp, x):
        axes = normalize_axis(self.axes, x.ndim)
        if any(x.shape[a] == 0 for a in axes):
            raise ValueError(
                f"normalize: nothing to average over axes {self.axes} of a "
                f"tensor of shape {x.shape}"
            )
        with np.errstate(invalid="ignore", over="ignore"):  # inf in a slice: NaN, as PyTorch
            d = x - xp.mean(x, axis=axes, keepdims=True)
            var = xp.mean(d * d, axis=axes, keepdims=True)
            return d / xp.sqrt(var + self.eps)

    def vjp(self, xp, g, o, x):
        axes = normalize_axis(self.axes, x.ndim)
        d = x - xp.mean(x, axis=axes, keepdims=True)
        r = 1 / xp.sqrt(xp.mean(d * d, axis=axes, keepdims=True) + self.eps)
        mean_g = xp.mean(g, axis=axes, keepdims=True)
        return (r * (g - mean_g - o * xp.mean(g * o, axis=axes, keepdims=True)),)

    @staticmethod
    def samples(draw):
        r = draw.normal
        return [
            Sample((r(3, 5),)),
            Sample((r(4, 3, 2),), {"axes": (0, 2), "eps": 1e-3}),
            Sample((r(2, 3, 4),), {"axes": (1, 2)}),
        ]

    def reference(self, torch, x):
        axes = normalize_axis(self.axes, x.ndim)
        mean = x.mean(dim=axes, keepdim=True)
        var = x.var(dim=axes, unbiased=False, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps)


@register
class Embedding(Gate):
    """o = W[y]: row y of the table W (num, dim) for every integer y of the index array.

    dE/dW is zero but for the rows looked up, where g is added (scatter-add: a row looked up
    twice gets both contributions). The indices take no gradient.

    With ``padding_idx`` = p, the places where y = p read zeros and give row p no gradient,
    as in PyTorch (whose ``nn.Embedding`` keeps row p at zero; here it reads as zero even
    when it is not, so the rule is the true derivative of its forward).
    """

    function = "embedding_lookup"
    formula = "{out} = {W}[{y}]"
    gradients = ("{g} added into the rows {y}", "")

    def __init__(self, padding_idx: int | None = None):
        self.padding_idx = padding_idx

    def forward(self, xp, W, y):
        if W.ndim != 2:
            raise ValueError(f"embedding: the table must be (num, dim), got {W.shape}")
        if y.dtype.kind not in "iu":
            raise TypeError(f"embedding: indices must be integers, got {y.dtype}")
        if y.size and (int(y.min()) < 0 or int(y.max()) >= W.shape[0]):
            raise IndexError(
                f"embedding: indices must lie in [0, {W.shape[0]}), got "
                f"{int(y.min())}..{int(y.max())}"
            )
        if self.padding_idx is None:
            return W[y]
        if not 0 <= self.padding_idx < W.shape[0]:
            raise ValueError(
                f"embedding: padding_idx {self.padding_idx} is not a row of a table of {W.shape[0]}"
            )
        return xp.where(xp.expand_dims(y != self.padding_idx, -1), W[y], 0)

    def vjp(self, xp, g, o, W, y):
        if self.padding_idx is not None:
            keep = xp.expand_dims(y != self.padding_idx, -1)
            g = xp.where(keep, g, 0 * g)
        return xp.scatter_add(g, (y,), W.shape), None

    @staticmethod
    def samples(draw):
        return [
            Sample((draw.normal(5, 3), np.array([0, 2, 2, 4]))),
            Sample((draw.normal(4, 2), np.array([[1, 0], [3, 1]])), {"padding_idx": 1}),
        ]

    def reference(self, torch, W, y):
        out = torch.nn.functional.embedding(y, W, padding_idx=self.padding_idx)
        if self.padding_idx is None:
            return out
        return torch.where((y != self.padding_idx).unsqueeze(-1), out, torch.zeros_like(out))
