"""Graphs the picture tests share: the lecture's two-layer network and a fan-out."""

from __future__ import annotations

import numpy as np
import pytest

import gradgate as gg


@pytest.fixture
def two_layer():
    """E of s1 = W1 x, o1 = σ(s1), s2 = W2 o1, o2 = σ(s2), E = SqErr(o2, t), and names."""
    rng = np.random.default_rng(4)
    x = gg.tensor(rng.uniform(0, 1, 4))
    W1 = gg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    W2 = gg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    t = gg.tensor(np.array([1.0, 0.0]))
    s1 = gg.matvec(W1, x)
    o1 = gg.sigmoid(s1)
    s2 = gg.matvec(W2, o1)
    o2 = gg.sigmoid(s2)
    E = gg.sqerr(o2, t)
    names = {"x": x, "W1": W1, "s1": s1, "o1": o1, "W2": W2, "s2": s2, "o2": o2, "t": t,
             "E": E}
    return E, names


@pytest.fixture
def fanout():
    """L = Σ (a ⊙ a + σ(a)): a feeds three input slots, so three gradients are summed."""
    a = gg.tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    L = (a * a + gg.sigmoid(a)).sum()
    return L, {"a": a, "L": L}
