"""The ``gradgate`` command: train a network, evaluate it, predict with it.

    gradgate train                          # the lecture's network on the built-in digits
    gradgate train --data iris --hidden 16 --optimizer adam --epochs 200
    gradgate evaluate gradgate-run/checkpoint.ckpt --data my.csv
    gradgate predict gradgate-run --data new.csv --output predictions.csv

Each subcommand is two functions: ``add_<name>_command(subparsers)`` declares its options
and sets ``run=run_<name>``, which takes the parsed options and returns the exit status.
To add a subcommand, write both and list the first in :data:`COMMANDS`. Bad input exits
with status 2 and one line on stderr (``gradgate <command>: error: ...``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from . import __version__, distributed
from .training import (
    LOSSES,
    OPTIMIZERS,
    InputError,
    TrainConfig,
    TrainingDiverged,
    TrainingInterrupted,
    fit,
    format_confusion,
    format_summary,
    read_checkpoint,
)
from .training.inference import evaluate_trained, load_trained, read_features, write_predictions
from .training.report import format_evaluation
from .viz.commands import add_check_gate_command, add_graph_command

ACTIVATION_CHOICES = ("sigmoid", "tanh", "relu", "leaky_relu")
EXIT_USAGE = 2  # bad input, as argparse
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line: ``gradgate train: error: ...``."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


# --- train -------------------------------------------------------------------------------


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


def add_train_command(subparsers: Any) -> None:
    defaults = TrainConfig()
    p = subparsers.add_parser(
        "train",
        help="train a network (default: the lecture's, on the built-in digits)",
        description="Train a multi-layer perceptron classifier. With no options: the "
        "lecture's network (one sigmoid hidden layer, sigmoid outputs, SqErr loss against "
        "one-hot targets, plain SGD) on the built-in 8x8 digits.",
    )
    p.add_argument("--data", metavar="NAME|PATH",
                   help=f"xor, iris, digits, moons, spirals, or a .csv/.npz file "
                        f"(default: {defaults.data})")
    p.add_argument("--target", metavar="COLUMN",
                   help="the label column of a CSV file (default: its last column)")
    p.add_argument("--hidden", type=hidden_sizes, metavar="SIZES",
                   help="hidden layer sizes, comma-separated, or none (default: "
                        f"{','.join(map(str, defaults.hidden))})")
    p.add_argument("--activation", choices=ACTIVATION_CHOICES,
                   help=f"hidden activation (default: {defaults.activation})")
    p.add_argument("--loss", choices=LOSSES,
                   help=f"loss; sqerr and mse put sigmoids on the outputs (default: "
                        f"{defaults.loss})")
    p.add_argument("--optimizer", choices=OPTIMIZERS,
                   help=f"optimiser (default: {defaults.optimizer})")
    p.add_argument("--lr", type=float,
                   help="learning rate (default: 0.1 for sgd with sqerr, 2 with mse, 0.5 "
                        "with cross_entropy, 1 with bce; 0.001 for adam, adamw, rmsprop)")
    p.add_argument("--momentum", type=float,
                   help=f"momentum for sgd and rmsprop (default: {defaults.momentum})")
    p.add_argument("--weight-decay", type=float,
                   help=f"weight decay (default: {defaults.weight_decay})")
    p.add_argument("--epochs", type=int, help=f"epochs (default: {defaults.epochs})")
    p.add_argument("--batch-size", type=int,
                   help=f"examples per step (default: {defaults.batch_size})")
    p.add_argument("--seed", type=int,
                   help=f"seed of the split, the weights and the shuffling "
                        f"(default: {defaults.seed})")
    p.add_argument("--test-size", type=float,
                   help=f"fraction of the examples held out for testing "
                        f"(default: {defaults.test_size})")
    p.add_argument("--no-standardize", dest="standardize", action="store_const", const=False,
                   help="use the features as they are (default: scale to mean 0, std 1)")
    p.add_argument("--out", metavar="DIR",
                   help=f"where to write the checkpoint, metrics.csv and metrics.png "
                        f"(default: {defaults.out})")
    p.add_argument("--resume", metavar="CHECKPOINT",
                   help="continue an interrupted run from its checkpoint (or its directory); "
                        "only --epochs, --out and --device may change")
    p.add_argument("--device", help=f"where to compute (default: {defaults.device})")
    p.add_argument("--quiet", action="store_true", help="no per-epoch progress")
    p.set_defaults(run=run_train)


def train_config(args: argparse.Namespace) -> TrainConfig:
    """The options given on the command line over the defaults, or over the resumed
    checkpoint's settings (fit then refuses any that may not change)."""
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    given = {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
    if args.resume is None:
        return TrainConfig(**given)
    saved = TrainConfig.from_dict(read_checkpoint(args.resume)["config"])
    return dataclasses.replace(saved, **given)


def run_train(args: argparse.Namespace) -> int:
    config = train_config(args)
    root = distributed.current().is_root  # under mpiexec, the other ranks train silently
    try:
        result = fit(config, resume=args.resume, progress="none" if args.quiet else "auto")
    except TrainingInterrupted as stop:
        hint = f"; resume with: gradgate train --resume {stop.checkpoint}"
        if root:
            print(f"gradgate train: {stop}{hint if stop.checkpoint else ''}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if root:
        print(format_summary(result))
    return 0


# --- evaluate ----------------------------------------------------------------------------


def add_evaluate_command(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="score a trained model on data",
        description="Loss, accuracy and confusion matrix of a trained model on all examples "
        "of --data, or on its training run's test split when --data is not given.",
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT",
                   help="a checkpoint written by gradgate train, or its directory")
    p.add_argument("--data", metavar="NAME|PATH", help="examples with labels (default: the "
                   "run's own test split)")
    p.add_argument("--target", metavar="COLUMN", help="the label column of a CSV file")
    p.set_defaults(run=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    trained = load_trained(args.checkpoint)
    what, evaluation = evaluate_trained(trained, args.data, args.target)
    print(f"{what}:")
    print(format_evaluation("", evaluation).strip())
    print()
    print("confusion matrix (rows: true class, columns: predicted):")
    print(format_confusion(evaluation.confusion, trained.class_names))
    return 0


# --- predict -----------------------------------------------------------------------------


def add_predict_command(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict the classes of examples",
        description="Predict a class for every example of --data, as CSV: index, "
        "prediction, the label when the data has one, and a score per class.",
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT",
                   help="a checkpoint written by gradgate train, or its directory")
    p.add_argument("--data", metavar="NAME|PATH", required=True,
                   help="a built-in data set, or a .csv/.npz file with or without labels")
    p.add_argument("--target", metavar="COLUMN", help="the label column of a CSV file")
    p.add_argument("--output", metavar="FILE", help="write the CSV here (default: stdout)")
    p.set_defaults(run=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    trained = load_trained(args.checkpoint)
    x, labels = read_features(args.data, args.target, trained.features)
    x = trained.prepare(x, args.data)
    if args.output is None:
        write_predictions(trained, x, labels, sys.stdout)
        sys.stdout.flush()
        return 0
    try:
        with open(args.output, "w", encoding="utf-8", newline="") as stream:
            write_predictions(trained, x, labels, stream)
    except OSError as error:
        raise InputError(f"cannot write {args.output}: {error.strerror}") from error
    print(f"wrote {len(x)} predictions to {args.output}", file=sys.stderr)
    return 0


# --- explore -------------------------------------------------------------------------------


def add_explore_command(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "explore", help="write the backprop explorer: one offline HTML page",
        description="Write one self-contained HTML page that steps through the forward and "
        "the backward pass gate by gate: the lecture's network (the default), an exercise "
        "(20.0 to 20.4), a script ending in .py, or a checkpoint.")
    p.add_argument("target", nargs="?", default="lecture",
                   help="lecture (default), 20.0 … 20.4, a script.py, or a checkpoint")
    p.add_argument("-o", "--output", default="backprop.html",
                   help="the page to write (default: backprop.html)")
    p.add_argument("--tensor", help="for a script: the variable to explore (default: E, then "
                   "loss)")
    p.set_defaults(run=run_explore)


def run_explore(args: argparse.Namespace) -> int:
    from .viz.explore import write_explorer

    try:
        print(write_explorer(args.target, args.output, args.tensor))
    except (OSError, ValueError, RuntimeError, TypeError, KeyError) as error:
        raise InputError(str(error)) from error
    return 0


# --- the command ---------------------------------------------------------------------------

COMMANDS: list[Callable[[Any], None]] = [
    add_train_command,
    add_evaluate_command,
    add_predict_command,
    add_graph_command,
    add_check_gate_command,
    add_explore_command,
]


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="gradgate",
        description="Neural networks as computation graphs of gates, trained by "
        "backpropagation.",
    )
    parser.add_argument("--version", action="version", version=f"gradgate {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add_command in COMMANDS:
        add_command(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    # under mpiexec, a failure on some ranks only must not leave the others waiting
    return distributed.finish(_run_command(argv))


def _run_command(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a usage error (already printed)
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args.run(args)
    except InputError as error:
        print(f"gradgate {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (TrainingDiverged, distributed.DistributedError) as error:
        print(f"gradgate {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"gradgate {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of stdout went away (| head): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
