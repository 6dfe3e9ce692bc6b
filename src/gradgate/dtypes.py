"""Data types, by PyTorch's names, and the one rule for the dtype of a mixed operation.

``gg.float32``, ``gg.int64``, ... are NumPy dtypes, so they go wherever a dtype goes
(``gg.zeros(3, dtype=gg.float64)``, ``t.to(gg.int64)``, ``np.asarray(a, gg.float32)``).

:func:`result_dtype` is PyTorch's type promotion, which gradgate follows for every gate
that combines inputs of different dtypes (``Gate.promoted``): a float32 tensor stays
float32 when it meets an integer tensor, a Python number or a NumPy float64 scalar (NumPy
would give float64); float32 with a float64 tensor is float64.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

float16 = half = np.dtype(np.float16)
float32 = float = np.dtype(np.float32)  # PyTorch's names
float64 = double = np.dtype(np.float64)
complex64 = np.dtype(np.complex64)
complex128 = np.dtype(np.complex128)
uint8 = np.dtype(np.uint8)
int8 = np.dtype(np.int8)
int16 = short = np.dtype(np.int16)
int32 = int = np.dtype(np.int32)
int64 = long = np.dtype(np.int64)
bool = np.dtype(np.bool_)

NAMES = (
    "float16",
    "half",
    "float32",
    "float",
    "float64",
    "double",
    "complex64",
    "complex128",
    "uint8",
    "int8",
    "int16",
    "short",
    "int32",
    "int",
    "int64",
    "long",
    "bool",
)

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _promote(a: np.dtype, b: np.dtype) -> np.dtype:
    """Two dtypes of one rank: NumPy's promotion within a category, the higher category's
    dtype across categories (int64 with float32 is float32, as ``torch.promote_types``)."""
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca == cb or (ca >= 2 and cb >= 2):
        return np.promote_types(a, b)
    return a if ca > cb else b


def _fold(dtypes: list[np.dtype]) -> np.dtype | None:
    out = None
    for d in dtypes:
        out = d if out is None else _promote(out, d)
    return out


def result_dtype(arrays: Sequence[Any]) -> np.dtype:
    """The dtype PyTorch gives an operation on these arrays.

    Arrays with dimensions decide; a 0-d array (a number wrapped by the engine, a 0-d
    tensor) changes the result only when it is of a higher category (bool < integer <
    float < complex): ``float32[3] + float64[]`` is float32, ``int64[3] + float64[]`` is
    float64, as in PyTorch.
    """
    dims = _fold([a.dtype for a in arrays if a.ndim])
    zeros = _fold([a.dtype for a in arrays if not a.ndim])
    if dims is None:
        assert zeros is not None
        return zeros
    if zeros is None or _CATEGORY[zeros.kind] <= _CATEGORY[dims.kind]:
        return dims
    return _promote(dims, zeros)
