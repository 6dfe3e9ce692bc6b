"""Tensors made from nothing: zeros, ones, random numbers, ranges.

Random factories draw from one module-wide NumPy Generator, reseeded by
:func:`manual_seed`; pass ``generator=`` to draw from your own instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from .tensor import DEFAULT_FLOAT, Tensor

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the generator behind ``randn``/``rand`` (and the ``nn`` initialisers)."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def default_generator() -> np.random.Generator:
    return _generator


def _shape(shape: tuple) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for n in shape:
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"a shape holds non-negative ints, got {shape}")
    return tuple(int(n) for n in shape)


def _make(array: np.ndarray, dtype: Any, requires_grad: bool, device: Any = None) -> Tensor:
    """A leaf from a host array; random numbers are drawn on the host, so a seed gives the
    same values on every device."""
    array = array.astype(dtype or DEFAULT_FLOAT, copy=False)
    if device is not None:
        array = backend.to_device(array, backend.parse_device(device))
    return Tensor(array, requires_grad=requires_grad)


def zeros(*shape, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return _make(np.zeros(_shape(shape)), dtype, requires_grad, device)


def ones(*shape, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return _make(np.ones(_shape(shape)), dtype, requires_grad, device)


def full(shape, value: float, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return _make(np.full(_shape((shape,)), value), dtype, requires_grad, device)


def zeros_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    """Zeros of t's shape, dtype and device."""
    return Tensor(backend.namespace_of(t.data).zeros_like(t.data), requires_grad=requires_grad)


def ones_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    """Ones of t's shape, dtype and device."""
    return Tensor(backend.namespace_of(t.data).ones_like(t.data), requires_grad=requires_grad)


def randn(
    *shape, dtype=None, requires_grad: bool = False, generator=None, device=None
) -> Tensor:
    """Standard normal samples."""
    rng = generator or _generator
    return _make(rng.standard_normal(_shape(shape)), dtype, requires_grad, device)


def rand(*shape, dtype=None, requires_grad: bool = False, generator=None, device=None) -> Tensor:
    """Uniform samples in [0, 1)."""
    rng = generator or _generator
    return _make(rng.random(_shape(shape)), dtype, requires_grad, device)


def arange(
    start, stop=None, step=1, dtype=None, requires_grad: bool = False, device=None
) -> Tensor:
    """Evenly spaced values, as ``numpy.arange`` (int64 for ints, float32 for floats)."""
    array = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is None and array.dtype.kind == "f":
        dtype = DEFAULT_FLOAT
    return _make(array, dtype or array.dtype, requires_grad, device)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False,
        device=None) -> Tensor:
    return _make(np.eye(n, m), dtype, requires_grad, device)
