"""Graphs several test modules share."""

from __future__ import annotations

import numpy as np
import pytest

import gradgate as gg


def lecture_two_layer(seed: int = 4):
    """E of s1 = W1 x, o1 = σ(s1), s2 = W2 o1, o2 = σ(s2), E = SqErr(o2, t) (4 → 3 → 2, float64),
    and the tensors by the lecture's names."""
    rng = np.random.default_rng(seed)
    x = gg.tensor(rng.uniform(0, 1, 4))
    W1 = gg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    W2 = gg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    t = gg.tensor(np.array([1.0, 0.0]))
    s1 = gg.matvec(W1, x)
    o1 = gg.sigmoid(s1)
    s2 = gg.matvec(W2, o1)
    o2 = gg.sigmoid(s2)
    E = gg.sqerr(o2, t)
    return E, {"x": x, "W1": W1, "s1": s1, "o1": o1, "W2": W2, "s2": s2, "o2": o2, "t": t, "E": E}


@pytest.fixture
def make_two_layer():
    """The builder itself, for tests that want several graphs or another seed."""
    return lecture_two_layer


@pytest.fixture
def two_layer():
    return lecture_two_layer()
