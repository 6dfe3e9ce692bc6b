"""Optimiser state: in-place updates, state_dict round trips and resumption, errors."""

from __future__ import annotations

import numpy as np
import pytest

import gradgate as gg
from gradgate import nn, optim
from gradgate.io import load, save

rng = np.random.default_rng(5)
X = gg.tensor(rng.standard_normal((8, 4)).astype(np.float32))
T = gg.tensor(rng.uniform(size=(8, 2)).astype(np.float32))

OPTIMIZERS = [
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    (optim.Adam, {"lr": 0.01, "amsgrad": True}),
    (optim.AdamW, {"lr": 0.01}),
    (optim.RMSprop, {"lr": 0.01, "momentum": 0.5, "centered": True}),
    (optim.Adagrad, {"lr": 0.05, "lr_decay": 0.01, "initial_accumulator_value": 0.1}),
    (optim.Adadelta, {"weight_decay": 0.01}),
    (optim.Adamax, {"lr": 0.01}),
    (optim.NAdam, {"lr": 0.01, "decoupled_weight_decay": True, "weight_decay": 0.1}),
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "maximize": True}),
]


def model_and_optimizer(cls, options):
    model = nn.MLP([4, 3, 2], output_activation="sigmoid", generator=np.random.default_rng(0))
    return model, cls(model.parameters(), **options)


def train(model, opt, steps):
    for _ in range(steps):
        opt.zero_grad()
        nn.SqErr()(model(X), T).backward()
        opt.step()


@pytest.mark.parametrize("cls, options", OPTIMIZERS)
def test_steps_update_the_parameters_arrays_in_place(cls, options):
    model, opt = model_and_optimizer(cls, options)
    arrays = [p.data for p in model.parameters()]
    before = [a.copy() for a in arrays]
    view = arrays[0][0]  # a view of the first row stays valid
    train(model, opt, 2)
    assert all(p.data is a for p, a in zip(model.parameters(), arrays, strict=True))
    assert not np.allclose(arrays[0], before[0])
    np.testing.assert_array_equal(view, model[0].weight.data[0])


@pytest.mark.parametrize("cls, options", OPTIMIZERS)
def test_resuming_from_a_saved_state_dict_equals_training_straight_through(cls, options, tmp_path):
    model, opt = model_and_optimizer(cls, options)
    train(model, opt, 6)

    first, first_opt = model_and_optimizer(cls, options)
    train(first, first_opt, 3)
    save({"model": first.state_dict(), "optimizer": first_opt.state_dict()}, tmp_path / "half.ckpt")
    second, second_opt = model_and_optimizer(cls, options)
    saved = load(tmp_path / "half.ckpt")
    second.load_state_dict(saved["model"])
    second_opt.load_state_dict(saved["optimizer"])
    train(second, second_opt, 3)
    for p, q in zip(model.parameters(), second.parameters(), strict=True):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_state_dict_is_keyed_by_parameter_index_and_loading_copies():
    model, opt = model_and_optimizer(optim.Adam, {"lr": 0.01})
    train(model, opt, 2)
    state = opt.state_dict()
    assert sorted(state["state"]) == [0, 1, 2, 3]
    assert state["state"][0]["step"] == 2
    assert state["param_groups"][0]["params"] == [0, 1, 2, 3]
    other_model, other = model_and_optimizer(optim.Adam, {"lr": 0.5})
    other.load_state_dict(state)
    assert other.param_groups[0]["lr"] == 0.01
    assert other.state[0]["exp_avg"] is not opt.state[0]["exp_avg"]
    np.testing.assert_array_equal(other.state[0]["exp_avg"], opt.state[0]["exp_avg"])


def test_loading_a_state_for_other_parameters_is_refused():
    _, opt = model_and_optimizer(optim.SGD, {"lr": 0.1, "momentum": 0.9})
    model, trained = model_and_optimizer(optim.SGD, {"lr": 0.1, "momentum": 0.9})
    train(model, trained, 1)
    state = trained.state_dict()
    state["state"][0]["momentum_buffer"] = np.zeros((9, 9), dtype=np.float32)
    with pytest.raises(ValueError, match="'momentum_buffer' has shape"):
        opt.load_state_dict(state)
    fewer = optim.SGD(list(model.parameters())[:2], lr=0.1)
    with pytest.raises(ValueError, match="saved groups hold \\[4\\] parameters"):
        fewer.load_state_dict(trained.state_dict())
    with pytest.raises(ValueError, match="expected a dict"):
        opt.load_state_dict({"state": {}})


def test_parameter_groups_take_their_own_options_and_frozen_tensors_are_skipped():
    a = gg.tensor(np.ones(3), requires_grad=True)
    b = gg.tensor(np.ones(3), requires_grad=True)
    frozen = gg.tensor(np.ones(3))
    opt = optim.SGD([{"params": [a]}, {"params": [b, frozen], "lr": 1.0}], lr=0.1)
    gg.sum(a + b).backward()
    opt.step()
    np.testing.assert_allclose(a.numpy(), 0.9)
    np.testing.assert_allclose(b.numpy(), 0.0)
    np.testing.assert_allclose(frozen.numpy(), 1.0)


def test_plain_sgd_is_exactly_w_minus_lr_times_the_gradient():
    w = gg.tensor(rng.standard_normal(5), requires_grad=True)
    before = w.numpy().copy()
    gg.sum(w * w * w).backward()
    g = w.grad.numpy().copy()
    optim.SGD([w], lr=0.3).step()
    np.testing.assert_array_equal(w.numpy(), before - 0.3 * g)
    np.testing.assert_array_equal(w.grad.numpy(), g)  # the gradient is left as it was


def test_bad_options_and_parameters_are_refused():
    w = gg.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="Nesterov momentum needs momentum > 0"):
        optim.SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="invalid learning rate"):
        optim.Adam([w], lr=-1)
    with pytest.raises(ValueError, match="invalid beta at index 1"):
        optim.Adam([w], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty list of parameters"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="appears twice"):
        optim.SGD([w, w], lr=0.1)
    with pytest.raises(TypeError, match="leaf Tensors"):
        optim.SGD([w * 2], lr=0.1)
    with pytest.raises(ValueError, match="unknown options \\['momentun'\\]"):
        optim.SGD([{"params": [w], "momentun": 0.9}], lr=0.1)


def test_zero_grad_and_closure():
    w = gg.tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([w], lr=0.5)

    def closure():
        opt.zero_grad()
        E = gg.sum(w * w)
        E.backward()
        return E

    assert opt.step(closure).item() == 2.0
    np.testing.assert_allclose(w.numpy(), 0.0)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w.grad.numpy(), 0.0)
    opt.zero_grad()
    assert w.grad is None


def test_scheduler_state_round_trip_continues_the_same_rates():
    w = gg.tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([w], lr=1.0)
    schedule = optim.CosineAnnealingLR(opt, T_max=10)
    for _ in range(4):
        schedule.step()
    state = schedule.state_dict()
    expected = [schedule.get_last_lr()[0]]
    for _ in range(3):
        schedule.step()
        expected.append(schedule.get_last_lr()[0])

    fresh = optim.SGD([gg.tensor(np.ones(2), requires_grad=True)], lr=1.0)
    resumed = optim.CosineAnnealingLR(fresh, T_max=10)
    resumed.load_state_dict(state)
    rates = [resumed.get_last_lr()[0]]
    for _ in range(3):
        resumed.step()
        rates.append(resumed.get_last_lr()[0])
    assert rates == pytest.approx(expected, rel=1e-15)
    assert rates[0] < 1.0


def test_clip_grad_norm_leaves_small_gradients_alone_and_returns_the_norm():
    w = gg.tensor(np.zeros(2), requires_grad=True)
    w.grad = gg.tensor(np.array([3.0, 4.0]))
    assert optim.clip_grad_norm_([w], 10.0).item() == pytest.approx(5.0)
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 4.0])
    optim.clip_grad_norm_(w, 1.0)
    assert np.linalg.norm(w.grad.numpy()) == pytest.approx(1.0, rel=1e-5)
    w.grad = gg.tensor(np.array([np.inf, 1.0]))
    with pytest.raises(RuntimeError, match="total norm"):
        optim.clip_grad_norm_([w], 1.0, error_if_nonfinite=True)


def test_a_step_marks_parameters_as_changed_for_graphs_recorded_before_it():
    w = gg.tensor(np.ones(3), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    gg.sum(w * w).backward()
    stale = gg.sum(gg.sigmoid(w) * w)  # saves w, then w changes in place
    opt.step()
    with pytest.raises(RuntimeError, match="changed in place"):
        stale.backward()
