"""Checks of the plain arguments that layers, loaders, data sets and schedules take."""

from __future__ import annotations

import numpy as np


def is_count(value: object) -> bool:
    """True for a positive Python or NumPy integer; ``True`` and ``2.0`` do not count."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool) and bool(value > 0)


def count(value: object, what: str, error: type[ValueError] = ValueError) -> int:
    """``value`` as an int when it is a positive integer; otherwise ``error`` saying
    ``<what> must be a positive integer, got <value>``."""
    if not is_count(value):
        raise error(f"{what} must be a positive integer, got {value!r}")
    return int(value)  # type: ignore[call-overload]
