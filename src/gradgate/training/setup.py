"""Turning a TrainConfig into the pieces of a run: data, model, loss and optimiser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import nn, optim
from ..data import CsvData, Standardizer, load_table, train_test_split
from ..data.files import Classes
from .config import LOSSES, MODELS, OPTIMIZERS, SCHEDULES, WITH_MOMENTUM, InputError, TrainConfig

# Below this many examples a split would leave too little to learn from (XOR has 4): the
# model is then trained and tested on all of them.
SMALLEST_SPLIT = 20


@dataclass
class Problem:
    """The examples of a run, split, standardised (statistics of the training part only)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    features: int
    classes: int
    class_names: list[str] | None  # class k is class_names[k]; None: class k is label k
    target_name: str | None  # the label column of the file the examples came from
    standardizer: Standardizer | None
    note: str | None = None  # something the user should be told (no split was made)


def read_table(
    data: str, target: str | None, classes: Classes = None, labels: bool | None = True
) -> CsvData:
    """A built-in data set or a file, its labels read as ``classes`` (a model's) when
    given; InputError on any problem."""
    try:
        return load_table(data, target, classes=classes, labels=labels)
    except (OSError, ValueError) as error:
        raise InputError(one_line(error)) from error


def load_problem(config: TrainConfig) -> Problem:
    """Read ``config.data`` and split it (stratified, seeded by ``config.seed``)."""
    table = read_table(config.data, config.target)
    x, y = table.x.reshape(len(table.x), -1), table.y
    assert y is not None  # read with labels
    if len(y) == 0:
        raise InputError(f"{config.data}: holds no examples")
    classes = len(table.class_names) if table.class_names else int(y.max()) + 1
    if len(np.unique(y)) < 2:
        raise InputError(f"{config.data}: every example has the same label, nothing to learn")
    note = None
    if len(y) < SMALLEST_SPLIT:
        x_train, x_test, y_train, y_test = x, x, y, y
        note = f"only {len(y)} examples: training and testing on all of them (no train/test split)"
    else:
        x_train, x_test, y_train, y_test = train_test_split(
            x, y, test_size=config.test_size, seed=config.seed, stratify=True
        )
    standardizer = None
    if config.standardize:
        standardizer = Standardizer().fit(x_train)
        x_train, x_test = standardizer.transform(x_train), standardizer.transform(x_test)
    return Problem(
        x_train=np.ascontiguousarray(x_train, dtype=np.float32),
        y_train=y_train,
        x_test=np.ascontiguousarray(x_test, dtype=np.float32),
        y_test=y_test,
        features=x.shape[1],
        classes=classes,
        class_names=table.class_names,
        target_name=table.target_name,
        standardizer=standardizer,
        note=note,
    )


def build_model(
    config: TrainConfig, features: int, classes: int, generator: np.random.Generator | None = None
) -> nn.Module:
    """The network ``config.model`` names (see MODELS), ``features`` in and one output per
    class out, initialised from ``generator`` (default: a new one seeded by ``config.seed``),
    which its dropout layers go on drawing from."""
    rng = np.random.default_rng(config.seed) if generator is None else generator
    return MODELS[config.model].build(config, features, classes, rng)


def loss_module(loss: str, label_smoothing: float = 0.0) -> nn.Module:
    """The loss module named ``loss`` (a key of LOSSES); a cross-entropy may smooth its
    labels (TrainConfig checks that only a cross-entropy is given ``label_smoothing``)."""
    if label_smoothing:
        return nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    return LOSSES[loss].module()


def build_schedule(config: TrainConfig, optimizer: optim.Optimizer) -> optim.LRScheduler | None:
    """The learning-rate schedule ``config.schedule`` names, over ``config.epochs``."""
    make = SCHEDULES[config.schedule]
    return None if make is None else make(optimizer, config.epochs)


def loss_targets(loss: str, y: np.ndarray, classes: int) -> np.ndarray:
    """What the loss compares the output with: one-hot float32 rows (t_j = 1 for the true
    class j, else 0), or the labels themselves (cross-entropy)."""
    if LOSSES[loss].one_hot:
        return np.eye(classes, dtype=np.float32)[y]
    return y


def scores(loss: str, output: np.ndarray) -> np.ndarray:
    """The model's output read as per-class scores in [0, 1]."""
    as_scores = LOSSES[loss].scores
    return output if as_scores is None else as_scores(output)


def build_optimizer(config: TrainConfig, model: nn.Module) -> optim.Optimizer:
    options: dict[str, Any] = {"lr": config.lr, "weight_decay": config.weight_decay}
    if config.optimizer in WITH_MOMENTUM:
        options["momentum"] = config.momentum
    return OPTIMIZERS[config.optimizer](model.parameters(), **options)


def one_line(error: BaseException) -> str:
    """An exception's message on one line (FileNotFoundError's strerror and filename)."""
    if isinstance(error, FileNotFoundError) and error.filename:
        return f"file not found: {error.filename}"
    text = str(error) or type(error).__name__
    return " ".join(text.split())
