"""Using a trained model from its checkpoint: scoring it on data, predicting classes.

A file's labels are read as the model's classes, by the mapping the checkpoint carries
(class names, or class numbers 0 .. classes − 1); a label the model does not know is an
InputError naming it, the file and the line.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from dataclasses import dataclass
from typing import TextIO

import numpy as np

from ..data import CsvData, Standardizer, csv_columns
from ..data.files import Classes
from ..engine import no_grad
from ..nn.module import Module
from ..tensor import Tensor
from .checkpoint import check_network, read_checkpoint
from .config import InputError, TrainConfig
from .metrics import Evaluation, evaluate
from .setup import build_model, load_problem, one_line, read_table, scores


@dataclass
class Trained:
    """A model rebuilt from a training checkpoint, with what it needs to read new data."""

    config: TrainConfig
    model: Module
    features: int
    classes: int
    class_names: list[str] | None  # class k is class_names[k]; None: class k is label k
    target_name: str | None  # the label column of the training data, when it had one
    standardizer: Standardizer | None

    @property
    def known_classes(self) -> Classes:
        """The model's classes as the data readers take them: names, or how many."""
        return self.class_names if self.class_names else self.classes

    def prepare(self, x: np.ndarray, source: str) -> np.ndarray:
        """Features as the model saw them in training: checked, standardised, float32."""
        x = x.reshape(len(x), -1)
        if x.shape[1] != self.features:
            raise InputError(
                f"{source}: has {x.shape[1]} features per example, the model takes {self.features}"
            )
        if self.standardizer is not None:
            x = self.standardizer.transform(x)
        return np.ascontiguousarray(x, dtype=np.float32)

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(predicted class per example, per-class scores in [0, 1]) for prepared ``x``."""
        self.model.eval()
        with no_grad():
            output = self.model(Tensor(x)).numpy()  # (examples, classes)
        return output.argmax(axis=1), scores(self.config.loss, output)

    def label_name(self, label: int) -> str:
        return self.class_names[label] if self.class_names else str(label)


def load_trained(path: str | os.PathLike[str]) -> Trained:
    """The model of a training checkpoint (``gradgate train``'s, or :func:`fit`'s)."""
    saved = read_checkpoint(path)
    stored = TrainConfig.from_dict(saved["config"])
    config = dataclasses.replace(stored, device="cpu", out=None).resolved()  # it reads only
    check_network(saved, config)
    try:
        data = saved["data"]
        features, classes = int(data["features"]), int(data["classes"])
        model = build_model(config, features, classes)
        model.load_state_dict(saved["model"])
        standardizer = None
        if data["standardizer"] is not None:
            standardizer = Standardizer()
            standardizer.load_state_dict(data["standardizer"])
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise InputError(f"{path}: damaged training checkpoint ({error})") from error
    return Trained(config, model, features, classes, data["class_names"], data.get("target"),
                   standardizer)  # fmt: skip


def evaluate_trained(
    trained: Trained, data: str | None = None, target: str | None = None
) -> tuple[str, Evaluation]:
    """Score the model on all of ``data``, or (None) on its own run's test split.

    Returns a description of what was scored, and the scores.
    """
    config = trained.config
    if data is None:
        problem = load_problem(config)
        x, y, what = problem.x_test, problem.y_test, f"{config.data} (the run's test split)"
    else:
        table = _read_for(trained, data, _label_column(trained, data, target))
        assert table.y is not None
        x, y, what = trained.prepare(table.x, data), table.y, data
    return what, evaluate(trained.model, x, y, config.loss, trained.classes,
                          config.label_smoothing)  # fmt: skip


def read_features(
    trained: Trained, data: str, target: str | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(x, labels or None)`` for prediction. A file may hold features only: a CSV file
    has labels when ``target`` names its label column, or when its header has the column
    the model was trained to predict; an ``.npz`` archive has them when it holds ``y``."""
    labels: bool | None = None  # an .npz archive's y when there is one
    if data.endswith((".csv", ".csv.gz")):
        target = _label_column(trained, data, target)
        labels = target is not None
    elif not data.endswith(".npz"):
        labels = True  # a built-in data set
    table = _read_for(trained, data, target, labels)
    return table.x, table.y


def _read_for(
    trained: Trained, data: str, target: str | None, labels: bool | None = True
) -> CsvData:
    """``data`` with its labels read as the model's classes. A file shaped for another
    model says so before its labels do."""
    try:
        return read_table(data, target, classes=trained.known_classes, labels=labels)
    except InputError:
        try:
            unmapped = read_table(data, target, labels=labels)
        except InputError:
            unmapped = None
        if unmapped is not None:
            trained.prepare(unmapped.x, data)  # raises for a different number of features
        raise


def _label_column(trained: Trained, data: str, target: str | None) -> str | None:
    """The label column of a CSV file: ``target``, else the one the model was trained to
    predict when the file's header has it, else None (the file's default)."""
    if target is not None or not data.endswith((".csv", ".csv.gz")) or not trained.target_name:
        return target
    try:
        columns = csv_columns(data)
    except (OSError, ValueError) as error:
        raise InputError(one_line(error)) from error
    return trained.target_name if trained.target_name in columns else None


def write_predictions(
    trained: Trained, x: np.ndarray, labels: np.ndarray | None, stream: TextIO
) -> None:
    """CSV: ``index, prediction[, label], score_<class>...`` with one row per example."""
    predicted, class_scores = trained.predict(x)
    names = [trained.label_name(c) for c in range(trained.classes)]
    writer = csv.writer(stream, lineterminator="\n")
    header = ["index", "prediction"] + (["label"] if labels is not None else [])
    writer.writerow(header + [f"score_{name}" for name in names])
    for i, (label, row) in enumerate(zip(predicted, class_scores, strict=True)):
        cells = [str(i), names[label]]
        if labels is not None:
            cells.append(names[int(labels[i])])
        writer.writerow(cells + [f"{s:.6g}" for s in row])
