"""One SGD step of Sequential(Linear, Sigmoid, Linear, Sigmoid) + SqErr is the lecture's
delta rule (20.4), and PyTorch's step."""

from __future__ import annotations

import numpy as np
import pytest

import gradgate as gg
from gradgate import nn, optim

N_IN, N_HIDDEN, N_OUT = 5, 4, 3
ETA = 0.5


def lecture_network(W1: np.ndarray, W2: np.ndarray) -> nn.Sequential:
    model = nn.Sequential(
        nn.Linear(N_IN, N_HIDDEN, bias=False, dtype=np.float64),
        nn.Sigmoid(),
        nn.Linear(N_HIDDEN, N_OUT, bias=False, dtype=np.float64),
        nn.Sigmoid(),
    )
    model[0].weight.data[...] = W1
    model[2].weight.data[...] = W2
    return model


def gradgate_step(W1, W2, x, t) -> tuple[np.ndarray, np.ndarray]:
    model = lecture_network(W1, W2)
    opt = optim.SGD(model.parameters(), lr=ETA)
    E = nn.SqErr()(model(gg.tensor(x)), gg.tensor(t))
    opt.zero_grad()
    E.backward()
    opt.step()
    return model[0].weight.numpy().copy(), model[2].weight.numpy().copy()


def delta_rule(W1, W2, x, t) -> tuple[np.ndarray, np.ndarray]:
    """The lecture's update written index by index, w_ij from neuron i below to j above,
    stored as W[j, i] (20.4)."""
    sig = lambda s: 1 / (1 + np.exp(-s))  # noqa: E731
    o1 = np.array([sig(sum(W1[j, i] * x[i] for i in range(N_IN))) for j in range(N_HIDDEN)])
    o2 = np.array([sig(sum(W2[k, j] * o1[j] for j in range(N_HIDDEN))) for k in range(N_OUT)])
    delta = [(t[k] - o2[k]) * o2[k] * (1 - o2[k]) for k in range(N_OUT)]
    new_W2 = W2.copy()
    for i in range(N_HIDDEN):  # w2_ij: hidden i -> output j
        for j in range(N_OUT):
            new_W2[j, i] = W2[j, i] + ETA * (t[j] - o2[j]) * o2[j] * (1 - o2[j]) * o1[i]
    new_W1 = W1.copy()
    for i in range(N_IN):  # w1_ij: input i -> hidden j; w2_jk: hidden j -> output k
        for j in range(N_HIDDEN):
            back = sum(delta[k] * W2[k, j] for k in range(N_OUT))
            new_W1[j, i] = W1[j, i] + ETA * back * o1[j] * (1 - o1[j]) * x[i]
    return new_W1, new_W2


@pytest.fixture
def problem():
    rng = np.random.default_rng(204)
    W1 = rng.standard_normal((N_HIDDEN, N_IN))
    W2 = rng.standard_normal((N_OUT, N_HIDDEN))
    x = rng.standard_normal(N_IN)
    t = rng.uniform(size=N_OUT)
    return W1, W2, x, t


def test_one_sgd_step_is_the_lectures_delta_rule(problem):
    W1, W2, x, t = problem
    ours = gradgate_step(W1, W2, x, t)
    expected = delta_rule(W1, W2, x, t)
    np.testing.assert_allclose(ours[0], expected[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours[1], expected[1], rtol=1e-12, atol=1e-14)
    assert not np.allclose(ours[0], W1)  # the step moved both layers
    assert not np.allclose(ours[1], W2)


def test_a_batch_step_adds_the_per_example_delta_rule_updates(problem):
    W1, W2, _, _ = problem
    rng = np.random.default_rng(7)
    X, T = rng.standard_normal((6, N_IN)), rng.uniform(size=(6, N_OUT))
    ours = gradgate_step(W1, W2, X, T)
    total1, total2 = np.zeros_like(W1), np.zeros_like(W2)
    for x, t in zip(X, T, strict=True):  # SqErr is summed over the batch
        new1, new2 = delta_rule(W1, W2, x, t)
        total1 += new1 - W1
        total2 += new2 - W2
    np.testing.assert_allclose(ours[0], W1 + total1, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours[1], W2 + total2, rtol=1e-12, atol=1e-14)


def test_one_sgd_step_equals_pytorchs(problem):
    torch = pytest.importorskip("torch")
    W1, W2, x, t = problem
    model = torch.nn.Sequential(
        torch.nn.Linear(N_IN, N_HIDDEN, bias=False),
        torch.nn.Sigmoid(),
        torch.nn.Linear(N_HIDDEN, N_OUT, bias=False),
        torch.nn.Sigmoid(),
    ).double()
    with torch.no_grad():
        model[0].weight.copy_(torch.from_numpy(W1))  # torch's weight is (out, in) as well
        model[2].weight.copy_(torch.from_numpy(W2))
    opt = torch.optim.SGD(model.parameters(), lr=ETA)
    E = 0.5 * ((torch.from_numpy(t) - model(torch.from_numpy(x))) ** 2).sum()
    opt.zero_grad()
    E.backward()
    opt.step()
    ours = gradgate_step(W1, W2, x, t)
    np.testing.assert_allclose(ours[0], model[0].weight.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours[1], model[2].weight.detach().numpy(), rtol=1e-12)
