"""Module: parameter walking, state dicts, modes, zero_grad, repr."""

from __future__ import annotations

import numpy as np
import pytest

import gradgate as gg
from gradgate import nn
from gradgate.io import load, save


def small_mlp(seed: int = 0) -> nn.MLP:
    return nn.MLP([4, 3, 2], activation="tanh", generator=np.random.default_rng(seed))


class Tied(nn.Module):
    """Two layers in a list attribute, one parameter shared, one frozen tensor."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = [nn.Linear(3, 3), nn.Linear(3, 3)]
        self.blocks[1].weight = self.blocks[0].weight  # tied
        self.scale = nn.Parameter(np.ones(3, dtype=np.float32)).requires_grad_(False)

    def forward(self, x):
        return self.blocks[1](self.blocks[0](x)) * self.scale


def test_named_parameters_follow_attribute_order_with_positions_for_sequential():
    model = small_mlp()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [p.shape for p in model.parameters()] == [(3, 4), (3,), (2, 3), (2,)]
    assert all(p.requires_grad and p.is_leaf for p in model.parameters())
    assert model.num_parameters() == 12 + 3 + 6 + 2


def test_list_attributes_are_walked_and_a_shared_parameter_is_listed_once():
    model = Tied()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["scale", "blocks.0.weight", "blocks.0.bias", "blocks.1.bias"]
    assert [name for name, _ in model.named_children()] == ["blocks.0", "blocks.1"]


def test_state_dict_holds_detached_tensors_sharing_the_parameters_arrays():
    model = small_mlp()
    state = model.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    for name, p in model.named_parameters():
        assert isinstance(state[name], gg.Tensor)
        assert not state[name].requires_grad
        assert state[name].data is p.data


def test_state_dict_round_trips_through_a_checkpoint_in_place(tmp_path):
    source, target = small_mlp(0), small_mlp(1)
    x = gg.randn(5, 4)
    assert not np.allclose(source(x).numpy(), target(x).numpy())
    arrays = [p.data for p in target.parameters()]
    save(source.state_dict(), tmp_path / "model.ckpt")
    result = target.load_state_dict(load(tmp_path / "model.ckpt"))
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(target(x).numpy(), source(x).numpy())
    assert all(p.data is a for p, a in zip(target.parameters(), arrays, strict=True))  # arrays kept


def test_load_state_dict_accepts_numpy_arrays():
    model = small_mlp()
    state = {name: np.full(p.shape, 0.5) for name, p in model.named_parameters()}
    model.load_state_dict(state)
    assert all(np.all(p.data == 0.5) and p.dtype == np.float32 for p in model.parameters())


def test_load_state_dict_reports_every_problem_at_once_and_copies_nothing():
    model = small_mlp()
    before = [p.data.copy() for p in model.parameters()]
    state = {name: t.numpy() + 1 for name, t in model.state_dict().items()}
    del state["0.bias"]
    state["2.weight"] = np.zeros((3, 2))
    state["9.weight"] = np.zeros(1)
    with pytest.raises(RuntimeError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    assert "missing keys: 0.bias" in message
    assert "unexpected keys: 9.weight" in message
    assert (
        "shape mismatch for 2.weight: the state dict has (3, 2), the module has (2, 3)" in message
    )
    for p, b in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.data, b)


def test_non_strict_loading_skips_missing_and_unexpected_keys_but_not_shapes():
    model = small_mlp()
    result = model.load_state_dict(
        {"0.weight": np.zeros((3, 4)), "extra": np.zeros(2)}, strict=False
    )
    assert result.missing_keys == ["0.bias", "2.weight", "2.bias"]
    assert result.unexpected_keys == ["extra"]
    assert np.all(model[0].weight.data == 0)
    with pytest.raises(RuntimeError, match="shape mismatch for 0.weight"):
        model.load_state_dict({"0.weight": np.zeros((4, 3))}, strict=True)


def test_train_and_eval_reach_every_submodule():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.Sequential(nn.Dropout(0.1)))
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_sets_none_or_zeros_in_place():
    model = small_mlp()
    gg.sum(model(gg.randn(3, 4))).backward()
    grads = [p.grad.data for p in model.parameters()]
    assert all(np.any(g != 0) for g in grads)
    model.zero_grad(set_to_none=False)
    for p, g in zip(model.parameters(), grads, strict=True):
        assert p.grad.data is g and np.all(g == 0)
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_calling_a_module_calls_forward_and_a_module_without_one_says_so():
    with pytest.raises(NotImplementedError, match="Module does not define forward"):
        nn.Module()(1)


def test_repr_shows_the_tree():
    text = repr(nn.Sequential(nn.Linear(3, 2, bias=False), nn.LeakyReLU(0.2)))
    assert text == (
        "Sequential(\n"
        "  (0): Linear(in_features=3, out_features=2, bias=False)\n"
        "  (1): LeakyReLU(negative_slope=0.2)\n"
        ")"
    )


def test_parameter_is_a_leaf_that_requires_grad_and_copies_float_arrays():
    array = np.zeros(3, dtype=np.float64)
    p = nn.Parameter(array)
    assert isinstance(p, gg.Tensor) and p.requires_grad and p.is_leaf
    assert p.dtype == np.float64 and not np.shares_memory(p.data, array)
    array[:] = 7  # a buffer refilled later does not change the parameter
    assert p.numpy().tolist() == [0, 0, 0]
    assert nn.Parameter([1, 2]).dtype == np.float32
