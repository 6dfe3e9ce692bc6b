"""Learning-rate schedules: set each group's ``lr`` from the epoch count, as
``torch.optim.lr_scheduler``.

Call ``scheduler.step()`` once per epoch (or, for ``OneCycleLR``, once per batch), after the
optimiser's steps. Each schedule is a closed formula of the epoch count t and the group's
starting rate η0 (saved in the group as ``"initial_lr"``), so a schedule resumed from its
``state_dict`` gives the same rates. PyTorch computes most of them by multiplying the last
rate; the two agree to rounding (the tests compare 40 epochs of each). ``ReduceLROnPlateau``
alone depends on the losses it is shown, and keeps them in its state.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any

from ..arguments import count
from ..replay.state import replayed
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

    def lrs_at(self, epoch: int) -> list[float]:
        """Every group's rate at ``epoch``."""
        return [self.lr_at(epoch, initial_lr) for initial_lr in self.base_lrs]

    def set_epoch(self, epoch: int) -> None:
        """Set every group's ``lr`` (and whatever else the schedule drives) for ``epoch``."""
        for group, lr in zip(self.optimizer.param_groups, self.lrs_at(epoch), strict=True):
            group["lr"] = lr

    @replayed
    def step(self) -> None:
        """Advance one epoch and set every group's ``lr``."""
        self.last_epoch += 1
        self.set_epoch(self.last_epoch)

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
        self.set_epoch(self.last_epoch)


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


class LambdaLR(LRScheduler):
    """η_t = η0 · λ(t), for a function λ of the epoch (one per group, or one for all)."""

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        groups = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 1
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != groups:
                raise ValueError(
                    f"LambdaLR: expected {groups} lr_lambdas (one per parameter "
                    f"group), got {len(lr_lambda)}"
                )
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * groups
        super().__init__(optimizer, last_epoch)

    def lrs_at(self, epoch: int) -> list[float]:
        return [
            initial_lr * rule(epoch)
            for rule, initial_lr in zip(self.lr_lambdas, self.base_lrs, strict=True)
        ]


class MultiStepLR(LRScheduler):
    """η_t = η0 · γ^(number of milestones ≤ t): the rate drops by γ at each milestone epoch
    (a milestone listed twice drops it twice)."""

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Sequence[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        self.milestones = sorted(int(m) for m in milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int, initial_lr: float) -> float:
        return initial_lr * self.gamma ** bisect_right(self.milestones, epoch)


class LinearLR(LRScheduler):
    """η_t = η0 · (f0 + (f1 − f0) · min(t, T) / T): the factor goes in a straight line from
    f0 (``start_factor``) to f1 (``end_factor``) over T (``total_iters``) epochs, then stays
    (a warm-up, with the defaults f0 = 1/3, f1 = 1, T = 5)."""

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if not 0.0 < start_factor <= 1.0:
            raise ValueError(f"LinearLR: start_factor must lie in (0, 1], got {start_factor!r}")
        if not 0.0 <= end_factor <= 1.0:
            raise ValueError(f"LinearLR: end_factor must lie in [0, 1], got {end_factor!r}")
        if total_iters < 1:
            raise ValueError(
                f"LinearLR: total_iters must be a positive integer, got {total_iters!r}"
            )
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = int(total_iters)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int, initial_lr: float) -> float:
        done = min(self.total_iters, epoch) / self.total_iters
        return initial_lr * (self.start_factor + (self.end_factor - self.start_factor) * done)


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov & Hutter, 2017): η_t = η_min + (η0 − η_min)(1 + cos(π t_cur / T_i)) / 2,
    where t_cur counts the epochs since the last restart and the i-th cycle lasts
    T_i = T_0 · T_mult^i epochs; at each restart the rate jumps back to η0."""

    def __init__(
        self,
        optimizer: Optimizer,
        T_0: int,
        T_mult: int = 1,
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        if isinstance(T_0, bool) or not isinstance(T_0, int) or T_0 < 1:
            raise ValueError(
                f"CosineAnnealingWarmRestarts: T_0 must be a positive integer, got {T_0!r}"
            )
        if isinstance(T_mult, bool) or not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(
                f"CosineAnnealingWarmRestarts: T_mult must be an integer >= 1, got {T_mult!r}"
            )
        self.T_0, self.T_mult, self.eta_min = T_0, T_mult, eta_min
        super().__init__(optimizer, last_epoch)

    def cycle_at(self, epoch: int) -> tuple[int, int]:
        """(t_cur, T_i): the position within the cycle that ``epoch`` falls in, and its length."""
        if self.T_mult == 1:
            return epoch % self.T_0, self.T_0
        t_cur, length = epoch, self.T_0
        while t_cur >= length:  # exact integers; as many rounds as cycles, a logarithm of t
            t_cur -= length
            length *= self.T_mult
        return t_cur, length

    def lr_at(self, epoch: int, initial_lr: float) -> float:
        t_cur, length = self.cycle_at(epoch)
        cosine = (1 + math.cos(math.pi * t_cur / length)) / 2
        return self.eta_min + (initial_lr - self.eta_min) * cosine


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2018), as ``torch.optim.lr_scheduler.OneCycleLR``:
    stepped once per batch, the rate rises from η_max / ``div_factor`` to η_max
    (``max_lr``) over the first ``pct_start`` of ``total_steps``, then falls to
    η_max / (``div_factor`` · ``final_div_factor``), along half cosines (or straight lines,
    ``anneal_strategy="linear"``). With ``three_phase`` it first falls back to the start
    and only then to the end. ``cycle_momentum`` moves the momentum (SGD's ``momentum``,
    Adam's β1) the opposite way, between ``max_momentum`` and ``base_momentum``.

    Stepping past ``total_steps`` is an error, since the schedule is over.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | Sequence[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | Sequence[float] = 0.85,
        max_momentum: float | Sequence[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"OneCycleLR needs an Optimizer, got {type(optimizer).__name__}")
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
            if epochs < 1 or steps_per_epoch < 1:
                raise ValueError(
                    f"OneCycleLR: epochs and steps_per_epoch must be positive "
                    f"integers, got {epochs!r} and {steps_per_epoch!r}"
                )
            total_steps = epochs * steps_per_epoch
        if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 1:
            raise ValueError(
                f"OneCycleLR: total_steps must be a positive integer, got {total_steps!r}"
            )
        if not 0.0 <= pct_start <= 1.0:
            raise ValueError(f"OneCycleLR: pct_start must lie in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}"
            )
        self.total_steps = total_steps
        self.anneal_strategy = anneal_strategy
        self.cycle_momentum = cycle_momentum
        up = float(pct_start * total_steps) - 1
        if three_phase:  # (last step of the phase, rate from, rate to, momentum from, to)
            self.phases = [
                (up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (2 * up, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                (total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self.phases = [
                (up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        groups = optimizer.param_groups
        if (
            cycle_momentum
            and "momentum" not in optimizer.defaults
            and "betas" not in optimizer.defaults
        ):
            raise ValueError(
                f"OneCycleLR: cycle_momentum needs an optimiser with momentum or "
                f"betas, and {type(optimizer).__name__} has neither; pass "
                "cycle_momentum=False"
            )
        self.use_beta1 = "betas" in optimizer.defaults
        if last_epoch == -1:
            for group, peak in zip(groups, _per_group("max_lr", max_lr, groups), strict=True):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
            if cycle_momentum:
                highs = _per_group("max_momentum", max_momentum, groups)
                lows = _per_group("base_momentum", base_momentum, groups)
                for group, high, low in zip(groups, highs, lows, strict=True):
                    group["max_momentum"], group["base_momentum"] = high, low
                    self._set_momentum(group, high)
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, fraction: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * fraction) + 1)
        return (end - start) * fraction + start

    def _set_momentum(self, group: dict[str, Any], momentum: float) -> None:
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def set_epoch(self, epoch: int) -> None:
        if epoch > self.total_steps:
            raise ValueError(
                f"OneCycleLR: stepped {epoch} times, but the schedule has "
                f"total_steps={self.total_steps}"
            )
        for group in self.optimizer.param_groups:
            start = 0.0
            for k, (end, lr_from, lr_to, momentum_from, momentum_to) in enumerate(self.phases):
                if epoch <= end or k == len(self.phases) - 1:
                    fraction = (epoch - start) / (end - start)
                    group["lr"] = self._anneal(group[lr_from], group[lr_to], fraction)
                    if self.cycle_momentum:
                        self._set_momentum(
                            group, self._anneal(group[momentum_from], group[momentum_to], fraction)
                        )
                    break
                start = end


class SequentialLR(LRScheduler):
    """Schedules one after another: ``schedulers[i]`` runs from ``milestones[i - 1]`` (epoch
    0 for the first) and counts its epochs from there, as in PyTorch."""

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: Sequence[LRScheduler],
        milestones: Sequence[int],
        last_epoch: int = -1,
    ) -> None:
        if not schedulers:
            raise ValueError("SequentialLR needs at least one schedule")
        for k, schedule in enumerate(schedulers):
            if not isinstance(schedule, LRScheduler):
                raise TypeError(
                    f"SequentialLR: schedule {k} is a {type(schedule).__name__}, "
                    "not an epoch schedule (ReduceLROnPlateau cannot be chained)"
                )
            if schedule.optimizer is not optimizer:
                raise ValueError(
                    f"SequentialLR: schedule {k} ({type(schedule).__name__}) "
                    "drives another optimiser"
                )
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"SequentialLR: {len(schedulers)} schedules need "
                f"{len(schedulers) - 1} milestones, got {len(milestones)}"
            )
        self.schedulers = list(schedulers)
        self.milestones = [int(m) for m in milestones]
        for group in optimizer.param_groups:
            if "initial_lr" in group:
                group["lr"] = group["initial_lr"]
        super().__init__(optimizer, last_epoch)

    def set_epoch(self, epoch: int) -> None:
        k = bisect_right(self.milestones, epoch)
        schedule = self.schedulers[k]
        schedule.last_epoch = epoch - self.milestones[k - 1] if k > 0 else epoch
        schedule.set_epoch(schedule.last_epoch)


class ReduceLROnPlateau:
    """Divide the rate when a watched number (a validation loss, say) stops improving.

    Call ``scheduler.step(value)`` once per epoch. A value better than the best so far
    (``mode="min"``: below best · (1 − threshold), or best − threshold with
    ``threshold_mode="abs"``; ``"max"`` the other way) resets the count of bad epochs;
    after more than ``patience`` bad epochs in a row every group's rate is multiplied by
    ``factor`` (not below ``min_lr``, and only if it changes by more than ``eps``), then
    ``cooldown`` epochs pass before bad epochs count again. As in PyTorch.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | Sequence[float] = 0.0,
        eps: float = 1e-8,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau needs an Optimizer, got {type(optimizer).__name__}")
        if not factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be below 1, got {factor!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}"
            )
        self.optimizer = optimizer
        self.min_lrs = _per_group("min_lr", min_lr, optimizer.param_groups)
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0

    def is_better(self, value: float) -> bool:
        """Whether ``value`` improves on the best so far by more than the threshold."""
        if self.mode == "min":
            bar = (
                self.best * (1 - self.threshold)
                if self.threshold_mode == "rel"
                else self.best - self.threshold
            )
            return value < bar
        bar = (
            self.best * (1 + self.threshold)
            if self.threshold_mode == "rel"
            else self.best + self.threshold
        )
        return value > bar

    @replayed
    def step(self, metrics: Any) -> None:
        """Show the schedule this epoch's value; reduce the rates if it has stalled."""
        value = float(metrics.item() if hasattr(metrics, "item") else metrics)
        self.last_epoch += 1
        if self.is_better(value):
            self.best = value
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in the cooldown do not count
        if self.num_bad_epochs > self.patience:
            for group, floor in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
                new = max(float(group["lr"]) * self.factor, floor)
                if float(group["lr"]) - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0

    def get_last_lr(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "num_bad_epochs": self.num_bad_epochs,
            "cooldown_counter": self.cooldown_counter,
            "last_epoch": self.last_epoch,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a saved position (the rates themselves are the optimiser's state)."""
        self.best = float(state["best"])
        self.num_bad_epochs = int(state["num_bad_epochs"])
        self.cooldown_counter = int(state["cooldown_counter"])
        self.last_epoch = int(state["last_epoch"])


def _per_group(name: str, value: Any, groups: list[dict[str, Any]]) -> list[float]:
    """One value per parameter group: a list of that length, or one value for all."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(groups):
            raise ValueError(
                f"{name}: expected {len(groups)} values (one per parameter group), got {len(value)}"
            )
        return [float(v) for v in value]
    return [float(value)] * len(groups)
