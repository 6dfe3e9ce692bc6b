"""RMSprop: steps divided by a running root mean square of the gradient."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012), with ``torch.optim.RMSprop``'s formulas and defaults.

    For each parameter w with gradient g:

        g ← g + λ w                                  weight decay λ
        v ← α v + (1 − α) g²                         running mean of g²
        a ← √(v − ḡ²) + ε with ``centered``, where ḡ ← ḡ + (1 − α)(g − ḡ);  else a = √v + ε
        b ← μ b + g / a,  w ← w − η b                with momentum μ > 0
        w ← w − η g / a                              without
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"RMSprop: invalid learning rate {lr!r}")
        if not eps >= 0.0:
            raise ValueError(f"RMSprop: invalid eps {eps!r}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"RMSprop: invalid alpha {alpha!r}")
        if not momentum >= 0.0:
            raise ValueError(f"RMSprop: invalid momentum {momentum!r}")
        if not weight_decay >= 0.0:
            raise ValueError(f"RMSprop: invalid weight_decay {weight_decay!r}")
        defaults = {
            "lr": lr,
            "alpha": alpha,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "centered": centered,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def update(
        self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        alpha, momentum = group["alpha"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p)
            if momentum > 0:
                state["momentum_buffer"] = np.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p)
        state["step"] += 1
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * (g * g)
        if group["centered"]:
            mean = state["grad_avg"]
            mean += (1 - alpha) * (g - mean)
            a = np.sqrt(v - mean * mean)
        else:
            a = np.sqrt(v)
        a += group["eps"]
        if momentum > 0:
            b = state["momentum_buffer"]
            b *= momentum
            b += g / a
            p -= group["lr"] * b
        else:
            p -= group["lr"] * (g / a)
