"""Adam and its relatives: steps scaled by running averages of the gradient and of its
square (Adam, AdamW, NAdam) or of its largest magnitude (Adamax)."""

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

    ``amsgrad`` keeps the largest v seen (Reddi et al., 2018), so the step never grows
    because v shrank.
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
        *,
        maximize: bool = False,
    ) -> None:
        name = type(self).__name__
        _check_adam_options(name, lr, betas, eps, weight_decay)
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
        }
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
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)


class Adamax(Optimizer):
    """Adamax (Kingma & Ba, 2015, section 7), as ``torch.optim.Adamax``: Adam with the
    running root mean square replaced by a running maximum of |g|.

    For each parameter w with gradient g, at step k = 1, 2, ...:

        g ← g + λ w                          weight decay λ
        m ← m + (1 − β1)(g − m)              running mean of g
        u ← max(β2 u, |g| + ε)               decaying largest |g|
        w ← w − η / (1 − β1^k) · m / u
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
    ) -> None:
        _check_adam_options("Adamax", lr, betas, eps, weight_decay)
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def update(
        self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_inf"] = np.zeros_like(p)
        state["step"] += 1
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p
        m, u = state["exp_avg"], state["exp_inf"]
        m += (1 - beta1) * (g - m)
        u *= beta2
        np.maximum(u, np.abs(g) + group["eps"], out=u)
        p -= (group["lr"] / (1 - beta1 ** state["step"])) * (m / u)


class NAdam(Optimizer):
    """NAdam (Dozat, 2016): Adam with Nesterov momentum, as ``torch.optim.NAdam``.

    The momentum factor warms up, μ_k = β1 (1 − ½ · 0.96^(k ψ)) with ψ = ``momentum_decay``,
    and Π_k = μ_1 ⋯ μ_k. For each parameter w with gradient g, at step k = 1, 2, ...:

        g ← g + λ w     (or w ← w (1 − η λ) with ``decoupled_weight_decay``)
        m ← m + (1 − β1)(g − m),   v ← β2 v + (1 − β2) g²
        d = √(v / (1 − β2^k)) + ε
        w ← w − η (1 − μ_k) / (1 − Π_k) · g / d − η μ_{k+1} / (1 − Π_k μ_{k+1}) · m / d
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        _check_adam_options("NAdam", lr, betas, eps, weight_decay)
        if not momentum_decay >= 0.0:
            raise ValueError(f"NAdam: invalid momentum_decay {momentum_decay!r}")
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def update(
        self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        lr, weight_decay = group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["mu_product"] = 1.0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        k = state["step"]
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                p *= 1 - lr * weight_decay
            else:
                g = g + weight_decay * p
        psi = group["momentum_decay"]
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (k * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((k + 1) * psi))
        state["mu_product"] *= mu
        product = state["mu_product"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - beta1) * (g - m)
        v *= beta2
        v += (1 - beta2) * (g * g)
        denominator = np.sqrt(v / (1 - beta2**k))
        denominator += group["eps"]
        p -= (lr * (1.0 - mu) / (1.0 - product)) * (g / denominator)
        p -= (lr * mu_next / (1.0 - product * mu_next)) * (m / denominator)


def _check_adam_options(
    name: str, lr: float, betas: tuple[float, float], eps: float, weight_decay: float
) -> None:
    if not lr >= 0.0:
        raise ValueError(f"{name}: invalid learning rate {lr!r}")
    if not eps >= 0.0:
        raise ValueError(f"{name}: invalid eps {eps!r}")
    for k, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"{name}: invalid beta at index {k}: {beta!r}")
    if not weight_decay >= 0.0:
        raise ValueError(f"{name}: invalid weight_decay {weight_decay!r}")
