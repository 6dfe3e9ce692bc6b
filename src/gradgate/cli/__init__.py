"""The ``gradgate`` command, one module per subcommand.

    gradgate train                          # the lecture's network on the built-in digits
    gradgate train --data iris --hidden 16 --optimizer adam --epochs 200
    gradgate evaluate gradgate-run/checkpoint.ckpt --data my.csv
    gradgate predict gradgate-run --data new.csv --output predictions.csv
    gradgate graph                          # the lecture's network → graph.svg
    gradgate check-gate mygates:Cube        # a gate of your own, against finite differences
    gradgate explore 20.4                   # step through backprop in the browser

Each subcommand's module has ``add_command(subparsers)``, which declares its options and
sets ``run=`` the module's ``run(args)``, which returns the exit status. To add a
subcommand, write such a module and list it in :data:`COMMANDS`. Bad input raises
``InputError``: :func:`main` prints it as one line on stderr (``gradgate <command>: error:
...``) and returns 2.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from .. import __version__, backend, distributed
from ..training import InputError, TrainingDiverged
from . import check_gate, evaluate, explore, graph, predict, train
from .common import EXIT_INTERRUPTED, EXIT_USAGE, ArgumentParser

COMMANDS = [train, evaluate, predict, graph, check_gate, explore]


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="gradgate",
        description="Neural networks as computation graphs of gates, trained by backpropagation.",
    )
    parser.add_argument("--version", action="version", version=f"gradgate {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_command(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    backend.retain_freed_memory()  # the command owns its process: reuse freed memory
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


__all__ = ["COMMANDS", "build_parser", "main"]
