"""One checker over the whole registry: every gate's vjp against finite differences in
float64, to first and second order."""

from __future__ import annotations

import numpy as np

import gradgate as gg
from gradgate.gates import REGISTRY

from .conftest import SAMPLES, leaves, run


def test_every_registered_gate_has_samples():
    missing = sorted(name for name in REGISTRY if not SAMPLES.get(name))
    assert not missing, f"gates without sample inputs (Gate.samples): {missing}"


def test_every_gate_is_checked_on_several_shapes_or_parameters():
    """One sample can hide a rule that works for one shape only: every gate is checked on
    at least two cases that differ in their input shapes or their parameters, except the
    few whose only meaningful case is one."""
    single = {"Cast", "ToDevice"}  # float64 only has room to check; the GPU tests move it
    for name, cases in SAMPLES.items():
        variants = {(tuple(a.shape for a in s.inputs), repr(s.params)) for s in cases}
        if name not in single:
            assert len(variants) >= 2, f"{name}: {len(variants)} distinct sample case(s)"


def test_binary_element_wise_gates_are_checked_with_broadcasting():
    for name in ("Add", "Sub", "Mul", "Div", "Maximum", "Minimum", "Where", "Pow"):
        broadcast = [
            s for s in SAMPLES[name] if len({a.shape for a in s.inputs if a.dtype.kind == "f"}) > 1
        ]
        assert broadcast, f"{name} has no sample whose inputs broadcast"


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
