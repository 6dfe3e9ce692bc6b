"""``gradgate.linalg``: numpy.linalg's functions on tensors, differentiable.

Each works on the last two axes and maps over leading (batch) axes. The factorizations are
one gate each whose output packs all the factors (docs/linear-algebra.md explains why);
these functions unpack them, so one call factorizes once. Where a gradient does not exist
(the eigenvectors of a repeated eigenvalue, the inverse of a singular matrix), backward
raises ValueError naming the gate.

This module is also what a rule reaches as ``xp.linalg`` when the engine builds a graph of
a gradient (``create_graph=True``), as ``numpy.linalg`` on the fast path.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import functional as _functional
from . import indexing
from .engine import apply
from .gates import decompositions as D
from .gates.base import implements
from .tensor import Tensor

F: Any = _functional  # its functions are made from the gate registry at import

__all__ = [
    "EighResult",
    "LstsqResult",
    "QRResult",
    "SVDResult",
    "SlogdetResult",
    "cholesky",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "lstsq",
    "matrix_norm",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "trace",
    "vector_norm",
]


class EighResult(NamedTuple):
    eigenvalues: Tensor
    eigenvectors: Tensor


class SVDResult(NamedTuple):
    U: Tensor
    S: Tensor
    Vh: Tensor


class QRResult(NamedTuple):
    Q: Tensor
    R: Tensor


class SlogdetResult(NamedTuple):
    sign: Tensor
    logabsdet: Tensor


class LstsqResult(NamedTuple):
    solution: Tensor
    residuals: Tensor
    rank: int
    singular_values: Tensor


@implements("linalg.inv")
def inv(A: Any) -> Tensor:
    """A⁻¹ (see :class:`~gradgate.gates.decompositions.Inv`); ValueError if A is singular."""
    return apply(D.Inv(), A)


@implements("linalg.solve")
def solve(A: Any, b: Any) -> Tensor:
    """x with A x = b. As NumPy 2, a 1-d b is one vector; otherwise b is (..., n, k)
    (PyTorch also reads b (..., n) as a batch of vectors; write ``b[..., None]`` there)."""
    return apply(D.Solve(), A, b)


@implements("linalg.det")
def det(A: Any) -> Tensor:
    """det A; its gradient g det(A) A⁻ᵀ needs A invertible (backward raises otherwise)."""
    return apply(D.Det(), A)


@implements("linalg.slogdet")
def slogdet(A: Any) -> SlogdetResult:
    """(sign, ln |det A|); the sign is a constant, ln |det A| differentiable where A is
    invertible."""
    packed = apply(D.SlogDet(), A)
    return SlogdetResult(packed[..., 0].detach(), packed[..., 1])


def cholesky(A: Any, upper: bool = False) -> Tensor:
    """L lower triangular with L Lᵀ = A (Lᵀ with ``upper=True``), for A symmetric positive
    definite (read as (A + Aᵀ)/2); ValueError where it is not positive definite."""
    L = apply(D.Cholesky(), A)
    return F.swapaxes(L, -1, -2) if upper else L


@implements("linalg.cholesky")
def _numpy_cholesky(a: Any, upper: bool = False) -> Tensor:
    """numpy.linalg.cholesky on a tensor: NumPy reads one triangle of ``a`` (the upper
    with ``upper=True``) and takes it for the symmetric matrix, so the gradient goes to
    that triangle alone."""
    return cholesky(_symmetric(a, "U" if upper else "L", "cholesky"), upper)


def _symmetric(A: Any, UPLO: str, what: str) -> Tensor:
    """The symmetric matrix one triangle of A stands for ("L": the lower, "U": the upper;
    on the last two axes), as LAPACK reads it."""
    if UPLO not in ("L", "U"):
        raise ValueError(f"{what}: UPLO must be 'L' or 'U', got {UPLO!r}")
    if UPLO == "L":
        return F.add(indexing.tril(A), F.swapaxes(indexing.tril(A, -1), -1, -2))
    return F.add(indexing.triu(A), F.swapaxes(indexing.triu(A, 1), -1, -2))


@implements("linalg.eigh", defaults={"UPLO": "L"})
def eigh(A: Any, UPLO: str | None = None) -> EighResult:
    """Eigenvalues (ascending) and orthonormal eigenvectors (columns) of symmetric A (read
    as (A + Aᵀ)/2; with ``UPLO`` "L" or "U", as NumPy and PyTorch read it, from that
    triangle alone, which then takes the whole gradient), each eigenvector's
    largest-magnitude entry positive. The eigenvectors' gradient needs distinct
    eigenvalues: backward raises where two are equal."""
    if UPLO is not None:
        A = _symmetric(A, UPLO, "eigh")
    packed = apply(D.Eigh(), A)
    return EighResult(packed[..., 0, :], packed[..., 1:, :])


@implements("linalg.eigvalsh", defaults={"UPLO": "L"})
def eigvalsh(A: Any, UPLO: str | None = None) -> Tensor:
    """The eigenvalues of symmetric A, ascending (A read as :func:`eigh` reads it);
    differentiable at repeated ones too."""
    if UPLO is not None:
        A = _symmetric(A, UPLO, "eigvalsh")
    return apply(D.Eigh(), A)[..., 0, :]


@implements("linalg.svd")
def svd(A: Any, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    """U, S, Vh with A = U diag(S) Vh, S descending, each left singular vector's
    largest-magnitude entry positive (Vh's rows follow).

    Only the reduced factors are computed: the extra columns of a full U or Vh (m ≠ n) are
    not unique, so they have no gradient, and ``full_matrices=True`` (NumPy's default)
    raises for a non-square A; pass ``full_matrices=False``. The singular vectors'
    gradient needs distinct singular values (and non-zero ones when m ≠ n).
    """
    A = A if isinstance(A, Tensor) else Tensor(np.asarray(A))
    m, n = A.shape[-2:] if A.ndim >= 2 else (0, 0)
    if full_matrices and compute_uv and m != n and A.ndim >= 2:
        raise ValueError(
            "svd: full_matrices=True for a non-square matrix asks for factors "
            "that are not unique and have no gradient; pass "
            "full_matrices=False"
        )
    packed = apply(D.Svd(), A)
    U, S, Vh = _unpack(packed, D.svd_shapes(m, n))
    return SVDResult(U, S, Vh) if compute_uv else S


@implements("linalg.svdvals")
def svdvals(A: Any) -> Tensor:
    """The singular values of A, descending."""
    return svd(A, full_matrices=False, compute_uv=False)


@implements("linalg.qr")
def qr(A: Any, mode: str = "reduced") -> Any:
    """Q, R with A = Q R, R's diagonal non-negative (``mode="r"``: R alone). Only the
    reduced factorization; its gradient needs A of full rank."""
    if mode not in ("reduced", "r"):
        raise ValueError(
            f"qr: mode {mode!r} is not supported; use 'reduced' or 'r' (the "
            "columns 'complete' adds are not unique, so they have no gradient)"
        )
    A = A if isinstance(A, Tensor) else Tensor(np.asarray(A))
    m, n = A.shape[-2:] if A.ndim >= 2 else (0, 0)
    Q, R = _unpack(apply(D.Qr(), A), D.qr_shapes(m, n))
    return R if mode == "r" else QRResult(Q, R)


@implements("linalg.trace")
def trace(x: Any, offset: int = 0) -> Tensor:
    """Σ of diagonal ``offset`` of the matrices in the last two axes, as numpy.linalg.trace
    (``gradgate.trace`` is the backward tracer; ``x.trace()`` is this on a matrix)."""
    return indexing.trace(x, offset, -2, -1)


@implements("linalg.pinv", keywords={"rcond": "rtol"}, defaults={"rtol": 1e-15})
def pinv(A: Any, rtol: float | None = None) -> Tensor:
    """A⁺, the Moore-Penrose pseudo-inverse, singular values at or below rtol·σ_max taken
    as zero (None: max(m, n)·ε, PyTorch's default; ``np.linalg.pinv`` on a tensor keeps
    NumPy's, 1e-15, and its ``rcond``). Its gradient needs A of full rank."""
    return apply(D.Pinv(rtol), A)


@implements("linalg.lstsq")
def lstsq(A: Any, b: Any, rcond: float | None = None) -> LstsqResult:
    """The least-squares solution x of A x ≈ b, as numpy.linalg.lstsq: A (m, n), b (m,)
    or (m, k); x = A⁺ b, the one of least norm where several fit as well.

    Returns (solution, residuals, rank, singular_values): ``residuals`` the squared
    2-norm of b − A x for each column of b where A has full column rank and m > n
    (NumPy's rule; empty otherwise), ``rank`` the number of singular values above
    rcond·σ_max (None: max(m, n)·ε, NumPy's default). solution, residuals and
    singular_values are differentiable; the solution's gradient in A goes through the
    pseudo-inverse, so it needs A of full rank (rank = min(m, n)), and backward raises
    for a rank-deficient A; in b it exists always.
    """
    A = A if isinstance(A, Tensor) else Tensor(np.asarray(A, dtype=float))
    b = b if isinstance(b, Tensor) else Tensor(np.asarray(b, dtype=A.dtype))
    if A.ndim != 2 or b.ndim not in (1, 2) or b.shape[0] != A.shape[0]:
        raise ValueError(
            f"lstsq: A must be a matrix (m, n) and b (m,) or (m, k), as numpy.linalg.lstsq; "
            f"got shapes {A.shape} and {b.shape}"
        )
    m, n = A.shape
    s = svdvals(A)
    values = s.numpy().astype(np.float64)
    rtol = max(m, n) * np.finfo(np.float64).eps if rcond is None or rcond < 0 else rcond
    rank = int(np.sum(values > rtol * (values[0] if values.size else 0.0)))
    x = F.matmul(pinv(A, rtol), b)
    if rank == n and m > n:
        residuals = F.sum((F.matmul(A, x) - b) ** 2, axis=0)
        residuals = F.reshape(residuals, (1,)) if b.ndim == 1 else residuals
    else:
        residuals = Tensor(np.zeros((0,), dtype=A.dtype))
    return LstsqResult(x, residuals, rank, s)


def _unpack(packed: Tensor, shapes) -> list[Tensor]:
    batch = packed.shape[:-1]
    out, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        out.append(F.reshape(packed[..., start : start + size], batch + tuple(shape)))
        start += size
    return out


# --- norms: compositions of element-wise gates and reductions --------------------------


@implements("linalg.vector_norm")
def vector_norm(
    x: Any,
    ord: Any = 2,
    axis: Any = None,
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Tensor:
    """The vector ``ord``-norm of x over ``axis`` (an axis or several, taken as one
    vector; every axis when None), as numpy.linalg.vector_norm and
    torch.linalg.vector_norm (``dim=``, ``keepdim=``): 2, 1, inf, -inf, 0 (the count of
    non-zeros, a constant) or any other p, (Σ |x|^p)^(1/p). Its gradient is its parts'
    (the 2-norm's at x = 0 is NaN)."""
    axis, keepdims = _torch_names(axis, keepdims, dim, keepdim)
    x = x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=float))
    if isinstance(ord, str):
        raise ValueError(f"vector_norm: ord={ord!r} is a matrix norm; a vector norm takes a number")
    if axis is None:
        axes = tuple(range(x.ndim))
    else:
        given = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
        axes = tuple(sorted({int(a) % max(x.ndim, 1) for a in given}))
    return _vector_norm(x, ord, axes, keepdims)


@implements("linalg.matrix_norm")
def matrix_norm(
    x: Any,
    ord: Any = "fro",
    axis: Any = (-2, -1),
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Tensor:
    """The matrix ``ord``-norm of the matrices in the two axes ``axis`` (the last two), as
    numpy.linalg.matrix_norm and torch.linalg.matrix_norm (``dim=``, ``keepdim=``):
    "fro", "nuc" (Σ σ), 2 and -2 (largest and smallest σ), 1 and -1 (largest and smallest
    column sum of |x|), inf and -inf (row sums)."""
    axis, keepdims = _torch_names(axis, keepdims, dim, keepdim)
    x = x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=float))
    axes = tuple(int(a) % max(x.ndim, 1) for a in axis)
    if x.ndim < 2 or len(axes) != 2 or axes[0] == axes[1]:
        raise ValueError(
            f"matrix_norm: axis {axis!r} must name two distinct axes of a tensor of "
            f"{x.ndim} dimensions"
        )
    return _matrix_norm(x, "fro" if ord is None else ord, axes, keepdims)


def _torch_names(axis: Any, keepdims: Any, dim: Any, keepdim: Any) -> tuple:
    """(axis, keepdims) from NumPy's names or PyTorch's ``dim``/``keepdim`` (which win)."""
    if dim is not None:
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    return axis, bool(keepdims)


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Tensor:
    """numpy.linalg.norm: a vector norm over one axis (or the flattened array when
    ``axis`` and ``ord`` are None), a matrix norm over two.

    Vector ``ord``: None or 2 (Euclidean), 1, inf, -inf, 0 (the count of non-zeros, a
    constant) or any other p, (Σ |x|^p)^(1/p). Matrix ``ord``: None or "fro", "nuc" (Σ σ),
    2 and -2 (largest and smallest σ), 1 and -1 (largest and smallest column sum of |x|),
    inf and -inf (row sums).

    Composed of gates (abs, pow, sum, max, the singular values), so its gradient is theirs:
    the Euclidean norm's gradient at x = 0 is NaN (the norm has no derivative there), a
    tie between the largest entries shares the gradient among them.
    """
    x = x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=float))
    if axis is None:
        if ord is None:
            return _keep(F.sqrt(F.sum(x * x)), x.ndim, tuple(range(x.ndim)), keepdims)
        if x.ndim == 1:
            axis = (0,)
        elif x.ndim == 2:
            axis = (0, 1)
        else:
            raise ValueError(f"norm: ord={ord!r} needs an axis for a tensor of {x.ndim} dimensions")
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    axes = tuple(int(a) % max(x.ndim, 1) for a in axes)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes[:1], keepdims)
    if len(axes) == 2 and axes[0] != axes[1]:
        return _matrix_norm(x, ord, axes, keepdims)
    raise ValueError(f"norm: axis {axis!r} must name one axis or two distinct ones")


def _vector_norm(x: Tensor, ord: Any, axis: tuple[int, ...], keepdims: bool) -> Tensor:
    if ord is None or ord == 2:
        return F.sqrt(F.sum(x * x, axis=axis, keepdims=keepdims))
    if ord == np.inf:
        return F.max(F.abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return F.min(F.abs(x), axis=axis, keepdims=keepdims)
    if ord == 0:
        return Tensor(np.sum(x.numpy() != 0, axis=axis, keepdims=keepdims).astype(x.dtype))
    if ord == 1:
        return F.sum(F.abs(x), axis=axis, keepdims=keepdims)
    if isinstance(ord, str):
        raise ValueError(f"norm: ord={ord!r} is a matrix norm; a vector norm takes a number")
    p = float(ord)
    return F.sum(F.abs(x) ** p, axis=axis, keepdims=keepdims) ** (1.0 / p)


def _matrix_norm(x: Tensor, ord: Any, axes: tuple[int, int], keepdims: bool) -> Tensor:
    row, col = axes
    if ord is None or ord == "fro":
        return F.sqrt(F.sum(x * x, axis=axes, keepdims=keepdims))
    if ord in ("nuc", 2, -2):
        moved = F.transpose(x, tuple(a for a in range(x.ndim) if a not in axes) + axes)
        s = svdvals(moved)
        out = F.sum(s, axis=-1) if ord == "nuc" else s[..., 0] if ord == 2 else s[..., -1]
        return _keep(out, x.ndim, axes, keepdims)
    if ord in (1, -1):
        sums = F.sum(F.abs(x), axis=row, keepdims=True)
        pick = F.max if ord == 1 else F.min
        return _squeeze(pick(sums, axis=col, keepdims=True), axes, keepdims)
    if ord in (np.inf, -np.inf):
        sums = F.sum(F.abs(x), axis=col, keepdims=True)
        pick = F.max if ord == np.inf else F.min
        return _squeeze(pick(sums, axis=row, keepdims=True), axes, keepdims)
    raise ValueError(f"norm: ord={ord!r} is not a matrix norm (None, 'fro', 'nuc', ±1, ±2, ±inf)")


def _keep(out: Tensor, ndim: int, axes: tuple[int, ...], keepdims: bool) -> Tensor:
    """A result with the reduced axes put back as size 1 when ``keepdims``."""
    return F.expand_dims(out, tuple(sorted(axes))) if keepdims and axes else out


def _squeeze(out: Tensor, axes: tuple[int, ...], keepdims: bool) -> Tensor:
    return out if keepdims else F.squeeze(out, axis=tuple(sorted(axes)))
