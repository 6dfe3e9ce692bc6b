"""Learning-rate schedules: set each group's ``lr`` from the epoch count, as
``torch.optim.lr_scheduler``.

Call ``scheduler.step()`` once per epoch, after the optimiser's steps. Each schedule is a
closed formula of the epoch count t and the group's starting rate η0 (saved in the group as
``"initial_lr"``), so a schedule resumed from its ``state_dict`` gives the same rates.
"""

from __future__ import annotations

import math
from typing import Any

from ..arguments import count
from .optimizer import Optimizer


class LRScheduler:
    """Base class: subclasses define ``lr_at(epoch, initial_lr)``."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__} needs an Optimizer, got {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(
                    f"{type(self).__name__}: resuming at last_epoch={last_epoch} "
                    "needs 'initial_lr' in every parameter group"
                )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def lr_at(self, epoch: int, initial_lr: float) -> float:
        raise NotImplementedError(f"{type(self).__name__} does not define lr_at()")

    def step(self) -> None:
        """Advance one epoch and set every group's ``lr``."""
        self.last_epoch += 1
        for group, initial_lr in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = self.lr_at(self.last_epoch, initial_lr)

    def get_last_lr(self) -> list[float]:
        """The rates the last ``step()`` set, one per group."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a saved position: the groups' rates are set for that epoch."""
        base_lrs = [float(lr) for lr in state["base_lrs"]]
        if len(base_lrs) != len(self.optimizer.param_groups):
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: the state has "
                f"{len(base_lrs)} groups, the optimiser "
                f"{len(self.optimizer.param_groups)}"
            )
        self.last_epoch = int(state["last_epoch"])
        self.base_lrs = base_lrs
        for group, initial_lr in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["initial_lr"] = initial_lr
            group["lr"] = self.lr_at(self.last_epoch, initial_lr)


class StepLR(LRScheduler):
    """η_t = η0 · γ^⌊t / step_size⌋: the rate drops by γ every ``step_size`` epochs."""

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        self.step_size = count(step_size, "StepLR: step_size")
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int, initial_lr: float) -> float:
        return initial_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """η_t = η0 · γ^t."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int, initial_lr: float) -> float:
        return initial_lr * self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """η_t = η_min + (η0 − η_min) · (1 + cos(π t / T_max)) / 2: from η0 down to η_min
    (``eta_min``) in T_max epochs along half a cosine (Loshchilov & Hutter, 2017)."""

    def __init__(
        self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ) -> None:
        self.T_max = count(T_max, "CosineAnnealingLR: T_max")
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int, initial_lr: float) -> float:
        cosine = (1 + math.cos(math.pi * epoch / self.T_max)) / 2
        return self.eta_min + (initial_lr - self.eta_min) * cosine
