"""Thirty steps of each optimiser, forty epochs of each schedule, and clipping match
torch.optim, in float64 to 1e-10."""

from __future__ import annotations

import numpy as np
import pytest

import gradgate as gg
from gradgate import optim

torch = pytest.importorskip("torch")

STEPS = 30
rng = np.random.default_rng(2024)
W0 = rng.standard_normal((3, 4))
B0 = rng.standard_normal(3)
X = rng.standard_normal((5, 4))
T = rng.standard_normal((5, 3))

CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.01}),
    ("Adam", {}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.9), "eps": 1e-6}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.2, "amsgrad": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.7}),
    ("RMSprop", {"lr": 0.01, "centered": True, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5, "eps": 1e-4}),
    ("Adagrad", {}),
    (
        "Adagrad",
        {
            "lr": 0.1,
            "lr_decay": 0.01,
            "weight_decay": 0.1,
            "initial_accumulator_value": 0.1,
            "eps": 1e-8,
        },
    ),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.05}),
    ("Adamax", {}),
    ("Adamax", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.01, "betas": (0.8, 0.95), "weight_decay": 0.1}),
    (
        "NAdam",
        {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "momentum_decay": 0.01},
    ),
    # maximize: every rule sees -g and climbs
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "maximize": True}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "maximize": True}),
    ("AdamW", {"lr": 0.05, "maximize": True}),
    ("RMSprop", {"lr": 0.01, "centered": True, "maximize": True}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1, "maximize": True}),
    ("Adadelta", {"weight_decay": 0.1, "maximize": True}),
    ("Adamax", {"weight_decay": 0.1, "maximize": True}),
    ("NAdam", {"lr": 0.01, "maximize": True}),
]


def gradgate_run(name, options, steps=STEPS):
    W, b = gg.tensor(W0, requires_grad=True), gg.tensor(B0, requires_grad=True)
    opt = getattr(optim, name)([W, b], **options)
    for _ in range(steps):
        opt.zero_grad()
        E = gg.sum(gg.tanh(gg.matvec(W, gg.tensor(X)) + b) * gg.tensor(T))
        E.backward()
        opt.step()
    return W.numpy(), b.numpy()


@pytest.fixture(autouse=True)
def torch_float64_scalars():
    """torch keeps NAdam's running momentum product (and every step counter) in the default
    dtype; float64 keeps that product exact to the tolerance compared here."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def torch_run(name, options, steps=STEPS):
    W = torch.tensor(W0, requires_grad=True)
    b = torch.tensor(B0, requires_grad=True)
    opt = getattr(torch.optim, name)([W, b], **options)
    for _ in range(steps):
        opt.zero_grad()
        E = (torch.tanh(torch.tensor(X) @ W.T + b) * torch.tensor(T)).sum()
        E.backward()
        opt.step()
    return W.detach().numpy(), b.detach().numpy()


@pytest.mark.parametrize("name, options", CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_steps_match_torch_optim(name, options):
    ours, theirs = gradgate_run(name, options), torch_run(name, options)
    assert not np.allclose(ours[0], W0)  # it did move
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-10, atol=1e-12)


def test_maximize_climbs_where_minimising_descends():
    up = gradgate_run("Adam", {"lr": 0.05, "maximize": True}, steps=1)
    down = gradgate_run("Adam", {"lr": 0.05}, steps=1)
    np.testing.assert_allclose(up[0] - W0, -(down[0] - W0), rtol=1e-12)


OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "LBFGS"]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_defaults_match_torch(name):
    """Every option has torch's name and default (LBFGS alone has no maximize in torch)."""
    params = [gg.tensor(W0, requires_grad=True)]
    ours = getattr(optim, name)(params).param_groups[0]
    theirs = getattr(torch.optim, name)([torch.tensor(W0, requires_grad=True)])
    theirs = theirs.param_groups[0]
    for key, value in ours.items():
        if key != "params" and not (name == "LBFGS" and key == "maximize"):
            assert theirs[key] == value, key


@pytest.mark.parametrize("name", ["Adam", "Adagrad", "Adadelta", "Adamax", "NAdam"])
def test_float32_model_matches_torch_to_float_tolerance(name):
    W = gg.tensor(W0.astype(np.float32), requires_grad=True)
    tW = torch.tensor(W0.astype(np.float32), requires_grad=True)
    ours, theirs = getattr(optim, name)([W], lr=0.01), getattr(torch.optim, name)([tW], lr=0.01)
    x32 = X.astype(np.float32)
    for _ in range(STEPS):
        ours.zero_grad()
        theirs.zero_grad()
        gg.sum(gg.sigmoid(gg.matvec(W, gg.tensor(x32)))).backward()
        torch.sigmoid(torch.tensor(x32) @ tW.T).sum().backward()
        ours.step()
        theirs.step()
    assert W.dtype == np.float32 and all(
        v.dtype == np.float32 for v in ours.state[0].values() if isinstance(v, np.ndarray)
    )
    np.testing.assert_allclose(W.numpy(), tW.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "name, options",
    [
        ("StepLR", {"step_size": 3, "gamma": 0.5}),
        ("ExponentialLR", {"gamma": 0.8}),
        ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.01}),
    ],
)
def test_schedules_match_torch(name, options):
    ours_opt = optim.SGD([gg.tensor(W0, requires_grad=True)], lr=0.3)
    theirs_opt = torch.optim.SGD([torch.tensor(W0, requires_grad=True)], lr=0.3)
    ours = getattr(optim, name)(ours_opt, **options)
    theirs = getattr(torch.optim.lr_scheduler, name)(theirs_opt, **options)
    rates = []
    for _ in range(10):
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)
        rates.append(ours.get_last_lr()[0])
        theirs_opt.step()
        theirs.step()
        ours.step()
    assert len(set(rates)) > 1


@pytest.mark.parametrize(
    "max_norm, norm_type", [(0.5, 2.0), (100.0, 2.0), (0.3, 1.0), (0.2, float("inf"))]
)
def test_clip_grad_norm_matches_torch(max_norm, norm_type):
    g1, g2 = rng.standard_normal((3, 4)), rng.standard_normal(5)
    ours = [gg.tensor(np.zeros_like(g), requires_grad=True) for g in (g1, g2)]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in (g1, g2)]
    for p, q, g in zip(ours, theirs, (g1, g2), strict=True):
        p.grad = gg.tensor(g)
        q.grad = torch.tensor(g)
    total = optim.clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert total.item() == pytest.approx(expected.item(), rel=1e-12)
    for p, q in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12)
