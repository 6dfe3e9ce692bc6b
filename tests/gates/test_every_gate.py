"""One checker over the whole registry: every gate's vjp against finite differences in
float64, to first and second order."""

from __future__ import annotations

import numpy as np

import gradgate as gg
from gradgate.gates import REGISTRY

from .conftest import SAMPLES, leaves, run


def test_every_registered_gate_has_samples():
    missing = sorted(set(REGISTRY) - set(SAMPLES))
    assert not missing, f"gates without sample inputs in gates/samples.py: {missing}"


def test_every_gate_is_checked_with_broadcasting_or_several_shapes():
    for name, cases in SAMPLES.items():
        assert len(cases) >= 1, name
        shapes = {tuple(a.shape for a in s.inputs) for s in cases}
        assert len(shapes) >= 1


def test_gradcheck(case):
    name, _, sample = case
    xs = leaves(sample)
    assert gg.check.gradcheck(lambda *a: run(name, sample, *a), xs)


def test_gradgradcheck(case):
    name, _, sample = case
    xs = leaves(sample)
    assert gg.check.gradgradcheck(lambda *a: run(name, sample, *a), xs)


def test_gate_keeps_float32(case):
    """float32 in, float32 out and float32 gradients (no silent upcast to float64)."""
    name, _, sample = case
    xs = leaves(sample, dtype=np.float32)
    y = run(name, sample, *xs)
    if name != "Cast":
        assert y.dtype == np.float32, y.dtype
    y.backward(np.ones(y.shape, dtype=y.dtype))
    for x in xs:
        if x.requires_grad and x.grad is not None:
            assert x.grad.dtype == np.float32
            assert x.grad.shape == x.shape
