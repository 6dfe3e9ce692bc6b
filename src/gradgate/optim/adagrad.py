"""Adagrad and Adadelta: per-weight step sizes from the history of that weight's gradient."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011), with ``torch.optim.Adagrad``'s formulas and defaults.

    For each parameter w with gradient g, at step k = 1, 2, ...:

        g ← g + λ w                                  weight decay λ
        s ← s + g²                                   s starts at ``initial_accumulator_value``
        w ← w − η / (1 + (k − 1) δ) · g / (√s + ε)   learning-rate decay δ (``lr_decay``)

    A weight whose gradient has been large takes small steps from then on.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        for option, value in (
            ("learning rate", lr),
            ("lr_decay", lr_decay),
            ("weight_decay", weight_decay),
            ("initial_accumulator_value", initial_accumulator_value),
            ("eps", eps),
        ):
            if not value >= 0.0:
                raise ValueError(f"Adagrad: invalid {option} {value!r}")
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "eps": eps,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def update(
        self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(p, group["initial_accumulator_value"])
        state["step"] += 1
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p
        rate = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"]
        s += g * g
        denominator = np.sqrt(s)
        denominator += group["eps"]
        p -= rate * (g / denominator)


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012), with ``torch.optim.Adadelta``'s formulas and defaults.

    For each parameter w with gradient g:

        g ← g + λ w                                  weight decay λ
        v ← ρ v + (1 − ρ) g²                         running mean of g²
        Δ = √(u + ε) / √(v + ε) · g                  the step, in the units of w
        u ← ρ u + (1 − ρ) Δ²                         running mean of Δ²
        w ← w − η Δ                                  η = 1 by default
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"Adadelta: invalid learning rate {lr!r}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Adadelta: invalid rho {rho!r}")
        if not eps >= 0.0:
            raise ValueError(f"Adadelta: invalid eps {eps!r}")
        if not weight_decay >= 0.0:
            raise ValueError(f"Adadelta: invalid weight_decay {weight_decay!r}")
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def update(
        self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p)
            state["acc_delta"] = np.zeros_like(p)
        state["step"] += 1
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p
        v, u = state["square_avg"], state["acc_delta"]
        v *= rho
        v += (1 - rho) * (g * g)
        delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u *= rho
        u += (1 - rho) * (delta * delta)
        p -= group["lr"] * delta
