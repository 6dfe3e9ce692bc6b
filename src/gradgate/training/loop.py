"""The training loop: fit a TrainConfig, checkpoint every epoch, stop cleanly on Ctrl-C,
and resume to exactly the weights an uninterrupted run would reach.

Ctrl-C is deferred to the end of the current step (a second Ctrl-C stops at once): the
run's state is then whole, and the checkpoint written holds the model, the optimiser's
state, the position within the epoch, the data loader's random state at the start of the
epoch and the epoch's running sums. Resuming replays the same shuffled order, skips the
batches already done, and goes on.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import distributed, nn, optim
from ..backend import to_device
from ..data import DataLoader, TensorDataset
from ..replay.api import capture as gradgate_capture
from ..replay.state import CaptureError
from ..tensor import Tensor
from .checkpoint import (
    CHECKPOINT_FILE,
    HISTORY_COLUMNS,
    Position,
    check_network,
    read_checkpoint,
    restore,
    resume_config,
    write_checkpoint,
)
from .config import LOSSES, InputError, TrainConfig
from .interrupt import deferred_interrupt
from .metrics import Evaluation, evaluate
from .progress import Callback, make_progress
from .report import describe_run, write_metrics_csv, write_plot
from .setup import (
    Problem,
    build_model,
    build_optimizer,
    build_schedule,
    load_problem,
    loss_module,
    loss_targets,
)

METRICS_FILE = "metrics.csv"
PLOT_FILE = "metrics.svg"


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped by Ctrl-C, or by a callback raising KeyboardInterrupt.

    ``checkpoint`` is the resumable checkpoint written at the interrupt; it is None when
    the run writes no files, or when the interrupt came in the middle of a step (a second
    Ctrl-C), in which case the checkpoint of the last finished epoch stands.
    """

    def __init__(self, checkpoint: str | None, epoch: int, batch: int) -> None:
        self.checkpoint = checkpoint
        self.epoch = epoch
        self.batch = batch
        where = f"epoch {epoch + 1}, after batch {batch}"
        saved = f"checkpoint saved to {checkpoint}" if checkpoint else "no checkpoint written"
        super().__init__(f"training interrupted at {where}; {saved}")


class TrainingDiverged(ArithmeticError):
    """The loss became infinite or NaN: the learning rate is usually too large."""

    def __init__(self, epoch: int, batch: int, loss: float, lr: float) -> None:
        self.epoch, self.batch, self.loss = epoch, batch, loss
        super().__init__(
            f"training diverged at epoch {epoch + 1}, batch {batch}: the loss is "
            f"{loss}; try a smaller learning rate than {lr:g}"
        )


@dataclass
class FitResult:
    """What :func:`fit` returns: the trained model and how it scores."""

    config: TrainConfig
    model: nn.Module
    optimizer: optim.Optimizer
    history: dict[str, list[float]]  # one list per HISTORY_COLUMNS entry, one item per epoch
    train: Evaluation  # the final weights on the training examples
    test: Evaluation  # and on the test examples
    seconds: float  # spent in the training loop by this call (not a resumed run's earlier)
    examples_per_second: float  # trained on by this call, per second
    class_names: list[str] | None
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def fit(
    config: TrainConfig | None = None,
    *,
    resume: str | os.PathLike[str] | None = None,
    callbacks: Sequence[Callback] = (),
    progress: str = "auto",
    capture: bool = False,
) -> FitResult:
    """Train the network ``config`` describes and return it with its scores.

    With ``resume`` (a checkpoint, or the directory holding one) the run continues from
    where that checkpoint stopped; ``config`` may then be None (the checkpoint's is used)
    or differ from the checkpoint's only in ``epochs``, ``out`` and ``device``.
    ``progress`` is ``"auto"``, ``"bar"``, ``"lines"`` or ``"none"``. With ``capture`` each
    step's forward and backward pass is captured once and replayed (``gradgate.capture``:
    the same numbers, bit for bit, with less Python per step); a model whose step cannot
    be captured trains eagerly, with a note saying why. Under ``mpiexec`` every
    rank calls fit alike and trains on its share of each batch; rank 0 alone shows progress
    and writes files (see gradgate.distributed.loop).

    Raises InputError for bad settings, data or checkpoints (before training starts),
    TrainingDiverged when the loss becomes infinite or NaN, and TrainingInterrupted (a
    KeyboardInterrupt) after saving a checkpoint on Ctrl-C.
    """
    saved = None
    if resume is not None:
        saved = read_checkpoint(resume)
        config = resume_config(config, saved, resume)
        check_network(saved, config)
    else:
        config = (config if config is not None else TrainConfig()).resolved()
    world = distributed.current()  # under mpiexec: this rank's share of every batch
    config = distributed.for_this_rank(config, world)
    display = make_progress(progress) if world.is_root else None
    run = _Run(config, load_problem(config), [display] if display else [], list(callbacks), world)
    if capture:
        run.captured = gradgate_capture(run.passes)
        run.speaks = display is not None
    if saved is not None:
        run.position, run.history = restore(
            saved, config, run.problem, run.model, run.optimizer, run.random
        )
    if config.out is not None:
        try:
            os.makedirs(config.out, exist_ok=True)
        except OSError as error:
            raise InputError(
                f"cannot create the output directory {config.out!r}: {error.strerror}"
            ) from error
    if display is not None:
        print(describe_run(config, run.problem), flush=True)
        if run.problem.note:
            print(f"note: {run.problem.note}", flush=True)
        if saved is not None:
            print(resuming(run.position, config.epochs), flush=True)
    run.train()
    return run.result()


def resuming(position: Position, epochs: int) -> str:
    """What a resumed run says it does: go on, or nothing (all its epochs are done)."""
    if position.epoch >= epochs:
        return (f"the checkpoint's run has finished all {epochs} epochs: nothing to train "
                "(give --epochs a larger number to train on)")  # fmt: skip
    return f"resuming at epoch {position.epoch + 1} of {epochs}, after batch {position.batch}"


class _Run:
    """One training run's moving parts, and the loop over them."""

    def __init__(
        self,
        config: TrainConfig,
        problem: Problem,
        displays: list[Callback],
        callbacks: list[Callback],
        world: distributed.World,
    ) -> None:
        self.config = config
        self.problem = problem
        # the model's weights start from it, and its dropout layers go on drawing from it
        self.random = np.random.default_rng(config.seed)
        model = build_model(config, problem.features, problem.classes, self.random)
        self.model = model.to(config.device)
        self.optimizer = build_optimizer(config, self.model)
        self.schedule = build_schedule(config, self.optimizer)
        self.loss = loss_module(config.loss, config.label_smoothing)
        targets = loss_targets(config.loss, problem.y_train, problem.classes)
        dataset = TensorDataset(problem.x_train, targets, problem.y_train)
        self.loader = DataLoader(
            dataset, batch_size=config.batch_size, shuffle=True, seed=config.seed
        )
        self.callbacks = displays + callbacks
        self.parallel = distributed.DataParallelLoop(self.model, world, LOSSES[config.loss].summed)
        self.position = Position(loader=self.loader.state_dict())
        self.history: dict[str, list[float]] = {column: [] for column in HISTORY_COLUMNS}
        self._clock = time.perf_counter()
        self._session = (0.0, 0)  # this call's training: seconds and examples
        self.captured: Any = None  # fit(capture=True): the captured passes
        self.speaks = False
        self.notes: list[str] = []

    # --- the loop -------------------------------------------------------------------------

    def train(self) -> None:
        """Run the remaining epochs; on an interrupt, save and raise TrainingInterrupted."""
        at_boundary = True  # False only while a step or an epoch's bookkeeping is under way
        self._clock = time.perf_counter()
        before = self.position.seconds, self.position.examples
        try:
            # Overflow on the way to a diverging loss is reported as TrainingDiverged instead.
            with deferred_interrupt() as stop, np.errstate(over="ignore", invalid="ignore"):
                while self.position.epoch < self.config.epochs:
                    if self.schedule is not None:  # this epoch's rate, resumed or not
                        self.schedule.set_epoch(self.position.epoch)
                    for callback in self.callbacks:
                        callback.on_epoch_begin(self.position.epoch, self.config.epochs,
                                                len(self.loader), self.position.batch)  # fmt: skip
                    self.loader.load_state_dict(self.position.loader)
                    for index, (x, t, y) in enumerate(self.loader.array_batches()):
                        if index < self.position.batch:
                            continue  # done before the run was interrupted
                        at_boundary = False
                        loss = self._step(x, t, y)
                        at_boundary = True
                        for callback in self.callbacks:
                            callback.on_step_end(self.position.epoch, index + 1, loss)
                        if self.parallel.stopping(stop.requested):
                            raise KeyboardInterrupt
                    at_boundary = False
                    metrics = self._finish_epoch()
                    at_boundary = True
                    for callback in self.callbacks:
                        callback.on_epoch_end(self.position.epoch - 1, metrics)
                    if self.parallel.stopping(stop.requested):
                        raise KeyboardInterrupt
        except KeyboardInterrupt:
            path = self.save_checkpoint() if at_boundary else None
            raise TrainingInterrupted(path, self.position.epoch, self.position.batch) from None
        finally:
            self._tick()
            after = self.position.seconds, self.position.examples
            self._session = (after[0] - before[0], after[1] - before[1])
            for callback in self.callbacks:
                callback.on_train_end()

    def passes(self, x: Tensor, t: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """Forward and backward on one batch: the loss, and how many it classified right
        (the part of a step that ``fit(capture=True)`` captures)."""
        output = self.model(x)  # (batch, classes)
        loss = self.loss(output, t)
        correct = (output.argmax(axis=1) == y).sum()
        self.optimizer.zero_grad()
        loss.backward()
        return loss.detach(), correct

    def _passes(self, batch: tuple[Tensor, ...]) -> tuple[Tensor, Tensor]:
        """The passes, captured when asked and possible (they start with zero_grad and
        change nothing else but the run's generator, so after a refusal they run again
        eagerly from the same state)."""
        if self.captured is None:
            return self.passes(*batch)
        random = self.random.bit_generator.state  # dropout draws from it: undone on refusal
        try:
            return self.captured(*batch)
        except CaptureError as error:
            self.random.bit_generator.state = random
            self.captured = None
            note = f"this model's step is not captured ({error}); it trains eagerly"
            self.notes.append(note)
            if self.speaks:
                print(f"note: {note}", flush=True)
            return self.passes(*batch)

    def _step(self, x: np.ndarray, t: np.ndarray, y: np.ndarray) -> float:
        """One step of gradient descent on one batch (on this rank's share of it, the
        gradient summed over the ranks); the running totals are updated."""
        device, position = self.config.device, self.position
        x, t, y = self.parallel.share(x, t, y)
        batch = (Tensor(to_device(a, device)) for a in (x, t, y))
        loss, correct = self._passes(tuple(batch))
        totals = self.parallel.totals(loss.item(), int(correct.item()))
        if not math.isfinite(totals.loss):  # stop before the weights turn to NaN as well
            raise TrainingDiverged(position.epoch, position.batch + 1, totals.loss, self.config.lr)
        self.parallel.reduce_gradients()
        self.optimizer.step()
        position.loss_sum += totals.loss_sum
        position.correct += totals.correct
        position.seen += totals.examples
        position.examples += totals.examples
        position.batch += 1
        return totals.loss

    def _finish_epoch(self) -> dict[str, float]:
        """Score the epoch, record it, move the position on, and write the files."""
        position, problem = self.position, self.problem
        test = evaluate(self.model, problem.x_test, problem.y_test, self.config.loss,
                        problem.classes, self.config.label_smoothing)  # fmt: skip
        earlier = sum(self.history["seconds"])
        self._tick()
        metrics = {
            "epoch": position.epoch + 1,
            "train_loss": position.loss_sum / max(position.seen, 1),
            "train_accuracy": position.correct / max(position.seen, 1),
            "test_loss": test.loss,
            "test_accuracy": test.accuracy,
            "lr": float(self.optimizer.param_groups[0]["lr"]),
            "seconds": position.seconds - earlier,
        }
        for column in HISTORY_COLUMNS:
            self.history[column].append(metrics[column])
        self.position = Position(
            epoch=position.epoch + 1, examples=position.examples, seconds=position.seconds,
            loader=self.loader.state_dict(),
        )  # fmt: skip
        self.save_checkpoint(durable=False)  # the run's last one is written durably
        return {**metrics, "epochs": self.config.epochs}

    def _tick(self) -> None:
        """Add the time since the last tick to the run's training time."""
        now = time.perf_counter()
        self.position.seconds += now - self._clock
        self._clock = now

    # --- files ----------------------------------------------------------------------------

    def save_checkpoint(self, durable: bool = True) -> str | None:
        """Write the checkpoint and metrics.csv into ``config.out``; the checkpoint's path.
        ``durable=False`` (an epoch's within the run) skips fsync: see gradgate.io.save."""
        if self.config.out is None:
            return None
        self._tick()
        self.position.random = copy.deepcopy(dict(self.random.bit_generator.state))
        path = os.path.join(self.config.out, CHECKPOINT_FILE)
        write_checkpoint(path, self.config, self.problem, self.model, self.optimizer,
                         self.position, self.history, durable=durable)  # fmt: skip
        write_metrics_csv(self.history, os.path.join(self.config.out, METRICS_FILE))
        return path

    def result(self) -> FitResult:
        """The final scores, and the plot and files, once training is done."""
        problem, config = self.problem, self.config
        train = evaluate(self.model, problem.x_train, problem.y_train, config.loss,
                         problem.classes, config.label_smoothing)  # fmt: skip
        test = evaluate(self.model, problem.x_test, problem.y_test, config.loss,
                        problem.classes, config.label_smoothing)  # fmt: skip
        files: list[str] = []
        notes = ([problem.note] if problem.note else []) + self.notes
        if config.out is not None:
            self.save_checkpoint()
            files += [os.path.join(config.out, name) for name in (CHECKPOINT_FILE, METRICS_FILE)]
            plot = os.path.join(config.out, PLOT_FILE)
            write_plot(
                self.history, plot, title=f"{config.data}: {config.loss}, {config.optimizer}"
            )
            files.append(plot)
        seconds, examples = self._session
        return FitResult(
            config=config,
            model=self.model,
            optimizer=self.optimizer,
            history=self.history,
            train=train,
            test=test,
            seconds=seconds,
            examples_per_second=examples / seconds if examples and seconds > 0 else math.nan,
            class_names=problem.class_names,
            files=files,
            notes=notes,
        )
