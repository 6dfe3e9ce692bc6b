"""Tensors made from nothing: zeros, ones, random numbers, ranges.

Random factories draw from one module-wide NumPy Generator, reseeded by
:func:`manual_seed`; pass ``generator=`` to draw from your own instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from .gates.base import implements
from .replay.state import ACTIVE, recorder, replayed
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
    t = Tensor(array, requires_grad=requires_grad)
    if ACTIVE[0]:
        r = recorder()
        if r is not None:  # made from Python values alone: a constant of a captured step
            r.constant(t)
    return t


def zeros(*shape, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return _make(np.zeros(_shape(shape)), dtype, requires_grad, device)


def ones(*shape, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return _make(np.ones(_shape(shape)), dtype, requires_grad, device)


def full(shape, value: float, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return _make(np.full(_shape((shape,)), value), dtype, requires_grad, device)


def empty(*shape, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor of ``shape`` (filled with zeros: gradgate hands out no uninitialised memory)."""
    return zeros(*shape, dtype=dtype, requires_grad=requires_grad, device=device)


def _like(t: Any, fill: Any, dtype: Any, requires_grad: bool) -> Tensor:
    data = t.data if isinstance(t, Tensor) else np.asarray(t)
    xp = backend.namespace_of(data)
    return Tensor(xp.full(data.shape, fill, dtype=dtype or data.dtype), requires_grad=requires_grad)


def zeros_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros of t's shape, dtype (or ``dtype``) and device."""
    return _like(t, 0, dtype, requires_grad)


def ones_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones of t's shape, dtype (or ``dtype``) and device."""
    return _like(t, 1, dtype, requires_grad)


def full_like(t: Tensor, value: float, dtype=None, requires_grad: bool = False) -> Tensor:
    """``value`` in t's shape, dtype (or ``dtype``) and device."""
    return _like(t, value, dtype, requires_grad)


def linspace(
    start: float, stop: float, steps: int, dtype=None, requires_grad: bool = False, device=None
) -> Tensor:
    """``steps`` values from start to stop, both included, as ``torch.linspace``."""
    return _make(np.linspace(start, stop, steps), dtype, requires_grad, device)


def logspace(
    start: float,
    stop: float,
    steps: int,
    base: float = 10.0,
    dtype=None,
    requires_grad: bool = False,
    device=None,
) -> Tensor:
    """base ** linspace(start, stop, steps), as ``torch.logspace``."""
    return _make(np.logspace(start, stop, steps, base=base), dtype, requires_grad, device)


@replayed
def randperm(n: int, generator=None, device=None) -> Tensor:
    """A random permutation of 0 … n−1 (int64)."""
    return _make((generator or _generator).permutation(n), np.int64, False, device)


@replayed
def randint(
    low: int, high: int | None = None, size: Any = (), generator=None, dtype=None, device=None
) -> Tensor:
    """Random integers in [low, high) (or [0, low) with one bound), int64 by default."""
    if high is None:
        low, high = 0, low
    array = (generator or _generator).integers(low, high, _shape((size,)))
    return _make(array, dtype or np.int64, False, device)


@replayed
def multinomial(
    probabilities: Any, num_samples: int, replacement: bool = False, generator=None
) -> Tensor:
    """Indices drawn from the rows of ``probabilities`` (weights, not necessarily summing
    to 1), as ``torch.multinomial``: (num_samples,) for a vector, (rows, num_samples) for
    a matrix."""
    p = np.asarray(
        probabilities.numpy() if isinstance(probabilities, Tensor) else probabilities,
        dtype=np.float64,
    )
    rows = p.reshape(1, -1) if p.ndim == 1 else p
    if p.ndim not in (1, 2) or (rows < 0).any() or not np.isfinite(rows).all():
        raise ValueError(
            "multinomial: probabilities must be a vector or matrix of finite, non-negative weights"
        )
    rng = generator or _generator
    out = []
    for row in rows:
        if row.sum() <= 0 or (not replacement and num_samples > np.count_nonzero(row)):
            raise ValueError(
                f"multinomial: cannot draw {num_samples} samples from weights "
                f"with {np.count_nonzero(row)} non-zero (replacement={replacement})"
            )
        out.append(rng.choice(row.size, num_samples, replace=replacement, p=row / row.sum()))
    picked = np.array(out, dtype=np.int64)
    return Tensor(picked[0] if p.ndim == 1 else picked)


@implements("meshgrid", defaults={"indexing": "xy"})
def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids, as ``torch.meshgrid`` (``indexing="ij"`` by default; NumPy's
    default is "xy", which ``np.meshgrid`` on tensors keeps); each grid is a broadcast of
    its input, so gradients flow back."""
    from . import functional as F

    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    sizes = [int(np.size(t.numpy() if isinstance(t, Tensor) else t)) for t in tensors]
    n = len(sizes)
    order = list(range(n))
    if indexing == "xy" and n >= 2:
        order[0], order[1] = 1, 0
    shape = tuple(sizes[order[k]] for k in range(n))
    grids = []
    for k, t in enumerate(tensors):
        at = order.index(k)  # the axis this input runs along
        column = F.reshape(t, tuple(-1 if a == at else 1 for a in range(n)))
        grids.append(F.expand(column, shape))
    return tuple(grids)


def tril_indices(row: int, col: int, offset: int = 0) -> Tensor:
    """The (2, N) row and column indices of the lower triangle, as ``torch.tril_indices``."""
    return Tensor(np.array(np.tril_indices(row, offset, col), dtype=np.int64))


@replayed
def randn(*shape, dtype=None, requires_grad: bool = False, generator=None, device=None) -> Tensor:
    """Standard normal samples."""
    rng = generator or _generator
    return _make(rng.standard_normal(_shape(shape)), dtype, requires_grad, device)


@replayed
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


def eye(
    n: int, m: int | None = None, dtype=None, requires_grad: bool = False, device=None
) -> Tensor:
    return _make(np.eye(n, m), dtype, requires_grad, device)
