"""A training run's checkpoint: reading one back, and what a resumed run may change."""

from __future__ import annotations

import copy
import dataclasses
import os
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .. import io as gio
from .. import nn, optim
from ..arguments import is_count
from .config import MODELS, RESUMABLE_CHANGES, InputError, TrainConfig
from .setup import Problem

CHECKPOINT_FILE = "checkpoint.ckpt"
CHECKPOINT_FORMAT = "gradgate-training"
CHECKPOINT_VERSION = 1
HISTORY_COLUMNS = (
    "epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr", "seconds",
)  # fmt: skip


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
    random: dict[str, Any] = field(default_factory=dict)  # the model's generator (dropout)


def write_checkpoint(
    path: str,
    config: TrainConfig,
    problem: Problem,
    model: nn.Module,
    optimizer: optim.Optimizer,
    position: Position,
    history: dict[str, list[float]],
    *,
    durable: bool = True,
) -> None:
    """Everything needed to evaluate the model, or to continue the run exactly
    (``durable``: see :func:`gradgate.io.save`)."""
    standardizer = problem.standardizer
    checkpoint = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "config": config.to_dict(),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "position": asdict(position),
        "history": history,
        "data": {
            "features": problem.features,
            "classes": problem.classes,
            "class_names": problem.class_names,
            "target": problem.target_name,
            "standardizer": standardizer.state_dict() if standardizer is not None else None,
        },
    }
    gio.save(checkpoint, path, durable=durable)


def restore(
    saved: dict[str, Any],
    config: TrainConfig,
    problem: Problem,
    model: nn.Module,
    optimizer: optim.Optimizer,
    generator: np.random.Generator,
) -> tuple[Position, dict[str, list[float]]]:
    """Load a checkpoint of a run with the same settings and data into its model,
    optimiser and the generator its dropout draws from; where the run stood, and its
    history."""
    data = saved["data"]
    if (data["features"], data["classes"]) != (problem.features, problem.classes):
        raise InputError(
            f"the checkpoint's model takes {data['features']} features and "
            f"{data['classes']} classes, but {config.data} has "
            f"{problem.features} and {problem.classes}"
        )
    try:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        position = Position(**saved["position"])
        if position.random:  # a checkpoint from before there was one: the MLP's, unused
            generator.bit_generator.state = copy.deepcopy(position.random)
        history = {column: list(saved["history"][column]) for column in HISTORY_COLUMNS}
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise InputError(f"the checkpoint does not fit this run: {error}") from error
    return position, history


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
        raise InputError(
            f"{name}: a gradgate checkpoint, but not one written by training "
            "(gradgate train or gradgate.training.fit)"
        )
    if saved.get("version") != CHECKPOINT_VERSION:
        raise InputError(
            f"{name}: training checkpoint version {saved.get('version')!r} is not "
            f"supported (this gradgate reads version {CHECKPOINT_VERSION})"
        )
    if not isinstance(saved.get("config"), dict):
        raise InputError(f"{name}: damaged training checkpoint (it holds no config)")
    return saved


def run_directory(path: str | os.PathLike[str]) -> str:
    """Where a resumed run writes its files unless told otherwise: beside its checkpoint."""
    return os.path.dirname(checkpoint_path(path)) or "."


def resume_config(
    config: TrainConfig | None, saved: dict[str, Any], path: str | os.PathLike[str]
) -> TrainConfig:
    """The resolved config of a run that continues ``saved`` (read from ``path``):
    ``config`` when given, once checked to differ from the checkpoint's only where a
    resumed run may; otherwise the checkpoint's own, writing beside the checkpoint (never
    where its ``out`` says: the file is not to decide where files go)."""
    stored = TrainConfig.from_dict(saved["config"])
    if config is None:
        return dataclasses.replace(stored, out=run_directory(path)).resolved()
    config = config.resolved()
    check_resumable(config, stored)
    return config


def check_network(saved: dict[str, Any], config: TrainConfig) -> None:
    """InputError unless the checkpoint's weight arrays have the shapes of the network its
    config and data describe: checked on the stored arrays' shapes, before a model is built
    (a crafted config must not make us allocate its hidden sizes)."""
    data, model = saved.get("data"), saved.get("model")
    if not isinstance(data, dict) or not isinstance(model, dict):
        raise InputError("damaged training checkpoint (no model or data section)")
    stored = [tuple(getattr(value, "shape", ())) for key, value in model.items()
              if isinstance(key, str) and key.endswith(".weight")]  # fmt: skip
    if not stored:
        raise InputError("damaged training checkpoint (it holds no weights)")
    features, classes = data.get("features"), data.get("classes")
    if features is None or classes is None or not (is_count(features) and is_count(classes)):
        raise InputError(
            f"damaged training checkpoint (features {features!r}, classes {classes!r})"
        )
    network, features, classes = MODELS[config.model], int(features), int(classes)
    if stored != network.weight_shapes(config, features, classes):
        raise InputError(
            f"the checkpoint's weights ({', '.join(map(str, stored))}) do not make the "
            f"network its config describes ({network.describe(config, features, classes)})"
        )


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
        raise InputError(
            f"cannot resume with different settings: {'; '.join(changed)}; only "
            f"{allowed} may change"
        )
