"""One version counter per buffer: every alias made through gradgate is seen.

Each case below once wrote a saved array with no error and gave a wrong gradient. Each must
now raise (on the spot, or at backward naming the gate) or give PyTorch's gradient.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradgate as gg
from gradgate import nn

CHANGED = "changed in place after the gate saved it"


def saved_product():
    """x saved by Mul: dE/dy = x, so a change of x before backward would corrupt it."""
    x = gg.tensor([1.0, 2.0, 3.0])
    y = gg.tensor([1.0, 1.0, 1.0], requires_grad=True)
    return x, y, (x * y).sum()


@pytest.mark.parametrize(
    "write",
    [
        lambda d: d.__setitem__(0, 100.0),
        lambda d: d.add_(1),
        lambda d: d.fill_(0),
    ],
)
def test_writing_through_detach_is_seen(write):
    x, y, loss = saved_product()
    write(x.detach())
    with pytest.raises(RuntimeError, match=f"Mul: input 0 .*{CHANGED}"):
        loss.backward()


def test_raw_writes_through_a_detached_alias_are_refused_on_the_spot():
    x, y, loss = saved_product()
    d = x.detach()
    with pytest.raises(ValueError, match="read-only"):
        d.data[...] = 0
    loss.backward()
    assert y.grad.numpy().tolist() == [1, 2, 3]


def test_the_base_of_data_is_read_only_too():
    x, y, loss = saved_product()
    with pytest.raises(TypeError):
        x.data.base[0] = 100
    with pytest.raises(TypeError):
        np.add(x.data, 1, out=x.data.base)
    loss.backward()
    assert y.grad.numpy().tolist() == [1, 2, 3]


def test_data_is_writable_again_once_the_graph_is_gone():
    x, y, loss = saved_product()
    assert not x.data.flags.writeable
    loss.backward()
    assert x.data.flags.writeable
    x2, y2, loss2 = saved_product()
    del loss2  # dropped unrun
    assert x2.data.flags.writeable


def test_a_view_dropped_unrun_leaves_its_base_writable():
    x = gg.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    v = x.reshape(2, 2)
    assert not x.data.flags.writeable
    del v
    assert x.data.flags.writeable


def test_writing_a_state_dict_entry_is_seen():
    model = nn.Linear(3, 2)
    x = gg.tensor(np.ones((1, 3), dtype=np.float32), requires_grad=True)
    loss = model(x).sum()
    model.state_dict()["weight"].add_(1)
    with pytest.raises(RuntimeError, match=CHANGED):
        loss.backward()


@pytest.mark.parametrize(
    "view",
    [
        lambda x: x.reshape(3),
        lambda x: x.T,
        lambda x: x[0:1],
    ],
)
def test_writing_through_a_view_made_under_no_grad_is_seen(view):
    x = gg.tensor([[1.0, 2.0, 3.0]])
    with gg.no_grad():
        v = view(x)
    y = gg.tensor([[1.0, 1.0, 1.0]], requires_grad=True)
    loss = (x * y).sum()
    v.fill_(5)
    with pytest.raises(RuntimeError, match=CHANGED):
        loss.backward()


def test_writing_through_a_view_whose_graph_already_ran_is_seen():
    x = gg.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    v = x.reshape(3)
    v.sum().backward()  # v's own graph is done
    y = gg.tensor([[1.0, 1.0, 1.0]], requires_grad=True)
    loss = (x * y).sum()
    with gg.no_grad():
        v[0] = 100.0
    with pytest.raises(RuntimeError, match=CHANGED):
        loss.backward()


def test_a_refilled_numpy_buffer_does_not_change_a_tensor_or_a_parameter():
    buffer = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    x = gg.tensor(buffer)
    w = nn.Parameter(np.ones(3, dtype=np.float32))
    loss = (x * w).sum()
    buffer[:] = 7  # the next batch, written into the same buffer
    loss.backward()
    assert w.grad.numpy().tolist() == [1, 2, 3]


def test_from_numpy_and_as_tensor_share_memory():
    a = np.zeros(3, dtype=np.float32)
    assert np.shares_memory(gg.from_numpy(a).numpy(), a)
    assert np.shares_memory(gg.as_tensor(a).numpy(), a)
    assert not np.shares_memory(gg.as_tensor(a, dtype=np.float64).numpy(), a)
    t = gg.tensor([1.0])
    assert gg.as_tensor(t) is t


def test_module_to_with_a_graph_alive_leaves_parameters_trainable():
    model = nn.Linear(3, 2)
    optimizer = gg.optim.SGD(model.parameters(), lr=0.1)
    x = gg.tensor(np.ones((4, 3), dtype=np.float32))
    loss = model(x).sum()
    model.to("cpu")
    loss.backward()
    optimizer.step()  # once refused: the parameters had become read-only for good
    for _ in range(3):
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
    assert model.weight.data.flags.writeable


def test_an_optimiser_step_moves_the_version_and_a_retained_graph_then_refuses():
    w = gg.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    before = w.version
    gg.optim.SGD([w], lr=0.1).step()
    assert w.version > before
    with pytest.raises(RuntimeError, match=f"Mul: input 0 .*{CHANGED}"):
        loss.backward()


def test_assigning_data_counts_as_a_change_and_never_keeps_a_read_only_array():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    x.data = x.data  # the read-only view handed out while saved
    with pytest.raises(RuntimeError, match=CHANGED):
        loss.backward()
    del loss
    assert x.data.flags.writeable


def test_complex_tensors_cannot_ask_for_a_gradient():
    with pytest.raises(TypeError, match="complex tensors .* cannot require gradients"):
        gg.tensor(np.array([1 + 2j]), requires_grad=True)


def test_casting_to_an_integer_dtype_cuts_the_graph():
    x = gg.tensor([1.5, 2.5], requires_grad=True)
    n = x.astype(np.int64)
    assert not n.requires_grad and n.is_leaf
    y = x * n.astype(np.float32)
    y.sum().backward()
    assert x.grad.numpy().tolist() == [1.0, 2.0]


def test_the_class_constructor_converts_as_tensor_does():
    t = gg.Tensor([1.0, 2.0])
    assert isinstance(t.data, np.ndarray) and t.dtype == np.float32
    with pytest.raises(TypeError, match="cannot make a tensor"):
        gg.Tensor(["a", "b"])
    with pytest.raises(TypeError, match="cannot make a tensor"):
        gg.tensor(np.array(["2020-01-01"], dtype="datetime64[D]"))


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: gg.tensor(np.ones(3)) + gg.tensor(np.ones(4)), r"Add: .*\(3,\).*\(4,\)"),
        (lambda: gg.softmax(gg.tensor(np.ones(3)), axis=3), "Softmax: axis 3"),
        (lambda: gg.tensor(np.ones((2, 3))).transpose(0, 5), r"swapaxes: axis 5 .* \(2, 3\)"),
        (lambda: gg.expand_dims(gg.tensor(np.ones(3)), 5), r"expand_dims: axis 5 .* \(3,\)"),
        (lambda: gg.squeeze(gg.tensor(np.ones(3)), 0), r"squeeze: axis 0 .* \(3,\)"),
        (
            lambda: gg.dot(gg.tensor(np.ones(3)), gg.tensor(np.ones(4))),
            r"dot: shapes \(3,\) and \(4,\)",
        ),
        (
            lambda: gg.where(
                gg.tensor([True, False, True]), gg.tensor(np.ones(3)), gg.tensor(np.ones(4))
            ),
            r"Where: .*\(4,\)",
        ),
        (lambda: gg.tensor([[1, 2], [3]]), "tensor: cannot make a tensor from list data"),
    ],
)
def test_mistakes_name_the_gate_or_function_and_the_shapes(make, words):
    with pytest.raises((ValueError, TypeError, IndexError), match=words):
        make()


def test_a_gate_that_returns_its_input_shares_the_inputs_counter():
    class Same(gg.Gate):
        def forward(self, xp, s):
            return s  # the very array: an alias of the input

        def vjp(self, xp, g, o, s):
            return (g,)

    x = gg.tensor([1.0, 2.0, 3.0])
    y = gg.apply(Same(), x)
    w = gg.tensor([1.0, 1.0, 1.0], requires_grad=True)
    loss = (x * w).sum()
    y.fill_(0)  # writes x's buffer
    with pytest.raises(RuntimeError, match=CHANGED):
        loss.backward()
