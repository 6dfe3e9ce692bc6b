"""Buffers, dtype moves, apply, hooks, containers, Tensor.register_hook, dropout functions
and the new initialisers."""

from __future__ import annotations

import numpy as np
import pytest

import gradgate as gg
import gradgate.nn.functional as F
from gradgate import nn


class WithBuffers(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(np.ones(3))
        self.register_buffer("mask", gg.tensor([1.0, 0.0, 1.0]))
        self.register_buffer("scratch", gg.zeros(2), persistent=False)
        self.register_buffer("count", gg.tensor(np.array(0, np.int64)))

    def forward(self, x):
        return x * self.weight * self.mask


def test_buffers_are_saved_and_moved_but_are_not_parameters():
    m = WithBuffers()
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    assert [n for n, _ in m.named_buffers()] == ["mask", "scratch", "count"]
    assert list(m.state_dict()) == ["weight", "mask", "count"]  # scratch: not persistent
    m.load_state_dict({"weight": np.full(3, 2.0), "mask": np.zeros(3), "count": np.array(5)})
    np.testing.assert_array_equal(m.mask.numpy(), 0)
    assert int(m.count.item()) == 5
    with pytest.raises(RuntimeError, match="missing keys: mask"):
        m.load_state_dict({"weight": np.ones(3), "count": np.array(1)})


def test_nested_buffers_are_named_by_path_in_pytorch_order():
    outer = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    assert list(outer.state_dict()) == [
        "0.weight",
        "0.bias",
        "1.weight",
        "1.bias",
        "1.running_mean",
        "1.running_var",
        "1.num_batches_tracked",
    ]
    assert len(list(outer.buffers())) == 3


def test_dtype_moves_cast_floating_parameters_and_buffers_only():
    m = WithBuffers().double()
    assert m.weight.dtype == np.float64 and m.mask.dtype == np.float64
    assert m.count.dtype == np.int64
    weight = m.weight
    m.to(np.float32)
    assert m.weight is weight and m.weight.dtype == np.float32
    m.half()
    assert m.mask.dtype == np.float16
    m.to("cpu", np.float32)
    assert m.mask.dtype == np.float32
    with pytest.raises(TypeError, match="floating-point dtypes only"):
        m.to(np.int32)


def test_apply_visits_children_first_and_requires_grad_freezes():
    seen = []
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Sequential", "Sequential"]
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())


def test_add_module_and_containers_name_parameters_as_pytorch():
    m = nn.Module()
    m.add_module("encoder", nn.Linear(2, 3))
    m.blocks = nn.ModuleList([nn.Linear(3, 3), nn.Linear(3, 1)])
    m.heads = nn.ModuleDict({"a": nn.Linear(1, 1)})
    assert list(m.state_dict()) == [
        "encoder.weight",
        "encoder.bias",
        "blocks.0.weight",
        "blocks.0.bias",
        "blocks.1.weight",
        "blocks.1.bias",
        "heads.a.weight",
        "heads.a.bias",
    ]
    assert len(m.blocks) == 2 and "a" in m.heads and isinstance(m.blocks[1:], nn.ModuleList)
    with pytest.raises(TypeError, match="is not a Module"):
        m.blocks.append(3)
    with pytest.raises(KeyError):
        m.add_module("not valid", nn.ReLU())


def test_forward_hooks_change_inputs_and_outputs_and_come_off():
    layer = nn.Linear(2, 2)
    calls = []
    pre = layer.register_forward_pre_hook(lambda m, inputs: (inputs[0] * 0,))
    post = layer.register_forward_hook(lambda m, inputs, out: calls.append(out.shape) or out + 1)
    out = layer(np.ones((1, 2), np.float32))
    np.testing.assert_allclose(out.numpy(), layer.bias.numpy()[None] + 1, rtol=1e-6)
    assert calls == [(1, 2)]
    pre.remove()
    post.remove()
    np.testing.assert_allclose(
        layer(np.zeros((1, 2), np.float32)).numpy(), layer.bias.numpy()[None], rtol=1e-6
    )


def test_tensor_hook_sees_the_complete_gradient_and_can_replace_it():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    seen = []
    handle = y.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 2.0)
    gg.sum(y * y + y).backward()  # y fans out: the hook sees the sum, 2y + 1
    np.testing.assert_allclose(seen[0], 2 * np.array([3.0, 6.0]) + 1)
    np.testing.assert_allclose(x.grad.numpy(), 3 * 2 * seen[0])
    handle.remove()
    x.grad = None
    z = x * 1.0
    z.register_hook(lambda g: g * 0.0)
    gg.sum(z).backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0)


def test_tensor_hook_on_a_leaf_and_under_create_graph():
    x = gg.tensor([0.5, -1.0], requires_grad=True, dtype=np.float64)
    x.register_hook(lambda g: g * 10.0)
    (g,) = gg.grad(gg.sum(x * x * x), x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), 10 * 3 * x.numpy() ** 2)


def test_tensor_hook_refuses_a_wrong_shape_and_a_constant():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    y.register_hook(lambda g: gg.zeros(3))
    with pytest.raises(RuntimeError, match="a hook returned a gradient of shape"):
        gg.sum(y).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        gg.tensor([1.0]).register_hook(print)


def test_dropout_functions_are_seeded_scaled_and_channel_wise():
    x = gg.ones(200, 30)
    gg.manual_seed(0)
    a = F.dropout(x, 0.25).numpy()
    gg.manual_seed(0)
    np.testing.assert_array_equal(a, F.dropout(x, 0.25).numpy())
    assert set(np.unique(a)) == {0.0, np.float32(1 / 0.75)}
    assert abs((a == 0).mean() - 0.25) < 0.02
    assert F.dropout(x, 0.5, training=False) is x
    c = F.dropout2d(gg.ones(8, 50, 3, 3), 0.5).numpy()
    per_channel = c.reshape(8, 50, 9)
    assert (per_channel == per_channel[..., :1]).all()  # whole channels
    d = nn.Dropout1d(0.5)(gg.ones(4, 20, 6)).numpy()
    assert (d == d[..., :1]).all()
    with pytest.raises(ValueError, match="dropout: p must lie in"):
        F.dropout(x, 1.5)


def test_one_hot_and_functional_names():
    np.testing.assert_array_equal(F.one_hot(np.array([0, 2]), 3).numpy(), [[1, 0, 0], [0, 0, 1]])
    assert F.one_hot(np.array([1, 4])).shape == (2, 5)
    for name in (
        "relu",
        "gelu",
        "cross_entropy",
        "layer_norm",
        "batch_norm",
        "embedding",
        "scaled_dot_product_attention",
        "dropout",
        "linear",
        "log_softmax",
        "logsigmoid",
        "mse_loss",
    ):
        assert callable(getattr(F, name)), name
    with pytest.raises(ValueError, match="one_hot: labels must lie in"):
        F.one_hot(np.array([3]), 2)


def test_new_initialisers():
    torch = pytest.importorskip("torch")
    w = gg.zeros(6, 4)
    nn.init.orthogonal_(w, generator=np.random.default_rng(0))
    np.testing.assert_allclose(w.numpy().T @ w.numpy(), np.eye(4), atol=1e-5)
    wide = nn.init.orthogonal_(gg.zeros(3, 7), gain=2.0)
    np.testing.assert_allclose(wide.numpy() @ wide.numpy().T, 4 * np.eye(3), atol=1e-5)
    t = nn.init.trunc_normal_(gg.zeros(1000), std=1.0, a=-0.5, b=0.5)
    assert t.numpy().min() >= -0.5 and t.numpy().max() <= 0.5
    np.testing.assert_array_equal(nn.init.ones_(gg.zeros(2, 2)).numpy(), 1)
    np.testing.assert_array_equal(nn.init.eye_(gg.zeros(2, 3)).numpy(), np.eye(2, 3))
    d = nn.init.dirac_(gg.zeros(4, 2, 3, 3), groups=2)
    td = torch.nn.init.dirac_(torch.zeros(4, 2, 3, 3), groups=2)
    np.testing.assert_array_equal(d.numpy(), td.numpy())
    for name in ("linear", "conv2d", "sigmoid", "tanh", "relu", "selu"):
        assert nn.init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name))
