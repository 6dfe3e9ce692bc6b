"""Using a trained model from its checkpoint: scoring it on data, predicting classes."""

from __future__ import annotations

import csv
import gzip
import os
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np

from ..data import Standardizer
from ..engine import no_grad
from ..nn.module import Module
from ..tensor import Tensor
from .checkpoint import read_checkpoint
from .config import InputError, TrainConfig
from .metrics import Evaluation, evaluate
from .setup import build_model, load_problem, read_data, scores


@dataclass
class Trained:
    """A model rebuilt from a training checkpoint, with what it needs to read new data."""

    config: TrainConfig
    model: Module
    features: int
    classes: int
    class_names: list[str] | None
    standardizer: Standardizer | None

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
    try:
        config = TrainConfig.from_dict(saved["config"])
        data = saved["data"]
        model = build_model(config, int(data["features"]), int(data["classes"]))
        model.load_state_dict(saved["model"])
        standardizer = None
        if data["standardizer"] is not None:
            standardizer = Standardizer()
            standardizer.load_state_dict(data["standardizer"])
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise InputError(f"{path}: damaged training checkpoint ({error})") from error
    return Trained(
        config,
        model,
        int(data["features"]),
        int(data["classes"]),
        data["class_names"],
        standardizer,
    )


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
        x, y, _ = read_data(data, target)
        x, what = trained.prepare(x, data), data
        if y.size and (y.min() < 0 or y.max() >= trained.classes):
            raise InputError(
                f"{data}: labels run from {y.min()} to {y.max()}, the model "
                f"knows classes 0 to {trained.classes - 1}"
            )
    return what, evaluate(trained.model, x, y, config.loss, trained.classes)


def read_features(
    data: str, target: str | None, features: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(x, labels or None)`` for prediction; a CSV file or an ``.npz`` archive may hold
    features only (a CSV with exactly ``features`` columns; an archive without ``y``)."""
    if data.endswith((".csv", ".csv.gz")) and target is None:
        header = _csv_header(data)
        if header is not None and len(header) == features:
            return _csv_features(data), None
    if data.endswith(".npz"):
        try:
            with np.load(data, allow_pickle=False) as archive:
                if "x" in archive.files and "y" not in archive.files:
                    return np.asarray(archive["x"], dtype=np.float32), None
        except (OSError, ValueError) as error:
            raise InputError(f"{data}: not a readable .npz archive ({error})") from error
    x, y, _ = read_data(data, target)
    return x, y


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
            known = int(labels[i])
            cells.append(names[known] if 0 <= known < len(names) else str(known))
        writer.writerow(cells + [f"{s:.6g}" for s in row])


def _open_text(path: str) -> Any:
    if path.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _csv_header(path: str) -> list[str] | None:
    try:
        with _open_text(path) as stream:
            for row in csv.reader(stream):
                if row and any(cell.strip() for cell in row):
                    return row
    except OSError:
        return None  # read_data reports the problem
    return None


def _csv_features(path: str) -> np.ndarray:
    """Every column of a headed CSV file as float32 features."""
    try:
        with _open_text(path) as stream:
            x = np.loadtxt(stream, delimiter=",", skiprows=1, ndmin=2, dtype=np.float64)
    except ValueError as error:
        raise InputError(f"{path}: {' '.join(str(error).split())}") from error
    return x.astype(np.float32)
