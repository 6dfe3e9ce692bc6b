"""What a run leaves behind: metrics.csv, a plot of the curves, and a text summary."""

from __future__ import annotations

import csv
import math
import os
from typing import TYPE_CHECKING

from .metrics import Evaluation, format_confusion

if TYPE_CHECKING:
    from .config import TrainConfig
    from .loop import FitResult
    from .setup import Problem

PLOT_MISSING = (
    "plot skipped: matplotlib is not installed (pip install matplotlib, or the [plot] extra)"
)


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


def write_plot(history: dict[str, list[float]], path: str, title: str = "") -> str | None:
    """Loss and accuracy per epoch, train and test, as a PNG at ``path``.

    Returns None when written, or a one-line message when matplotlib is not installed.
    Uses matplotlib's Agg canvas directly, so no global backend is changed.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return PLOT_MISSING
    figure = Figure(figsize=(10, 4), layout="constrained")
    FigureCanvasAgg(figure)
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    epochs = history["epoch"]
    for part in ("train", "test"):
        loss_axes.plot(epochs, history[f"{part}_loss"], label=part)
        accuracy_axes.plot(epochs, [100 * a for a in history[f"{part}_accuracy"]], label=part)
    loss_axes.set(xlabel="epoch", ylabel="loss per example", title="loss")
    accuracy_axes.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for axes in (loss_axes, accuracy_axes):
        axes.grid(alpha=0.3)
        axes.legend()
    if title:
        figure.suptitle(title)
    figure.savefig(path, dpi=100)
    return None


def describe_run(config: TrainConfig, problem: Problem) -> str:
    """Two lines: the data, then the network and how it is trained."""
    sizes = " → ".join(map(str, [problem.features, *config.hidden, problem.classes]))
    return (
        f"{config.data}: {len(problem.y_train)} training and {len(problem.y_test)} test "
        f"examples, {problem.features} features, {problem.classes} classes\n"
        f"network {sizes} ({config.activation}), loss {config.loss}, {config.optimizer} "
        f"lr {config.lr:g}, batch {config.batch_size}, {config.epochs} epochs, "
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
