"""Checking gradients: explicit Jacobians and comparisons with finite differences.

``gradcheck(f, inputs)`` compares what backward returns with central differences in
float64; ``gradgradcheck`` does the same for the gradient of the gradient; ``jacobian``
builds the whole matrix d f / d x, one backward pass per output element.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .engine import enable_grad, grad, no_grad
from .functional import concatenate, mul, reshape, sum
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Raised when an analytic gradient disagrees with its finite-difference estimate."""


def _as_list(inputs: Any) -> list[Tensor]:
    return [inputs] if isinstance(inputs, Tensor) else list(inputs)


def _outputs(y: Any) -> list[Tensor]:
    return [y] if isinstance(y, Tensor) else [t for t in y if isinstance(t, Tensor)]


def _float64_copies(inputs: Sequence[Tensor]) -> list[Tensor]:
    out = []
    for x in inputs:
        data = x.data.astype(np.float64) if x.dtype.kind == "f" else x.data
        out.append(Tensor(data, requires_grad=x.requires_grad))
    return out


def _projected(f: Callable, xs: Sequence[Tensor], vs: Sequence[np.ndarray]) -> Tensor:
    """L = Σ_k Σ v_k ⊙ f(xs)_k, a scalar whose gradient is J^T v."""
    total = None
    for y, v in zip(_outputs(f(*xs)), vs):
        term = sum(mul(y, v))
        total = term if total is None else total + term
    assert total is not None, "f returned no tensor"
    return total


def gradcheck(
    f: Callable[..., Any],
    inputs: Tensor | Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    max_elements: int = 512,
    directions: int = 8,
    seed: int = 0,
    raise_exception: bool = True,
) -> bool:
    """Compare the gradients backward computes for ``f(*inputs)`` with central differences.

    Every input that requires grad is checked, in float64 (inputs are copied). The outputs
    are projected on a random v, so the check covers J^T v with a non-trivial v. Inputs of
    at most ``max_elements`` elements are checked element by element; larger ones along
    ``directions`` random directions. On a mismatch a :class:`GradcheckError` names the
    input, the element and both values (or False is returned with
    ``raise_exception=False``).
    """
    rng = np.random.default_rng(seed)
    xs = _float64_copies(_as_list(inputs))
    checked = [k for k, x in enumerate(xs) if x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    ys = _outputs(f(*xs))
    for y in ys:
        if y.dtype != np.float64:
            raise ValueError(f"gradcheck: f returned {y.dtype}; it must keep float64 inputs "
                             "float64 for the check to be meaningful")
    vs = [rng.standard_normal(y.shape) for y in ys]
    L = _projected(f, xs, vs)
    targets = [xs[k] for k in checked]
    if L.requires_grad:
        analytic = grad(L, targets, allow_unused=True)
    else:
        analytic = (None,) * len(targets)

    def value() -> float:
        with no_grad():
            return float(_projected(f, xs, vs).item())

    for k, a in zip(checked, analytic):
        x = xs[k]
        a_data = np.zeros(x.shape) if a is None else a.numpy()
        flat = x.data.reshape(-1)  # a view: perturbing it perturbs x
        if x.size <= max_elements:
            probes = [(i, None) for i in range(x.size)]
        else:
            draws = rng.standard_normal((directions, x.size))
            probes = [(None, d / np.linalg.norm(d)) for d in draws]
        for i, d in probes:
            saved = flat.copy()
            step = np.zeros(x.size)
            if i is not None:
                step[i] = eps
            else:
                step = d * eps
            flat += step
            up = value()
            flat[:] = saved - step
            down = value()
            flat[:] = saved
            numeric = (up - down) / (2 * eps)
            exact = a_data.reshape(-1)[i] if i is not None else float(a_data.reshape(-1) @ d)
            error = abs(exact - numeric)
            tolerance = atol + rtol * abs(numeric)
            where = (f"element {np.unravel_index(i, x.shape) if x.ndim else ()}" if i is not None
                     else "a random direction")
            if error > tolerance:
                message = (
                    f"gradcheck failed for input {k} (shape {x.shape}) at {where}: "
                    f"analytic {exact:.6g}, numeric {numeric:.6g}, |difference| {error:.3g} > "
                    f"tolerance {atol:g} + {rtol:g}·|numeric| = {tolerance:.3g}"
                )
                if raise_exception:
                    raise GradcheckError(message)
                return False
    return True


def gradgradcheck(
    f: Callable[..., Any],
    inputs: Tensor | Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
    raise_exception: bool = True,
) -> bool:
    """Check second derivatives: the gradient of (v · ∂f/∂x) against finite differences.

    ``f`` is differentiated once with ``create_graph=True`` and the resulting gradients are
    checked with :func:`gradcheck`.
    """
    rng = np.random.default_rng(seed + 1)
    xs = _float64_copies(_as_list(inputs))
    vs = [rng.standard_normal(y.shape) for y in _outputs(f(*xs))]

    def first_derivatives(*args: Tensor) -> Tensor:
        with enable_grad():  # gradcheck evaluates f under no_grad; this f needs a graph
            L = _projected(f, args, vs)
            wanted = [a for a in args if a.requires_grad]
            grads = grad(L, wanted, create_graph=True, allow_unused=True)
            parts = [reshape(g, (-1,)) if g is not None else Tensor(np.zeros(a.size))
                     for a, g in zip(wanted, grads)]
            return concatenate(parts)

    return gradcheck(first_derivatives, xs, eps=eps, atol=atol, rtol=rtol, seed=seed,
                     raise_exception=raise_exception)


def jacobian(f: Callable[..., Any], x: Tensor | Sequence[Tensor]) -> Any:
    """The full Jacobian of ``f`` at ``x``: an array of shape f(x).shape + x.shape.

    With several inputs (a tuple), a tuple of Jacobians, one per input.
    """
    single = isinstance(x, Tensor)
    xs = [Tensor(t.data, requires_grad=True) for t in _as_list(x)]
    y = f(*xs)
    if not isinstance(y, Tensor):
        raise TypeError("jacobian: f must return one tensor")
    jacobians = [np.zeros(y.shape + t.shape, dtype=np.result_type(y.dtype, t.dtype)) for t in xs]
    if y.requires_grad:
        for j in np.ndindex(*y.shape):
            seed = np.zeros(y.shape, dtype=y.dtype)
            seed[j] = 1
            rows = grad(y, xs, grad_outputs=seed, retain_graph=True, allow_unused=True)
            for J, row in zip(jacobians, rows):
                if row is not None:
                    J[j] = row.numpy()
    return jacobians[0] if single else tuple(jacobians)
