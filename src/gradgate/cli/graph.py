"""``gradgate graph``: draw a computation graph as SVG, PNG, DOT or an HTML trace page.

    gradgate graph                          the lecture's two-layer network → graph.svg
    gradgate graph model.ckpt -o net.png    the layers of a checkpoint
    gradgate graph my_script.py --tensor E  a tensor left by a script (E or loss by default)

Exit status 0 is success; 1 a picture that needs a missing library; 2 bad input.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..trace import trace
from ..training import InputError
from ..training.drawable import _count, _run_script, checkpoint_network
from ..viz import lecture_network
from .common import EXIT_FAILED

LECTURE = "lecture"
FORMATS = (".svg", ".png", ".dot", ".gv", ".html")


def add_command(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "graph",
        help="draw the computation graph of a model (SVG, PNG, DOT or an HTML trace page)",
        description=(
            "Draw a computation graph: the lecture's two-layer network (the default), the "
            "layers of a checkpoint (a matvec, bias and activation per weight matrix), or "
            "a tensor left by a Python script. The format follows the output's extension: "
            ".svg, .png (Graphviz or matplotlib), .dot, or .html (the graph with the steps "
            "of one backward pass). Graphviz's dot is used when it is on PATH."
        ),
    )
    # fmt: off
    p.add_argument("target", nargs="?", default=LECTURE,
                   help="'lecture' (default), a checkpoint file, or a script ending in .py")
    p.add_argument("-o", "--output", default="graph.svg",
                   help="the file to write (default: graph.svg)")
    p.add_argument("--hidden", type=int, default=3,
                   help="hidden neurons of the lecture's 4-input, 2-output network "
                        "(default: 3, as in exercise 20.4)")
    p.add_argument("--tensor", default=None,
                   help="for a script: the variable holding the tensor to draw "
                        "(default: E, then loss)")
    p.add_argument("--seed", type=int, default=0, help="random seed for weights and inputs")
    p.add_argument("--no-graphviz", action="store_true",
                   help="use the built-in layout even when Graphviz's dot is installed")
    # fmt: on
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Draw the graph ``args`` asks for; the exit status."""
    output = args.output
    extension = os.path.splitext(output)[1].lower()
    if extension not in FORMATS:
        raise InputError(
            f"cannot tell the format of {output!r}; use a name ending in " + ", ".join(FORMATS)
        )
    try:
        with trace() as tr:  # records the structure, so the graph outlives backward()
            if args.target.endswith(".py"):
                E, names = _run_script(args.target, args.tensor)  # it may run backward
            else:
                if args.target == LECTURE:
                    E, names = lecture_network(args.hidden, args.seed)
                else:
                    E, names = checkpoint_network(args.target, args.seed)
                tr.names.update(names)
                E.backward()  # so the picture and the page show the gradients
            tr.names.update(names)
        g = tr.graph_of(E)
    except (OSError, ValueError, RuntimeError, TypeError, KeyError) as error:
        raise InputError(str(error)) from error
    try:
        if extension == ".html":
            if not tr.steps:
                raise InputError("an .html page shows a backward pass, and none ran")
            tr.save_html(output, title=f"gradgate graph: {args.target}")
        else:
            g.save(output, graphviz=False if args.no_graphviz else None)
    except ImportError as error:  # PNG without Graphviz or matplotlib
        print(f"gradgate graph: error: {error}", file=sys.stderr)
        return EXIT_FAILED
    counts = [_count(len(g.nodes), "node"), _count(len(g.edges), "edge"),
              _count(len(g.fanouts), "fan-out point")]  # fmt: skip
    print(f"wrote {output}: {', '.join(counts)}")
    return 0
