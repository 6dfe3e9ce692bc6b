"""What the subcommands share: the parser class and the exit statuses."""

from __future__ import annotations

import argparse
from typing import NoReturn

EXIT_FAILED = 1  # a gate that fails its check, a picture that needs a missing library
EXIT_USAGE = 2  # bad input, as argparse
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line: ``gradgate train: error: ...``."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")
