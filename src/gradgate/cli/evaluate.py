"""``gradgate evaluate``: loss, accuracy and confusion matrix of a trained model."""

from __future__ import annotations

import argparse
from typing import Any

from ..training import format_confusion
from ..training.inference import evaluate_trained, load_trained
from ..training.report import format_evaluation


def add_command(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="score a trained model on data",
        description="Loss, accuracy and confusion matrix of a trained model on all examples "
        "of --data, or on its training run's test split when --data is not given.",
    )
    # fmt: off
    p.add_argument("checkpoint", metavar="CHECKPOINT",
                   help="a checkpoint written by gradgate train, or its directory")
    p.add_argument("--data", metavar="NAME|PATH",
                   help="examples with labels (default: the run's own test split)")
    p.add_argument("--target", metavar="COLUMN", help="the label column of a CSV file")
    # fmt: on
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    trained = load_trained(args.checkpoint)
    what, evaluation = evaluate_trained(trained, args.data, args.target)
    print(f"{what}:")
    print(format_evaluation("", evaluation).strip())
    print()
    print("confusion matrix (rows: true class, columns: predicted):")
    print(format_confusion(evaluation.confusion, trained.class_names))
    return 0
