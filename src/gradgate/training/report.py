"""What a run leaves behind: metrics.csv, metrics.svg (the curves), and a text summary."""

from __future__ import annotations

import csv
import math
import os
from typing import TYPE_CHECKING

from ..viz.chart import Panel, line_charts
from .config import MODELS
from .metrics import Evaluation, format_confusion

if TYPE_CHECKING:
    from .config import TrainConfig
    from .loop import FitResult
    from .setup import Problem


def write_metrics_csv(history: dict[str, list[float]], path: str) -> None:
    """One row per epoch, one column per history entry; written beside, then renamed."""
    columns = list(history)
    rows = zip(*(history[c] for c in columns), strict=True)
    temporary = f"{path}.tmp"
    with open(temporary, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(value) for value in row])
    os.replace(temporary, path)


def _cell(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.6g}"


def write_plot(history: dict[str, list[float]], path: str, title: str = "") -> None:
    """Loss and accuracy per epoch, train and test, as an SVG picture at ``path``; drawn
    by gradgate itself, so it needs no plotting library."""
    epochs = history["epoch"]
    loss = Panel("loss", "epoch", "loss per example")
    accuracy = Panel("accuracy", "epoch", "accuracy (%)")
    for part in ("train", "test"):
        loss.series[part] = (epochs, history[f"{part}_loss"])
        accuracy.series[part] = (epochs, [100 * a for a in history[f"{part}_accuracy"]])
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as stream:
        stream.write(line_charts([loss, accuracy], title=title))
    os.replace(temporary, path)


def describe_run(config: TrainConfig, problem: Problem) -> str:
    """Two lines: the data, then the network and how it is trained."""
    schedule = "" if config.schedule == "constant" else f" ({config.schedule})"
    if config.label_smoothing:
        schedule += f", label smoothing {config.label_smoothing:g}"
    sizes = MODELS[config.model].describe(config, problem.features, problem.classes)
    return (
        f"{config.data}: {len(problem.y_train)} training and {len(problem.y_test)} test "
        f"examples, {problem.features} features, {problem.classes} classes\n"
        f"network {sizes} ({config.activation}), loss {config.loss}, {config.optimizer} "
        f"lr {config.lr:g}{schedule}, batch {config.batch_size}, {config.epochs} epochs, "
        f"seed {config.seed}"
    )


def format_evaluation(name: str, evaluation: Evaluation) -> str:
    return (
        f"{name:<6} loss {evaluation.loss:.4f}   accuracy {evaluation.accuracy:7.2%}   "
        f"({evaluation.examples} examples)"
    )


def format_summary(result: FitResult) -> str:
    """Final losses and accuracies, the test confusion matrix, time and speed, files."""
    lines = [
        format_evaluation("train", result.train),
        format_evaluation("test", result.test),
        "",
        "confusion matrix (test; rows: true class, columns: predicted):",
        format_confusion(result.test.confusion, result.class_names),
        "",
        f"wall time {result.seconds:.2f} s"
        + (
            f", {result.examples_per_second:,.0f} examples/s"
            if math.isfinite(result.examples_per_second)
            else ""
        ),  # fmt: skip
    ]
    lines += [f"wrote {path}" for path in result.files]
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)
