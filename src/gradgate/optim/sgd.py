"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer


class SGD(Optimizer):
    """w ← w − η · dE/dw, the lecture's update, with PyTorch's options and formulas.

    For each parameter w with gradient g, in this order (``torch.optim.SGD``):

        g ← g + λ w                          weight decay λ (``weight_decay``)
        b ← g  at the first step,  b ← μ b + (1 − τ) g  after   momentum μ, dampening τ
        g ← g + μ b  (Nesterov)   or   g ← b                    when μ ≠ 0
        w ← w − η g

    With the defaults (μ = τ = λ = 0) a step is exactly w ← w − η · dE/dw; with
    ``maximize=True`` the rule sees g = −dE/dw and so climbs E.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"SGD: invalid learning rate {lr!r}")
        if not momentum >= 0.0:
            raise ValueError(f"SGD: invalid momentum {momentum!r}")
        if not weight_decay >= 0.0:
            raise ValueError(f"SGD: invalid weight_decay {weight_decay!r}")
        if nesterov and (momentum <= 0.0 or dampening != 0.0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def plain(self, group: dict[str, Any]) -> bool:
        return (
            type(self).update is SGD.update
            and type(group["lr"]) in (float, int)  # a NumPy scalar lr would promote otherwise
            and group["momentum"] == 0
            and group["weight_decay"] == 0
            and not group["maximize"]
        )

    def update(
        self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        weight_decay, momentum = group["weight_decay"], group["momentum"]
        if weight_decay != 0:
            g = g + weight_decay * p
        if momentum != 0:
            b = state.get("momentum_buffer")
            if b is None:
                b = state["momentum_buffer"] = g.copy()
            else:
                b *= momentum
                b += (1 - group["dampening"]) * g
            g = g + momentum * b if group["nesterov"] else b
        p -= group["lr"] * g
