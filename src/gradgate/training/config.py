"""The settings of one training run, as a dataclass the CLI fills from its options."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import backend, nn, optim
from ..nn import ACTIVATIONS

Array = np.ndarray


@dataclass(frozen=True)
class Loss:
    """How a training run uses one loss: the module, what the network's outputs go
    through first, what they are compared with, and how the outputs read as class scores."""

    module: type[nn.Module]
    output_activation: str | None  # a name in ACTIVATIONS, after the last layer, or none
    one_hot: bool  # compared with one-hot rows (t_j = 1 for the true class j), else labels
    summed: bool  # summed over the batch (SqErr): reported divided by the examples
    scores: Callable[[Array], Array] | None  # outputs → per-class scores in [0, 1]
    sgd_lr: float  # a plain-SGD learning rate that works on the built-in data sets


# The one table of losses that training, the command line and its pictures read. The
# lecture's outputs are sigmoids compared with one-hot targets; the cross-entropies take
# raw scores (logits) and apply softmax or sigmoid inside the loss. Plain SGD needs a rate
# per loss: SqErr is summed over the batch, the others are averaged (MSE over every output
# too), so their gradients are 16 to 80 times smaller at the default batch size.
LOSSES: dict[str, Loss] = {
    "sqerr": Loss(nn.SqErr, "sigmoid", one_hot=True, summed=True, scores=None, sgd_lr=0.1),
    "mse": Loss(nn.MSELoss, "sigmoid", one_hot=True, summed=False, scores=None, sgd_lr=2.0),
    "cross_entropy": Loss(nn.CrossEntropyLoss, None, one_hot=False, summed=False,
                          scores=backend.numpy_namespace.softmax, sgd_lr=0.5),
    "bce": Loss(nn.BCEWithLogitsLoss, None, one_hot=True, summed=False,
                scores=backend.numpy_namespace.sigmoid, sgd_lr=1.0),
}

# The optimisers a run may use; those in WITH_MOMENTUM take ``momentum``.
OPTIMIZERS: dict[str, type[optim.Optimizer]] = {
    "sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSprop,
}
WITH_MOMENTUM = ("sgd", "rmsprop")
ADAPTIVE_LR = 1e-3  # the learning rate of adam, adamw and rmsprop unless --lr says

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
        return LOSSES[self.loss].sgd_lr if self.optimizer == "sgd" else ADAPTIVE_LR

    def resolved(self) -> TrainConfig:
        """A copy with ``lr`` set to the learning rate actually used."""
        return dataclasses.replace(self, lr=self.learning_rate)

    def validate(self) -> TrainConfig:
        """Raise InputError naming the first bad setting; return self when all are fine."""
        for n in self.hidden:
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise InputError(f"hidden layer sizes must be positive integers, got "
                                 f"{','.join(map(str, self.hidden))}")
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("loss", self.loss, LOSSES)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        if self.lr is not None and not self.lr > 0:
            raise InputError(f"lr must be a positive number, got {self.lr}")
        if not 0 <= self.momentum < 1:
            raise InputError(f"momentum must lie in [0, 1), got {self.momentum}")
        if self.momentum and self.optimizer not in WITH_MOMENTUM:
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


def _choice(what: str, value: str, choices: dict[str, Any]) -> None:
    if value not in choices:
        raise InputError(f"unknown {what} {value!r}; expected one of {', '.join(choices)}")
