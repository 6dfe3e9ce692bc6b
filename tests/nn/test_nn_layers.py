"""Linear, activations, Dropout, MLP and the initialisers."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradgate as gg
from gradgate import nn
from gradgate.nn import init


def test_linear_weight_is_the_lectures_W_with_one_row_per_output():
    layer = nn.Linear(4, 3)
    assert layer.weight.shape == (3, 4) and layer.bias.shape == (3,)
    o = np.arange(4.0, dtype=np.float32)
    s = layer(gg.tensor(o)).numpy()
    W, b = layer.weight.numpy(), layer.bias.numpy()
    for j in range(3):  # s_j = Σ_i w_ij o_i + b_j with W[j, i] = w_ij
        terms = [float(W[j, i]) * float(o[i]) for i in range(4)] + [float(b[j])]
        # float32 rounding is relative to the terms' size, not to a sum that may cancel
        assert abs(s[j] - sum(terms)) <= 1e-6 * sum(abs(t) for t in terms)


def test_linear_on_a_batch_and_its_gradients():
    layer = nn.Linear(4, 3)
    x = gg.randn(5, 4)
    s = layer(x)
    np.testing.assert_allclose(
        s.numpy(), x.numpy() @ layer.weight.numpy().T + layer.bias.numpy(), rtol=1e-6
    )
    g = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    s.backward(g)
    np.testing.assert_allclose(layer.weight.grad.numpy(), g.T @ x.numpy(), rtol=1e-5)
    np.testing.assert_allclose(layer.bias.grad.numpy(), g.sum(axis=0), rtol=1e-5)


def test_linear_init_is_seeded_and_bounded_like_pytorchs():
    a = nn.Linear(16, 8, generator=np.random.default_rng(3))
    b = nn.Linear(16, 8, generator=np.random.default_rng(3))
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    assert np.abs(a.weight.numpy()).max() <= 1 / math.sqrt(16)
    gg.manual_seed(5)
    c = nn.Linear(16, 8)
    gg.manual_seed(5)
    d = nn.Linear(16, 8)
    np.testing.assert_array_equal(c.weight.numpy(), d.weight.numpy())
    assert nn.Linear(16, 8, bias=False).bias is None


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_linear_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match="positive integer"):
        nn.Linear(bad, 3)


@pytest.mark.parametrize(
    "module, reference",
    [
        (nn.Sigmoid(), lambda s: 1 / (1 + np.exp(-s))),
        (nn.Tanh(), np.tanh),
        (nn.ReLU(), lambda s: np.maximum(s, 0)),
        (nn.LeakyReLU(0.1), lambda s: np.where(s > 0, s, 0.1 * s)),
        (nn.Softmax(axis=1), lambda s: np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)),
        (nn.Identity(), lambda s: s),
    ],
)
def test_activation_modules(module, reference):
    s = np.random.default_rng(1).standard_normal((4, 5)).astype(np.float32)
    np.testing.assert_allclose(module(gg.tensor(s)).numpy(), reference(s), rtol=1e-5, atol=1e-6)


def test_dropout_zeroes_and_rescales_in_training_and_is_the_identity_in_eval():
    layer = nn.Dropout(0.25, generator=np.random.default_rng(0))
    x = gg.ones(200, 50, requires_grad=True)
    y = layer(x)
    values = np.unique(y.numpy())
    np.testing.assert_allclose(values, [0.0, 1 / 0.75], rtol=1e-6)
    assert abs(np.mean(y.numpy() == 0) - 0.25) < 0.02
    y.backward(np.ones((200, 50), dtype=np.float32))
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())  # dE/dx = mask
    layer.eval()
    assert layer(x) is x


def test_dropout_draws_from_the_default_generator_when_given_none():
    layer = nn.Dropout(0.5)
    gg.manual_seed(11)
    first = layer(gg.ones(10, 10)).numpy()
    gg.manual_seed(11)
    np.testing.assert_array_equal(layer(gg.ones(10, 10)).numpy(), first)
    with pytest.raises(ValueError, match="p must lie in"):
        nn.Dropout(1.0)


def test_mlp_builds_linear_and_activation_layers():
    model = nn.MLP([8, 6, 4, 3], activation="relu", output_activation="sigmoid", bias=False)
    kinds = [type(m).__name__ for m in model]
    assert kinds == ["Linear", "ReLU", "Linear", "ReLU", "Linear", "Sigmoid"]
    assert [p.shape for p in model.parameters()] == [(6, 8), (4, 6), (3, 4)]
    o = model(gg.randn(2, 8)).numpy()
    assert o.shape == (2, 3) and np.all((o > 0) & (o < 1))  # the sigmoid comes last


def test_mlp_rejects_bad_sizes_and_activations():
    with pytest.raises(ValueError, match="input and an output"):
        nn.MLP([3])
    with pytest.raises(ValueError, match="positive integers"):
        nn.MLP([3, 0, 2])
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        nn.MLP([3, 2], activation="swish")


def test_xavier_and_kaiming_have_the_documented_spread():
    rng = np.random.default_rng(0)
    W = gg.zeros(400, 300)
    init.xavier_uniform_(W, generator=rng)
    a = math.sqrt(6 / 700)
    assert np.abs(W.numpy()).max() <= a and np.abs(W.numpy()).max() > 0.99 * a
    init.xavier_normal_(W, gain=2.0, generator=rng)
    assert W.numpy().std() == pytest.approx(2 * math.sqrt(2 / 700), rel=0.02)
    init.kaiming_uniform_(W, nonlinearity="relu", generator=rng)
    assert np.abs(W.numpy()).max() <= math.sqrt(6 / 300)
    assert W.numpy().std() == pytest.approx(math.sqrt(2 / 300), rel=0.02)
    init.kaiming_normal_(W, mode="fan_out", nonlinearity="relu", generator=rng)
    assert W.numpy().std() == pytest.approx(math.sqrt(2 / 400), rel=0.02)


def test_initialisers_are_seeded_and_fill_in_place():
    W = gg.zeros(5, 4)
    array = W.data
    init.kaiming_normal_(W, generator=np.random.default_rng(9))
    first = W.numpy().copy()
    init.kaiming_normal_(W, generator=np.random.default_rng(9))
    assert W.data is array
    np.testing.assert_array_equal(W.numpy(), first)


def test_gains_match_pytorch():
    torch = pytest.importorskip("torch")
    for name in ("linear", "sigmoid", "tanh", "relu", "leaky_relu"):
        assert init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(
        torch.nn.init.calculate_gain("leaky_relu", 0.2)
    )
    with pytest.raises(ValueError, match="unknown nonlinearity"):
        init.calculate_gain("swish")
