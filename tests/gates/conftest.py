"""Build the cases every per-gate test runs over: one entry per sample of every gate."""

from __future__ import annotations

import numpy as np
import pytest

import gradgate as gg
from gradgate.gates import REGISTRY, Sample, samples

SAMPLES = samples(np.random.default_rng(1234))
CASES = [(name, k, s) for name, cases in sorted(SAMPLES.items()) for k, s in enumerate(cases)]


def case_id(case) -> str:
    name, k, sample = case
    return f"{name}[{k}]"


def leaves(sample: Sample, dtype=np.float64) -> list[gg.Tensor]:
    """Float inputs become tensors that require grad; the others stay constants."""
    out = []
    for a in sample.inputs:
        if a.dtype.kind == "f":
            out.append(gg.Tensor(np.array(a, dtype=dtype), requires_grad=True))
        else:
            out.append(gg.Tensor(np.array(a)))
    return out


def run(name: str, sample: Sample, *tensors: gg.Tensor) -> gg.Tensor:
    """Apply a fresh gate of class ``name`` with the sample's parameters."""
    from gradgate.engine import apply

    return apply(sample.gate(name), *tensors)


@pytest.fixture(params=CASES, ids=[case_id(c) for c in CASES])
def case(request):
    return request.param


__all__ = ["CASES", "REGISTRY", "SAMPLES", "leaves", "run"]
