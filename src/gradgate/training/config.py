"""The settings of one training run, as a dataclass the CLI fills from its options."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import backend, nn, optim
from ..arguments import count, is_count
from ..nn import ACTIVATIONS
from ..nn.mlp import make_activation

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
softmax, sigmoid = backend.numpy_namespace.softmax, backend.numpy_namespace.sigmoid
# fmt: off
LOSSES: dict[str, Loss] = {
    "sqerr": Loss(nn.SqErr, "sigmoid", one_hot=True, summed=True, scores=None, sgd_lr=0.1),
    "mse": Loss(nn.MSELoss, "sigmoid", one_hot=True, summed=False, scores=None, sgd_lr=2.0),
    "cross_entropy": Loss(nn.CrossEntropyLoss, None, one_hot=False, summed=False,
                          scores=softmax, sgd_lr=0.5),
    "bce": Loss(nn.BCEWithLogitsLoss, None, one_hot=True, summed=False, scores=sigmoid,
                sgd_lr=1.0),
}
# fmt: on

# The optimisers a run may use; those in WITH_MOMENTUM take ``momentum``.
OPTIMIZERS: dict[str, type[optim.Optimizer]] = {
    "sgd": optim.SGD,
    "adam": optim.Adam,
    "adamw": optim.AdamW,
    "rmsprop": optim.RMSprop,
}
WITH_MOMENTUM = ("sgd", "rmsprop")
ADAPTIVE_LR = 1e-3  # the learning rate of adam, adamw and rmsprop unless --lr says


def _cosine(optimizer: optim.Optimizer, epochs: int) -> optim.LRScheduler:
    return optim.CosineAnnealingLR(optimizer, epochs)


# How the learning rate moves over a run's epochs: set from a closed formula of the epoch
# at the start of each one (so a resumed run continues on the same curve). None: it stays.
SCHEDULES: dict[str, Callable[[optim.Optimizer, int], optim.LRScheduler] | None] = {
    "constant": None,
    "cosine": _cosine,  # η0 (1 + cos(π t / epochs)) / 2 in epoch t
}


@dataclass(frozen=True)
class Model:
    """A network a training run can build (``--model``): how it is built, the shapes of its
    weight arrays (worked out without building it, to check a checkpoint against its config
    first), a one-line description, and the settings it is trained with by default."""

    build: Callable[[TrainConfig, int, int, np.random.Generator], nn.Module]
    weight_shapes: Callable[[TrainConfig, int, int], list[tuple[int, ...]]]  # .weight arrays
    describe: Callable[[TrainConfig, int, int], str]  # its layers: "64 → 64 → 10"
    recipe: dict[str, Any] | None  # its default settings; None: the data set's recipe
    hidden_layers: int | None  # how many sizes ``hidden`` must give; None: any number
    help: str


def _output_activation(config: TrainConfig) -> str | None:
    return LOSSES[config.loss].output_activation


def _mlp(config: TrainConfig, features: int, classes: int, rng: np.random.Generator) -> nn.Module:
    return nn.MLP([features, *config.hidden, classes], activation=config.activation,
                  output_activation=_output_activation(config), generator=rng)  # fmt: skip


def _mlp_shapes(config: TrainConfig, features: int, classes: int) -> list[tuple[int, ...]]:
    sizes = [features, *config.hidden, classes]
    return [(n_out, n_in) for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)]


def _mlp_describe(config: TrainConfig, features: int, classes: int) -> str:
    return " → ".join(map(str, [features, *config.hidden, classes]))


def image_side(features: int, data: str) -> int:
    """The side of the square one-channel images that ``features`` pixels make, at least 2
    (8 for the digits); InputError otherwise."""
    side = math.isqrt(features) if features >= 0 else 0
    if side < 2 or side * side != features:
        raise InputError(
            f"the cnn model reads square images of at least 2×2 pixels (64 features for "
            f"8×8), but {data} has {features} features"
        )
    return side


CNN_CHANNELS = (32, 64)  # of nn.digits_cnn's two convolutions


def _cnn(config: TrainConfig, features: int, classes: int, rng: np.random.Generator) -> nn.Module:
    net = nn.digits_cnn(classes, CNN_CHANNELS, config.hidden[0], activation=config.activation,
                        image_size=image_side(features, config.data), generator=rng)  # fmt: skip
    output = _output_activation(config)
    return net if output is None else net.append(make_activation(output))


def _cnn_shapes(config: TrainConfig, features: int, classes: int) -> list[tuple[int, ...]]:
    (c1, c2), half = CNN_CHANNELS, image_side(features, config.data) // 2
    hidden = config.hidden[0]
    return [(c1, 1, 3, 3), (c2, c1, 3, 3), (hidden, c2 * half * half), (classes, hidden)]


def _cnn_describe(config: TrainConfig, features: int, classes: int) -> str:
    side, (c1, c2) = image_side(features, config.data), CNN_CHANNELS
    return (f"cnn {side}×{side} → conv 3×3 {c1} → conv 3×3 {c2} → max-pool 2×2 → "
            f"{config.hidden[0]} → {classes}")  # fmt: skip


# What a run uses for the settings it leaves None. The lecture's network (20.4) learns the
# digits, iris and most files; the generated sets get recipes of their own, which reach
# 100% (XOR), 95% (moons) and 90% (spirals) on the test examples with every seed tried
# (tests/test_train.py checks seeds 0-2). A recipe's lr goes with its optimiser and loss:
# with either changed, lr falls back to the default for the pair.
LECTURE_RECIPE: dict[str, Any] = {
    "hidden": (64,), "activation": "sigmoid", "loss": "sqerr", "optimizer": "sgd",
    "schedule": "constant", "label_smoothing": 0.0, "epochs": 60, "batch_size": 16,
}  # fmt: skip
RECIPES: dict[str, dict[str, Any]] = {
    "xor": {"hidden": (8,), "activation": "tanh", "loss": "cross_entropy",
            "optimizer": "adam", "lr": 0.05, "epochs": 50, "batch_size": 4},
    "moons": {"hidden": (16,), "activation": "tanh", "loss": "cross_entropy",
              "optimizer": "adam", "lr": 0.02, "epochs": 50},
    "spirals": {"hidden": (64,), "activation": "relu", "loss": "cross_entropy",
                "optimizer": "adam", "lr": 0.02, "epochs": 80, "batch_size": 32},
}  # fmt: skip


# The networks a run can build, the lecture's MLP first (the default). The CNN's recipe
# reaches at least 98.5% test accuracy on the digits with each of seeds 0-4 (its settings,
# and the numbers, in docs/training.md).
MODELS: dict[str, Model] = {
    "mlp": Model(_mlp, _mlp_shapes, _mlp_describe, recipe=None, hidden_layers=None,
                 help="the lecture's multi-layer perceptron: --hidden sizes, --activation"),
    "cnn": Model(_cnn, _cnn_shapes, _cnn_describe, hidden_layers=1, recipe={
        "hidden": (128,), "activation": "relu", "loss": "cross_entropy", "optimizer": "adam",
        "lr": 1e-3, "schedule": "cosine", "label_smoothing": 0.1, "epochs": 30,
        "batch_size": 32,
    }, help="nn.digits_cnn for square one-channel images: two 3×3 convolutions, max-pool, "
            "one dense layer of --hidden"),
}  # fmt: skip


def recipe(data: str, model: str = "mlp") -> dict[str, Any]:
    """The settings ``data`` is trained with where a config leaves them None: the data
    set's recipe for the MLP, the model's own for a model that has one."""
    own = MODELS[model].recipe
    return {**LECTURE_RECIPE, **(RECIPES.get(data, {}) if own is None else own)}


# A setting left to the data set's recipe: None until TrainConfig.resolved() decides it.
FROM_RECIPE: Any = None

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
    batch), 60 epochs, a stratified 70/30 train/test split. Settings left None
    (``FROM_RECIPE``) come from the data set's recipe (:func:`recipe`). :meth:`resolved`
    fills them in and checks every setting; a run only ever sees a resolved config.
    """

    data: str = "digits"
    target: str | None = None  # the label column of a CSV file (default: its last column)
    model: str = "mlp"  # a name in MODELS; it decides the recipe with ``data``
    hidden: tuple[int, ...] = FROM_RECIPE  # (64,) for the digits
    activation: str = FROM_RECIPE
    loss: str = FROM_RECIPE
    optimizer: str = FROM_RECIPE
    lr: float = FROM_RECIPE  # the recipe's, or LOSSES[loss].sgd_lr for sgd, else ADAPTIVE_LR
    schedule: str = FROM_RECIPE  # a name in SCHEDULES
    label_smoothing: float = FROM_RECIPE  # cross_entropy only; the recipe's goes with its loss
    momentum: float = 0.0
    weight_decay: float = 0.0
    epochs: int = FROM_RECIPE
    batch_size: int = FROM_RECIPE
    seed: int = 0
    test_size: float = 0.3
    standardize: bool = True
    out: str | None = "gradgate-run"  # None: write no files
    device: str = "cpu"

    def __post_init__(self) -> None:
        if isinstance(self.hidden, (list, tuple)):
            self.hidden = tuple(self.hidden)

    def resolved(self) -> TrainConfig:
        """A copy with every setting decided (from the recipe where None, ``device`` as
        "cpu" or "cuda:N"), checked: InputError names the first bad setting."""
        _choice("model", self.model, MODELS)
        data = self.data if isinstance(self.data, str) else ""  # _check refuses the others
        defaults = recipe(data, self.model)
        given = {name: value for name, value in dataclasses.asdict(self).items()
                 if name in defaults and value is not None}  # fmt: skip
        config = dataclasses.replace(self, **{**defaults, **given}, device=_device(self.device))
        _choice("activation", config.activation, ACTIVATIONS)
        _choice("loss", config.loss, LOSSES)
        _choice("optimizer", config.optimizer, OPTIMIZERS)
        _choice("schedule", config.schedule, SCHEDULES)
        if self.lr is None:  # the recipe's, if it is for this optimiser and loss
            pair = (config.optimizer, config.loss)
            if "lr" not in defaults or pair != (defaults["optimizer"], defaults["loss"]):
                config.lr = LOSSES[config.loss].sgd_lr if pair[0] == "sgd" else ADAPTIVE_LR
        if self.label_smoothing is None and config.loss != defaults["loss"]:
            config.label_smoothing = 0.0  # the recipe's smoothing is for the recipe's loss
        config._check()
        return config

    def _check(self) -> None:
        if not isinstance(self.data, str):
            raise InputError(f"data must be a data set's name or a file's path, got {self.data!r}")
        if not isinstance(self.hidden, tuple) or not all(is_count(n) for n in self.hidden):
            shown = (
                ",".join(map(str, self.hidden))
                if isinstance(self.hidden, tuple)
                else repr(self.hidden)
            )
            raise InputError(f"hidden layer sizes must be positive integers, got {shown}")
        if not _number(self.lr) or not self.lr > 0:
            raise InputError(f"lr must be a positive number, got {self.lr}")
        if not _number(self.momentum) or not 0 <= self.momentum < 1:
            raise InputError(f"momentum must lie in [0, 1), got {self.momentum}")
        if self.momentum and self.optimizer not in WITH_MOMENTUM:
            raise InputError(f"momentum applies to sgd and rmsprop, not {self.optimizer}")
        layers = MODELS[self.model].hidden_layers
        if layers is not None and len(self.hidden) != layers:
            raise InputError(
                f"the {self.model} model takes {layers} hidden size (its dense layer), got "
                f"{','.join(map(str, self.hidden)) or 'none'}"
            )
        if not _number(self.label_smoothing) or not 0 <= self.label_smoothing <= 1:
            raise InputError(f"label smoothing must lie in [0, 1], got {self.label_smoothing}")
        if self.label_smoothing and self.loss != "cross_entropy":
            raise InputError(f"label smoothing applies to cross_entropy, not {self.loss}")
        if not _number(self.weight_decay) or not self.weight_decay >= 0:
            raise InputError(f"weight decay must be non-negative, got {self.weight_decay}")
        count(self.epochs, "epochs", InputError)
        count(self.batch_size, "batch size", InputError)
        if not (_number(self.seed) and isinstance(self.seed, int) and self.seed >= 0):
            raise InputError(f"seed must be a non-negative integer, got {self.seed}")
        if not _number(self.test_size) or not 0 < self.test_size < 1:
            raise InputError(f"test size must be a fraction in (0, 1), got {self.test_size}")
        for name in ("target", "out"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise InputError(f"{name} must be a string, got {getattr(self, name)!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a checkpoint (``hidden`` as a list)."""
        values = dataclasses.asdict(self)
        if self.hidden is not None:
            values["hidden"] = list(self.hidden)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """The config :meth:`to_dict` described; unknown keys are an InputError. A setting
        that a checkpoint written before it existed lacks is what such a run did."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise InputError(f"unknown settings in the checkpoint's config: {unknown}")
        return cls(**{**SETTINGS_BEFORE_THEY_EXISTED, **values})


# What runs did before these settings came: a checkpoint without them is the lecture's MLP
# at a constant learning rate, its labels unsmoothed.
SETTINGS_BEFORE_THEY_EXISTED: dict[str, Any] = {
    "model": "mlp", "schedule": "constant", "label_smoothing": 0.0,
}  # fmt: skip


def _device(device: Any) -> str:
    """ "cpu", or a GPU that is really there; otherwise an InputError that says why."""
    try:
        return backend.parse_device(device)
    except (ValueError, RuntimeError) as error:
        raise InputError(str(error)) from None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _choice(what: str, value: Any, choices: dict[str, Any]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise InputError(f"unknown {what} {value!r}; expected one of {', '.join(choices)}")
