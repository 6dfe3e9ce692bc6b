"""``gradgate predict``: a class and per-class scores for every example of a file."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..training import InputError
from ..training.inference import load_trained, read_features, write_predictions


def add_command(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict the classes of examples",
        description="Predict a class for every example of --data, as CSV: index, "
        "prediction, the label when the data has one, and a score per class.",
    )
    # fmt: off
    p.add_argument("checkpoint", metavar="CHECKPOINT",
                   help="a checkpoint written by gradgate train, or its directory")
    p.add_argument("--data", metavar="NAME|PATH", required=True,
                   help="a built-in data set, or a .csv/.npz file with or without labels")
    p.add_argument("--target", metavar="COLUMN", help="the label column of a CSV file")
    p.add_argument("--output", metavar="FILE", help="write the CSV here (default: stdout)")
    # fmt: on
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    trained = load_trained(args.checkpoint)
    x, labels = read_features(trained, args.data, args.target)
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
