"""The settings of one training run, as a dataclass the CLI fills from its options."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .. import backend
from ..nn.mlp import ACTIVATIONS

LOSSES = ("sqerr", "mse", "cross_entropy", "bce")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")

# Learning rates that work on the built-in data sets; --lr overrides. Plain SGD needs one
# per loss: SqErr is summed over the batch, the others are averaged (MSE over every output
# too), so their gradients are 16 to 80 times smaller at the default batch size.
SGD_LR = {"sqerr": 0.1, "mse": 2.0, "cross_entropy": 0.5, "bce": 1.0}
ADAPTIVE_LR = 1e-3  # adam, adamw, rmsprop

# Settings a resumed run may change; every other one must match the checkpoint's.
RESUMABLE_CHANGES = ("epochs", "out", "device")


class InputError(ValueError):
    """Bad input from the user: a setting, a data file, a checkpoint. The CLI prints the
    message as one line and exits with status 2."""


@dataclass
class TrainConfig:
    """Everything that decides a run; the same config and seed give the same numbers.

    The default is the lecture's network (20.4) on the built-in digits: 64 standardised
    inputs, one sigmoid hidden layer of 64, 10 sigmoid outputs, SqErr against one-hot
    targets, plain SGD w ← w − η dE/dw on mini-batches of 16 (the loss summed over the
    batch), 60 epochs, a stratified 70/30 train/test split.
    """

    data: str = "digits"
    target: str | None = None  # the label column of a CSV file (default: its last column)
    hidden: tuple[int, ...] = (64,)
    activation: str = "sigmoid"
    loss: str = "sqerr"
    optimizer: str = "sgd"
    lr: float | None = None  # None: SGD_LR[loss] for sgd, else ADAPTIVE_LR
    momentum: float = 0.0
    weight_decay: float = 0.0
    epochs: int = 60
    batch_size: int = 16
    seed: int = 0
    test_size: float = 0.3
    standardize: bool = True
    out: str | None = "gradgate-run"  # None: write no files
    device: str = "cpu"

    def __post_init__(self) -> None:
        self.hidden = tuple(self.hidden)

    @property
    def learning_rate(self) -> float:
        """``lr``, or the default for the optimiser and loss when it is None."""
        if self.lr is not None:
            return self.lr
        return SGD_LR[self.loss] if self.optimizer == "sgd" else ADAPTIVE_LR

    def resolved(self) -> TrainConfig:
        """A copy with ``lr`` set to the learning rate actually used."""
        return dataclasses.replace(self, lr=self.learning_rate)

    def validate(self) -> TrainConfig:
        """Raise InputError naming the first bad setting; return self when all are fine."""
        for n in self.hidden:
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise InputError(f"hidden layer sizes must be positive integers, got "
                                 f"{','.join(map(str, self.hidden))}")
        _choice("activation", self.activation, tuple(a for a in ACTIVATIONS if a != "softmax"))
        _choice("loss", self.loss, LOSSES)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        if self.lr is not None and not self.lr > 0:
            raise InputError(f"lr must be a positive number, got {self.lr}")
        if not 0 <= self.momentum < 1:
            raise InputError(f"momentum must lie in [0, 1), got {self.momentum}")
        if self.momentum and self.optimizer not in ("sgd", "rmsprop"):
            raise InputError(f"momentum applies to sgd and rmsprop, not {self.optimizer}")
        if not self.weight_decay >= 0:
            raise InputError(f"weight decay must be non-negative, got {self.weight_decay}")
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1:
            raise InputError(f"epochs must be a positive integer, got {self.epochs}")
        if (isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int)
                or self.batch_size < 1):
            raise InputError(f"batch size must be a positive integer, got {self.batch_size}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InputError(f"seed must be a non-negative integer, got {self.seed}")
        if not 0 < self.test_size < 1:
            raise InputError(f"test size must be a fraction in (0, 1), got {self.test_size}")
        check_device(self.device)
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a checkpoint (``hidden`` as a list)."""
        values = dataclasses.asdict(self)
        values["hidden"] = list(self.hidden)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """The config :meth:`to_dict` described; unknown keys are an InputError."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise InputError(f"unknown settings in the checkpoint's config: {unknown}")
        return cls(**values)


def check_device(device: str) -> None:
    """"cpu", or a GPU that is really there; otherwise an InputError that says why."""
    try:
        backend.parse_device(device)
    except (ValueError, RuntimeError) as error:
        raise InputError(str(error)) from None


def _choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InputError(f"unknown {what} {value!r}; expected one of {', '.join(choices)}")
