"""Losses as modules, each a thin wrapper of one function of ``gradgate.functional``.

Call a loss as ``loss(output, target)``. ``reduction`` follows PyTorch: ``"mean"`` (the
default) averages the per-element (or per-example) losses, ``"sum"`` adds them, ``"none"``
returns them unreduced. The lecture's :class:`SqErr` is always summed, as the lecture
defines it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import functional as F
from ..functional import binary_cross_entropy_with_logits, cross_entropy, mse, sqerr  # re-exported
from ..tensor import Tensor
from .module import Module

__all__ = [
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "MSELoss",
    "NLLLoss",
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
    weight: Any  # a buffer: the class weights, or None
    """ℓ_n = −ln softmax(x_n)[y_n] for logits x (N, C) and integer labels y (N,), computed
    fused and stable as logsumexp(x_n) − x_n[y_n].   dE/dx_n = g_n (softmax(x_n) − onehot(y_n)).

    As PyTorch's: logits (N, C, d1, ...) with labels (N, d1, ...), class probabilities of
    the logits' shape as targets, ``weight`` per class, ``ignore_index`` and
    ``label_smoothing`` (see :func:`gradgate.functional.cross_entropy`). A string as the
    first argument is the reduction (``CrossEntropyLoss("sum")``), as it was before the
    options came.
    """

    def __init__(
        self,
        weight: Any = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        if isinstance(weight, str):  # CrossEntropyLoss("sum"): the reduction, as before
            weight, reduction = None, weight
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(
                f"CrossEntropyLoss: label_smoothing must lie in [0, 1], got {label_smoothing!r}"
            )
        self.ignore_index, self.label_smoothing = ignore_index, float(label_smoothing)
        self.register_buffer("weight", None if weight is None else _constant(weight))

    def forward(self, x: Any, labels: Any) -> Tensor:
        return F.cross_entropy(
            x,
            labels,
            self.reduction,
            weight=self.weight,
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing,
        )


class NLLLoss(_Loss):
    weight: Any
    """ℓ_n = −w[y_n] logp_n[y_n] for log-probabilities (N, C) (a LogSoftmax's output) and
    integer labels (N,); ``weight`` per class and ``ignore_index`` as PyTorch's."""

    def __init__(
        self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean"
    ) -> None:
        super().__init__(reduction)
        self.ignore_index = ignore_index
        self.register_buffer("weight", None if weight is None else _constant(weight))

    def forward(self, logp: Any, labels: Any) -> Tensor:
        return F.nll_loss(
            logp, labels, self.reduction, weight=self.weight, ignore_index=self.ignore_index
        )


def _constant(weight: Any) -> Tensor:
    return Tensor(np.array(weight.data if isinstance(weight, Tensor) else weight))


class BCEWithLogitsLoss(_Loss):
    """ℓ = −[t ln σ(x) + (1 − t) ln(1 − σ(x))] per element, from logits x, for targets
    t ∈ [0, 1] of x's shape; stable at any |x|.   dE/dx = g ⊙ (σ(x) − t)."""

    def forward(self, x: Any, t: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(x, t, self.reduction)
