"""Small arrays and shapes as short text, for pictures, traces and reports."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor


def to_numpy(x: Any) -> np.ndarray:
    """A NumPy array from a Tensor, a NumPy or CuPy array, or a number."""
    if isinstance(x, Tensor):
        return x.numpy()
    return backend.to_numpy(x)


def shape_text(shape: tuple[int, ...]) -> str:
    """``(3,)``, ``(2, 3)``, ``()``, as Python writes tuples."""
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def number_text(x: Any) -> str:
    """One number, with 4 significant digits."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return f"{float(x):.4g}"


def array_text(a: Any) -> str:
    """A small array on one line: ``[0.5, -1.25]``, ``[[1, 0], [0, 1]]``, ``0.125``."""
    a = np.asarray(a)
    if a.ndim == 0:
        return number_text(a.item())
    if a.ndim == 1:
        return "[" + ", ".join(number_text(v) for v in a) + "]"
    return "[" + ", ".join(array_text(row) for row in a) + "]"


def array_lines(label: str, a: Any) -> list[str]:
    """``label [..]``, with the rows of a matrix on lines of their own."""
    a = np.asarray(a)
    if a.ndim < 2:
        return [f"{label} {array_text(a)}"]
    rows = [array_text(row) for row in a.reshape(-1, a.shape[-1])]
    pad = " " * (len(label) + 1)
    return [f"{label} {rows[0]}"] + [pad + r for r in rows[1:]]
