"""Loss modules: values and gradients against the formulas and PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import gradgate as gg
from gradgate import nn

rng = np.random.default_rng(42)
O = rng.uniform(0.05, 0.95, (6, 4))
T = rng.uniform(0, 1, (6, 4))
LABELS = rng.integers(0, 4, 6)


def value_and_grad(loss, x, t):
    x = gg.tensor(x, requires_grad=True)
    E = loss(x, gg.tensor(t))
    if E.size == 1:
        E.backward()
    else:
        E.backward(np.ones(E.shape))
    return E.numpy(), x.grad.numpy()


def test_sqerr_is_half_the_summed_squares_and_its_gradient_is_o_minus_t():
    E, g = value_and_grad(nn.SqErr(), O, T)
    assert E == pytest.approx(0.5 * np.sum((T - O) ** 2), rel=1e-12)
    np.testing.assert_allclose(g, O - T, rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_match_pytorch(reduction):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    cases = [
        (nn.MSELoss(reduction), lambda x, t: F.mse_loss(x, t, reduction=reduction), O, T),
        (
            nn.BCEWithLogitsLoss(reduction),
            lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction=reduction),
            O * 8 - 4,
            T,
        ),
        (
            nn.CrossEntropyLoss(reduction),
            lambda x, t: F.cross_entropy(x, t, reduction=reduction),
            O * 8 - 4,
            LABELS,
        ),
    ]
    for ours, theirs, x, t in cases:
        E, g = value_and_grad(ours, x, t)
        tx = torch.tensor(x, requires_grad=True)
        tE = theirs(tx, torch.tensor(t))
        tE.backward(torch.ones_like(tE))
        np.testing.assert_allclose(E, tE.detach().numpy(), rtol=1e-10, err_msg=repr(ours))
        np.testing.assert_allclose(g, tx.grad.numpy(), rtol=1e-10, atol=1e-14, err_msg=repr(ours))


def test_a_bad_reduction_is_refused():
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.MSELoss("average")
