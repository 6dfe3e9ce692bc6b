"""Run one gate in gradgate and in PyTorch on the same arrays, recording what NumPy warned.

PyTorch is a test reference only: ``torch`` is None where it is not installed, and the
tests that need it skip. The gate-to-torch table is the one tests/gates/test_against_torch.py
checks every gate with; it is imported, not copied.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from gradgate.engine import apply
from gradgate.gates import REGISTRY
from gradgate.tensor import Tensor

try:
    import torch
except ImportError:  # the NumPy-only checks still run
    torch = None


def reference(name: str, params: dict, *inputs: Any) -> Any:
    """Gate ``name``'s own PyTorch reference (``Gate.reference``) on torch tensors."""
    return REGISTRY[name](**params).reference(torch, *inputs)


needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


@dataclass
class Outcome:
    """What one library did: the output and input gradients, or the error it raised."""

    output: np.ndarray | None = None
    grads: list[np.ndarray | None] = field(default_factory=list)
    error: BaseException | None = None
    warnings: list[str] = field(default_factory=list)

    def finite(self) -> bool:
        arrays = [self.output, *self.grads]
        return all(a is None or bool(np.all(np.isfinite(a))) for a in arrays)


def upstream(shape: tuple[int, ...], dtype: Any, seed: int = 7) -> np.ndarray:
    """A fixed random dE/d(output), so that J^T g is checked with a non-trivial g."""
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def run_gradgate(name: str, params: dict, arrays: list[np.ndarray], seed: int = 7) -> Outcome:
    """Forward and backward of gate ``name``; every NumPy floating-point warning recorded."""
    outcome = Outcome()
    with (
        warnings.catch_warnings(record=True) as seen,
        np.errstate(over="warn", divide="warn", invalid="warn"),
    ):
        warnings.simplefilter("always")
        try:
            xs = [Tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]
            y = apply(REGISTRY[name](**params), *xs)
            outcome.output = y.numpy().copy()
            if y.requires_grad:
                y.backward(upstream(y.shape, y.dtype, seed))
            outcome.grads = [None if x.grad is None else x.grad.numpy() for x in xs]
        except Exception as error:  # the caller decides which errors are acceptable
            outcome.error = error
    outcome.warnings = [
        f"{w.category.__name__}: {w.message}"
        for w in seen
        if issubclass(w.category, RuntimeWarning)
    ]
    return outcome


def run_torch(name: str, params: dict, arrays: list[np.ndarray], seed: int = 7) -> Outcome:
    """The same computation with PyTorch's own operations."""
    outcome = Outcome()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's UserWarnings (var with no dof, .T on 0-d)
        try:
            ts = [torch.tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]
            y = reference(name, params, *ts)
            outcome.output = y.detach().numpy().copy()
            if y.requires_grad:
                y.backward(torch.tensor(upstream(tuple(y.shape), outcome.output.dtype, seed)))
            outcome.grads = [None if t.grad is None else t.grad.numpy() for t in ts]
        except Exception as error:
            outcome.error = error
    return outcome


def tolerance(dtype: Any) -> dict[str, float]:
    if np.dtype(dtype) == np.float32:
        return {"rtol": 1e-4, "atol": 1e-6}
    return {"rtol": 1e-9, "atol": 1e-12}


def differences(ours: Outcome, theirs: Outcome, dtype: Any, finite_only: bool = False) -> list[str]:
    """Where two outcomes disagree (values, NaN and Inf placement); empty when they agree.

    With ``finite_only`` only the places where PyTorch's answer is finite are compared.
    """
    problems = []
    pairs = [("output", ours.output, theirs.output)]
    pairs += [
        (f"gradient {k}", a, b)
        for k, (a, b) in enumerate(zip(ours.grads, theirs.grads, strict=True))
    ]
    for what, a, b in pairs:
        if a is None or b is None:
            if (a is None) != (b is None):
                problems.append(f"{what}: gradgate {a is not None}, torch {b is not None}")
            continue
        if a.shape != b.shape:
            problems.append(f"{what}: shape {a.shape}, torch {b.shape}")
            continue
        if finite_only:
            keep = np.isfinite(b)
            a, b = a[keep], b[keep]
        try:
            np.testing.assert_allclose(a, b, equal_nan=True, **tolerance(dtype))
        except AssertionError as error:
            problems.append(f"{what}: " + " ".join(str(error).split())[:400])
    return problems
