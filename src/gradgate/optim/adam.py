"""Adam and AdamW: steps scaled by running averages of the gradient and its square."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with ``torch.optim.Adam``'s formulas and defaults.

    For each parameter w with gradient g, at step k = 1, 2, ...:

        g ← g + λ w                                   weight decay λ (L2, into the gradient)
        m ← m + (1 − β1)(g − m)                       running mean of g
        v ← β2 v + (1 − β2) g²                        running mean of g²
        v̂ ← max(v̂, v) with ``amsgrad``, else v̂ = v
        w ← w − η / (1 − β1^k) · m / (√v̂ / √(1 − β2^k) + ε)
    """

    decoupled = False  # AdamW: the decay shrinks w directly instead of entering g

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        name = type(self).__name__
        if not lr >= 0.0:
            raise ValueError(f"{name}: invalid learning rate {lr!r}")
        if not eps >= 0.0:
            raise ValueError(f"{name}: invalid eps {eps!r}")
        for k, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{name}: invalid beta at index {k}: {beta!r}")
        if not weight_decay >= 0.0:
            raise ValueError(f"{name}: invalid weight_decay {weight_decay!r}")
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad}
        super().__init__(params, defaults)

    def update(
        self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        lr, weight_decay = group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p)
        if weight_decay != 0:
            if self.decoupled:
                p *= 1 - lr * weight_decay
            else:
                g = g + weight_decay * p
        state["step"] += 1
        k = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - beta1) * (g - m)
        v *= beta2
        v += (1 - beta2) * (g * g)
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        denominator = np.sqrt(v)
        denominator /= math.sqrt(1 - beta2**k)
        denominator += group["eps"]
        p -= (lr / (1 - beta1**k)) * (m / denominator)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as ``torch.optim.AdamW``:
    each step first shrinks w ← w (1 − η λ), then takes Adam's step without λ in g.
    The default λ is 0.01."""

    decoupled = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
