"""The lecture's exercises 20.0–20.4, each reproduced with the generic engine."""

from __future__ import annotations

import numpy as np

import gradgate as gg

rng = np.random.default_rng(20)


def leaf(*shape, requires_grad=True):
    return gg.tensor(rng.standard_normal(shape), requires_grad=requires_grad)


def test_20_0_vector_addition_passes_the_gradient_unchanged():
    x, y = leaf(5), leaf(5)
    g = rng.standard_normal(5)
    (x + y).backward(g)
    np.testing.assert_array_equal(x.grad.numpy(), g)
    np.testing.assert_array_equal(y.grad.numpy(), g)
    J = gg.jacobian(lambda a: a + y.detach(), x)
    np.testing.assert_array_equal(J, np.eye(5))


def test_20_1_sqerr_gradient_is_o_minus_t_and_none_for_the_target():
    o = leaf(4)
    t = leaf(4, requires_grad=False)
    E = gg.sqerr(o, t)
    np.testing.assert_allclose(E.item(), 0.5 * np.sum((t.data - o.data) ** 2))
    E.backward()
    np.testing.assert_allclose(o.grad.numpy(), o.data - t.data)
    assert t.grad is None


def test_20_1_sqerr_is_reusable_in_another_graph():
    x = leaf(3)
    t = gg.tensor(np.zeros(3))
    E = gg.sqerr(gg.tanh(x) * 2, t)  # SqErr at the end of a graph it was not written for
    E.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.tanh(x.data) * 2 * (1 - np.tanh(x.data) ** 2))


def test_20_2_sigmoid_jacobian_is_diagonal_sigma_one_minus_sigma():
    s = leaf(4)
    J = gg.jacobian(gg.sigmoid, s)
    sig = 1 / (1 + np.exp(-s.data))
    np.testing.assert_allclose(J, np.diag(sig * (1 - sig)), atol=1e-15)
    g = rng.standard_normal(4)
    gg.sigmoid(s).backward(g)
    np.testing.assert_allclose(s.grad.numpy(), J.T @ g)


def test_20_3a_matvec_gradient_of_o_is_w_transpose_g():
    W, o = leaf(3, 4), leaf(4)
    g = rng.standard_normal(3)
    gg.matvec(W, o).backward(g)
    np.testing.assert_allclose(o.grad.numpy(), W.data.T @ g)
    np.testing.assert_allclose(gg.jacobian(lambda v: gg.matvec(W.detach(), v), o), W.data)


def test_20_3b_matvec_gradient_of_w_is_the_outer_product():
    W, o = leaf(3, 4), leaf(4)
    g = rng.standard_normal(3)
    gg.matvec(W, o).backward(g)
    np.testing.assert_allclose(W.grad.numpy(), np.outer(g, o.data))
    np.testing.assert_allclose(gg.outer(gg.tensor(g), o).numpy(), np.outer(g, o.data))


def _two_layer(W1, W2, x, t):
    o1 = gg.sigmoid(gg.matvec(W1, x))
    o2 = gg.sigmoid(gg.matvec(W2, o1))
    return gg.sqerr(o2, t), o1, o2


def test_20_4_one_gradient_step_equals_the_delta_rule():
    n_in, n_hidden, n_out, eta = 5, 4, 3, 0.5
    W1, W2 = leaf(n_hidden, n_in), leaf(n_out, n_hidden)
    x = gg.tensor(rng.standard_normal(n_in))
    t = gg.tensor(rng.random(n_out))
    E, o1, o2 = _two_layer(W1, W2, x, t)
    E.backward()

    # the lecture's closed form, with W[j, i] = w_ij
    x_, t_, o1_, o2_ = x.data, t.data, o1.data, o2.data
    delta = (t_ - o2_) * o2_ * (1 - o2_)  # δ_k = −dE/ds2_k
    dW2 = np.array(
        [
            [(o2_[j] - t_[j]) * o2_[j] * (1 - o2_[j]) * o1_[i] for i in range(n_hidden)]
            for j in range(n_out)
        ]
    )
    back = W2.data.T @ delta  # Σ_k δ_k w2_jk
    dW1 = np.array(
        [[-back[j] * o1_[j] * (1 - o1_[j]) * x_[i] for i in range(n_in)] for j in range(n_hidden)]
    )
    np.testing.assert_allclose(W2.grad.numpy(), dW2, rtol=1e-12)
    np.testing.assert_allclose(W1.grad.numpy(), dW1, rtol=1e-12)

    new_W2 = W2.data - eta * W2.grad.data  # w ← w − η dE/dw
    new_W1 = W1.data - eta * W1.grad.data
    delta_rule_W2 = W2.data + eta * np.outer(delta, o1_)  # w2_ij += η δ_j o1_i
    delta_rule_W1 = W1.data + eta * np.outer(back * o1_ * (1 - o1_), x_)
    np.testing.assert_allclose(new_W2, delta_rule_W2, rtol=1e-12)
    np.testing.assert_allclose(new_W1, delta_rule_W1, rtol=1e-12)


def test_20_4_batched_step_is_the_sum_of_per_example_steps():
    W1, W2 = leaf(4, 5), leaf(3, 4)
    X = rng.standard_normal((6, 5))
    T = rng.random((6, 3))
    E, _, _ = _two_layer(W1, W2, gg.tensor(X), gg.tensor(T))
    E.backward()
    total1, total2 = np.zeros(W1.shape), np.zeros(W2.shape)
    for x, t in zip(X, T, strict=True):
        (g1, g2) = gg.grad(_two_layer(W1, W2, gg.tensor(x), gg.tensor(t))[0], [W1, W2])
        total1 += g1.numpy()
        total2 += g2.numpy()
    np.testing.assert_allclose(W1.grad.numpy(), total1, rtol=1e-12)
    np.testing.assert_allclose(W2.grad.numpy(), total2, rtol=1e-12)
