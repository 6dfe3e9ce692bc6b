"""Scoring a classifier: accuracy, the confusion matrix, and one evaluation pass."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..backend import to_device
from ..engine import no_grad
from ..nn.module import Module
from ..tensor import Tensor
from .config import LOSSES
from .setup import loss_module, loss_targets


@dataclass
class Evaluation:
    """A model's loss (per example, in the loss's own units), accuracy and confusion matrix
    on one set of examples."""

    loss: float
    accuracy: float
    confusion: np.ndarray  # (classes, classes): row = true class, column = predicted
    examples: int


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """C[i, j] = how many examples of true class i were predicted as class j."""
    flat = np.asarray(labels, dtype=np.int64) * classes + np.asarray(predicted, dtype=np.int64)
    return np.bincount(flat, minlength=classes * classes).reshape(classes, classes)


def evaluate(
    model: Module,
    x: np.ndarray,
    y: np.ndarray,
    loss: str,
    classes: int,
    label_smoothing: float = 0.0,
) -> Evaluation:
    """Run ``model`` on all of ``x`` at once in evaluation mode, without a graph, and score
    it against the labels ``y`` with the loss named ``loss`` (see TrainConfig.loss), as the
    run trained with it (``label_smoothing``)."""
    was_training = model.training
    device = next(model.parameters()).device  # the examples go where the model is
    model.eval()
    try:
        with no_grad():
            output = model(Tensor(to_device(x, device)))
            targets = to_device(loss_targets(loss, y, classes), device)
            value = loss_module(loss, label_smoothing)(output, Tensor(targets)).item()
    finally:
        model.train(was_training)
    n = len(y)
    predicted = output.numpy().argmax(axis=1)
    return Evaluation(
        loss=value / n if LOSSES[loss].summed else value,
        accuracy=float(np.mean(predicted == y)) if n else 0.0,
        confusion=confusion_matrix(y, predicted, classes),
        examples=n,
    )


def format_confusion(confusion: np.ndarray, class_names: list[str] | None = None) -> str:
    """The matrix as aligned text: a header of class names, then one row per true class."""
    names = class_names if class_names is not None else [str(c) for c in range(len(confusion))]
    width = max(max(len(n) for n in names), len(str(int(confusion.max(initial=0)))))
    label = max(len(n) for n in names)
    lines = [" " * (label + 3) + " ".join(f"{n:>{width}}" for n in names)]
    for name, row in zip(names, confusion, strict=True):
        lines.append(f"{name:>{label}} | " + " ".join(f"{int(v):>{width}}" for v in row))
    return "\n".join(lines)
