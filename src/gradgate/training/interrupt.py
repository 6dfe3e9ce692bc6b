"""Ctrl-C at a step boundary: the first one asks the loop to stop, a second stops at once."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class StopFlag:
    requested = False


@contextmanager
def deferred_interrupt() -> Iterator[StopFlag]:
    """While the block runs, a first Ctrl-C only sets ``requested`` (the loop stops at the
    next step boundary); a second one raises KeyboardInterrupt at once. Outside the main
    thread signals cannot be caught, and Ctrl-C behaves as usual."""
    flag = StopFlag()
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
