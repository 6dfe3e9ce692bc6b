"""``gradgate train``: train a network, by default the lecture's on the built-in digits."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from .. import distributed
from ..training import (
    ACTIVATIONS,
    LECTURE_RECIPE,
    LOSSES,
    MODELS,
    OPTIMIZERS,
    SCHEDULES,
    TrainConfig,
    TrainingInterrupted,
    fit,
    format_summary,
    read_checkpoint,
)
from ..training.checkpoint import run_directory
from .common import EXIT_INTERRUPTED


def hidden_sizes(text: str) -> tuple[int, ...]:
    """``"64,32"`` → (64, 32); ``"none"`` or ``""`` → () (no hidden layer)."""
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer sizes such as 64,32, got {text!r}"
        ) from None


def add_command(subparsers: Any) -> None:
    defaults, lecture = TrainConfig(), LECTURE_RECIPE
    per_data = "default: the data set's recipe, for the digits"
    p = subparsers.add_parser(
        "train",
        help="train a network (default: the lecture's, on the built-in digits)",
        description="Train a classifier: a multi-layer perceptron, or a small CNN (--model "
        "cnn). With no options: the lecture's network (one sigmoid hidden layer, sigmoid "
        "outputs, SqErr loss against one-hot targets, plain SGD) on the built-in 8x8 digits. "
        "Settings not given come from a recipe: for the MLP the data set's (the lecture's "
        "network for the digits, iris and files, recipes of their own for xor, moons and "
        "spirals), for the CNN its own (see docs/training.md).",
    )
    # fmt: off
    p.add_argument("--data", metavar="NAME|PATH",
                   help=f"xor, iris, digits, moons, spirals, or a .csv/.npz file "
                        f"(default: {defaults.data})")
    p.add_argument("--target", metavar="COLUMN",
                   help="the label column of a CSV file (default: its last column)")
    p.add_argument("--model", metavar="NAME",
                   help="the network: " + "; ".join(f"{name}: {model.help}"
                                                    for name, model in MODELS.items())
                        + f" (default: {defaults.model}; cnn has a recipe of its own)")
    p.add_argument("--hidden", type=hidden_sizes, metavar="SIZES",
                   help="hidden layer sizes, comma-separated, or none "
                        f"({per_data} {','.join(map(str, lecture['hidden']))})")
    p.add_argument("--activation", choices=ACTIVATIONS,
                   help=f"hidden activation ({per_data} {lecture['activation']})")
    p.add_argument("--loss", choices=LOSSES,
                   help=f"loss; sqerr and mse put sigmoids on the outputs "
                        f"({per_data} {lecture['loss']})")
    p.add_argument("--optimizer", choices=OPTIMIZERS,
                   help=f"optimiser ({per_data} {lecture['optimizer']})")
    p.add_argument("--lr", type=float,
                   help="learning rate (default: the recipe's for its optimiser and loss, "
                        "else 0.1 for sgd with sqerr, 2 with mse, 0.5 with cross_entropy, 1 "
                        "with bce; 0.001 for adam, adamw, rmsprop)")
    p.add_argument("--schedule", metavar="NAME",
                   help=f"how the learning rate moves over the epochs: "
                        f"{', '.join(SCHEDULES)} ({per_data} {lecture['schedule']})")
    p.add_argument("--label-smoothing", type=float, metavar="EPS",
                   help="mix the cross-entropy's targets with ε of the uniform distribution "
                        f"({per_data} {lecture['label_smoothing']:g})")
    p.add_argument("--momentum", type=float,
                   help=f"momentum for sgd and rmsprop (default: {defaults.momentum})")
    p.add_argument("--weight-decay", type=float,
                   help=f"weight decay (default: {defaults.weight_decay})")
    p.add_argument("--epochs", type=int, help=f"epochs ({per_data} {lecture['epochs']})")
    p.add_argument("--batch-size", type=int,
                   help=f"examples per step ({per_data} {lecture['batch_size']})")
    p.add_argument("--seed", type=int,
                   help=f"seed of the split, the weights and the shuffling "
                        f"(default: {defaults.seed})")
    p.add_argument("--test-size", type=float,
                   help=f"fraction of the examples held out for testing "
                        f"(default: {defaults.test_size})")
    p.add_argument("--no-standardize", dest="standardize", action="store_const", const=False,
                   help="use the features as they are (default: scale to mean 0, std 1)")
    p.add_argument("--out", metavar="DIR",
                   help=f"where to write the checkpoint, metrics.csv and metrics.svg "
                        f"(default: {defaults.out})")
    p.add_argument("--resume", metavar="CHECKPOINT",
                   help="continue an interrupted run from its checkpoint (or its directory); "
                        "only --epochs, --out and --device may change")
    p.add_argument("--device", help=f"where to compute (default: {defaults.device})")
    p.add_argument("--quiet", action="store_true", help="no per-epoch progress")
    p.add_argument("--capture", action=argparse.BooleanOptionalAction, default=None,
                   help="replay a captured step: the same numbers, bit for bit, with less "
                        "Python per step (default on the CPU; --no-capture: eagerly)")  # fmt: skip
    # fmt: on
    p.set_defaults(run=run)


def train_config(args: argparse.Namespace) -> TrainConfig:
    """The options given on the command line over the defaults, or over the resumed
    checkpoint's settings (fit then refuses any that may not change); a resumed run
    writes beside its checkpoint unless --out says otherwise."""
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    given = {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
    if args.resume is None:
        return TrainConfig(**given)
    saved = TrainConfig.from_dict(read_checkpoint(args.resume)["config"])
    given.setdefault("out", run_directory(args.resume))  # not where the file says
    return dataclasses.replace(saved, **given)


def run(args: argparse.Namespace) -> int:
    config = train_config(args)
    root = distributed.current().is_root  # under mpiexec, the other ranks train silently
    try:
        result = fit(
            config,
            resume=args.resume,
            progress="none" if args.quiet else "auto",
            capture=args.capture if args.capture is not None else config.device in (None, "cpu"),
        )
    except TrainingInterrupted as stop:
        hint = f"; resume with: gradgate train --resume {stop.checkpoint}"
        if root:
            print(f"gradgate train: {stop}{hint if stop.checkpoint else ''}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if root:
        print(format_summary(result))
    return 0
