"""Forty epochs of each learning-rate schedule give torch.optim.lr_scheduler's rates (and,
for OneCycleLR, its momenta), and a schedule resumed from its state_dict goes on the same."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradgate as gg
from gradgate import optim

torch = pytest.importorskip("torch")
sched = torch.optim.lr_scheduler

EPOCHS = 40
W0 = np.ones((2, 3))


def warm_then_decay(epoch):
    return min(1.0, (epoch + 1) / 4) * 0.9**epoch


def half_every_ten(epoch):
    return 0.5 ** (epoch // 10)


# each case builds the schedule from a namespace holding the classes (gradgate.optim or
# torch.optim.lr_scheduler) and an optimiser
CASES = {
    "LambdaLR": lambda m, o: m.LambdaLR(o, warm_then_decay),
    "LambdaLR-per-group": lambda m, o: m.LambdaLR(o, [warm_then_decay, half_every_ten]),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[3, 7, 7, 20], gamma=0.5),
    "LinearLR": lambda m, o: m.LinearLR(o),
    "LinearLR-decay": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=12),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=6),
    "CosineAnnealingWarmRestarts-mult": lambda m, o: m.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.01
    ),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=EPOCHS),
    "OneCycleLR-per-group": lambda m, o: m.OneCycleLR(
        o,
        max_lr=[1.0, 0.2],
        epochs=8,
        steps_per_epoch=5,
        pct_start=0.25,
        anneal_strategy="linear",
        div_factor=10.0,
        final_div_factor=100.0,
    ),
    "OneCycleLR-three-phase": lambda m, o: m.OneCycleLR(
        o, max_lr=0.5, total_steps=EPOCHS, three_phase=True, base_momentum=0.8, max_momentum=0.9
    ),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o,
        [m.LinearLR(o, start_factor=0.1, total_iters=5), m.CosineAnnealingLR(o, T_max=10)],
        milestones=[5],
    ),
    "SequentialLR-three": lambda m, o: m.SequentialLR(
        o,
        [
            m.LinearLR(o, start_factor=0.25, total_iters=4),
            m.ExponentialLR(o, gamma=0.9),
            m.CosineAnnealingWarmRestarts(o, T_0=4),
        ],
        milestones=[4, 12],
    ),
    "SequentialLR-steps": lambda m, o: m.SequentialLR(
        o,
        [m.MultiStepLR(o, milestones=[2, 4], gamma=0.5), m.StepLR(o, 3, gamma=0.7)],
        milestones=[6],
    ),
}
ADAM_CASES = {"OneCycleLR-adam": lambda m, o: m.OneCycleLR(o, max_lr=0.01, total_steps=EPOCHS)}


def optimizers(name):
    """A gradgate optimiser and its torch twin, two parameter groups (lr 0.3 and 0.1)."""
    ours = [gg.tensor(W0, requires_grad=True) for _ in range(2)]
    theirs = [torch.tensor(W0, requires_grad=True) for _ in range(2)]
    cls, kwargs = ("Adam", {}) if name.endswith("adam") else ("SGD", {"momentum": 0.9})
    make = [getattr(optim, cls), getattr(torch.optim, cls)]
    return [
        f([{"params": [p]}, {"params": [q], "lr": 0.1}], lr=0.3, **kwargs)
        for f, (p, q) in zip(make, (ours, theirs), strict=True)
    ]


def momenta(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


@pytest.mark.parametrize("name", [*CASES, *ADAM_CASES])
def test_schedule_matches_torch_and_resumes(name):
    build = {**CASES, **ADAM_CASES}[name]
    ours_opt, theirs_opt = optimizers(name)
    ours, theirs = build(optim, ours_opt), build(sched, theirs_opt)
    rates, saved = [], None
    for epoch in range(EPOCHS):
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12), epoch
        assert momenta(ours_opt) == pytest.approx(momenta(theirs_opt), rel=1e-12), epoch
        rates.append(ours.get_last_lr())
        if epoch == 17:
            saved = (ours_opt.state_dict(), ours.state_dict())
        theirs_opt.step()
        theirs.step()
        ours.step()
    assert len({tuple(r) for r in rates}) > 3

    fresh_opt, _ = optimizers(name)
    resumed = build(optim, fresh_opt)
    fresh_opt.load_state_dict(saved[0])
    resumed.load_state_dict(saved[1])
    again = []
    for _ in range(17, EPOCHS):
        again.append(resumed.get_last_lr())
        resumed.step()
    np.testing.assert_allclose(again, rates[17:], rtol=1e-12)


def test_one_cycle_refuses_to_step_past_its_end():
    opt = optim.SGD([gg.tensor(W0, requires_grad=True)], lr=0.1, momentum=0.9)
    schedule = optim.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        schedule.step()
    with pytest.raises(ValueError, match="but the schedule has total_steps=3"):
        schedule.step()
    with pytest.raises(ValueError, match="cycle_momentum needs an optimiser with momentum"):
        optim.OneCycleLR(
            optim.Adagrad([gg.tensor(W0, requires_grad=True)]), max_lr=1.0, total_steps=3
        )
    with pytest.raises(ValueError, match="give total_steps, or epochs and steps_per_epoch"):
        optim.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="max_lr: expected 1 values"):
        optim.OneCycleLR(opt, max_lr=[1.0, 2.0], total_steps=3)


# a loss that falls, stalls with noise, falls again, then climbs
PLATEAU_LOSSES = [
    1.0,
    0.8,
    0.7,
    0.7,
    0.71,
    0.69999,
    0.7,
    0.5,
    0.5,
    0.5,
    0.5,
    0.49,
    0.6,
    0.7,
    0.8,
    0.9,
    1.0,
    0.3,
    0.3,
    0.3,
    0.3,
    0.3,
    0.3,
    0.3,
    0.3,
    0.3,
    0.3,
    0.3,
    0.29,
    0.3,
    0.31,
    0.32,
    0.33,
    0.2,
    0.2,
    0.2,
    0.2,
    0.2,
    0.2,
    0.2,
]

PLATEAU_CASES = [
    {"patience": 2},
    {"patience": 1, "factor": 0.5, "cooldown": 2, "min_lr": [0.02, 0.05]},
    {"mode": "max", "patience": 0, "factor": 0.7, "threshold": 0.05, "threshold_mode": "abs"},
    {"patience": 3, "threshold": 0.1, "eps": 0.05, "min_lr": 0.001},
]


@pytest.mark.parametrize("options", PLATEAU_CASES, ids=[str(o) for o in PLATEAU_CASES])
def test_reduce_on_plateau_matches_torch_and_resumes(options):
    ours_opt, theirs_opt = optimizers("plateau")
    ours = optim.ReduceLROnPlateau(ours_opt, **options)
    theirs = sched.ReduceLROnPlateau(theirs_opt, **options)
    rates, saved = [], None
    for epoch, loss in enumerate(PLATEAU_LOSSES):
        theirs.step(loss)
        ours.step(gg.tensor(loss))
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12), epoch
        assert ours.num_bad_epochs == theirs.num_bad_epochs
        rates.append(ours.get_last_lr())
        if epoch == 12:
            saved = (ours_opt.state_dict(), ours.state_dict())
    assert len({tuple(r) for r in rates}) > 1

    fresh_opt, _ = optimizers("plateau")
    resumed = optim.ReduceLROnPlateau(fresh_opt, **options)
    fresh_opt.load_state_dict(saved[0])
    resumed.load_state_dict(saved[1])
    again = []
    for loss in PLATEAU_LOSSES[13:]:
        resumed.step(loss)
        again.append(resumed.get_last_lr())
    assert again == rates[13:]


def test_schedule_arguments_are_checked():
    opt = optim.SGD([gg.tensor(W0, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="start_factor must lie in"):
        optim.LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match="end_factor must lie in"):
        optim.LinearLR(opt, end_factor=1.5)
    with pytest.raises(ValueError, match="total_iters must be a positive integer"):
        optim.LinearLR(opt, total_iters=0)
    with pytest.raises(ValueError, match="T_0 must be a positive integer"):
        optim.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="T_mult must be an integer >= 1"):
        optim.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=1.5)
    with pytest.raises(ValueError, match="expected 1 lr_lambdas"):
        optim.LambdaLR(opt, [math.exp, math.exp])
    linear = optim.LinearLR(opt)
    with pytest.raises(ValueError, match="2 schedules need 1 milestones"):
        optim.SequentialLR(opt, [linear, optim.ExponentialLR(opt, 0.9)], milestones=[])
    with pytest.raises(TypeError, match="not an epoch schedule"):
        optim.SequentialLR(opt, [optim.ReduceLROnPlateau(opt)], milestones=[])
    other = optim.SGD([gg.tensor(W0, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="drives another optimiser"):
        optim.SequentialLR(opt, [optim.LinearLR(other)], milestones=[])
    with pytest.raises(ValueError, match="factor must be below 1"):
        optim.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        optim.ReduceLROnPlateau(opt, mode="up")
    with pytest.raises(ValueError, match="threshold_mode must be 'rel' or 'abs'"):
        optim.ReduceLROnPlateau(opt, threshold_mode="both")


@pytest.mark.parametrize("clip", [0.05, 0.5, 10.0])
def test_clip_grad_value_matches_torch(clip):
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    ours = [gg.tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, q, g in zip(ours, theirs, grads, strict=True):
        p.grad, q.grad = gg.tensor(g), torch.tensor(g)
    frozen = gg.tensor(np.zeros(2), requires_grad=True)  # no gradient: left alone
    assert optim.clip_grad_value_([*ours, frozen], clip) is None
    torch.nn.utils.clip_grad_value_(theirs, clip)
    for p, q in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    assert frozen.grad is None
    assert np.abs(ours[0].grad.numpy()).max() <= clip
    with pytest.raises(ValueError, match="clip_value must be a non-negative number"):
        optim.clip_grad_value_(ours, -1.0)
