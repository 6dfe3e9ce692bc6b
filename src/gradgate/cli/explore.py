"""``gradgate explore``: the backprop explorer, one offline HTML page."""

from __future__ import annotations

import argparse
from typing import Any

from ..training import InputError


def add_command(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "explore",
        help="write the backprop explorer: one offline HTML page",
        description="Write one self-contained HTML page that steps through the forward and "
        "the backward pass gate by gate: the lecture's network (the default), an exercise "
        "(20.0 to 20.4), a script ending in .py, or a checkpoint.",
    )
    p.add_argument(
        "target",
        nargs="?",
        default="lecture",
        help="lecture (default), 20.0 … 20.4, a script.py, or a checkpoint",
    )
    p.add_argument(
        "-o", "--output", default="backprop.html", help="the page to write (default: backprop.html)"
    )
    p.add_argument("--tensor", help="for a script: the variable to explore (default: E, then loss)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..viz.explore import write_explorer

    try:
        print(write_explorer(args.target, args.output, args.tensor))
    except (OSError, ValueError, RuntimeError, TypeError, KeyError) as error:
        raise InputError(str(error)) from error
    return 0
