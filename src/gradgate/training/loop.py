"""The training loop: fit a TrainConfig, checkpoint every epoch, stop cleanly on Ctrl-C,
and resume to exactly the weights an uninterrupted run would reach.

Ctrl-C is deferred to the end of the current step (a second Ctrl-C stops at once): the
run's state is then whole, and the checkpoint written holds the model, the optimiser's
state, the position within the epoch, the data loader's random state at the start of the
epoch and the epoch's running sums. Resuming replays the same shuffled order, skips the
batches already done, and goes on.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .. import io as gio
from .. import nn, optim
from ..backend import parse_device, to_device
from ..data import DataLoader, TensorDataset
from ..tensor import Tensor
from .config import LOSSES, RESUMABLE_CHANGES, InputError, TrainConfig
from .metrics import Evaluation, evaluate
from .progress import Callback, make_progress
from .report import describe_run, write_metrics_csv, write_plot
from .setup import Problem, build_model, build_optimizer, load_problem, loss_targets

CHECKPOINT_FILE = "checkpoint.ckpt"
METRICS_FILE = "metrics.csv"
PLOT_FILE = "metrics.png"
CHECKPOINT_FORMAT = "gradgate-training"
CHECKPOINT_VERSION = 1
HISTORY_COLUMNS = (
    "epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr", "seconds",
)


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
        super().__init__(f"training diverged at epoch {epoch + 1}, batch {batch}: the loss is "
                         f"{loss}; try a smaller learning rate than {lr:g}")


@dataclass
class FitResult:
    """What :func:`fit` returns: the trained model and how it scores."""

    config: TrainConfig
    model: nn.Module
    optimizer: optim.Optimizer
    history: dict[str, list[float]]  # one list per HISTORY_COLUMNS entry, one item per epoch
    train: Evaluation  # the final weights on the training examples
    test: Evaluation  # and on the test examples
    seconds: float  # spent in the training loop, over every session of the run
    examples_per_second: float
    class_names: list[str] | None
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Position:
    """Where a run stands; with the model and optimiser state, enough to go on exactly."""

    epoch: int = 0  # epochs finished
    batch: int = 0  # batches done in the current epoch
    loss_sum: float = 0.0  # the current epoch's running totals
    correct: int = 0
    seen: int = 0
    examples: int = 0  # trained on, over the whole run
    seconds: float = 0.0  # spent training, over the whole run
    loader: dict[str, Any] = field(default_factory=dict)  # shuffling state at epoch start


def fit(
    config: TrainConfig | None = None,
    *,
    resume: str | os.PathLike[str] | None = None,
    callbacks: Sequence[Callback] = (),
    progress: str = "auto",
) -> FitResult:
    """Train the network ``config`` describes and return it with its scores.

    With ``resume`` (a checkpoint, or the directory holding one) the run continues from
    where that checkpoint stopped; ``config`` may then be None (the checkpoint's is used)
    or differ from the checkpoint's only in ``epochs``, ``out`` and ``device``.
    ``progress`` is ``"auto"``, ``"bar"``, ``"lines"`` or ``"none"``.

    Raises InputError for bad settings, data or checkpoints (before training starts),
    TrainingDiverged when the loss becomes infinite or NaN, and TrainingInterrupted (a
    KeyboardInterrupt) after saving a checkpoint on Ctrl-C.
    """
    saved = read_checkpoint(resume) if resume is not None else None
    if saved is not None:
        saved_config = TrainConfig.from_dict(saved["config"]).validate().resolved()
        if config is None:
            config = saved_config
        else:
            check_resumable(config.validate().resolved(), saved_config)
    config = (config if config is not None else TrainConfig()).validate().resolved()
    problem = load_problem(config)
    model = build_model(config, problem.features, problem.classes).to(config.device)
    optimizer = build_optimizer(config, model)
    targets = loss_targets(config.loss, problem.y_train, problem.classes)
    dataset = TensorDataset(problem.x_train, targets, problem.y_train)
    loader = DataLoader(dataset, batch_size=config.batch_size, shuffle=True, seed=config.seed)
    run = _Run(config, problem, model, optimizer, loader, list(callbacks))
    if saved is not None:
        run.restore(saved)
    if config.out is not None:
        try:
            os.makedirs(config.out, exist_ok=True)
        except OSError as error:
            raise InputError(f"cannot create the output directory {config.out!r}: "
                             f"{error.strerror}") from error
    display = make_progress(progress)
    if display is not None:
        run.callbacks.insert(0, display)
        print(describe_run(config, problem), flush=True)
        if problem.note:
            print(f"note: {problem.note}", flush=True)
        if saved is not None:
            print(f"resuming at epoch {run.position.epoch + 1}, after batch {run.position.batch}",
                  flush=True)
    run.train()
    return run.result()


class _Run:
    """One training run's moving parts, and the loop over them."""

    def __init__(
        self,
        config: TrainConfig,
        problem: Problem,
        model: nn.Module,
        optimizer: optim.Optimizer,
        loader: DataLoader,
        callbacks: list[Callback],
    ) -> None:
        self.config = config
        self.device = parse_device(config.device)
        self.problem = problem
        self.model = model
        self.optimizer = optimizer
        self.loss = LOSSES[config.loss].module()
        self.loader = loader
        self.callbacks = callbacks
        self.position = Position(loader=loader.state_dict())
        self.history: dict[str, list[float]] = {column: [] for column in HISTORY_COLUMNS}
        self.notes: list[str] = [problem.note] if problem.note else []
        self._clock = time.perf_counter()

    # --- the loop -------------------------------------------------------------------------

    def train(self) -> None:
        """Run the remaining epochs; on an interrupt, save and raise TrainingInterrupted."""
        at_boundary = True  # False only while a step or an epoch's bookkeeping is under way
        self._clock = time.perf_counter()
        try:
            # Overflow on the way to a diverging loss is reported as TrainingDiverged instead.
            with _deferred_interrupt() as stop, np.errstate(over="ignore", invalid="ignore"):
                while self.position.epoch < self.config.epochs:
                    batches = self._start_epoch()
                    for index, (x, t, y) in enumerate(batches):
                        if index < self.position.batch:
                            continue  # done before the run was interrupted
                        at_boundary = False
                        loss = self._step(x, t, y)
                        at_boundary = True
                        for callback in self.callbacks:
                            callback.on_step_end(self.position.epoch, index + 1, loss)
                        if stop.requested:
                            raise KeyboardInterrupt
                    at_boundary = False
                    metrics = self._finish_epoch()
                    at_boundary = True
                    for callback in self.callbacks:
                        callback.on_epoch_end(self.position.epoch - 1, metrics)
                    if stop.requested:
                        raise KeyboardInterrupt
        except KeyboardInterrupt:
            path = self.save_checkpoint() if at_boundary else None
            raise TrainingInterrupted(path, self.position.epoch, self.position.batch) from None
        finally:
            self._tick()
            for callback in self.callbacks:
                callback.on_train_end()

    def _start_epoch(self) -> Iterator[tuple[np.ndarray, ...]]:
        """The current epoch's batches, in the order its start state draws."""
        self.loader.load_state_dict(self.position.loader)
        for callback in self.callbacks:
            callback.on_epoch_begin(self.position.epoch, self.config.epochs, len(self.loader),
                                    self.position.batch)
        return self.loader.array_batches()

    def _step(self, x: np.ndarray, t: np.ndarray, y: np.ndarray) -> float:
        """One step of gradient descent on one batch; the running totals are updated."""
        device = self.device
        output = self.model(Tensor(to_device(x, device)))  # (batch, classes)
        loss = self.loss(output, Tensor(to_device(t, device)))
        value = loss.item()
        position = self.position
        if not math.isfinite(value):  # stop before the weights turn to NaN as well
            raise TrainingDiverged(position.epoch, position.batch + 1, value,
                                   self.optimizer.param_groups[0]["lr"])
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        n = len(y)
        position.loss_sum += value if LOSSES[self.config.loss].summed else value * n
        position.correct += int(np.count_nonzero(output.numpy().argmax(axis=1) == y))
        position.seen += n
        position.examples += n
        position.batch += 1
        return value

    def _finish_epoch(self) -> dict[str, float]:
        """Score the epoch, record it, move the position on, and write the files."""
        position = self.position
        test = evaluate(self.model, self.problem.x_test, self.problem.y_test, self.config.loss,
                        self.problem.classes)
        started = self.history["seconds"]
        self._tick()
        metrics = {
            "epoch": position.epoch + 1,
            "train_loss": position.loss_sum / max(position.seen, 1),
            "train_accuracy": position.correct / max(position.seen, 1),
            "test_loss": test.loss,
            "test_accuracy": test.accuracy,
            "lr": float(self.optimizer.param_groups[0]["lr"]),
            "seconds": position.seconds - sum(started),
        }
        for column in HISTORY_COLUMNS:
            self.history[column].append(metrics[column])
        self.position = Position(
            epoch=position.epoch + 1, examples=position.examples, seconds=position.seconds,
            loader=self.loader.state_dict(),
        )
        self.save_checkpoint()
        return {**metrics, "epochs": self.config.epochs}

    def _tick(self) -> None:
        """Add the time since the last tick to the run's training time."""
        now = time.perf_counter()
        self.position.seconds += now - self._clock
        self._clock = now

    # --- files ----------------------------------------------------------------------------

    def checkpoint(self) -> dict[str, Any]:
        """Everything needed to evaluate the model, or to continue the run exactly."""
        problem = self.problem
        return {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "config": self.config.to_dict(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "position": asdict(self.position),
            "history": self.history,
            "data": {
                "features": problem.features,
                "classes": problem.classes,
                "class_names": problem.class_names,
                "standardizer": (problem.standardizer.state_dict()
                                 if problem.standardizer is not None else None),
            },
        }

    def save_checkpoint(self) -> str | None:
        """Write the checkpoint and metrics.csv into ``config.out``; the checkpoint's path."""
        if self.config.out is None:
            return None
        path = os.path.join(self.config.out, CHECKPOINT_FILE)
        self._tick()
        gio.save(self.checkpoint(), path)
        write_metrics_csv(self.history, os.path.join(self.config.out, METRICS_FILE))
        return path

    def restore(self, saved: dict[str, Any]) -> None:
        """Continue from a checkpoint of a run with the same settings and data."""
        data = saved["data"]
        if (data["features"], data["classes"]) != (self.problem.features, self.problem.classes):
            raise InputError(
                f"the checkpoint's model takes {data['features']} features and "
                f"{data['classes']} classes, but {self.config.data} has "
                f"{self.problem.features} and {self.problem.classes}"
            )
        try:
            self.model.load_state_dict(saved["model"])
            self.optimizer.load_state_dict(saved["optimizer"])
            self.position = Position(**saved["position"])
            self.history = {column: list(saved["history"][column]) for column in HISTORY_COLUMNS}
        except (KeyError, TypeError, ValueError, RuntimeError) as error:
            raise InputError(f"the checkpoint does not fit this run: {error}") from error

    def result(self) -> FitResult:
        """The final scores, and the plot and files, once training is done."""
        problem, config = self.problem, self.config
        train = evaluate(self.model, problem.x_train, problem.y_train, config.loss,
                         problem.classes)
        test = evaluate(self.model, problem.x_test, problem.y_test, config.loss,
                        problem.classes)
        files: list[str] = []
        notes = list(self.notes)
        if config.out is not None:
            self.save_checkpoint()
            files += [os.path.join(config.out, name) for name in (CHECKPOINT_FILE, METRICS_FILE)]
            plot = os.path.join(config.out, PLOT_FILE)
            message = write_plot(self.history, plot, title=f"{config.data}: {config.loss}, "
                                 f"{config.optimizer}")
            if message is None:
                files.append(plot)
            else:
                notes.append(message)
        seconds = self.position.seconds
        return FitResult(
            config=config,
            model=self.model,
            optimizer=self.optimizer,
            history=self.history,
            train=train,
            test=test,
            seconds=seconds,
            examples_per_second=self.position.examples / seconds if seconds > 0 else math.nan,
            class_names=problem.class_names,
            files=files,
            notes=notes,
        )


# --- checkpoints ---------------------------------------------------------------------------


def checkpoint_path(path: str | os.PathLike[str]) -> str:
    """``path`` itself, or the checkpoint inside it when it is a run's directory."""
    text = os.fspath(path)
    return os.path.join(text, CHECKPOINT_FILE) if os.path.isdir(text) else text


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A training checkpoint's contents; InputError when it is missing or not one."""
    name = checkpoint_path(path)
    try:
        saved = gio.load(name)
    except FileNotFoundError:
        raise InputError(f"checkpoint not found: {name}") from None
    except (OSError, ValueError) as error:  # CheckpointError is a ValueError
        raise InputError(" ".join(str(error).split())) from None
    if not isinstance(saved, dict) or saved.get("format") != CHECKPOINT_FORMAT:
        raise InputError(f"{name}: a gradgate checkpoint, but not one written by training "
                         "(gradgate train or gradgate.training.fit)")
    if saved.get("version") != CHECKPOINT_VERSION:
        raise InputError(f"{name}: training checkpoint version {saved.get('version')!r} is not "
                         f"supported (this gradgate reads version {CHECKPOINT_VERSION})")
    return saved


def check_resumable(config: TrainConfig, saved: TrainConfig) -> None:
    """InputError listing the settings that differ from the checkpoint's, other than
    those a resumed run may change (RESUMABLE_CHANGES)."""
    ours, theirs = config.to_dict(), saved.to_dict()
    changed = [
        f"{name}={ours[name]!r} (the checkpoint has {theirs[name]!r})"
        for name in ours
        if name not in RESUMABLE_CHANGES and ours[name] != theirs[name]
    ]
    if changed:
        allowed = ", ".join(RESUMABLE_CHANGES)
        raise InputError(f"cannot resume with different settings: {'; '.join(changed)}; only "
                         f"{allowed} may change")


# --- Ctrl-C ----------------------------------------------------------------------------------


class _StopFlag:
    requested = False


@contextmanager
def _deferred_interrupt() -> Iterator[_StopFlag]:
    """While the block runs, a first Ctrl-C only sets ``requested`` (the loop stops at the
    next step boundary); a second one raises KeyboardInterrupt at once. Outside the main
    thread signals cannot be caught, and Ctrl-C behaves as usual."""
    flag = _StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum: int, frame: Any) -> None:
        if flag.requested:
            raise KeyboardInterrupt
        flag.requested = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
