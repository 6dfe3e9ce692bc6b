"""What the rest of gradgate needs to know about capture: whether a recording is running.

A recording (:mod:`gradgate.replay.recorder`) runs in one thread while the captured
function's first call runs eagerly. Code on hot paths tests ``ACTIVE[0]`` (a plain list
item: one load) and only when it is set asks :func:`recorder` for this thread's recorder.
This module imports nothing of gradgate, so the tensor and the engine can use it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

ACTIVE = [0]  # how many recordings run now, in any thread


class CaptureError(RuntimeError):
    """The captured function did something a replay could not repeat faithfully."""


class _Local(threading.local):
    recorder: Any = None


_local = _Local()


def recorder() -> Any:
    """This thread's running recorder, or None (also while it runs a library call whole)."""
    r = _local.recorder
    return None if r is None or r.paused else r


def recording() -> Any:
    """This thread's recorder, running or paused, or None."""
    return _local.recorder


def install(r: Any) -> Any:
    previous, _local.recorder = _local.recorder, r
    ACTIVE[0] += 1
    return previous


def uninstall(previous: Any) -> None:
    _local.recorder = previous
    ACTIVE[0] -= 1


F = TypeVar("F", bound=Callable[..., Any])


def replayed(function: F | None = None, *, lowering: Callable[..., Any] | None = None) -> Any:
    """Mark a library function that a replay calls again as a whole (an optimiser's step, a
    scheduler's step, a random draw): while a capture records, the call is noted with its
    arguments and run with recording paused; a replay calls it again, with the arrays of
    that replay where an argument is a tensor computed in the step.

    ``lowering(*args, **kwargs)``, if given, is asked first (before the call runs) how the
    call can be written as a few array operations instead: a list of steps the recorder
    knows (see ``Recorder.lowered_call``), or None to replay the call whole."""
    if function is None:
        return functools.partial(replayed, lowering=lowering)

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if ACTIVE[0]:
            r = recorder()
            if r is not None:
                return r.call(function, args, kwargs, lowering)
        return function(*args, **kwargs)

    return wrapper


def checked(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)``: a Python value the library computes from arrays to choose its
    way (whether any label is ignored). While a capture records, every replay computes it
    again and raises if it came out otherwise, instead of going the captured way."""
    value = function(*args)
    if ACTIVE[0]:
        r = recorder()
        if r is not None:
            r.check(function, args, value)
    return value


def refuse_read(what: str) -> None:
    """Raise if a recording runs in this thread: ``what`` reads a tensor's values into
    Python, which a replay cannot repeat."""
    r = recorder()
    if r is not None:
        raise CaptureError(
            f"capture: {what} reads a tensor's values into Python inside the captured "
            "function; a replay runs no Python, so a branch or a number taken from it "
            "would go stale. Return the tensor from the function and read it after the "
            "call (or call the function without capture)"
        )
