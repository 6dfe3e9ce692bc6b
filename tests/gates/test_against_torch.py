"""Every gate against PyTorch: the same forward value and the same J^T g for a random g.

PyTorch is a test reference only; these tests skip where it is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest

from gradgate.gates import REGISTRY, Gate

from .conftest import leaves, run

torch = pytest.importorskip("torch")


def reference(name: str, params: dict, *inputs):
    """The gate's own PyTorch reference, on torch tensors."""
    return REGISTRY[name](**params).reference(torch, *inputs)


def test_every_gate_has_a_torch_reference():
    missing = []
    for name, cls in REGISTRY.items():
        if cls.reference is Gate.reference:
            missing.append(name)
    assert not missing, f"gates without a PyTorch reference: {missing}"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forward_and_backward_match_torch(case, dtype):
    name, _, sample = case
    xs = leaves(sample, dtype=dtype)
    y = run(name, sample, *xs)
    ts = [torch.tensor(x.data, requires_grad=x.requires_grad) for x in xs]
    ty = reference(name, sample.params, *ts)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), **tol)
    g = np.random.default_rng(7).standard_normal(y.shape).astype(y.dtype)
    y.backward(g)
    ty.backward(torch.tensor(g))
    for x, t in zip(xs, ts, strict=True):
        if x.requires_grad:
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), **tol)
