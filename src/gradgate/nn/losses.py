"""Losses as modules, each a thin wrapper of one function of ``gradgate.functional``.

Call a loss as ``loss(output, target)``. ``reduction`` follows PyTorch: ``"mean"`` (the
default) averages the per-element (or per-example) losses, ``"sum"`` adds them, ``"none"``
returns them unreduced. The lecture's :class:`SqErr` is always summed, as the lecture
defines it.
"""

from __future__ import annotations

from typing import Any

from .. import functional as F
from ..functional import binary_cross_entropy_with_logits, cross_entropy, mse, sqerr  # re-exported
from ..tensor import Tensor
from .module import Module

__all__ = [
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "MSELoss",
    "SqErr",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "mse",
    "sqerr",
]

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}: reduction must be one of {_REDUCTIONS}, got {reduction!r}"
            )
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class SqErr(Module):
    """E = 1/2 · Σ (t − o)², summed over every element and example  (lecture 20.1).

    dE/do = o − t; the target gets no gradient. Over a batch this is the sum of the
    per-example errors, so one SGD step on a batch adds up the per-example updates.
    """

    reduction = "sum"

    def forward(self, o: Any, t: Any) -> Tensor:
        return F.sqerr(o, t)


class MSELoss(_Loss):
    """ℓ = (o − t)² per element, averaged (``"mean"``) or summed over all of them."""

    def forward(self, o: Any, t: Any) -> Tensor:
        return F.mse(o, t, self.reduction)


class CrossEntropyLoss(_Loss):
    """ℓ_n = −ln softmax(x_n)[y_n] for logits x (N, C) and integer labels y (N,), computed
    fused and stable as logsumexp(x_n) − x_n[y_n].   dE/dx_n = g_n (softmax(x_n) − onehot(y_n)).
    """

    def forward(self, x: Any, labels: Any) -> Tensor:
        return F.cross_entropy(x, labels, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """ℓ = −[t ln σ(x) + (1 − t) ln(1 − σ(x))] per element, from logits x, for targets
    t ∈ [0, 1] of x's shape; stable at any |x|.   dE/dx = g ⊙ (σ(x) − t)."""

    def forward(self, x: Any, t: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(x, t, self.reduction)

