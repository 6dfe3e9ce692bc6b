"""Hooks into the training loop, and the two progress displays built on them."""

from __future__ import annotations

import sys
from typing import Any, TextIO


class Callback:
    """Something the loop calls between steps; override the events you need.

    Every call happens at a step boundary, where the run's state is whole: raising
    KeyboardInterrupt from one stops training with a resumable checkpoint, exactly as
    Ctrl-C does. ``epoch`` counts from 0; ``batch`` is the number of batches done.
    """

    def on_epoch_begin(self, epoch: int, epochs: int, batches: int, start: int) -> None:
        """An epoch of ``batches`` batches begins (at batch ``start`` when resumed)."""

    def on_step_end(self, epoch: int, batch: int, loss: float) -> None:
        """One optimiser step is done; ``loss`` is that batch's loss."""

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        """An epoch is done; ``metrics`` is its row of the history (see HISTORY_COLUMNS)."""

    def on_train_end(self) -> None:
        """Training stopped: finished, interrupted or failed."""


def describe(metrics: dict[str, float]) -> str:
    return (
        f"loss {metrics['train_loss']:.4f}  acc {metrics['train_accuracy']:6.2%}  "
        f"test loss {metrics['test_loss']:.4f}  test acc {metrics['test_accuracy']:6.2%}"
    )


class LineProgress(Callback):
    """One plain line per epoch (for logs, pipes and files)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        stream = self.stream or sys.stdout
        epochs = f"{int(metrics['epoch'])}/{int(metrics['epochs'])}"
        print(
            f"epoch {epochs:>7}  {describe(metrics)}  ({metrics['seconds']:.2f} s)",
            file=stream,
            flush=True,
        )


class BarProgress(Callback):
    """A tqdm progress bar per epoch, with the running loss and the epoch's accuracy."""

    def __init__(self, tqdm: Any) -> None:
        self.tqdm = tqdm
        self.bar: Any = None
        self.loss_sum = 0.0
        self.steps = 0

    def on_epoch_begin(self, epoch: int, epochs: int, batches: int, start: int) -> None:
        self.bar = self.tqdm(
            total=batches,
            initial=start,
            desc=f"epoch {epoch + 1}/{epochs}",
            unit="batch",
            leave=True,
            dynamic_ncols=True,
        )
        self.loss_sum, self.steps = 0.0, 0

    def on_step_end(self, epoch: int, batch: int, loss: float) -> None:
        self.loss_sum += loss
        self.steps += 1
        self.bar.update(1)
        if self.steps % 10 == 0:
            self.bar.set_postfix_str(f"loss {self.loss_sum / self.steps:.4f}", refresh=False)

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(describe(metrics))
            self.bar.close()
            self.bar = None

    def on_train_end(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def make_progress(mode: str) -> Callback | None:
    """``"auto"``: a tqdm bar when tqdm is installed and stdout is a terminal, else lines;
    ``"bar"``, ``"lines"``, or ``"none"`` (nothing)."""
    if mode == "none":
        return None
    if mode in ("auto", "bar"):
        try:
            from tqdm import tqdm
        except ImportError:
            tqdm = None
        if tqdm is not None and (mode == "bar" or sys.stdout.isatty()):
            return BarProgress(tqdm)
        if mode == "bar":
            raise ValueError("progress='bar' needs tqdm: pip install tqdm")
        return LineProgress()
    if mode == "lines":
        return LineProgress()
    raise ValueError(f"progress must be 'auto', 'bar', 'lines' or 'none', got {mode!r}")
