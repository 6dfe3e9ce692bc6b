"""A fan-out graph the picture tests share (the two-layer network is in tests/conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest

import gradgate as gg


@pytest.fixture
def fanout():
    """L = Σ (a ⊙ a + σ(a)): a feeds three input slots, so three gradients are summed."""
    a = gg.tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    L = (a * a + gg.sigmoid(a)).sum()
    return L, {"a": a, "L": L}
